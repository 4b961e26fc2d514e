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
 * This class is the public face and the wiring; the parts live beside it: engine-state.ts (the
 * shared state), engine-write-path.ts (admission, WAL, memtable rotation), engine-read-path.ts
 * (get and scan), engine-background.ts (scheduling and retries), engine-jobs.ts (flush and
 * compaction), engine-manifest-log.ts (version edits), engine-obsolete-files.ts (file deletion),
 * engine-handoff.ts (what splits and merges hand over), engine-recovery.ts (opening).
 *
 * Concurrency: single event-loop thread. Admission is serialized by a promise chain; at most one
 * flush and one compaction run at a time; manifest edits are serialized by their own chain.
 *
 * Ownership: opened with an `ownerEpoch`, the engine first fences its directory with that epoch
 * (owner-fence.ts) and from then on every commit point — manifest edits (hence flush, compaction
 * and adoption results), new WAL segments, write acknowledgements — checks that no higher epoch has
 * fenced it, and fails with FAILED_PRECONDITION `owner epoch is stale` once one has
 * (docs/rfcs/0003-epoch-fencing.md). Without one, nothing changes: the store lock alone.
 *
 * Failure model: an fsync/EIO failure of the WAL is fail-stop for writes (reads go on; reopen to
 * recover). ENOSPC while appending refuses the write with RESOURCE_EXHAUSTED and the next write
 * starts a new WAL, so writes resume once space returns. Background jobs that hit ENOSPC retry with
 * backoff; other background failures stop writes.
 */
import { errors } from '../common/errors.js';
import { type CompactionExecutor, InlineExecutor, WorkerExecutor } from './compaction-executor.js';
import { fullCompactionStep, lastLevelRewrite } from './compaction-picker.js';
import { BackgroundWork } from './engine-background.js';
import { adoptFiles, unflushedBatches } from './engine-handoff.js';
import type { ScanOptions } from './engine-iterator.js';
import { BackgroundJobs } from './engine-jobs.js';
import { ManifestLog } from './engine-manifest-log.js';
import { deleteObsoleteFiles } from './engine-obsolete-files.js';
import {
  type EngineOptions,
  type EngineStats,
  type ResolvedOptions,
  resolveOptions,
} from './engine-options.js';
import { ReadPath } from './engine-read-path.js';
import { type RecoveredStore, recoverStore } from './engine-recovery.js';
import { EngineState, type FrozenMemtable } from './engine-state.js';
import { WriteAdmission } from './engine-write-path.js';
import type { FileSource } from './file-refs.js';
import type { ManifestStore } from './manifest-store.js';
import { OwnerFence } from './owner-fence.js';
import { StoreLock } from './store-lock.js';
import {
  type BlockSample,
  blockSamples,
  createStoreWithFiles,
  exportRefs,
  type LevelFile,
} from './store-refs.js';
import { TableCache } from './table-cache.js';
import { dirName } from './vfs.js';
import { WriteBatch } from './write-batch.js';

export { snapshotEdit } from './engine-manifest-log.js';
export type { EngineOptions, EngineStats, ResolvedOptions } from './engine-options.js';

/** A consistent read point. Release it when done so compaction can drop what it pins. */
export interface Snapshot {
  /** The sequence number the snapshot reads at. */
  readonly sequence: number;
  /** Releases the snapshot; idempotent. */
  release(): void;
}

/** A durable ordered byte-key store. Create with `Engine.open`. */
export class Engine {
  private readonly state: EngineState;
  private readonly executor: CompactionExecutor;
  private readonly manifests: ManifestLog;
  private readonly writes: WriteAdmission;
  private readonly reads: ReadPath;
  private readonly background: BackgroundWork;
  /** The sweep of obsolete files the open started; `close` waits for it. */
  private startupSweep: Promise<void> = Promise.resolve();

  private constructor(
    private readonly opts: ResolvedOptions,
    manifest: ManifestStore,
    recovered: RecoveredStore,
    private readonly lock: StoreLock | undefined,
  ) {
    const tables = new TableCache(
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
    this.state = new EngineState(opts, tables, recovered);
    this.manifests = new ManifestLog(this.state, manifest);
    const jobs = new BackgroundJobs(this.state, this.executor, this.manifests);
    this.background = new BackgroundWork(this.state, jobs, () => this.writes.wakeWriters());
    this.writes = new WriteAdmission(this.state, () => this.background.schedule());
    this.reads = new ReadPath(this.state, () => {
      void this.deleteObsoleteFiles().catch(() => undefined);
    });
  }

  /** Opens (creating if needed) the store in `options.dir`, recovering from any crash. */
  static async open(options: EngineOptions): Promise<Engine> {
    const opts = resolveOptions(options);
    await opts.vfs.mkdirp(opts.dir);
    const epoch = opts.ownerEpoch;
    // An issued epoch is the exclusion (a fenced owner may still hold an OS lock it lost the right
    // to); without one, or with 'next', the store lock is.
    const lock = typeof epoch === 'number' ? undefined : await StoreLock.acquire(opts.vfs, opts.dir);
    let fence: OwnerFence | undefined;
    try {
      if (epoch !== undefined) fence = await OwnerFence.claim(opts.vfs, opts.dir, epoch);
      const recovered = await recoverStore(
        opts,
        (spec, chunks, tombstones) => new InlineExecutor(opts.vfs).flush(spec, chunks, tombstones),
        fence,
      );
      const engine = new Engine(opts, recovered.manifest, recovered, lock);
      try {
        await engine.start(recovered);
      } catch (err) {
        await engine.abandonOpen(recovered);
        throw err;
      }
      return engine;
    } catch (err) {
      await fence?.release();
      await lock?.release();
      throw err;
    }
  }

  /** The owner epoch the store was opened under (and fenced with); undefined without one. */
  get ownerEpoch(): number | undefined {
    return this.state.fence?.epoch;
  }

  private async start(recovered: RecoveredStore): Promise<void> {
    // Opened side by side: an open's latency is a number of event-loop turns, not of files.
    await Promise.all(this.state.version.levels.flat().map((f) => this.state.tables.open(f)));
    this.state.wal = recovered.wal;
    this.state.walNumber = recovered.walNumber;
    // What the recovery left behind (older WALs and manifests) is removed while the store serves:
    // nothing open refers to it, and `close` waits for the sweep.
    this.startupSweep = this.deleteObsoleteFiles().catch(() => undefined);
    this.background.schedule();
  }

  /** Closes what a failed `start` opened (the caller releases the fence and the lock). */
  private async abandonOpen(recovered: RecoveredStore): Promise<void> {
    this.state.closed = true;
    await recovered.wal.close().catch(() => undefined);
    await this.manifests.close().catch(() => undefined);
    await this.state.tables.closeAll().catch(() => undefined);
    if (typeof this.opts.executor !== 'object') await this.executor.close().catch(() => undefined);
  }

  private deleteObsoleteFiles(): Promise<void> {
    return deleteObsoleteFiles(this.state, this.manifests);
  }

  // ---- writes -----------------------------------------------------------------------------------

  /** Applies `batch` atomically. Resolves once durable (per the durability option). */
  write(batch: WriteBatch): Promise<void> {
    return this.writes.write(batch);
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

  // ---- reads ------------------------------------------------------------------------------------

  /** The value of `key` at `snapshot` (default: latest), or undefined. Synchronous. */
  get(key: Uint8Array, snapshot?: Snapshot): Buffer | undefined {
    return this.reads.get(key, snapshot?.sequence ?? this.state.visibleSequence);
  }

  /**
   * Live [key, value] pairs in [start, end), ascending (or descending with `reverse`), as of
   * `snapshot` (default: now). Break out of the loop or exhaust it to release what it pins.
   */
  scan(options: ScanOptions = {}, snapshot?: Snapshot): Generator<[Buffer, Buffer]> {
    return this.reads.scan(options, snapshot?.sequence ?? this.state.visibleSequence);
  }

  /** Takes a snapshot of the current state. */
  snapshot(): Snapshot {
    const snapshots = this.state.snapshots;
    const sequence = this.state.visibleSequence;
    snapshots.set(sequence, (snapshots.get(sequence) ?? 0) + 1);
    let released = false;
    return {
      sequence,
      release: () => {
        if (released) return;
        released = true;
        const n = (snapshots.get(sequence) ?? 1) - 1;
        if (n === 0) snapshots.delete(sequence);
        else snapshots.set(sequence, n);
      },
    };
  }

  // ---- maintenance ------------------------------------------------------------------------------

  /** Stops starting compactions (flushes go on) and waits for the one running, if any. */
  async suspendCompactions(): Promise<void> {
    this.state.compactionsSuspended = true;
    while (this.background.compacting) await this.background.compacting;
  }

  /** Lets compactions start again. */
  resumeCompactions(): void {
    this.state.compactionsSuspended = false;
    this.background.schedule();
  }

  /**
   * References to the live SSTables restricted to user keys [lo, hi), for a new store beside this
   * one (`Engine.createWithFiles`). Memtables are not included: flush first, with writes stopped.
   */
  fileRefs(lo: Buffer | undefined, hi: Buffer | undefined): LevelFile[] {
    return exportRefs(this.state.version, this.state.tables, baseName(this.opts.dir), lo, hi);
  }

  /**
   * Sources of the file references this store holds open (one per reference). Together with
   * `onSourcesReleased` this lets the namespace count references: count these at open, and what
   * is still held right before `close`.
   */
  referencedSources(): FileSource[] {
    return this.state.tables.openSources();
  }

  /** Memory charged to the active and frozen memtables that hold anything. */
  memtableBytes(): number {
    let n = 0;
    for (const m of this.state.memtablesNewestFirst()) if (!m.isEmpty) n += m.approximateBytes;
    return n;
  }

  /**
   * Adds file references (from `fileRefs` of sibling stores) to a store nothing has written to
   * since it opened, at their levels, and moves its sequence numbers past `lastSequence`; durable
   * on resolve. A split or merge prepares its children before pausing writers, then adopts what the
   * parents flushed meanwhile. Level-0 files are given in version order (newest first) and become
   * newer than every level-0 file already here.
   */
  adoptFiles(files: readonly LevelFile[], lastSequence: number): Promise<void> {
    return adoptFiles(this.state, this.manifests, files, lastSequence);
  }

  /**
   * The writes of user keys in [lo, hi) that no SSTable holds yet — every entry and range
   * tombstone of the memtables, tombstones clipped to the range — oldest first, as batches of at
   * most UNFLUSHED_BATCH_BYTES. Written in order into another store (after it adopted this
   * store's files of the range), they give it exactly this store's view of the range, without a
   * flush. Synchronous: taken together with `fileRefs`, the two cover the range at one instant.
   */
  unflushedBatches(lo: Uint8Array | undefined, hi: Uint8Array | undefined): WriteBatch[] {
    return unflushedBatches(this.state.memtablesNewestFirst(), lo, hi);
  }

  /** Each data block's last user key and size, over every live SSTable, in key order. */
  blockSamples(): BlockSample[] {
    return blockSamples(this.state.version, this.state.tables);
  }

  /** Bytes of live SSTables plus the memtables' memory. */
  approximateBytes(): number {
    let n = this.memtableBytes();
    for (let l = 0; l < this.state.version.levels.length; l++) n += this.state.version.levelBytes(l);
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

  /** Whether `close` has begun: the store takes no more writes and flushes nothing more. */
  get isClosed(): boolean {
    return this.state.closed;
  }

  /**
   * Freezes the memtable and waits until it and every memtable frozen before it are flushed
   * (memtables frozen by later writes are not waited for).
   */
  async flush(): Promise<void> {
    // Waits for the memtables frozen up to now only: memtables later writes freeze are not ours
    // to wait for (under sustained writes there always is one, and flush() would never return).
    const state = this.state;
    let newest: FrozenMemtable | undefined;
    await this.writes.inTurn(async () => {
      if (!state.mem.isEmpty) await this.writes.rotateMemtable();
      newest = state.immutables[state.immutables.length - 1];
    });
    // Frozen memtables flush oldest first: once `newest` is gone, every older one is too.
    while (newest !== undefined && state.immutables.includes(newest)) {
      // A closed store flushes nothing more (its log keeps what its memtables held): without this
      // check the loop would wait forever, e.g. for a tablet a split retired and closed.
      if (state.closed) throw errors.unavailable('store closed before its memtables were flushed');
      this.background.schedule();
      if (state.writeFailure) throw state.writeFailure;
      await (this.background.flushing ?? new Promise((r) => setTimeout(r, 10)));
    }
  }

  /**
   * Flushes, then rewrites the whole tree into one level, dropping every version and tombstone no
   * snapshot needs. Stops early, between steps, once compactions are suspended: a split or merge
   * has taken references to the files it would rewrite.
   */
  async compactAll(): Promise<void> {
    await this.flush();
    const state = this.state;
    while (this.background.compacting) await this.background.compacting;
    if (state.compactionsSuspended) return;
    const levels = state.version.levels;
    let deepest = -1;
    for (let l = 0; l < levels.length; l++) if ((levels[l]?.length ?? 0) > 0) deepest = l;
    if (deepest < 0) return;
    const rewriteLast = deepest === levels.length - 1;
    for (;;) {
      if (state.compactionsSuspended) return;
      const pick =
        fullCompactionStep(state.version, deepest) ??
        (rewriteLast ? lastLevelRewrite(state.version) : undefined);
      if (!pick) return;
      await this.background.compactNow(pick);
      if (state.writeFailure) throw state.writeFailure;
      if (pick.outputLevel === pick.level) return;
      while (this.background.compacting) await this.background.compacting;
    }
  }

  /** Counters and sizes. */
  stats(): EngineStats {
    return this.state.stats();
  }

  /** Waits for in-flight writes and background work, then closes every file. */
  async close(): Promise<void> {
    if (this.state.closed) return;
    await this.writes.settled;
    this.state.closed = true;
    await this.writes.drainWrites();
    this.background.cancelRetry();
    await this.background.flushing;
    await this.background.compacting;
    await this.manifests.settled;
    await this.startupSweep;
    await this.state.wal.close().catch(() => undefined);
    await this.manifests.close();
    await this.state.tables.closeAll();
    if (typeof this.opts.executor !== 'object') await this.executor.close();
    await this.state.fence?.release();
    await this.lock?.release();
  }
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
