/**
 * Timers of the coordination drivers (session keepalives and deadlines), injected like the clock so
 * a simulation can drive them. `Clock` (src/common/clock.ts) has no timers yet; this is the seam the
 * coordination code uses until it does.
 *
 * Concurrency: callbacks run on the event loop, never re-entrantly inside `setTimer`.
 */

/** Cancels a timer; calling it after the timer fired or twice does nothing. */
export type CancelTimer = () => void;

/** A source of one-shot timers. */
export interface CoordinationTimers {
  /** Calls `callback` once after `delayMs` milliseconds unless cancelled. */
  setTimer(delayMs: number, callback: () => void): CancelTimer;
}

/** Real timers; they do not keep the process alive (a session alone must not block exit). */
export const systemTimers: CoordinationTimers = {
  setTimer(delayMs, callback) {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    handle.unref();
    return () => clearTimeout(handle);
  },
};
