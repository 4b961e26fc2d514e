/**
 * Validation of the mutations of one row against the Cloud Bigtable API limits (src/common/limits.ts)
 * and normalization into `ValidMutation`s the tablet layer applies. Pure; throws a TabulaError on
 * the first violation, naming the field by its path (e.g. `mutations[3].set_cell.value`).
 *
 * Codes: malformed input or a broken limit is INVALID_ARGUMENT; the aggregate mutations
 * (`add_to_cell`, `merge_to_cell`) are UNIMPLEMENTED because Tabula has no aggregate families yet.
 * Timestamps follow millisecond granularity (the Cloud Bigtable default): a SetCell timestamp is a
 * multiple of 1000 microseconds, or -1 for "server time".
 */
import { errors } from '../common/errors.js';
import {
  CELL_VALUE_BYTES_MAX,
  COLUMN_QUALIFIER_BYTES_MAX,
  FAMILY_NAME_CHARS_MAX,
  MUTATIONS_PER_REQUEST_MAX,
  ROW_KEY_BYTES_MAX,
  TABLE_ID_CHARS_MAX,
  TIMESTAMP_GRANULARITY_MICROS,
  TIMESTAMP_MICROS_MAX,
} from '../common/limits.js';
import { timestampRangeBounds } from './filter-ranges.js';
import { bytesOf, parseInt64 } from './proto-scalars.js';
import type { Mutation } from './proto-types.js';

/** The SetCell timestamp meaning "use the server's time". */
export const SERVER_TIMESTAMP_MICROS = -1;

/** Syntax of family names and table ids (Cloud Bigtable: `[_a-zA-Z0-9][-_.a-zA-Z0-9]*`). */
export const IDENTIFIER_PATTERN = /^[_a-zA-Z0-9][-_.a-zA-Z0-9]*$/;

/** A validated mutation. Timestamps are microseconds; ranges are [start, end), end undefined = ∞. */
export type ValidMutation =
  | {
      readonly kind: 'setCell';
      readonly family: string;
      readonly qualifier: Buffer;
      /** A multiple of 1000, or SERVER_TIMESTAMP_MICROS. */
      readonly timestampMicros: number;
      readonly value: Buffer;
    }
  | {
      readonly kind: 'deleteFromColumn';
      readonly family: string;
      readonly qualifier: Buffer;
      readonly startMicros: number;
      readonly endMicros: number | undefined;
    }
  | { readonly kind: 'deleteFromFamily'; readonly family: string }
  | { readonly kind: 'deleteFromRow' };

/** Options of `validateMutations`. */
export interface ValidateMutationsOptions {
  /** Whether an empty list is acceptable (e.g. one branch of CheckAndMutateRow). Default false. */
  allowEmpty?: boolean;
  /** Field path of the list, for messages. Default `mutations`. */
  field?: string;
}

/** Validates a row key: 1 to ROW_KEY_BYTES_MAX bytes. Returns it. */
export function validateRowKey(rowKey: Buffer | undefined, field = 'row_key'): Buffer {
  const key = bytesOf(rowKey);
  if (key.length === 0) throw errors.invalidArgument('row key must not be empty', { field });
  if (key.length > ROW_KEY_BYTES_MAX) {
    throw errors.invalidArgument('row key too long', {
      field,
      bytes: key.length,
      bytesMax: ROW_KEY_BYTES_MAX,
    });
  }
  return key;
}

function validateIdentifier(value: unknown, what: string, charsMax: number, field: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw errors.invalidArgument(`${what} must not be empty`, { field });
  if (value.length > charsMax) {
    throw errors.invalidArgument(`${what} too long`, { field, chars: value.length, charsMax });
  }
  if (!IDENTIFIER_PATTERN.test(value)) {
    throw errors.invalidArgument(`${what} must match [_a-zA-Z0-9][-_.a-zA-Z0-9]*`, { field, value });
  }
  return value;
}

/** Validates a column family name. Returns it. */
export function validateFamilyName(name: unknown, field = 'family_name'): string {
  return validateIdentifier(name, 'family name', FAMILY_NAME_CHARS_MAX, field);
}

/** Validates a table id (the last segment of a table name). Returns it. */
export function validateTableId(tableId: unknown, field = 'table_id'): string {
  return validateIdentifier(tableId, 'table id', TABLE_ID_CHARS_MAX, field);
}

/** Validates a column qualifier: any bytes, at most COLUMN_QUALIFIER_BYTES_MAX. Returns it. */
export function validateQualifier(qualifier: Buffer | undefined, field = 'column_qualifier'): Buffer {
  const q = bytesOf(qualifier);
  if (q.length > COLUMN_QUALIFIER_BYTES_MAX) {
    throw errors.invalidArgument('column qualifier too long', {
      field,
      bytes: q.length,
      bytesMax: COLUMN_QUALIFIER_BYTES_MAX,
    });
  }
  return q;
}

/** Validates a SetCell timestamp: -1, or a multiple of 1000 in [0, TIMESTAMP_MICROS_MAX]. */
export function validateSetCellTimestamp(value: string | number | undefined, field: string): number {
  const ts = parseInt64(value, field);
  if (ts === BigInt(SERVER_TIMESTAMP_MICROS)) return SERVER_TIMESTAMP_MICROS;
  if (ts < 0n) throw errors.invalidArgument('timestamp must be -1 or non-negative', { field, value: ts });
  if (ts > BigInt(TIMESTAMP_MICROS_MAX)) {
    throw errors.invalidArgument('timestamp beyond the largest supported', { field, value: ts });
  }
  if (ts % BigInt(TIMESTAMP_GRANULARITY_MICROS) !== 0n) {
    throw errors.invalidArgument('timestamp granularity mismatch: micros must be a multiple of 1000', {
      field,
      value: ts,
    });
  }
  return Number(ts);
}

/**
 * Validates the mutations of one row and returns them normalized, in request order. Throws
 * INVALID_ARGUMENT (or UNIMPLEMENTED for aggregate mutations) on the first bad one.
 */
export function validateMutations(
  mutations: readonly Mutation[] | undefined,
  options: ValidateMutationsOptions = {},
): ValidMutation[] {
  const field = options.field ?? 'mutations';
  const list = mutations ?? [];
  if (list.length === 0 && options.allowEmpty !== true) {
    throw errors.invalidArgument('no mutations provided', { field });
  }
  if (list.length > MUTATIONS_PER_REQUEST_MAX) {
    throw errors.invalidArgument('too many mutations', {
      field,
      count: list.length,
      countMax: MUTATIONS_PER_REQUEST_MAX,
    });
  }
  return list.map((m, i) => validateMutation(m, `${field}[${i}]`));
}

/** Validates one mutation. */
export function validateMutation(m: Mutation, field: string): ValidMutation {
  switch (m?.mutation) {
    case 'setCell': {
      const f = `${field}.set_cell`;
      const s = m.setCell ?? {};
      const value = bytesOf(s.value);
      if (value.length > CELL_VALUE_BYTES_MAX) {
        throw errors.invalidArgument('value too large', {
          field: `${f}.value`,
          bytes: value.length,
          bytesMax: CELL_VALUE_BYTES_MAX,
        });
      }
      return {
        kind: 'setCell',
        family: validateFamilyName(s.familyName, `${f}.family_name`),
        qualifier: validateQualifier(s.columnQualifier, `${f}.column_qualifier`),
        timestampMicros: validateSetCellTimestamp(s.timestampMicros, `${f}.timestamp_micros`),
        value,
      };
    }
    case 'deleteFromColumn': {
      const f = `${field}.delete_from_column`;
      const d = m.deleteFromColumn ?? {};
      const range = timestampRangeBounds(d.timeRange ?? {}, `${f}.time_range`);
      if (range.endMicros !== undefined && range.endMicros <= range.startMicros) {
        throw errors.invalidArgument('timestamp range is empty: start must be before end', {
          field: `${f}.time_range`,
        });
      }
      for (const bound of [range.startMicros, range.endMicros]) {
        if (bound !== undefined && bound % TIMESTAMP_GRANULARITY_MICROS !== 0) {
          throw errors.invalidArgument('timestamp range must have millisecond granularity', {
            field: `${f}.time_range`,
            timestampMicros: bound,
          });
        }
      }
      return {
        kind: 'deleteFromColumn',
        family: validateFamilyName(d.familyName, `${f}.family_name`),
        qualifier: validateQualifier(d.columnQualifier, `${f}.column_qualifier`),
        startMicros: range.startMicros,
        endMicros: range.endMicros,
      };
    }
    case 'deleteFromFamily':
      return {
        kind: 'deleteFromFamily',
        family: validateFamilyName(m.deleteFromFamily?.familyName, `${field}.delete_from_family.family_name`),
      };
    case 'deleteFromRow':
      return { kind: 'deleteFromRow' };
    case 'addToCell':
    case 'mergeToCell':
      throw errors.unimplemented('aggregate mutations are not supported: tabula has no aggregate families', {
        field: `${field}.${m.mutation === 'addToCell' ? 'add_to_cell' : 'merge_to_cell'}`,
      });
    case undefined:
      throw errors.invalidArgument('mutation has no kind set', { field });
    default:
      throw errors.invalidArgument('unknown mutation kind', { field, kind: String(m.mutation) });
  }
}
