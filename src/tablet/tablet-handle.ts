/**
 * One live (or retiring) tablet of a table: its row range, its engine and the Bigtable operations
 * over it, plus the two counters that let it be split, merged and closed safely while requests run.
 *
 * - The write gate: every write enters through `enter()` and leaves through `leave()`. `pause()`
 *   closes the gate and resolves once the writes inside have left; writers arriving meanwhile wait
 *   for `resume()`, then find the tablet that now owns their row (the caller loops on `retired`).
 * - Readers: a scan holds `acquireReader()` while it reads this tablet's engine, so a tablet that
 *   a split retires keeps its engine open until the last such scan finishes (`whenUnread`).
 *
 * Concurrency: single event-loop thread; the gate and counters change only synchronously.
 */
import { assert } from '../common/assert.js';
import { rowStartKey } from '../model/cell-key.js';
import type { Engine } from '../storage/engine.js';
import type { TabletRecord } from './catalog.js';
import { DATA_START_KEY } from './row-reader.js';
import type { BigtableTablet } from './tablet.js';

export class TabletHandle {
  /** First engine key of the range (DATA_START_KEY for the table's first tablet). */
  readonly startKey: Buffer;
  /** Engine key the range ends before; undefined for the table's last tablet. */
  readonly endKey: Buffer | undefined;
  /** Set once a split or merge replaced this tablet; it takes no more writes. */
  retired = false;
  /** Set when a split or merge of this tablet could not be recorded: writes fail with it. */
  failure: Error | undefined;
  private writers = 0;
  private readers = 0;
  private gate: { opened: Promise<void>; open: () => void } | undefined;
  private drained: (() => void) | undefined;
  private unread: (() => void) | undefined;
  /** Operations since `opsWindowStartMs` (for hot-tablet detection). */
  opsInWindow = 0;
  opsWindowStartMs = 0;
  hotSinceMs: number | undefined;
  /** Not merged before this time (monotonic ms): the halves of a hot split stay apart. */
  noMergeBeforeMs = 0;
  /** A split found no row to split at: do not retry below this size. */
  splitBlockedBelowBytes = 0;

  constructor(
    readonly record: TabletRecord,
    readonly engine: Engine,
    readonly tablet: BigtableTablet,
    /**
     * The owner epoch the host opened this tablet under (the children of a split or merge inherit
     * their parents'). Recorded only: fencing by it is described in src/tablet/tablet-host.ts.
     */
    readonly ownerEpoch: number,
  ) {
    this.startKey = record.startRow ? rowStartKey(record.startRow) : DATA_START_KEY;
    this.endKey = record.endRow ? rowStartKey(record.endRow) : undefined;
  }

  /** Whether engine key `key` is in this tablet's range. */
  containsKey(key: Buffer): boolean {
    return (
      Buffer.compare(key, this.startKey) >= 0 &&
      (this.endKey === undefined || Buffer.compare(key, this.endKey) < 0)
    );
  }

  /**
   * Enters the write gate: true when the caller may write now (and must call `leave()`), or a
   * promise to wait on before routing again.
   */
  enter(): true | Promise<void> {
    if (this.failure) throw this.failure;
    if (this.gate) return this.gate.opened;
    assert(!this.retired, 'write entered a retired tablet');
    this.writers++;
    return true;
  }

  leave(): void {
    assert(this.writers > 0, 'leave without enter');
    if (--this.writers === 0) this.drained?.();
  }

  /** Closes the write gate; resolves once no write is inside. */
  async pause(): Promise<void> {
    assert(!this.gate, 'tablet already paused');
    let open!: () => void;
    const opened = new Promise<void>((r) => {
      open = r;
    });
    this.gate = { opened, open };
    if (this.writers > 0)
      await new Promise<void>((r) => {
        this.drained = r;
      });
    this.drained = undefined;
  }

  /** Opens the write gate; waiting writers route again (to the children if this one retired). */
  resume(): void {
    const gate = this.gate;
    this.gate = undefined;
    gate?.open();
  }

  get paused(): boolean {
    return this.gate !== undefined;
  }

  acquireReader(): void {
    this.readers++;
  }

  releaseReader(): void {
    assert(this.readers > 0, 'release without acquire');
    if (--this.readers === 0) this.unread?.();
  }

  /** Resolves once no scan reads this tablet. */
  async whenUnread(): Promise<void> {
    if (this.readers === 0) return;
    await new Promise<void>((r) => {
      this.unread = r;
    });
    this.unread = undefined;
  }
}
