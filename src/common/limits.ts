/**
 * Every bound in Tabula, named in one place. A queue, batch, buffer or request without a limit here
 * is a bug. Units are last in names. Values a deployment may tune are defaults, overridable through
 * options; values from the Cloud Bigtable API are fixed.
 */

// ---- Storage engine -----------------------------------------------------------------------------

/** Default size at which a memtable is frozen and flushed. */
export const MEMTABLE_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Frozen memtables waiting for flush before writers are stalled. */
export const IMMUTABLE_MEMTABLES_MAX = 2;
/** Longest a writer waits for memtable room before its batch fails with RESOURCE_EXHAUSTED. */
export const WRITE_STALL_MS_MAX = 30_000;
/** Largest write batch the engine accepts, in encoded bytes. */
export const WRITE_BATCH_BYTES_MAX = 256 * 1024 * 1024;
/** Largest group of batches committed by one WAL fsync. */
export const GROUP_COMMIT_BYTES_MAX = 4 * 1024 * 1024;
/** Pending write batches queued behind the WAL before new writes are refused. */
export const WRITE_QUEUE_DEPTH_MAX = 10_000;
/** Largest key the engine stores (a Bigtable cell key is bounded well below this). */
export const ENGINE_KEY_BYTES_MAX = 64 * 1024;
/** Largest single WAL record, after which it must be split into fragments. */
export const WAL_RECORD_BYTES_MAX = 512 * 1024 * 1024;
/** WAL block size: records are fragmented so a torn tail loses at most the last block's records. */
export const WAL_BLOCK_BYTES = 32 * 1024;

/** Default SSTable data block size before compression. */
export const SSTABLE_BLOCK_BYTES_DEFAULT = 4 * 1024;
/** Keys between restart points in a data block. */
export const SSTABLE_RESTART_INTERVAL_DEFAULT = 16;
/** Default Bloom filter bits per key. */
export const BLOOM_BITS_PER_KEY_DEFAULT = 10;
/** Largest block the reader accepts (guards against a corrupt handle asking for gigabytes). */
export const SSTABLE_BLOCK_BYTES_MAX = 64 * 1024 * 1024;
/** Target size of an SSTable written by compaction. */
export const SSTABLE_TARGET_BYTES_DEFAULT = 8 * 1024 * 1024;

/** Default block cache capacity. */
export const BLOCK_CACHE_BYTES_DEFAULT = 64 * 1024 * 1024;

/** Level-0 files that trigger a compaction into level 1. */
export const L0_COMPACTION_TRIGGER = 4;
/** Level-0 files at which writers are stalled until compaction catches up. */
export const L0_STOP_WRITES_TRIGGER = 20;
/** Number of levels in the LSM tree. */
export const LSM_LEVELS = 7;
/** Target total size of level 1; each deeper level is `LEVEL_SIZE_MULTIPLIER` times larger. */
export const LEVEL1_BYTES_DEFAULT = 64 * 1024 * 1024;
export const LEVEL_SIZE_MULTIPLIER = 10;

/** Worker threads that run flushes and compactions. */
export const COMPACTION_WORKERS_DEFAULT = 1;
/** Entries per message when a memtable is streamed to a flush worker. */
export const FLUSH_CHUNK_BYTES = 1024 * 1024;

/** Largest manifest before it is rewritten as a fresh snapshot. */
export const MANIFEST_BYTES_MAX = 64 * 1024 * 1024;
/** Range tombstones one store holds before writes of new ones are refused. */
export const RANGE_TOMBSTONES_MAX = 100_000;
