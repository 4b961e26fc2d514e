/**
 * The storage engine: a durable, crash-safe, ordered byte-key store (an LSM tree). One tablet owns
 * one engine; the engine knows nothing of Bigtable.
 *
 * Write path: a batch is admitted (in call order, one at a time), stamped with consecutive sequence
 * numbers, appended to the WAL (group commit: concurrent batches share one fdatasync), and applied to
 * the memtable only once durable, so a reader never sees a write that a crash could take back.
 * A full memtable is frozen with its WAL and flushed to a level-0 SSTable by a background job;
 * compactions merge levels in the background (worker threads on a real disk).
 *
 * Concurrency: single event-loop thread. Admission is serialized by a promise chain; at most one
 * flush and one compaction run at a time; manifest edits are serialized by their own chain.
 *
 * Failure model: an fsync/EIO failure of the WAL is fail-stop for writes (reads go on; reopen to
 * recover). ENOSPC while appending refuses the write with RESOURCE_EXHAUSTED and the next write
 * starts a new WAL, so writes resume once space returns. Background jobs that hit ENOSPC retry with
 * backoff; other background failures stop writes.
 */
import { assert, PARANOID } from '../common/assert.js';
import { ErrorCode, errors, hasCode, TabulaError } from '../common/errors.js';
import * as limits from '../common/limits.js';
import { type CompactionExecutor, InlineExecutor, WorkerExecutor } from './compaction-executor.js';
import type { CompactionSpec, KeyExtent } from './compaction-job.js';
import {
  type CompactionPick,
  fullCompactionStep,
  lastLevelRewrite,
  pickCompaction,
  userExtent,
} from './compaction-picker.js';
import { LevelIterator, type ScanOptions, scanVisible } from './engine-iterator.js';
import {
  type EngineOptions,
  type EngineStats,
  type ResolvedOptions,
  resolveOptions,
} from './engine-options.js';
import { type RecoveredStore, recoverStore } from './engine-recovery.js';
import { packEntries } from './entry-chunks.js';
import { parseFileName, walFileName } from './file-names.js';
import type { FileSource } from './file-refs.js';
import { isWholePrefix, prefixLength, prefixRuleName, rangeWithinPrefix } from './filter-prefix.js';
import {
  EntryKind,
  encodeInternalKey,
  KIND_FOR_SEEK,
  kindOf,
  type RangeTombstone,
  SEQUENCE_MAX,
  sequenceOf,
  userKeyOf,
} from './internal-key.js';
import type { InternalIterator } from './iterator.js';
import { ManifestStore } from './manifest-store.js';
import { Memtable, memtableFilterBytes } from './memtable.js';
import { MergingIterator } from './merging-iterator.js';
import { RangeTombstoneSet } from './range-tombstone-set.js';
import { StoreLock } from './store-lock.js';
import {
  type BlockSample,
  blockSamples,
  createStoreWithFiles,
  exportRefs,
  type LevelFile,
} from './store-refs.js';
import { TableCache } from './table-cache.js';
import { fileContains, fileOverlaps, largestIsExclusive, type Version } from './version.js';
import type { FileMeta, VersionEdit } from './version-edit.js';
import { dirName, joinPath } from './vfs.js';
import { WalWriter } from './wal-writer.js';
import { BatchCursor, BatchOp, WriteBatch } from './write-batch.js';

export type { EngineOptions, EngineStats, ResolvedOptions } from './engine-options.js';

/** A consistent read point. Release it when done so compaction can drop what it pins. */
export interface Snapshot {
  /** The sequence number the snapshot reads at. */
  readonly sequence: number;
  /** Releases the snapshot; idempotent. */
  release(): void;
}

interface FrozenMemtable {
  mem: Memtable;
  walNumber: number;
}

/** A durable ordered byte-key store. Create with `Engine.open`. */
export class Engine {
  private mem: Memtable;
  private immutables: FrozenMemtable[] = [];
  private wal!: WalWriter;
  private walNumber = 0;
  private version: Version;
  private readonly pinned = new Set<Version>();
  private readonly tables: TableCache;
  private readonly executor: CompactionExecutor;
  private readonly snapshots = new Map<number, number>();
  private readonly compactCursors = new Map<number, Buffer>();
  private readonly reservedFileNumbers = new Set<number>();
  private nextFileNumber: number;
  private logNumber: number;
  private lastSequence: number;
  private visibleSequence: number;
  private admission: Promise<unknown> = Promise.resolve();
  private manifestChain: Promise<unknown> = Promise.resolve();
  private inflightWrites = 0;
  /** Bytes admitted into the active memtable's WAL, applied or not: what the size check uses. */
  private admittedBytes = 0;
  private drainWaiters: Array<() => void> = [];
  private roomWaiters: Array<() => void> = [];
  private flushing: Promise<void> | undefined;
  private compacting: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 0;
  private writeFailure: TabulaError | undefined;
  private closed = false;
  private compactionsSuspended = false;
  private tombstoneCache: RangeTombstoneSet | undefined;
  private readonly counters = {
    flushes: 0,
    compactions: 0,
    compactionBytesWritten: 0,
    flushBytesWritten: 0,
    flushMsTotal: 0,
    compactionMsTotal: 0,
  };
  /** Tables left out of prefix scans by their filter (EngineStats.prefixFilterSkips). */
  private prefixFilterSkips = 0;
  /** fdatasync statistics of WALs already closed (the open WAL adds its own). */
  private readonly closedWalSyncs = { count: 0, totalMs: 0, maxMs: 0 };

  private constructor(
    private readonly opts: ResolvedOptions,
    private manifest: ManifestStore,
    recovered: RecoveredStore,
    private readonly lock: StoreLock,
  ) {
    this.tables = new TableCache(
      opts.vfs,
      opts.dir,
      opts.blockCache ?? TableCache.ownCache(opts.blockCacheBytes),
    );
    this.executor =
      typeof opts.executor === 'object'
        ? opts.executor
        : opts.executor === 'worker'
          ? new WorkerExecutor()
          : new InlineExecutor(opts.vfs);
    this.version = recovered.version;
    this.nextFileNumber = recovered.nextFileNumber;
    this.logNumber = recovered.logNumber;
    this.lastSequence = recovered.lastSequence;
    this.visibleSequence = recovered.lastSequence;
    this.mem = new Memtable(opts.rand, memtableFilterBytes(opts.memtableBytes));
  }

  /** Opens (creating if needed) the store in `options.dir`, recovering from any crash. */
  static async open(options: EngineOptions): Promise<Engine> {
    const opts = resolveOptions(options);
    await opts.vfs.mkdirp(opts.dir);
    const lock = await StoreLock.acquire(opts.vfs, opts.dir);
    try {
      const recovered = await recoverStore(opts, (spec, chunks, tombstones) =>
        new InlineExecutor(opts.vfs).flush(spec, chunks, tombstones),
      );
      const engine = new Engine(opts, recovered.manifest, recovered, lock);
      await engine.start(recovered);
      return engine;
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  private async start(recovered: RecoveredStore): Promise<void> {
    for (const f of this.version.levels.flat()) await this.tables.open(f);
    this.wal = recovered.wal;
    this.walNumber = recovered.walNumber;
    await this.deleteObsoleteFiles();
    this.scheduleBackgroundWork();
  }

  // ---- writes -----------------------------------------------------------------------------------

  /** Applies `batch` atomically. Resolves once durable (per the durability option). */
  write(batch: WriteBatch): Promise<void> {
    if (batch.count === 0) return Promise.resolve();
    const record = Buffer.from(batch.encode(0));
    const turn = this.admission.then(() => this.admit(record, batch.count));
    this.admission = turn.catch(() => undefined);
    return turn.then((applied) => applied.done);
  }

  /** Sets `key` to `value`. */
  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.write(new WriteBatch().put(key, value));
  }

  /** Deletes `key`. */
  delete(key: Uint8Array): Promise<void> {
    return this.write(new WriteBatch().delete(key));
  }

  /** Deletes every key in [start, end). */
  deleteRange(start: Uint8Array, end: Uint8Array): Promise<void> {
    return this.write(new WriteBatch().deleteRange(start, end));
  }

  private async admit(record: Buffer, count: number): Promise<{ done: Promise<void> }> {
    await this.makeRoomForWrite();
    const base = this.lastSequence + 1;
    this.lastSequence += count;
    record.writeUInt32LE(base % 0x1_0000_0000, 0);
    record.writeUInt32LE(Math.floor(base / 0x1_0000_0000), 4);
    const mem = this.mem;
    this.admittedBytes += record.length;
    this.inflightWrites++;
    const done = this.wal
      .append(record, this.opts.durability === 'sync')
      .then(() => this.apply(mem, record))
      .finally(() => this.writeSettled());
    return { done };
  }

  private apply(mem: Memtable, record: Buffer): void {
    // Straight from the record: no decoded entry objects, no Buffer per key or value.
    const cursor = BatchCursor.open(record);
    assert(cursor, 'admitted batch does not decode');
    let sequence = cursor.baseSequence;
    while (cursor.next()) {
      if (cursor.op === BatchOp.DeleteRange) {
        mem.addRangeTombstone(
          record.subarray(cursor.keyOffset, cursor.keyOffset + cursor.keyLength),
          record.subarray(cursor.valueOffset, cursor.valueOffset + cursor.valueLength),
          sequence,
        );
        this.tombstoneCache = undefined;
      } else {
        const kind = cursor.op === BatchOp.Put ? EntryKind.Put : EntryKind.Delete;
        mem.addFrom(
          record,
          cursor.keyOffset,
          cursor.keyLength,
          sequence,
          kind,
          record,
          cursor.valueOffset,
          cursor.valueLength,
        );
      }
      sequence++;
    }
    assert(!cursor.malformed, 'admitted batch does not decode');
    if (sequence - 1 > this.visibleSequence) this.visibleSequence = sequence - 1;
  }

  private writeSettled(): void {
    this.inflightWrites--;
    if (this.inflightWrites === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async makeRoomForWrite(): Promise<void> {
    const stallStartMs = this.opts.clock.monotonicMs();
    for (;;) {
      if (this.closed) throw errors.unavailable('store is closed', { dir: this.opts.dir });
      if (this.writeFailure) throw this.writeFailure;
      const walFailure = this.wal.failure;
      if (walFailure) {
        if (!isRecoverableWalFailure(walFailure)) {
          this.writeFailure = errors.unavailable(
            'writes stopped after a write-ahead log failure; reopen the store',
            {
              cause: walFailure.message,
            },
          );
          throw this.writeFailure;
        }
        await this.rotateMemtable();
        continue;
      }
      if (Math.max(this.mem.approximateBytes, this.admittedBytes) < this.opts.memtableBytes) return;
      const l0Files = this.version.levels[0]?.length ?? 0;
      // While a split or merge holds compactions suspended, only they could lower L0: stalling
      // writers on it would deadlock with the split's flush (queued behind them on admission).
      const l0Full = l0Files >= this.opts.l0StopWritesTrigger && !this.compactionsSuspended;
      if (this.immutables.length >= limits.IMMUTABLE_MEMTABLES_MAX || l0Full) {
        if (this.opts.clock.monotonicMs() - stallStartMs > this.opts.writeStallMsMax) {
          throw errors.resourceExhausted('writes stalled waiting for flush and compaction', {
            waitedMs: Math.round(this.opts.clock.monotonicMs() - stallStartMs),
          });
        }
        await this.waitForRoom();
        continue;
      }
      await this.rotateMemtable();
      return;
    }
  }

  private waitForRoom(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 100);
      this.roomWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wakeWriters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  private async drainWrites(): Promise<void> {
    if (this.inflightWrites === 0) return;
    await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  /** Freezes the memtable with its WAL and starts a new pair. Called only during admission. */
  private async rotateMemtable(): Promise<void> {
    await this.drainWrites();
    // Every admitted write has settled; writes that failed consumed sequences that no WAL holds.
    // Reuse them so the sequences in the WALs stay contiguous (recovery checks that).
    this.lastSequence = this.visibleSequence;
    const number = this.nextFileNumber++;
    const wal = await WalWriter.create(this.opts.vfs, joinPath(this.opts.dir, walFileName(number)));
    await this.wal.close().catch(() => undefined);
    this.addClosedWalSyncs(this.wal);
    if (!this.mem.isEmpty) {
      this.immutables.push({ mem: this.mem, walNumber: this.walNumber });
      this.mem = new Memtable(this.opts.rand, memtableFilterBytes(this.opts.memtableBytes));
    }
    this.wal = wal;
    this.walNumber = number;
    this.admittedBytes = 0;
    this.scheduleBackgroundWork();
  }

  // ---- reads ------------------------------------------------------------------------------------

  /** The value of `key` at `snapshot` (default: latest), or undefined. Synchronous. */
  get(key: Uint8Array, snapshot?: Snapshot): Buffer | undefined {
    const sequence = snapshot?.sequence ?? this.visibleSequence;
    // Memtables, newest first, without iterators or a seek target: most reads of recent data end here.
    let mem = this.mem;
    for (let i = this.immutables.length; ; ) {
      const ref = mem.find(key, sequence);
      if (ref !== 0) {
        if (mem.kindAt(ref) !== EntryKind.Put) return undefined;
        if (this.rangeTombstones().covers(key, mem.sequenceAt(ref), sequence)) return undefined;
        return mem.valueAt(ref);
      }
      if (--i < 0) break;
      mem = (this.immutables[i] as FrozenMemtable).mem;
    }
    const entry = this.findInTables(key, sequence);
    if (!entry || kindOf(entry.key) !== EntryKind.Put) return undefined;
    if (this.rangeTombstones().covers(key, sequenceOf(entry.key), sequence)) return undefined;
    return entry.value;
  }

  /** The newest entry of `key` visible at `sequence` in the SSTables of the current version. */
  private findInTables(key: Uint8Array, sequence: number): { key: Buffer; value: Buffer } | undefined {
    const v = this.version;
    // Tables with a prefix filter answer for the key's prefix (their `get` has no whole-key filter).
    const rule = this.opts.filterPrefix;
    const ruleName = rule && prefixRuleName(rule);
    const prefix = rule && key.subarray(0, prefixLength(rule, key));
    const lookUp = (f: FileMeta) => {
      const reader = this.tables.reader(f);
      if (ruleName !== undefined && !reader.mayContainPrefix(ruleName, prefix as Uint8Array))
        return undefined;
      return reader.get(key, sequence);
    };
    for (const f of v.levels[0] ?? []) {
      if (!fileContains(f, key)) continue;
      const hit = lookUp(f);
      if (hit) return hit;
    }
    for (let level = 1; level < v.levels.length; level++) {
      const f = v.findFile(level, key);
      const hit = f && lookUp(f);
      if (hit) return hit;
    }
    return undefined;
  }

  /**
   * Live [key, value] pairs in [start, end), ascending (or descending with `reverse`), as of
   * `snapshot` (default: now). Break out of the loop or exhaust it to release what it pins.
   */
  scan(options: ScanOptions = {}, snapshot?: Snapshot): Generator<[Buffer, Buffer]> {
    const sequence = snapshot?.sequence ?? this.visibleSequence;
    const version = this.version;
    const wanted = this.tableFilter(options);
    this.pin(version);
    const children: InternalIterator[] = this.memtablesNewestFirst().map((m) => m.newIterator());
    for (const f of version.levels[0] ?? []) if (wanted(f)) children.push(this.tables.iterator(f));
    for (let level = 1; level < version.levels.length; level++) {
      const all = version.levels[level] ?? [];
      const files =
        options.prefix === undefined || this.opts.filterPrefix === undefined ? all : all.filter(wanted);
      if (files.length > 0) children.push(new LevelIterator(files, (f) => this.tables.iterator(f)));
    }
    const source = new MergingIterator(children);
    return scanVisible(source, this.rangeTombstones(), sequence, options, () => this.unpin(version));
  }

  /**
   * Which tables a scan must read: all of them, or with a `prefix`, those that overlap the scan's
   * range and whose prefix filter does not rule the prefix out. Range tombstones are gathered
   * from every table regardless (`rangeTombstones`), so leaving a table's entries out never
   * resurrects what it deletes.
   */
  private tableFilter(options: ScanOptions): (f: FileMeta) => boolean {
    const { prefix, start, end } = options;
    const rule = this.opts.filterPrefix;
    // Without a rule of its own the store has no prefix filters it could trust.
    if (prefix === undefined || rule === undefined) return () => true;
    assert(isWholePrefix(rule, prefix), 'scan prefix is not a whole prefix under the filter rule');
    const from = start ?? prefix;
    assert(rangeWithinPrefix(prefix, from, end), 'scan range reaches beyond its prefix');
    const ruleName = prefixRuleName(rule);
    return (f) => {
      if (!fileOverlaps(f, from, end)) return false;
      if (this.tables.reader(f).mayContainPrefix(ruleName, prefix)) return true;
      this.prefixFilterSkips++;
      return false;
    };
  }

  /** Takes a snapshot of the current state. */
  snapshot(): Snapshot {
    const sequence = this.visibleSequence;
    this.snapshots.set(sequence, (this.snapshots.get(sequence) ?? 0) + 1);
    let released = false;
    return {
      sequence,
      release: () => {
        if (released) return;
        released = true;
        const n = (this.snapshots.get(sequence) ?? 1) - 1;
        if (n === 0) this.snapshots.delete(sequence);
        else this.snapshots.set(sequence, n);
      },
    };
  }

  private memtablesNewestFirst(): Memtable[] {
    const out = [this.mem];
    for (let i = this.immutables.length - 1; i >= 0; i--)
      out.push((this.immutables[i] as FrozenMemtable).mem);
    return out;
  }

  private rangeTombstones(): RangeTombstoneSet {
    if (!this.tombstoneCache) {
      const all = this.memtablesNewestFirst().flatMap((m) => [...m.rangeTombstones]);
      for (const f of this.version.levels.flat()) all.push(...this.tables.rangeTombstones(f));
      this.tombstoneCache = new RangeTombstoneSet(all);
    }
    return this.tombstoneCache;
  }

  private pin(v: Version): void {
    v.refs++;
    this.pinned.add(v);
  }

  private unpin(v: Version): void {
    v.refs--;
    if (v.refs === 0 && v !== this.version) {
      this.pinned.delete(v);
      void this.deleteObsoleteFiles().catch(() => undefined);
    }
  }

  // ---- background work --------------------------------------------------------------------------

  private scheduleBackgroundWork(): void {
    if (this.closed || this.writeFailure || this.retryTimer) return;
    if (!this.flushing && this.immutables.length > 0) {
      this.flushing = this.runBackground(() => this.flushOldest()).finally(() => {
        this.flushing = undefined;
        this.scheduleBackgroundWork();
      });
    }
    if (!this.compacting && this.opts.autoCompact && !this.compactionsSuspended) {
      const pick = pickCompaction(this.version, this.opts, this.compactCursors);
      if (pick) {
        this.compacting = this.runBackground(() => this.runCompaction(pick)).finally(() => {
          this.compacting = undefined;
          this.scheduleBackgroundWork();
        });
      }
    }
  }

  private async runBackground(job: () => Promise<void>): Promise<void> {
    try {
      await job();
      this.retryDelayMs = 0;
    } catch (err) {
      if (this.closed) return;
      if (hasCode(err, ErrorCode.ResourceExhausted)) {
        this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, 50), 2000);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.scheduleBackgroundWork();
        }, this.retryDelayMs);
        this.retryTimer.unref();
      } else {
        this.writeFailure ??=
          err instanceof TabulaError
            ? err
            : errors.internal('background job failed', {
                cause: String(err),
              });
      }
    } finally {
      this.wakeWriters();
    }
  }

  private async flushOldest(): Promise<void> {
    const frozen = this.immutables[0];
    if (!frozen) return;
    const startMs = this.opts.clock.monotonicMs();
    const chunks = await packEntries(frozen.mem.newIterator());
    const spec = this.jobSpec(true, [this.reserveFileNumber()], Number.POSITIVE_INFINITY, 0);
    try {
      const result = await this.executor.flush(spec, chunks, [...frozen.mem.rangeTombstones]);
      const nextLog = this.immutables[1]?.walNumber ?? this.walNumber;
      await this.logAndApply({
        logNumber: nextLog,
        addedFiles: result.outputs.map((file) => ({ level: 0, file })),
        deletedFiles: [],
      });
      assert(this.immutables[0] === frozen, 'flushed memtable is no longer the oldest');
      this.immutables.shift();
      this.tombstoneCache = undefined;
      this.logNumber = nextLog;
      this.counters.flushes++;
      this.counters.flushBytesWritten += result.bytesWritten;
      this.counters.flushMsTotal += this.opts.clock.monotonicMs() - startMs;
    } finally {
      for (const n of spec.fileNumbers) this.reservedFileNumbers.delete(n);
    }
    await this.deleteObsoleteFiles();
  }

  private async runCompaction(pick: CompactionPick): Promise<void> {
    const outputLevel = pick.outputLevel;
    const deleted = [
      ...pick.inputs.map((f) => ({ level: pick.level, fileNumber: f.fileNumber })),
      ...pick.nextInputs.map((f) => ({ level: outputLevel, fileNumber: f.fileNumber })),
    ];
    const last = pick.inputs[pick.inputs.length - 1] as FileMeta;
    if (pick.level > 0) this.compactCursors.set(pick.level, last.smallest);
    if (pick.trivialMove) {
      await this.logAndApply({ addedFiles: [{ level: outputLevel, file: last }], deletedFiles: deleted });
      return;
    }
    const inputs = [...pick.inputs, ...pick.nextInputs];
    const inputBytes = inputs.reduce((n, f) => n + f.fileSize, 0);
    const count = Math.ceil(inputBytes / this.opts.targetFileBytes) * 2 + 4;
    const numbers = Array.from({ length: count }, () => this.reserveFileNumber());
    const startMs = this.opts.clock.monotonicMs();
    const spec = this.jobSpec(false, numbers, this.opts.targetFileBytes, outputLevel);
    const filter = this.opts.compactionFilter?.();
    if (filter) spec.filter = { ...filter, versionsComplete: this.sees(inputs, outputLevel) };
    try {
      const result = await this.executor.compact(
        spec,
        inputs.map((f) => ({
          fileNumber: f.fileNumber,
          path: this.tables.pathOf(f),
          ...(f.bounded ? { bounds: { smallest: f.smallest, largest: f.largest } } : {}),
        })),
      );
      await this.logAndApply({
        addedFiles: result.outputs.map((file) => ({ level: outputLevel, file })),
        deletedFiles: deleted,
      });
      this.counters.compactions++;
      this.counters.compactionBytesWritten += result.bytesWritten;
      this.counters.compactionMsTotal += this.opts.clock.monotonicMs() - startMs;
    } finally {
      for (const n of numbers) this.reservedFileNumbers.delete(n);
    }
    await this.deleteObsoleteFiles();
  }

  /**
   * Whether a compaction of `inputs` into `outputLevel` sees every readable version in its key
   * range: no deeper file overlaps it and no range tombstone outside its inputs touches it.
   */
  private sees(inputs: readonly FileMeta[], outputLevel: number): boolean {
    const [lo, hi] = userExtent(inputs);
    for (let level = outputLevel + 1; level < this.version.levels.length; level++) {
      if (this.version.overlapping(level, lo, hi).length > 0) return false;
    }
    const inside = new Set(inputs.map((f) => f.fileNumber));
    const touches = (t: RangeTombstone) => Buffer.compare(t.start, hi) <= 0 && Buffer.compare(t.end, lo) > 0;
    for (const m of this.memtablesNewestFirst()) if (m.rangeTombstones.some(touches)) return false;
    for (const f of this.version.levels.flat()) {
      if (!inside.has(f.fileNumber) && this.tables.rangeTombstones(f).some(touches)) return false;
    }
    return true;
  }

  private jobSpec(
    isFlush: boolean,
    fileNumbers: number[],
    targetFileBytes: number,
    outputLevel: number,
  ): CompactionSpec {
    const deeperExtents: KeyExtent[][] = [];
    if (!isFlush) {
      for (let level = outputLevel + 1; level < this.version.levels.length; level++) {
        deeperExtents.push(
          (this.version.levels[level] ?? []).map((f) => [
            userKeyOf(f.smallest),
            userKeyOf(f.largest),
            largestIsExclusive(f),
          ]),
        );
      }
    }
    return {
      dir: this.opts.dir,
      isFlush,
      smallestSnapshot: this.smallestSnapshot(),
      deeperExtents,
      fileNumbers,
      sstable: {
        blockBytes: this.opts.blockBytes,
        restartInterval: this.opts.restartInterval,
        bloomBitsPerKey: this.opts.bloomBitsPerKey,
        compression: this.opts.compression,
        filterPrefix: this.opts.filterPrefix,
      },
      targetFileBytes,
    };
  }

  private reserveFileNumber(): number {
    const n = this.nextFileNumber++;
    this.reservedFileNumbers.add(n);
    return n;
  }

  private smallestSnapshot(): number {
    let min = this.visibleSequence;
    for (const s of this.snapshots.keys()) if (s < min) min = s;
    return min;
  }

  /** Records `edit` durably in the manifest, then installs the new version. Serialized. */
  private logAndApply(edit: VersionEdit): Promise<void> {
    const run = this.manifestChain.then(async () => {
      edit.nextFileNumber = this.nextFileNumber;
      edit.lastSequence = this.visibleSequence;
      for (const { file } of edit.addedFiles) await this.tables.open(file);
      const next = this.version.apply(edit);
      if (PARANOID) next.checkInvariants();
      if (this.manifest.size > limits.MANIFEST_BYTES_MAX) {
        const previous = this.manifest;
        this.manifest = await ManifestStore.create(this.opts.vfs, this.opts.dir, this.nextFileNumber++, {
          ...snapshotEdit(next),
          logNumber: edit.logNumber ?? this.logNumber,
          nextFileNumber: this.nextFileNumber,
          lastSequence: this.visibleSequence,
        });
        await previous.close().catch(() => undefined);
      } else {
        await this.manifest.append(edit);
      }
      if (this.version.refs > 0) this.pinned.add(this.version);
      this.version = next;
      this.tombstoneCache = undefined;
    });
    this.manifestChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Removes files no live version, job or WAL needs; only ever after the manifest commit that
   * dropped them. Liveness is decided after the directory listing and again right before each
   * removal, so a file a job creates meanwhile (reserved, or installed by then) is never taken.
   */
  private async deleteObsoleteFiles(): Promise<void> {
    const released: FileSource[] = [];
    for (const n of this.tables.openNumbers()) {
      if (this.liveFileNumbers().has(n)) continue;
      const source = await this.tables.evict(n);
      if (source) released.push(source);
    }
    if (released.length > 0) this.opts.onSourcesReleased?.(released);
    const names = await this.opts.vfs.list(this.opts.dir);
    for (const name of names) {
      const parsed = parseFileName(name);
      if (!parsed || !this.isObsolete(parsed.kind, parsed.number)) continue;
      if (parsed.kind === 'sst') await this.tables.evict(parsed.number);
      if (!this.isObsolete(parsed.kind, parsed.number)) continue;
      await this.opts.vfs.remove(joinPath(this.opts.dir, name));
    }
  }

  private isObsolete(kind: 'wal' | 'sst' | 'manifest', number: number): boolean {
    switch (kind) {
      case 'sst':
        return !this.liveFileNumbers().has(number);
      case 'wal':
        return number < Math.min(this.logNumber, ...this.immutables.map((i) => i.walNumber), this.walNumber);
      case 'manifest':
        // Only older manifests: a newer one may be a snapshot being written right now.
        return number < this.manifest.manifestNumber;
    }
  }

  private liveFileNumbers(): Set<number> {
    const live = new Set<number>(this.version.fileNumbers());
    for (const v of this.pinned) {
      if (v.refs === 0 && v !== this.version) this.pinned.delete(v);
      else for (const n of v.fileNumbers()) live.add(n);
    }
    for (const n of this.reservedFileNumbers) live.add(n);
    return live;
  }

  // ---- maintenance ------------------------------------------------------------------------------

  /** Stops starting compactions (flushes go on) and waits for the one running, if any. */
  async suspendCompactions(): Promise<void> {
    this.compactionsSuspended = true;
    while (this.compacting) await this.compacting;
  }

  /** Lets compactions start again. */
  resumeCompactions(): void {
    this.compactionsSuspended = false;
    this.scheduleBackgroundWork();
  }

  /**
   * References to the live SSTables restricted to user keys [lo, hi), for a new store beside this
   * one (`Engine.createWithFiles`). Memtables are not included: flush first, with writes stopped.
   */
  fileRefs(lo: Buffer | undefined, hi: Buffer | undefined): LevelFile[] {
    return exportRefs(this.version, this.tables, baseName(this.opts.dir), lo, hi);
  }

  /**
   * Sources of the file references this store holds open (one per reference). Together with
   * `onSourcesReleased` this lets the namespace count references: count these at open, and what
   * is still held right before `close`.
   */
  referencedSources(): FileSource[] {
    return this.tables.openSources();
  }

  /** Memory charged to the active and frozen memtables that hold anything. */
  memtableBytes(): number {
    let n = 0;
    for (const m of this.memtablesNewestFirst()) if (!m.isEmpty) n += m.approximateBytes;
    return n;
  }

  /**
   * Adds file references (from `fileRefs` of sibling stores) to a store nothing has written to
   * since it opened, at their levels, and moves its sequence numbers past `lastSequence`; durable
   * on resolve. A split or merge prepares its children before pausing writers, then adopts what the
   * parents flushed meanwhile. Level-0 files are given in version order (newest first) and become
   * newer than every level-0 file already here.
   */
  async adoptFiles(files: readonly LevelFile[], lastSequence: number): Promise<void> {
    assert(this.mem.isEmpty && this.immutables.length === 0, 'adoptFiles on a store that was written to');
    if (lastSequence > this.visibleSequence) {
      this.lastSequence = lastSequence;
      this.visibleSequence = lastSequence;
    }
    // Recorded even with no files: WAL sequence numbers must continue from the manifest's.
    const level0 = files.filter((f) => f.level === 0).reverse();
    const deeper = files.filter((f) => f.level > 0);
    const addedFiles = [...level0, ...deeper].map(({ level, file }) => ({
      level,
      file: { ...file, fileNumber: this.reserveFileNumber() },
    }));
    try {
      await this.logAndApply({ addedFiles, deletedFiles: [] });
    } finally {
      for (const { file } of addedFiles) this.reservedFileNumbers.delete(file.fileNumber);
    }
  }

  /**
   * The writes of user keys in [lo, hi) that no SSTable holds yet — every entry and range
   * tombstone of the memtables, tombstones clipped to the range — oldest first, as batches of at
   * most UNFLUSHED_BATCH_BYTES. Written in order into another store (after it adopted this
   * store's files of the range), they give it exactly this store's view of the range, without a
   * flush. Synchronous: taken together with `fileRefs`, the two cover the range at one instant.
   */
  unflushedBatches(lo: Uint8Array | undefined, hi: Uint8Array | undefined): WriteBatch[] {
    const ops: Array<{ sequence: number; add: (b: WriteBatch) => void }> = [];
    const below = (key: Uint8Array) => hi === undefined || Buffer.compare(key, hi) < 0;
    for (const mem of this.memtablesNewestFirst()) {
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

  /** Each data block's last user key and size, over every live SSTable, in key order. */
  blockSamples(): BlockSample[] {
    return blockSamples(this.version, this.tables);
  }

  /** Bytes of live SSTables plus the memtables' memory. */
  approximateBytes(): number {
    let n = this.memtableBytes();
    for (let l = 0; l < this.version.levels.length; l++) n += this.version.levelBytes(l);
    return n;
  }

  /**
   * Creates a store in `options.dir` (new or empty) whose SSTables are `files` (references from
   * `fileRefs` of sibling stores) and whose sequence numbers continue after `lastSequence`; open it
   * with `Engine.open`. Durable on resolve.
   */
  static async createWithFiles(
    options: EngineOptions,
    files: readonly LevelFile[],
    lastSequence: number,
  ): Promise<void> {
    const opts = resolveOptions(options);
    await createStoreWithFiles(opts.vfs, opts.dir, files, lastSequence);
    await opts.vfs.syncDir(dirName(opts.dir));
  }

  /**
   * Freezes the memtable and waits until it and every memtable frozen before it are flushed
   * (memtables frozen by later writes are not waited for).
   */
  async flush(): Promise<void> {
    // Waits for the memtables frozen up to now only: memtables later writes freeze are not ours
    // to wait for (under sustained writes there always is one, and flush() would never return).
    let newest: FrozenMemtable | undefined;
    const turn = this.admission.then(async () => {
      if (!this.mem.isEmpty) await this.rotateMemtable();
      newest = this.immutables[this.immutables.length - 1];
    });
    this.admission = turn.catch(() => undefined);
    await turn;
    // Frozen memtables flush oldest first: once `newest` is gone, every older one is too.
    while (newest !== undefined && this.immutables.includes(newest)) {
      this.scheduleBackgroundWork();
      if (this.writeFailure) throw this.writeFailure;
      await (this.flushing ?? new Promise((r) => setTimeout(r, 10)));
    }
  }

  /**
   * Flushes, then rewrites the whole tree into one level, dropping every version and tombstone no
   * snapshot needs. Stops early, between steps, once compactions are suspended: a split or merge
   * has taken references to the files it would rewrite.
   */
  async compactAll(): Promise<void> {
    await this.flush();
    while (this.compacting) await this.compacting;
    if (this.compactionsSuspended) return;
    const levels = this.version.levels;
    let deepest = -1;
    for (let l = 0; l < levels.length; l++) if ((levels[l]?.length ?? 0) > 0) deepest = l;
    if (deepest < 0) return;
    const rewriteLast = deepest === levels.length - 1;
    for (;;) {
      if (this.compactionsSuspended) return;
      const pick =
        fullCompactionStep(this.version, deepest) ??
        (rewriteLast ? lastLevelRewrite(this.version) : undefined);
      if (!pick) return;
      this.compacting = this.runBackground(() => this.runCompaction(pick)).finally(() => {
        this.compacting = undefined;
      });
      await this.compacting;
      if (this.writeFailure) throw this.writeFailure;
      if (pick.outputLevel === pick.level) return;
      while (this.compacting) await this.compacting;
    }
  }

  private addClosedWalSyncs(wal: WalWriter): void {
    this.closedWalSyncs.count += wal.syncStats.count;
    this.closedWalSyncs.totalMs += wal.syncStats.totalMs;
    this.closedWalSyncs.maxMs = Math.max(this.closedWalSyncs.maxMs, wal.syncStats.maxMs);
  }

  /** Counters and sizes. */
  stats(): EngineStats {
    const levels = this.version.levels;
    return {
      levelFiles: levels.map((f) => f.length),
      levelBytes: levels.map((_, l) => this.version.levelBytes(l)),
      memtableBytes: this.mem.approximateBytes,
      memtableEntries: this.memtablesNewestFirst().reduce(
        (n, m) => n + m.entryCount + m.rangeTombstones.length,
        0,
      ),
      immutableMemtables: this.immutables.length,
      ...this.counters,
      walSyncs: {
        count: this.closedWalSyncs.count + this.wal.syncStats.count,
        totalMs: this.closedWalSyncs.totalMs + this.wal.syncStats.totalMs,
        maxMs: Math.max(this.closedWalSyncs.maxMs, this.wal.syncStats.maxMs),
      },
      lastSequence: this.visibleSequence,
      blockCache: this.tables.blockCache.stats(),
      prefixFilterSkips: this.prefixFilterSkips,
    };
  }

  /** Waits for in-flight writes and background work, then closes every file. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.admission;
    this.closed = true;
    await this.drainWrites();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.flushing;
    await this.compacting;
    await this.manifestChain;
    await this.wal.close().catch(() => undefined);
    await this.manifest.close();
    await this.tables.closeAll();
    if (typeof this.opts.executor !== 'object') await this.executor.close();
    await this.lock.release();
  }
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function isRecoverableWalFailure(err: TabulaError): boolean {
  return err.code === ErrorCode.ResourceExhausted && err.details.op === 'append';
}

/** An edit that recreates `version` from nothing. */
export function snapshotEdit(version: Version): VersionEdit {
  return {
    addedFiles: version.levels.flatMap((files, level) => files.map((file) => ({ level, file }))),
    deletedFiles: [],
  };
}
