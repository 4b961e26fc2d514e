/**
 * Internal keys: how the engine versions user keys. Every entry in a memtable or SSTable is keyed by
 * `userKey ‖ trailer`, where the trailer is a little-endian u64 holding `sequence * 256 + kind`.
 *
 * Order: user keys ascending by bytes; for equal user keys, trailers DESCENDING — so the newest
 * version of a key comes first and a reader at snapshot `s` takes the first entry with
 * `sequence <= s`. Bytewise order of encoded internal keys is NOT this order (a user key may be a
 * prefix of another), so always compare with `compareInternalKeys`.
 *
 * Sequence numbers are below 2^53 (safe integers), so the trailer fits in 61 bits.
 */
import { assert } from '../common/assert.js';
import { asBuffer } from '../common/bytes.js';

/** Kinds of entries. PERSISTED: never renumber. */
export const EntryKind = {
  /** A point deletion of a user key (a tombstone). */
  Delete: 0,
  /** A value for a user key. */
  Put: 1,
} as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

/** Size of the trailer appended to a user key. */
export const TRAILER_BYTES = 8;
/** Largest sequence number. */
export const SEQUENCE_MAX = 2 ** 53 - 1;
/**
 * Kind used when building seek targets: with the highest kind, `seekTarget(k, s)` sorts before
 * every entry of `k` with sequence `s`, so a seek lands on the newest entry visible at `s`.
 */
export const KIND_FOR_SEEK = 0xff;

/** Encodes `userKey ‖ trailer(sequence, kind)`. */
export function encodeInternalKey(userKey: Uint8Array, sequence: number, kind: number): Buffer {
  const out = Buffer.allocUnsafe(userKey.length + TRAILER_BYTES);
  out.set(userKey, 0);
  writeTrailer(out, userKey.length, sequence, kind);
  return out;
}

/** Writes a trailer at `offset`. */
export function writeTrailer(out: Buffer, offset: number, sequence: number, kind: number): void {
  assert(sequence >= 0 && sequence <= SEQUENCE_MAX, 'sequence out of range');
  const packedLow = (sequence % 0x100_0000) * 256 + kind; // low 24 bits of seq, then kind
  const high = Math.floor(sequence / 0x100_0000); // remaining 29 bits
  out.writeUInt32LE(packedLow >>> 0, offset);
  out.writeUInt32LE(high >>> 0, offset + 4);
}

/** The user-key part of an internal key (a view, no copy). */
export function userKeyOf(internalKey: Uint8Array): Buffer {
  return asBuffer(internalKey).subarray(0, internalKey.length - TRAILER_BYTES);
}

/** The sequence number of an internal key. */
export function sequenceOf(internalKey: Uint8Array): number {
  const b = asBuffer(internalKey);
  const o = b.length - TRAILER_BYTES;
  return Math.floor(b.readUInt32LE(o) / 256) + b.readUInt32LE(o + 4) * 0x100_0000;
}

/** The kind of an internal key. */
export function kindOf(internalKey: Uint8Array): number {
  return internalKey[internalKey.length - TRAILER_BYTES] as number;
}

/** The trailer as a single number (sequence * 256 + kind), for ordering. */
export function trailerOf(internalKey: Uint8Array): number {
  const b = asBuffer(internalKey);
  const o = b.length - TRAILER_BYTES;
  return b.readUInt32LE(o) + b.readUInt32LE(o + 4) * 0x1_0000_0000;
}

/** Below this many bytes, a JavaScript loop compares faster than a call into native code. */
const INLINE_COMPARE_BYTES_MAX = 48;

/** Compares two encoded internal keys in engine order. */
export function compareInternalKeys(a: Uint8Array, b: Uint8Array): number {
  const oa = a.length - TRAILER_BYTES;
  const ob = b.length - TRAILER_BYTES;
  const n = oa < ob ? oa : ob;
  if (n <= INLINE_COMPARE_BYTES_MAX) {
    for (let i = 0; i < n; i++) {
      const d = (a[i] as number) - (b[i] as number);
      if (d !== 0) return d;
    }
    if (oa !== ob) return oa - ob;
  } else {
    const c = asBuffer(a).compare(asBuffer(b), 0, ob, 0, oa);
    if (c !== 0) return c;
  }
  // Trailers descending; compared word by word so no precision is lost above 2^53.
  const ha = readU32(a, oa + 4);
  const hb = readU32(b, ob + 4);
  if (ha !== hb) return ha > hb ? -1 : 1;
  const la = readU32(a, oa);
  const lb = readU32(b, ob);
  return la > lb ? -1 : la < lb ? 1 : 0;
}

function readU32(buf: Uint8Array, offset: number): number {
  return (
    ((buf[offset] as number) |
      ((buf[offset + 1] as number) << 8) |
      ((buf[offset + 2] as number) << 16) |
      ((buf[offset + 3] as number) << 24)) >>>
    0
  );
}

/** Compares the user-key part of an internal key with a user key. */
export function compareUserKeyOf(internalKey: Uint8Array, userKey: Uint8Array): number {
  const ib = asBuffer(internalKey);
  return ib.compare(asBuffer(userKey), 0, userKey.length, 0, ib.length - TRAILER_BYTES);
}

/** The seek target that finds the newest entry of `userKey` visible at snapshot `sequence`. */
export function seekTarget(userKey: Uint8Array, sequence: number): Buffer {
  return encodeInternalKey(userKey, sequence, KIND_FOR_SEEK);
}

/** A range tombstone: every user key in [start, end) with a smaller sequence is deleted. */
export interface RangeTombstone {
  readonly start: Buffer;
  readonly end: Buffer;
  readonly sequence: number;
}
