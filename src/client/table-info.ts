/**
 * Table schemas into the public `TableInfo`, from the embedded catalog (`TableSchema`) and from a
 * server's Table message (google.bigtable.admin.v2.Table, SCHEMA_VIEW).
 */
import type { GcRule as ProtoGcRule } from '../model/proto-types.js';
import { compareFamilies } from '../model/row-cells.js';
import type { TableSchema } from '../tablet/table-store-api.js';
import type { FamilyInfo, TableInfo } from './client-types.js';
import { decodeGcRule } from './gc-rules.js';

function familyMap(entries: [string, ProtoGcRule | undefined | null][]): Map<string, FamilyInfo> {
  entries.sort((a, b) => compareFamilies(a[0], b[0]));
  return new Map(entries.map(([name, rule]) => [name, { name, gcRule: decodeGcRule(rule) }]));
}

/** The TableInfo of an embedded table. */
export function tableInfoOfSchema(schema: TableSchema): TableInfo {
  return {
    name: schema.tableId,
    families: familyMap([...schema.families.values()].map((f) => [f.name, f.gcRule])),
    deletionProtection: schema.deletionProtection,
  };
}

/** A Table message as a server sends it (proto-loader shapes). */
export interface TableMessageIn {
  name?: string;
  columnFamilies?: Record<string, { gcRule?: ProtoGcRule | null } | null>;
  deletionProtection?: boolean;
}

/** The TableInfo of a server's Table message. */
export function tableInfoOfMessage(table: TableMessageIn): TableInfo {
  const name = (table.name ?? '').split('/').pop() ?? '';
  const families = table.columnFamilies ?? {};
  return {
    name,
    families: familyMap(Object.keys(families).map((f) => [f, families[f]?.gcRule])),
    deletionProtection: table.deletionProtection === true,
  };
}
