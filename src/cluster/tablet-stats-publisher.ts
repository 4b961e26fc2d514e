/**
 * Publishes a tablet server's statistics report (`cluster-stats/<server id>`, src/cluster/cluster-keys.ts):
 * for each tablet it holds, its approximate size, its row operations per second (reads and writes
 * this server served from it) and its writes per second (how fast its engine's sequence numbers
 * advanced since the previous report). The master's balancer weighs sizes and request rates. The master's console draws the tablet map
 * from these reports; the server's own `/metrics` reads `latest()`.
 *
 * With it goes the server's rate of successful calls naming a table (reads and writes, all tablets).
 * Reads are not in a tablet's rate: a tablet's engine counts no reads of its own, and the per-table call
 * counts of the RPC observer cannot be split by tablet.
 *
 * Ownership: one per tablet server, on the event-loop thread, timers from the injected
 * `CoordinationTimers`. A report is written under the server's session only while it is valid,
 * so it disappears with the session; a failed write is logged and the next tick tries again.
 * Bounded: at most CLUSTER_METRICS_TABLETS_MAX tablets per report.
 */
import type { Clock } from '../common/clock.js';
import { CLUSTER_METRICS_TABLETS_MAX, CLUSTER_STATS_PUBLISH_INTERVAL_MS } from '../common/limits.js';
import type { Logger } from '../common/logger.js';
import type { Coordination, Session } from '../coord/coordination.js';
import type { CoordinationTimers } from '../coord/coordination-timers.js';
import { processRpcObserver } from '../server/observability.js';
import type { TabletHandle } from '../tablet/tablet-handle.js';
import { encodeValue, type ServerStats, statsKey, type TabletStatsReport } from './cluster-keys.js';

const MS_PER_SECOND = 1000;

/** What the publisher reads of its server. */
export interface StatsSource {
  readonly coord: Coordination;
  readonly clock: Clock;
  readonly timers: CoordinationTimers;
  readonly log: Logger;
  /** The server's current id and session (undefined between registrations). */
  current(): { readonly serverId: string; readonly session: Session | undefined };
  /** The tablets it has open. */
  tablets(): readonly TabletHandle[];
  /** Row operations served so far from an open tablet (reads and writes). */
  requestCount(tableId: string, tabletDir: string): number;
}

/** Takes and writes a server's statistics reports on a timer. */
export class TabletStatsPublisher {
  private last = new Map<string, { sequence: number; requests: number; atMs: number }>();
  private lastCalls: { calls: number; atMs: number } | undefined;
  private report: ServerStats | undefined;
  private stopped = false;
  private cancel: (() => void) | undefined;

  constructor(private readonly source: StatsSource) {
    this.schedule();
  }

  /** The last report taken (undefined before the first tick). */
  latest(): ServerStats | undefined {
    return this.report;
  }

  /** Stops the timer; the key goes with the session. */
  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }

  /** Takes a report now (the timer calls it). */
  take(): ServerStats {
    const { clock } = this.source;
    const atMs = clock.monotonicMs();
    const next = new Map<string, { sequence: number; requests: number; atMs: number }>();
    const tablets: TabletStatsReport[] = [];
    for (const h of this.source.tablets().slice(0, CLUSTER_METRICS_TABLETS_MAX)) {
      const key = `${h.record.tableId}/${h.record.tabletDir}`;
      const sequence = h.engine.stats().lastSequence;
      const requests = this.source.requestCount(h.record.tableId, h.record.tabletDir);
      const before = this.last.get(key);
      const seconds = before === undefined ? 0 : (atMs - before.atMs) / MS_PER_SECOND;
      const rate = (now: number, then: number | undefined) =>
        then === undefined || seconds <= 0 ? 0 : Math.max(0, (now - then) / seconds);
      tablets.push({
        tableId: h.record.tableId,
        tabletDir: h.record.tabletDir,
        dataBytes: h.engine.approximateBytes(),
        requestsPerSecond: rate(requests, before?.requests),
        writesPerSecond: rate(sequence, before?.sequence),
      });
      next.set(key, { sequence, requests, atMs });
    }
    this.last = next;
    this.report = {
      server: this.source.current().serverId,
      timeMs: clock.nowMs(),
      callsPerSecond: this.callRate(atMs),
      tablets,
    };
    return this.report;
  }

  /** Successful calls per second naming a table, over the interval (the process's RPC observer). */
  private callRate(atMs: number): number {
    let calls = 0;
    for (const n of processRpcObserver().tableRequests().values()) calls += n;
    const before = this.lastCalls;
    this.lastCalls = { calls, atMs };
    if (before === undefined || atMs <= before.atMs) return 0;
    return Math.max(0, (calls - before.calls) / ((atMs - before.atMs) / MS_PER_SECOND));
  }

  private schedule(): void {
    this.cancel = this.source.timers.setTimer(CLUSTER_STATS_PUBLISH_INTERVAL_MS, () => {
      if (this.stopped) return;
      this.publish()
        .catch((err) => this.source.log.warn({ err }, 'publishing tablet statistics failed'))
        .finally(() => {
          if (!this.stopped) this.schedule();
        });
    });
  }

  private async publish(): Promise<void> {
    const report = this.take();
    const { session, serverId } = this.source.current();
    if (session === undefined || !session.isValid() || serverId === '') return;
    await this.source.coord.put(statsKey(serverId), encodeValue(report), { session });
  }
}
