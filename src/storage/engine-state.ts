/**
 * The state of an open store that the engine's parts share: the memtables and their WALs, the
 * current version, the file and sequence counters, snapshots, and the flags that stop writes.
 * `Engine` creates one and hands it to its collaborators (write admission, read path, background
 * work, manifest log); a field's comment says which of them change it.
 *
 * Invariants: `visibleSequence <= lastSequence` (a sequence is stamped at admission and becomes
 * visible once its write is durable and applied); `immutables` is ordered oldest first, and every
 * frozen memtable's WAL is older than the active one's; a file number, once handed out by
 * `nextFileNumber`, is never handed out again.
 *
 * Concurrency: single event-loop thread; no method here awaits.
 */
import type { TabulaError } from '../common/errors.js';
import type { EngineStats, ResolvedOptions } from './engine-options.js';
import type { RecoveredStore } from './engine-recovery.js';
import { Memtable, memtableFilterBytes } from './memtable.js';
import type { OwnerFence } from './owner-fence.js';
import { RangeTombstoneSet } from './range-tombstone-set.js';
import type { TableCache } from './table-cache.js';
import type { Version } from './version.js';
import type { WalWriter } from './wal-writer.js';

/** A memtable frozen for flushing, with the WAL that holds its writes. */
export interface FrozenMemtable {
  mem: Memtable;
  walNumber: number;
}

/** The mutable state of one open store. */
export class EngineState {
  /** The active memtable; frozen and replaced only by a rotation during admission (write path). */
  mem: Memtable;
  /** Frozen memtables waiting for their flush, oldest first: a rotation appends, a flush shifts. */
  immutables: FrozenMemtable[] = [];
  /** The WAL of the active memtable and its file number; replaced together with `mem`. */
  wal!: WalWriter;
  walNumber = 0;
  /** The current version; replaced only by the manifest log, once its edit is durable. */
  version: Version;
  /**
   * Older versions that scans still read (refs > 0): their files are live too. Scans and the
   * manifest log add; scans and obsolete-file deletion drop versions no scan reads any more.
   */
  readonly pinned = new Set<Version>();
  readonly tables: TableCache;
  /** Open snapshots: sequence -> how many. */
  readonly snapshots = new Map<number, number>();
  /**
   * File numbers handed to jobs (and adoptions) whose outputs are not installed yet: live, never
   * deleted. Each is released once its edit committed or failed.
   */
  readonly reservedFileNumbers = new Set<number>();
  /** The next file number to hand out (WAL, SSTable or manifest); only ever grows. */
  nextFileNumber: number;
  /** WALs older than this hold nothing that is not in an SSTable; advanced by flushes. */
  logNumber: number;
  /** The last sequence number stamped on an admitted batch (admission; rotation and adoption set it). */
  lastSequence: number;
  /** The last sequence number applied to a memtable: what reads see (apply and adoption advance it). */
  visibleSequence: number;
  /**
   * Set once, by a failure that stops writes (a WAL failure, or a failed background job); every
   * later write rejects with it, and no background job starts.
   */
  writeFailure: TabulaError | undefined;
  /**
   * The directory's fence when the store was opened with an owner epoch: every commit point checks
   * it first (manifest log, WAL rotation, background jobs, write acknowledgements).
   */
  readonly fence: OwnerFence | undefined;
  /** Set by `Engine.close` once admission has settled; nothing is admitted or started after. */
  closed = false;
  /** Set while a split or merge holds compactions (`Engine.suspendCompactions`). */
  compactionsSuspended = false;
  /** Every range tombstone of the memtables and the current version; whoever changes either resets it. */
  tombstoneCache: RangeTombstoneSet | undefined;
  readonly counters = {
    flushes: 0,
    compactions: 0,
    compactionBytesWritten: 0,
    flushBytesWritten: 0,
    flushMsTotal: 0,
    compactionMsTotal: 0,
  };
  /** Tables left out of prefix scans by their filter (EngineStats.prefixFilterSkips). */
  prefixFilterSkips = 0;
  /** fdatasync statistics of WALs already closed (the open WAL adds its own). */
  readonly closedWalSyncs = { count: 0, totalMs: 0, maxMs: 0 };

  constructor(
    readonly opts: ResolvedOptions,
    tables: TableCache,
    recovered: RecoveredStore,
  ) {
    this.tables = tables;
    this.version = recovered.version;
    this.nextFileNumber = recovered.nextFileNumber;
    this.logNumber = recovered.logNumber;
    this.lastSequence = recovered.lastSequence;
    this.visibleSequence = recovered.lastSequence;
    this.mem = recovered.mem ?? new Memtable(opts.rand, memtableFilterBytes(opts.memtableBytes));
    this.fence = recovered.fence;
    // A stale owner stops writing for good: every later write and job fails with the check's error.
    if (this.fence) this.fence.onStale = (err) => (this.writeFailure ??= err);
  }

  /** The active memtable, then the frozen ones from newest to oldest. */
  memtablesNewestFirst(): Memtable[] {
    const out = [this.mem];
    for (let i = this.immutables.length - 1; i >= 0; i--)
      out.push((this.immutables[i] as FrozenMemtable).mem);
    return out;
  }

  /** Every range tombstone of the memtables and the current version (cached). */
  rangeTombstones(): RangeTombstoneSet {
    if (!this.tombstoneCache) {
      const all = this.memtablesNewestFirst().flatMap((m) => [...m.rangeTombstones]);
      for (const f of this.version.levels.flat()) all.push(...this.tables.rangeTombstones(f));
      this.tombstoneCache = new RangeTombstoneSet(all);
    }
    return this.tombstoneCache;
  }

  /** Hands out a file number and keeps it live until the caller releases it. */
  reserveFileNumber(): number {
    const n = this.nextFileNumber++;
    this.reservedFileNumbers.add(n);
    return n;
  }

  /** The oldest sequence a reader may read at: the oldest open snapshot, or now. */
  smallestSnapshot(): number {
    let min = this.visibleSequence;
    for (const s of this.snapshots.keys()) if (s < min) min = s;
    return min;
  }

  /** Adds the fdatasync statistics of `wal`, which was just closed. */
  addClosedWalSyncs(wal: WalWriter): void {
    this.closedWalSyncs.count += wal.syncStats.count;
    this.closedWalSyncs.totalMs += wal.syncStats.totalMs;
    this.closedWalSyncs.maxMs = Math.max(this.closedWalSyncs.maxMs, wal.syncStats.maxMs);
  }

  /** Counters and sizes (`Engine.stats`). */
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
}
