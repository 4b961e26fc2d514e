/**
 * The range-valued parts of RowFilters — ColumnRange, ValueRange, TimestampRange — turned into
 * plain bounds with validation. A range whose start lies after its end is INVALID_ARGUMENT; a range
 * that is merely empty (e.g. [a, a)) is valid and matches nothing.
 *
 * Timestamps: [start, end) in microseconds; start unset = 0, end unset or 0 = infinity. Values
 * beyond the largest storable timestamp are clamped, which changes no outcome since no cell has
 * such a timestamp.
 */
import { compareBytes } from '../common/bytes.js';
import { errors } from '../common/errors.js';
import { TIMESTAMP_MICROS_MAX } from '../common/limits.js';
import { bytesOf, parseInt64 } from './proto-scalars.js';
import type { ColumnRange, Int64, TimestampRange, ValueRange } from './proto-types.js';

/** One bound of a byte-string range. */
export interface ByteBound {
  readonly value: Buffer;
  readonly inclusive: boolean;
}

/** A byte-string range; `end` undefined means unbounded. */
export interface ByteRange {
  readonly start: ByteBound;
  readonly end: ByteBound | undefined;
}

/** A timestamp range [startMicros, endMicros); `endMicros` undefined means unbounded. */
export interface MicrosRange {
  readonly startMicros: number;
  readonly endMicros: number | undefined;
}

/** Whether `x` lies in `range`. */
export function byteRangeContains(range: ByteRange, x: Uint8Array): boolean {
  const lo = compareBytes(x, range.start.value);
  if (lo < 0 || (lo === 0 && !range.start.inclusive)) return false;
  if (range.end === undefined) return true;
  const hi = compareBytes(x, range.end.value);
  return hi < 0 || (hi === 0 && range.end.inclusive);
}

function checkNotInverted(range: ByteRange, field: string): ByteRange {
  if (range.end !== undefined && compareBytes(range.start.value, range.end.value) > 0) {
    throw errors.invalidArgument('range start is after its end', { field });
  }
  return range;
}

/** Bounds of a ValueRange: unset start = empty, inclusive; unset end = unbounded. */
export function valueRangeBounds(range: ValueRange, field: string): ByteRange {
  const start =
    range.startValue === 'startValueOpen'
      ? { value: bytesOf(range.startValueOpen), inclusive: false }
      : { value: bytesOf(range.startValueClosed), inclusive: true };
  let end: ByteBound | undefined;
  if (range.endValue === 'endValueClosed') end = { value: bytesOf(range.endValueClosed), inclusive: true };
  else if (range.endValue === 'endValueOpen') end = { value: bytesOf(range.endValueOpen), inclusive: false };
  return checkNotInverted({ start, end }, field);
}

/** Family and qualifier bounds of a ColumnRange; the family name is required. */
export function columnRangeBounds(
  range: ColumnRange,
  field: string,
): { family: string; qualifiers: ByteRange } {
  const family = range.familyName ?? '';
  if (family.length === 0) throw errors.invalidArgument('column range needs a family name', { field });
  const start =
    range.startQualifier === 'startQualifierOpen'
      ? { value: bytesOf(range.startQualifierOpen), inclusive: false }
      : { value: bytesOf(range.startQualifierClosed), inclusive: true };
  let end: ByteBound | undefined;
  if (range.endQualifier === 'endQualifierClosed') {
    end = { value: bytesOf(range.endQualifierClosed), inclusive: true };
  } else if (range.endQualifier === 'endQualifierOpen') {
    end = { value: bytesOf(range.endQualifierOpen), inclusive: false };
  }
  return { family, qualifiers: checkNotInverted({ start, end }, field) };
}

function nonNegativeMicros(value: Int64 | undefined, field: string): bigint {
  const n = parseInt64(value, field);
  if (n < 0n) throw errors.invalidArgument('timestamp must not be negative', { field, value: n });
  return n;
}

function clampMicros(n: bigint): number {
  return n > BigInt(TIMESTAMP_MICROS_MAX) ? TIMESTAMP_MICROS_MAX + 1 : Number(n);
}

/** Bounds of a TimestampRange, validated: no negative bound, start not after a set end. */
export function timestampRangeBounds(range: TimestampRange, field: string): MicrosRange {
  const start = nonNegativeMicros(range.startTimestampMicros, `${field}.start_timestamp_micros`);
  const end = nonNegativeMicros(range.endTimestampMicros, `${field}.end_timestamp_micros`);
  if (end !== 0n && start > end) {
    throw errors.invalidArgument('timestamp range start is after its end', { field, start, end });
  }
  return { startMicros: clampMicros(start), endMicros: end === 0n ? undefined : clampMicros(end) };
}

/** Whether `timestampMicros` lies in `range`. */
export function microsRangeContains(range: MicrosRange, timestampMicros: number): boolean {
  return (
    timestampMicros >= range.startMicros &&
    (range.endMicros === undefined || timestampMicros < range.endMicros)
  );
}
