/**
 * The tables of one instance on local storage: the METADATA catalog (an engine of its own) and,
 * per table, a directory holding its tablets' stores, `<dir>/tables/<table dir>/<tablet dir>`.
 * A table is an ordered set of tablets (src/tablet/tablet-set.ts); a tablet that grows past the
 * split threshold splits in two, adjacent small tablets merge (src/tablet/tablet-split.ts), both
 * as metadata operations committed in one catalog write.
 *
 * Admin operations, splits and merges are serialized on one chain; data operations go straight to
 * the tablets through each table's router.
 *
 * Crash safety: a table's tablet directories are created before the catalog write naming them
 * (the commit point) and deleted after the write that drops them; at open, every directory no
 * live tablet names is collected, keeping SSTables live tablets still reference. A dropped family
 * is removed from the schema first (reads hide it at once) and recorded as purging until its cells
 * are deleted; purges interrupted by a crash resume at open.
 *
 * Memory: all tablets share one block cache and one compaction executor, and their memtables share
 * one budget (the largest is flushed early past it), so memory is bounded by configuration, not by
 * the number of tablets.
 */
import { prefixSuccessor } from '../common/bytes.js';
import { type Clock, type Rand, systemClock, systemRand } from '../common/clock.js';
import { errors } from '../common/errors.js';
import * as limits from '../common/limits.js';
import { PURGE_BATCH_ROWS, ROW_KEY_BYTES_MAX } from '../common/limits.js';
import { type Logger, silentLogger } from '../common/logger.js';
import { decodeCellKey, familyKeyRange, rowStartKey } from '../model/cell-key.js';
import { compileGcRule } from '../model/gc-rule.js';
import { validateFamilyName } from '../model/mutation.js';
import type { GcRule } from '../model/proto-types.js';
import { BlockCache } from '../storage/block-cache.js';
import {
  type CompactionExecutor,
  InlineExecutor,
  WorkerExecutor,
  type WorkerMemory,
} from '../storage/compaction-executor.js';
import type { CompactionFilterSpec } from '../storage/compaction-filter.js';
import { Engine, type EngineOptions, type EngineStats } from '../storage/engine.js';
import { RealVfs } from '../storage/real-vfs.js';
import { joinPath, type Vfs } from '../storage/vfs.js';
import { WriteBatch } from '../storage/write-batch.js';
import { Catalog, makeSchema, type TableRecord, type TabletRecord } from './catalog.js';
import { GC_FILTER_MODULE, type GcFilterConfig } from './gc-compaction-filter.js';
import { DATA_START_KEY, ROW_FILTER_PREFIX, readRawRows } from './row-reader.js';
import { TableRouter } from './table-router.js';
import type {
  FamilyModification,
  FamilySchema,
  RowKeySample,
  TableSchema,
  TableStore,
  Tablet,
} from './table-store-api.js';
import { BigtableTablet } from './tablet.js';
import { NamespaceFiles } from './tablet-files.js';
import { TabletHandle } from './tablet-handle.js';
import { TabletSet } from './tablet-set.js';
import { mergeTablets, type PausePhases, type SplitContext, splitTablet } from './tablet-split.js';

/** An engine key above every cell key: row keys are at most ROW_KEY_BYTES_MAX bytes. */
export const DATA_END_KEY = Buffer.alloc(ROW_KEY_BYTES_MAX + 1, 0xff);
const MICROS_PER_MS = 1000;

/** Options of a local table store. */
export interface TableStoreOptions {
  dir: string;
  /** Options passed to every engine (catalog and tablets). */
  engine?: Partial<Omit<EngineOptions, 'dir'>>;
  /** Size past which a tablet splits (SPLIT_THRESHOLD_BYTES_DEFAULT; at least SPLIT_THRESHOLD_BYTES_MIN). */
  splitThresholdBytes?: number;
  /** Memory all memtables may use together (MEMTABLE_BUDGET_BYTES_DEFAULT). */
  memtableBudgetBytes?: number;
  /** Bytes between intra-tablet samples of SampleRowKeys (SAMPLE_INTERVAL_BYTES_DEFAULT). */
  sampleIntervalBytes?: number;
  /**
   * When a tablet counts as hot and splits below the size threshold: sustained write operations
   * per second over a window, for tablets of at least `bytesMin` (HOT_TABLET_* defaults).
   */
  hotSplit?: { opsPerSec: number; windowMs: number; bytesMin: number };
  /** Whether tablets split and merge on their own (default true; tests may drive them by hand). */
  autoSplit?: boolean;
  /** Directory of the METADATA catalog inside `dir` (default `catalog`; src/master/metadata-root.ts). */
  catalogDir?: string;
  /** Closed after the store closes (e.g. the coordination service the root came from). */
  closeAfter?: ReadonlyArray<{ close(): Promise<void> }>;
  /** Where background failures are logged (default: nowhere). */
  logger?: Logger;
  clock?: Clock;
  rand?: Rand;
}

/** One table: its catalog record, its tablets and the files of its directory. */
interface OpenTable {
  record: TableRecord;
  tablets: TabletSet;
  files: NamespaceFiles;
  router: TableRouter;
  /** Tablets with a split or merge queued, so one is not queued twice. */
  queued: Set<TabletHandle>;
}

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

/** Opens (creating if needed) the tables under `options.dir`. */
export async function openTableStore(options: TableStoreOptions): Promise<TableStore> {
  const threshold = options.splitThresholdBytes ?? limits.SPLIT_THRESHOLD_BYTES_DEFAULT;
  if (!Number.isSafeInteger(threshold) || threshold < limits.SPLIT_THRESHOLD_BYTES_MIN) {
    throw errors.invalidArgument('split threshold is too small', {
      bytes: threshold,
      bytesMin: limits.SPLIT_THRESHOLD_BYTES_MIN,
    });
  }
  const vfs = options.engine?.vfs ?? new RealVfs();
  const executor: CompactionExecutor =
    (options.engine?.executor ?? (vfs instanceof RealVfs ? 'worker' : 'inline')) === 'worker'
      ? new WorkerExecutor()
      : new InlineExecutor(vfs);
  const blockCache = new BlockCache({
    capacityBytes: options.engine?.blockCacheBytes ?? limits.BLOCK_CACHE_BYTES_DEFAULT,
  });
  const shared = { ...options.engine, vfs, executor, blockCache };
  let catalogEngine: Engine;
  try {
    catalogEngine = await Engine.open({
      ...shared,
      dir: joinPath(options.dir, options.catalogDir ?? 'catalog'),
    });
  } catch (err) {
    await executor.close();
    throw err;
  }
  const store = new LocalTableStore(options, shared, threshold, catalogEngine);
  try {
    await store.load();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/**
 * The storage counters of each tablet, in table and then range order: read-only, for /metrics and
 * the web console. Empty for a store that is not a local one.
 */
export function tabletEngineStats(store: TableStore): Array<{ tableId: string; stats: EngineStats }> {
  return store instanceof LocalTableStore ? store.tabletEngineStats() : [];
}

/** Each live tablet of a table with its range and counters, in range order (the console). */
export function tabletDetails(
  store: TableStore,
  tableId: string,
): Array<{ startRow: Buffer | undefined; endRow: Buffer | undefined; stats: EngineStats }> {
  return store instanceof LocalTableStore ? store.tabletDetails(tableId) : [];
}

/** The row ranges of a table's live tablets, in order (for tests and the console). */
export function tabletRanges(
  store: TableStore,
  tableId: string,
): Array<{ startRow: Buffer | undefined; endRow: Buffer | undefined; bytes: number }> {
  return store instanceof LocalTableStore ? store.tabletRanges(tableId) : [];
}

/** The engines of a table's tablets in range order (tests and tools: compactions, raw scans). */
export function tabletEngines(store: TableStore, tableId: string): Engine[] {
  return store instanceof LocalTableStore ? store.tabletEngines(tableId) : [];
}

/** Memory of the compaction worker threads every tablet shares (diagnostics, benchmarks). */
export function compactionWorkerMemory(store: TableStore): Promise<WorkerMemory[]> {
  return store instanceof LocalTableStore ? store.workerMemory() : Promise.resolve([]);
}

/** Split and merge counters of a local store. */
export function tabletStats(store: TableStore): TabletStats | undefined {
  return store instanceof LocalTableStore
    ? { ...store.splitStats, longestPause: { ...store.splitStats.longestPause } }
    : undefined;
}

/** Runs one split and merge pass over every table now (tests); resolves when they are done. */
export function maintainTablets(store: TableStore): Promise<void> {
  return store instanceof LocalTableStore ? store.maintainAll() : Promise.resolve();
}

class LocalTableStore implements TableStore {
  private readonly tables = new Map<string, OpenTable>();
  private readonly catalog: Catalog;
  private readonly clock: Clock;
  private readonly rand: Rand;
  private readonly vfs: Vfs;
  private admin: Promise<unknown> = Promise.resolve();
  private closed = false;
  private mergeTimer: NodeJS.Timeout | undefined;
  private writesSinceBudgetCheck = 0;
  private readonly flushRequested = new Set<Engine>();
  private readonly background = new Set<Promise<unknown>>();
  private dirSequence = 0;
  readonly splitStats: TabletStats = {
    splits: 0,
    merges: 0,
    pauseMsMax: 0,
    longestPause: { drainMs: 0, handOverMs: 0, adoptMs: 0, commitMs: 0 },
    pauseMsTotal: 0,
  };
  private readonly memtableBudgetBytes: number;
  private readonly sampleIntervalBytes: number;
  private readonly autoSplit: boolean;
  private readonly hotSplit: { opsPerSec: number; windowMs: number; bytesMin: number };
  private readonly log: Logger;

  constructor(
    private readonly options: TableStoreOptions,
    /** Engine options every tablet shares: file system, executor, block cache. */
    private readonly shared: Omit<EngineOptions, 'dir'> & { vfs: Vfs; executor: CompactionExecutor },
    private readonly splitThresholdBytes: number,
    catalogEngine: Engine,
  ) {
    this.catalog = new Catalog(catalogEngine);
    this.clock = options.clock ?? systemClock;
    this.rand = options.rand ?? systemRand;
    this.vfs = shared.vfs;
    this.memtableBudgetBytes = options.memtableBudgetBytes ?? limits.MEMTABLE_BUDGET_BYTES_DEFAULT;
    this.sampleIntervalBytes = options.sampleIntervalBytes ?? limits.SAMPLE_INTERVAL_BYTES_DEFAULT;
    this.autoSplit = options.autoSplit ?? true;
    this.hotSplit = options.hotSplit ?? {
      opsPerSec: limits.HOT_TABLET_OPS_PER_SEC,
      windowMs: limits.HOT_TABLET_WINDOW_MS,
      bytesMin: limits.HOT_SPLIT_BYTES_MIN,
    };
    this.log = options.logger ?? silentLogger();
  }

  async load(): Promise<void> {
    const tablets = this.catalog.listTablets();
    for (const record of this.catalog.list()) {
      const mine = tablets.filter((t) => t.tableId === record.schema.tableId);
      const table = await this.openTable(record, mine);
      this.tables.set(record.schema.tableId, table);
      for (const family of record.purgingFamilies) await this.purgeFamily(table, family);
    }
    const live = new Set([...this.tables.values()].map((t) => t.record.dirName));
    for (const name of await this.vfs.list(this.tablesDir()))
      if (!live.has(name)) await this.vfs.removeDir(joinPath(this.tablesDir(), name));
    if (this.autoSplit) {
      this.mergeTimer = setInterval(() => {
        for (const table of this.tables.values()) this.queueMerges(table);
      }, limits.MERGE_CHECK_INTERVAL_MS);
      this.mergeTimer.unref();
      for (const table of this.tables.values())
        for (const t of table.tablets.all()) this.checkSplit(table, t);
    }
  }

  private tablesDir(): string {
    return joinPath(this.options.dir, 'tables');
  }

  private tableDir(record: TableRecord): string {
    return joinPath(this.tablesDir(), record.dirName);
  }

  private newTabletDir(): string {
    const seq = (this.dirSequence++).toString(36);
    return `t${Math.floor(this.clock.nowMs()).toString(36)}-${seq}-${this.rand.int(0x7fffffff).toString(36)}`;
  }

  /** A table's in-memory state before its tablets are open (`tablets` is set by the caller). */
  private newOpenTable(record: TableRecord, opening: boolean): OpenTable {
    const table = {
      record,
      files: new NamespaceFiles(this.vfs, this.tableDir(record), { opening }),
      queued: new Set<TabletHandle>(),
    } as OpenTable;
    table.router = new TableRouter(() => table.tablets, {
      afterWrite: (t) => this.afterWrite(table, t),
      sampleRowKeys: () => this.sampleRowKeys(table),
    });
    return table;
  }

  private async openTable(record: TableRecord, tabletRecords: readonly TabletRecord[]): Promise<OpenTable> {
    const table = this.newOpenTable(record, true);
    const handles: TabletHandle[] = [];
    try {
      for (const r of tabletRecords) handles.push(await this.openTablet(table, r));
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
    await table.files.collectAll();
    return table;
  }

  private async openTablet(table: OpenTable, record: TabletRecord): Promise<TabletHandle> {
    // Releases before the references are counted below are already reflected in what is counted.
    let counted = false;
    const engine = await Engine.open({
      ...this.shared,
      dir: joinPath(this.tableDir(table.record), record.tabletDir),
      filterPrefix: ROW_FILTER_PREFIX,
      compactionFilter: () => this.gcFilter(table.record.schema),
      onSourcesReleased: (sources) => {
        if (counted) this.track(table.files.release(sources));
      },
    });
    table.files.markLive(record.tabletDir);
    table.files.addRefs(engine.referencedSources());
    counted = true;
    const tablet = new BigtableTablet(engine, table.record.schema, this.clock, record.timestampFloorMicros);
    return new TabletHandle(record, engine, tablet);
  }

  /** Closes a tablet once no scan reads it; with `collect`, deletes what nothing references. */
  private async retire(table: OpenTable, t: TabletHandle, collect: boolean): Promise<void> {
    await t.whenUnread();
    const held = t.engine.referencedSources();
    await t.engine.close();
    if (!collect) return;
    await table.files.retire(t.record.tabletDir);
    await table.files.release(held);
  }

  /** Keeps a background task's promise until it settles; logs its failure. */
  private track(p: Promise<unknown>): void {
    const run = p.catch((err: unknown) =>
      this.log.warn({ err: String(err) }, 'background tablet task failed'),
    );
    this.background.add(run);
    void run.finally(() => this.background.delete(run));
  }

  private splitContext(table: OpenTable): SplitContext {
    return {
      catalog: this.catalog,
      clock: this.clock,
      storeOptions: (dir) => ({
        ...this.shared,
        dir: joinPath(this.tableDir(table.record), dir),
        filterPrefix: ROW_FILTER_PREFIX,
      }),
      newTabletDir: () => this.newTabletDir(),
      openTablet: (r) => this.openTablet(table, r),
      rebind: (t, record) =>
        new TabletHandle(
          record,
          t.engine,
          new BigtableTablet(t.engine, table.record.schema, this.clock, record.timestampFloorMicros),
        ),
      countRefs: (refs) => table.files.addRefs(refs.flatMap((r) => (r.file.source ? [r.file.source] : []))),
      retireTablet: (t) => this.track(this.retire(table, t, true)),
      abandonTablet: (t) => this.track(this.retire(table, t, false)),
      tablets: () => table.tablets,
      pauseObserved: (ms, phases) => {
        if (ms >= this.splitStats.pauseMsMax) {
          this.splitStats.pauseMsMax = ms;
          this.splitStats.longestPause = phases;
        }
        this.splitStats.pauseMsTotal += ms;
      },
    };
  }

  // ---- splits, merges and the memtable budget ---------------------------------------------------

  private afterWrite(table: OpenTable, t: TabletHandle): void {
    if (this.closed) return;
    if (++this.writesSinceBudgetCheck >= limits.MEMTABLE_BUDGET_CHECK_WRITES) {
      this.writesSinceBudgetCheck = 0;
      this.checkMemtableBudget();
    }
    if (!this.autoSplit) return;
    const nowMs = this.clock.monotonicMs();
    t.opsInWindow++;
    const windowMs = nowMs - t.opsWindowStartMs;
    if (windowMs >= limits.HOT_TABLET_RATE_WINDOW_MS) {
      const hot = (t.opsInWindow * 1000) / windowMs >= this.hotSplit.opsPerSec;
      t.hotSinceMs = hot ? (t.hotSinceMs ?? nowMs) : undefined;
      t.opsInWindow = 0;
      t.opsWindowStartMs = nowMs;
    }
    this.checkSplit(table, t);
  }

  /** Whether `t` (of `bytes`) should split: over the threshold or hot, and not known unsplittable. */
  private splitWanted(t: TabletHandle, bytes: number, hot: boolean): boolean {
    return (bytes > this.splitThresholdBytes || hot) && bytes > t.splitBlockedBelowBytes;
  }

  private checkSplit(table: OpenTable, t: TabletHandle): void {
    if (t.retired || table.queued.has(t) || this.tables.get(table.record.schema.tableId) !== table) return;
    const bytes = t.engine.approximateBytes();
    const hot =
      t.hotSinceMs !== undefined &&
      this.clock.monotonicMs() - t.hotSinceMs >= this.hotSplit.windowMs &&
      bytes >= this.hotSplit.bytesMin;
    if (!this.splitWanted(t, bytes, hot)) return;
    table.queued.add(t);
    const forHeat = bytes <= this.splitThresholdBytes;
    void this.serialized(() => splitTablet(this.splitContext(table), t))
      .then((done) => {
        if (!done) {
          t.splitBlockedBelowBytes = bytes * 2;
          return;
        }
        this.splitStats.splits++;
        if (!forHeat) return;
        const until = this.clock.monotonicMs() + limits.MERGE_AFTER_HOT_SPLIT_MS;
        for (const c of table.tablets.all()) if (t.containsKey(c.startKey)) c.noMergeBeforeMs = until;
      })
      .catch((err: unknown) =>
        this.log.warn({ err: String(err), table: table.record.schema.tableId }, 'tablet split failed'),
      )
      .finally(() => {
        table.queued.delete(t);
        if (!t.retired) return;
        for (const c of table.tablets.all()) this.checkSplit(table, c);
      });
  }

  /** Queues merges of adjacent tablets that together are small (not across initial splits). */
  private queueMerges(table: OpenTable): void {
    if (this.closed || this.tables.get(table.record.schema.tableId) !== table) return;
    const all = table.tablets.all();
    const limit = this.splitThresholdBytes * limits.MERGE_FRACTION;
    const kept = table.record.schema.initialSplits;
    for (let i = 0; i + 1 < all.length; i++) {
      const a = all[i] as TabletHandle;
      const b = all[i + 1] as TabletHandle;
      if (table.queued.has(a) || table.queued.has(b)) continue;
      const nowMs = this.clock.monotonicMs();
      if (a.noMergeBeforeMs > nowMs || b.noMergeBeforeMs > nowMs) continue;
      if (b.record.startRow && kept.some((k) => k.equals(b.record.startRow as Buffer))) continue;
      if (a.engine.approximateBytes() + b.engine.approximateBytes() >= limit) continue;
      table.queued.add(a);
      table.queued.add(b);
      void this.serialized(() => mergeTablets(this.splitContext(table), a, b))
        .then((done) => {
          if (done) this.splitStats.merges++;
        })
        .catch((err: unknown) =>
          this.log.warn({ err: String(err), table: table.record.schema.tableId }, 'tablet merge failed'),
        )
        .finally(() => {
          table.queued.delete(a);
          table.queued.delete(b);
        });
      i++;
    }
  }

  /**
   * Past the memtable budget, flushes the largest memtables early, until what remains (not counting
   * memtables already being flushed) is at most half the budget.
   */
  private checkMemtableBudget(): void {
    let total = 0;
    const candidates: Array<{ engine: Engine; bytes: number }> = [];
    for (const table of this.tables.values()) {
      for (const t of table.tablets.all()) {
        const bytes = t.engine.memtableBytes();
        total += bytes;
        if (this.flushRequested.has(t.engine)) total -= bytes;
        else if (bytes > 0) candidates.push({ engine: t.engine, bytes });
      }
    }
    if (total <= this.memtableBudgetBytes) return;
    candidates.sort((a, b) => b.bytes - a.bytes);
    for (const { engine, bytes } of candidates) {
      if (total <= this.memtableBudgetBytes / 2) break;
      total -= bytes;
      this.flushRequested.add(engine);
      this.track(engine.flush().finally(() => this.flushRequested.delete(engine)));
    }
  }

  /** Splits every tablet over the threshold (repeatedly), then merges small neighbours once. */
  async maintainAll(): Promise<void> {
    for (const table of [...this.tables.values()]) {
      for (let pass = 0; pass < limits.MAINTAIN_SPLIT_PASSES_MAX; pass++) {
        const over = table.tablets
          .all()
          .filter((t) => this.splitWanted(t, t.engine.approximateBytes(), false));
        if (over.length === 0) break;
        for (const t of over) {
          const bytes = t.engine.approximateBytes();
          const done = await this.serialized(() => splitTablet(this.splitContext(table), t));
          if (done) this.splitStats.splits++;
          else t.splitBlockedBelowBytes = bytes * 2;
        }
      }
      this.queueMerges(table);
    }
    await this.serialized(async () => undefined);
  }

  private sampleRowKeys(table: OpenTable): RowKeySample[] {
    const out: RowKeySample[] = [];
    let offset = 0;
    const push = (rowKey: Buffer, offsetBytes: number) => {
      const last = out[out.length - 1];
      if (last && Buffer.compare(last.rowKey, rowKey) >= 0) return;
      out.push({ rowKey, offsetBytes: Math.max(offsetBytes, last?.offsetBytes ?? 0) });
    };
    for (const t of table.tablets.all()) {
      const bytes = t.engine.approximateBytes();
      let seen = 0;
      let sinceSample = 0;
      for (const s of t.engine.blockSamples()) {
        if (!t.containsKey(s.key)) continue;
        sinceSample += s.bytes;
        if (sinceSample >= this.sampleIntervalBytes) {
          const row = rowOf(s.key);
          if (row) push(row, offset + Math.min(seen, bytes));
          sinceSample = 0;
        }
        seen += s.bytes;
      }
      offset += bytes;
      if (t.record.endRow) push(t.record.endRow, offset);
    }
    out.push({
      rowKey: Buffer.alloc(0),
      offsetBytes: Math.max(offset, out[out.length - 1]?.offsetBytes ?? 0),
    });
    return out;
  }

  // ---- admin ------------------------------------------------------------------------------------

  /** The compaction filter that removes what the table's GC rules make eligible. */
  private gcFilter(schema: TableSchema): CompactionFilterSpec | undefined {
    const families = [...schema.families.values()].filter((f) => f.gcRule !== undefined);
    if (families.length === 0) return undefined;
    const config: GcFilterConfig = {
      families: families.map((f) => [f.name, f.gcRule ?? null] as const),
      nowMicros: Math.floor(this.clock.nowMs()) * MICROS_PER_MS,
    };
    return { module: GC_FILTER_MODULE, config };
  }

  /** Runs admin operations, splits and merges one at a time. */
  private serialized<T>(op: () => Promise<T>): Promise<T> {
    const run = this.admin.then(() => {
      if (this.closed) throw errors.unavailable('table store is closed');
      return op();
    });
    this.admin = run.catch(() => undefined);
    return run;
  }

  private get(tableId: string): OpenTable {
    const t = this.tables.get(tableId);
    if (!t) throw errors.notFound('table does not exist', { table: tableId });
    return t;
  }

  createTable(
    tableId: string,
    options: { families: ReadonlyMap<string, GcRule | undefined>; initialSplits: readonly Buffer[] },
  ): Promise<TableSchema> {
    return this.serialized(async () => {
      if (this.tables.has(tableId)) throw errors.alreadyExists('table already exists', { table: tableId });
      const families: FamilySchema[] = [];
      for (const [name, gcRule] of options.families) {
        validateFamilyName(name);
        compileGcRule(gcRule);
        families.push({ name, gcRule });
      }
      const splits = [
        ...new Map(
          options.initialSplits.filter((s) => s.length > 0).map((s) => [s.toString('latin1'), s]),
        ).values(),
      ].sort(Buffer.compare);
      const createdAtMs = this.clock.nowMs();
      const schema = makeSchema(
        { tableId, deletionProtection: false, createdAtMs, initialSplits: splits },
        families,
      );
      const dirName = `${tableId}.${createdAtMs.toString(36)}.${this.rand.int(0x7fffffff).toString(36)}`;
      const record: TableRecord = { schema, dirName, purgingFamilies: [] };
      const bounds = [undefined, ...splits, undefined];
      const tablets: TabletRecord[] = splits.concat([Buffer.alloc(0)]).map((_, i) => ({
        tableId,
        tabletDir: this.newTabletDir(),
        startRow: bounds[i],
        endRow: bounds[i + 1],
        timestampFloorMicros: 0,
        sources: [],
      }));
      const opened = this.newOpenTable(record, false);
      const handles: TabletHandle[] = [];
      try {
        for (const r of tablets) handles.push(await this.openTablet(opened, r));
        opened.tablets = new TabletSet(handles);
        await this.catalog.commit({ putTables: [record], putTablets: tablets });
      } catch (err) {
        for (const h of handles) await h.engine.close();
        await this.vfs.removeDir(this.tableDir(record));
        throw err;
      }
      this.tables.set(tableId, opened);
      return schema;
    });
  }

  listTables(): TableSchema[] {
    return [...this.tables.values()]
      .map((t) => t.record.schema)
      .sort((a, b) => (a.tableId < b.tableId ? -1 : 1));
  }

  getTable(tableId: string): TableSchema {
    return this.get(tableId).record.schema;
  }

  deleteTable(tableId: string): Promise<void> {
    return this.serialized(async () => {
      const t = this.get(tableId);
      if (t.record.schema.deletionProtection) {
        throw errors.failedPrecondition('table is protected against deletion', { table: tableId });
      }
      await this.catalog.commit({
        removeTables: [tableId],
        removeTablets: t.tablets.all().map((h) => h.record),
      });
      this.tables.delete(tableId);
      await Promise.all([...this.background]);
      for (const h of t.tablets.all()) await h.engine.close();
      await this.vfs.removeDir(this.tableDir(t.record));
    });
  }

  updateTable(tableId: string, changes: { deletionProtection?: boolean }): Promise<TableSchema> {
    return this.serialized(async () => {
      const t = this.get(tableId);
      const schema: TableSchema = {
        ...t.record.schema,
        deletionProtection: changes.deletionProtection ?? t.record.schema.deletionProtection,
      };
      await this.commit(t, { ...t.record, schema });
      return schema;
    });
  }

  modifyColumnFamilies(tableId: string, modifications: readonly FamilyModification[]): Promise<TableSchema> {
    return this.serialized(async () => {
      const t = this.get(tableId);
      const families = new Map(t.record.schema.families);
      const dropped: string[] = [];
      for (const m of modifications) {
        validateFamilyName(m.family);
        const exists = families.has(m.family);
        if (m.kind === 'create' && exists)
          throw errors.alreadyExists('column family already exists', { family: m.family });
        if (m.kind !== 'create' && !exists)
          throw errors.notFound('column family does not exist', { family: m.family });
        if (m.kind === 'drop') {
          families.delete(m.family);
          dropped.push(m.family);
        } else {
          compileGcRule(m.gcRule);
          families.set(m.family, { name: m.family, gcRule: m.gcRule });
        }
      }
      // A family recreated while its old cells are still being purged waits for the purge.
      for (const f of t.record.purgingFamilies) if (families.has(f)) await this.purgeFamily(t, f);
      const schema = makeSchema({ ...t.record.schema }, families.values());
      const purging = [...new Set([...t.record.purgingFamilies, ...dropped])].filter((f) => !families.has(f));
      await this.commit(t, { ...t.record, schema, purgingFamilies: purging });
      for (const f of dropped) if (!families.has(f)) await this.purgeFamily(t, f);
      return schema;
    });
  }

  dropRowRange(tableId: string, range: { rowKeyPrefix: Buffer } | { all: true }): Promise<void> {
    return this.serialized(async () => {
      const table = this.get(tableId);
      let start: Buffer = DATA_START_KEY;
      let end: Buffer = DATA_END_KEY;
      if (!('all' in range)) {
        start = rowStartKey(range.rowKeyPrefix);
        const escaped = start.subarray(0, start.length - 2);
        end = prefixSuccessor(escaped) ?? DATA_END_KEY;
      }
      for (const t of table.tablets.all()) {
        const lo = Buffer.compare(start, t.startKey) > 0 ? start : t.startKey;
        const hi = t.endKey !== undefined && Buffer.compare(t.endKey, end) < 0 ? t.endKey : end;
        if (Buffer.compare(lo, hi) < 0) await t.engine.deleteRange(lo, hi);
      }
    });
  }

  tablet(tableId: string): Tablet {
    return this.get(tableId).router;
  }

  /** See the exported `compactionWorkerMemory`. */
  workerMemory(): Promise<WorkerMemory[]> {
    return this.shared.executor.workerMemory();
  }

  /** See the exported `tabletEngineStats`. */
  tabletEngineStats(): Array<{ tableId: string; stats: EngineStats }> {
    return this.listTables().map((s) => ({
      tableId: s.tableId,
      stats: sumStats(
        this.get(s.tableId)
          .tablets.all()
          .map((t) => t.engine.stats()),
      ),
    }));
  }

  /** See the exported `tabletDetails`. */
  tabletDetails(
    tableId: string,
  ): Array<{ startRow: Buffer | undefined; endRow: Buffer | undefined; stats: EngineStats }> {
    return this.get(tableId)
      .tablets.all()
      .map((t) => ({ startRow: t.record.startRow, endRow: t.record.endRow, stats: t.engine.stats() }));
  }

  /** See the exported `tabletEngines`. */
  tabletEngines(tableId: string): Engine[] {
    return this.get(tableId)
      .tablets.all()
      .map((t) => t.engine);
  }

  /** See the exported `tabletRanges`. */
  tabletRanges(
    tableId: string,
  ): Array<{ startRow: Buffer | undefined; endRow: Buffer | undefined; bytes: number }> {
    return this.get(tableId)
      .tablets.all()
      .map((t) => ({
        startRow: t.record.startRow,
        endRow: t.record.endRow,
        bytes: t.engine.approximateBytes(),
      }));
  }

  generateConsistencyToken(tableId: string): string {
    const seq = this.get(tableId)
      .tablets.all()
      .reduce((n, t) => n + t.engine.stats().lastSequence, 0);
    return `${tableId}/${seq}`;
  }

  checkConsistency(tableId: string, token: string): boolean {
    this.get(tableId);
    if (!token.startsWith(`${tableId}/`))
      throw errors.invalidArgument('consistency token is not for this table', { table: tableId });
    // Every acknowledged write is durable on this single-replica store.
    return true;
  }

  async close(): Promise<void> {
    if (this.mergeTimer) clearInterval(this.mergeTimer);
    await this.admin;
    this.closed = true;
    while (this.background.size > 0) await Promise.all([...this.background]);
    for (const t of this.tables.values()) for (const h of t.tablets.all()) await h.engine.close();
    this.tables.clear();
    await this.catalog.close();
    await this.shared.executor.close();
    for (const r of this.options.closeAfter ?? []) await r.close();
  }

  private async commit(t: OpenTable, record: TableRecord): Promise<void> {
    await this.catalog.put(record);
    t.record = record;
    for (const h of t.tablets.all()) h.tablet.setSchema(record.schema);
  }

  /** Deletes every cell of `family` in every tablet, then records the purge as done. */
  private async purgeFamily(table: OpenTable, family: string): Promise<void> {
    for (const t of table.tablets.all()) {
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
    await this.commit(table, {
      ...table.record,
      purgingFamilies: table.record.purgingFamilies.filter((f) => f !== family),
    });
  }
}

/** The row key of engine key `key`, or undefined when it is not a cell key. */
function rowOf(key: Buffer): Buffer | undefined {
  try {
    return decodeCellKey(key).rowKey;
  } catch {
    return undefined;
  }
}

/** One table's counters: the sum over its tablets. */
function sumStats(list: readonly EngineStats[]): EngineStats {
  const first = list[0] as EngineStats;
  const add = (a: number[], b: number[]) => a.map((x, i) => x + (b[i] ?? 0));
  return list.slice(1).reduce(
    (acc, s) => ({
      levelFiles: add(acc.levelFiles, s.levelFiles),
      levelBytes: add(acc.levelBytes, s.levelBytes),
      memtableBytes: acc.memtableBytes + s.memtableBytes,
      memtableEntries: acc.memtableEntries + s.memtableEntries,
      immutableMemtables: acc.immutableMemtables + s.immutableMemtables,
      flushes: acc.flushes + s.flushes,
      compactions: acc.compactions + s.compactions,
      compactionBytesWritten: acc.compactionBytesWritten + s.compactionBytesWritten,
      flushBytesWritten: acc.flushBytesWritten + s.flushBytesWritten,
      flushMsTotal: acc.flushMsTotal + s.flushMsTotal,
      compactionMsTotal: acc.compactionMsTotal + s.compactionMsTotal,
      walSyncs: {
        count: acc.walSyncs.count + s.walSyncs.count,
        totalMs: acc.walSyncs.totalMs + s.walSyncs.totalMs,
        maxMs: Math.max(acc.walSyncs.maxMs, s.walSyncs.maxMs),
      },
      lastSequence: acc.lastSequence + s.lastSequence,
      // One cache serves every tablet: its counters are not summed.
      blockCache: acc.blockCache,
      prefixFilterSkips: acc.prefixFilterSkips + s.prefixFilterSkips,
    }),
    first,
  );
}
