/**
 * The tablets one tablet server owns: single tablets (not whole tables) opened from the shared
 * directory under the owner epoch of their assignment, with the engine resources they share (file
 * system, compaction workers, block cache, memtable budget). Opening a tablet is opening its
 * directory: the engine replays the tablet's own WAL, so a tablet moves without copying data.
 *
 * Every row operation goes through `withTablet`, which refuses with UNAVAILABLE (a message with
 * `moved`) when this server does not own the row, and with UNAVAILABLE when the server may no
 * longer serve at all (`canServe()`: its coordination session is not valid by the local clock).
 * A write that finishes after the session turned invalid, or that a newer owner's fence stopped, is
 * answered UNAVAILABLE, not OK: it may or may not be applied, as any failed write, but it is never
 * acknowledged by an owner that may have lost its tablet.
 *
 * Shared files: after a split or merge (src/cluster/tablet-splitter.ts) tablets share SSTables
 * by reference; files a retired tablet directory still holds are left on disk
 * (`KeepingNamespaceFiles`) rather than collected by a server that cannot know which other
 * server's tablets refer to them: the master collects them (src/master/shared-file-gc.ts).
 *
 * Exclusion: each engine holds an OS lock on its tablet directory (src/storage/store-lock.ts), so a
 * new owner's open fails with FAILED_PRECONDITION while the old owner's process still holds it;
 * the open is retried (CLUSTER_TABLET_OPEN_RETRY_MS × CLUSTER_TABLET_OPEN_TRIES_MAX). A killed
 * process holds no lock.
 *
 * Concurrency: single event-loop thread; opens and closes of one tablet are serialized by the
 * caller (src/cluster/tablet-server.ts).
 */
import type { Clock, Rand } from '../common/clock.js';
import { ErrorCode, errors, hasCode } from '../common/errors.js';
import * as limits from '../common/limits.js';
import type { Logger } from '../common/logger.js';
import type { CoordinationTimers } from '../coord/coordination-timers.js';
import type { Engine, EngineOptions } from '../storage/engine.js';
import type { FileSource } from '../storage/file-refs.js';
import { isStaleOwnerEpoch } from '../storage/owner-fence.js';
import { BackgroundTasks } from '../tablet/background-tasks.js';
import type { TableRecord, TabletRecord } from '../tablet/catalog.js';
import { MemtableBudget } from '../tablet/memtable-budget.js';
import type { OpenTable } from '../tablet/open-table.js';
import { NamespaceFiles } from '../tablet/tablet-files.js';
import type { TabletHandle } from '../tablet/tablet-handle.js';
import { sharedEngineResources } from '../tablet/tablet-host.js';
import { TabletDirNames, TabletLifecycle, tableDirOf } from '../tablet/tablet-lifecycle.js';
import type { SplitContext } from '../tablet/tablet-split.js';

/** Collects nothing: another server's tablet may still refer to what a release drops here. */
class KeepingNamespaceFiles extends NamespaceFiles {
  override release(_sources: readonly FileSource[]): Promise<void> {
    return Promise.resolve();
  }
  override retire(_tabletDir: string): Promise<void> {
    return Promise.resolve();
  }
}

/** One open tablet, the table record it was opened with, and its row operations so far. */
interface Owned {
  readonly handle: TabletHandle;
  readonly table: OpenTable;
  requests: number;
}

/** What the owned tablets need. */
export interface OwnedTabletsOptions {
  readonly dir: string;
  readonly engine?: Partial<Omit<EngineOptions, 'dir'>>;
  readonly clock: Clock;
  readonly rand: Rand;
  readonly timers: CoordinationTimers;
  readonly log: Logger;
  /** Whether this server may serve now (its session is valid by the local clock). */
  readonly canServe: () => boolean;
}

const key = (tableId: string, tabletDir: string) => `${tableId}/${tabletDir}`;

/** The tablets of one tablet server. */
export class OwnedTablets {
  private readonly owned = new Map<string, Owned>();
  /** Opens in progress, by `<table id>/<tablet dir>`; each settles (never rejects) when its open ends. */
  private readonly opening = new Map<string, Promise<void>>();
  /** Closes a release left running, by `<table id>/<tablet dir>`; each settles, never rejects. */
  private readonly closing = new Map<string, Promise<void>>();
  private readonly lifecycle: TabletLifecycle;
  private readonly background: BackgroundTasks;
  private readonly budget: MemtableBudget;
  private readonly shared: ReturnType<typeof sharedEngineResources>;
  /** Called after each operation `withTablet` ran on a tablet (the splitter checks its size). */
  afterWrite: ((handle: TabletHandle) => void) | undefined;

  constructor(private readonly options: OwnedTabletsOptions) {
    this.shared = sharedEngineResources(options.engine);
    this.background = new BackgroundTasks(options.log);
    const noCommits = {
      serialized: () =>
        Promise.reject(errors.unimplemented('tablets of a cluster do not split or merge yet')),
      commitTablets: () =>
        Promise.reject(errors.unimplemented('tablets of a cluster do not split or merge yet')),
      isClosed: () => false,
    };
    this.lifecycle = new TabletLifecycle(
      options.dir,
      this.shared,
      noCommits,
      options.clock,
      new TabletDirNames(options.clock, options.rand),
      this.background,
    );
    this.budget = new MemtableBudget(
      limits.MEMTABLE_BUDGET_BYTES_DEFAULT,
      () => this.engines(),
      this.background,
    );
  }

  /** The open tablet `tableId/tabletDir`, if this server has it open. */
  get(tableId: string, tabletDir: string): TabletHandle | undefined {
    return this.owned.get(key(tableId, tabletDir))?.handle;
  }

  /** Every open tablet. */
  all(): TabletHandle[] {
    return [...this.owned.values()].map((o) => o.handle);
  }

  /**
   * Opens tablet `record` of `table` under `ownerEpoch`, retrying while another process still holds
   * its directory; `stillWanted` is asked before each try (the assignment may have moved on).
   */
  async open(
    table: TableRecord,
    record: TabletRecord,
    ownerEpoch: number,
    stillWanted: () => boolean,
  ): Promise<TabletHandle | undefined> {
    const k = key(record.tableId, record.tabletDir);
    const opened = this.openTrying(table, record, ownerEpoch, stillWanted);
    const settled = opened.then(
      () => undefined,
      () => undefined,
    );
    this.opening.set(k, settled);
    void settled.then(() => {
      if (this.opening.get(k) === settled) this.opening.delete(k);
    });
    return opened;
  }

  /**
   * Waits at most `maxMs` for an open of tablet `tableId/tabletDir` in progress here to end; false
   * at once when none is.
   */
  async whenOpened(tableId: string, tabletDir: string, maxMs: number): Promise<boolean> {
    const settled = this.opening.get(key(tableId, tabletDir));
    if (!settled) return false;
    let cancel: () => void = () => undefined;
    const timeout = new Promise<void>((resolve) => {
      cancel = this.options.timers.setTimer(maxMs, resolve);
    });
    await Promise.race([settled, timeout]);
    cancel();
    return true;
  }

  private async openTrying(
    table: TableRecord,
    record: TabletRecord,
    ownerEpoch: number,
    stillWanted: () => boolean,
  ): Promise<TabletHandle | undefined> {
    const openTable = {
      record: table,
      files: new KeepingNamespaceFiles(this.shared.vfs, tableDirOf(this.options.dir, table)),
      queued: new Set(),
    } as unknown as OpenTable;
    // A release's close still running here holds the directory's epoch in this process.
    await this.closing.get(key(record.tableId, record.tabletDir));
    for (let tries = 1; ; tries++) {
      if (!stillWanted()) return undefined;
      try {
        const handle = await this.lifecycle.openTablet(openTable, record, ownerEpoch);
        openTable.record = table;
        this.owned.set(key(record.tableId, record.tabletDir), { handle, table: openTable, requests: 0 });
        return handle;
      } catch (err) {
        if (!hasCode(err, ErrorCode.FailedPrecondition) || tries >= limits.CLUSTER_TABLET_OPEN_TRIES_MAX)
          throw err;
        this.options.log.info({ err, tablet: record.tabletDir, tries }, 'opening a tablet failed; retrying');
        await this.sleep(limits.CLUSTER_TABLET_OPEN_RETRY_MS);
      }
    }
  }

  /**
   * Stops serving a tablet: waits for the writes inside it, and for the scans reading it at most
   * CLUSTER_CLOSE_READERS_WAIT_MS (a scan still reading then fails), then closes its engine.
   */
  async close(tableId: string, tabletDir: string): Promise<void> {
    const o = this.owned.get(key(tableId, tabletDir));
    if (!o) return;
    this.owned.delete(key(tableId, tabletDir));
    if (!o.handle.paused) await o.handle.pause();
    await Promise.race([o.handle.whenUnread(), this.sleep(limits.CLUSTER_CLOSE_READERS_WAIT_MS)]);
    await o.handle.engine.close();
  }

  /**
   * Lets go of a tablet for a planned move: stops its compactions (close would wait for one)
   * and flushes its memtable while it still serves; then stops admitting writes (it leaves the
   * served set at once: a write arriving now is answered UNAVAILABLE), waits for the writes
   * inside and flushes what they added only if that reaches CLUSTER_MOVE_FINAL_FLUSH_BYTES_MIN
   * (the next owner copies less into its new WAL faster than it is flushed here). Then it
   * resolves, with the milliseconds it served while flushing and those it took once writes
   * stopped (undefined when the tablet was not open here): the tablet's log is complete, so the
   * next owner may open it. Scans still reading finish (at most CLUSTER_CLOSE_READERS_WAIT_MS)
   * and the engine closes after that, off the hand-over's path; it commits nothing more.
   */
  async release(
    tableId: string,
    tabletDir: string,
  ): Promise<{ flushMs: number; stoppedMs: number } | undefined> {
    const clock = this.options.clock;
    const startedMs = clock.monotonicMs();
    const first = this.owned.get(key(tableId, tabletDir));
    if (!first) return undefined;
    // No compaction may start or still run when the engine closes: close would wait for it.
    await first.handle.engine.suspendCompactions();
    await first.handle.engine.flush();
    const o = this.owned.get(key(tableId, tabletDir));
    if (o !== first) return undefined;
    const stoppedAtMs = clock.monotonicMs();
    this.owned.delete(key(tableId, tabletDir));
    await o.handle.pause();
    // Best effort: what a failed flush leaves is in the WAL, which the next owner replays.
    if (o.handle.engine.memtableBytes() >= limits.CLUSTER_MOVE_FINAL_FLUSH_BYTES_MIN)
      await o.handle.engine
        .flush()
        .catch((err) => this.options.log.warn({ err, tablet: tabletDir }, 'flush before a move failed'));
    const k = key(tableId, tabletDir);
    const closing = Promise.race([o.handle.whenUnread(), this.sleep(limits.CLUSTER_CLOSE_READERS_WAIT_MS)])
      .then(() => o.handle.engine.close())
      .catch((err) => this.options.log.warn({ err, tablet: tabletDir }, 'closing a released tablet failed'))
      .finally(() => {
        if (this.closing.get(k) === closing) this.closing.delete(k);
      });
    this.closing.set(k, closing);
    return { flushMs: stoppedAtMs - startedMs, stoppedMs: clock.monotonicMs() - stoppedAtMs };
  }

  /** Row operations served so far from a tablet this server has open (0 when it has not). */
  requestCount(tableId: string, tabletDir: string): number {
    return this.owned.get(key(tableId, tabletDir))?.requests ?? 0;
  }

  /** Closes every tablet (the session was lost or the server stops). */
  async closeAll(): Promise<void> {
    for (const h of this.all()) await this.close(h.record.tableId, h.record.tabletDir);
    await Promise.all(this.closing.values());
    while (this.background.size > 0) await this.background.settled();
  }

  /** Stops the compaction workers (after `closeAll`). */
  closeWorkers(): Promise<void> {
    return this.shared.executor.close();
  }

  /** A table's schema changed: the tablets of it this server holds take it. */
  applyTableRecord(record: TableRecord): void {
    for (const o of this.owned.values()) {
      if (o.handle.record.tableId !== record.schema.tableId) continue;
      o.table.record = record;
      o.handle.tablet.setSchema(record.schema);
    }
  }

  /**
   * Runs `op` on open tablet `handle` inside its write gate, if this server may serve; a result
   * that arrives after the session turned invalid is answered UNAVAILABLE instead.
   */
  async withTablet<T>(handle: TabletHandle, op: (h: TabletHandle) => Promise<T>): Promise<T> {
    this.requireServing();
    const o = this.owned.get(key(handle.record.tableId, handle.record.tabletDir));
    if (o?.handle !== handle) throw movedError(handle.record);
    o.requests++;
    const entered = handle.enter();
    if (entered !== true) throw movedError(handle.record);
    let result: T;
    try {
      result = await op(handle);
    } catch (err) {
      // A newer owner fenced the tablet while the call ran (this server was paused past its
      // session): the call's outcome is unknown (a write may have reached the log the new owner
      // replayed), as after a lost connection, so the client gets UNAVAILABLE, which it retries
      // only when the call is idempotent, not a precondition failure, which it never retries.
      if (isStaleOwnerEpoch(err)) {
        throw errors.unavailable('the tablet changed owners while the call ran; its outcome is unknown', {
          table: handle.record.tableId,
          tablet: handle.record.tabletDir,
        });
      }
      throw err;
    } finally {
      handle.leave();
      this.budget.noteWrite();
    }
    this.requireServing();
    this.afterWrite?.(handle);
    return result;
  }

  /**
   * What a split or merge of open tablet `handle` needs (src/tablet/tablet-split.ts), before the
   * cluster's splitter replaces the catalog commit and the closing of tablets; undefined when this
   * server does not hold it.
   */
  splitContext(handle: TabletHandle, pauseObserved: SplitContext['pauseObserved']): SplitContext | undefined {
    const o = this.owned.get(key(handle.record.tableId, handle.record.tabletDir));
    if (o?.handle !== handle) return undefined;
    return this.lifecycle.splitContext(o.table, pauseObserved);
  }

  /** Stops serving `handle` at once (a split or merge retired it); its engine is the caller's to close. */
  detach(handle: TabletHandle): void {
    const k = key(handle.record.tableId, handle.record.tabletDir);
    if (this.owned.get(k)?.handle === handle) this.owned.delete(k);
  }

  /** UNAVAILABLE when this server may not serve now. */
  requireServing(): void {
    if (!this.options.canServe())
      throw errors.unavailable('tablet server lost its coordination session and serves nothing');
  }

  private *engines(): Iterable<Engine> {
    for (const o of this.owned.values()) yield o.handle.engine;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => void this.options.timers.setTimer(ms, resolve));
  }
}

/** The answer of a server asked about a row it does not own. */
export function movedError(t: { tableId: string; tabletDir?: string }): Error {
  return errors.unavailable('tablet moved: this server does not own the row', {
    table: t.tableId,
    ...(t.tabletDir ? { tablet: t.tabletDir } : {}),
  });
}

/** Whether `err` is a `moved` answer (from this process or over gRPC). */
export function isMoved(err: unknown): boolean {
  return err instanceof Error && /\bmoved\b/.test(err.message);
}
