/**
 * The metadata service: the METADATA catalog (src/tablet/catalog.ts) and everything that writes
 * it — schema admin (create, delete, update tables, modify column families), the catalog
 * transaction of splits and merges (`commitTablets`; the split protocol itself runs in the tablet
 * host, src/tablet/tablet-split.ts), and the decisions about shared files that follow from the
 * catalog: a table directory no catalog record names is garbage. It asks the tablet host to open
 * and close tablets, and to do the data half of admin operations, only through
 * `TabletHostControl` (src/tablet/tablet-host-api.ts), so that in a cluster the same calls can go
 * to tablet servers over RPC; assignment of tablets to hosts will live here too.
 *
 * Layer: it belongs with the master (src/master, ARCHITECTURE.md) and will move there once the
 * one-process wiring does; it stays in src/tablet for now because `openTableStore`
 * (src/tablet/table-store.ts), which wires it to the host, is this layer's entry point, and
 * src/tablet never imports src/master. It imports nothing of the host but its interface.
 *
 * Crash safety: a table's tablet directories are created (by the host opening them) before the
 * catalog write naming them (the commit point) and deleted after the write that drops them; at
 * open, every table directory no catalog record names is removed (the host collects, inside each
 * table's directory, what no live tablet names). A dropped family is removed from the schema
 * first (reads hide it at once) and recorded as purging until its cells are deleted; purges
 * interrupted by a crash resume at open.
 *
 * Concurrency: single event-loop thread. Admin operations, splits and merges run one at a time on
 * one chain (`serialized`). Once `drain` has waited for the chain, the service is closed: what
 * reaches the chain later fails with UNAVAILABLE.
 */
import type { Clock, Rand } from '../common/clock.js';
import { errors } from '../common/errors.js';
import { compileGcRule } from '../model/gc-rule.js';
import { validateFamilyName } from '../model/mutation.js';
import type { GcRule } from '../model/proto-types.js';
import { joinPath, type Vfs } from '../storage/vfs.js';
import { type Catalog, makeSchema, type TableRecord, type TabletRecord } from './catalog.js';
import type { FamilyModification, FamilySchema, TableSchema } from './table-store-api.js';
import type { MetadataCommits, TabletChange, TabletHostControl } from './tablet-host-api.js';
import { type TabletDirNames, tableDirOf, tablesDirOf } from './tablet-lifecycle.js';

/** The owner epoch of the one host of a single-process store: no other owner exists to fence. */
export const SINGLE_HOST_OWNER_EPOCH = 1;

/** What a metadata service is made of. */
export interface MetadataServiceOptions {
  /** The store's directory (tables under `<dir>/tables`). */
  readonly dir: string;
  readonly vfs: Vfs;
  readonly catalog: Catalog;
  readonly host: TabletHostControl;
  /** The owner epoch the host opens tablets under. */
  readonly ownerEpoch: number;
  readonly dirNames: TabletDirNames;
  readonly clock: Clock;
  readonly rand: Rand;
}

/** The catalog and its writers (see the file comment). */
export class MetadataService implements MetadataCommits {
  /** Each table's record as last committed, by table id. */
  private readonly tables = new Map<string, TableRecord>();
  /** Each table's live tablet records as last committed, by table id and then tablet directory. */
  private readonly tablets = new Map<string, Map<string, TabletRecord>>();
  private admin: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: MetadataServiceOptions) {}

  /** Opens the catalog's tables on the host (resuming purges) and removes stray table directories. */
  async load(): Promise<void> {
    const { catalog, host, vfs } = this.options;
    const tablets = catalog.listTablets();
    for (const record of catalog.list()) {
      const mine = tablets.filter((t) => t.tableId === record.schema.tableId);
      await host.openTable(record, mine, this.options.ownerEpoch, 'recover');
      this.tables.set(record.schema.tableId, record);
      this.tablets.set(record.schema.tableId, new Map(mine.map((t) => [t.tabletDir, t])));
      for (const family of record.purgingFamilies) await this.purgeFamily(record.schema.tableId, family);
    }
    const live = new Set([...this.tables.values()].map((r) => r.dirName));
    const tablesDir = tablesDirOf(this.options.dir);
    for (const name of await vfs.list(tablesDir))
      if (!live.has(name)) await vfs.removeDir(joinPath(tablesDir, name));
  }

  /** Runs admin operations, splits and merges one at a time. */
  serialized<T>(op: () => Promise<T>): Promise<T> {
    const run = this.admin.then(() => {
      if (this.closed) throw errors.unavailable('table store is closed');
      return op();
    });
    this.admin = run.catch(() => undefined);
    return run;
  }

  isClosed(): boolean {
    return this.closed;
  }

  async commitTablets(change: TabletChange): Promise<void> {
    await this.options.catalog.commit(change);
    for (const t of change.removeTablets) this.tablets.get(t.tableId)?.delete(t.tabletDir);
    for (const t of change.putTablets) this.tablets.get(t.tableId)?.set(t.tabletDir, t);
  }

  /** A table's live tablet records as last committed, by tablet directory (none: unknown table). */
  liveTablets(tableId: string): ReadonlyMap<string, TabletRecord> | undefined {
    return this.tablets.get(tableId);
  }

  /** A table's committed record; NOT_FOUND for an unknown table. */
  record(tableId: string): TableRecord {
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
      const { clock, rand, host, vfs } = this.options;
      const createdAtMs = clock.nowMs();
      const schema = makeSchema(
        { tableId, deletionProtection: false, createdAtMs, initialSplits: splits },
        families,
      );
      const dirName = `${tableId}.${createdAtMs.toString(36)}.${rand.int(0x7fffffff).toString(36)}`;
      const record: TableRecord = { schema, dirName, purgingFamilies: [] };
      const bounds = [undefined, ...splits, undefined];
      const tablets: TabletRecord[] = splits.concat([Buffer.alloc(0)]).map((_, i) => ({
        tableId,
        tabletDir: this.options.dirNames.next(),
        startRow: bounds[i],
        endRow: bounds[i + 1],
        timestampFloorMicros: 0,
        sources: [],
      }));
      let opened = false;
      try {
        await host.openTable(record, tablets, this.options.ownerEpoch, 'create');
        opened = true;
        await this.options.catalog.commit({ putTables: [record], putTablets: tablets });
      } catch (err) {
        if (opened) await host.closeTable(tableId);
        await vfs.removeDir(tableDirOf(this.options.dir, record));
        throw err;
      }
      this.tables.set(tableId, record);
      this.tablets.set(tableId, new Map(tablets.map((t) => [t.tabletDir, t])));
      return schema;
    });
  }

  listTables(): TableSchema[] {
    return [...this.tables.values()].map((r) => r.schema).sort((a, b) => (a.tableId < b.tableId ? -1 : 1));
  }

  getTable(tableId: string): TableSchema {
    return this.record(tableId).schema;
  }

  deleteTable(tableId: string): Promise<void> {
    return this.serialized(async () => {
      const record = this.record(tableId);
      if (record.schema.deletionProtection) {
        throw errors.failedPrecondition('table is protected against deletion', { table: tableId });
      }
      const removeTablets = [...(this.tablets.get(tableId)?.values() ?? [])];
      await this.options.catalog.commit({ removeTables: [tableId], removeTablets });
      this.tables.delete(tableId);
      this.tablets.delete(tableId);
      await this.options.host.closeTable(tableId);
      await this.options.vfs.removeDir(tableDirOf(this.options.dir, record));
    });
  }

  updateTable(tableId: string, changes: { deletionProtection?: boolean }): Promise<TableSchema> {
    return this.serialized(async () => {
      const record = this.record(tableId);
      const schema: TableSchema = {
        ...record.schema,
        deletionProtection: changes.deletionProtection ?? record.schema.deletionProtection,
      };
      await this.commitRecord({ ...record, schema });
      return schema;
    });
  }

  modifyColumnFamilies(tableId: string, modifications: readonly FamilyModification[]): Promise<TableSchema> {
    return this.serialized(async () => {
      const families = new Map(this.record(tableId).schema.families);
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
      for (const f of this.record(tableId).purgingFamilies)
        if (families.has(f)) await this.purgeFamily(tableId, f);
      const record = this.record(tableId);
      const schema = makeSchema({ ...record.schema }, families.values());
      const purging = [...new Set([...record.purgingFamilies, ...dropped])].filter((f) => !families.has(f));
      await this.commitRecord({ ...record, schema, purgingFamilies: purging });
      for (const f of dropped) if (!families.has(f)) await this.purgeFamily(tableId, f);
      return schema;
    });
  }

  /** Deletes the rows with a prefix, or every row, on the admin chain. */
  dropRowRange(tableId: string, range: { rowKeyPrefix: Buffer } | { all: true }): Promise<void> {
    return this.serialized(async () => {
      this.record(tableId);
      await this.options.host.dropRowRange(tableId, range);
    });
  }

  /** Waits for the admin chain, then closes the service: later admin operations fail. */
  async drain(): Promise<void> {
    await this.admin;
    this.closed = true;
  }

  /** Closes the catalog (after `drain`, once the host's tablets are closed). */
  closeCatalog(): Promise<void> {
    return this.options.catalog.close();
  }

  /** Commits a table's record and has the host apply it. */
  private async commitRecord(record: TableRecord): Promise<void> {
    await this.options.catalog.put(record);
    this.tables.set(record.schema.tableId, record);
    this.options.host.applyTableRecord(record);
  }

  /** Has the host delete every cell of `family`, then records the purge as done. */
  private async purgeFamily(tableId: string, family: string): Promise<void> {
    await this.options.host.purgeFamily(tableId, family);
    const record = this.record(tableId);
    await this.commitRecord({
      ...record,
      purgingFamilies: record.purgingFamilies.filter((f) => f !== family),
    });
  }
}
