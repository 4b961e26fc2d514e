/**
 * Table messages (google.bigtable.admin.v2.Table) built from the catalog's TableSchema, under the
 * views of `Table.View`. Maps keyed by family name are null-prototype objects: a family may be
 * named `__proto__` or `constructor`, and proto-loader encodes own keys only.
 *
 * Views: NAME_ONLY → name; SCHEMA_VIEW → name, column families with GC rules, granularity,
 * deletion protection; REPLICATION_VIEW / ENCRYPTION_VIEW → name and the state of the one cluster;
 * FULL → everything. Tabula tables always have millisecond granularity.
 */
import { errors } from '../common/errors.js';
import type { GcRule } from '../model/proto-types.js';
import type { TableSchema } from '../tablet/table-store-api.js';

/** Id of the one cluster Tabula reports for its instance. */
export const CLUSTER_ID = 'tabula';

/** The view names of google.bigtable.admin.v2.Table.View. */
export type TableView =
  | 'VIEW_UNSPECIFIED'
  | 'NAME_ONLY'
  | 'SCHEMA_VIEW'
  | 'REPLICATION_VIEW'
  | 'ENCRYPTION_VIEW'
  | 'FULL';

const VIEWS: ReadonlySet<string> = new Set<TableView>([
  'VIEW_UNSPECIFIED',
  'NAME_ONLY',
  'SCHEMA_VIEW',
  'REPLICATION_VIEW',
  'ENCRYPTION_VIEW',
  'FULL',
]);

/** Parses a request's `view`; unset or VIEW_UNSPECIFIED gives `fallback`. */
export function parseTableView(view: unknown, fallback: TableView): TableView {
  if (view === undefined || view === null || view === 'VIEW_UNSPECIFIED') return fallback;
  if (typeof view !== 'string' || !VIEWS.has(view)) {
    throw errors.invalidArgument('unknown table view', { field: 'view', view: String(view) });
  }
  return view as TableView;
}

/** A Table message as proto-loader encodes it. */
export interface TableMessage {
  name: string;
  columnFamilies?: Record<string, { gcRule?: GcRule }>;
  granularity?: 'MILLIS';
  deletionProtection?: boolean;
  clusterStates?: Record<string, { replicationState: 'READY'; encryptionInfo: never[] }>;
}

function columnFamilies(schema: TableSchema): Record<string, { gcRule?: GcRule }> {
  const out: Record<string, { gcRule?: GcRule }> = Object.create(null);
  for (const family of schema.families.values()) {
    // An absent rule is sent as an empty rule, as Cloud Bigtable does (clients print it as "never").
    out[family.name] = { gcRule: family.gcRule ?? {} };
  }
  return out;
}

function clusterStates(): TableMessage['clusterStates'] {
  const out: NonNullable<TableMessage['clusterStates']> = Object.create(null);
  out[CLUSTER_ID] = { replicationState: 'READY', encryptionInfo: [] };
  return out;
}

/** The Table message of `schema` named `name`, under `view`. */
export function tableMessage(name: string, schema: TableSchema, view: TableView): TableMessage {
  const table: TableMessage = { name };
  const schemaFields = view === 'SCHEMA_VIEW' || view === 'FULL';
  const replicationFields = view === 'REPLICATION_VIEW' || view === 'ENCRYPTION_VIEW' || view === 'FULL';
  if (schemaFields) {
    table.columnFamilies = columnFamilies(schema);
    table.granularity = 'MILLIS';
    table.deletionProtection = schema.deletionProtection;
  }
  if (replicationFields) table.clusterStates = clusterStates();
  return table;
}
