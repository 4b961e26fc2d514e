/**
 * The engine's background jobs: flushing the oldest frozen memtable to a level-0 SSTable, and
 * running one compaction that the picker chose. Each job builds a `CompactionSpec`, has the
 * executor write the outputs (inline, or in a worker thread), commits them with one manifest edit,
 * then deletes what became obsolete. When to run them is engine-background.ts's business.
 *
 * Invariants: a job's output file numbers are reserved before it starts and released only once
 * its edit is committed or has failed, so obsolete-file deletion never takes a file being written;
 * frozen memtables flush oldest first, and a memtable leaves `immutables` only after the edit
 * holding its flush (and the `logNumber` that retires its WAL) is durable.
 *
 * Concurrency: single event-loop thread; the scheduler runs at most one flush and one compaction
 * at a time.
 */
import { assert } from '../common/assert.js';
import type { CompactionExecutor } from './compaction-executor.js';
import type { CompactionSpec, KeyExtent } from './compaction-job.js';
import { type CompactionPick, pickCompaction, userExtent } from './compaction-picker.js';
import type { ManifestLog } from './engine-manifest-log.js';
import { deleteObsoleteFiles } from './engine-obsolete-files.js';
import type { EngineState } from './engine-state.js';
import { packEntries } from './entry-chunks.js';
import { type RangeTombstone, userKeyOf } from './internal-key.js';
import { largestIsExclusive } from './version.js';
import type { FileMeta } from './version-edit.js';

/** Runs flushes and compactions against one store's state. */
export class BackgroundJobs {
  /** Per level >= 1, the smallest key of the last file compacted there: the next pick starts after it. */
  private readonly compactCursors = new Map<number, Buffer>();

  constructor(
    private readonly state: EngineState,
    private readonly executor: CompactionExecutor,
    private readonly manifests: ManifestLog,
  ) {}

  /** The compaction the picker chooses now, if any. */
  pick(): CompactionPick | undefined {
    return pickCompaction(this.state.version, this.state.opts, this.compactCursors);
  }

  /** Flushes the oldest frozen memtable to level 0 and retires its WAL. */
  async flushOldest(): Promise<void> {
    const state = this.state;
    const frozen = state.immutables[0];
    if (!frozen) return;
    // A stale owner starts no job: this bounds the file numbers it takes after a new owner fenced.
    await state.fence?.check();
    const startMs = state.opts.clock.monotonicMs();
    const chunks = await packEntries(frozen.mem.newIterator());
    const spec = this.jobSpec(true, [state.reserveFileNumber()], Number.POSITIVE_INFINITY, 0);
    try {
      const result = await this.executor.flush(spec, chunks, [...frozen.mem.rangeTombstones]);
      const nextLog = state.immutables[1]?.walNumber ?? state.walNumber;
      await this.manifests.logAndApply({
        logNumber: nextLog,
        addedFiles: result.outputs.map((file) => ({ level: 0, file })),
        deletedFiles: [],
      });
      assert(state.immutables[0] === frozen, 'flushed memtable is no longer the oldest');
      state.immutables.shift();
      state.tombstoneCache = undefined;
      state.logNumber = nextLog;
      state.counters.flushes++;
      state.counters.flushBytesWritten += result.bytesWritten;
      state.counters.flushMsTotal += state.opts.clock.monotonicMs() - startMs;
    } finally {
      for (const n of spec.fileNumbers) state.reservedFileNumbers.delete(n);
    }
    await deleteObsoleteFiles(state, this.manifests);
  }

  /** Runs `pick`: a trivial move is one manifest edit, anything else rewrites its inputs. */
  async runCompaction(pick: CompactionPick): Promise<void> {
    const state = this.state;
    const opts = state.opts;
    await state.fence?.check();
    const outputLevel = pick.outputLevel;
    const deleted = [
      ...pick.inputs.map((f) => ({ level: pick.level, fileNumber: f.fileNumber })),
      ...pick.nextInputs.map((f) => ({ level: outputLevel, fileNumber: f.fileNumber })),
    ];
    const last = pick.inputs[pick.inputs.length - 1] as FileMeta;
    if (pick.level > 0) this.compactCursors.set(pick.level, last.smallest);
    if (pick.trivialMove) {
      await this.manifests.logAndApply({
        addedFiles: [{ level: outputLevel, file: last }],
        deletedFiles: deleted,
      });
      return;
    }
    const inputs = [...pick.inputs, ...pick.nextInputs];
    const inputBytes = inputs.reduce((n, f) => n + f.fileSize, 0);
    const count = Math.ceil(inputBytes / opts.targetFileBytes) * 2 + 4;
    const numbers = Array.from({ length: count }, () => state.reserveFileNumber());
    const startMs = opts.clock.monotonicMs();
    const spec = this.jobSpec(false, numbers, opts.targetFileBytes, outputLevel);
    const filter = opts.compactionFilter?.();
    if (filter) spec.filter = { ...filter, versionsComplete: this.sees(inputs, outputLevel) };
    try {
      const result = await this.executor.compact(
        spec,
        inputs.map((f) => ({
          fileNumber: f.fileNumber,
          path: state.tables.pathOf(f),
          ...(f.bounded ? { bounds: { smallest: f.smallest, largest: f.largest } } : {}),
        })),
      );
      await this.manifests.logAndApply({
        addedFiles: result.outputs.map((file) => ({ level: outputLevel, file })),
        deletedFiles: deleted,
      });
      state.counters.compactions++;
      state.counters.compactionBytesWritten += result.bytesWritten;
      state.counters.compactionMsTotal += opts.clock.monotonicMs() - startMs;
    } finally {
      for (const n of numbers) state.reservedFileNumbers.delete(n);
    }
    await deleteObsoleteFiles(state, this.manifests);
  }

  /**
   * Whether a compaction of `inputs` into `outputLevel` sees every readable version in its key
   * range: no deeper file overlaps it and no range tombstone outside its inputs touches it.
   */
  private sees(inputs: readonly FileMeta[], outputLevel: number): boolean {
    const version = this.state.version;
    const [lo, hi] = userExtent(inputs);
    for (let level = outputLevel + 1; level < version.levels.length; level++) {
      if (version.overlapping(level, lo, hi).length > 0) return false;
    }
    const inside = new Set(inputs.map((f) => f.fileNumber));
    const touches = (t: RangeTombstone) => Buffer.compare(t.start, hi) <= 0 && Buffer.compare(t.end, lo) > 0;
    for (const m of this.state.memtablesNewestFirst()) if (m.rangeTombstones.some(touches)) return false;
    for (const f of version.levels.flat()) {
      if (!inside.has(f.fileNumber) && this.state.tables.rangeTombstones(f).some(touches)) return false;
    }
    return true;
  }

  private jobSpec(
    isFlush: boolean,
    fileNumbers: number[],
    targetFileBytes: number,
    outputLevel: number,
  ): CompactionSpec {
    const version = this.state.version;
    const deeperExtents: KeyExtent[][] = [];
    if (!isFlush) {
      for (let level = outputLevel + 1; level < version.levels.length; level++) {
        deeperExtents.push(
          (version.levels[level] ?? []).map((f) => [
            userKeyOf(f.smallest),
            userKeyOf(f.largest),
            largestIsExclusive(f),
          ]),
        );
      }
    }
    return {
      dir: this.state.opts.dir,
      isFlush,
      smallestSnapshot: this.state.smallestSnapshot(),
      deeperExtents,
      fileNumbers,
      sstable: {
        blockBytes: this.state.opts.blockBytes,
        restartInterval: this.state.opts.restartInterval,
        bloomBitsPerKey: this.state.opts.bloomBitsPerKey,
        compression: this.state.opts.compression,
        filterPrefix: this.state.opts.filterPrefix,
      },
      targetFileBytes,
    };
  }
}
