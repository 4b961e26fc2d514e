/**
 * Writes one SSTable (layout: docs/format/sstable.md, constants: sstable-format.ts): data blocks as
 * they fill, then the filter, range-tombstone, properties, metaindex and index blocks and the footer.
 *
 * Concurrency: one writer per file, driven by one caller that awaits each `add` before the next;
 * overlapping appends are a programmer error and assert. Blocks are laid out and their offsets
 * assigned synchronously, so offsets never depend on I/O timing.
 *
 * Invariants:
 * - Point keys arrive strictly increasing by `compareInternalKeys` (asserted).
 * - Each index entry's key is the last key of its data block: ≥ every key in the block and < the
 *   first key of the next block.
 * - `finish` neither syncs nor closes the file: the caller does, then records the table.
 */
import { assert } from '../common/assert.js';
import { asBuffer, compareBytes } from '../common/bytes.js';
import { maskedCrc32c } from '../common/crc32c.js';
import { RANGE_TOMBSTONES_MAX, SSTABLE_BLOCK_BYTES_MAX } from '../common/limits.js';
import { BlockBuilder } from './block-builder.js';
import { compareInternalKeyAt } from './block-reader.js';
import { BloomFilterBuilder } from './bloom-filter.js';
import { type Codec, type CompressionName, codecByName, compressBlock } from './compression.js';
import {
  checkPrefixRule,
  PREFIX_FILTER_BLOCK_PREFIX,
  type PrefixRule,
  prefixLength,
  prefixRuleName,
} from './filter-prefix.js';
import { type RangeTombstone, SEQUENCE_MAX, sequenceOf, TRAILER_BYTES, userKeyOf } from './internal-key.js';
import {
  BLOCK_TRAILER_BYTES,
  type BlockHandle,
  CompressionType,
  encodeBlockHandle,
  encodeFooter,
  encodeProperties,
  encodeRangeTombstones,
  FORMAT_VERSION,
  INDEX_RESTART_INTERVAL,
  MetaBlockName,
  type SstableProperties,
} from './sstable-format.js';
import type { WritableFile } from './vfs.js';

export type { SstableProperties } from './sstable-format.js';

/** How an SSTable is laid out. */
export interface SstableWriterOptions {
  /** Uncompressed size at which a data block is closed (SSTABLE_BLOCK_BYTES_DEFAULT). */
  blockBytes: number;
  /** Keys between restart points in data blocks (SSTABLE_RESTART_INTERVAL_DEFAULT). */
  restartInterval: number;
  /** Bloom filter bits per user key; 0 writes no filter (BLOOM_BITS_PER_KEY_DEFAULT). */
  bloomBitsPerKey: number;
  /** Codec for data and index blocks. */
  compression: CompressionName;
  /** Key the Bloom filter on each key's prefix under this rule instead of the whole key. */
  filterPrefix?: PrefixRule | undefined;
}

const INITIAL_KEY_BYTES = 64;

/** Writes one SSTable to an empty file. */
export class SstableWriter {
  private readonly dataBlock: BlockBuilder;
  private readonly indexBlock = new BlockBuilder(INDEX_RESTART_INTERVAL);
  private readonly bloom: BloomFilterBuilder | undefined;
  private readonly codec: Codec;
  private readonly tombstones: RangeTombstone[] = [];
  private offset: number;
  private lastKey = Buffer.allocUnsafe(INITIAL_KEY_BYTES);
  private lastKeyLength = 0;
  private smallestKey: Buffer | undefined;
  /** The last prefix added to the filter (with a prefix rule). */
  private lastPrefix: Buffer | undefined;
  private entryCount = 0;
  private rawKeyBytes = 0;
  private rawValueBytes = 0;
  private dataBlockCount = 0;
  private smallestSequence = SEQUENCE_MAX;
  private largestSequence = 0;
  private appending = false;
  private finished = false;

  constructor(
    private readonly file: WritableFile,
    private readonly options: SstableWriterOptions,
  ) {
    assert(file.size === 0, 'an sstable is written to an empty file');
    assert(options.blockBytes > 0 && options.blockBytes <= SSTABLE_BLOCK_BYTES_MAX, 'bad block size');
    assert(options.bloomBitsPerKey >= 0, 'bad bloom bits per key');
    checkPrefixRule(options.filterPrefix);
    this.offset = file.size;
    this.dataBlock = new BlockBuilder(options.restartInterval);
    this.bloom = options.bloomBitsPerKey > 0 ? new BloomFilterBuilder(options.bloomBitsPerKey) : undefined;
    this.codec = codecByName(options.compression);
  }

  /** Bytes the file will have if finished now, not counting the meta blocks and footer. */
  get estimatedBytes(): number {
    return this.offset + this.dataBlock.estimatedBytes() + this.indexBlock.estimatedBytes();
  }

  /** Adds a point entry; appends the current data block to the file when it is full. */
  async add(internalKey: Uint8Array, value: Uint8Array): Promise<void> {
    assert(!this.finished, 'add after finish');
    assert(internalKey.length >= TRAILER_BYTES, 'internal key too short');
    const key = asBuffer(internalKey);
    const hasLast = this.entryCount > 0;
    if (hasLast) {
      assert(
        compareInternalKeyAt(this.lastKey, 0, this.lastKeyLength, key) < 0,
        'keys must strictly increase',
      );
    } else {
      this.smallestKey = Buffer.from(key);
    }
    const userBytes = key.length - TRAILER_BYTES;
    const lastUserBytes = this.lastKeyLength - TRAILER_BYTES;
    if (
      this.bloom !== undefined &&
      (!hasLast || key.compare(this.lastKey, 0, lastUserBytes, 0, userBytes) !== 0)
    ) {
      this.addToFilter(this.bloom, userKeyOf(key));
    }
    this.dataBlock.add(key, value);
    this.rememberLastKey(key);
    this.noteSequence(sequenceOf(key));
    this.entryCount++;
    this.rawKeyBytes += key.length;
    this.rawValueBytes += value.length;
    if (this.dataBlock.estimatedBytes() >= this.options.blockBytes) await this.flushDataBlock();
  }

  /** Adds a new user key, or (with a prefix rule) its prefix unless it repeats the last one added. */
  private addToFilter(bloom: BloomFilterBuilder, userKey: Buffer): void {
    const rule = this.options.filterPrefix;
    if (rule === undefined) {
      bloom.addKey(userKey);
      return;
    }
    const prefix = userKey.subarray(0, prefixLength(rule, userKey));
    if (this.lastPrefix?.equals(prefix)) return;
    bloom.addKey(prefix);
    this.lastPrefix = Buffer.from(prefix);
  }

  /** Records a range tombstone; tombstones are stored sorted by start at `finish`. */
  addRangeTombstone(t: RangeTombstone): void {
    assert(!this.finished, 'addRangeTombstone after finish');
    assert(compareBytes(t.start, t.end) < 0, 'range tombstone start must be below its end');
    assert(this.tombstones.length < RANGE_TOMBSTONES_MAX, 'too many range tombstones in one sstable');
    this.tombstones.push({ start: Buffer.from(t.start), end: Buffer.from(t.end), sequence: t.sequence });
    this.noteSequence(t.sequence);
  }

  /** Writes the remaining blocks and the footer; returns the recorded properties. */
  async finish(): Promise<SstableProperties> {
    assert(!this.finished, 'finish called twice');
    this.finished = true;
    if (!this.dataBlock.isEmpty) await this.flushDataBlock();
    const tail: Buffer[] = [];
    const meta = new Map<string, BlockHandle>();
    if (this.bloom !== undefined) {
      const rule = this.options.filterPrefix;
      const name =
        rule === undefined ? MetaBlockName.Filter : PREFIX_FILTER_BLOCK_PREFIX + prefixRuleName(rule);
      meta.set(name, this.layOut(this.bloom.finish(), tail));
    }
    const sorted = this.tombstones.sort(
      (a, b) => compareBytes(a.start, b.start) || b.sequence - a.sequence || compareBytes(a.end, b.end),
    );
    if (sorted.length > 0)
      meta.set(MetaBlockName.RangeTombstones, this.layOut(encodeRangeTombstones(sorted), tail));
    const properties = this.properties();
    meta.set(MetaBlockName.Properties, this.layOut(encodeProperties(properties), tail));
    const metaindex = new BlockBuilder(INDEX_RESTART_INTERVAL);
    for (const name of [...meta.keys()].sort()) {
      metaindex.add(Buffer.from(name, 'latin1'), encodeBlockHandle(meta.get(name) as BlockHandle));
    }
    const metaindexHandle = this.layOut(metaindex.finish(), tail);
    const indexHandle = this.layOut(this.indexBlock.finish(), tail, this.codec);
    const footer = { metaindex: metaindexHandle, index: indexHandle, formatVersion: FORMAT_VERSION };
    const footerBytes = encodeFooter(footer, maskedCrc32c);
    tail.push(footerBytes);
    this.offset += footerBytes.length;
    await this.append(Buffer.concat(tail));
    return properties;
  }

  private properties(): SstableProperties {
    const any = this.entryCount > 0 || this.tombstones.length > 0;
    return {
      entryCount: this.entryCount,
      rangeTombstoneCount: this.tombstones.length,
      dataBlockCount: this.dataBlockCount,
      rawKeyBytes: this.rawKeyBytes,
      rawValueBytes: this.rawValueBytes,
      smallestSequence: any ? this.smallestSequence : 0,
      largestSequence: this.largestSequence,
      smallestKey: this.smallestKey,
      largestKey: this.entryCount > 0 ? Buffer.from(this.lastKey.subarray(0, this.lastKeyLength)) : undefined,
    };
  }

  private async flushDataBlock(): Promise<void> {
    const out: Buffer[] = [];
    const handle = this.layOut(this.dataBlock.finish(), out, this.codec);
    this.dataBlock.reset();
    this.indexBlock.add(this.lastKey.subarray(0, this.lastKeyLength), encodeBlockHandle(handle));
    this.dataBlockCount++;
    await this.append(out[0] as Buffer);
  }

  /**
   * Compresses (when `codec` is given and it pays), adds the trailer, assigns the next offset and
   * pushes the stored bytes onto `out`. Synchronous, so offsets follow call order.
   */
  private layOut(contents: Buffer, out: Buffer[], codec?: Codec): BlockHandle {
    assert(contents.length <= SSTABLE_BLOCK_BYTES_MAX, 'block exceeds SSTABLE_BLOCK_BYTES_MAX');
    const stored =
      codec === undefined ? { data: contents, type: CompressionType.None } : compressBlock(contents, codec);
    const size = stored.data.length;
    const bytes = Buffer.allocUnsafe(size + BLOCK_TRAILER_BYTES);
    stored.data.copy(bytes, 0);
    bytes[size] = stored.type;
    bytes.writeUInt32LE(maskedCrc32c(bytes.subarray(0, size + 1)), size + 1);
    const handle = { offset: this.offset, size };
    this.offset += bytes.length;
    out.push(bytes);
    return handle;
  }

  private async append(bytes: Buffer): Promise<void> {
    assert(!this.appending, 'await each SstableWriter call before the next');
    this.appending = true;
    try {
      await this.file.append(bytes);
    } finally {
      this.appending = false;
    }
  }

  private rememberLastKey(key: Buffer): void {
    if (key.length > this.lastKey.length)
      this.lastKey = Buffer.allocUnsafe(Math.max(key.length, 2 * this.lastKey.length));
    key.copy(this.lastKey, 0);
    this.lastKeyLength = key.length;
  }

  private noteSequence(sequence: number): void {
    if (sequence < this.smallestSequence) this.smallestSequence = sequence;
    if (sequence > this.largestSequence) this.largestSequence = sequence;
  }
}
