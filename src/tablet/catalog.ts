/**
 * The METADATA catalog of an instance: one record per table (schema, deletion protection, the
 * directory of its tablets, families whose data is still being purged) and one per live tablet
 * (its row range, directory, timestamp floor and the files it was created with), stored in an
 * engine of its own so every change — a split retiring one tablet and creating two — is one
 * durable, atomic write batch.
 *
 * Record keys: `table/<table id>` and `tablet/<table id>/<tablet dir>`. Values: JSON (GC rules are
 * plain proto-shaped objects, row keys base64). A tablet's own manifest is the authority on its
 * files after creation; the record's `sources` are what it started from, for operators.
 */
import { errors } from '../common/errors.js';
import type { GcRule } from '../model/proto-types.js';
import type { Engine } from '../storage/engine.js';
import { WriteBatch } from '../storage/write-batch.js';
import type { FamilySchema, TableSchema } from './table-store-api.js';

const TABLE_KEY_PREFIX = 'table/';
const TABLET_KEY_PREFIX = 'tablet/';
/** Version of the record layout. PERSISTED: bump on any change. */
const CATALOG_RECORD_VERSION = 2;

/** A live tablet's catalog record. */
export interface TabletRecord {
  readonly tableId: string;
  /** Directory of the tablet's store, inside its table's directory. */
  readonly tabletDir: string;
  /** First row (inclusive); undefined: the table's start. */
  readonly startRow: Buffer | undefined;
  /** Row the range ends before; undefined: the table's end. */
  readonly endRow: Buffer | undefined;
  /** Server timestamps of this tablet are above this (inherited from its parents). */
  readonly timestampFloorMicros: number;
  /** Physical SSTables (`dir/number`) the tablet was created referencing. */
  readonly sources: readonly string[];
}

interface StoredTablet {
  version: number;
  tableId: string;
  tabletDir: string;
  startRow: string | null;
  endRow: string | null;
  timestampFloorMicros: number;
  sources: string[];
  state: 'live';
}

function tabletKeyOf(r: { tableId: string; tabletDir: string }): Buffer {
  return Buffer.from(`${TABLET_KEY_PREFIX}${r.tableId}/${r.tabletDir}`, 'utf8');
}

function encodeTablet(r: TabletRecord): Buffer {
  const stored: StoredTablet = {
    version: CATALOG_RECORD_VERSION,
    tableId: r.tableId,
    tabletDir: r.tabletDir,
    startRow: r.startRow?.toString('base64') ?? null,
    endRow: r.endRow?.toString('base64') ?? null,
    timestampFloorMicros: r.timestampFloorMicros,
    sources: [...r.sources],
    state: 'live',
  };
  return Buffer.from(JSON.stringify(stored), 'utf8');
}

function decodeTablet(key: Buffer, value: Buffer): TabletRecord {
  const s = parseRecord(key, value) as StoredTablet;
  const row = (b: string | null) => (b === null ? undefined : Buffer.from(b, 'base64'));
  return {
    tableId: s.tableId,
    tabletDir: s.tabletDir,
    startRow: row(s.startRow),
    endRow: row(s.endRow),
    timestampFloorMicros: s.timestampFloorMicros,
    sources: s.sources,
  };
}

function parseRecord(key: Buffer, value: Buffer): { version: number } {
  let s: { version: number };
  try {
    s = JSON.parse(value.toString('utf8')) as { version: number };
  } catch {
    throw errors.dataLoss('catalog record is not valid JSON', { key: key.toString('utf8') });
  }
  if (s.version !== CATALOG_RECORD_VERSION) {
    throw errors.failedPrecondition('catalog record has a version this build does not read', {
      key: key.toString('utf8'),
      version: s.version,
      expected: CATALOG_RECORD_VERSION,
    });
  }
  return s;
}

/** One atomic change of the catalog. */
export interface CatalogChange {
  readonly putTables?: readonly TableRecord[];
  readonly removeTables?: readonly string[];
  readonly putTablets?: readonly TabletRecord[];
  readonly removeTablets?: ReadonlyArray<{ tableId: string; tabletDir: string }>;
}

/** A table's catalog record. */
export interface TableRecord {
  readonly schema: TableSchema;
  /** Directory (under the store's tables/ directory) holding the table's tablets. */
  readonly dirName: string;
  /** Families dropped from the schema whose cells are not yet all deleted. */
  readonly purgingFamilies: readonly string[];
}

interface StoredRecord {
  version: number;
  tableId: string;
  families: Array<{ name: string; gcRule: GcRule | null }>;
  deletionProtection: boolean;
  createdAtMs: number;
  initialSplits: string[];
  dirName: string;
  purgingFamilies: string[];
}

function keyOf(tableId: string): Buffer {
  return Buffer.from(TABLE_KEY_PREFIX + tableId, 'utf8');
}

/** Builds a schema with families in name order. */
export function makeSchema(
  base: Omit<TableSchema, 'families'>,
  families: Iterable<FamilySchema>,
): TableSchema {
  const sorted = [...families].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  return { ...base, families: new Map(sorted.map((f) => [f.name, f])) };
}

/**
 * The persisted fields of a table record (without the format version): the catalog stores them,
 * and the cluster publishes the same shape in coordination (src/cluster/cluster-keys.ts).
 */
export type TableRecordFields = Omit<StoredRecord, 'version'>;

/** The persisted fields of `r`. */
export function tableRecordFields(r: TableRecord): TableRecordFields {
  return {
    tableId: r.schema.tableId,
    families: [...r.schema.families.values()].map((f) => ({ name: f.name, gcRule: f.gcRule ?? null })),
    deletionProtection: r.schema.deletionProtection,
    createdAtMs: r.schema.createdAtMs,
    initialSplits: r.schema.initialSplits.map((s) => s.toString('base64')),
    dirName: r.dirName,
    purgingFamilies: [...r.purgingFamilies],
  };
}

/** The table record of persisted fields `s`. */
export function tableRecordOf(s: TableRecordFields): TableRecord {
  const schema = makeSchema(
    {
      tableId: s.tableId,
      deletionProtection: s.deletionProtection,
      createdAtMs: s.createdAtMs,
      initialSplits: s.initialSplits.map((b) => Buffer.from(b, 'base64')),
    },
    s.families.map((f) => ({ name: f.name, gcRule: f.gcRule ?? undefined })),
  );
  return { schema, dirName: s.dirName, purgingFamilies: s.purgingFamilies };
}

function encode(r: TableRecord): Buffer {
  const stored: StoredRecord = { version: CATALOG_RECORD_VERSION, ...tableRecordFields(r) };
  return Buffer.from(JSON.stringify(stored), 'utf8');
}

function decode(key: Buffer, value: Buffer): TableRecord {
  return tableRecordOf(parseRecord(key, value) as StoredRecord);
}

/** The catalog over its engine. */
export class Catalog {
  constructor(private readonly engine: Engine) {}

  /** Every table record. */
  list(): TableRecord[] {
    return [...this.engine.scan(prefixRange(TABLE_KEY_PREFIX))].map(([k, v]) => decode(k, v));
  }

  /** Every live tablet record, by table and then directory name (not by range). */
  listTablets(): TabletRecord[] {
    return [...this.engine.scan(prefixRange(TABLET_KEY_PREFIX))].map(([k, v]) => decodeTablet(k, v));
  }

  /** Durably records `record`. */
  put(record: TableRecord): Promise<void> {
    return this.commit({ putTables: [record] });
  }

  /** Applies `change` as one atomic, durable write. */
  commit(change: CatalogChange): Promise<void> {
    const batch = new WriteBatch();
    for (const id of change.removeTables ?? []) batch.delete(keyOf(id));
    for (const t of change.removeTablets ?? []) batch.delete(tabletKeyOf(t));
    for (const r of change.putTables ?? []) batch.put(keyOf(r.schema.tableId), encode(r));
    for (const t of change.putTablets ?? []) batch.put(tabletKeyOf(t), encodeTablet(t));
    return this.engine.write(batch);
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}

function prefixRange(prefix: string): { start: Buffer; end: Buffer } {
  const start = Buffer.from(prefix, 'utf8');
  const end = Buffer.from(start);
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  return { start, end };
}
