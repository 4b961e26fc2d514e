/**
 * Reading SSTable blocks: `readBlockContents` fetches a block through its handle, verifies the
 * trailer's CRC and uncompresses it; `Block` parses the restart array; `BlockIterator` walks the
 * entries (see block-builder.ts for the entry layout and docs/format/sstable.md for the diagram).
 *
 * Concurrency: a `Block` is immutable once parsed and may be shared (the block cache hands the same
 * Block to many iterators). A `BlockIterator` belongs to one reader at a time.
 *
 * Invariants:
 * - Every offset and length read from disk is bounds-checked before use; any damage throws a
 *   DATA_LOSS TabulaError naming the file path and the block offset. Nothing here returns bytes
 *   from outside the block.
 * - Buffers returned by `key()`/`value()` never change afterwards: keys are copies, values are views
 *   of the immutable block.
 */
import { assert } from '../common/assert.js';
import { asBuffer } from '../common/bytes.js';
import { crc32c, maskCrc } from '../common/crc32c.js';
import { errors } from '../common/errors.js';
import { SSTABLE_BLOCK_BYTES_MAX } from '../common/limits.js';
import { getVarint } from '../common/varint.js';
import { uncompressBlock } from './compression.js';
import { TRAILER_BYTES } from './internal-key.js';
import type { InternalIterator } from './iterator.js';
import { BLOCK_TRAILER_BYTES, type BlockHandle, RESTART_ENTRY_BYTES } from './sstable-format.js';
import type { ReadableFile } from './vfs.js';

const VARINT_CONTINUATION = 0x80;
const ENTRY_HEADER_FAST_BYTES = 3;
const INITIAL_KEY_BYTES = 64;

/**
 * Reads the block at `handle`, checks that it lies before `regionEndOffset`, verifies its CRC and
 * returns its uncompressed contents.
 */
export function readBlockContents(file: ReadableFile, handle: BlockHandle, regionEndOffset: number): Buffer {
  const fail = (reason: string) =>
    errors.dataLoss('sstable block is corrupt', { path: file.path, offset: handle.offset, reason });
  if (
    handle.size > SSTABLE_BLOCK_BYTES_MAX ||
    handle.offset + handle.size + BLOCK_TRAILER_BYTES > regionEndOffset
  ) {
    throw fail('block handle out of bounds');
  }
  const raw = file.readSync(handle.offset, handle.size + BLOCK_TRAILER_BYTES);
  if (raw.length !== handle.size + BLOCK_TRAILER_BYTES) throw fail('file ends inside the block');
  const type = raw[handle.size] as number;
  const stored = raw.readUInt32LE(handle.size + 1);
  if (maskCrc(crc32c(raw.subarray(0, handle.size + 1))) !== stored) throw fail('block checksum mismatch');
  const result = uncompressBlock(raw.subarray(0, handle.size), type, SSTABLE_BLOCK_BYTES_MAX);
  if ('error' in result) throw fail(result.error);
  return result.data;
}

/** Compares the internal key at `buf[start, start + length)` with `target`, in engine order. */
export function compareInternalKeyAt(buf: Buffer, start: number, length: number, target: Buffer): number {
  const userBytes = length - TRAILER_BYTES;
  const targetUserBytes = target.length - TRAILER_BYTES;
  const c = buf.compare(target, 0, targetUserBytes, start, start + userBytes);
  if (c !== 0) return c;
  // Trailers sort descending; compare the high words first so large sequences stay exact.
  const aHigh = buf.readUInt32LE(start + userBytes + 4);
  const bHigh = target.readUInt32LE(targetUserBytes + 4);
  if (aHigh !== bHigh) return aHigh > bHigh ? -1 : 1;
  const aLow = buf.readUInt32LE(start + userBytes);
  const bLow = target.readUInt32LE(targetUserBytes);
  return aLow > bLow ? -1 : aLow < bLow ? 1 : 0;
}

/** A parsed block: contents plus its validated restart array. Immutable. */
export class Block {
  /** Offset where the restart array starts: entries occupy `[0, restartsOffset)`. */
  readonly restartsOffset: number;
  readonly restarts: Uint32Array;

  /**
   * @param data uncompressed contents.
   * @param internalKeys whether keys are internal keys (data and index blocks) — enables seeks.
   */
  constructor(
    readonly data: Buffer,
    readonly path: string,
    readonly offset: number,
    readonly internalKeys: boolean,
  ) {
    if (data.length < RESTART_ENTRY_BYTES) throw this.corrupt('block too short');
    const count = data.readUInt32LE(data.length - RESTART_ENTRY_BYTES);
    const arrayBytes = (count + 1) * RESTART_ENTRY_BYTES;
    if (count === 0 || arrayBytes > data.length) throw this.corrupt('bad restart count');
    this.restartsOffset = data.length - arrayBytes;
    this.restarts = new Uint32Array(count);
    let previous = -1;
    for (let i = 0; i < count; i++) {
      const r = data.readUInt32LE(this.restartsOffset + i * RESTART_ENTRY_BYTES);
      const inRange = r < this.restartsOffset || (r === 0 && this.restartsOffset === 0 && count === 1);
      if (r <= previous || !inRange || (i === 0 && r !== 0)) throw this.corrupt('bad restart offset');
      this.restarts[i] = r;
      previous = r;
    }
  }

  /** Bytes this block holds in memory (what the block cache charges). */
  get chargeBytes(): number {
    return this.data.length + this.restarts.byteLength;
  }

  /** A new iterator over the entries. */
  newIterator(): BlockIterator {
    return new BlockIterator(this);
  }

  /** The DATA_LOSS error for damage found in this block. */
  corrupt(reason: string): Error {
    return errors.dataLoss('sstable block is corrupt', { path: this.path, offset: this.offset, reason });
  }
}

/** Iterates one block; `reset` re-targets it at another block without allocating. */
export class BlockIterator implements InternalIterator {
  private block!: Block;
  private data!: Buffer;
  private limit = 0;
  /** Offset of the current entry; equals `limit` when not valid. */
  private current = 0;
  private nextOffset = 0;
  private restartIndex = 0;
  private keyBuf: Buffer = Buffer.allocUnsafe(INITIAL_KEY_BYTES);
  private keyLength = 0;
  private valueStart = 0;
  private valueLength = 0;
  private cachedKey: Buffer | undefined;

  constructor(block: Block) {
    this.reset(block);
  }

  /** Points the iterator at `block`; it is invalid until positioned. */
  reset(block: Block): void {
    this.block = block;
    this.data = block.data;
    this.limit = block.restartsOffset;
    this.invalidate();
  }

  valid(): boolean {
    return this.current < this.limit;
  }

  seekToFirst(): void {
    this.seekToRestart(0);
    this.parseNext();
  }

  seekToLast(): void {
    this.seekToRestart(this.block.restarts.length - 1);
    while (this.parseNext() && this.nextOffset < this.limit) {}
  }

  seek(target: Uint8Array): void {
    assert(this.block.internalKeys, 'seek needs a block of internal keys');
    if (this.limit === 0) {
      this.invalidate();
      return;
    }
    const t = asBuffer(target);
    let left = 0;
    let right = this.block.restarts.length - 1;
    while (left < right) {
      const mid = (left + right + 1) >>> 1;
      if (this.compareRestartKey(mid, t) < 0) left = mid;
      else right = mid - 1;
    }
    this.seekToRestart(left);
    while (this.parseNext()) {
      if (compareInternalKeyAt(this.keyBuf, 0, this.keyLength, t) >= 0) return;
    }
  }

  seekForPrev(target: Uint8Array): void {
    this.seek(target);
    if (!this.valid()) this.seekToLast();
    else if (compareInternalKeyAt(this.keyBuf, 0, this.keyLength, asBuffer(target)) > 0) this.prev();
  }

  next(): void {
    assert(this.valid(), 'next on an invalid iterator');
    this.parseNext();
  }

  prev(): void {
    assert(this.valid(), 'prev on an invalid iterator');
    const original = this.current;
    while ((this.block.restarts[this.restartIndex] as number) >= original) {
      if (this.restartIndex === 0) {
        this.invalidate();
        return;
      }
      this.restartIndex--;
    }
    this.seekToRestart(this.restartIndex);
    while (this.parseNext() && this.nextOffset < original) {}
  }

  key(): Buffer {
    assert(this.valid(), 'key on an invalid iterator');
    if (this.cachedKey === undefined) {
      const out = Buffer.allocUnsafe(this.keyLength);
      this.keyBuf.copy(out, 0, 0, this.keyLength);
      this.cachedKey = out;
    }
    return this.cachedKey;
  }

  value(): Buffer {
    assert(this.valid(), 'value on an invalid iterator');
    return this.data.subarray(this.valueStart, this.valueStart + this.valueLength);
  }

  /** Compares the current key with `target` without copying it. */
  compareKey(target: Buffer): number {
    return compareInternalKeyAt(this.keyBuf, 0, this.keyLength, target);
  }

  private invalidate(): void {
    this.current = this.limit;
    this.nextOffset = this.limit;
    this.restartIndex = this.block.restarts.length - 1;
    this.cachedKey = undefined;
  }

  private seekToRestart(index: number): void {
    this.restartIndex = index;
    this.nextOffset = this.block.restarts[index] as number;
    this.keyLength = 0;
  }

  private compareRestartKey(index: number, target: Buffer): number {
    const data = this.data;
    let p = this.block.restarts[index] as number;
    const shared = getVarint(data, p, this.limit);
    if (shared === undefined || shared.value !== 0) throw this.block.corrupt('bad restart entry');
    const unshared = getVarint(data, shared.offset, this.limit);
    const valueLength = unshared && getVarint(data, unshared.offset, this.limit);
    if (unshared === undefined || valueLength === undefined) throw this.block.corrupt('bad restart entry');
    p = valueLength.offset;
    if (unshared.value < TRAILER_BYTES || p + unshared.value > this.limit) {
      throw this.block.corrupt('bad restart entry');
    }
    return compareInternalKeyAt(data, p, unshared.value, target);
  }

  /** Decodes the entry at `nextOffset`; false (and invalid) at the end of the block. */
  private parseNext(): boolean {
    const data = this.data;
    const limit = this.limit;
    let p = this.nextOffset;
    this.current = p;
    this.cachedKey = undefined;
    if (p >= limit) {
      this.invalidate();
      return false;
    }
    let shared: number;
    let unshared: number;
    let valueLength: number;
    const a = data[p] as number;
    const b = data[p + 1] as number;
    const c = data[p + 2] as number;
    if (p + ENTRY_HEADER_FAST_BYTES <= limit && (a | b | c) < VARINT_CONTINUATION) {
      shared = a;
      unshared = b;
      valueLength = c;
      p += ENTRY_HEADER_FAST_BYTES;
    } else {
      const s = getVarint(data, p, limit);
      const u = s && getVarint(data, s.offset, limit);
      const v = u && getVarint(data, u.offset, limit);
      if (s === undefined || u === undefined || v === undefined) throw this.block.corrupt('bad entry header');
      shared = s.value;
      unshared = u.value;
      valueLength = v.value;
      p = v.offset;
    }
    const keyLength = shared + unshared;
    if (shared > this.keyLength || p + unshared + valueLength > limit) throw this.block.corrupt('bad entry');
    if (this.block.internalKeys && keyLength < TRAILER_BYTES) throw this.block.corrupt('key too short');
    if (keyLength > this.keyBuf.length) this.growKey(keyLength);
    data.copy(this.keyBuf, shared, p, p + unshared);
    this.keyLength = keyLength;
    this.valueStart = p + unshared;
    this.valueLength = valueLength;
    this.nextOffset = this.valueStart + valueLength;
    const restarts = this.block.restarts;
    while (
      this.restartIndex + 1 < restarts.length &&
      (restarts[this.restartIndex + 1] as number) <= this.current
    ) {
      this.restartIndex++;
    }
    return true;
  }

  private growKey(bytes: number): void {
    const grown = Buffer.allocUnsafe(Math.max(bytes, this.keyBuf.length * 2));
    this.keyBuf.copy(grown, 0, 0, this.keyLength);
    this.keyBuf = grown;
  }
}
