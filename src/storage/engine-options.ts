/**
 * Options and statistics of the storage engine: what a caller may tune (every field has a default
 * from src/common/limits.ts) and what the engine reports about itself.
 */
import type { Clock, Rand } from '../common/clock.js';
import { systemClock, systemRand } from '../common/clock.js';
import * as limits from '../common/limits.js';
import type { BlockCache, BlockCacheStats } from './block-cache.js';
import type { CompactionExecutor } from './compaction-executor.js';
import type { CompactionFilterSpec } from './compaction-filter.js';
import { COMPRESSION_DEFAULT, type CompressionName } from './compression.js';
import type { FileSource } from './file-refs.js';
import { checkPrefixRule, type PrefixRule } from './filter-prefix.js';
import type { OwnerEpochOption } from './owner-fence.js';
import { RealVfs } from './real-vfs.js';
import type { Vfs } from './vfs.js';

/** Options of an engine; every field but `dir` has a default. */
export interface EngineOptions {
  /** Directory of the store; created when missing. */
  dir: string;
  /** File system to use (default: the real one). */
  vfs?: Vfs;
  /** Size at which the memtable is frozen and flushed (MEMTABLE_BYTES_DEFAULT). */
  memtableBytes?: number;
  /** SSTable data block size before compression. */
  blockBytes?: number;
  /** Keys between restart points in a data block. */
  restartInterval?: number;
  /** Bloom filter bits per key in SSTables (0 disables the filter). */
  bloomBitsPerKey?: number;
  /**
   * Key new SSTables' Bloom filters on each key's prefix under this rule (src/storage/filter-prefix.ts)
   * instead of the whole key, so scans given a `prefix` skip tables without it. Default: whole keys.
   */
  filterPrefix?: PrefixRule;
  /** Block codec for new SSTables: 'none', 'snappy' (default) or 'lz4'. */
  compression?: CompressionName;
  /** Capacity of the shared block cache. */
  blockCacheBytes?: number;
  /** Target size of SSTables written by compaction. */
  targetFileBytes?: number;
  /** Level-0 files that start a compaction into level 1. */
  l0CompactionTrigger?: number;
  /** Level-0 files at which writers stall until compaction catches up. */
  l0StopWritesTrigger?: number;
  /** Byte budget of level 1; each deeper level gets ten times more. */
  level1Bytes?: number;
  /** 'sync' (default): a write resolves once fdatasynced. 'relaxed': once written. */
  durability?: 'sync' | 'relaxed';
  /**
   * Where flushes and compactions run: 'worker' (default on a real disk), 'inline', or an executor
   * shared by many stores (the store does not close it).
   */
  executor?: 'worker' | 'inline' | CompactionExecutor;
  /** A block cache shared by many stores (default: one of `blockCacheBytes` for this store). */
  blockCache?: BlockCache;
  /**
   * Called with the sources of file references (src/storage/file-refs.ts) the store no longer
   * needs, once the manifest edit that dropped them is durable and no reader pins them. The store
   * never deletes another store's file; the namespace's owner does, once nothing refers to it.
   */
  onSourcesReleased?: (sources: FileSource[]) => void;
  /** Whether to run compactions automatically (default true). */
  autoCompact?: boolean;
  /** Names a filter that compactions consult to drop values (called at each compaction's start). */
  compactionFilter?: () => CompactionFilterSpec | undefined;
  /**
   * The owner epoch to fence the directory with (src/storage/owner-fence.ts): the store refuses to
   * open when a higher epoch has fenced it, and every commit point fails with FAILED_PRECONDITION
   * `owner epoch is stale` once one has. A number comes from the epoch's issuer (the tablet host's
   * assignment), which is the only exclusion: no store lock is taken. `'next'` takes 1 + the
   * highest fence, under the store lock. Absent (the default): no fencing, the store lock only.
   */
  ownerEpoch?: OwnerEpochOption;
  /**
   * With an owner epoch: whether each write is acknowledged only after a check that no higher
   * epoch fenced the directory (default true). A single process whose store lock already keeps
   * every other writer out turns it off: the check is one directory listing per group commit,
   * and a lone writer lost ~40% of its writes/s to it (docs/rfcs/0003-epoch-fencing.md).
   * Manifest edits and new WAL segments are checked either way.
   */
  fenceAcknowledgements?: boolean;
  /** Longest a stalled writer waits before RESOURCE_EXHAUSTED. */
  writeStallMsMax?: number;
  /** Source of time (tests inject a manual clock). */
  clock?: Clock;
  /** Source of randomness (tests inject a seeded one). */
  rand?: Rand;
}

/** Effective options. */
export type ResolvedOptions = Required<
  Omit<
    EngineOptions,
    | 'vfs'
    | 'clock'
    | 'rand'
    | 'compactionFilter'
    | 'blockCache'
    | 'onSourcesReleased'
    | 'filterPrefix'
    | 'ownerEpoch'
  >
> & {
  ownerEpoch: OwnerEpochOption | undefined;
  fenceAcknowledgements: boolean;
  filterPrefix: PrefixRule | undefined;
  compactionFilter: EngineOptions['compactionFilter'];
  blockCache: BlockCache | undefined;
  onSourcesReleased: EngineOptions['onSourcesReleased'];
  vfs: Vfs;
  clock: Clock;
  rand: Rand;
};

export function resolveOptions(o: EngineOptions): ResolvedOptions {
  checkPrefixRule(o.filterPrefix);
  const vfs = o.vfs ?? new RealVfs();
  return {
    dir: o.dir,
    vfs,
    memtableBytes: o.memtableBytes ?? limits.MEMTABLE_BYTES_DEFAULT,
    blockBytes: o.blockBytes ?? limits.SSTABLE_BLOCK_BYTES_DEFAULT,
    restartInterval: o.restartInterval ?? limits.SSTABLE_RESTART_INTERVAL_DEFAULT,
    bloomBitsPerKey: o.bloomBitsPerKey ?? limits.BLOOM_BITS_PER_KEY_DEFAULT,
    filterPrefix: o.filterPrefix,
    compression: o.compression ?? COMPRESSION_DEFAULT,
    blockCacheBytes: o.blockCacheBytes ?? limits.BLOCK_CACHE_BYTES_DEFAULT,
    targetFileBytes: o.targetFileBytes ?? limits.SSTABLE_TARGET_BYTES_DEFAULT,
    l0CompactionTrigger: o.l0CompactionTrigger ?? limits.L0_COMPACTION_TRIGGER,
    l0StopWritesTrigger: o.l0StopWritesTrigger ?? limits.L0_STOP_WRITES_TRIGGER,
    level1Bytes: o.level1Bytes ?? limits.LEVEL1_BYTES_DEFAULT,
    durability: o.durability ?? 'sync',
    executor: o.executor ?? (vfs instanceof RealVfs ? 'worker' : 'inline'),
    autoCompact: o.autoCompact ?? true,
    compactionFilter: o.compactionFilter,
    blockCache: o.blockCache,
    onSourcesReleased: o.onSourcesReleased,
    writeStallMsMax: o.writeStallMsMax ?? limits.WRITE_STALL_MS_MAX,
    ownerEpoch: o.ownerEpoch,
    fenceAcknowledgements: o.fenceAcknowledgements ?? true,
    clock: o.clock ?? systemClock,
    rand: o.rand ?? systemRand,
  };
}

/** Counters for observability and tests. */
export interface EngineStats {
  /** SSTables per level. */
  levelFiles: number[];
  /** Bytes of SSTables per level. */
  levelBytes: number[];
  /** Memory charged to the active memtable. */
  memtableBytes: number;
  /** Point entries and range tombstones in the active and frozen memtables. */
  memtableEntries: number;
  /** Frozen memtables waiting for flush. */
  immutableMemtables: number;
  /** Flushes since open. */
  flushes: number;
  /** Compactions since open. */
  compactions: number;
  /** Bytes written by compactions since open. */
  compactionBytesWritten: number;
  /** Bytes of SSTables written by flushes since open. */
  flushBytesWritten: number;
  /** Total time spent in flushes since open. */
  flushMsTotal: number;
  /** Total time spent in compactions since open. */
  compactionMsTotal: number;
  /** WAL fdatasync calls since open, their total and longest duration. */
  walSyncs: { count: number; totalMs: number; maxMs: number };
  /** Sequence number of the last visible write. */
  lastSequence: number;
  /** Block cache hits, misses and usage. */
  blockCache: BlockCacheStats;
  /** SSTables that scans given a `prefix` left out because their prefix filter ruled it out. */
  prefixFilterSkips: number;
}
