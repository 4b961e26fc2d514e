/**
 * Bounds and defaults of the Node API client. Units last. Retry defaults follow the official
 * Bigtable clients' order of magnitude: a few attempts, backoff from 10 ms doubling to 1 s, each
 * operation bounded by a total deadline.
 */

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
/** Default project of `connect()`. */
export const PROJECT_DEFAULT = 'tabula';
/** Default instance of `connect()`. */
export const INSTANCE_DEFAULT = 'tabula';
