/**
 * Bounds and defaults of the Node API client. The bounds themselves live in src/common/limits.ts
 * with every other limit; this module re-exports them for the client's files. Retry defaults follow
 * the official Bigtable clients' order of magnitude: a few attempts, backoff from 10 ms doubling to
 * 1 s, each operation bounded by a total deadline (unary calls) or by the wait for each message
 * (reads), so no call hangs forever.
 */
export {
  CALL_DEADLINE_MS_DEFAULT,
  CONNECT_TIMEOUT_MS_DEFAULT,
  LIST_TABLES_PAGE_SIZE,
  LIST_TABLES_PAGES_MAX,
  MUTATE_ROWS_REQUEST_BYTES_TARGET,
  READ_DRAIN_MESSAGES_MAX,
  READ_DRAIN_MS_MAX,
  READ_IDLE_MS_DEFAULT,
  RETRY_ATTEMPTS_MAX_DEFAULT,
  RETRY_BACKOFF_MS_INITIAL_DEFAULT,
  RETRY_BACKOFF_MS_MAX_DEFAULT,
  RETRY_BACKOFF_MULTIPLIER,
} from '../common/limits.js';

/** Default project of `connect()`. */
export const PROJECT_DEFAULT = 'tabula';
/** Default instance of `connect()`. */
export const INSTANCE_DEFAULT = 'tabula';
