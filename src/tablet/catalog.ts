/**
 * The persistent catalog of an instance's tables: one record per table (schema, deletion
 * protection, the directory of its tablet, families whose data is still being purged), stored in
 * an engine of its own so every change is one durable, atomic write.
 *
 * Record key: `table/` + table id. Value: JSON (GC rules are plain proto-shaped objects).
 */
import { errors } from '../common/errors.js';
import type { GcRule } from '../model/proto-types.js';
import type { Engine } from '../storage/engine.js';
import type { FamilySchema, TableSchema } from './table-store-api.js';

const TABLE_KEY_PREFIX = 'table/';
/** Version of the record layout. PERSISTED: bump on any change. */
const CATALOG_RECORD_VERSION = 1;

/** A table's catalog record. */
export interface TableRecord {
  readonly schema: TableSchema;
  /** Directory (under the store's tables/ directory) holding the table's tablet. */
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

function encode(r: TableRecord): Buffer {
  const stored: StoredRecord = {
    version: CATALOG_RECORD_VERSION,
    tableId: r.schema.tableId,
    families: [...r.schema.families.values()].map((f) => ({ name: f.name, gcRule: f.gcRule ?? null })),
    deletionProtection: r.schema.deletionProtection,
    createdAtMs: r.schema.createdAtMs,
    initialSplits: r.schema.initialSplits.map((s) => s.toString('base64')),
    dirName: r.dirName,
    purgingFamilies: [...r.purgingFamilies],
  };
  return Buffer.from(JSON.stringify(stored), 'utf8');
}

function decode(key: Buffer, value: Buffer): TableRecord {
  let s: StoredRecord;
  try {
    s = JSON.parse(value.toString('utf8')) as StoredRecord;
  } catch {
    throw errors.dataLoss('catalog record is not valid JSON', { key: key.toString('utf8') });
  }
  if (s.version !== CATALOG_RECORD_VERSION) {
    throw errors.dataLoss('catalog record has an unknown version', {
      key: key.toString('utf8'),
      version: s.version,
    });
  }
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

/** The catalog over its engine. */
export class Catalog {
  constructor(private readonly engine: Engine) {}

  /** Every table record. */
  list(): TableRecord[] {
    const out: TableRecord[] = [];
    const start = Buffer.from(TABLE_KEY_PREFIX, 'utf8');
    const end = Buffer.from(
      TABLE_KEY_PREFIX.slice(0, -1) +
        String.fromCharCode(TABLE_KEY_PREFIX.charCodeAt(TABLE_KEY_PREFIX.length - 1) + 1),
      'utf8',
    );
    for (const [k, v] of this.engine.scan({ start, end })) out.push(decode(k, v));
    return out;
  }

  /** Durably records `record`. */
  put(record: TableRecord): Promise<void> {
    return this.engine.put(keyOf(record.schema.tableId), encode(record));
  }

  /** Durably removes a table's record. */
  remove(tableId: string): Promise<void> {
    return this.engine.delete(keyOf(tableId));
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}
