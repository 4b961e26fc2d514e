/**
 * Validation of data API requests (google.bigtable.v2) into the arguments the tablet layer takes
 * (src/tablet/table-store-api.ts). Pure apart from re-encoding a RowFilter to measure it. Every
 * violation is a TabulaError (INVALID_ARGUMENT unless said otherwise) naming the field.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { errors } from '../common/errors.js';
import { MUTATIONS_PER_REQUEST_MAX, ROW_FILTER_BYTES_MAX } from '../common/limits.js';
import { getVarint } from '../common/varint.js';
import type { KeyRange } from '../model/cell-key.js';
import { keyRangeIsEmpty, rowRangeToKeyRange } from '../model/cell-key.js';
import type { ValidMutation } from '../model/mutation.js';
import { validateMutations, validateRowKey } from '../model/mutation.js';
import { bytesOf, parseInt64 } from '../model/proto-scalars.js';
import type { Int64, Mutation, RowFilter, RowRange, RowSet } from '../model/proto-types.js';
import type { CompiledFilter } from '../model/row-filter.js';
import { compileRowFilter } from '../model/row-filter.js';
import type { ReadRowsQuery, RowSelection } from '../tablet/table-store-api.js';
import { loadBigtableProtos } from './protos.js';
import type { DataRequestNames } from './request-names.js';

/** google.bigtable.v2.ReadRowsRequest as decoded. */
export interface ReadRowsRequest extends DataRequestNames {
  rows?: RowSet;
  filter?: RowFilter;
  rowsLimit?: Int64;
  reversed?: boolean;
}

/** One entry of google.bigtable.v2.MutateRowsRequest as decoded. */
export interface MutateRowsEntry {
  rowKey?: Buffer;
  mutations?: Mutation[];
}

/** A MutateRows entry after validation: its mutations, or the error that fails it alone. */
export type ValidatedEntry =
  | { readonly ok: true; readonly rowKey: Buffer; readonly mutations: ValidMutation[] }
  | { readonly ok: false; readonly error: unknown };

/**
 * The encoded size of `filter`, measured by encoding a ReadRowsRequest holding only the filter
 * (field 3: one tag byte, then the filter's length as a varint, then the filter).
 */
export function rowFilterWireBytes(filter: RowFilter): number {
  const service = loadBigtableProtos().dataDefinition['google.bigtable.v2.Bigtable'] as ServiceDefinition;
  const encoded = service.ReadRows!.requestSerialize({ filter });
  return getVarint(encoded, 1)?.value ?? encoded.length;
}

/** Validates and compiles a request's RowFilter; absent means "every cell". */
export function compileRequestFilter(filter: RowFilter | undefined, field: string): CompiledFilter {
  if (filter === undefined || filter === null) return compileRowFilter(undefined);
  const bytes = rowFilterWireBytes(filter);
  if (bytes > ROW_FILTER_BYTES_MAX) {
    throw errors.invalidArgument('row filter too large', { field, bytes, bytesMax: ROW_FILTER_BYTES_MAX });
  }
  return compileRowFilter(filter);
}

function validateRowRange(range: RowRange, field: string): KeyRange {
  const start = range.startKey === 'startKeyOpen' ? range.startKeyOpen : range.startKeyClosed;
  const end = range.endKey === 'endKeyOpen' ? range.endKeyOpen : range.endKeyClosed;
  const startKey = bytesOf(start);
  const endKey = bytesOf(end);
  if (endKey.length > 0 && Buffer.compare(startKey, endKey) > 0) {
    throw errors.invalidArgument('row range start is after its end', { field });
  }
  // Bounds are checked for length only: an empty start or end key means "unbounded".
  if (startKey.length > 0) validateRowKey(startKey, `${field}.start_key`);
  if (endKey.length > 0) validateRowKey(endKey, `${field}.end_key`);
  return rowRangeToKeyRange(range);
}

/** The rows a RowSet selects. No keys and no ranges selects the whole table. */
export function rowSelection(rows: RowSet | undefined): RowSelection {
  const keys = rows?.rowKeys ?? [];
  const ranges = rows?.rowRanges ?? [];
  const rowKeys = keys.map((k, i) => validateRowKey(k, `rows.row_keys[${i}]`));
  const rowRanges = ranges
    .map((r, i) => validateRowRange(r ?? {}, `rows.row_ranges[${i}]`))
    .filter((r) => !keyRangeIsEmpty(r));
  return { rowKeys, rowRanges, all: keys.length === 0 && ranges.length === 0 };
}

/** Parses `rows_limit`: ≥ 0, 0 meaning no limit. */
export function parseRowsLimit(value: Int64 | undefined): number {
  const limit = parseInt64(value, 'rows_limit');
  if (limit < 0n) throw errors.invalidArgument('rows_limit must not be negative', { field: 'rows_limit' });
  return limit > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(limit);
}

/** Validates a ReadRowsRequest (its table name is parsed separately). */
export function readRowsQuery(request: ReadRowsRequest): ReadRowsQuery {
  return {
    selection: rowSelection(request.rows),
    filter: compileRequestFilter(request.filter, 'filter'),
    rowsLimit: parseRowsLimit(request.rowsLimit),
    reversed: request.reversed === true,
  };
}

/**
 * Validates the entries of a MutateRows request. The request as a whole is INVALID_ARGUMENT when it
 * has no entries or more than MUTATIONS_PER_REQUEST_MAX mutations across its entries; otherwise
 * each entry is validated on its own, so one bad entry fails alone.
 */
export function validateMutateRowsEntries(entries: readonly MutateRowsEntry[] | undefined): ValidatedEntry[] {
  const list = entries ?? [];
  if (list.length === 0) throw errors.invalidArgument('no entries provided', { field: 'entries' });
  let total = 0;
  for (const entry of list) total += entry?.mutations?.length ?? 0;
  if (total > MUTATIONS_PER_REQUEST_MAX) {
    throw errors.invalidArgument('too many mutations across entries', {
      field: 'entries',
      count: total,
      countMax: MUTATIONS_PER_REQUEST_MAX,
    });
  }
  return list.map((entry, i): ValidatedEntry => {
    try {
      const rowKey = validateRowKey(entry?.rowKey, `entries[${i}].row_key`);
      const mutations = validateMutations(entry?.mutations, { field: `entries[${i}].mutations` });
      return { ok: true, rowKey, mutations };
    } catch (error) {
      return { ok: false, error };
    }
  });
}
