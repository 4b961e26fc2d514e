/**
 * The memtable: the in-memory, sorted home of recent writes, before they are flushed to an SSTable.
 * A skiplist over encoded internal keys (see internal-key.ts) plus a list of range tombstones.
 *
 * Concurrency: single-threaded (the event loop). Inserts may happen between the steps of an open
 * iterator; iterators stay correct because nodes are never removed and entries newer than a
 * reader's snapshot are skipped by the reader.
 *
 * Invariants: every internal key is unique (each write has its own sequence number); the list at
 * every level is sorted by `compareInternalKeys`; `approximateBytes` only grows.
 */
import { assert } from '../common/assert.js';
import type { Rand } from '../common/clock.js';
import { compareInternalKeys, encodeInternalKey, type RangeTombstone } from './internal-key.js';
import type { InternalIterator } from './iterator.js';

const MAX_HEIGHT = 12;
/** Per-entry bookkeeping charged on top of key and value bytes (node object, arrays). */
const NODE_OVERHEAD_BYTES = 80;

interface Node {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly next: Array<Node | null>;
}

function newNode(key: Buffer, value: Buffer, height: number): Node {
  return { key, value, next: new Array<Node | null>(height).fill(null) };
}

/** A sorted, append-only map of internal keys to values. */
export class Memtable {
  private readonly head: Node = newNode(Buffer.alloc(0), Buffer.alloc(0), MAX_HEIGHT);
  private height = 1;
  private bytes = 0;
  private count = 0;
  private readonly tombstones: RangeTombstone[] = [];
  private readonly prevScratch: Array<Node> = new Array<Node>(MAX_HEIGHT);
  /** Highest sequence number inserted. */
  lastSequence = 0;

  constructor(private readonly rand: Rand) {}

  /** Inserts a point entry (a Put or a Delete). */
  add(userKey: Uint8Array, sequence: number, kind: number, value: Uint8Array): void {
    const key = encodeInternalKey(userKey, sequence, kind);
    const prev = this.prevScratch;
    let x = this.head;
    for (let level = this.height - 1; level >= 0; level--) {
      let next = x.next[level];
      while (next && compareInternalKeys(next.key, key) < 0) {
        x = next;
        next = x.next[level];
      }
      prev[level] = x;
    }
    const found = x.next[0];
    assert(!found || compareInternalKeys(found.key, key) !== 0, 'duplicate internal key');
    const height = this.randomHeight();
    if (height > this.height) {
      for (let level = this.height; level < height; level++) prev[level] = this.head;
      this.height = height;
    }
    const node = newNode(key, Buffer.from(value), height);
    for (let level = 0; level < height; level++) {
      const p = prev[level] as Node;
      node.next[level] = p.next[level] ?? null;
      p.next[level] = node;
    }
    this.bytes += key.length + value.length + NODE_OVERHEAD_BYTES;
    this.count++;
    if (sequence > this.lastSequence) this.lastSequence = sequence;
  }

  /** Records a range tombstone over [start, end). */
  addRangeTombstone(start: Uint8Array, end: Uint8Array, sequence: number): void {
    this.tombstones.push({ start: Buffer.from(start), end: Buffer.from(end), sequence });
    this.bytes += start.length + end.length + NODE_OVERHEAD_BYTES;
    if (sequence > this.lastSequence) this.lastSequence = sequence;
  }

  /** The range tombstones, in insertion order. */
  get rangeTombstones(): readonly RangeTombstone[] {
    return this.tombstones;
  }

  /** Memory charged to this memtable. */
  get approximateBytes(): number {
    return this.bytes;
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

  /** The first node with key >= target (or null). */
  findGreaterOrEqual(target: Uint8Array): Node | null {
    let x = this.head;
    for (let level = this.height - 1; level >= 0; level--) {
      let next = x.next[level];
      while (next && compareInternalKeys(next.key, target) < 0) {
        x = next;
        next = x.next[level];
      }
    }
    return x.next[0] ?? null;
  }

  /** The last node with key < target (`undefined` target: the last node), or null. */
  findLessThan(target: Uint8Array | undefined): Node | null {
    let x = this.head;
    for (let level = this.height - 1; level >= 0; level--) {
      let next = x.next[level];
      while (next && (target === undefined || compareInternalKeys(next.key, target) < 0)) {
        x = next;
        next = x.next[level];
      }
    }
    return x === this.head ? null : x;
  }

  firstNode(): Node | null {
    return this.head.next[0] ?? null;
  }

  private randomHeight(): number {
    let h = 1;
    while (h < MAX_HEIGHT && this.rand.int(4) === 0) h++;
    return h;
  }
}

class MemtableIterator implements InternalIterator {
  private node: Node | null = null;
  constructor(private readonly table: Memtable) {}

  valid(): boolean {
    return this.node !== null;
  }
  seekToFirst(): void {
    this.node = this.table.firstNode();
  }
  seekToLast(): void {
    this.node = this.table.findLessThan(undefined);
  }
  seek(target: Uint8Array): void {
    this.node = this.table.findGreaterOrEqual(target);
  }
  seekForPrev(target: Uint8Array): void {
    const n = this.table.findGreaterOrEqual(target);
    if (n && compareInternalKeys(n.key, target) === 0) this.node = n;
    else this.node = this.table.findLessThan(target);
  }
  next(): void {
    assert(this.node, 'next on invalid iterator');
    this.node = this.node.next[0] ?? null;
  }
  prev(): void {
    assert(this.node, 'prev on invalid iterator');
    this.node = this.table.findLessThan(this.node.key);
  }
  key(): Buffer {
    assert(this.node, 'key on invalid iterator');
    return this.node.key;
  }
  value(): Buffer {
    assert(this.node, 'value on invalid iterator');
    return this.node.value;
  }
}
