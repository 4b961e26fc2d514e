/**
 * The data API, google.bigtable.v2.Bigtable, on a TableStore: ReadRows, SampleRowKeys, MutateRow,
 * MutateRows, CheckAndMutateRow, ReadModifyWriteRow and PingAndWarm. Every other method of the
 * service (change streams, SQL queries, sessions, ...) answers UNIMPLEMENTED through rpc-handlers.ts.
 *
 * Each handler validates the whole request (data-requests.ts and src/model/) before touching the
 * store, so a malformed request changes nothing. Row atomicity and durability are the tablet's:
 * a handler resolves only after the tablet acknowledged the write as durable.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { errors } from '../common/errors.js';
import {
  READ_ROWS_CHUNK_VALUE_BYTES_MAX,
  READ_ROWS_FIRST_RESPONSE_BYTES_TARGET,
  READ_ROWS_RESPONSE_BYTES_TARGET,
  READ_ROWS_STALL_RELEASE_MS,
} from '../common/limits.js';
import type { ValidMutation } from '../model/mutation.js';
import { validateMutations, validateRowKey } from '../model/mutation.js';
import type { Mutation, ReadModifyWriteRule, RowFilter, RowRange } from '../model/proto-types.js';
import { validateReadModifyWriteRules } from '../model/read-modify-write.js';
import type { Cell, RowCells } from '../model/row-cells.js';
import type { RowMutations, TableStore, Tablet } from '../tablet/table-store-api.js';
import type { MutateRowsEntry, ReadRowsRequest } from './data-requests.js';
import { compileRequestFilter, readRowsQuery, validateMutateRowsEntries } from './data-requests.js';
import { readRowsResponses } from './read-rows-chunker.js';
import { encodedReadRowsResponses } from './read-rows-encoder.js';
import type { DataRequestNames } from './request-names.js';
import { dataRequestTable, parseInstanceName } from './request-names.js';
import { ResumableRows } from './resumable-rows.js';
import type { ServiceRpcs } from './rpc-handlers.js';
import type { InternalErrorHook } from './status-map.js';
import { toRpcStatus } from './status-map.js';
import { writeWithBackpressure } from './stream-writer.js';

/** Fully qualified name of the data service. */
export const DATA_SERVICE_NAME = 'google.bigtable.v2.Bigtable';

/** google.rpc.Status of an applied MutateRows entry (shared: the encoder only reads it). */
const OK_STATUS = Object.freeze({ code: 0, message: '' });

interface MutateRowRequest extends DataRequestNames {
  rowKey?: Buffer;
  mutations?: Mutation[];
}

interface CheckAndMutateRowRequest extends DataRequestNames {
  rowKey?: Buffer;
  predicateFilter?: RowFilter;
  trueMutations?: Mutation[];
  falseMutations?: Mutation[];
}

interface ReadModifyWriteRowRequest extends DataRequestNames {
  rowKey?: Buffer;
  rules?: ReadModifyWriteRule[];
}

interface SampleRowKeysRequest extends DataRequestNames {
  rowRange?: RowRange;
}

/** google.bigtable.v2.Row as proto-loader encodes it. */
interface RowMessage {
  key: Buffer;
  families: {
    name: string;
    columns: { qualifier: Buffer; cells: { timestampMicros: number; value: Buffer; labels: string[] }[] }[];
  }[];
}

/** Groups a row's cells (in Bigtable order) into the families/columns/cells of a Row message. */
export function rowMessage(row: RowCells): RowMessage {
  const families: RowMessage['families'] = [];
  let prev: Cell | undefined;
  for (const cell of row.cells) {
    if (prev === undefined || prev.family !== cell.family) {
      families.push({ name: cell.family, columns: [] });
    }
    const columns = families[families.length - 1]!.columns;
    if (prev === undefined || prev.family !== cell.family || !prev.qualifier.equals(cell.qualifier)) {
      columns.push({ qualifier: cell.qualifier, cells: [] });
    }
    columns[columns.length - 1]!.cells.push({
      timestampMicros: cell.timestampMicros,
      value: cell.value,
      labels: [...cell.labels],
    });
    prev = cell;
  }
  return { key: row.key, families };
}

function tabletFor(store: TableStore, request: DataRequestNames): Tablet {
  return store.tablet(dataRequestTable(request).tableId);
}

async function readRows(
  store: TableStore,
  request: ReadRowsRequest,
  call: ServerWritableStream<unknown, unknown>,
) {
  const tablet = tabletFor(store, request);
  const query = readRowsQuery(request);
  const rows = new ResumableRows(query, (q) => tablet.readRows(q));
  const responses = readRowsResponses(
    { [Symbol.iterator]: () => rows },
    {
      chunkValueBytesMax: READ_ROWS_CHUNK_VALUE_BYTES_MAX,
      responseBytesTarget: READ_ROWS_RESPONSE_BYTES_TARGET,
      firstResponseBytesTarget: READ_ROWS_FIRST_RESPONSE_BYTES_TARGET,
      rowsLimit: query.rowsLimit,
    },
  );
  await writeWithBackpressure(call, encodedReadRowsResponses(responses), {
    afterMs: READ_ROWS_STALL_RELEASE_MS,
    onStall: () => rows.release(),
  });
}

async function sampleRowKeys(
  store: TableStore,
  request: SampleRowKeysRequest,
  call: ServerWritableStream<unknown, unknown>,
) {
  const tablet = tabletFor(store, request);
  if (request.rowRange !== undefined && request.rowRange !== null) {
    throw errors.unimplemented('sampling a row range is not supported; omit row_range to sample the table', {
      field: 'row_range',
    });
  }
  const samples = tablet.sampleRowKeys().map((s) => ({ rowKey: s.rowKey, offsetBytes: s.offsetBytes }));
  await writeWithBackpressure(call, samples[Symbol.iterator]());
}

async function mutateRow(store: TableStore, request: MutateRowRequest): Promise<object> {
  const tablet = tabletFor(store, request);
  const rowKey = validateRowKey(request.rowKey);
  const mutations = validateMutations(request.mutations);
  await tablet.mutateRow(rowKey, mutations);
  return {};
}

/**
 * Applies the valid entries through one `Tablet.mutateRows` (one engine batch for the request, so
 * one WAL record and one durable commit); each entry's status is its own outcome.
 */
async function mutateRows(
  store: TableStore,
  request: DataRequestNames & { entries?: MutateRowsEntry[] },
  call: ServerWritableStream<unknown, unknown>,
  onInternal: InternalErrorHook,
) {
  const tablet = tabletFor(store, request);
  const entries = validateMutateRowsEntries(request.entries);
  const method = `${DATA_SERVICE_NAME}.MutateRows`;
  const valid: RowMutations[] = [];
  const validIndex: number[] = [];
  const results = entries.map((entry, index) => {
    if (!entry.ok) return { index, status: toRpcStatus(entry.error, method, onInternal) };
    valid.push(entry);
    validIndex.push(index);
    return { index, status: OK_STATUS };
  });
  const outcomes = valid.length > 0 ? await tablet.mutateRows(valid) : [];
  outcomes.forEach((err, i) => {
    if (err === undefined) return;
    const index = validIndex[i] as number;
    results[index] = { index, status: toRpcStatus(err, method, onInternal) };
  });
  await writeWithBackpressure(call, [{ entries: results }][Symbol.iterator]());
}

/**
 * Checks that every family both branches of a CheckAndMutateRow name exists, so a request fails
 * the same way whichever branch the predicate picks (the tablet checks only the branch it applies).
 */
function requireFamilies(store: TableStore, tableId: string, mutations: readonly ValidMutation[]): void {
  const families = store.getTable(tableId).families;
  for (const m of mutations) {
    if (m.kind !== 'deleteFromRow' && !families.has(m.family)) {
      throw errors.notFound('column family does not exist', { table: tableId, family: m.family });
    }
  }
}

async function checkAndMutateRow(store: TableStore, request: CheckAndMutateRowRequest): Promise<object> {
  const tableId = dataRequestTable(request).tableId;
  const tablet = store.tablet(tableId);
  const rowKey = validateRowKey(request.rowKey);
  const predicate =
    request.predicateFilter === undefined || request.predicateFilter === null
      ? undefined
      : compileRequestFilter(request.predicateFilter, 'predicate_filter');
  const trueMutations: ValidMutation[] = validateMutations(request.trueMutations, {
    allowEmpty: true,
    field: 'true_mutations',
  });
  const falseMutations: ValidMutation[] = validateMutations(request.falseMutations, {
    allowEmpty: true,
    field: 'false_mutations',
  });
  if (trueMutations.length === 0 && falseMutations.length === 0) {
    throw errors.invalidArgument('no mutations provided: set true_mutations or false_mutations', {
      field: 'true_mutations',
    });
  }
  requireFamilies(store, tableId, [...trueMutations, ...falseMutations]);
  const matched = await tablet.checkAndMutateRow(rowKey, predicate, trueMutations, falseMutations);
  return { predicateMatched: matched };
}

async function readModifyWriteRow(store: TableStore, request: ReadModifyWriteRowRequest): Promise<object> {
  const tablet = tabletFor(store, request);
  const rowKey = validateRowKey(request.rowKey);
  const rules = validateReadModifyWriteRules(request.rules);
  const row = await tablet.readModifyWriteRow(rowKey, rules);
  return { row: rowMessage(row) };
}

/** The implemented RPCs of the data service on `store`. */
export function dataServiceRpcs(store: TableStore, onInternal: InternalErrorHook): ServiceRpcs {
  return {
    unary: {
      MutateRow: (request: MutateRowRequest) => mutateRow(store, request),
      CheckAndMutateRow: (request: CheckAndMutateRowRequest) => checkAndMutateRow(store, request),
      ReadModifyWriteRow: (request: ReadModifyWriteRowRequest) => readModifyWriteRow(store, request),
      PingAndWarm: (request: { name?: string }) => {
        parseInstanceName(request.name, 'name');
        return {};
      },
    },
    serverStreaming: {
      ReadRows: (request: ReadRowsRequest, call) => readRows(store, request, call),
      SampleRowKeys: (request: SampleRowKeysRequest, call) => sampleRowKeys(store, request, call),
      MutateRows: (request, call) => mutateRows(store, request, call, onInternal),
    },
  };
}
