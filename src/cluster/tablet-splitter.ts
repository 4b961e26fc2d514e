/**
 * Splits and merges on a tablet server of a cluster. The server owns the engines, so it runs the
 * protocol of src/tablet/tablet-split.ts on its own tablets — the children's stores are made in
 * the shared directory, referencing the parents' SSTables, and take the writes no file holds yet
 * while the parents' writes are paused — and asks the master to commit it (`CommitTablets`,
 * src/cluster/master-control-protocol.ts; the master's half: src/master/split-coordinator.ts).
 * The server never writes the catalog.
 *
 * When: a tablet splits when a write leaves it past `splitThresholdBytes` (the option of `tabula
 * serve`), or at the next check (every CLUSTER_MERGE_CHECK_INTERVAL_MS) if it could not then; two adjacent tablets this server holds merge when together they are below
 * `splitThresholdBytes × MERGE_FRACTION` (checked every CLUSTER_MERGE_CHECK_INTERVAL_MS), never
 * across an initial split of the table. A merge of tablets held by two servers is not attempted.
 *
 * The table gate: once the children are made, just before the parents' writes pause, the server
 * takes the table's gate at the master (src/master/table-gates.ts; no gate: the change is
 * abandoned, nothing paused), and names it in the commit, which then runs inside it. So no admin
 * fan-out of the master meets a parent paused for a commit that would wait behind that fan-out.
 *
 * The commit, from this side:
 * - OK: the parents stop serving here at once (`OwnedTablets.detach`; writers paused on them are
 *   answered `moved` and route again), and their engines close once no scan reads them. The
 *   children's engines, opened under the parents' owner epoch, are closed too: the master assigns
 *   the children to this server under a larger epoch, and the server opens them from there as any
 *   assigned tablet (their WAL holds the handed-over writes).
 * - Refused (a stale owner epoch, a parent no longer live, an incomplete child): the change is
 *   rolled back, the parents serve again, the children's directories are left to the master's GC.
 * - No answer: asked again every CLUSTER_COMMIT_TABLETS_RETRY_MS (the call is idempotent; a new
 *   master answers it from its catalog) for CLUSTER_COMMIT_TABLETS_WAIT_MS at most; then the
 *   outcome stays unknown and the parents refuse writes (fail-stop) until their assignment changes.
 *
 * Nothing here deletes a file: a retired tablet's files may be referenced by tablets on any server;
 * the master collects them (src/master/shared-file-gc.ts).
 *
 * Concurrency: single event-loop thread; splits and merges of one server run one at a time.
 */
import type { Clock } from '../common/clock.js';
import { crashPoint } from '../common/crash-points.js';
import { errors } from '../common/errors.js';
import * as limits from '../common/limits.js';
import type { Logger } from '../common/logger.js';
import type { CoordinationTimers } from '../coord/coordination-timers.js';
import type { TabletHandle } from '../tablet/tablet-handle.js';
import type { TabletChange } from '../tablet/tablet-host-api.js';
import { mergeTablets, type SplitContext, splitTablet } from '../tablet/tablet-split.js';
import type { ClusterView } from './cluster-view.js';
import {
  type CommitTabletsRequest,
  isChangeRefused,
  MasterControlClient,
  tabletFields,
} from './master-control-protocol.js';
import type { OwnedTablets } from './owned-tablets.js';

/** The table gate one split or merge holds at the master, once taken. */
interface GateHolder {
  readonly tableId: string;
  /** The master that granted it. */
  address?: string;
  gateId?: string;
}

/** What the splitter works with. */
export interface TabletSplitterOptions {
  readonly tablets: OwnedTablets;
  readonly view: ClusterView;
  readonly self: { readonly id: string };
  readonly clock: Clock;
  readonly timers: CoordinationTimers;
  readonly log: Logger;
  /** Size past which a tablet splits. */
  readonly splitThresholdBytes: number;
}

/** The splits and merges of one tablet server's tablets (see the file comment). */
export class TabletSplitter {
  /** What this server did (tests, logs). */
  readonly stats = { splits: 0, merges: 0, refused: 0, failed: 0 };
  private chain: Promise<unknown> = Promise.resolve();
  private readonly queued = new Set<TabletHandle>();
  /** Tablets whose split failed: not tried again on writes before this time (monotonic ms). */
  private readonly retryAtMs = new WeakMap<TabletHandle, number>();
  private readonly master: MasterControlClient;
  private stopped = false;

  constructor(private readonly options: TabletSplitterOptions) {
    this.master = new MasterControlClient(options.clock);
  }

  /** Starts checking for merges, and for splits a write did not start (no master, gate refused). */
  start(): void {
    const tick = () => {
      if (this.stopped) return;
      for (const h of this.options.tablets.all()) {
        this.retryAtMs.delete(h);
        this.afterWrite(h);
      }
      this.queueMerges();
      this.options.timers.setTimer(limits.CLUSTER_MERGE_CHECK_INTERVAL_MS, tick);
    };
    this.options.timers.setTimer(limits.CLUSTER_MERGE_CHECK_INTERVAL_MS, tick);
  }

  /** Stops starting splits and merges, and waits for the one running. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain.catch(() => undefined);
    this.master.close();
  }

  /** After a write to `h`: queues its split when it has grown past the threshold. */
  afterWrite(h: TabletHandle): void {
    if (this.stopped || this.queued.has(h) || h.retired || h.failure || !this.options.view.master) return;
    const bytes = h.engine.approximateBytes();
    if (bytes <= this.options.splitThresholdBytes || bytes <= h.splitBlockedBelowBytes) return;
    // A split that failed (no gate, no master, refused) is tried again at the periodic check.
    if (this.options.clock.monotonicMs() < (this.retryAtMs.get(h) ?? 0)) return;
    this.queued.add(h);
    let done = false;
    void this.serialized(() =>
      this.gated(h.record.tableId, async (gate) => {
        const ctx = this.context([h], gate);
        if (!ctx) return;
        if (await splitTablet(ctx, h)) this.stats.splits++;
        else h.splitBlockedBelowBytes = bytes * 2;
        done = true;
      }),
    ).finally(() => {
      this.queued.delete(h);
      if (!done)
        this.retryAtMs.set(h, this.options.clock.monotonicMs() + limits.CLUSTER_MERGE_CHECK_INTERVAL_MS);
    });
  }

  /** Queues merges of adjacent tablets of this server that together are small. */
  queueMerges(): void {
    if (this.stopped) return;
    const limit = this.options.splitThresholdBytes * limits.MERGE_FRACTION;
    const byTable = new Map<string, TabletHandle[]>();
    for (const h of this.options.tablets.all()) {
      const held = byTable.get(h.record.tableId);
      if (held) held.push(h);
      else byTable.set(h.record.tableId, [h]);
    }
    for (const [tableId, list] of byTable) {
      const kept = this.options.view.tables.get(tableId)?.schema.initialSplits ?? [];
      list.sort((x, y) => Buffer.compare(x.startKey, y.startKey));
      for (let i = 0; i + 1 < list.length; i++) {
        const a = list[i] as TabletHandle;
        const b = list[i + 1] as TabletHandle;
        const end = a.record.endRow;
        if (end === undefined || !b.record.startRow?.equals(end)) continue;
        if (kept.some((k) => k.equals(end)) || this.queued.has(a) || this.queued.has(b)) continue;
        if (a.engine.approximateBytes() + b.engine.approximateBytes() >= limit) continue;
        this.queueMerge(a, b);
        i++;
      }
    }
  }

  private queueMerge(a: TabletHandle, b: TabletHandle): void {
    this.queued.add(a);
    this.queued.add(b);
    void this.serialized(() =>
      this.gated(a.record.tableId, async (gate) => {
        const ctx = this.context([a, b], gate);
        if (ctx && (await mergeTablets(ctx, a, b))) this.stats.merges++;
      }),
    ).finally(() => {
      this.queued.delete(a);
      this.queued.delete(b);
    });
  }

  /** Runs `op` after every split and merge queued before it; a failure is logged. */
  private serialized(op: () => Promise<void>): Promise<void> {
    const run = this.chain.then(() => (this.stopped ? undefined : op()));
    this.chain = run.catch((err: unknown) => {
      if (isChangeRefused(err)) this.stats.refused++;
      else this.stats.failed++;
      this.options.log.warn({ err: String(err) }, 'tablet split or merge failed');
    });
    return this.chain as Promise<void>;
  }

  /**
   * Runs `op` with a holder for the table's gate at the master (src/master/table-gates.ts), which
   * the split or merge takes just before it pauses the parents (`beforePause`), and gives the gate
   * back after (a no-op when the commit used it).
   */
  private async gated(tableId: string, op: (gate: GateHolder) => Promise<void>): Promise<void> {
    const gate: GateHolder = { tableId };
    try {
      await op(gate);
    } finally {
      const { address, gateId } = gate;
      if (address && gateId)
        void this.master
          .releaseTableGate(address, gateId, limits.CLUSTER_TABLE_GATE_DEADLINE_MS)
          .catch(() => undefined);
    }
  }

  /** Takes the gate of `gate.tableId` at the active master; fails (nothing paused yet) without one. */
  private async takeGate(gate: GateHolder): Promise<void> {
    const address = this.options.view.master?.address;
    if (!address) throw errors.unavailable('no master is elected');
    const request = { tableId: gate.tableId, server: this.options.self.id };
    gate.gateId = await this.master.acquireTableGate(address, request, limits.CLUSTER_TABLE_GATE_DEADLINE_MS);
    gate.address = address;
  }

  /** The split context for changing `parents` (all held here), or undefined when one is not. */
  private context(parents: readonly TabletHandle[], gate: GateHolder): SplitContext | undefined {
    const { tablets } = this.options;
    const bases = parents.map((p) => tablets.splitContext(p, () => undefined));
    const base = bases[0];
    if (!base || bases.some((b) => b === undefined)) return undefined;
    const closing = (t: TabletHandle) => void this.closeEngine(t);
    return {
      ...base,
      commitTablets: (change) => this.commit(change, parents, gate.gateId),
      beforePause: () => this.takeGate(gate),
      isRefusal: isChangeRefused,
      tablets: () => ({
        next: (t) => (parents.length === 2 && t === parents[0] ? parents[1] : undefined),
        replace: (old, created) => {
          for (const p of old) tablets.detach(p);
          for (const c of created) closing(c);
        },
      }),
      retireTablet: closing,
      abandonTablet: closing,
      pauseObserved: (ms) =>
        this.options.log.info({ pauseMs: Math.round(ms) }, 'writers paused by a tablet change'),
    };
  }

  /** Closes a tablet's engine once no scan reads it; deletes nothing. */
  private async closeEngine(t: TabletHandle): Promise<void> {
    try {
      await t.whenUnread();
      await t.engine.close();
    } catch (err) {
      this.options.log.warn(
        { err: String(err), tablet: t.record.tabletDir },
        'closing a retired tablet failed',
      );
    }
  }

  /** Asks the master to commit `change` until it answers (see the file comment). */
  private async commit(
    change: TabletChange,
    parents: readonly TabletHandle[],
    gateId: string | undefined,
  ): Promise<void> {
    const { clock, view } = this.options;
    const request: CommitTabletsRequest = {
      tableId: change.removeTablets[0]?.tableId ?? '',
      server: this.options.self.id,
      ownerEpochs: parents.map((p) => p.ownerEpoch),
      removeTablets: change.removeTablets.map(tabletFields),
      putTablets: change.putTablets.map(tabletFields),
      ...(gateId !== undefined ? { gateId } : {}),
    };
    const giveUpAtMs = clock.monotonicMs() + limits.CLUSTER_COMMIT_TABLETS_WAIT_MS;
    for (;;) {
      try {
        const address = view.master?.address;
        if (!address) throw errors.unavailable('no master is elected');
        crashPoint('split-before-commit');
        await this.master.commitTablets(address, request, limits.CLUSTER_COMMIT_TABLETS_DEADLINE_MS);
        crashPoint('split-after-commit');
        return;
      } catch (err) {
        if (isChangeRefused(err) || clock.monotonicMs() >= giveUpAtMs) throw err;
        this.options.log.info({ err: String(err) }, 'committing a tablet change: asking again');
        await new Promise<void>(
          (r) => void this.options.timers.setTimer(limits.CLUSTER_COMMIT_TABLETS_RETRY_MS, r),
        );
      }
    }
  }
}
