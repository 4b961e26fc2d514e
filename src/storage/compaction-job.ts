/**
 * A compaction job: merges a sorted stream of internal entries (a memtable being flushed, or the
 * SSTables chosen for compaction) into new SSTables. Pure of engine state: it gets everything it
 * needs in a `CompactionSpec`, so the same code runs inline (tests, in-memory VFS) or in a worker
 * thread (production), see compaction-executor.ts.
 *
 * What it drops, and why it is safe:
 * - A version hidden by a newer version of the same key that every snapshot sees.
 * - A version covered by an input range tombstone that every snapshot sees.
 * - (Not in flushes.) A point tombstone, or a range tombstone, that every snapshot sees, when no
 *   file in a deeper level overlaps it: deeper levels hold the only older data it could hide.
 * Outputs are cut at user-key boundaries only; range tombstones are clipped to each output's slice
 * of the key space so the outputs of one level never overlap.
 */
import { assert } from '../common/assert.js';
import { EMPTY } from '../common/bytes.js';
import {
  type CompactionFilter,
  type CompactionFilterContext,
  type CompactionFilterSpec,
  loadCompactionFilter,
} from './compaction-filter.js';
import { sstFileName } from './file-names.js';
import {
  compareInternalKeys,
  EntryKind,
  encodeInternalKey,
  KIND_FOR_SEEK,
  kindOf,
  type RangeTombstone,
  SEQUENCE_MAX,
  sequenceOf,
  userKeyOf,
} from './internal-key.js';
import { RangeTombstoneSet } from './range-tombstone-set.js';
import { SstableWriter, type SstableWriterOptions } from './sstable-writer.js';
import { exclusiveBound } from './version.js';
import type { FileMeta } from './version-edit.js';
import type { Vfs, WritableFile } from './vfs.js';
import { joinPath } from './vfs.js';

/** User-key extent of a file in a deeper level: [smallest, largest], largest maybe exclusive. */
export type KeyExtent = [smallest: Buffer, largest: Buffer, largestExclusive: boolean];

/** Everything a job needs; structured-clone friendly so it can cross to a worker. */
export interface CompactionSpec {
  dir: string;
  isFlush: boolean;
  smallestSnapshot: number;
  /** Extents of the files in levels deeper than the output, one sorted array per level. */
  deeperExtents: KeyExtent[][];
  /** Pre-allocated output file numbers, used in order. */
  fileNumbers: number[];
  sstable: SstableWriterOptions;
  targetFileBytes: number;
  /** A filter that may drop the newest value of a key (compactions only, never flushes). */
  filter?: CompactionFilterSpec & CompactionFilterContext;
}

/** The forward-only part of an iterator that a job reads. */
export interface EntrySource {
  seekToFirst(): void;
  valid(): boolean;
  next(): void;
  key(): Buffer;
  value(): Buffer;
}

/** Statistics of a finished job. */
export interface CompactionResult {
  outputs: FileMeta[];
  entriesRead: number;
  entriesWritten: number;
  /** Values dropped by the compaction filter. */
  entriesFiltered: number;
  bytesWritten: number;
}

interface OpenOutput {
  file: WritableFile;
  writer: SstableWriter;
  fileNumber: number;
  first: Buffer | undefined;
  last: Buffer | undefined;
  entries: number;
}

/** Runs a job to completion; on failure removes partial outputs and rethrows. */
export async function runCompactionJob(
  vfs: Vfs,
  spec: CompactionSpec,
  source: EntrySource,
  tombstones: readonly RangeTombstone[],
): Promise<CompactionResult> {
  const filter =
    spec.filter && !spec.isFlush ? await loadCompactionFilter(spec.filter, spec.filter) : undefined;
  const job = new Job(vfs, spec, tombstones, filter);
  try {
    return await job.run(source);
  } catch (err) {
    await job.abandon();
    throw err;
  }
}

class Job {
  private readonly outputs: FileMeta[] = [];
  private readonly written: string[] = [];
  private current: OpenOutput | undefined;
  private pendingTombstones: RangeTombstone[];
  private readonly coverage: RangeTombstoneSet;
  private nextNumberIndex = 0;
  private entriesRead = 0;
  private entriesWritten = 0;
  private entriesFiltered = 0;

  constructor(
    private readonly vfs: Vfs,
    private readonly spec: CompactionSpec,
    tombstones: readonly RangeTombstone[],
    private readonly filter: CompactionFilter | undefined,
  ) {
    this.coverage = new RangeTombstoneSet(tombstones);
    this.pendingTombstones = tombstones
      .filter((t) => spec.isFlush || !this.tombstoneDroppable(t))
      .sort((a, b) => Buffer.compare(a.start, b.start));
  }

  async run(source: EntrySource): Promise<CompactionResult> {
    const snap = this.spec.smallestSnapshot;
    let currentUserKey: Buffer | undefined;
    let lastSequenceForKey = SEQUENCE_MAX + 1;
    for (source.seekToFirst(); source.valid(); source.next()) {
      this.entriesRead++;
      const key = source.key();
      const userKey = userKeyOf(key);
      const sequence = sequenceOf(key);
      const newUserKey = currentUserKey === undefined || !userKey.equals(currentUserKey);
      if (newUserKey) {
        currentUserKey = userKey;
        lastSequenceForKey = SEQUENCE_MAX + 1;
      }
      const hidden = lastSequenceForKey <= snap;
      lastSequenceForKey = sequence;
      if (hidden || this.coverage.covers(userKey, sequence, snap)) continue;
      if (
        !this.spec.isFlush &&
        kindOf(key) === EntryKind.Delete &&
        sequence <= snap &&
        !this.deeperOverlaps(userKey, userKey)
      ) {
        continue;
      }
      if (newUserKey && this.current && this.current.writer.estimatedBytes >= this.spec.targetFileBytes) {
        await this.finishOutput(userKey);
      }
      if (
        this.filter &&
        newUserKey &&
        kindOf(key) === EntryKind.Put &&
        sequence <= snap &&
        !this.filter.keep(userKey, source.value())
      ) {
        this.entriesFiltered++;
        // An older version may live deeper: a tombstone keeps it hidden; at the bottom, nothing is needed.
        if (this.deeperOverlaps(userKey, userKey)) {
          await this.add(encodeInternalKey(userKey, sequence, EntryKind.Delete), EMPTY);
        }
        continue;
      }
      await this.add(key, source.value());
    }
    if (this.current || this.pendingTombstones.length > 0) await this.finishOutput(undefined);
    if (this.outputs.length > 0) await this.vfs.syncDir(this.spec.dir);
    const bytesWritten = this.outputs.reduce((n, f) => n + f.fileSize, 0);
    return {
      outputs: this.outputs,
      entriesRead: this.entriesRead,
      entriesWritten: this.entriesWritten,
      entriesFiltered: this.entriesFiltered,
      bytesWritten,
    };
  }

  async abandon(): Promise<void> {
    await this.current?.file.close().catch(() => undefined);
    for (const path of this.written) await this.vfs.remove(path).catch(() => undefined);
  }

  private async add(key: Buffer, value: Buffer): Promise<void> {
    const out = this.current ?? (await this.openOutput());
    await out.writer.add(key, value);
    out.first ??= key;
    out.last = key;
    out.entries++;
    this.entriesWritten++;
  }

  private async openOutput(): Promise<OpenOutput> {
    const fileNumber = this.spec.fileNumbers[this.nextNumberIndex++];
    assert(fileNumber !== undefined, 'compaction ran out of pre-allocated file numbers');
    const path = joinPath(this.spec.dir, sstFileName(fileNumber));
    const file = await this.vfs.createWritable(path);
    this.written.push(path);
    const writer = new SstableWriter(file, this.spec.sstable);
    this.current = { file, writer, fileNumber, first: undefined, last: undefined, entries: 0 };
    return this.current;
  }

  /** Finishes the open output; its slice of the key space ends at `cut` (exclusive) or is unbounded. */
  private async finishOutput(cut: Buffer | undefined): Promise<void> {
    const out = this.current ?? (await this.openOutput());
    let smallest = out.first;
    let largest = out.last;
    const carried: RangeTombstone[] = [];
    for (const t of this.pendingTombstones) {
      if (cut !== undefined && Buffer.compare(t.start, cut) >= 0) {
        carried.push(t);
        continue;
      }
      const clippedEnd = cut !== undefined && Buffer.compare(t.end, cut) > 0 ? cut : t.end;
      out.writer.addRangeTombstone({ start: t.start, end: clippedEnd, sequence: t.sequence });
      if (clippedEnd !== t.end) carried.push({ start: clippedEnd, end: t.end, sequence: t.sequence });
      const lo = encodeInternalKey(t.start, SEQUENCE_MAX, KIND_FOR_SEEK);
      const hi = exclusiveBound(clippedEnd);
      if (!smallest || compareInternalKeys(lo, smallest) < 0) smallest = lo;
      if (!largest || compareInternalKeys(hi, largest) > 0) largest = hi;
    }
    this.pendingTombstones = carried;
    await out.writer.finish();
    await out.file.sync();
    await out.file.close();
    this.current = undefined;
    assert(smallest && largest, 'finished an empty output');
    this.outputs.push({
      fileNumber: out.fileNumber,
      fileSize: out.file.size,
      smallest: Buffer.from(smallest),
      largest: Buffer.from(largest),
      entryCount: out.entries,
    });
  }

  private tombstoneDroppable(t: RangeTombstone): boolean {
    return t.sequence <= this.spec.smallestSnapshot && !this.deeperOverlaps(t.start, t.end, true);
  }

  /** Whether any deeper file overlaps user keys [start, end] (end exclusive if `endExclusive`). */
  private deeperOverlaps(start: Buffer, end: Buffer, endExclusive = false): boolean {
    for (const level of this.spec.deeperExtents) {
      // Files of a deeper level are sorted and disjoint: find the first whose upper bound reaches start.
      let lo = 0;
      let hi = level.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const [, upper, upperExclusive] = level[mid] as KeyExtent;
        const d = Buffer.compare(upper, start);
        if (d < 0 || (d === 0 && upperExclusive)) lo = mid + 1;
        else hi = mid;
      }
      const candidate = level[lo];
      if (!candidate) continue;
      const c = Buffer.compare(candidate[0], end);
      if (c < 0 || (c === 0 && !endExclusive)) return true;
    }
    return false;
  }
}
