/**
 * The memtable: the in-memory, sorted home of recent writes, before they are flushed to an SSTable.
 * A skiplist over internal keys (see internal-key.ts) plus a list of range tombstones.
 *
 * Layout: every node lives in an arena of large byte chunks, as in LevelDB, rather than as a
 * JavaScript object holding two Buffers and an array. A node is one 4-byte-aligned record:
 *
 *   height u32 | internal key length u32 | value length u32 | next ref i32 × height
 *   | internal key (user key ‖ trailer) | value | padding to 4 bytes
 *
 * A ref names a node as `(chunk index << CHUNK_WORD_BITS) | word offset in the chunk`; ref 0 is the
 * head node, which no link points at, so 0 also means "no node". Why: per-entry JavaScript objects
 * cost several hundred bytes of heap each, scatter a search over many cache lines and give the
 * garbage collector millions of objects to trace; a node here costs its bytes plus about 17, a
 * search step touches one node, and the collector sees a few hundred chunks. `approximateBytes`
 * charges what the arena really holds, so the memtable freezes at its configured size.
 *
 * A blocked Bloom filter over user keys (one 64-byte block per key, FILTER_PROBES bits) lets a
 * point read skip a memtable that cannot hold its key: a read of a key that lives in an older
 * memtable or an SSTable then costs one cache line here instead of a full skiplist search. It
 * starts at 4 KiB and doubles (re-adding every key) as the memtable fills, then jumps to its
 * configured size while a rebuild is still cheap, so an idle store's empty memtable does not hold
 * a filter sized for a full one.
 *
 * Concurrency: single-threaded (the event loop). Inserts may happen between the steps of an open
 * iterator; iterators stay correct because nodes are never removed or moved and entries newer than
 * a reader's snapshot are skipped by the reader.
 *
 * Invariants: every internal key is unique (each write has its own sequence number); the list at
 * every level is sorted by `compareInternalKeys`; node bytes never change once linked;
 * `approximateBytes` only grows and is at most the arena's size (the unused tail of the chunk being
 * filled, under CHUNK_BYTES_MAX, is not charged).
 */
import { assert } from '../common/assert.js';
import { asBuffer } from '../common/bytes.js';
import type { Rand } from '../common/clock.js';
import { MEMTABLE_FILTER_REHASH_KEYS_MAX } from '../common/limits.js';
import { type RangeTombstone, SEQUENCE_MAX, TRAILER_BYTES } from './internal-key.js';
import type { InternalIterator } from './iterator.js';

const MAX_HEIGHT = 12;
const WORD_BYTES = 4;
/** Node header: height, internal key length, value length. */
const HEADER_WORDS = 3;
/** A chunk holds at most 2^CHUNK_WORD_BITS words addressable by a ref (1 MiB). */
const CHUNK_WORD_BITS = 18;
const CHUNK_WORD_MASK = (1 << CHUNK_WORD_BITS) - 1;
/** Largest regular chunk; a node larger than this (a big value) gets a chunk of its own. */
const CHUNK_BYTES_MAX = (1 << CHUNK_WORD_BITS) * WORD_BYTES;
/** First chunk size; chunks double up to CHUNK_BYTES_MAX, so small memtables stay small. */
const CHUNK_BYTES_MIN = 16 * 1024;
/** Refs are positive int32s: at most 2^(31 - CHUNK_WORD_BITS) chunks (8 GiB of regular chunks). */
const CHUNKS_MAX = 2 ** (31 - CHUNK_WORD_BITS);
/** The head node's ref; doubles as "no node". */
const HEAD = 0;
/** Charge for a range tombstone on top of its bytes (an object and two Buffers on the heap). */
const TOMBSTONE_OVERHEAD_BYTES = 200;
/** Below this many bytes, a JavaScript loop copies or compares faster than a call into native code. */
const INLINE_BYTES_MAX = 48;
/** Trailer split used by internal keys: the low word holds 24 bits of sequence and the kind. */
const SEQUENCE_LOW_SPAN = 0x100_0000;
/** Kind in seek targets: sorts before every real entry with the same sequence. */
const KIND_FOR_SEEK = 0xff;
/** Filter geometry: 512-bit blocks (one cache line), FILTER_PROBES bits set per key. */
const FILTER_BLOCK_WORDS = 16;
const FILTER_BLOCK_BYTES = FILTER_BLOCK_WORDS * WORD_BYTES;
const FILTER_PROBES = 4;
/** Blocks of a new memtable's filter (4 KiB); it doubles as the memtable fills, up to its size. */
const FILTER_BLOCKS_INITIAL = 64;
/**
 * Filter bytes per memtable byte: 1/64 gives about 17 bits per key for 100-byte values (a false
 * positive rate well under 1 %) for 1.6 % more memory, which is charged to the memtable.
 */
export const MEMTABLE_FILTER_BYTES_PER_BYTE = 1 / 64;
/** Memtable bytes one filter block serves at that ratio: past it, the filter doubles. */
const MEMTABLE_BYTES_PER_FILTER_BLOCK = FILTER_BLOCK_BYTES / MEMTABLE_FILTER_BYTES_PER_BYTE;

/** A sorted, append-only map of internal keys to values. */
export class Memtable {
  /** Per chunk: an Int32Array and a Buffer over the same memory. */
  private readonly words: Int32Array[] = [];
  private readonly bytes: Buffer[] = [];
  /** Index of the chunk new nodes are carved from, and its first free byte. */
  private current = -1;
  private currentUsedBytes = 0;
  private nextChunkBytes = CHUNK_BYTES_MIN;
  private height = 1;
  private charged = 0;
  private count = 0;
  private readonly tombstones: RangeTombstone[] = [];
  private readonly prevScratch = new Int32Array(MAX_HEIGHT);
  /** Bloom filter bits over user keys, FILTER_BLOCK_WORDS words per block; empty when disabled. */
  private filter: Int32Array;
  private filterBlocks: number;
  /** The configured filter size in blocks: the filter grows to it as the memtable fills. */
  private readonly filterBlocksMax: number;
  /** Highest sequence number inserted. */
  lastSequence = 0;

  /**
   * @param filterBytes size of the user-key Bloom filter (rounded up to whole 64-byte blocks);
   *   0 disables it. Callers size it as MEMTABLE_FILTER_BYTES_PER_BYTE of the memtable's budget.
   */
  constructor(
    private readonly rand: Rand,
    filterBytes = 0,
  ) {
    this.filterBlocksMax = Math.ceil(filterBytes / FILTER_BLOCK_BYTES);
    this.filterBlocks = Math.min(this.filterBlocksMax, FILTER_BLOCKS_INITIAL);
    this.filter = new Int32Array(this.filterBlocks * FILTER_BLOCK_WORDS);
    this.charged += this.filter.byteLength;
    const head = this.allocate((HEADER_WORDS + MAX_HEIGHT) * WORD_BYTES);
    assert(head === HEAD, 'head node is not at ref 0');
    const w = this.words[0] as Int32Array;
    w[0] = MAX_HEIGHT;
    w[1] = 0;
    w[2] = 0;
    for (let l = 0; l < MAX_HEIGHT; l++) w[HEADER_WORDS + l] = HEAD;
  }

  /** Inserts a point entry (a Put or a Delete). */
  add(userKey: Uint8Array, sequence: number, kind: number, value: Uint8Array): void {
    const key = asBuffer(userKey);
    const val = asBuffer(value);
    this.addFrom(key, 0, key.length, sequence, kind, val, 0, val.length);
  }

  /**
   * Inserts a point entry whose user key is `keySource[keyOffset, +keyLength)` and whose value is
   * `valueSource[valueOffset, +valueLength)`; both are copied. Lets a batch be applied straight from
   * its encoded record without a Buffer per key and value.
   */
  addFrom(
    keySource: Buffer,
    keyOffset: number,
    keyLength: number,
    sequence: number,
    kind: number,
    valueSource: Buffer,
    valueOffset: number,
    valueLength: number,
  ): void {
    assert(sequence >= 0 && sequence <= SEQUENCE_MAX, 'sequence out of range');
    if (
      this.filterBlocks < this.filterBlocksMax &&
      this.charged > this.filterBlocks * MEMTABLE_BYTES_PER_FILTER_BLOCK
    )
      this.growFilter();
    const height = this.randomHeight();
    const ikeyLength = keyLength + TRAILER_BYTES;
    const nodeBytes = align((HEADER_WORDS + height) * WORD_BYTES + ikeyLength + valueLength);
    const ref = this.allocate(nodeBytes);
    const words = this.words[ref >>> CHUNK_WORD_BITS] as Int32Array;
    const bytes = this.bytes[ref >>> CHUNK_WORD_BITS] as Buffer;
    const w = ref & CHUNK_WORD_MASK;
    words[w] = height;
    words[w + 1] = ikeyLength;
    words[w + 2] = valueLength;
    const keyStart = (w + HEADER_WORDS + height) * WORD_BYTES;
    copyBytes(keySource, keyOffset, bytes, keyStart, keyLength);
    const low = (sequence % SEQUENCE_LOW_SPAN) * 256 + kind;
    const high = Math.floor(sequence / SEQUENCE_LOW_SPAN);
    writeU32(bytes, keyStart + keyLength, low);
    writeU32(bytes, keyStart + keyLength + 4, high);
    copyBytes(valueSource, valueOffset, bytes, keyStart + ikeyLength, valueLength);
    if (this.filterBlocks > 0) this.filterAdd(hashBytes(bytes, keyStart, keyLength));

    const prev = this.prevScratch;
    let x = HEAD;
    for (let level = this.height - 1; level >= 0; level--) {
      let next = this.link(x, level);
      while (next !== HEAD && this.compareNode(next, bytes, keyStart, keyLength, high, low) < 0) {
        x = next;
        next = this.link(x, level);
      }
      prev[level] = x;
    }
    const found = this.link(x, 0);
    assert(
      found === HEAD || this.compareNode(found, bytes, keyStart, keyLength, high, low) !== 0,
      'duplicate internal key',
    );
    if (height > this.height) {
      for (let level = this.height; level < height; level++) prev[level] = HEAD;
      this.height = height;
    }
    for (let level = 0; level < height; level++) {
      const p = prev[level] as number;
      words[w + HEADER_WORDS + level] = this.link(p, level);
      this.setLink(p, level, ref);
    }
    this.charged += nodeBytes;
    this.count++;
    if (sequence > this.lastSequence) this.lastSequence = sequence;
  }

  /** Records a range tombstone over [start, end). */
  addRangeTombstone(start: Uint8Array, end: Uint8Array, sequence: number): void {
    this.tombstones.push({ start: Buffer.from(start), end: Buffer.from(end), sequence });
    this.charged += start.length + end.length + TOMBSTONE_OVERHEAD_BYTES;
    if (sequence > this.lastSequence) this.lastSequence = sequence;
  }

  /** The range tombstones, in insertion order. */
  get rangeTombstones(): readonly RangeTombstone[] {
    return this.tombstones;
  }

  /** Memory charged to this memtable: the arena bytes its nodes fill, plus range tombstones. */
  get approximateBytes(): number {
    return this.charged;
  }

  /** Number of point entries. */
  get entryCount(): number {
    return this.count;
  }

  /** Whether nothing was ever written to it. */
  get isEmpty(): boolean {
    return this.count === 0 && this.tombstones.length === 0;
  }

  /** An iterator over the point entries. */
  newIterator(): InternalIterator {
    return new MemtableIterator(this);
  }

  /**
   * The node of the newest entry of exactly `userKey` with sequence ≤ `sequence`, or 0 when there
   * is none. Read it with `kindAt`, `sequenceAt` and `valueAt`. Allocates nothing.
   */
  find(userKey: Uint8Array, sequence: number): number {
    if (this.filterBlocks > 0 && !this.filterMayContain(hashBytes(userKey, 0, userKey.length))) return HEAD;
    const low = (sequence % SEQUENCE_LOW_SPAN) * 256 + KIND_FOR_SEEK;
    const high = Math.floor(sequence / SEQUENCE_LOW_SPAN);
    const ref = this.findGreaterOrEqual(userKey, 0, userKey.length, high, low);
    return ref !== HEAD && this.userKeyEquals(ref, userKey) ? ref : HEAD;
  }

  /** The kind of node `ref`. */
  kindAt(ref: number): number {
    return (this.bytes[ref >>> CHUNK_WORD_BITS] as Buffer)[this.trailerStart(ref)] as number;
  }

  /** The sequence number of node `ref`. */
  sequenceAt(ref: number): number {
    const bytes = this.bytes[ref >>> CHUNK_WORD_BITS] as Buffer;
    const p = this.trailerStart(ref);
    return Math.floor(readU32(bytes, p) / 256) + readU32(bytes, p + 4) * SEQUENCE_LOW_SPAN;
  }

  /** The encoded internal key of node `ref` (a view of the arena, never changed). */
  keyAt(ref: number): Buffer {
    const words = this.words[ref >>> CHUNK_WORD_BITS] as Int32Array;
    const w = ref & CHUNK_WORD_MASK;
    const start = (w + HEADER_WORDS + (words[w] as number)) * WORD_BYTES;
    return (this.bytes[ref >>> CHUNK_WORD_BITS] as Buffer).subarray(start, start + (words[w + 1] as number));
  }

  /** The value of node `ref` (a view of the arena, never changed). */
  valueAt(ref: number): Buffer {
    const words = this.words[ref >>> CHUNK_WORD_BITS] as Int32Array;
    const w = ref & CHUNK_WORD_MASK;
    const start = (w + HEADER_WORDS + (words[w] as number)) * WORD_BYTES + (words[w + 1] as number);
    return (this.bytes[ref >>> CHUNK_WORD_BITS] as Buffer).subarray(start, start + (words[w + 2] as number));
  }

  /** The node after `ref` in key order, or 0. */
  nextOf(ref: number): number {
    return this.link(ref, 0);
  }

  /** The first node, or 0. */
  firstNode(): number {
    return this.link(HEAD, 0);
  }

  /** The first node with key ≥ the encoded internal key `target`, or 0. */
  seekNode(target: Uint8Array): number {
    const t = asBuffer(target);
    const userLength = t.length - TRAILER_BYTES;
    return this.findGreaterOrEqual(t, 0, userLength, readU32(t, userLength + 4), readU32(t, userLength));
  }

  /** The last node with key < the encoded internal key `target` (the last node if undefined), or 0. */
  lastNodeBefore(target: Uint8Array | undefined): number {
    if (target === undefined) return this.findLast();
    const t = asBuffer(target);
    const userLength = t.length - TRAILER_BYTES;
    return this.findLessThan(t, 0, userLength, readU32(t, userLength + 4), readU32(t, userLength));
  }

  /** The node before `ref` in key order, or 0. */
  prevOf(ref: number): number {
    const bytes = this.bytes[ref >>> CHUNK_WORD_BITS] as Buffer;
    const p = this.trailerStart(ref);
    const start = this.keyStart(ref);
    return this.findLessThan(bytes, start, p - start, readU32(bytes, p + 4), readU32(bytes, p));
  }

  /** Compares node `ref`'s key with the encoded internal key `target`, in engine order. */
  compareNodeWith(ref: number, target: Uint8Array): number {
    const t = asBuffer(target);
    const userLength = t.length - TRAILER_BYTES;
    return this.compareNode(ref, t, 0, userLength, readU32(t, userLength + 4), readU32(t, userLength));
  }

  // ---- filter ----------------------------------------------------------------------------------------

  /**
   * Doubles the filter and adds every key again, so an empty or small memtable holds a small
   * filter. Once the memtable holds more than MEMTABLE_FILTER_REHASH_KEYS_MAX keys the filter goes straight
   * to its configured size instead: a rebuild runs on the event loop, and re-adding the keys of a
   * big memtable at once would stall it (tens of milliseconds for 200,000 keys).
   */
  private growFilter(): void {
    const blocks =
      this.count > MEMTABLE_FILTER_REHASH_KEYS_MAX
        ? this.filterBlocksMax
        : Math.min(this.filterBlocksMax, this.filterBlocks * 2);
    this.charged += (blocks - this.filterBlocks) * FILTER_BLOCK_BYTES;
    this.filterBlocks = blocks;
    this.filter = new Int32Array(blocks * FILTER_BLOCK_WORDS);
    for (let ref = this.link(HEAD, 0); ref !== HEAD; ref = this.link(ref, 0)) {
      const words = this.words[ref >>> CHUNK_WORD_BITS] as Int32Array;
      const w = ref & CHUNK_WORD_MASK;
      const keyStart = (w + HEADER_WORDS + (words[w] as number)) * WORD_BYTES;
      const keyLength = (words[w + 1] as number) - TRAILER_BYTES;
      this.filterAdd(hashBytes(this.bytes[ref >>> CHUNK_WORD_BITS] as Buffer, keyStart, keyLength));
    }
  }

  private filterAdd(hash: number): void {
    const base = this.filterBlock(hash);
    let h = Math.imul(hash, 0x9e3779b1);
    for (let i = 0; i < FILTER_PROBES; i++) {
      const bit = (h >>> 23) & 511;
      const word = base + (bit >>> 5);
      this.filter[word] = (this.filter[word] as number) | (1 << (bit & 31));
      h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    }
  }

  private filterMayContain(hash: number): boolean {
    const base = this.filterBlock(hash);
    let h = Math.imul(hash, 0x9e3779b1);
    for (let i = 0; i < FILTER_PROBES; i++) {
      const bit = (h >>> 23) & 511;
      if (((this.filter[base + (bit >>> 5)] as number) & (1 << (bit & 31))) === 0) return false;
      h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    }
    return true;
  }

  /** First word of the block `hash` selects (a multiply-shift range reduction). */
  private filterBlock(hash: number): number {
    return Math.floor(((hash >>> 0) * this.filterBlocks) / 0x1_0000_0000) * FILTER_BLOCK_WORDS;
  }

  // ---- skiplist internals ---------------------------------------------------------------------------

  private findGreaterOrEqual(
    t: Uint8Array,
    tOffset: number,
    tLength: number,
    tHigh: number,
    tLow: number,
  ): number {
    let x = HEAD;
    let next = HEAD;
    for (let level = this.height - 1; level >= 0; level--) {
      next = this.link(x, level);
      while (next !== HEAD && this.compareNode(next, t, tOffset, tLength, tHigh, tLow) < 0) {
        x = next;
        next = this.link(x, level);
      }
    }
    return next;
  }

  private findLessThan(t: Uint8Array, tOffset: number, tLength: number, tHigh: number, tLow: number): number {
    let x = HEAD;
    for (let level = this.height - 1; level >= 0; level--) {
      let next = this.link(x, level);
      while (next !== HEAD && this.compareNode(next, t, tOffset, tLength, tHigh, tLow) < 0) {
        x = next;
        next = this.link(x, level);
      }
    }
    return x;
  }

  private findLast(): number {
    let x = HEAD;
    for (let level = this.height - 1; level >= 0; level--) {
      let next = this.link(x, level);
      while (next !== HEAD) {
        x = next;
        next = this.link(x, level);
      }
    }
    return x;
  }

  /**
   * Compares node `ref`'s internal key with the internal key whose user key is
   * `t[tOffset, +tLength)` and whose trailer words are `tHigh`/`tLow`: negative if the node sorts
   * first. User keys ascending, then trailers descending (see internal-key.ts).
   */
  private compareNode(
    ref: number,
    t: Uint8Array,
    tOffset: number,
    tLength: number,
    tHigh: number,
    tLow: number,
  ): number {
    const words = this.words[ref >>> CHUNK_WORD_BITS] as Int32Array;
    const bytes = this.bytes[ref >>> CHUNK_WORD_BITS] as Buffer;
    const w = ref & CHUNK_WORD_MASK;
    const start = (w + HEADER_WORDS + (words[w] as number)) * WORD_BYTES;
    const userLength = (words[w + 1] as number) - TRAILER_BYTES;
    const n = userLength < tLength ? userLength : tLength;
    if (n <= INLINE_BYTES_MAX) {
      for (let i = 0; i < n; i++) {
        const d = (bytes[start + i] as number) - (t[tOffset + i] as number);
        if (d !== 0) return d;
      }
      if (userLength !== tLength) return userLength - tLength;
    } else {
      const c = bytes.compare(t, tOffset, tOffset + tLength, start, start + userLength);
      if (c !== 0) return c;
    }
    const p = start + userLength;
    const high = readU32(bytes, p + 4);
    if (high !== tHigh) return high > tHigh ? -1 : 1;
    const low = readU32(bytes, p);
    return low > tLow ? -1 : low < tLow ? 1 : 0;
  }

  private userKeyEquals(ref: number, userKey: Uint8Array): boolean {
    const words = this.words[ref >>> CHUNK_WORD_BITS] as Int32Array;
    const w = ref & CHUNK_WORD_MASK;
    if ((words[w + 1] as number) - TRAILER_BYTES !== userKey.length) return false;
    const bytes = this.bytes[ref >>> CHUNK_WORD_BITS] as Buffer;
    const start = (w + HEADER_WORDS + (words[w] as number)) * WORD_BYTES;
    for (let i = 0; i < userKey.length; i++) if (bytes[start + i] !== userKey[i]) return false;
    return true;
  }

  private keyStart(ref: number): number {
    const words = this.words[ref >>> CHUNK_WORD_BITS] as Int32Array;
    const w = ref & CHUNK_WORD_MASK;
    return (w + HEADER_WORDS + (words[w] as number)) * WORD_BYTES;
  }

  private trailerStart(ref: number): number {
    const words = this.words[ref >>> CHUNK_WORD_BITS] as Int32Array;
    const w = ref & CHUNK_WORD_MASK;
    return (w + HEADER_WORDS + (words[w] as number)) * WORD_BYTES + (words[w + 1] as number) - TRAILER_BYTES;
  }

  private link(ref: number, level: number): number {
    return (this.words[ref >>> CHUNK_WORD_BITS] as Int32Array)[
      (ref & CHUNK_WORD_MASK) + HEADER_WORDS + level
    ] as number;
  }

  private setLink(ref: number, level: number, to: number): void {
    (this.words[ref >>> CHUNK_WORD_BITS] as Int32Array)[(ref & CHUNK_WORD_MASK) + HEADER_WORDS + level] = to;
  }

  /** Carves `nodeBytes` (a multiple of 4) from the arena; returns the node's ref. */
  private allocate(nodeBytes: number): number {
    if (nodeBytes > CHUNK_BYTES_MAX) return this.addChunk(nodeBytes) << CHUNK_WORD_BITS;
    if (this.current < 0 || this.currentUsedBytes + nodeBytes > (this.bytes[this.current] as Buffer).length) {
      // The abandoned tail of the previous chunk is memory the memtable holds: charge it.
      if (this.current >= 0)
        this.charged += (this.bytes[this.current] as Buffer).length - this.currentUsedBytes;
      const size = Math.max(this.nextChunkBytes, nodeBytes);
      this.nextChunkBytes = Math.min(this.nextChunkBytes * 2, CHUNK_BYTES_MAX);
      this.current = this.addChunk(size);
      this.currentUsedBytes = 0;
    }
    const ref = (this.current << CHUNK_WORD_BITS) | (this.currentUsedBytes / WORD_BYTES);
    this.currentUsedBytes += nodeBytes;
    return ref;
  }

  private addChunk(size: number): number {
    const index = this.words.length;
    assert(index < CHUNKS_MAX, 'memtable arena is full');
    const memory = new ArrayBuffer(size);
    this.words.push(new Int32Array(memory, 0, size / WORD_BYTES));
    this.bytes.push(Buffer.from(memory));
    return index;
  }

  private randomHeight(): number {
    let h = 1;
    while (h < MAX_HEIGHT && this.rand.int(4) === 0) h++;
    return h;
  }
}

/** A 32-bit hash of `buf[offset, +length)`: FNV-1a with a murmur3 finalizer. Not persisted. */
function hashBytes(buf: Uint8Array, offset: number, length: number): number {
  let h = 0x811c9dc5 ^ length;
  for (let i = 0; i < length; i++) h = Math.imul(h ^ (buf[offset + i] as number), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function align(bytes: number): number {
  return (bytes + WORD_BYTES - 1) & ~(WORD_BYTES - 1);
}

function copyBytes(src: Buffer, srcOffset: number, dst: Buffer, dstOffset: number, length: number): void {
  if (length <= INLINE_BYTES_MAX) {
    for (let i = 0; i < length; i++) dst[dstOffset + i] = src[srcOffset + i] as number;
  } else {
    src.copy(dst, dstOffset, srcOffset, srcOffset + length);
  }
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

function writeU32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value & 0xff;
  buf[offset + 1] = (value >>> 8) & 0xff;
  buf[offset + 2] = (value >>> 16) & 0xff;
  buf[offset + 3] = (value >>> 24) & 0xff;
}

/** Walks the nodes; `key()`/`value()` are views of the arena, made once per position. */
class MemtableIterator implements InternalIterator {
  private node = HEAD;
  private keyView: Buffer | undefined;
  private valueView: Buffer | undefined;
  constructor(private readonly table: Memtable) {}

  valid(): boolean {
    return this.node !== HEAD;
  }
  seekToFirst(): void {
    this.moveTo(this.table.firstNode());
  }
  seekToLast(): void {
    this.moveTo(this.table.lastNodeBefore(undefined));
  }
  seek(target: Uint8Array): void {
    this.moveTo(this.table.seekNode(target));
  }
  seekForPrev(target: Uint8Array): void {
    const n = this.table.seekNode(target);
    if (n !== HEAD && this.table.compareNodeWith(n, target) === 0) this.moveTo(n);
    else this.moveTo(this.table.lastNodeBefore(target));
  }
  next(): void {
    assert(this.node !== HEAD, 'next on invalid iterator');
    this.moveTo(this.table.nextOf(this.node));
  }
  prev(): void {
    assert(this.node !== HEAD, 'prev on invalid iterator');
    this.moveTo(this.table.prevOf(this.node));
  }
  key(): Buffer {
    assert(this.node !== HEAD, 'key on invalid iterator');
    if (this.keyView === undefined) this.keyView = this.table.keyAt(this.node);
    return this.keyView;
  }
  value(): Buffer {
    assert(this.node !== HEAD, 'value on invalid iterator');
    if (this.valueView === undefined) this.valueView = this.table.valueAt(this.node);
    return this.valueView;
  }

  private moveTo(node: number): void {
    this.node = node;
    this.keyView = undefined;
    this.valueView = undefined;
  }
}

/** Filter size for a memtable frozen at `memtableBytes`. */
export function memtableFilterBytes(memtableBytes: number): number {
  return Math.ceil(memtableBytes * MEMTABLE_FILTER_BYTES_PER_BYTE);
}
