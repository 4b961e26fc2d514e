/**
 * The tablet host: opens, serves and closes tablets given their catalog records (TabletRecord,
 * grouped by table) and an owner epoch, and owns what its tablets share — the engine resources
 * (file system, block cache, compaction workers), the memtable budget, the background tasks, and
 * the scheduling of splits and merges (src/tablet/tablet-maintenance.ts). It never writes the
 * catalog: a split or merge is recorded by the metadata service through `MetadataCommits`
 * (src/tablet/tablet-host-api.ts), which also asks the host to open and close tables through
 * `TabletHostControl`. In one process both are wired by `openTableStore` (src/tablet/table-store.ts);
 * in a cluster each tablet server runs a host.
 *
 * Owner epoch: each open tablet records the epoch it was opened under (`TabletHandle.ownerEpoch`;
 * split and merge children inherit their parents'), and `TabletLifecycle.openTablet` opens its
 * engine with it: the engine fences the tablet's directory (src/storage/owner-fence.ts), and every
 * commit point of the engine — its manifest edits (`ManifestLog.logAndApply` checks before
 * `ManifestStore.append`, which covers flush and compaction results and split/merge adoptions),
 * new WAL segments and write acknowledgements — fails with FAILED_PRECONDITION `owner epoch is
 * stale` once a higher epoch has fenced the directory (docs/rfcs/0003-epoch-fencing.md). Still to
 * come: `MetadataCommits.commitTablets` carrying the parents' epoch, so the metadata service
 * refuses a split or merge from an owner it no longer assigns.
 *
 * Invariants: a table is served (in `tables`) from the end of `openTable` to the start of
 * `closeTable`; a table's `record` is the one last applied by the metadata service.
 *
 * Concurrency: single event-loop thread. Splits and merges run on the metadata service's admin
 * chain; once it is closed, writes no longer trigger the memtable budget or split checks.
 */
import { prefixSuccessor } from '../common/bytes.js';
import type { Clock } from '../common/clock.js';
import { errors } from '../common/errors.js';
import { BLOCK_CACHE_BYTES_DEFAULT, PURGE_BATCH_ROWS } from '../common/limits.js';
import type { Logger } from '../common/logger.js';
import { familyKeyRange, rowStartKey } from '../model/cell-key.js';
import { BlockCache } from '../storage/block-cache.js';
import { type CompactionExecutor, InlineExecutor, WorkerExecutor } from '../storage/compaction-executor.js';
import type { Engine, EngineOptions } from '../storage/engine.js';
import { RealVfs } from '../storage/real-vfs.js';
import { WriteBatch } from '../storage/write-batch.js';
import { BackgroundTasks } from './background-tasks.js';
import type { TableRecord, TabletRecord } from './catalog.js';
import { MemtableBudget } from './memtable-budget.js';
import type { OpenTable } from './open-table.js';
import { sampleRowKeys } from './row-key-samples.js';
import { DATA_END_KEY, DATA_START_KEY, readRawRows } from './row-reader.js';
import { TableRouter } from './table-router.js';
import type { Tablet } from './table-store-api.js';
import { NamespaceFiles } from './tablet-files.js';
import type { TabletHandle } from './tablet-handle.js';
import type { MetadataCommits, TableOpenMode, TabletHostControl } from './tablet-host-api.js';
import type { TabletInspection } from './tablet-inspection.js';
import { type SharedEngineOptions, type TabletDirNames, TabletLifecycle } from './tablet-lifecycle.js';
import { type HotSplitOptions, TabletMaintenance } from './tablet-maintenance.js';
import { TabletSet } from './tablet-set.js';

/** What a tablet host is made of. */
export interface TabletHostOptions {
  /** The store's directory (tables under `<dir>/tables`). */
  readonly dir: string;
  /** Engine resources every tablet shares; the host closes the executor. */
  readonly shared: SharedEngineOptions;
  readonly metadata: MetadataCommits;
  readonly dirNames: TabletDirNames;
  readonly clock: Clock;
  readonly log: Logger;
  /** Memory all memtables may use together. */
  readonly memtableBudgetBytes: number;
  /** Bytes between intra-tablet samples of SampleRowKeys. */
  readonly sampleIntervalBytes: number;
  /** Size past which a tablet splits. */
  readonly splitThresholdBytes: number;
  /** Whether tablets split and merge on their own. */
  readonly autoSplit: boolean;
  readonly hotSplit: HotSplitOptions;
}

/**
 * The engine resources a host's tablets share, made from the store's engine options: the file
 * system (the real one by default), one compaction executor (worker threads on the real file
 * system, inline otherwise, unless `executor` says) and one block cache.
 */
export function sharedEngineResources(engine: Partial<Omit<EngineOptions, 'dir'>> = {}): SharedEngineOptions {
  const vfs = engine.vfs ?? new RealVfs();
  const executor: CompactionExecutor =
    (engine.executor ?? (vfs instanceof RealVfs ? 'worker' : 'inline')) === 'worker'
      ? new WorkerExecutor()
      : new InlineExecutor(vfs);
  const blockCache = new BlockCache({ capacityBytes: engine.blockCacheBytes ?? BLOCK_CACHE_BYTES_DEFAULT });
  return { ...engine, vfs, executor, blockCache };
}

/** The tablets of one process (see the file comment). */
export class TabletHost implements TabletHostControl {
  private readonly tables = new Map<string, OpenTable>();
  private readonly background: BackgroundTasks;
  private readonly lifecycle: TabletLifecycle;
  private readonly memtableBudget: MemtableBudget;
  private readonly maintenance: TabletMaintenance;

  /** What metrics, the console and tests read of the tablets (src/tablet/tablet-inspection.ts). */
  readonly inspection: TabletInspection = {
    tablets: (tableId) =>
      this.get(tableId)
        .tablets.all()
        .map((t) => ({
          startRow: t.record.startRow,
          endRow: t.record.endRow,
          engine: t.engine,
          ownerEpoch: t.ownerEpoch,
        })),
    workerMemory: () => this.options.shared.executor.workerMemory(),
    splitStats: () => {
      const stats = this.maintenance.stats;
      return { ...stats, longestPause: { ...stats.longestPause } };
    },
    maintainAll: () => this.maintenance.maintainAll(),
  };

  constructor(private readonly options: TabletHostOptions) {
    const { metadata, clock, log } = options;
    this.background = new BackgroundTasks(log);
    this.lifecycle = new TabletLifecycle(
      options.dir,
      options.shared,
      metadata,
      clock,
      options.dirNames,
      this.background,
    );
    this.memtableBudget = new MemtableBudget(
      options.memtableBudgetBytes,
      () => this.liveEngines(),
      this.background,
    );
    this.maintenance = new TabletMaintenance({
      tables: this.tables,
      lifecycle: this.lifecycle,
      clock,
      log,
      isClosed: () => metadata.isClosed(),
      serialized: (op) => metadata.serialized(op),
      splitThresholdBytes: options.splitThresholdBytes,
      autoSplit: options.autoSplit,
      hotSplit: options.hotSplit,
    });
  }

  /** With automatic splitting, starts the merge timer and checks every tablet served. */
  startMaintenance(): void {
    this.maintenance.start();
  }

  /** Stops the merge timer (the store is closing). */
  stopMaintenance(): void {
    this.maintenance.stop();
  }

  async openTable(
    record: TableRecord,
    tablets: readonly TabletRecord[],
    ownerEpoch: number,
    mode: TableOpenMode,
  ): Promise<void> {
    const table = this.newOpenTable(record, mode === 'recover');
    const handles: TabletHandle[] = [];
    try {
      for (const r of tablets) handles.push(await this.lifecycle.openTablet(table, r, ownerEpoch));
      try {
        table.tablets = new TabletSet(handles);
      } catch (err) {
        throw errors.dataLoss('the catalog tablets of a table do not cover it exactly', {
          table: record.schema.tableId,
          reason: err instanceof Error ? err.message : String(err),
        });
      }
    } catch (err) {
      for (const h of handles) await h.engine.close();
      throw err;
    }
    if (mode === 'recover') await table.files.collectAll();
    this.tables.set(record.schema.tableId, table);
  }

  async closeTable(tableId: string): Promise<void> {
    const t = this.get(tableId);
    this.tables.delete(tableId);
    await this.background.settled();
    for (const h of t.tablets.all()) await h.engine.close();
  }

  applyTableRecord(record: TableRecord): void {
    const t = this.get(record.schema.tableId);
    t.record = record;
    for (const h of t.tablets.all()) h.tablet.setSchema(record.schema);
  }

  async purgeFamily(tableId: string, family: string): Promise<void> {
    for (const t of this.get(tableId).tablets.all()) await purgeFamilyFromTablet(t, family);
  }

  async dropRowRange(tableId: string, range: { rowKeyPrefix: Buffer } | { all: true }): Promise<void> {
    const table = this.get(tableId);
    const { start, end } = dropRangeKeys(range);
    for (const t of table.tablets.all()) {
      const lo = Buffer.compare(start, t.startKey) > 0 ? start : t.startKey;
      const hi = t.endKey !== undefined && Buffer.compare(t.endKey, end) < 0 ? t.endKey : end;
      if (Buffer.compare(lo, hi) < 0) await t.engine.deleteRange(lo, hi);
    }
  }

  router(tableId: string): Tablet {
    return this.get(tableId).router;
  }

  lastSequence(tableId: string): number {
    return this.get(tableId)
      .tablets.all()
      .reduce((n, t) => n + t.engine.stats().lastSequence, 0);
  }

  /**
   * Waits until no background task is left, then closes every tablet (the store is closing and its
   * admin chain has drained). The shared engine resources stay open for `closeWorkers`.
   */
  async closeTablets(): Promise<void> {
    // More background tasks may start while these run: wait until none is left.
    while (this.background.size > 0) await this.background.settled();
    for (const t of this.tables.values()) for (const h of t.tablets.all()) await h.engine.close();
    this.tables.clear();
  }

  /** Stops the compaction workers, once no engine sharing them is open. */
  closeWorkers(): Promise<void> {
    return this.options.shared.executor.close();
  }

  private get(tableId: string): OpenTable {
    const t = this.tables.get(tableId);
    if (!t) throw errors.notFound('table does not exist', { table: tableId });
    return t;
  }

  /** A table's in-memory state before its tablets are open (`tablets` is set by the caller). */
  private newOpenTable(record: TableRecord, opening: boolean): OpenTable {
    const table = {
      record,
      files: new NamespaceFiles(this.options.shared.vfs, this.lifecycle.tableDir(record), { opening }),
      queued: new Set<TabletHandle>(),
    } as OpenTable;
    table.router = new TableRouter(() => table.tablets, {
      afterWrite: (t) => this.afterWrite(table, t),
      sampleRowKeys: () => sampleRowKeys(table.tablets.all(), this.options.sampleIntervalBytes),
    });
    return table;
  }

  /** After a write to `t` settled: the memtable budget, then the split check. */
  private afterWrite(table: OpenTable, t: TabletHandle): void {
    if (this.options.metadata.isClosed()) return;
    this.memtableBudget.noteWrite();
    this.maintenance.afterWrite(table, t);
  }

  /** The engine of every live tablet, in table and then range order. */
  private *liveEngines(): Iterable<Engine> {
    for (const table of this.tables.values()) for (const t of table.tablets.all()) yield t.engine;
  }
}

/** Deletes every cell of `family` in one tablet, PURGE_BATCH_ROWS rows per write. */
export async function purgeFamilyFromTablet(t: TabletHandle, family: string): Promise<void> {
  let batch = new WriteBatch();
  let rows = 0;
  for (const row of readRawRows(t.engine, [{ start: t.startKey, end: t.endKey }], false)) {
    if (!row.cells.some((c) => c.family === family)) continue;
    const r = familyKeyRange(row.key, family);
    batch.deleteRange(r.start, r.end as Buffer);
    if (++rows >= PURGE_BATCH_ROWS) {
      await t.engine.write(batch);
      batch = new WriteBatch();
      rows = 0;
    }
  }
  await t.engine.write(batch);
}

/** The engine keys [start, end) of DropRowRange's rows: a row key prefix, or every row. */
export function dropRangeKeys(range: { rowKeyPrefix: Buffer } | { all: true }): {
  start: Buffer;
  end: Buffer;
} {
  if ('all' in range) return { start: DATA_START_KEY, end: DATA_END_KEY };
  const start = rowStartKey(range.rowKeyPrefix);
  const escaped = start.subarray(0, start.length - 2);
  return { start, end: prefixSuccessor(escaped) ?? DATA_END_KEY };
}
