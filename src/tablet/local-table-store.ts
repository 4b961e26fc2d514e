/**
 * The `TableStore` on local storage that `openTableStore` (src/tablet/table-store.ts) returns: the
 * open tables by id, their loading at open, the admin operations, and closing. Tablet engines open
 * and close in src/tablet/tablet-lifecycle.ts, splits and merges are scheduled by
 * src/tablet/tablet-maintenance.ts, memtables share src/tablet/memtable-budget.ts.
 *
 * Admin operations, splits and merges are serialized on one chain (`serialized`); data operations
 * go straight to the tablets through each table's router.
 *
 * Crash safety: a table's tablet directories are created before the catalog write naming them
 * (the commit point) and deleted after the write that drops them; at open, every directory no
 * live tablet names is collected, keeping SSTables live tablets still reference. A dropped family
 * is removed from the schema first (reads hide it at once) and recorded as purging until its cells
 * are deleted; purges interrupted by a crash resume at open.
 *
 * Concurrency: single event-loop thread. Once `close` has waited for the admin chain, the store is
 * closed: admin operations, splits and merges that reach the chain later fail with UNAVAILABLE,
 * and writes no longer trigger the memtable budget or split checks.
 */
import { prefixSuccessor } from '../common/bytes.js';
import { type Clock, type Rand, systemClock, systemRand } from '../common/clock.js';
import { errors } from '../common/errors.js';
import * as limits from '../common/limits.js';
import { PURGE_BATCH_ROWS, ROW_KEY_BYTES_MAX } from '../common/limits.js';
import { type Logger, silentLogger } from '../common/logger.js';
import { familyKeyRange, rowStartKey } from '../model/cell-key.js';
import { compileGcRule } from '../model/gc-rule.js';
import { validateFamilyName } from '../model/mutation.js';
import type { GcRule } from '../model/proto-types.js';
import type { Engine } from '../storage/engine.js';
import { joinPath, type Vfs } from '../storage/vfs.js';
import { WriteBatch } from '../storage/write-batch.js';
import { BackgroundTasks } from './background-tasks.js';
import { Catalog, makeSchema, type TableRecord, type TabletRecord } from './catalog.js';
import { MemtableBudget } from './memtable-budget.js';
import type { OpenTable } from './open-table.js';
import { sampleRowKeys } from './row-key-samples.js';
import { DATA_START_KEY, readRawRows } from './row-reader.js';
import { TableRouter } from './table-router.js';
import type { TableStoreOptions } from './table-store.js';
import type { FamilyModification, FamilySchema, TableSchema, TableStore, Tablet } from './table-store-api.js';
import { NamespaceFiles } from './tablet-files.js';
import type { TabletHandle } from './tablet-handle.js';
import type { TabletInspection } from './tablet-inspection.js';
import { type SharedEngineOptions, TabletLifecycle } from './tablet-lifecycle.js';
import { TabletMaintenance } from './tablet-maintenance.js';
import { TabletSet } from './tablet-set.js';

/** An engine key above every cell key: row keys are at most ROW_KEY_BYTES_MAX bytes. */
export const DATA_END_KEY = Buffer.alloc(ROW_KEY_BYTES_MAX + 1, 0xff);

/** A table store on local storage (see the file comment). */
export class LocalTableStore implements TableStore {
  private readonly tables = new Map<string, OpenTable>();
  private readonly catalog: Catalog;
  private readonly clock: Clock;
  private readonly rand: Rand;
  private readonly vfs: Vfs;
  private admin: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly background: BackgroundTasks;
  private readonly lifecycle: TabletLifecycle;
  private readonly memtableBudget: MemtableBudget;
  /** When tablets split and merge; its statistics are read through `inspection`. */
  private readonly maintenance: TabletMaintenance;
  private readonly sampleIntervalBytes: number;
  private readonly log: Logger;

  constructor(
    private readonly options: TableStoreOptions,
    /** Engine options every tablet shares: file system, executor, block cache. */
    shared: SharedEngineOptions,
    splitThresholdBytes: number,
    catalogEngine: Engine,
  ) {
    this.catalog = new Catalog(catalogEngine);
    this.clock = options.clock ?? systemClock;
    this.rand = options.rand ?? systemRand;
    this.vfs = shared.vfs;
    this.sampleIntervalBytes = options.sampleIntervalBytes ?? limits.SAMPLE_INTERVAL_BYTES_DEFAULT;
    this.log = options.logger ?? silentLogger();
    this.background = new BackgroundTasks(this.log);
    this.lifecycle = new TabletLifecycle(
      options.dir,
      shared,
      this.catalog,
      this.clock,
      this.rand,
      this.background,
    );
    this.memtableBudget = new MemtableBudget(
      options.memtableBudgetBytes ?? limits.MEMTABLE_BUDGET_BYTES_DEFAULT,
      () => this.liveEngines(),
      this.background,
    );
    this.maintenance = new TabletMaintenance({
      tables: this.tables,
      lifecycle: this.lifecycle,
      clock: this.clock,
      log: this.log,
      isClosed: () => this.closed,
      serialized: (op) => this.serialized(op),
      splitThresholdBytes,
      autoSplit: options.autoSplit ?? true,
      hotSplit: options.hotSplit ?? {
        opsPerSec: limits.HOT_TABLET_OPS_PER_SEC,
        windowMs: limits.HOT_TABLET_WINDOW_MS,
        bytesMin: limits.HOT_SPLIT_BYTES_MIN,
      },
    });
  }

  /** Opens the catalog's tables (resuming purges), removes stray table directories, starts maintenance. */
  async load(): Promise<void> {
    const tablets = this.catalog.listTablets();
    for (const record of this.catalog.list()) {
      const mine = tablets.filter((t) => t.tableId === record.schema.tableId);
      const table = await this.openTable(record, mine);
      this.tables.set(record.schema.tableId, table);
      for (const family of record.purgingFamilies) await this.purgeFamily(table, family);
    }
    const live = new Set([...this.tables.values()].map((t) => t.record.dirName));
    for (const name of await this.vfs.list(this.lifecycle.tablesDir()))
      if (!live.has(name)) await this.vfs.removeDir(joinPath(this.lifecycle.tablesDir(), name));
    this.maintenance.start();
  }

  /** A table's in-memory state before its tablets are open (`tablets` is set by the caller). */
  private newOpenTable(record: TableRecord, opening: boolean): OpenTable {
    const table = {
      record,
      files: new NamespaceFiles(this.vfs, this.lifecycle.tableDir(record), { opening }),
      queued: new Set<TabletHandle>(),
    } as OpenTable;
    table.router = new TableRouter(() => table.tablets, {
      afterWrite: (t) => this.afterWrite(table, t),
      sampleRowKeys: () => sampleRowKeys(table.tablets.all(), this.sampleIntervalBytes),
    });
    return table;
  }

  private async openTable(record: TableRecord, tabletRecords: readonly TabletRecord[]): Promise<OpenTable> {
    const table = this.newOpenTable(record, true);
    const handles: TabletHandle[] = [];
    try {
      for (const r of tabletRecords) handles.push(await this.lifecycle.openTablet(table, r));
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

  /** After a write to `t` settled: the memtable budget, then the split check. */
  private afterWrite(table: OpenTable, t: TabletHandle): void {
    if (this.closed) return;
    this.memtableBudget.noteWrite();
    this.maintenance.afterWrite(table, t);
  }

  /** The engine of every live tablet, in table and then range order. */
  private *liveEngines(): Iterable<Engine> {
    for (const table of this.tables.values()) for (const t of table.tablets.all()) yield t.engine;
  }

  // ---- admin ------------------------------------------------------------------------------------

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
        tabletDir: this.lifecycle.newTabletDir(),
        startRow: bounds[i],
        endRow: bounds[i + 1],
        timestampFloorMicros: 0,
        sources: [],
      }));
      const opened = this.newOpenTable(record, false);
      const handles: TabletHandle[] = [];
      try {
        for (const r of tablets) handles.push(await this.lifecycle.openTablet(opened, r));
        opened.tablets = new TabletSet(handles);
        await this.catalog.commit({ putTables: [record], putTablets: tablets });
      } catch (err) {
        for (const h of handles) await h.engine.close();
        await this.vfs.removeDir(this.lifecycle.tableDir(record));
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
      await this.background.settled();
      for (const h of t.tablets.all()) await h.engine.close();
      await this.vfs.removeDir(this.lifecycle.tableDir(t.record));
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

  /** What metrics, the console and tests read of the tablets (src/tablet/tablet-inspection.ts). */
  readonly inspection: TabletInspection = {
    tablets: (tableId) =>
      this.get(tableId)
        .tablets.all()
        .map((t) => ({ startRow: t.record.startRow, endRow: t.record.endRow, engine: t.engine })),
    workerMemory: () => this.lifecycle.shared.executor.workerMemory(),
    splitStats: () => {
      const stats = this.maintenance.stats;
      return { ...stats, longestPause: { ...stats.longestPause } };
    },
    maintainAll: () => this.maintenance.maintainAll(),
  };

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
    this.maintenance.stop();
    await this.admin;
    this.closed = true;
    // More background tasks may start while these run: wait until none is left.
    while (this.background.size > 0) await this.background.settled();
    for (const t of this.tables.values()) for (const h of t.tablets.all()) await h.engine.close();
    this.tables.clear();
    await this.catalog.close();
    await this.lifecycle.shared.executor.close();
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
