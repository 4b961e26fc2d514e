/**
 * An LRU cache of parsed, uncompressed SSTable blocks, bounded by bytes and keyed by
 * (fileNumber, blockOffset). Shared by every open SSTable of an engine.
 *
 * Concurrency: used from the event loop only; every method is synchronous, so no operation
 * interleaves with another.
 *
 * Invariants:
 * - `usedBytes ≤ capacityBytes` after every call: an insert evicts from the cold end until the new
 *   entry fits, and an entry larger than the whole capacity is not cached at all.
 * - The recency list (head = most recent) and the per-file maps hold exactly the same entries.
 * - Cached values are immutable (parsed blocks), so handing one out to many readers is safe.
 */
import { assert } from '../common/assert.js';
import { BLOCK_CACHE_BYTES_DEFAULT } from '../common/limits.js';
import type { Block } from './block-reader.js';

/** Counters reported by `stats()`. */
export interface BlockCacheStats {
  hits: number;
  misses: number;
  usedBytes: number;
  capacityBytes: number;
}

/** Options of a block cache. */
export interface BlockCacheOptions {
  /** Most bytes the cached entries may be charged in total. */
  capacityBytes: number;
}

interface Node<V> {
  fileNumber: number;
  blockOffset: number;
  value: V;
  chargeBytes: number;
  newer: Node<V> | undefined;
  older: Node<V> | undefined;
}

/** The cache. `V` is what is cached: parsed blocks in the engine. */
export class BlockCache<V = Block> {
  /** fileNumber → blockOffset → node; two levels so lookups allocate no composite key. */
  private readonly files = new Map<number, Map<number, Node<V>>>();
  private newest: Node<V> | undefined;
  private oldest: Node<V> | undefined;
  private used = 0;
  private hits = 0;
  private misses = 0;
  readonly capacityBytes: number;

  constructor(options: Partial<BlockCacheOptions> = {}) {
    this.capacityBytes = options.capacityBytes ?? BLOCK_CACHE_BYTES_DEFAULT;
    assert(Number.isSafeInteger(this.capacityBytes) && this.capacityBytes >= 0, 'bad block cache capacity');
  }

  /** The cached value for (fileNumber, blockOffset), marked most recently used; or undefined. */
  get(fileNumber: number, blockOffset: number): V | undefined {
    const node = this.files.get(fileNumber)?.get(blockOffset);
    if (node === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    if (node !== this.newest) {
      this.unlink(node);
      this.linkNewest(node);
    }
    return node.value;
  }

  /**
   * Caches `value`, charged `chargeBytes`, replacing any entry with the same key; evicts least
   * recently used entries to stay within capacity. Values larger than the capacity are not cached.
   */
  insert(fileNumber: number, blockOffset: number, value: V, chargeBytes: number): void {
    assert(chargeBytes >= 0, 'negative charge');
    this.erase(fileNumber, blockOffset);
    if (chargeBytes > this.capacityBytes) return;
    while (this.used + chargeBytes > this.capacityBytes && this.oldest !== undefined) {
      this.remove(this.oldest);
    }
    const node: Node<V> = { fileNumber, blockOffset, value, chargeBytes, newer: undefined, older: undefined };
    let perFile = this.files.get(fileNumber);
    if (perFile === undefined) {
      perFile = new Map();
      this.files.set(fileNumber, perFile);
    }
    perFile.set(blockOffset, node);
    this.linkNewest(node);
    this.used += chargeBytes;
  }

  /** Drops one entry if present. */
  erase(fileNumber: number, blockOffset: number): void {
    const node = this.files.get(fileNumber)?.get(blockOffset);
    if (node !== undefined) this.remove(node);
  }

  /** Drops every entry of `fileNumber` (the file was deleted). */
  evictFile(fileNumber: number): void {
    const perFile = this.files.get(fileNumber);
    if (perFile === undefined) return;
    for (const node of [...perFile.values()]) this.remove(node);
  }

  /** Current counters. */
  stats(): BlockCacheStats {
    return { hits: this.hits, misses: this.misses, usedBytes: this.used, capacityBytes: this.capacityBytes };
  }

  private remove(node: Node<V>): void {
    this.unlink(node);
    const perFile = this.files.get(node.fileNumber);
    perFile?.delete(node.blockOffset);
    if (perFile?.size === 0) this.files.delete(node.fileNumber);
    this.used -= node.chargeBytes;
  }

  private linkNewest(node: Node<V>): void {
    node.older = this.newest;
    node.newer = undefined;
    if (this.newest !== undefined) this.newest.newer = node;
    this.newest = node;
    if (this.oldest === undefined) this.oldest = node;
  }

  private unlink(node: Node<V>): void {
    if (node.newer !== undefined) node.newer.older = node.older;
    else this.newest = node.older;
    if (node.older !== undefined) node.older.newer = node.newer;
    else this.oldest = node.newer;
    node.newer = undefined;
    node.older = undefined;
  }
}
