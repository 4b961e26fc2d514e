/**
 * When and how long a remote client waits before retrying. Only idempotent calls are retried, and
 * only on errors whose code says a retry may succeed (`TabulaError.retryable`). Attempts are bounded
 * by a count and by the operation's total deadline; waits grow exponentially with full jitter
 * (a uniform wait up to the current bound), so many clients do not retry in lockstep.
 *
 * Randomness and sleeping are injected so tests run without real waits.
 */
import type { Rand } from '../common/clock.js';
import { systemRand } from '../common/clock.js';
import type { TabulaError } from '../common/errors.js';
import {
  CALL_DEADLINE_MS_DEFAULT,
  READ_IDLE_MS_DEFAULT,
  RETRY_ATTEMPTS_MAX_DEFAULT,
  RETRY_BACKOFF_MS_INITIAL_DEFAULT,
  RETRY_BACKOFF_MS_MAX_DEFAULT,
  RETRY_BACKOFF_MULTIPLIER,
} from './client-limits.js';

/** Retry settings of `connect()`. */
export interface RetryOptions {
  /** Most attempts of an idempotent call, the first included (1 disables retries). Default 5. */
  readonly attemptsMax?: number;
  /** Upper bound of the first wait. Default 10 ms. */
  readonly backoffMsInitial?: number;
  /** Upper bound of any wait. Default 1000 ms. */
  readonly backoffMsMax?: number;
  /**
   * Total deadline of one unary call, retries included; for a read, the retry budget counted from
   * its last row. Default 60 000 ms.
   */
  readonly deadlineMs?: number;
  /**
   * Longest a read waits for the server's next message before the attempt fails with
   * DEADLINE_EXCEEDED (and is retried). Default 60 000 ms.
   */
  readonly readIdleMs?: number;
}

/** Injected effects of a retry policy. */
export interface RetryEffects {
  /** Randomness for jitter. */
  readonly rand: Rand;
  /** Waits `ms` milliseconds. */
  readonly sleep: (ms: number) => Promise<void>;
  /** Monotonic milliseconds. */
  readonly nowMs: () => number;
  /** Runs `fire` after `ms` milliseconds unless the returned function is called first. */
  readonly timer: (ms: number, fire: () => void) => () => void;
}

/** The real effects. */
export const SYSTEM_RETRY_EFFECTS: RetryEffects = {
  rand: systemRand,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  nowMs: () => performance.now(),
  timer: (ms, fire) => {
    const handle = setTimeout(fire, ms);
    return () => clearTimeout(handle);
  },
};

/** A resolved retry policy. */
export class RetryPolicy {
  readonly attemptsMax: number;
  readonly backoffMsInitial: number;
  readonly backoffMsMax: number;
  readonly deadlineMs: number;
  readonly readIdleMs: number;

  constructor(
    options: RetryOptions = {},
    readonly effects: RetryEffects = SYSTEM_RETRY_EFFECTS,
  ) {
    this.attemptsMax = Math.max(1, Math.floor(options.attemptsMax ?? RETRY_ATTEMPTS_MAX_DEFAULT));
    this.backoffMsInitial = Math.max(0, options.backoffMsInitial ?? RETRY_BACKOFF_MS_INITIAL_DEFAULT);
    this.backoffMsMax = Math.max(this.backoffMsInitial, options.backoffMsMax ?? RETRY_BACKOFF_MS_MAX_DEFAULT);
    this.deadlineMs = Math.max(1, options.deadlineMs ?? CALL_DEADLINE_MS_DEFAULT);
    this.readIdleMs = Math.max(1, options.readIdleMs ?? READ_IDLE_MS_DEFAULT);
  }

  /** The wait before attempt `attempt + 1` (attempt counts from 1). */
  backoffMs(attempt: number): number {
    const bound = Math.min(
      this.backoffMsMax,
      this.backoffMsInitial * RETRY_BACKOFF_MULTIPLIER ** (attempt - 1),
    );
    return this.effects.rand.next() * bound;
  }

  /**
   * Runs `attempt(deadline)` until it succeeds, fails with a non-retryable error, runs out of
   * attempts, or the total deadline passes. `idempotent` false means exactly one attempt.
   */
  async run<T>(
    idempotent: boolean,
    attempt: (deadline: Date) => Promise<T>,
    toError: (err: unknown) => TabulaError,
  ): Promise<T> {
    const startMs = this.effects.nowMs();
    const deadline = new Date(Date.now() + this.deadlineMs);
    for (let n = 1; ; n++) {
      try {
        return await attempt(deadline);
      } catch (err) {
        const error = toError(err);
        if (!idempotent || !error.retryable || n >= this.attemptsMax) throw error;
        const wait = this.backoffMs(n);
        if (this.effects.nowMs() - startMs + wait >= this.deadlineMs) throw error;
        await this.effects.sleep(wait);
      }
    }
  }
}
