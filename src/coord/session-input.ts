/**
 * Validation of session and watch options, shared by every driver (INVALID_ARGUMENT, before any
 * work is done).
 *
 * Concurrency: pure functions.
 */
import { errors } from '../common/errors.js';
import { COORD_LEASE_TTL_MS_MAX, COORD_SESSION_TTL_MS_MIN } from '../common/limits.js';
import type { WatchOptions } from './coordination.js';

/** Checks a session TTL: a safe integer in [COORD_SESSION_TTL_MS_MIN, COORD_LEASE_TTL_MS_MAX]. */
export function checkSessionTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < COORD_SESSION_TTL_MS_MIN || ttlMs > COORD_LEASE_TTL_MS_MAX) {
    throw errors.invalidArgument('session ttl is out of range', {
      ttlMs: String(ttlMs),
      min: COORD_SESSION_TTL_MS_MIN,
      max: COORD_LEASE_TTL_MS_MAX,
    });
  }
}

/** Checks watch options: `fromRevision` a positive safe integer, `onBroken` a function. */
export function checkWatchOptions(options: WatchOptions): void {
  const { fromRevision, onBroken } = options;
  if (fromRevision !== undefined && (!Number.isSafeInteger(fromRevision) || fromRevision < 1)) {
    throw errors.invalidArgument('watch start revision is not a positive integer', {
      fromRevision: String(fromRevision),
    });
  }
  if (onBroken !== undefined && typeof onBroken !== 'function') {
    throw errors.invalidArgument('watch onBroken is not a function');
  }
}
