/**
 * What a store shows of its files to the layer that splits and merges stores: references to its
 * live files restricted to a key range (for a new store in the same namespace), the creation of
 * such a store, and per-block size samples from the SSTable indexes (for split points and size
 * estimates), all without reading a data block.
 *
 * Pure functions over a version and its open readers; the engine calls them.
 */
import { clipFile } from './file-refs.js';
import { userKeyOf } from './internal-key.js';
import { ManifestStore } from './manifest-store.js';
import type { TableCache } from './table-cache.js';
import type { Version } from './version.js';
import type { FileMeta, VersionEdit } from './version-edit.js';
import type { Vfs } from './vfs.js';

/** One live file of a store, as a reference another store can hold. */
export interface LevelFile {
  readonly level: number;
  readonly file: FileMeta;
}

/** A data block's last user key and its stored bytes. */
export interface BlockSample {
  readonly key: Buffer;
  readonly bytes: number;
}

/**
 * References to the files of `version` restricted to user keys [lo, hi), named from the point of
 * view of a sibling store: a file of this store becomes `{ dir: storeName, fileNumber }`, a
 * reference keeps its source. Sizes and entry counts are estimated from the index. Numbers are
 * left as they are; the receiving store renumbers.
 */
export function exportRefs(
  version: Version,
  tables: TableCache,
  storeName: string,
  lo: Buffer | undefined,
  hi: Buffer | undefined,
): LevelFile[] {
  const out: LevelFile[] = [];
  version.levels.forEach((files, level) => {
    for (const f of files) {
      const clipped = clipFile(f, lo, hi);
      if (!clipped) continue;
      const reader = tables.reader(f);
      let { fileSize, entryCount } = f;
      if (clipped !== f) {
        const from = reader.approximateOffsetOf(clipped.smallest);
        const to = reader.approximateOffsetOf(clipped.largest);
        const whole = Math.max(
          1,
          reader.approximateOffsetOf(f.largest) - reader.approximateOffsetOf(f.smallest),
        );
        const share = Math.min(1, Math.max(0, to - from) / whole);
        fileSize = Math.max(1, Math.round(f.fileSize * share));
        entryCount = Math.round(f.entryCount * share);
      }
      const source = f.source ?? { dir: storeName, fileNumber: f.fileNumber };
      out.push({ level, file: { ...clipped, fileSize, entryCount, source } });
    }
  });
  return out;
}

/**
 * Writes a manifest for a new store in `dir` holding `files` (renumbered from 1, level-0 order
 * kept: the input is each level's files newest first, as a version holds them) and CURRENT. The
 * store opens with `Engine.open`. `dir` must be new or empty.
 */
export async function createStoreWithFiles(
  vfs: Vfs,
  dir: string,
  files: readonly LevelFile[],
  lastSequence: number,
): Promise<void> {
  await vfs.mkdirp(dir);
  // Level-0 order is by descending number: number the oldest (last) first.
  const ordered = [...files].sort((a, b) => a.level - b.level);
  const level0 = ordered.filter((f) => f.level === 0).reverse();
  const deeper = ordered.filter((f) => f.level > 0);
  let next = 1;
  const added = [...level0, ...deeper].map(({ level, file }) => ({
    level,
    file: { ...file, fileNumber: next++ },
  }));
  const edit: VersionEdit = {
    logNumber: 0,
    nextFileNumber: next + 1,
    lastSequence,
    addedFiles: added,
    deletedFiles: [],
  };
  const manifest = await ManifestStore.create(vfs, dir, next, edit);
  await manifest.close();
}

/** Size samples of every data block of `version`'s files within their bounds, sorted by key. */
export function blockSamples(version: Version, tables: TableCache): BlockSample[] {
  const out: BlockSample[] = [];
  for (const f of version.levels.flat()) {
    const entries = tables.reader(f).indexEntries();
    const lo = f.bounded ? userKeyOf(f.smallest) : undefined;
    const hi = f.bounded ? userKeyOf(f.largest) : undefined;
    for (const e of entries) {
      const key = userKeyOf(e.key);
      if (lo !== undefined && Buffer.compare(key, lo) < 0) continue;
      if (hi !== undefined && Buffer.compare(key, hi) >= 0) {
        // The block that crosses the upper bound still holds keys below it: count it at the bound.
        out.push({ key: hi, bytes: e.bytes });
        break;
      }
      out.push({ key, bytes: e.bytes });
    }
  }
  return out.sort((a, b) => Buffer.compare(a.key, b.key));
}

/** The user key below which about half of `samples`' bytes lie, or undefined if none. */
export function medianKey(samples: readonly BlockSample[]): Buffer | undefined {
  const total = samples.reduce((n, s) => n + s.bytes, 0);
  let seen = 0;
  for (const s of samples) {
    seen += s.bytes;
    if (seen * 2 >= total) return s.key;
  }
  return undefined;
}
