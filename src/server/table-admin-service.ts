/**
 * The table admin API, google.bigtable.admin.v2.BigtableTableAdmin, on a TableStore: CreateTable,
 * ListTables, GetTable, DeleteTable, UpdateTable, ModifyColumnFamilies, DropRowRange,
 * GenerateConsistencyToken and CheckConsistency. Every other method (backups, snapshots,
 * authorized views, IAM, schema bundles, ...) answers UNIMPLEMENTED through rpc-handlers.ts.
 *
 * Requests are validated completely (table-admin-requests.ts) before the store is called. The
 * store enforces what needs its state: NOT_FOUND, ALREADY_EXISTS, deletion protection.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { errors } from '../common/errors.js';
import { LIST_TABLES_PAGE_SIZE_MAX } from '../common/limits.js';
import { validateTableId } from '../model/mutation.js';
import type { TableStore } from '../tablet/table-store-api.js';
import { loadBigtableProtos } from './protos.js';
import type { InstanceName } from './request-names.js';
import { parseInstanceName, parseTableName, tableNameOf } from './request-names.js';
import type { ServiceRpcs } from './rpc-handlers.js';
import type { DropRowRangeTarget, ModificationMessage, TableInput } from './table-admin-requests.js';
import {
  validateCreateFamilies,
  validateDropTarget,
  validateInitialSplits,
  validateModifications,
  validateTableUpdate,
} from './table-admin-requests.js';
import type { TableMessage } from './table-views.js';
import { parseTableView, tableMessage } from './table-views.js';

export { LIST_TABLES_PAGE_SIZE_MAX };

/** Fully qualified name of the table admin service. */
export const TABLE_ADMIN_SERVICE_NAME = 'google.bigtable.admin.v2.BigtableTableAdmin';

/** Type URL of a Table packed in a google.protobuf.Any. */
export const TABLE_TYPE_URL = 'type.googleapis.com/google.bigtable.admin.v2.Table';

interface CreateTableRequest {
  parent?: string;
  tableId?: string;
  table?: TableInput;
  initialSplits?: { key?: Buffer }[];
}

interface ListTablesRequest {
  parent?: string;
  view?: string;
  pageSize?: number;
  pageToken?: string;
}

function encodeTable(table: TableMessage): Buffer {
  const service = loadBigtableProtos().adminDefinition[TABLE_ADMIN_SERVICE_NAME] as ServiceDefinition;
  return service.GetTable!.responseSerialize(table);
}

async function createTable(store: TableStore, request: CreateTableRequest): Promise<TableMessage> {
  const instance = parseInstanceName(request.parent, 'parent');
  const tableId = validateTableId(request.tableId, 'table_id');
  const families = validateCreateFamilies(request.table);
  const initialSplits = validateInitialSplits(request.initialSplits);
  let schema = await store.createTable(tableId, { families, initialSplits });
  if (request.table?.deletionProtection === true) {
    schema = await store.updateTable(tableId, { deletionProtection: true });
  }
  return tableMessage(tableNameOf(instance, tableId), schema, 'SCHEMA_VIEW');
}

function listTables(store: TableStore, request: ListTablesRequest): object {
  const instance: InstanceName = parseInstanceName(request.parent, 'parent');
  const view = parseTableView(request.view, 'NAME_ONLY');
  const pageSize = request.pageSize ?? 0;
  if (!Number.isInteger(pageSize) || pageSize < 0) {
    throw errors.invalidArgument('page_size must not be negative', { field: 'page_size' });
  }
  const after = request.pageToken ?? '';
  if (after.length > 0) parseTableName(tableNameOf(instance, after), 'page_token');
  const all = store
    .listTables()
    .filter((t) => after.length === 0 || t.tableId > after)
    .sort((a, b) => (a.tableId < b.tableId ? -1 : a.tableId > b.tableId ? 1 : 0));
  const size = pageSize === 0 ? all.length : Math.min(pageSize, LIST_TABLES_PAGE_SIZE_MAX);
  const page = all.slice(0, size);
  const more = all.length > page.length && page.length > 0;
  return {
    tables: page.map((t) => tableMessage(tableNameOf(instance, t.tableId), t, view)),
    nextPageToken: more ? (page[page.length - 1]?.tableId ?? '') : '',
  };
}

function getTable(store: TableStore, request: { name?: string; view?: string }): TableMessage {
  const name = parseTableName(request.name, 'name');
  const view = parseTableView(request.view, 'SCHEMA_VIEW');
  return tableMessage(name.tableName, store.getTable(name.tableId), view);
}

async function updateTable(
  store: TableStore,
  request: { table?: TableInput; updateMask?: { paths?: string[] } },
): Promise<object> {
  const name = parseTableName(request.table?.name, 'table.name');
  const update = validateTableUpdate(request.table, request.updateMask);
  const schema = await store.updateTable(name.tableId, update);
  const table = tableMessage(name.tableName, schema, 'SCHEMA_VIEW');
  // Tabula applies the update before answering, so the long-running operation is already done.
  // google.protobuf.Any keeps its proto field names (`type_url`) in protobufjs, unlike other messages.
  return {
    name: `${name.tableName}/operations/update-${Date.now()}`,
    done: true,
    response: { type_url: TABLE_TYPE_URL, value: encodeTable(table) },
  };
}

async function modifyColumnFamilies(
  store: TableStore,
  request: { name?: string; modifications?: ModificationMessage[] },
): Promise<TableMessage> {
  const name = parseTableName(request.name, 'name');
  const modifications = validateModifications(request.modifications);
  const schema = await store.modifyColumnFamilies(name.tableId, modifications);
  return tableMessage(name.tableName, schema, 'SCHEMA_VIEW');
}

async function dropRowRange(
  store: TableStore,
  request: DropRowRangeTarget & { name?: string },
): Promise<object> {
  const name = parseTableName(request.name, 'name');
  const target = validateDropTarget(request);
  await store.dropRowRange(name.tableId, target);
  return {};
}

function checkConsistency(store: TableStore, request: { name?: string; consistencyToken?: string }): object {
  const name = parseTableName(request.name, 'name');
  const token = request.consistencyToken ?? '';
  if (token.length === 0) {
    throw errors.invalidArgument('consistency_token must not be empty', { field: 'consistency_token' });
  }
  return { consistent: store.checkConsistency(name.tableId, token) };
}

/** The implemented RPCs of the table admin service on `store`. */
export function tableAdminRpcs(store: TableStore): ServiceRpcs {
  return {
    unary: {
      CreateTable: (request: CreateTableRequest) => createTable(store, request),
      ListTables: (request: ListTablesRequest) => listTables(store, request),
      GetTable: (request: { name?: string; view?: string }) => getTable(store, request),
      DeleteTable: async (request: { name?: string }) => {
        await store.deleteTable(parseTableName(request.name, 'name').tableId);
        return {};
      },
      UpdateTable: (request) => updateTable(store, request),
      ModifyColumnFamilies: (request) => modifyColumnFamilies(store, request),
      DropRowRange: (request) => dropRowRange(store, request),
      GenerateConsistencyToken: (request: { name?: string }) => ({
        consistencyToken: store.generateConsistencyToken(parseTableName(request.name, 'name').tableId),
      }),
      CheckConsistency: (request) => checkConsistency(store, request),
    },
    serverStreaming: {},
  };
}
