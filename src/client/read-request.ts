/**
 * Read options to a prepared read: the proto ReadRowsRequest fields a server receives and the
 * validated `ReadRowsQuery` the embedded store runs, both from the same checks the server makes
 * (src/server/data-requests.ts and the model): row keys and ranges, the filter (structure, RE2
 * syntax, encoded size), the row limit.
 */
import { prefixSuccessor } from '../common/bytes.js';
import { errors } from '../common/errors.js';
import { validateRowKey } from '../model/mutation.js';
import type { RowRange as ProtoRowRange, RowFilter, RowSet } from '../model/proto-types.js';
import type { CompiledFilter } from '../model/row-filter.js';
import { compileRequestFilter, parseRowsLimit, rowSelection } from '../server/data-requests.js';
import type { ReadRowsQuery } from '../tablet/table-store-api.js';
import { toBuffer, typeName } from './bytes-input.js';
import type { Bytes, ReadRowsOptions, RowRange } from './client-types.js';
import type { Filter } from './row-filter-builder.js';
import { filterProto } from './row-filter-builder.js';

/** The proto fields of a ReadRowsRequest other than the table name. */
export interface ReadRowsFields {
  /** Selected rows; absent: every row. */
  rows?: RowSet;
  /** Filter; absent: every cell. */
  filter?: RowFilter;
  /** Row limit as a decimal int64; absent: none. */
  rowsLimit?: string;
  /** Descending key order. */
  reversed?: boolean;
}

/** A validated read in both forms. */
export interface PreparedRead {
  /** As sent to a server. */
  readonly fields: ReadRowsFields;
  /** As run by the embedded store. */
  readonly query: ReadRowsQuery;
}

/** A validated optional filter in both forms. */
export interface PreparedFilter {
  /** As sent to a server; undefined: every cell. */
  readonly proto: RowFilter | undefined;
  /** As run by the embedded store. */
  readonly compiled: CompiledFilter;
}

/** Validates an optional Filter, including its encoded size. */
export function prepareFilter(filter: Filter | undefined, field: string): PreparedFilter {
  const proto = filterProto(filter, field);
  return { proto, compiled: compileRequestFilter(proto, field) };
}

/** The proto RowRange of a typed range. */
export function encodeRowRange(range: RowRange, field: string): ProtoRowRange {
  if (typeof range !== 'object' || range === null) {
    throw errors.invalidArgument('expected a row range object', { field, type: typeName(range) });
  }
  const out: ProtoRowRange = {};
  if (range.start !== undefined) {
    const key = toBuffer(range.start, `${field}.start`);
    if (range.startInclusive === false) Object.assign(out, { startKey: 'startKeyOpen', startKeyOpen: key });
    else Object.assign(out, { startKey: 'startKeyClosed', startKeyClosed: key });
  }
  if (range.end !== undefined) {
    const key = toBuffer(range.end, `${field}.end`);
    if (range.endInclusive === true) Object.assign(out, { endKey: 'endKeyClosed', endKeyClosed: key });
    else Object.assign(out, { endKey: 'endKeyOpen', endKeyOpen: key });
  }
  return out;
}

/** The row range of the keys starting with `prefix` (a non-empty row key). */
export function prefixRange(prefix: Bytes, field: string): ProtoRowRange {
  const start = validateRowKey(toBuffer(prefix, field), field);
  const end = prefixSuccessor(start);
  const range: ProtoRowRange = { startKey: 'startKeyClosed', startKeyClosed: start };
  return end === undefined ? range : { ...range, endKey: 'endKeyOpen', endKeyOpen: end };
}

function rowsLimitOf(limit: unknown): string | undefined {
  if (limit === undefined || limit === 0) return undefined;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) {
    throw errors.invalidArgument('limit must be a non-negative whole number', { field: 'limit' });
  }
  return String(limit);
}

function listOption<T>(value: readonly T[] | undefined, field: string): readonly T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw errors.invalidArgument(`${field} must be a list`, { field });
  return value;
}

/** Validates `options` into a prepared read. Throws INVALID_ARGUMENT before anything is read. */
export function prepareRead(options: ReadRowsOptions = {}): PreparedRead {
  const keys = listOption(options.keys, 'keys').map((k, i) => toBuffer(k, `keys[${i}]`));
  const ranges = listOption(options.ranges, 'ranges').map((r, i) => encodeRowRange(r, `ranges[${i}]`));
  if (options.prefix !== undefined) ranges.push(prefixRange(options.prefix, 'prefix'));
  const fields: ReadRowsFields = {};
  if (keys.length > 0 || ranges.length > 0) fields.rows = { rowKeys: keys, rowRanges: ranges };
  const filter = prepareFilter(options.filter, 'filter');
  if (filter.proto !== undefined) fields.filter = filter.proto;
  const rowsLimit = rowsLimitOf(options.limit);
  if (rowsLimit !== undefined) fields.rowsLimit = rowsLimit;
  if (options.reverse === true) fields.reversed = true;
  const query: ReadRowsQuery = {
    selection: rowSelection(fields.rows),
    filter: filter.compiled,
    rowsLimit: parseRowsLimit(fields.rowsLimit),
    reversed: fields.reversed === true,
  };
  return { fields, query };
}
