/**
 * Cell keys: the order-preserving encoding of (row key, family, qualifier, timestamp) into one
 * engine key, so that the byte order of encoded keys is Bigtable order. Layout and proof sketch in
 * docs/model/cell-key.md.
 *
 *   cellKey = esc(rowKey) ‖ 00 01 ‖ esc(utf8(family)) ‖ 00 01 ‖ esc(qualifier) ‖ 00 01 ‖ ts
 *   esc(b)  = b with every 00 byte replaced by 00 FF
 *   ts      = 64-bit big-endian of (2^64 - 1 - timestampMicros)   (newest first)
 *
 * Invariants: `compareBytes(encode(a), encode(b))` has the sign of Bigtable order of a and b;
 * `decode(encode(x))` is x; every key of a row (family, column) lies in the half-open range the
 * helpers below return, and no key of any other row (family, column) does. The engine appends its
 * own sequence trailer (src/storage/internal-key.ts); these ranges stay correct under it because
 * every bound is either a whole-part prefix successor or a complete cell key.
 *
 * PERSISTED: the layout is stored in every SSTable; never change these constants.
 */
import { assert } from '../common/assert.js';
import { errors } from '../common/errors.js';
import { TIMESTAMP_MICROS_MAX } from '../common/limits.js';
import { bytesOf } from './proto-scalars.js';
import type { RowRange } from './proto-types.js';

/** The escape byte. PERSISTED. */
export const KEY_ESCAPE = 0x00;
/** Follows `KEY_ESCAPE` to stand for a literal 00 byte. PERSISTED. */
export const KEY_ESCAPED_ZERO = 0xff;
/** Follows `KEY_ESCAPE` to end a variable-length part. PERSISTED. */
export const KEY_TERMINATOR = 0x01;
/** Follows `KEY_ESCAPE` in range bounds: sorts after every key having the part as a prefix. */
export const KEY_PART_SUCCESSOR = 0x02;
/** Bytes of the timestamp suffix. PERSISTED. */
export const KEY_TIMESTAMP_BYTES = 8;

/** A decoded cell key. */
export interface CellKey {
  rowKey: Buffer;
  family: string;
  qualifier: Buffer;
  timestampMicros: number;
}

/** A half-open engine key range [start, end); `end` undefined means unbounded. */
export interface KeyRange {
  start: Buffer;
  end: Buffer | undefined;
}

function escapedLength(part: Uint8Array): number {
  let n = part.length;
  for (const b of part) if (b === KEY_ESCAPE) n++;
  return n;
}

/** Writes esc(part) ‖ 00 `marker` at `offset`; returns the offset after it. */
function putPart(out: Buffer, offset: number, part: Uint8Array, marker: number): number {
  for (const b of part) {
    out[offset++] = b;
    if (b === KEY_ESCAPE) out[offset++] = KEY_ESCAPED_ZERO;
  }
  out[offset++] = KEY_ESCAPE;
  out[offset++] = marker;
  return offset;
}

/**
 * Encodes the parts of a key prefix; the last part ends with `lastMarker` (the terminator for a
 * prefix, the part successor for the end of a range).
 */
function encodeParts(parts: readonly Uint8Array[], lastMarker: number, extraBytes = 0): Buffer {
  let size = extraBytes;
  for (const p of parts) size += escapedLength(p) + 2;
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  parts.forEach((p, i) => {
    offset = putPart(out, offset, p, i === parts.length - 1 ? lastMarker : KEY_TERMINATOR);
  });
  assert(offset === size - extraBytes, 'cell key size mismatch');
  return out;
}

function putTimestamp(out: Buffer, offset: number, timestampMicros: number): void {
  assert(
    Number.isSafeInteger(timestampMicros) && timestampMicros >= 0 && timestampMicros <= TIMESTAMP_MICROS_MAX,
    `cell timestamp out of range: ${timestampMicros}`,
  );
  const hi = Math.floor(timestampMicros / 0x1_0000_0000);
  const lo = timestampMicros % 0x1_0000_0000;
  out.writeUInt32BE(~hi >>> 0, offset);
  out.writeUInt32BE(~lo >>> 0, offset + 4);
}

/** Encodes a cell key. `timestampMicros` must be in [0, TIMESTAMP_MICROS_MAX]. */
export function encodeCellKey(
  rowKey: Uint8Array,
  family: string,
  qualifier: Uint8Array,
  timestampMicros: number,
): Buffer {
  const out = encodeParts(
    [rowKey, Buffer.from(family, 'utf8'), qualifier],
    KEY_TERMINATOR,
    KEY_TIMESTAMP_BYTES,
  );
  putTimestamp(out, out.length - KEY_TIMESTAMP_BYTES, timestampMicros);
  return out;
}

/** Reads one escaped part starting at `offset`; returns its bytes and the offset after its terminator. */
function readPart(key: Buffer, offset: number): { part: Buffer; offset: number } {
  const bytes: number[] = [];
  let i = offset;
  for (;;) {
    if (i >= key.length) throw corrupt(key, 'unterminated part');
    const b = key[i] as number;
    if (b !== KEY_ESCAPE) {
      bytes.push(b);
      i++;
      continue;
    }
    const next = key[i + 1];
    if (next === KEY_ESCAPED_ZERO) {
      bytes.push(0);
      i += 2;
    } else if (next === KEY_TERMINATOR) {
      return { part: Buffer.from(bytes), offset: i + 2 };
    } else {
      throw corrupt(key, 'bad escape');
    }
  }
}

function corrupt(key: Buffer, reason: string) {
  return errors.dataLoss('malformed cell key', { reason, keyBytes: key.length });
}

/** Decodes a cell key; a malformed key is DATA_LOSS (it can only come from damaged storage). */
export function decodeCellKey(key: Buffer): CellKey {
  const row = readPart(key, 0);
  const family = readPart(key, row.offset);
  const qualifier = readPart(key, family.offset);
  if (key.length - qualifier.offset !== KEY_TIMESTAMP_BYTES) throw corrupt(key, 'bad timestamp length');
  const hi = ~key.readUInt32BE(qualifier.offset) >>> 0;
  const lo = ~key.readUInt32BE(qualifier.offset + 4) >>> 0;
  const timestampMicros = hi * 0x1_0000_0000 + lo;
  if (timestampMicros > TIMESTAMP_MICROS_MAX) throw corrupt(key, 'timestamp out of range');
  return {
    rowKey: row.part,
    family: family.part.toString('utf8'),
    qualifier: qualifier.part,
    timestampMicros,
  };
}

/** The first possible key of row `rowKey` (every key of the row is ≥ it). */
export function rowStartKey(rowKey: Uint8Array): Buffer {
  return encodeParts([rowKey], KEY_TERMINATOR);
}

/** The first key after every key of row `rowKey`. */
export function rowEndKey(rowKey: Uint8Array): Buffer {
  return encodeParts([rowKey], KEY_PART_SUCCESSOR);
}

/** Every key of one row. */
export function rowKeyRange(rowKey: Uint8Array): KeyRange {
  return { start: rowStartKey(rowKey), end: rowEndKey(rowKey) };
}

/**
 * The row start key `esc(row) ‖ 00 01` when `range` is exactly every key of one row (as
 * `rowKeyRange` makes it), else undefined. That start is the row part every key of the range
 * begins with, and the first `00 01` in it, since esc() never leaves a 00 byte before 01.
 */
export function singleRowStart(range: KeyRange): Buffer | undefined {
  const { start, end } = range;
  const n = start.length;
  if (end === undefined || n < 2 || end.length !== n) return undefined;
  if (start[n - 2] !== KEY_ESCAPE || start[n - 1] !== KEY_TERMINATOR) return undefined;
  if (end[n - 1] !== KEY_PART_SUCCESSOR || start.compare(end, 0, n - 1, 0, n - 1) !== 0) return undefined;
  for (let i = 0; i < n - 2; i++) {
    if (start[i] === KEY_ESCAPE && start[i + 1] === KEY_TERMINATOR) return undefined;
  }
  return start;
}

/** Every key of one family within one row. */
export function familyKeyRange(rowKey: Uint8Array, family: string): KeyRange {
  const parts = [rowKey, Buffer.from(family, 'utf8')];
  return { start: encodeParts(parts, KEY_TERMINATOR), end: encodeParts(parts, KEY_PART_SUCCESSOR) };
}

/** Every key of one column within one row. */
export function columnKeyRange(rowKey: Uint8Array, family: string, qualifier: Uint8Array): KeyRange {
  const parts = [rowKey, Buffer.from(family, 'utf8'), qualifier];
  return { start: encodeParts(parts, KEY_TERMINATOR), end: encodeParts(parts, KEY_PART_SUCCESSOR) };
}

/**
 * The keys of one column whose timestamps lie in [startMicros, endMicros); `endMicros` undefined
 * means unbounded. Timestamps sort newest first, so the range starts at the newest included
 * version. An empty timestamp range yields an empty key range (start equals end).
 */
export function columnTimeKeyRange(
  rowKey: Uint8Array,
  family: string,
  qualifier: Uint8Array,
  startMicros: number,
  endMicros: number | undefined,
): KeyRange {
  const column = columnKeyRange(rowKey, family, qualifier);
  const lo = Math.max(0, startMicros);
  const hi = endMicros === undefined ? undefined : Math.min(endMicros, TIMESTAMP_MICROS_MAX + 1);
  if (lo > TIMESTAMP_MICROS_MAX || (hi !== undefined && hi <= lo))
    return { start: column.start, end: column.start };
  const withTimestamp = (timestampMicros: number): Buffer => {
    const out = Buffer.allocUnsafe(column.start.length + KEY_TIMESTAMP_BYTES);
    column.start.copy(out, 0);
    putTimestamp(out, column.start.length, timestampMicros);
    return out;
  };
  return {
    start: hi === undefined || hi > TIMESTAMP_MICROS_MAX ? column.start : withTimestamp(hi - 1),
    end: lo === 0 ? column.end : withTimestamp(lo - 1),
  };
}

/**
 * The engine range of a RowRange. An unset start is the empty key, inclusive; an unset end — or an
 * empty end key, which clients use to mean "no limit" — is unbounded.
 */
export function rowRangeToKeyRange(range: RowRange): KeyRange {
  let start: Buffer;
  if (range.startKey === 'startKeyOpen') start = rowEndKey(bytesOf(range.startKeyOpen));
  else start = rowStartKey(bytesOf(range.startKeyClosed));
  let end: Buffer | undefined;
  if (range.endKey === 'endKeyOpen' && bytesOf(range.endKeyOpen).length > 0) {
    end = rowStartKey(bytesOf(range.endKeyOpen));
  } else if (range.endKey === 'endKeyClosed' && bytesOf(range.endKeyClosed).length > 0) {
    end = rowEndKey(bytesOf(range.endKeyClosed));
  }
  return { start, end };
}

/** Whether a key range holds no key. */
export function keyRangeIsEmpty(range: KeyRange): boolean {
  return range.end !== undefined && Buffer.compare(range.start, range.end) >= 0;
}
