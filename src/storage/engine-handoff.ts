/**
 * Handing a key range from one store to another (tablet splits and merges): the receiving store
 * adopts references to the giver's SSTables (`adoptFiles`), and replays the giver's writes that no
 * SSTable holds yet (`unflushedBatches`). File references themselves are store-refs.ts's.
 *
 * Invariants: a store adopts files only while nothing has been written to it, and its sequence
 * numbers then continue after the giver's, so replayed writes stay newer than adopted files;
 * unflushed writes are handed over oldest first, which keeps their relative order.
 *
 * Concurrency: single event-loop thread; `unflushedBatches` is synchronous, so it and `fileRefs`
 * taken in the same turn cover the range at one instant.
 */
import { assert } from '../common/assert.js';
import * as limits from '../common/limits.js';
import type { ManifestLog } from './engine-manifest-log.js';
import type { EngineState } from './engine-state.js';
import {
  EntryKind,
  encodeInternalKey,
  KIND_FOR_SEEK,
  kindOf,
  SEQUENCE_MAX,
  sequenceOf,
  userKeyOf,
} from './internal-key.js';
import type { Memtable } from './memtable.js';
import type { LevelFile } from './store-refs.js';
import { WriteBatch } from './write-batch.js';

/** Adds `files` to a store nothing has written to (see `Engine.adoptFiles`). */
export async function adoptFiles(
  state: EngineState,
  manifests: ManifestLog,
  files: readonly LevelFile[],
  lastSequence: number,
): Promise<void> {
  assert(state.mem.isEmpty && state.immutables.length === 0, 'adoptFiles on a store that was written to');
  if (lastSequence > state.visibleSequence) {
    state.lastSequence = lastSequence;
    state.visibleSequence = lastSequence;
  }
  // Recorded even with no files: WAL sequence numbers must continue from the manifest's.
  const level0 = files.filter((f) => f.level === 0).reverse();
  const deeper = files.filter((f) => f.level > 0);
  const addedFiles = [...level0, ...deeper].map(({ level, file }) => ({
    level,
    file: { ...file, fileNumber: state.reserveFileNumber() },
  }));
  try {
    await manifests.logAndApply({ addedFiles, deletedFiles: [] });
  } finally {
    for (const { file } of addedFiles) state.reservedFileNumbers.delete(file.fileNumber);
  }
}

/**
 * The writes of user keys in [lo, hi) that `memtables` (newest first) hold, as batches of at most
 * UNFLUSHED_BATCH_BYTES, oldest first (see `Engine.unflushedBatches`).
 */
export function unflushedBatches(
  memtables: readonly Memtable[],
  lo: Uint8Array | undefined,
  hi: Uint8Array | undefined,
): WriteBatch[] {
  const ops: Array<{ sequence: number; add: (b: WriteBatch) => void }> = [];
  const below = (key: Uint8Array) => hi === undefined || Buffer.compare(key, hi) < 0;
  for (const mem of memtables) {
    const it = mem.newIterator();
    if (lo === undefined) it.seekToFirst();
    else it.seek(encodeInternalKey(lo, SEQUENCE_MAX, KIND_FOR_SEEK));
    for (; it.valid(); it.next()) {
      const internal = it.key();
      const key = Buffer.from(userKeyOf(internal));
      if (!below(key)) break;
      const sequence = sequenceOf(internal);
      if (kindOf(internal) === EntryKind.Put) {
        const value = Buffer.from(it.value());
        ops.push({ sequence, add: (b) => b.put(key, value) });
      } else {
        ops.push({ sequence, add: (b) => b.delete(key) });
      }
    }
    for (const t of mem.rangeTombstones) {
      const start = lo !== undefined && Buffer.compare(t.start, lo) < 0 ? Buffer.from(lo) : t.start;
      const end = hi !== undefined && Buffer.compare(t.end, hi) > 0 ? Buffer.from(hi) : t.end;
      if (Buffer.compare(start, end) < 0)
        ops.push({ sequence: t.sequence, add: (b) => b.deleteRange(start, end) });
    }
  }
  ops.sort((a, b) => a.sequence - b.sequence);
  const batches: WriteBatch[] = [];
  let batch = new WriteBatch();
  for (const op of ops) {
    op.add(batch);
    if (batch.byteSize >= limits.UNFLUSHED_BATCH_BYTES) {
      batches.push(batch);
      batch = new WriteBatch();
    }
  }
  if (batch.count > 0) batches.push(batch);
  return batches;
}
