/**
 * Reading proto scalars as proto-loader yields them: int64 fields arrive as decimal strings (or
 * numbers from in-process callers), unset fields as `undefined`. Parsing is strict — a malformed
 * int64 is INVALID_ARGUMENT naming the field, never a NaN that flows on.
 */
import { EMPTY } from '../common/bytes.js';
import { errors } from '../common/errors.js';
import type { Int64 } from './proto-types.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL = /^-?\d{1,20}$/;

/** Parses an int64 field; unset means 0 (the proto3 default). */
export function parseInt64(value: Int64 | undefined, field: string): bigint {
  if (value === undefined) return 0n;
  let n: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw errors.invalidArgument('int64 field is not an integer', { field });
    n = BigInt(value);
  } else if (typeof value === 'string' && DECIMAL.test(value)) {
    n = BigInt(value);
  } else {
    throw errors.invalidArgument('int64 field is not a decimal integer', { field });
  }
  if (n < INT64_MIN || n > INT64_MAX) throw errors.invalidArgument('int64 field out of range', { field });
  return n;
}

/** The bytes of an optional bytes field; unset means empty. */
export function bytesOf(value: Buffer | undefined): Buffer {
  return value ?? EMPTY;
}
