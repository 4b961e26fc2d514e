/**
 * A typed, composable builder for every Bigtable RowFilter. Each factory returns an immutable
 * `Filter` holding the proto form (google.bigtable.v2.RowFilter); composites (`chain`,
 * `interleave`, `condition`) take other Filters. Every Filter is validated as it is built, by the
 * model's `compileRowFilter` (structure, limits and RE2 syntax), so an invalid filter throws
 * INVALID_ARGUMENT before any request is made. The encoded-size limit (ROW_FILTER_BYTES_MAX) is
 * checked when a filter is used.
 *
 * Regular expressions are RE2, matched against the WHOLE family name, qualifier, value or row key
 * (raw bytes). `family()`, `qualifier()`, `value()` and `rowKey()` build exact-match patterns.
 *
 * Invariant: `toProto()` returns a fresh deep copy; a Filter never changes after construction.
 */
import { errors } from '../common/errors.js';
import type { ColumnRange, RowFilter, TimestampRange, ValueRange } from '../model/proto-types.js';
import { compileRowFilter } from '../model/row-filter.js';
import { requireString, toBuffer } from './bytes-input.js';
import type { Bytes } from './client-types.js';

/** Bounds of a byte range: `start` inclusive and `end` exclusive by default; omitted: unbounded. */
export interface ByteRangeBounds {
  /** Lower bound; omitted: unbounded. */
  readonly start?: Bytes;
  /** Upper bound; omitted: unbounded. */
  readonly end?: Bytes;
  /** Whether `start` is included. Default true. */
  readonly startInclusive?: boolean;
  /** Whether `end` is included. Default false. */
  readonly endInclusive?: boolean;
}

/** A range of qualifiers within one family. */
export interface ColumnRangeBounds extends ByteRangeBounds {
  /** The family the range applies to. */
  readonly family: string;
}

/** A timestamp range `[startMicros, endMicros)`; omitted bounds are 0 and infinity. */
export interface TimestampRangeBounds {
  /** First timestamp kept, inclusive (microseconds). */
  readonly startMicros?: number;
  /** Timestamp where keeping stops, exclusive (microseconds). */
  readonly endMicros?: number;
}

/** The branches of `Filter.condition`; an absent branch outputs nothing. */
export interface ConditionBranches {
  /** Applied to the row when the predicate outputs any cell. */
  readonly onMatch?: Filter;
  /** Applied to the row otherwise. */
  readonly onNoMatch?: Filter;
}

const PLAIN_BYTE = /[A-Za-z0-9_]/;

/** An RE2 pattern matching exactly `bytes` (every byte but `[A-Za-z0-9_]` written as `\xHH`). */
export function exactPattern(bytes: Uint8Array): Buffer {
  let out = '';
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    out += b < 0x80 && PLAIN_BYTE.test(ch) ? ch : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return Buffer.from(out, 'latin1');
}

/** The proto field names of one kind of byte range (its two oneofs and their members). */
interface RangeFieldNames {
  readonly start: string;
  readonly startClosed: string;
  readonly startOpen: string;
  readonly end: string;
  readonly endClosed: string;
  readonly endOpen: string;
}

/** The proto bounds of a range: each set bound with its oneof discriminator. */
function rangeBounds(r: ByteRangeBounds, field: string, names: RangeFieldNames): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (r.start !== undefined) {
    const key = r.startInclusive === false ? names.startOpen : names.startClosed;
    out[names.start] = key;
    out[key] = toBuffer(r.start, `${field}.start`);
  }
  if (r.end !== undefined) {
    const key = r.endInclusive === true ? names.endClosed : names.endOpen;
    out[names.end] = key;
    out[key] = toBuffer(r.end, `${field}.end`);
  }
  return out;
}

function micros(value: number | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw errors.invalidArgument('timestamp must be a non-negative whole number of microseconds', { field });
  }
  return String(value);
}

/** The proto of each Filter; module-private so a Filter cannot be changed after validation. */
const PROTOS = new WeakMap<Filter, RowFilter>();

/** A deep copy of a proto value that keeps Buffers as Buffers. Depth is bounded by validation. */
function deepCopy<T>(value: T): T {
  if (Buffer.isBuffer(value)) return Buffer.from(value) as T;
  if (Array.isArray(value)) return value.map(deepCopy) as T;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = deepCopy(v);
    return out as T;
  }
  return value;
}

/** An immutable, validated RowFilter. Build one with the static factories. */
export class Filter {
  private constructor(proto: RowFilter) {
    compileRowFilter(proto);
    PROTOS.set(this, proto);
    Object.freeze(this);
  }

  /** The proto form (google.bigtable.v2.RowFilter as proto-loader encodes it), a fresh copy. */
  toProto(): RowFilter {
    return deepCopy(PROTOS.get(this) as RowFilter);
  }

  /** This filter followed by `next` (a chain). */
  andThen(...next: Filter[]): Filter {
    return Filter.chain(this, ...next);
  }

  /** Applies each filter to the output of the previous one (at least two). */
  static chain(...filters: Filter[]): Filter {
    return new Filter({ filter: 'chain', chain: { filters: filters.map((f) => unwrap(f)) } });
  }

  /** The union of the filters' outputs, each applied to the whole row (at least two). */
  static interleave(...filters: Filter[]): Filter {
    return new Filter({ filter: 'interleave', interleave: { filters: filters.map((f) => unwrap(f)) } });
  }

  /** `onMatch` when `predicate` outputs any cell, else `onNoMatch`. Not atomic with writes. */
  static condition(predicate: Filter, branches: ConditionBranches = {}): Filter {
    const condition: NonNullable<RowFilter['condition']> = { predicateFilter: unwrap(predicate) };
    if (branches.onMatch !== undefined) condition.trueFilter = unwrap(branches.onMatch);
    if (branches.onNoMatch !== undefined) condition.falseFilter = unwrap(branches.onNoMatch);
    return new Filter({ filter: 'condition', condition });
  }

  /** Outputs its input straight to the result, bypassing the rest of the chain. */
  static sink(): Filter {
    return new Filter({ filter: 'sink', sink: true });
  }

  /** Every cell. */
  static passAll(): Filter {
    return new Filter({ filter: 'passAllFilter', passAllFilter: true });
  }

  /** No cell. */
  static blockAll(): Filter {
    return new Filter({ filter: 'blockAllFilter', blockAllFilter: true });
  }

  /** Rows whose whole key matches the RE2 `pattern`. */
  static rowKeyRegex(pattern: Bytes): Filter {
    return new Filter({ filter: 'rowKeyRegexFilter', rowKeyRegexFilter: toBuffer(pattern, 'rowKeyRegex') });
  }

  /** The row whose key is exactly `key`. */
  static rowKey(key: Bytes): Filter {
    return new Filter({
      filter: 'rowKeyRegexFilter',
      rowKeyRegexFilter: exactPattern(toBuffer(key, 'rowKey')),
    });
  }

  /** Each row with probability `probability` (strictly between 0 and 1). */
  static rowSample(probability: number): Filter {
    return new Filter({ filter: 'rowSampleFilter', rowSampleFilter: probability });
  }

  /** Cells whose family name matches the RE2 `pattern` (which may not contain `:`). */
  static familyRegex(pattern: string): Filter {
    return new Filter({
      filter: 'familyNameRegexFilter',
      familyNameRegexFilter: requireString(pattern, 'familyRegex'),
    });
  }

  /** Cells of family `name`. */
  static family(name: string): Filter {
    const pattern = exactPattern(Buffer.from(requireString(name, 'family'), 'utf8')).toString('latin1');
    return new Filter({ filter: 'familyNameRegexFilter', familyNameRegexFilter: pattern });
  }

  /** Cells whose qualifier matches the RE2 `pattern`. */
  static qualifierRegex(pattern: Bytes): Filter {
    return new Filter({
      filter: 'columnQualifierRegexFilter',
      columnQualifierRegexFilter: toBuffer(pattern, 'qualifierRegex'),
    });
  }

  /** Cells whose qualifier is exactly `qualifier`. */
  static qualifier(qualifier: Bytes): Filter {
    return new Filter({
      filter: 'columnQualifierRegexFilter',
      columnQualifierRegexFilter: exactPattern(toBuffer(qualifier, 'qualifier')),
    });
  }

  /** Cells of `range.family` whose qualifier lies in the range. */
  static columnRange(range: ColumnRangeBounds): Filter {
    const columnRangeFilter: ColumnRange = {
      familyName: requireString(range.family, 'columnRange.family'),
      ...rangeBounds(range, 'columnRange', {
        start: 'startQualifier',
        end: 'endQualifier',
        startClosed: 'startQualifierClosed',
        startOpen: 'startQualifierOpen',
        endClosed: 'endQualifierClosed',
        endOpen: 'endQualifierOpen',
      }),
    };
    return new Filter({ filter: 'columnRangeFilter', columnRangeFilter });
  }

  /** Cells with a timestamp in `[startMicros, endMicros)`. */
  static timestampRange(range: TimestampRangeBounds): Filter {
    const timestampRangeFilter: TimestampRange = {};
    const start = micros(range.startMicros, 'timestampRange.startMicros');
    const end = micros(range.endMicros, 'timestampRange.endMicros');
    if (start !== undefined) timestampRangeFilter.startTimestampMicros = start;
    if (end !== undefined) timestampRangeFilter.endTimestampMicros = end;
    return new Filter({ filter: 'timestampRangeFilter', timestampRangeFilter });
  }

  /** Cells whose whole value matches the RE2 `pattern`. */
  static valueRegex(pattern: Bytes): Filter {
    return new Filter({ filter: 'valueRegexFilter', valueRegexFilter: toBuffer(pattern, 'valueRegex') });
  }

  /** Cells whose value is exactly `value`. */
  static value(value: Bytes): Filter {
    return new Filter({
      filter: 'valueRegexFilter',
      valueRegexFilter: exactPattern(toBuffer(value, 'value')),
    });
  }

  /** Cells whose value lies in the range (compared as bytes). */
  static valueRange(range: ByteRangeBounds): Filter {
    const valueRangeFilter: ValueRange = rangeBounds(range, 'valueRange', {
      start: 'startValue',
      end: 'endValue',
      startClosed: 'startValueClosed',
      startOpen: 'startValueOpen',
      endClosed: 'endValueClosed',
      endOpen: 'endValueOpen',
    });
    return new Filter({ filter: 'valueRangeFilter', valueRangeFilter });
  }

  /** Cells whose value, as long as `mask`, has every bit of `mask` set. */
  static valueBitmask(mask: Bytes): Filter {
    return new Filter({
      filter: 'valueBitmaskFilter',
      valueBitmaskFilter: { mask: toBuffer(mask, 'valueBitmask') },
    });
  }

  /** Skips the first `count` cells of each row. */
  static cellsPerRowOffset(count: number): Filter {
    return new Filter({ filter: 'cellsPerRowOffsetFilter', cellsPerRowOffsetFilter: count });
  }

  /** The first `count` cells of each row (count ≥ 1). */
  static cellsPerRowLimit(count: number): Filter {
    return new Filter({ filter: 'cellsPerRowLimitFilter', cellsPerRowLimitFilter: count });
  }

  /** The newest `count` versions of each column (count ≥ 1). */
  static cellsPerColumnLimit(count: number): Filter {
    return new Filter({ filter: 'cellsPerColumnLimitFilter', cellsPerColumnLimitFilter: count });
  }

  /** The newest version of each column: `cellsPerColumnLimit(1)`. */
  static latest(): Filter {
    return Filter.cellsPerColumnLimit(1);
  }

  /** Replaces each value with an empty one (keys, timestamps and labels stay). */
  static stripValue(): Filter {
    return new Filter({ filter: 'stripValueTransformer', stripValueTransformer: true });
  }

  /** Adds `label` (1 to 15 characters of `[a-z0-9-]`) to each cell. */
  static label(label: string): Filter {
    return new Filter({
      filter: 'applyLabelTransformer',
      applyLabelTransformer: requireString(label, 'label'),
    });
  }
}

/**
 * The proto of a Filter argument (shared, never to be modified), rejecting anything that is not a
 * Filter.
 */
function unwrap(f: Filter, field = 'filter'): RowFilter {
  const proto = PROTOS.get(f);
  if (proto === undefined) {
    throw errors.invalidArgument('expected a Filter built with the Filter factories', { field });
  }
  return proto;
}

/** The proto of an optional Filter option (shared, never to be modified), checking its type. */
export function filterProto(f: Filter | undefined, field: string): RowFilter | undefined {
  return f === undefined ? undefined : unwrap(f, field);
}
