/**
 * Open SSTable readers of a store, by file number. A file's reader is opened when the file enters a
 * version (so reads, which are synchronous, never open files) and closed when the file is deleted.
 * All readers share one bounded block cache.
 *
 * Bound: one open file per live SSTable; the number of live SSTables is bounded by the data size
 * over the target file size.
 */
import { assert } from '../common/assert.js';
import { ErrorCode, errors, hasCode } from '../common/errors.js';
import { BlockCache } from './block-cache.js';
import { sstFileName } from './file-names.js';
import { SstableReader } from './sstable-reader.js';
import type { FileMeta } from './version-edit.js';
import { joinPath, type Vfs } from './vfs.js';

export class TableCache {
  private readonly readers = new Map<number, SstableReader>();
  readonly blockCache: BlockCache;

  constructor(
    private readonly vfs: Vfs,
    private readonly dir: string,
    blockCacheBytes: number,
  ) {
    this.blockCache = new BlockCache({ capacityBytes: blockCacheBytes });
  }

  /** The reader of a live file. */
  reader(f: FileMeta): SstableReader {
    const r = this.readers.get(f.fileNumber);
    assert(r, `no open reader for live file ${f.fileNumber}`);
    return r;
  }

  /** Opens the reader of `f` if it is not open yet. DATA_LOSS if the file is missing. */
  async open(f: FileMeta): Promise<void> {
    if (this.readers.has(f.fileNumber)) return;
    const path = joinPath(this.dir, sstFileName(f.fileNumber));
    try {
      const file = await this.vfs.openReadable(path);
      this.readers.set(f.fileNumber, SstableReader.open(file, f.fileNumber, this.blockCache));
    } catch (err) {
      if (hasCode(err, ErrorCode.NotFound)) throw errors.dataLoss('a live sstable is missing', { path });
      throw err;
    }
  }

  /** Closes the reader of a file about to be deleted and drops its cached blocks. */
  async evict(fileNumber: number): Promise<void> {
    const r = this.readers.get(fileNumber);
    this.readers.delete(fileNumber);
    this.blockCache.evictFile(fileNumber);
    await r?.close();
  }

  async closeAll(): Promise<void> {
    for (const n of [...this.readers.keys()]) await this.evict(n);
  }
}
