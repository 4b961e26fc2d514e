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
/**
 * Size at which `Engine.unflushedBatches` closes a batch: a split hands a parent's unflushed writes
 * to a child in batches of about this size (one bigger write is a batch of its own).
 */
export const UNFLUSHED_BATCH_BYTES = 4 * 1024 * 1024;
/** Longest delimiter of a Bloom filter prefix rule (src/storage/filter-prefix.ts); real ones are a byte or two. */
export const FILTER_PREFIX_DELIMITER_BYTES_MAX = 16;
/**
 * Keys a growing memtable filter re-adds at most in one rebuild: past it the filter jumps to its
 * configured size, since a rebuild runs on the event loop (≈ 89 ms measured for 234,000 keys).
 */
export const MEMTABLE_FILTER_REHASH_KEYS_MAX = 4096;
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
export const SSTABLE_BLOCK_BYTES_MAX = 160 * 1024 * 1024; // above the largest cell value (100 MiB) plus its key
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

// ---- Cloud Bigtable API limits --------------------------------------------------------------------
// Fixed by the public API, not tunable. Sources: the "Limits" section of the Cloud Bigtable quotas
// page (https://cloud.google.com/bigtable/quotas) and the RowFilter / GcRule comments in the official
// protos (google/bigtable/v2/data.proto, google/bigtable/admin/v2/table.proto). Constants marked
// "Tabula" are our own bounds where the API publishes none.

/** Longest row key; an empty row key is also rejected. */
export const ROW_KEY_BYTES_MAX = 4 * 1024;
/** Longest column qualifier. */
export const COLUMN_QUALIFIER_BYTES_MAX = 16 * 1024;
/** Largest cell value. */
export const CELL_VALUE_BYTES_MAX = 100 * 1024 * 1024;
/** Most mutations in one MutateRow / CheckAndMutateRow request, or one MutateRows entry batch. */
export const MUTATIONS_PER_REQUEST_MAX = 100_000;
/** Most rules in one ReadModifyWriteRow request (Tabula: same bound as mutations). */
export const READ_MODIFY_WRITE_RULES_MAX = 100_000;
/** Longest column family name, in characters (`[_a-zA-Z0-9][-_.a-zA-Z0-9]*`). */
export const FAMILY_NAME_CHARS_MAX = 64;
/** Longest table id, in characters (`[_a-zA-Z0-9][-_.a-zA-Z0-9]*`). */
export const TABLE_ID_CHARS_MAX = 50;
/** Deepest nesting of RowFilters inside Chains, Interleaves and Conditions (data.proto). */
export const ROW_FILTER_DEPTH_MAX = 20;
/** Largest serialized RowFilter message (data.proto); checked by the server on the wire bytes. */
export const ROW_FILTER_BYTES_MAX = 20_480;
/** Longest label of an `apply_label_transformer` (data.proto). */
export const ROW_FILTER_LABEL_CHARS_MAX = 15;
/** Deepest nesting of GC rules inside unions and intersections (Tabula). */
export const GC_RULE_DEPTH_MAX = 20;
/** Smallest `max_age` of a GC rule, in microseconds (table.proto: at least one millisecond). */
export const GC_MAX_AGE_MICROS_MIN = 1_000;
/** Cell timestamps of millisecond-granularity tables are multiples of this many microseconds. */
export const TIMESTAMP_GRANULARITY_MICROS = 1_000;
/** Largest cell timestamp Tabula stores (Tabula: the largest safe integer that is a whole millisecond). */
export const TIMESTAMP_MICROS_MAX = Math.floor(Number.MAX_SAFE_INTEGER / 1_000) * 1_000;

// ---- gRPC server ------------------------------------------------------------------------------------
// Tabula's own bounds on the wire. Defaults a deployment may raise through server options.

/** Largest request message the server decodes (a 100 MiB value plus framing must fit). */
export const GRPC_RECEIVE_MESSAGE_BYTES_MAX = 256 * 1024 * 1024;
/** Largest response message the server sends (a ReadModifyWriteRow result may hold a 100 MiB value). */
export const GRPC_SEND_MESSAGE_BYTES_MAX = 256 * 1024 * 1024;
/** Concurrent HTTP/2 streams (calls) per client connection; further calls wait in the client. */
export const GRPC_CONCURRENT_STREAMS_MAX = 100;
/** Most value bytes in one ReadRows CellChunk; larger values are split across chunks. */
export const READ_ROWS_CHUNK_VALUE_BYTES_MAX = 1024 * 1024;
/**
 * Bytes of chunks gathered into one ReadRowsResponse before it is sent. Small: a response is made
 * only once the previous ones have mostly left through HTTP/2 flow control, and a scan of 1 KB rows
 * ran 2× faster with 64 KiB responses than with 1 MiB ones (docs/operations.md).
 */
export const READ_ROWS_RESPONSE_BYTES_TARGET = 64 * 1024;
/** Longest a graceful shutdown waits for calls in flight before cancelling them. */
export const SERVER_SHUTDOWN_GRACE_MS = 5_000;
/**
 * Encoded bytes of one engine write batch built from a MutateRows request before the next entries
 * start a new batch (an entry is never split). Batches of one request commit concurrently and share
 * WAL syncs; the bound keeps each within the engine's group commit (GROUP_COMMIT_BYTES_MAX).
 */
export const MUTATE_ROWS_BATCH_BYTES_TARGET = 1024 * 1024;
/**
 * Bytes of chunks in the first ReadRowsResponse of a read; each next response targets twice the
 * previous, up to READ_ROWS_RESPONSE_BYTES_TARGET, so a scan's first rows leave early.
 */
export const READ_ROWS_FIRST_RESPONSE_BYTES_TARGET = 32 * 1024;

// ---- Client, logging, metrics and console -------------------------------------------------------

/** Most concurrent event streams. */
export const CONSOLE_SSE_CLIENTS_MAX = 32;
/** Most bytes queued for one slow event-stream client before it is disconnected. */
export const CONSOLE_SSE_BUFFERED_BYTES_MAX = 1 << 20;
/** Points of history kept (five minutes at one a second). */
export const CONSOLE_HISTORY_POINTS_MAX = 300;
/** Most tables listed on the overview (the count is always exact). */
export const CONSOLE_TABLES_LISTED_MAX = 500;
/** Longest byte string logged whole, in bytes; longer ones are cut and flagged `…Truncated`. */
export const LOG_BYTES_MAX = 4096;
/** Most error and slow-call log lines per second; the rest are counted. */
export const RPC_LOG_LINES_PER_SECOND_MAX = 100;
/** Most latencies kept per console window (a uniform sample beyond that). */
export const RPC_WINDOW_SAMPLES_MAX = 4096;
/** Most tables whose call counts are kept (ids of tables that answered OK, so they existed). */
export const TABLE_CALLS_TRACKED_MAX = 10_000;
/** Most attempts of one idempotent remote call (the first try included). */
export const RETRY_ATTEMPTS_MAX_DEFAULT = 5;
/** First backoff before a retry (full jitter: a random wait up to this). */
export const RETRY_BACKOFF_MS_INITIAL_DEFAULT = 10;
/** Largest backoff between attempts. */
export const RETRY_BACKOFF_MS_MAX_DEFAULT = 1_000;
/** Growth of the backoff per attempt. */
export const RETRY_BACKOFF_MULTIPLIER = 2;
/** Total deadline of one unary remote call, retries included. */
export const CALL_DEADLINE_MS_DEFAULT = 60_000;
/** How long `connect()` waits for the channel to be ready. */
export const CONNECT_TIMEOUT_MS_DEFAULT = 10_000;
/** Encoded bytes of mutations gathered into one MutateRows request before a new one starts. */
export const MUTATE_ROWS_REQUEST_BYTES_TARGET = 16 * 1024 * 1024;
/** Tables per ListTables page asked of a server. */
export const LIST_TABLES_PAGE_SIZE = 1_000;
/** Most ListTables pages followed (so a misbehaving server cannot loop forever). */
export const LIST_TABLES_PAGES_MAX = 10_000;

// ---- Tablets and server requests --------------------------------------------------------------

/** How far ahead a persisted server-timestamp reservation reaches. */
export const TIMESTAMP_RESERVATION_MICROS = 10_000_000;
/** Rows per write batch when purging a dropped column family. */
export const PURGE_BATCH_ROWS = 1000;
/** Most tables one ListTables page returns. */
export const LIST_TABLES_PAGE_SIZE_MAX = 1_000;
/** Longest table id logged whole in a request log field. */
export const TABLE_FIELD_CHARS_MAX = 1024;
/** Longest resource name (projects/…/tables/…) accepted. */
export const RESOURCE_NAME_CHARS_MAX = 1024;

// ---- Splitting and merging tablets --------------------------------------------------------------

/** Size past which a tablet splits in two (`--split-threshold-bytes`). */
export const SPLIT_THRESHOLD_BYTES_DEFAULT = 256 * 1024 * 1024;
/** Smallest split threshold accepted: below it a tablet would split on its own metadata. */
export const SPLIT_THRESHOLD_BYTES_MIN = 4 * 1024;
/**
 * Two adjacent tablets merge when together they hold less than this fraction of the split
 * threshold. Well below 1/2, so the two halves of a fresh split never merge back.
 */
export const MERGE_FRACTION = 0.25;
/**
 * A split or merge pauses writers only once the parents' memtables hold at most this much: under
 * the pause, what they hold is read and written to the children's logs while writers wait.
 */
export const SPLIT_PAUSE_MEMTABLE_BYTES_MAX = 256 * 1024;
/** Flushes at most before the pause trying to get under SPLIT_PAUSE_MEMTABLE_BYTES_MAX. */
export const SPLIT_PREFLUSH_ROUNDS_MAX = 4;
/** Length of the window a tablet's write rate is measured over, for hot-tablet detection. */
export const HOT_TABLET_RATE_WINDOW_MS = 1_000;
/** Split passes at most in one explicit maintenance run (each pass splits every oversized tablet). */
export const MAINTAIN_SPLIT_PASSES_MAX = 64;
/** Longest source directory name a file reference in a manifest may hold, in UTF-8 bytes. */
export const FILE_REF_SOURCE_DIR_BYTES_MAX = 1024;
/** How often each table's tablets are checked for merges. */
export const MERGE_CHECK_INTERVAL_MS = 2_000;
/**
 * Memory all tablets' memtables may use together; past it the largest memtable is flushed early.
 * Keeps memory bounded by configuration however many tablets there are.
 */
export const MEMTABLE_BUDGET_BYTES_DEFAULT = 256 * 1024 * 1024;
/** Writes between two checks of the memtable budget. */
export const MEMTABLE_BUDGET_CHECK_WRITES = 64;
/** Bytes of data between two intra-tablet samples of SampleRowKeys. */
export const SAMPLE_INTERVAL_BYTES_DEFAULT = 32 * 1024 * 1024;
/**
 * A tablet with fewer index samples than this picks its split row by scanning its rows instead
 * (it is small: a handful of blocks).
 */
export const SPLIT_SAMPLES_MIN = 4;
/** Rows scanned at most to pick the split row of a tablet with too few index samples. */
export const SPLIT_SCAN_ROWS_MAX = 100_000;
/** Sustained operations per second that make a tablet hot enough to split below the threshold. */
export const HOT_TABLET_OPS_PER_SEC = 20_000;
/** How long a tablet must stay hot before it splits. */
export const HOT_TABLET_WINDOW_MS = 10_000;
/** The halves of a hot split are not merged back for this long (they are small by nature). */
export const MERGE_AFTER_HOT_SPLIT_MS = 10 * 60 * 1000;
/** Smallest tablet a hot split applies to: below it there is nothing to spread. */
export const HOT_SPLIT_BYTES_MIN = 1024 * 1024;

// ---- Coordination (src/coord) -------------------------------------------------------------------

/** Longest coordination key, lock name or watch prefix, in UTF-8 bytes. */
export const COORD_KEY_BYTES_MAX = 1024;
/** Largest value of one coordination key, in bytes (a Chubby-style small file, not a data store). */
export const COORD_VALUE_BYTES_MAX = 256 * 1024;
/** Most keys the coordination service holds; a put of a new key beyond it is RESOURCE_EXHAUSTED. */
export const COORD_KEYS_MAX = 10_000;
/**
 * Most bytes of all keys plus all values held. The embedded driver rewrites its whole state on
 * every change, so this bounds the work (and fsync size) of one change.
 */
export const COORD_STATE_BYTES_MAX = 8 * 1024 * 1024;
/** Most locks held at once (expired and released ones do not count). */
export const COORD_LOCKS_MAX = 10_000;
/** Longest lock owner name, in UTF-8 bytes. */
export const COORD_OWNER_BYTES_MAX = 256;
/** Longest lease a lock may be taken for. */
export const COORD_LEASE_TTL_MS_MAX = 10 * 60 * 1000;
/** Most watchers registered at once on one coordination instance. */
export const COORD_WATCHERS_MAX = 1_000;
/** Most changes queued behind the one being persisted before new ones are refused. */
export const COORD_PENDING_MUTATIONS_MAX = 10_000;

// ---- Coordination sessions, transactions, watch history, etcd driver (src/coord) ----------------

/** A session sends a keepalive every ttl × this (three tries before the deadline at the default). */
export const COORD_SESSION_KEEPALIVE_FRACTION = 1 / 4;
/**
 * A session stops being valid this fraction of its TTL before (send time of the last answered
 * keepalive) + ttl, covering clock-rate differences between this host and the coordination server.
 */
export const COORD_SESSION_SAFETY_MARGIN_FRACTION = 1 / 10;
/** Shortest session TTL (etcd grants leases in whole seconds and has a minimum of its own). */
export const COORD_SESSION_TTL_MS_MIN = 1_000;
/** Most sessions open at once on one coordination instance. */
export const COORD_SESSIONS_MAX = 1_000;
/** Most compares plus operations in one coordination txn (etcd's default `--max-txn-ops` is 128). */
export const COORD_TXN_OPS_MAX = 128;
/** Events the embedded driver keeps for watches resuming from a revision. */
export const COORD_WATCH_HISTORY_EVENTS_MAX = 10_000;
/** Value bytes the embedded driver keeps in its watch history; older events are dropped first. */
export const COORD_WATCH_HISTORY_BYTES_MAX = 16 * 1024 * 1024;
/** Deadline of one etcd unary call (get, put, txn, lease grant/revoke). */
export const ETCD_CALL_TIMEOUT_MS = 3_000;
/** Time an etcd watch may spend re-establishing its stream before it is reported broken. */
export const ETCD_WATCH_RESUME_MS_MAX = 10_000;
/** Pause between two attempts to re-establish a broken etcd watch stream. */
export const ETCD_WATCH_RETRY_MS = 200;
/** Longest key prefix (cluster namespace) of an etcd coordination URL, in UTF-8 bytes. */
export const ETCD_KEY_PREFIX_BYTES_MAX = 256;
/** Most endpoints in an etcd coordination URL. */
export const ETCD_ENDPOINTS_MAX = 16;
/** Largest etcd answer accepted (a full `list` stays below twice COORD_STATE_BYTES_MAX). */
export const ETCD_RECEIVE_MESSAGE_BYTES_MAX = 2 * COORD_STATE_BYTES_MAX + 1024 * 1024;
/** Interval of gRPC keepalive pings to etcd, so a dead connection is noticed without traffic. */
export const ETCD_GRPC_KEEPALIVE_MS = 10_000;
/** Time a gRPC keepalive ping to etcd may go unanswered before the connection is dropped. */
export const ETCD_GRPC_KEEPALIVE_TIMEOUT_MS = 5_000;

// ---- gRPC transport: admission and load shedding (src/server/grpc-transport.ts) ---------------
// What any number of clients can make the server hold. Memory for responses is at most about
// RPC_CALLS_IN_FLIGHT_MAX × (GRPC_STREAM_UNFLUSHED_BYTES_MAX + one response), for requests
// RPC_REQUEST_BYTES_IN_FLIGHT_MAX (or one request of GRPC_RECEIVE_MESSAGE_BYTES_MAX alone).

/** Most client connections at once; a connection beyond it is closed at once. */
export const GRPC_CONNECTIONS_MAX = 1_000;
/** Most calls in flight server-wide; a call beyond it is refused with UNAVAILABLE, not queued. */
export const RPC_CALLS_IN_FLIGHT_MAX = 1_024;
/**
 * Most time one turn of the event loop spends starting admitted calls (src/server/call-dispatcher.ts);
 * the rest start in the next turn, round-robin over connections, so a flood neither stalls the loop
 * nor queues other clients behind it. Shorter turns serve a light client sooner and cost the flood
 * throughput (`npm run bench:overload --quick`, 8 × 64 streams flooding: 1 ms → light client p99
 * 1.9× its unloaded p99, server 3,700 reads/s; 2 ms → 2.2–2.9×, 4,050–4,600/s; 5 ms → 5.1–5.6×,
 * 4,900/s). Grace under load comes first.
 */
export const RPC_START_TURN_BUDGET_MS = 1;
/**
 * Most request bytes held server-wide (declared lengths of admitted calls until they finish); a
 * request that would pass it is refused with UNAVAILABLE unless nothing else is in flight.
 */
export const RPC_REQUEST_BYTES_IN_FLIGHT_MAX = 128 * 1024 * 1024;
/**
 * Response bytes one call may have written that HTTP/2 has not yet handed to the socket; beyond
 * it the call stops producing until its reader reads (flow control holds the rest back).
 */
export const GRPC_STREAM_UNFLUSHED_BYTES_MAX = 256 * 1024;
/**
 * A ReadRows whose reader has not read for this long lets go of its engine iterator (which pins
 * memtables and SSTable readers) and reopens it after its last row when the reader reads again.
 */
export const READ_ROWS_STALL_RELEASE_MS = 1_000;
/** HTTP/2 receive window of each connection, in bytes. */
export const GRPC_CONNECTION_RECEIVE_WINDOW_BYTES = 16 * 1024 * 1024;
/**
 * Node's bound on one connection's HTTP/2 memory, in megabytes (`maxSessionMemory`), past which
 * it refuses new streams (ENHANCE_YOUR_CALM). Node charges the queued responses of streams the
 * client reset against it and keeps them charged: at 256, a client cancelling scans after their
 * first message was refused after 137 calls (measured). Memory is bounded by the transport's own
 * limits above, and a connection is recycled within ~1,000 resets; this is a backstop only.
 */
export const GRPC_SESSION_MEMORY_MB_MAX = 4096;
/** A connection with no call for this long is closed gracefully (GOAWAY). */
export const GRPC_CONNECTION_IDLE_MS = 5 * 60 * 1000;
/** A connection with calls in flight is pinged this often, to find peers that vanished. */
export const GRPC_KEEPALIVE_INTERVAL_MS = 60 * 1000;
/** A ping not answered within this long destroys its connection. */
export const GRPC_KEEPALIVE_TIMEOUT_MS = 20 * 1000;
/** nghttp2's fixed stream-reset budget per connection (Node 20 cannot change it): the burst ... */
export const HTTP2_RESET_BURST = 1_000;
/** ... and its refill rate, in resets per second. */
export const HTTP2_RESET_RATE_PER_SECOND = 33;
/** Client resets the budget may have left when the transport ends the connection gracefully. */
export const HTTP2_RESET_GOAWAY_TOKENS_LEFT = 200;
/**
 * Client resets one connection may make in its life before the transport ends it gracefully,
 * however slowly they come. Node charges the queued response of every stream the client reset
 * against the connection's memory and never returns it (about 2 MiB per cancelled scan, measured:
 * refused at 2,025 resets under GRPC_SESSION_MEMORY_MB_MAX), so a client cancelling slowly enough
 * to stay within the rate budget above would still run the connection out of memory.
 */
export const HTTP2_RESETS_PER_CONNECTION_MAX = 800;

// ---- Client calls under load (src/client) -------------------------------------------------------

/**
 * Longest a remote read waits for the server's next message; past it the attempt is cancelled and
 * fails with DEADLINE_EXCEEDED (retried like any retryable failure), so no read hangs forever.
 */
export const READ_IDLE_MS_DEFAULT = 60_000;
/**
 * Longest a read that already has every row it asked for waits for the end of its stream (the
 * server's status) before cancelling it. Reading to the end instead of cancelling keeps completed
 * reads from sending RST_STREAM, which servers count against rapid-reset limits (CVE-2023-44487).
 */
export const READ_DRAIN_MS_MAX = 1_000;
/** Most messages read and discarded while waiting for that end (heartbeats, stats). */
export const READ_DRAIN_MESSAGES_MAX = 16;

// ---- Owner-epoch fencing of store directories (src/storage/owner-fence.ts) ----------------------

/**
 * File numbers a new owner skips when it takes a store over from a lower epoch, so that the files
 * a fenced owner may still create (numbers it reserved before it saw the fence: a few per job in
 * flight) never take the name of one the new owner writes, and the fenced owner, which deletes
 * only numbers below its own counter, never deletes one (docs/rfcs/0003-epoch-fencing.md).
 */
export const FENCE_TAKEOVER_FILE_NUMBER_GAP = 1_000_000;
/**
 * Most bytes of WAL records an open replays and copies into its new WAL rather than flushing into
 * an SSTable before it serves (engine-recovery.ts): above it, the flush. At least what a planned move
 * leaves to its next owner (CLUSTER_MOVE_FINAL_FLUSH_BYTES_MIN), so that such an open makes no SSTable.
 */
export const RECOVERY_LOG_COPY_BYTES_MAX = 2 * 1024 * 1024;

// ---- Cluster: master, tablet servers, routing (src/master, src/cluster) --------------------------

/** Time to live of a tablet server's coordination session: its tablets move this long after it dies. */
export const CLUSTER_SERVER_SESSION_TTL_MS = 2_000;
/** Time to live of the master's lock; a standby master takes over within about this. */
export const CLUSTER_MASTER_LOCK_TTL_MS = 5_000;
/**
 * Longest a master that lost its lock may take to stop serving before it campaigns again; past it
 * the process exits (something local hangs, and a fresh process is the safe way back).
 */
export const CLUSTER_MASTER_STEP_DOWN_MS_MAX = 10_000;
/** The master renews its lock every ttl × this. */
export const CLUSTER_MASTER_RENEW_FRACTION = 1 / 3;
/** Pause between two tries of a standby master to take the lock. */
export const CLUSTER_MASTER_LOCK_RETRY_MS = 500;
/** Longest wait of CreateTable for its new tablets to open on their servers. */
export const CLUSTER_TABLE_OPEN_WAIT_MS = 10_000;
/** Pause between two tries to open a tablet whose directory another process still holds. */
export const CLUSTER_TABLET_OPEN_RETRY_MS = 100;
/**
 * Longest a row operation waits on the server that is opening its tablet (a move's target, or a
 * failover's), instead of answering "opening" at once: the call then proceeds the moment the open
 * ends, not after the open's report has reached the caller's view.
 */
export const CLUSTER_OWNER_OPENING_WAIT_MS_MAX = 1_000;
/** Most tries to open one tablet before the server gives it up (the master reassigns it later). */
export const CLUSTER_TABLET_OPEN_TRIES_MAX = 100;
/** Most tries of a new master to open the catalog while the previous master's process holds it. */
export const CLUSTER_CATALOG_OPEN_TRIES_MAX = 100;
/** Pause before a tablet server whose session expired registers again. */
export const CLUSTER_REJOIN_RETRY_MS = 500;
/** Longest a tablet server closing a tablet waits for the scans reading it. */
export const CLUSTER_CLOSE_READERS_WAIT_MS = 1_000;
/** Pause between two tries to restart a broken watch of the cluster keys. */
export const CLUSTER_VIEW_RETRY_MS = 500;
/** Pause before the master reconciles assignments again after a failed round. */
export const CLUSTER_RECONCILE_RETRY_MS = 500;
/** Deadline of one call a tablet server forwards to another server or to the master. */
export const CLUSTER_FORWARD_DEADLINE_MS = 30_000;
/** Rows a forwarded ReadRows segment collects before they are chunked and sent on. */
export const CLUSTER_READ_BATCH_ROWS = 256;
/**
 * Longest a routed call waits, in pauses between tries, for a tablet changing hands (a planned move,
 * or a failover) before its client gets UNAVAILABLE (src/cluster/hand-over-wait.ts): a planned move
 * takes a fraction of it, a failover about the session TTL plus reassignment.
 */
export const CLUSTER_HAND_OVER_WAIT_MS_MAX = 4_000;
/** First pause before a routed call tries a changing tablet again (the first retry has none). */
export const CLUSTER_HAND_OVER_PAUSE_FIRST_MS = 10;
/** Longest single pause between tries; pauses double up to it. */
export const CLUSTER_HAND_OVER_PAUSE_MAX_MS = 250;

// ---- `tabula cluster up` (src/cli/cluster-up.ts) ----
/** Most tablet servers `tabula cluster up` starts. */
export const CLUSTER_UP_SERVERS_MAX = 64;
/** Longest `tabula cluster up` waits for etcd to report healthy. */
export const CLUSTER_UP_ETCD_START_MS = 20_000;
/** Pause between two health probes of the local etcd. */
export const CLUSTER_UP_ETCD_PROBE_MS = 100;
/** Deadline of one health probe of the local etcd. */
export const CLUSTER_UP_ETCD_PROBE_DEADLINE_MS = 1_000;
/** Longest `tabula cluster up` waits for the master or a tablet server to say it serves. */
export const CLUSTER_UP_PROCESS_START_MS = 30_000;
/** Longest `tabula cluster up` waits for a child to exit after SIGTERM before it sends SIGKILL. */
export const CLUSTER_UP_STOP_GRACE_MS = 10_000;
/** Characters of a child's standard error kept for a start failure's message. */
export const CLUSTER_UP_STDERR_TAIL_CHARS = 4_000;

// ---- Cluster API: fan-out of admin data work, peer control calls (src/cluster/peer-control.ts) ----
/** Deadline of one peer control call (drop a range, purge a family, sync a view, sample a tablet). */
export const CLUSTER_PEER_CONTROL_DEADLINE_MS = 30_000;
/** Pause before the master asks a tablet's owner again after a `moved` or UNAVAILABLE answer. */
export const CLUSTER_FANOUT_RETRY_MS = 250;
/** Most tries per tablet of a fanned-out drop or purge (at the pause above: about 30 s). */
export const CLUSTER_FANOUT_TRIES_MAX = 120;
/** Deadline of the view sync a tablet server asks of every other live server after an admin call. */
export const CLUSTER_VIEW_SYNC_DEADLINE_MS = 2_000;

// ---- Cluster console and metrics (src/web/cluster-*.ts, src/cluster/tablet-stats-publisher.ts) ----
/** Recent cluster events (joins, deaths, assignments, moves, failovers) a process keeps for its console. */
export const CLUSTER_CONSOLE_EVENTS_MAX = 200;
/** Tablets a cluster table page lists and maps; a larger table shows its first ones and says so. */
export const CLUSTER_CONSOLE_TABLETS_MAX = 2_000;
/** Period at which a tablet server publishes its tablets' sizes and write rates (`cluster/stats/`). */
export const CLUSTER_STATS_PUBLISH_INTERVAL_MS = 2_000;
/** Forward targets a tablet server's `/metrics` labels separately; the rest count under `other`. */
export const CLUSTER_METRICS_TARGETS_MAX = 128;
/** Tablets whose owner epoch a process's `/metrics` exports one series each for. */
export const CLUSTER_METRICS_TABLETS_MAX = 2_000;
/** Splits and merges the one-process console remembers per table (newest kept). */
export const CONSOLE_TABLE_HISTORY_MAX = 100;

// ---- Cluster balancing and planned moves (src/master/balancer.ts, src/master/planned-moves.ts) ----
/** Period of the master's balancing round. */
export const CLUSTER_BALANCE_PERIOD_MS = 5_000;
/** Delay of the balancing round the master runs after the set of live servers changed. */
export const CLUSTER_BALANCE_AFTER_CHANGE_MS = 1_000;
/** Most planned moves in flight at once (a balancing round starts at most this many less those running). */
export const CLUSTER_BALANCE_MOVES_MAX = 4;
/** Most (tablet, server) candidates the balancer weighs per step (sampled beyond). */
export const CLUSTER_BALANCE_CANDIDATES_MAX = 20_000;
/**
 * A tablet released for a move is flushed again after its writes stopped only if its memtable
 * holds this much (what the first flush, made while it still served, left behind); less is
 * replayed from the WAL by the next owner.
 */
export const CLUSTER_MOVE_FINAL_FLUSH_BYTES_MIN = 1024 * 1024;
/** A tablet handed over is not moved again by the balancer for this long. */
export const CLUSTER_BALANCE_MOVED_COOLDOWN_MS = 30_000;
/** Longest an owner may take to release a tablet for a planned move before the move is cancelled. */
export const CLUSTER_MOVE_RELEASE_WAIT_MS = 10_000;

// ---- Client routing in a cluster (src/client/tablet-*.ts, src/cluster/tablet-location-*.ts) ----
/** Tablets one TabletLocations answer lists (the first ones in key order); rows beyond go through the entry server. */
export const CLUSTER_LOCATION_TABLETS_MAX = 10_000;
/** Deadline of one TabletLocations call from a client to its entry server. */
export const CLIENT_LOCATION_DEADLINE_MS = 5_000;
/**
 * Age after which a client fetches a table's tablet locations again even without a failure: a
 * stale entry costs one forwarding hop per call (the old owner's public port forwards), never an
 * error, so this bounds how long a moved tablet keeps costing that hop.
 */
export const CLIENT_LOCATION_TTL_MS = 10_000;
/**
 * Age after which a client fetches a table's locations again when its last answer was incomplete:
 * the fetch failed, or a tablet had no live owner (a failover under way). Such an entry sends rows
 * through the entry server, so it is kept only briefly.
 */
export const CLIENT_LOCATION_INCOMPLETE_TTL_MS = 1_000;
/** Tables whose tablet locations a client keeps (the least recently used is dropped beyond). */
export const CLIENT_LOCATION_TABLES_MAX = 256;
/** gRPC channels a client keeps open to tablet owners besides its entry server (least recently used closed beyond). */
export const CLIENT_OWNER_CHANNELS_MAX = 64;

// ---- Cluster splits, merges and shared-file GC (src/cluster/tablet-splitter.ts, src/master/split-coordinator.ts, src/master/shared-file-gc.ts) ----
/** How long the shared-file GC waits after first seeing a path unreferenced before deleting it. */
export const FILE_GC_GRACE_MS_DEFAULT = 10 * 60_000;
/** Period of the master's shared-file GC sweeps. */
export const FILE_GC_INTERVAL_MS_DEFAULT = 60_000;
/** Deadline of one CommitTablets call from a tablet server to the master. */
export const CLUSTER_COMMIT_TABLETS_DEADLINE_MS = 5_000;
/** Pause before a tablet server asks the master again to commit a split or merge. */
export const CLUSTER_COMMIT_TABLETS_RETRY_MS = 250;
/** Longest a tablet server asks for one commit before it gives up (the parent then stays failed). */
export const CLUSTER_COMMIT_TABLETS_WAIT_MS = 60_000;
/** Period at which a tablet server looks for small adjacent tablets of its own to merge. */
export const CLUSTER_MERGE_CHECK_INTERVAL_MS = 5_000;
/** Longest a tablet server holds a table gate at the master (the master releases it then). */
export const CLUSTER_TABLE_GATE_LEASE_MS = 10_000;
/** Deadline of one AcquireTableGate call (the master's admin chain may be busy). */
export const CLUSTER_TABLE_GATE_DEADLINE_MS = 3_000;
