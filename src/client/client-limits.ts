/**
 * Bounds and defaults of the Node API client. The bounds themselves live in src/common/limits.ts
 * with every other limit; this module re-exports them for the client's files. Retry defaults follow
 * the official Bigtable clients' order of magnitude: a few attempts, backoff from 10 ms doubling to
 * 1 s, each operation bounded by a total deadline.
 */
export {
  CALL_DEADLINE_MS_DEFAULT,
  CONNECT_TIMEOUT_MS_DEFAULT,
  LIST_TABLES_PAGE_SIZE,
  LIST_TABLES_PAGES_MAX,
  MUTATE_ROWS_REQUEST_BYTES_TARGET,
  RETRY_ATTEMPTS_MAX_DEFAULT,
  RETRY_BACKOFF_MS_INITIAL_DEFAULT,
  RETRY_BACKOFF_MS_MAX_DEFAULT,
  RETRY_BACKOFF_MULTIPLIER,
} from '../common/limits.js';

/** Default project of `connect()`. */
export const PROJECT_DEFAULT = 'tabula';
/** Default instance of `connect()`. */
export const INSTANCE_DEFAULT = 'tabula';
