/**
 * An atomic group of writes. A batch is applied all-or-nothing: it is one WAL record, and its
 * entries take consecutive sequence numbers starting at the batch's base sequence.
 *
 * Encoding (one WAL record; see docs/format/log.md for the framing around it):
 *
 *   baseSequence u64 LE | count u32 LE | entry*
 *   entry := op u8 | varint keyLen | key | (op == Put: varint valueLen | value)
 *                                        | (op == DeleteRange: varint endLen | end)
 */
import { asBuffer } from '../common/bytes.js';
import { errors } from '../common/errors.js';
import { ENGINE_KEY_BYTES_MAX, WRITE_BATCH_BYTES_MAX } from '../common/limits.js';
import { ByteWriter, getVarint, readU64 } from '../common/varint.js';

/** Operations in a batch. PERSISTED: never renumber. */
export const BatchOp = { Delete: 0, Put: 1, DeleteRange: 2 } as const;
export type BatchOp = (typeof BatchOp)[keyof typeof BatchOp];

/** Bytes of the batch header (base sequence + count). */
export const BATCH_HEADER_BYTES = 12;

/** One decoded batch entry. For DeleteRange, `value` holds the exclusive end key. */
export interface BatchEntry {
  op: BatchOp;
  key: Buffer;
  value: Buffer;
}

/** A batch under construction. */
export class WriteBatch {
  private readonly writer = new ByteWriter(256);
  private entryCount = 0;

  constructor() {
    this.writer.u64(0).u32(0);
  }

  /** Sets `key` to `value`. */
  put(key: Uint8Array, value: Uint8Array): this {
    checkKey(key);
    this.writer.u8(BatchOp.Put).lengthPrefixed(key).lengthPrefixed(value);
    return this.added();
  }

  /** Deletes `key`. */
  delete(key: Uint8Array): this {
    checkKey(key);
    this.writer.u8(BatchOp.Delete).lengthPrefixed(key);
    return this.added();
  }

  /** Deletes every key in [start, end). An empty or inverted range is rejected. */
  deleteRange(start: Uint8Array, end: Uint8Array): this {
    checkKey(start);
    checkKey(end);
    if (Buffer.compare(start, end) >= 0) {
      throw errors.invalidArgument('range deletion needs start < end');
    }
    this.writer.u8(BatchOp.DeleteRange).lengthPrefixed(start).lengthPrefixed(end);
    return this.added();
  }

  /** Number of entries. */
  get count(): number {
    return this.entryCount;
  }

  /** Encoded size in bytes. */
  get byteSize(): number {
    return this.writer.length;
  }

  /** The encoded batch with `baseSequence` stamped in. The view is valid until the next change. */
  encode(baseSequence: number): Buffer {
    const view = this.writer.view();
    view.writeUInt32LE(baseSequence % 0x1_0000_0000, 0);
    view.writeUInt32LE(Math.floor(baseSequence / 0x1_0000_0000), 4);
    view.writeUInt32LE(this.entryCount, 8);
    return view;
  }

  private added(): this {
    this.entryCount++;
    if (this.writer.length > WRITE_BATCH_BYTES_MAX) {
      throw errors.invalidArgument('write batch too large', { maxBytes: WRITE_BATCH_BYTES_MAX });
    }
    return this;
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length > ENGINE_KEY_BYTES_MAX) {
    throw errors.invalidArgument('key too large', { bytes: key.length, maxBytes: ENGINE_KEY_BYTES_MAX });
  }
}

/** A decoded batch. */
export interface DecodedBatch {
  baseSequence: number;
  entries: BatchEntry[];
}

/**
 * Decodes an encoded batch. Returns `undefined` when the bytes are malformed; the caller knows the
 * file and offset and reports DATA_LOSS.
 */
export function decodeBatch(data: Uint8Array): DecodedBatch | undefined {
  const buf = asBuffer(data);
  if (buf.length < BATCH_HEADER_BYTES) return undefined;
  const baseSequence = readU64(buf, 0);
  const count = buf.readUInt32LE(8);
  const entries: BatchEntry[] = [];
  let off = BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (off >= buf.length) return undefined;
    const op = buf[off++] as number;
    if (op !== BatchOp.Put && op !== BatchOp.Delete && op !== BatchOp.DeleteRange) return undefined;
    const k = getVarint(buf, off);
    if (!k || k.offset + k.value > buf.length) return undefined;
    const key = buf.subarray(k.offset, k.offset + k.value);
    off = k.offset + k.value;
    let value = buf.subarray(0, 0);
    if (op !== BatchOp.Delete) {
      const v = getVarint(buf, off);
      if (!v || v.offset + v.value > buf.length) return undefined;
      value = buf.subarray(v.offset, v.offset + v.value);
      off = v.offset + v.value;
    }
    entries.push({ op: op as BatchOp, key, value });
  }
  return off === buf.length ? { baseSequence, entries } : undefined;
}

/**
 * Walks an encoded batch entry by entry without allocating: after each `next()` that returns true,
 * the fields locate the entry's key and value (for DeleteRange: the end key) inside `data`. Used to
 * apply a batch straight from its WAL record. Accepts exactly what `decodeBatch` accepts.
 */
export class BatchCursor {
  readonly baseSequence: number;
  readonly count: number;
  op: BatchOp = BatchOp.Put;
  keyOffset = 0;
  keyLength = 0;
  valueOffset = 0;
  valueLength = 0;
  /** Whether the walk stopped at damage (a bad entry or trailing bytes) rather than at the end. */
  malformed = false;
  private offset = BATCH_HEADER_BYTES;
  private index = 0;
  /** Where the last `readLength` stopped. */
  private end = 0;

  private constructor(readonly data: Buffer) {
    this.baseSequence = readU64(data, 0);
    this.count = data.readUInt32LE(8);
  }

  /** A cursor over `data`, or undefined when it is too short for a batch header. */
  static open(data: Uint8Array): BatchCursor | undefined {
    const buf = asBuffer(data);
    return buf.length < BATCH_HEADER_BYTES ? undefined : new BatchCursor(buf);
  }

  /** Moves to the next entry: true if there is one; false at the end or at damage (see `malformed`). */
  next(): boolean {
    const buf = this.data;
    if (this.index === this.count) {
      this.malformed = this.offset !== buf.length;
      return false;
    }
    if (this.offset >= buf.length) return this.fail();
    const op = buf[this.offset] as number;
    if (op !== BatchOp.Put && op !== BatchOp.Delete && op !== BatchOp.DeleteRange) return this.fail();
    const keyLength = this.readLength(this.offset + 1);
    if (keyLength < 0) return this.fail();
    this.keyOffset = this.end;
    this.keyLength = keyLength;
    let off = this.end + keyLength;
    this.valueOffset = off;
    this.valueLength = 0;
    if (op !== BatchOp.Delete) {
      const valueLength = this.readLength(off);
      if (valueLength < 0) return this.fail();
      this.valueOffset = this.end;
      this.valueLength = valueLength;
      off = this.end + valueLength;
    }
    this.op = op as BatchOp;
    this.offset = off;
    this.index++;
    return true;
  }

  /** Reads a varint length at `off` that must fit in the data after it; -1 if it does not. */
  private readLength(off: number): number {
    const buf = this.data;
    const b = off < buf.length ? (buf[off] as number) : 0x80;
    if (b < 0x80 && off + 1 + b <= buf.length) {
      this.end = off + 1;
      return b;
    }
    const v = getVarint(buf, off);
    if (!v || v.offset + v.value > buf.length) return -1;
    this.end = v.offset;
    return v.value;
  }

  private fail(): boolean {
    this.malformed = true;
    return false;
  }
}
