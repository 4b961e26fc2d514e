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
