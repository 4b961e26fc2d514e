/**
 * Reads one SSTable (layout: docs/format/sstable.md). `open` verifies the footer and loads the
 * index, filter, range tombstones and properties into memory; data blocks are read on demand,
 * synchronously, through the shared block cache.
 *
 * Concurrency: used from one thread. `get` reuses two scratch iterators, which is safe because it
 * is synchronous and never re-entered. Iterators from `newIterator` are independent of each other.
 *
 * Invariants:
 * - Every block read checks bounds (SSTABLE_BLOCK_BYTES_MAX, end of file) and its CRC before use;
 *   damage throws DATA_LOSS with the file path and block offset. Wrong data is never returned.
 * - Index entry i holds the last key of data block i, so the first index entry ≥ a target names
 *   the only block that can hold the first entry ≥ that target.
 */
import { assert } from '../common/assert.js';
import { asBuffer } from '../common/bytes.js';
import { maskedCrc32c } from '../common/crc32c.js';
import { errors } from '../common/errors.js';
import type { BlockCache } from './block-cache.js';
import { Block, type BlockIterator, compareInternalKeyAt, readBlockContents } from './block-reader.js';
import { BloomFilter } from './bloom-filter.js';
import { PREFIX_FILTER_BLOCK_PREFIX } from './filter-prefix.js';
import { type RangeTombstone, seekTarget, TRAILER_BYTES } from './internal-key.js';
import type { InternalIterator } from './iterator.js';
import {
  type BlockHandle,
  decodeBlockHandle,
  decodeFooter,
  decodeProperties,
  decodeRangeTombstones,
  FOOTER_BYTES,
  FORMAT_VERSION,
  type Footer,
  MetaBlockName,
  type SstableProperties,
} from './sstable-format.js';
import type { ReadableFile } from './vfs.js';

/** Everything `open` loads up front. */
interface LoadedMeta {
  index: Block;
  filter: BloomFilter | undefined;
  prefixFilter: PrefixFilter | undefined;
  rangeTombstones: RangeTombstone[];
  properties: SstableProperties;
  dataEndOffset: number;
}

/** A Bloom filter over key prefixes, with the name of the rule that made them (filter-prefix.ts). */
interface PrefixFilter {
  ruleName: string;
  filter: BloomFilter;
}

/** An open, immutable SSTable. */
export class SstableReader {
  /** Range tombstones sorted by start (then sequence descending). */
  readonly rangeTombstones: readonly RangeTombstone[];
  readonly properties: SstableProperties;
  private readonly index: Block;
  private readonly filter: BloomFilter | undefined;
  private readonly prefixFilter: PrefixFilter | undefined;
  /** Offset of the first meta block: where the data blocks end. */
  private readonly dataEndOffset: number;
  private readonly blocksEndOffset: number;
  private getIndexIter: BlockIterator | undefined;
  private getDataIter: BlockIterator | undefined;

  private constructor(
    private readonly file: ReadableFile,
    /** The number that keys this file's blocks in the cache. */
    readonly fileNumber: number,
    private readonly cache: BlockCache | undefined,
    meta: LoadedMeta,
  ) {
    this.index = meta.index;
    this.filter = meta.filter;
    this.prefixFilter = meta.prefixFilter;
    this.rangeTombstones = meta.rangeTombstones;
    this.properties = meta.properties;
    this.dataEndOffset = meta.dataEndOffset;
    this.blocksEndOffset = file.size - FOOTER_BYTES;
  }

  /** Opens `file`: reads and verifies the footer, index, filter, tombstones and properties. */
  static open(file: ReadableFile, fileNumber: number, cache?: BlockCache): SstableReader {
    return new SstableReader(file, fileNumber, cache, loadMeta(file));
  }

  /** The file's path. */
  get path(): string {
    return this.file.path;
  }

  /** False only if no entry of `userKey` is in this table (always true without a filter). */
  mayContain(userKey: Uint8Array): boolean {
    return this.filter === undefined || this.filter.mayContain(userKey);
  }

  /**
   * False only if no key of this table has `prefix` as its prefix under the rule named `ruleName`
   * (always true when the table's filter is not keyed by that rule).
   */
  mayContainPrefix(ruleName: string, prefix: Uint8Array): boolean {
    const p = this.prefixFilter;
    return p === undefined || p.ruleName !== ruleName || p.filter.mayContain(prefix);
  }

  /**
   * The newest entry (put or delete: read `kindOf(key)`) of exactly `userKey` with sequence
   * ≤ `snapshotSequence`, or undefined. Range tombstones are the caller's to apply.
   */
  get(userKey: Uint8Array, snapshotSequence: number): { key: Buffer; value: Buffer } | undefined {
    if (this.filter !== undefined && !this.filter.mayContain(userKey)) return undefined;
    const target = seekTarget(userKey, snapshotSequence);
    const user = asBuffer(userKey);
    const indexIter = this.getIndexIter ?? (this.getIndexIter = this.index.newIterator());
    for (indexIter.seek(target); indexIter.valid(); indexIter.next()) {
      const block = this.dataBlock(this.handleOf(indexIter));
      const dataIter = this.getDataIter ?? (this.getDataIter = block.newIterator());
      dataIter.reset(block);
      dataIter.seek(target);
      if (!dataIter.valid()) continue;
      const key = dataIter.key();
      if (key.compare(user, 0, user.length, 0, key.length - TRAILER_BYTES) !== 0) return undefined;
      return { key, value: dataIter.value() };
    }
    return undefined;
  }

  /** A two-level iterator over every point entry (not over range tombstones). */
  newIterator(): InternalIterator {
    return new SstableIterator(
      this.index.newIterator(),
      (it) => this.handleOf(it),
      (handle) => this.dataBlock(handle),
    );
  }

  /** File offset of the data block that would hold `internalKey` (data end if past the last). */
  approximateOffsetOf(internalKey: Uint8Array): number {
    const it = this.index.newIterator();
    it.seek(internalKey);
    return it.valid() ? this.handleOf(it).offset : this.dataEndOffset;
  }

  /** Each data block's index key (its last internal key) and stored size, in key order. */
  indexEntries(): Array<{ key: Buffer; bytes: number }> {
    const out: Array<{ key: Buffer; bytes: number }> = [];
    const it = this.index.newIterator();
    for (it.seekToFirst(); it.valid(); it.next()) {
      out.push({ key: it.key(), bytes: this.handleOf(it).size });
    }
    return out;
  }

  /** Reads every block, bypassing the cache, and checks checksums, structure and key order. */
  verifyChecksums(): void {
    loadMeta(this.file);
    const indexIter = this.index.newIterator();
    let previous: Buffer | undefined;
    for (indexIter.seekToFirst(); indexIter.valid(); indexIter.next()) {
      const handle = this.handleOf(indexIter);
      const block = new Block(
        readBlockContents(this.file, handle, this.blocksEndOffset),
        this.path,
        handle.offset,
        true,
      );
      const it = block.newIterator();
      for (it.seekToFirst(); it.valid(); it.next()) {
        const key = it.key();
        if (previous !== undefined && compareInternalKeyAt(previous, 0, previous.length, key) >= 0)
          throw block.corrupt('keys out of order');
        previous = key;
      }
      if (previous === undefined || compareInternalKeyAt(previous, 0, previous.length, indexIter.key()) > 0) {
        throw block.corrupt('index key below the block');
      }
    }
  }

  /** Closes the file. Cached blocks stay until evicted or `BlockCache.evictFile`. */
  async close(): Promise<void> {
    await this.file.close();
  }

  private handleOf(indexIter: BlockIterator): BlockHandle {
    const handle = decodeBlockHandle(indexIter.value());
    if (handle === undefined) throw this.index.corrupt('bad data block handle');
    return handle;
  }

  private dataBlock(handle: BlockHandle): Block {
    const cached = this.cache?.get(this.fileNumber, handle.offset);
    if (cached !== undefined) return cached;
    const contents = readBlockContents(this.file, handle, this.blocksEndOffset);
    const block = new Block(contents, this.file.path, handle.offset, true);
    this.cache?.insert(this.fileNumber, handle.offset, block, block.chargeBytes);
    return block;
  }
}

function loadMeta(file: ReadableFile): LoadedMeta {
  const footer = readFooter(file);
  const blocksEnd = file.size - FOOTER_BYTES;
  const metaindex = new Block(
    readBlockContents(file, footer.metaindex, blocksEnd),
    file.path,
    footer.metaindex.offset,
    false,
  );
  const handles = new Map<string, BlockHandle>();
  const it = metaindex.newIterator();
  for (it.seekToFirst(); it.valid(); it.next()) {
    const handle = decodeBlockHandle(it.value());
    const name = it.key().toString('latin1');
    if (handle === undefined || handles.has(name)) throw metaindex.corrupt('bad metaindex entry');
    handles.set(name, handle);
  }
  const readMeta = (name: string) => {
    const handle = handles.get(name);
    return handle && { handle, data: readBlockContents(file, handle, blocksEnd) };
  };
  const corrupt = (offset: number, reason: string) =>
    errors.dataLoss('sstable meta block is corrupt', { path: file.path, offset, reason });
  const filterBlock = readMeta(MetaBlockName.Filter);
  const filter = filterBlock && BloomFilter.parse(filterBlock.data);
  if (filterBlock !== undefined && filter === undefined)
    throw corrupt(filterBlock.handle.offset, 'bad filter');
  let prefixFilter: PrefixFilter | undefined;
  for (const [name, handle] of handles) {
    if (!name.startsWith(PREFIX_FILTER_BLOCK_PREFIX)) continue;
    const parsed = BloomFilter.parse(readBlockContents(file, handle, blocksEnd));
    if (parsed === undefined || prefixFilter !== undefined || filter !== undefined)
      throw corrupt(handle.offset, 'bad filter');
    prefixFilter = { ruleName: name.slice(PREFIX_FILTER_BLOCK_PREFIX.length), filter: parsed };
  }
  const tombstoneBlock = readMeta(MetaBlockName.RangeTombstones);
  const rangeTombstones = tombstoneBlock === undefined ? [] : decodeRangeTombstones(tombstoneBlock.data);
  if (rangeTombstones === undefined)
    throw corrupt(tombstoneBlock?.handle.offset ?? 0, 'bad range tombstones');
  const propertiesBlock = readMeta(MetaBlockName.Properties);
  if (propertiesBlock === undefined) throw corrupt(footer.metaindex.offset, 'missing properties');
  const properties = decodeProperties(propertiesBlock.data);
  if (properties === undefined || properties.rangeTombstoneCount !== rangeTombstones.length) {
    throw corrupt(propertiesBlock.handle.offset, 'bad properties');
  }
  const index = new Block(
    readBlockContents(file, footer.index, blocksEnd),
    file.path,
    footer.index.offset,
    true,
  );
  const dataEndOffset = Math.min(footer.metaindex.offset, ...[...handles.values()].map((h) => h.offset));
  return { index, filter, prefixFilter, rangeTombstones, properties, dataEndOffset };
}

function readFooter(file: ReadableFile): Footer {
  const offset = Math.max(0, file.size - FOOTER_BYTES);
  const decoded = decodeFooter(file.readSync(offset, FOOTER_BYTES), maskedCrc32c);
  if ('error' in decoded)
    throw errors.dataLoss('sstable footer is corrupt', { path: file.path, offset, reason: decoded.error });
  if (decoded.footer.formatVersion !== FORMAT_VERSION) {
    throw errors.failedPrecondition('unsupported sstable format version', {
      path: file.path,
      version: decoded.footer.formatVersion,
    });
  }
  return decoded.footer;
}

/** Index iterator → data block iterator, in both directions. */
class SstableIterator implements InternalIterator {
  private dataIter: BlockIterator | undefined;
  private dataBlockOffset = -1;
  private hasData = false;

  constructor(
    private readonly indexIter: BlockIterator,
    private readonly handleOf: (indexIter: BlockIterator) => BlockHandle,
    private readonly loadBlock: (handle: BlockHandle) => Block,
  ) {}

  valid(): boolean {
    return this.hasData && (this.dataIter as BlockIterator).valid();
  }

  seekToFirst(): void {
    this.indexIter.seekToFirst();
    if (this.enterBlock()) this.dataIter?.seekToFirst();
    this.skipForward();
  }

  seekToLast(): void {
    this.indexIter.seekToLast();
    if (this.enterBlock()) this.dataIter?.seekToLast();
    this.skipBackward();
  }

  seek(target: Uint8Array): void {
    this.indexIter.seek(target);
    if (this.enterBlock()) this.dataIter?.seek(target);
    this.skipForward();
  }

  seekForPrev(target: Uint8Array): void {
    this.indexIter.seek(target);
    if (!this.indexIter.valid()) this.indexIter.seekToLast();
    if (this.enterBlock()) this.dataIter?.seekForPrev(target);
    this.skipBackward();
  }

  next(): void {
    assert(this.valid(), 'next on an invalid iterator');
    this.dataIter?.next();
    this.skipForward();
  }

  prev(): void {
    assert(this.valid(), 'prev on an invalid iterator');
    this.dataIter?.prev();
    this.skipBackward();
  }

  key(): Buffer {
    assert(this.valid(), 'key on an invalid iterator');
    return (this.dataIter as BlockIterator).key();
  }

  value(): Buffer {
    assert(this.valid(), 'value on an invalid iterator');
    return (this.dataIter as BlockIterator).value();
  }

  /** Points the data iterator at the block the index iterator names; false past either end. */
  private enterBlock(): boolean {
    this.hasData = this.indexIter.valid();
    if (!this.hasData) return false;
    const handle = this.handleOf(this.indexIter);
    if (this.dataIter !== undefined && handle.offset === this.dataBlockOffset) return true;
    const block = this.loadBlock(handle);
    if (this.dataIter === undefined) this.dataIter = block.newIterator();
    else this.dataIter.reset(block);
    this.dataBlockOffset = handle.offset;
    return true;
  }

  private skipForward(): void {
    while (this.hasData && !(this.dataIter as BlockIterator).valid()) {
      this.indexIter.next();
      if (this.enterBlock()) this.dataIter?.seekToFirst();
    }
  }

  private skipBackward(): void {
    while (this.hasData && !(this.dataIter as BlockIterator).valid()) {
      this.indexIter.prev();
      if (this.enterBlock()) this.dataIter?.seekToLast();
    }
  }
}
