/**
 * The tables of one instance on local storage: a catalog engine under `<dir>/catalog` and one
 * tablet engine per table under `<dir>/tables/<dirName>`. Admin operations are serialized; data
 * operations go straight to the tablets.
 *
 * Crash safety: a table's directory is created before its catalog record (the commit point) and
 * deleted after its record is removed; directories no record names are deleted at open. A dropped
 * family is removed from the schema first (reads hide it at once) and recorded as purging until
 * its cells are deleted; purges interrupted by a crash resume at open, and a family is never
 * recreated over cells of its former self.
 */
import { rm } from 'node:fs/promises';
import { prefixSuccessor } from '../common/bytes.js';
import { type Clock, type Rand, systemClock, systemRand } from '../common/clock.js';
import { errors } from '../common/errors.js';
import { PURGE_BATCH_ROWS, ROW_KEY_BYTES_MAX } from '../common/limits.js';
import { familyKeyRange, rowStartKey } from '../model/cell-key.js';
import { compileGcRule } from '../model/gc-rule.js';
import { validateFamilyName } from '../model/mutation.js';
import type { GcRule } from '../model/proto-types.js';
import type { CompactionFilterSpec } from '../storage/compaction-filter.js';
import { Engine, type EngineOptions, type EngineStats } from '../storage/engine.js';
import { joinPath } from '../storage/vfs.js';
import { WriteBatch } from '../storage/write-batch.js';
import { Catalog, makeSchema, type TableRecord } from './catalog.js';
import { GC_FILTER_MODULE, type GcFilterConfig } from './gc-compaction-filter.js';
import { DATA_START_KEY, readRawRows } from './row-reader.js';
import type { FamilyModification, FamilySchema, TableSchema, TableStore, Tablet } from './table-store-api.js';
import { BigtableTablet } from './tablet.js';

/** An engine key above every cell key: row keys are at most ROW_KEY_BYTES_MAX bytes. */
export const DATA_END_KEY = Buffer.alloc(ROW_KEY_BYTES_MAX + 1, 0xff);
const MICROS_PER_MS = 1000;

/** Options of a local table store. */
export interface TableStoreOptions {
  dir: string;
  /** Options passed to every engine (catalog and tablets). */
  engine?: Partial<Omit<EngineOptions, 'dir'>>;
  clock?: Clock;
  rand?: Rand;
}

interface OpenTable {
  record: TableRecord;
  engine: Engine;
  tablet: BigtableTablet;
}

/** Opens (creating if needed) the tables under `options.dir`. */
export async function openTableStore(options: TableStoreOptions): Promise<TableStore> {
  const store = new LocalTableStore(
    options,
    await Engine.open({ ...options.engine, dir: joinPath(options.dir, 'catalog') }),
  );
  try {
    await store.load();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/**
 * The storage counters of each table's tablet (one per table), in table order: read-only, for
 * /metrics and the web console. Empty for a store that is not a local one.
 */
export function tabletEngineStats(store: TableStore): Array<{ tableId: string; stats: EngineStats }> {
  return store instanceof LocalTableStore ? store.tabletEngineStats() : [];
}

class LocalTableStore implements TableStore {
  private readonly tables = new Map<string, OpenTable>();
  private readonly catalog: Catalog;
  private readonly clock: Clock;
  private readonly rand: Rand;
  private admin: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly options: TableStoreOptions,
    catalogEngine: Engine,
  ) {
    this.catalog = new Catalog(catalogEngine);
    this.clock = options.clock ?? systemClock;
    this.rand = options.rand ?? systemRand;
  }

  async load(): Promise<void> {
    for (const record of this.catalog.list()) {
      const open = await this.openTable(record);
      this.tables.set(record.schema.tableId, open);
      for (const family of record.purgingFamilies) await this.purgeFamily(open, family);
    }
    const vfs = this.options.engine?.vfs;
    if (!vfs) {
      const live = new Set([...this.tables.values()].map((t) => t.record.dirName));
      const { readdir } = await import('node:fs/promises');
      const names = await readdir(this.tablesDir()).catch(() => [] as string[]);
      for (const name of names)
        if (!live.has(name)) await rm(joinPath(this.tablesDir(), name), { recursive: true, force: true });
    }
  }

  private tablesDir(): string {
    return joinPath(this.options.dir, 'tables');
  }

  private async openTable(record: TableRecord): Promise<OpenTable> {
    const holder: { table?: OpenTable } = {};
    const engine = await Engine.open({
      ...this.options.engine,
      dir: joinPath(this.tablesDir(), record.dirName),
      compactionFilter: () => holder.table && this.gcFilter(holder.table.record.schema),
    });
    holder.table = { record, engine, tablet: new BigtableTablet(engine, record.schema, this.clock) };
    return holder.table;
  }

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

  /** Runs admin operations one at a time. */
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
      const createdAtMs = this.clock.nowMs();
      const schema = makeSchema(
        { tableId, deletionProtection: false, createdAtMs, initialSplits: [...options.initialSplits] },
        families,
      );
      const dirName = `${tableId}.${createdAtMs.toString(36)}.${this.rand.int(0x7fffffff).toString(36)}`;
      const record: TableRecord = { schema, dirName, purgingFamilies: [] };
      const open = await this.openTable(record);
      try {
        await this.catalog.put(record);
      } catch (err) {
        await open.engine.close();
        throw err;
      }
      this.tables.set(tableId, open);
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
      await this.catalog.remove(tableId);
      this.tables.delete(tableId);
      await t.engine.close();
      if (!this.options.engine?.vfs)
        await rm(joinPath(this.tablesDir(), t.record.dirName), { recursive: true, force: true });
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
      const t = this.get(tableId);
      if ('all' in range) {
        await t.engine.deleteRange(DATA_START_KEY, DATA_END_KEY);
        return;
      }
      const start = rowStartKey(range.rowKeyPrefix);
      const escaped = start.subarray(0, start.length - 2);
      await t.engine.deleteRange(start, prefixSuccessor(escaped) ?? DATA_END_KEY);
    });
  }

  tablet(tableId: string): Tablet {
    return this.get(tableId).tablet;
  }

  /** See the exported `tabletEngineStats`. */
  tabletEngineStats(): Array<{ tableId: string; stats: EngineStats }> {
    return this.listTables().map((s) => ({ tableId: s.tableId, stats: this.get(s.tableId).engine.stats() }));
  }

  generateConsistencyToken(tableId: string): string {
    return `${tableId}/${this.get(tableId).engine.stats().lastSequence}`;
  }

  checkConsistency(tableId: string, token: string): boolean {
    this.get(tableId);
    if (!token.startsWith(`${tableId}/`))
      throw errors.invalidArgument('consistency token is not for this table', { table: tableId });
    // Every acknowledged write is durable on this single-replica store.
    return true;
  }

  async close(): Promise<void> {
    await this.admin;
    this.closed = true;
    for (const t of this.tables.values()) await t.engine.close();
    this.tables.clear();
    await this.catalog.close();
  }

  private async commit(t: OpenTable, record: TableRecord): Promise<void> {
    await this.catalog.put(record);
    t.record = record;
    t.tablet.setSchema(record.schema);
  }

  /** Deletes every cell of `family`, then records the purge as done. */
  private async purgeFamily(t: OpenTable, family: string): Promise<void> {
    let batch = new WriteBatch();
    let rows = 0;
    for (const row of readRawRows(t.engine, [{ start: DATA_START_KEY, end: undefined }], false)) {
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
    await this.commit(t, {
      ...t.record,
      purgingFamilies: t.record.purgingFamilies.filter((f) => f !== family),
    });
  }
}
