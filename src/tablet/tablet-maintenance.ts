/**
 * When the tablets of a local table store split and merge (how: src/tablet/tablet-split.ts). With
 * automatic splitting (the default):
 * - A tablet splits when it grows past the split threshold, or when it stays hot — sustained
 *   write operations per second over a window — and holds at least a minimum of bytes. Every write
 *   checks its tablet; a split that finds no row to split at is not retried below twice the size.
 * - Adjacent tablets that together are small merge, checked on a timer (MERGE_CHECK_INTERVAL_MS),
 *   never across an initial split, and never the halves of a hot split for MERGE_AFTER_HOT_SPLIT_MS.
 * `maintainAll` runs one split and merge pass on demand (tests).
 *
 * Invariants: a tablet is queued for at most one split or merge at a time (`OpenTable.queued`);
 * nothing is queued for a table the store no longer maps to by its id, and no merge once the store
 * is closed.
 *
 * Concurrency: single event-loop thread. Splits and merges run on the store's admin chain, one at
 * a time and between admin operations; a failed one is logged, not thrown.
 */
import type { Clock } from '../common/clock.js';
import * as limits from '../common/limits.js';
import type { Logger } from '../common/logger.js';
import type { OpenTable } from './open-table.js';
import type { TabletHandle } from './tablet-handle.js';
import type { TabletLifecycle } from './tablet-lifecycle.js';
import { mergeTablets, type PausePhases, type SplitContext, splitTablet } from './tablet-split.js';

/** Split and merge statistics of a store (for tests, benchmarks and the console). */
export interface TabletStats {
  splits: number;
  merges: number;
  /** Longest time writers of one tablet were paused by a split or merge. */
  pauseMsMax: number;
  /** Where the longest pause's time went. */
  longestPause: PausePhases;
  pauseMsTotal: number;
}

/** When a tablet counts as hot (see `TableStoreOptions.hotSplit`). */
export interface HotSplitOptions {
  opsPerSec: number;
  windowMs: number;
  bytesMin: number;
}

/** What tablet maintenance needs from its store. */
export interface MaintenanceDeps {
  /** The store's open tables by id: a table no longer in it is neither split nor merged. */
  readonly tables: ReadonlyMap<string, OpenTable>;
  readonly lifecycle: TabletLifecycle;
  readonly clock: Clock;
  readonly log: Logger;
  /** Whether the store has closed. */
  isClosed(): boolean;
  /** Runs `op` on the store's admin chain (after every admin operation, split and merge queued). */
  serialized<T>(op: () => Promise<T>): Promise<T>;
  /** Size past which a tablet splits. */
  readonly splitThresholdBytes: number;
  /** Whether tablets split and merge on their own. */
  readonly autoSplit: boolean;
  readonly hotSplit: HotSplitOptions;
}

/** Schedules the splits and merges of one table store's tablets. */
export class TabletMaintenance {
  readonly stats: TabletStats = {
    splits: 0,
    merges: 0,
    pauseMsMax: 0,
    longestPause: { drainMs: 0, handOverMs: 0, adoptMs: 0, commitMs: 0 },
    pauseMsTotal: 0,
  };
  private mergeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: MaintenanceDeps) {}

  /** With automatic splitting, starts the merge timer and checks every tablet of the open store. */
  start(): void {
    if (!this.deps.autoSplit) return;
    this.mergeTimer = setInterval(() => {
      for (const table of this.deps.tables.values()) this.queueMerges(table);
    }, limits.MERGE_CHECK_INTERVAL_MS);
    this.mergeTimer.unref();
    for (const table of this.deps.tables.values())
      for (const t of table.tablets.all()) this.checkSplit(table, t);
  }

  /** Stops the merge timer (the store is closing). */
  stop(): void {
    if (this.mergeTimer) clearInterval(this.mergeTimer);
  }

  /** After a write to `t`: updates its write rate, then splits it if it is too large or hot. */
  afterWrite(table: OpenTable, t: TabletHandle): void {
    if (!this.deps.autoSplit) return;
    const nowMs = this.deps.clock.monotonicMs();
    t.opsInWindow++;
    const windowMs = nowMs - t.opsWindowStartMs;
    if (windowMs >= limits.HOT_TABLET_RATE_WINDOW_MS) {
      const hot = (t.opsInWindow * 1000) / windowMs >= this.deps.hotSplit.opsPerSec;
      t.hotSinceMs = hot ? (t.hotSinceMs ?? nowMs) : undefined;
      t.opsInWindow = 0;
      t.opsWindowStartMs = nowMs;
    }
    this.checkSplit(table, t);
  }

  /** Whether `t` (of `bytes`) should split: over the threshold or hot, and not known unsplittable. */
  private splitWanted(t: TabletHandle, bytes: number, hot: boolean): boolean {
    return (bytes > this.deps.splitThresholdBytes || hot) && bytes > t.splitBlockedBelowBytes;
  }

  /** Queues a split of `t` when it is large or hot enough (and not queued, retired or deleted). */
  private checkSplit(table: OpenTable, t: TabletHandle): void {
    const { clock, hotSplit } = this.deps;
    if (t.retired || table.queued.has(t) || this.deps.tables.get(table.record.schema.tableId) !== table)
      return;
    const bytes = t.engine.approximateBytes();
    const hot =
      t.hotSinceMs !== undefined &&
      clock.monotonicMs() - t.hotSinceMs >= hotSplit.windowMs &&
      bytes >= hotSplit.bytesMin;
    if (!this.splitWanted(t, bytes, hot)) return;
    table.queued.add(t);
    const forHeat = bytes <= this.deps.splitThresholdBytes;
    void this.deps
      .serialized(() => splitTablet(this.splitContext(table), t))
      .then((done) => {
        if (!done) {
          t.splitBlockedBelowBytes = bytes * 2;
          return;
        }
        this.stats.splits++;
        if (!forHeat) return;
        const until = clock.monotonicMs() + limits.MERGE_AFTER_HOT_SPLIT_MS;
        for (const c of table.tablets.all()) if (t.containsKey(c.startKey)) c.noMergeBeforeMs = until;
      })
      .catch((err: unknown) =>
        this.deps.log.warn({ err: String(err), table: table.record.schema.tableId }, 'tablet split failed'),
      )
      .finally(() => {
        table.queued.delete(t);
        if (!t.retired) return;
        for (const c of table.tablets.all()) this.checkSplit(table, c);
      });
  }

  /** Queues merges of adjacent tablets that together are small (not across initial splits). */
  private queueMerges(table: OpenTable): void {
    if (this.deps.isClosed() || this.deps.tables.get(table.record.schema.tableId) !== table) return;
    const all = table.tablets.all();
    const limit = this.deps.splitThresholdBytes * limits.MERGE_FRACTION;
    const kept = table.record.schema.initialSplits;
    for (let i = 0; i + 1 < all.length; i++) {
      const a = all[i] as TabletHandle;
      const b = all[i + 1] as TabletHandle;
      if (table.queued.has(a) || table.queued.has(b)) continue;
      const nowMs = this.deps.clock.monotonicMs();
      if (a.noMergeBeforeMs > nowMs || b.noMergeBeforeMs > nowMs) continue;
      if (b.record.startRow && kept.some((k) => k.equals(b.record.startRow as Buffer))) continue;
      if (a.engine.approximateBytes() + b.engine.approximateBytes() >= limit) continue;
      table.queued.add(a);
      table.queued.add(b);
      void this.deps
        .serialized(() => mergeTablets(this.splitContext(table), a, b))
        .then((done) => {
          if (done) this.stats.merges++;
        })
        .catch((err: unknown) =>
          this.deps.log.warn({ err: String(err), table: table.record.schema.tableId }, 'tablet merge failed'),
        )
        .finally(() => {
          table.queued.delete(a);
          table.queued.delete(b);
        });
      i++;
    }
  }

  /** Splits every tablet over the threshold (repeatedly), then merges small neighbours once. */
  async maintainAll(): Promise<void> {
    for (const table of [...this.deps.tables.values()]) {
      for (let pass = 0; pass < limits.MAINTAIN_SPLIT_PASSES_MAX; pass++) {
        const over = table.tablets
          .all()
          .filter((t) => this.splitWanted(t, t.engine.approximateBytes(), false));
        if (over.length === 0) break;
        for (const t of over) {
          const bytes = t.engine.approximateBytes();
          const done = await this.deps.serialized(() => splitTablet(this.splitContext(table), t));
          if (done) this.stats.splits++;
          else t.splitBlockedBelowBytes = bytes * 2;
        }
      }
      this.queueMerges(table);
    }
    await this.deps.serialized(async () => undefined);
  }

  /** What a split or merge of `table` needs; its pauses feed the statistics. */
  private splitContext(table: OpenTable): SplitContext {
    return this.deps.lifecycle.splitContext(table, (ms, phases) => {
      if (ms >= this.stats.pauseMsMax) {
        this.stats.pauseMsMax = ms;
        this.stats.longestPause = phases;
      }
      this.stats.pauseMsTotal += ms;
    });
  }
}
