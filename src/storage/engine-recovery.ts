/**
 * Opening a store: read the manifest, replay every WAL it does not cover into memtables, flush those
 * to level 0 (or, when they are few, copy their records into the new WAL and serve them from the
 * memtable), then commit a fresh manifest naming the new WAL. The new manifest's CURRENT switch
 * is the commit point: a crash before it leaves the old manifest and WALs in force (replay is
 * idempotent; files written by the interrupted attempt are unreferenced and deleted later).
 *
 * With an owner epoch (owner-fence.ts), the directory is fenced before anything is read, so a lower
 * owner commits nothing after this reads it; the live manifest is the one the highest pointer
 * names, and the new manifest goes to this owner's pointer `CURRENT-<epoch>`. Taking over from a
 * lower epoch skips FENCE_TAKEOVER_FILE_NUMBER_GAP file numbers (docs/rfcs/0003-epoch-fencing.md).
 * What is replayed is read once, here, and flushed into SSTables or copied into the new WAL before
 * the commit: WAL appends a fenced owner makes after this read are never read by this owner (its
 * WALs are numbered below the new manifest's log number).
 */
import { errors } from '../common/errors.js';
import { FENCE_TAKEOVER_FILE_NUMBER_GAP, RECOVERY_LOG_COPY_BYTES_MAX } from '../common/limits.js';
import type { CompactionResult, CompactionSpec } from './compaction-job.js';
import type { ResolvedOptions } from './engine.js';
import { packEntries } from './entry-chunks.js';
import {
  CURRENT_FILE_NAME,
  currentFileName,
  livePointerName,
  manifestFileName,
  parseFileName,
  walFileName,
} from './file-names.js';
import { EntryKind, type RangeTombstone, SEQUENCE_MAX } from './internal-key.js';
import { readLogRecords } from './log-reader.js';
import { ManifestStore } from './manifest-store.js';
import { Memtable, memtableFilterBytes } from './memtable.js';
import type { OwnerFence } from './owner-fence.js';
import { Version } from './version.js';
import type { VersionEdit } from './version-edit.js';
import { joinPath } from './vfs.js';
import { WalWriter } from './wal-writer.js';
import { BatchOp, decodeBatch } from './write-batch.js';

/** The state a store opens with. */
export interface RecoveredStore {
  version: Version;
  nextFileNumber: number;
  logNumber: number;
  lastSequence: number;
  manifest: ManifestStore;
  wal: WalWriter;
  walNumber: number;
  /** The directory's fence, when opened with an owner epoch. */
  fence?: OwnerFence;
  /** What was replayed and copied into `wal` instead of flushed, when anything was. */
  mem?: Memtable;
}

type FlushFn = (
  spec: CompactionSpec,
  chunks: Buffer[],
  tombstones: RangeTombstone[],
) => Promise<CompactionResult>;

interface ManifestState {
  /** Path of the manifest the state was read from (undefined for a new store). */
  manifestPath?: string;
  version: Version;
  logNumber: number;
  nextFileNumber: number;
  lastSequence: number;
}

async function readManifestState(opts: ResolvedOptions, names: string[]): Promise<ManifestState> {
  if (livePointerName(names) === undefined) {
    // A manifest without CURRENT, or an empty WAL, is a first creation that never committed and
    // holds nothing; an SSTable or a non-empty WAL is data whose catalog is gone.
    let stray: string | undefined;
    for (const n of names) {
      const kind = parseFileName(n)?.kind;
      if (kind === 'sst' || (kind === 'wal' && (await opts.vfs.fileSize(joinPath(opts.dir, n))) > 0))
        stray = n;
    }
    if (stray) {
      throw errors.dataLoss('store directory holds data files but no CURRENT file', {
        dir: opts.dir,
        file: stray,
      });
    }
    return { version: Version.empty(), logNumber: 0, nextFileNumber: 1, lastSequence: 0 };
  }
  const { edits, manifestNumber } = await ManifestStore.recover(opts.vfs, opts.dir, names);
  const state: ManifestState = {
    manifestPath: joinPath(opts.dir, manifestFileName(manifestNumber)),
    version: Version.empty(),
    logNumber: 0,
    nextFileNumber: 1,
    lastSequence: 0,
  };
  for (const edit of edits) {
    state.version = state.version.apply(edit);
    if (edit.logNumber !== undefined) state.logNumber = edit.logNumber;
    if (edit.nextFileNumber !== undefined) state.nextFileNumber = edit.nextFileNumber;
    if (edit.lastSequence !== undefined) state.lastSequence = edit.lastSequence;
  }
  return state;
}

/**
 * Opens the store in `opts.dir` (creating it when empty), recovering from any crash; with `fence`
 * (already claimed), as the owner of its epoch.
 */
export async function recoverStore(
  opts: ResolvedOptions,
  flush: FlushFn,
  fence?: OwnerFence,
): Promise<RecoveredStore> {
  const { vfs, dir } = opts;
  const names = await vfs.list(dir);
  const state = await readManifestState(opts, names);
  const parsed = names.map(parseFileName).filter((p) => p !== undefined);
  for (const p of parsed) state.nextFileNumber = Math.max(state.nextFileNumber, p.number + 1);
  const livePointer = livePointerName(names);
  // A store opened without an epoch keeps writing the live pointer it found (a tool on a fenced
  // store); an owner writes its own.
  const pointer = fence ? currentFileName(fence.epoch) : (livePointer ?? CURRENT_FILE_NAME);
  const tookOver = fence !== undefined && livePointer !== undefined && livePointer !== pointer;
  if (tookOver) state.nextFileNumber += FENCE_TAKEOVER_FILE_NUMBER_GAP;
  const walNumbers = parsed
    .filter((p) => p.kind === 'wal' && p.number >= state.logNumber)
    .map((p) => p.number)
    .sort((a, b) => a - b);

  const edit: VersionEdit = { addedFiles: [], deletedFiles: [] };
  let mem = new Memtable(opts.rand, memtableFilterBytes(opts.memtableBytes));
  const flushMem = async () => {
    if (mem.isEmpty) return;
    const fileNumber = state.nextFileNumber++;
    const spec: CompactionSpec = {
      dir,
      isFlush: true,
      smallestSnapshot: SEQUENCE_MAX,
      deeperExtents: [],
      fileNumbers: [fileNumber],
      sstable: {
        blockBytes: opts.blockBytes,
        restartInterval: opts.restartInterval,
        bloomBitsPerKey: opts.bloomBitsPerKey,
        compression: opts.compression,
        filterPrefix: opts.filterPrefix,
      },
      targetFileBytes: Number.POSITIVE_INFINITY,
    };
    const result = await flush(spec, await packEntries(mem.newIterator()), [...mem.rangeTombstones]);
    for (const file of result.outputs) edit.addedFiles.push({ level: 0, file });
    mem = new Memtable(opts.rand, memtableFilterBytes(opts.memtableBytes));
  };

  let replayed: number | undefined;
  // The replayed records, while they stay few enough to copy into the new WAL (see below).
  let copies: Buffer[] | undefined = [];
  let copiesBytes = 0;
  for (const number of walNumbers) {
    const path = joinPath(dir, walFileName(number));
    await readLogRecords(vfs, path, (record, offset) => {
      const batch = decodeBatch(record);
      if (!batch) throw errors.dataLoss('malformed write batch in write-ahead log', { path, offset });
      // Sequences are contiguous across the live WALs, and the first one continues what the
      // manifest covers: a gap means a lost WAL or a lost manifest edit.
      // A copy an interrupted open made of what it replayed (below) repeats these: skipped.
      if (replayed !== undefined && batch.baseSequence + batch.entries.length - 1 <= replayed) return;
      const expected = replayed === undefined ? state.lastSequence + 1 : replayed + 1;
      const gap = replayed === undefined ? batch.baseSequence > expected : batch.baseSequence !== expected;
      if (gap) {
        // Either this log lost records or the manifest lost an edit: name both files.
        throw errors.dataLoss('write-ahead log does not continue the recorded sequence', {
          path,
          offset,
          manifest: state.manifestPath ?? 'none',
          expected,
          found: batch.baseSequence,
        });
      }
      replayed = batch.baseSequence + batch.entries.length - 1;
      let sequence = batch.baseSequence;
      for (const e of batch.entries) {
        if (e.op === BatchOp.DeleteRange) mem.addRangeTombstone(e.key, e.value, sequence);
        else mem.add(e.key, sequence, e.op === BatchOp.Put ? EntryKind.Put : EntryKind.Delete, e.value);
        sequence++;
      }
      state.lastSequence = Math.max(state.lastSequence, sequence - 1);
      copiesBytes += record.length;
      if (copiesBytes > RECOVERY_LOG_COPY_BYTES_MAX) copies = undefined;
      copies?.push(Buffer.from(record));
    });
    if (mem.approximateBytes >= opts.memtableBytes) {
      copies = undefined;
      await flushMem();
    }
  }
  // Little replayed (a planned move's remainder, a quiet store's tail): copied into the new WAL,
  // which the new manifest names, and served from the memtable; no SSTable on the way to serving.
  // The copy is durable before the manifest commit; an open interrupted between the two leaves
  // a WAL repeating records of the older ones, which the replay above skips. More: flushed.
  const copied = mem.isEmpty ? undefined : copies;
  if (!copied) await flushMem();
  // Memtables flushed in WAL order get ascending file numbers, so level 0 stays newest-first.
  const version = state.version.apply(edit);

  // The new manifest is the commit point and covers every replayed write (flushed or copied).
  const walNumber = state.nextFileNumber++;
  const manifestNumber = state.nextFileNumber++;
  // The new WAL (holding the copy, if any) and the new manifest with its pointer's temp file are
  // written side by side; only the pointer's rename, after the fence check, makes them live. An
  // empty WAL above the old manifest's log number is harmless to a recovery that finds the old
  // manifest still in force, and a copy is skipped by its replay (above).
  const walPath = joinPath(dir, walFileName(walNumber));
  const creatingWal = WalWriter.create(vfs, walPath, copied ?? []);
  const preparing = ManifestStore.prepare(
    vfs,
    dir,
    manifestNumber,
    {
      addedFiles: version.levels.flatMap((files, level) => files.map((file) => ({ level, file }))),
      deletedFiles: [],
      logNumber: walNumber,
      nextFileNumber: state.nextFileNumber,
      lastSequence: state.lastSequence,
    },
    pointer,
  );
  const [walDone, prepared] = await Promise.allSettled([creatingWal, preparing]);
  let manifest: ManifestStore;
  let wal: WalWriter;
  try {
    if (walDone.status === 'rejected') throw walDone.reason;
    if (prepared.status === 'rejected') throw prepared.reason;
    wal = walDone.value;
    await fence?.check();
    manifest = await prepared.value.commit();
    if (tookOver) await fence?.removeSuperseded(true);
  } catch (err) {
    if (walDone.status === 'fulfilled') await walDone.value.close().catch(() => undefined);
    if (prepared.status === 'fulfilled') await prepared.value.abandon();
    throw err;
  }
  return {
    version,
    nextFileNumber: state.nextFileNumber,
    logNumber: walNumber,
    lastSequence: state.lastSequence,
    manifest,
    wal,
    walNumber,
    ...(fence ? { fence } : {}),
    ...(copied ? { mem } : {}),
  };
}
