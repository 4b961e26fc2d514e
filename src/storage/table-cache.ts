/**
 * Open SSTable readers of a store, by file number (a reference's own number for a file another
 * store wrote: src/storage/file-refs.ts). A file's reader is opened when the file enters a version
 * (so reads, which are synchronous, never open files) and closed when no version needs it.
 * Readers share one bounded block cache, which may itself be shared by many stores: each reader
 * gets a process-unique cache id, so two stores' numbers never collide in it.
 *
 * Bound: one open file per live SSTable or reference; the number of live SSTables is bounded by
 * the data size over the target file size.
 */
import { assert } from '../common/assert.js';
import { ErrorCode, errors, hasCode } from '../common/errors.js';
import { BlockCache } from './block-cache.js';
import { sstFileName } from './file-names.js';
import { BoundedIterator, clipTombstones, type FileSource } from './file-refs.js';
import type { RangeTombstone } from './internal-key.js';
import type { InternalIterator } from './iterator.js';
import { SstableReader } from './sstable-reader.js';
import type { FileMeta } from './version-edit.js';
import { dirName, joinPath, type Vfs } from './vfs.js';

/** Cache ids are unique in the process: many stores may share one block cache. */
let nextCacheId = 1;

interface OpenFile {
  reader: SstableReader;
  cacheId: number;
  /** The file's range tombstones within the reference's bounds. */
  tombstones: RangeTombstone[];
  source: FileSource | undefined;
}

export class TableCache {
  private readonly files = new Map<number, OpenFile>();

  constructor(
    private readonly vfs: Vfs,
    private readonly dir: string,
    readonly blockCache: BlockCache,
  ) {}

  /** A cache of `capacityBytes` for one store. */
  static ownCache(capacityBytes: number): BlockCache {
    return new BlockCache({ capacityBytes });
  }

  /** Where `f`'s bytes are: this store's directory, or the source store's beside it. */
  pathOf(f: FileMeta): string {
    if (!f.source) return joinPath(this.dir, sstFileName(f.fileNumber));
    return joinPath(dirName(this.dir), f.source.dir, sstFileName(f.source.fileNumber));
  }

  /** The reader of a live file. */
  reader(f: FileMeta): SstableReader {
    return this.openFile(f).reader;
  }

  /** An iterator over the entries of a live file that its bounds let through. */
  iterator(f: FileMeta): InternalIterator {
    return BoundedIterator.forFile(f, this.openFile(f).reader.newIterator());
  }

  /** The range tombstones of a live file within its bounds. */
  rangeTombstones(f: FileMeta): readonly RangeTombstone[] {
    return this.openFile(f).tombstones;
  }

  /** Opens the reader of `f` if it is not open yet. DATA_LOSS if the file is missing. */
  async open(f: FileMeta): Promise<void> {
    if (this.files.has(f.fileNumber)) return;
    const path = this.pathOf(f);
    try {
      const file = await this.vfs.openReadable(path);
      const cacheId = nextCacheId++;
      const reader = SstableReader.open(file, cacheId, this.blockCache);
      const tombstones = clipTombstones(f, reader.rangeTombstones);
      this.files.set(f.fileNumber, { reader, cacheId, tombstones, source: f.source });
    } catch (err) {
      if (hasCode(err, ErrorCode.NotFound)) throw errors.dataLoss('a live sstable is missing', { path });
      throw err;
    }
  }

  /** Sources of every open reference (one per reference, so a source may repeat). */
  openSources(): FileSource[] {
    const out: FileSource[] = [];
    for (const f of this.files.values()) if (f.source) out.push(f.source);
    return out;
  }

  /** Numbers of every open file. */
  openNumbers(): number[] {
    return [...this.files.keys()];
  }

  /**
   * Closes the reader of a file no version needs any more and drops its cached blocks. Returns the
   * source of a reference (the caller reports it released), else undefined.
   */
  async evict(fileNumber: number): Promise<FileSource | undefined> {
    const f = this.files.get(fileNumber);
    if (!f) return undefined;
    this.files.delete(fileNumber);
    this.blockCache.evictFile(f.cacheId);
    await f.reader.close();
    return f.source;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.files.keys()].map((n) => this.evict(n)));
  }

  private openFile(f: FileMeta): OpenFile {
    const open = this.files.get(f.fileNumber);
    assert(open, `no open reader for live file ${f.fileNumber}`);
    return open;
  }
}
