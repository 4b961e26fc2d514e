/**
 * Builds the contents of one SSTable block: entries with key prefix compression, then the restart
 * array (see docs/format/sstable.md, "Block contents").
 *
 *   entry    := varint shared ‖ varint unshared ‖ varint valueLength ‖ key[shared:] ‖ value
 *   trailer  := restartOffset u32 × restartCount ‖ restartCount u32
 *
 * Every `restartInterval` entries the key is stored whole (shared = 0) and its offset is recorded
 * as a restart point, so a reader can binary-search restart keys and decode from there.
 *
 * Concurrency: owned by one writer; not shared.
 *
 * Invariants:
 * - Keys are added in the order the reader will use to search them (the SSTable writer asserts
 *   engine order for data and index blocks; the metaindex is written in bytewise order).
 * - There is always at least one restart point (offset 0), even in an empty block.
 */
import { assert } from '../common/assert.js';
import { sharedPrefixLength } from '../common/bytes.js';
import { ByteWriter, varintLength } from '../common/varint.js';
import { RESTART_ENTRY_BYTES } from './sstable-format.js';

const INITIAL_BUFFER_BYTES = 4096;
const INITIAL_KEY_BYTES = 64;
/** Varints in an entry header: shared, unshared, value length. */
const ENTRY_HEADER_VARINTS = 3;

/** Accumulates entries of one block. Reusable after `reset()`. */
export class BlockBuilder {
  private readonly out = new ByteWriter(INITIAL_BUFFER_BYTES);
  private restarts: number[] = [0];
  private sinceRestart = 0;
  private lastKey: Buffer = Buffer.allocUnsafe(INITIAL_KEY_BYTES);
  private lastKeyLength = 0;
  private entries = 0;
  private finished = false;

  /** @param restartInterval keys between restart points (≥ 1). */
  constructor(private readonly restartInterval: number) {
    assert(Number.isInteger(restartInterval) && restartInterval >= 1, 'restart interval must be ≥ 1');
  }

  /** Number of entries added since the last reset. */
  get entryCount(): number {
    return this.entries;
  }

  /** Whether no entry was added since the last reset. */
  get isEmpty(): boolean {
    return this.entries === 0;
  }

  /** Size the block would have if finished now, in bytes. */
  estimatedBytes(): number {
    return this.out.length + (this.restarts.length + 1) * RESTART_ENTRY_BYTES;
  }

  /** Size the block would have after adding an entry of these sizes (an upper bound). */
  estimatedBytesAfter(keyBytes: number, valueBytes: number): number {
    const entryBytes = ENTRY_HEADER_VARINTS * varintLength(keyBytes + valueBytes) + keyBytes + valueBytes;
    return this.estimatedBytes() + entryBytes + RESTART_ENTRY_BYTES;
  }

  /** Appends an entry. `key` and `value` are copied. */
  add(key: Uint8Array, value: Uint8Array): void {
    assert(!this.finished, 'block builder used after finish without reset');
    let shared = 0;
    if (this.sinceRestart < this.restartInterval) {
      shared = sharedPrefixLength(this.lastKey.subarray(0, this.lastKeyLength), key);
    } else {
      this.restarts.push(this.out.length);
      this.sinceRestart = 0;
    }
    this.out
      .varint(shared)
      .varint(key.length - shared)
      .varint(value.length)
      .bytes(key.subarray(shared))
      .bytes(value);
    this.rememberKey(key, shared);
    this.sinceRestart++;
    this.entries++;
  }

  /**
   * Appends the restart array and returns the finished contents: a view valid until `reset()`.
   */
  finish(): Buffer {
    assert(!this.finished, 'block finished twice');
    for (const r of this.restarts) this.out.u32(r);
    this.out.u32(this.restarts.length);
    this.finished = true;
    return this.out.view();
  }

  /** Empties the builder for the next block. */
  reset(): void {
    this.out.reset();
    this.restarts = [0];
    this.sinceRestart = 0;
    this.lastKeyLength = 0;
    this.entries = 0;
    this.finished = false;
  }

  private rememberKey(key: Uint8Array, shared: number): void {
    if (key.length > this.lastKey.length) {
      const grown = Buffer.allocUnsafe(Math.max(key.length, this.lastKey.length * 2));
      this.lastKey.copy(grown, 0, 0, shared);
      this.lastKey = grown;
    }
    this.lastKey.set(key.subarray(shared), shared);
    this.lastKeyLength = key.length;
  }
}
