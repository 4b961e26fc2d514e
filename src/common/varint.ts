/**
 * Unsigned LEB128 varints for integers up to 2^53 - 1 (JS safe integers), used by every on-disk
 * format. Decoding is bounds-checked: a truncated or over-long varint returns `undefined`, and the
 * format reader turns that into DATA_LOSS with the file and offset.
 */

/** Largest number of bytes a varint of a safe integer takes. */
export const VARINT_MAX_BYTES = 8;

/** Bytes needed to encode `value`. */
export function varintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

/** Writes `value` at `offset`; returns the offset after it. */
export function putVarint(buf: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    buf[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[offset++] = value;
  return offset;
}

/** Result of a decode: the value and the offset after it. */
export interface Decoded {
  value: number;
  offset: number;
}

/** Reads a varint at `offset`, or `undefined` if it is truncated or longer than allowed. */
export function getVarint(buf: Uint8Array, offset: number, end = buf.length): Decoded | undefined {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < VARINT_MAX_BYTES; i++) {
    if (offset >= end) return undefined;
    const b = buf[offset++] as number;
    result += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return { value: result, offset };
    scale *= 128;
  }
  return undefined;
}

/** A growable byte buffer for building encoded records without per-field allocations. */
export class ByteWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.len;
  }

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  varint(value: number): this {
    this.ensure(VARINT_MAX_BYTES);
    this.len = putVarint(this.buf, this.len, value);
    return this;
  }

  u8(value: number): this {
    this.ensure(1);
    this.buf[this.len++] = value;
    return this;
  }

  u32(value: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(value >>> 0, this.len);
    this.len += 4;
    return this;
  }

  u64(value: number): this {
    this.ensure(8);
    this.buf.writeUInt32LE(value % 0x1_0000_0000, this.len);
    this.buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), this.len + 4);
    this.len += 8;
    return this;
  }

  bytes(data: Uint8Array): this {
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  /** Length-prefixed bytes. */
  lengthPrefixed(data: Uint8Array): this {
    return this.varint(data.length).bytes(data);
  }

  /** The bytes written so far, as a view (valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  /** A copy of the bytes written so far. */
  finish(): Buffer {
    return Buffer.from(this.view());
  }

  reset(): void {
    this.len = 0;
  }
}

/** Reads a little-endian u64 that must be a safe integer. */
export function readU64(buf: Uint8Array, offset: number): number {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return b.readUInt32LE(offset) + b.readUInt32LE(offset + 4) * 0x1_0000_0000;
}
