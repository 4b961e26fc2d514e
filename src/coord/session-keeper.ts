/**
 * The local-clock half of a coordination session, shared by every driver: it sends keepalives in
 * the background through a driver-supplied transport and decides validity on this host's monotonic
 * clock alone (the rule in coordination.ts):
 *
 *   valid ⇔ not ended ∧ now < (send time of the last answered keepalive) + ttl − margin
 *
 * A keepalive is answered "alive" only if the server refreshed the lease on receipt, which is after
 * its send time, so the server cannot drop the lease before this deadline (up to clock-rate error,
 * which the margin covers). The keeper never waits for the server to report the lease lost.
 *
 * Concurrency: at most one keepalive in flight; timers come from the injected `CoordinationTimers`.
 * Invariants: `deadlineMs` only grows; once `ended`, the session never becomes valid again and no
 * timer stays scheduled; `onExpired` fires at most once, never after `close()`.
 */
import type { Clock } from '../common/clock.js';
import { COORD_SESSION_KEEPALIVE_FRACTION, COORD_SESSION_SAFETY_MARGIN_FRACTION } from '../common/limits.js';
import type { Session } from './coordination.js';
import type { CancelTimer, CoordinationTimers } from './coordination-timers.js';

/** How the keeper reaches the server for one session. */
export interface SessionTransport {
  /**
   * Sends one keepalive and resolves with whether the server still holds the lease (`false`: it is
   * gone for good). Rejects when there was no answer (connection lost, timeout).
   */
  keepAlive(timeoutMs: number): Promise<boolean>;
  /** Ends the lease on the server (its ephemeral keys go). Best effort once expired. */
  revoke(): Promise<void>;
}

/** Everything a keeper needs. */
export interface SessionKeeperOptions {
  readonly id: string;
  readonly ttlMs: number;
  readonly clock: Clock;
  readonly timers: CoordinationTimers;
  /** Monotonic time at which the request that created the lease was sent. */
  readonly grantSentAtMs: number;
  readonly transport: SessionTransport;
  readonly onExpired?: () => void;
  /** Called once when the session ends either way (the driver forgets it). */
  readonly onEnded: (keeper: SessionKeeper) => void;
}

/** A driver's `Session`: keepalives in the background, validity by the local clock. */
export class SessionKeeper implements Session {
  readonly id: string;
  readonly ttlMs: number;
  private deadlineMs: number;
  private ended = false;
  private closing: Promise<void> | undefined;
  private cancelKeepalive: CancelTimer | undefined;
  private cancelDeadline: CancelTimer | undefined;

  constructor(private readonly options: SessionKeeperOptions) {
    this.id = options.id;
    this.ttlMs = options.ttlMs;
    this.deadlineMs = options.grantSentAtMs + this.validForMs();
    this.scheduleKeepalive();
    this.scheduleDeadline();
  }

  isValid(): boolean {
    if (this.ended) return false;
    if (this.options.clock.monotonicMs() < this.deadlineMs) return true;
    this.expire();
    return false;
  }

  remainingMs(): number {
    return this.isValid() ? Math.max(0, this.deadlineMs - this.options.clock.monotonicMs()) : 0;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const wasLive = !this.ended;
      this.end();
      if (wasLive) await this.options.transport.revoke();
    })();
    return this.closing;
  }

  /** Ends the session as if its deadline passed (the driver closed or failed). */
  abandon(): void {
    this.end();
  }

  /** Time from a keepalive's send time until the session stops trusting it. */
  private validForMs(): number {
    return this.ttlMs * (1 - COORD_SESSION_SAFETY_MARGIN_FRACTION);
  }

  private periodMs(): number {
    return this.ttlMs * COORD_SESSION_KEEPALIVE_FRACTION;
  }

  private scheduleKeepalive(): void {
    if (this.ended) return;
    this.cancelKeepalive = this.options.timers.setTimer(this.periodMs(), () => {
      this.cancelKeepalive = undefined;
      void this.keepAliveOnce();
    });
  }

  private async keepAliveOnce(): Promise<void> {
    if (!this.isValid()) return;
    const sentAtMs = this.options.clock.monotonicMs();
    let alive: boolean;
    try {
      alive = await this.options.transport.keepAlive(this.periodMs());
    } catch {
      this.scheduleKeepalive();
      return;
    }
    if (this.ended) return;
    if (!alive) {
      this.expire();
      return;
    }
    // An answer that arrives after the deadline cannot revive the session: isValid() latched it.
    if (!this.isValid()) return;
    this.deadlineMs = Math.max(this.deadlineMs, sentAtMs + this.validForMs());
    this.scheduleKeepalive();
  }

  private scheduleDeadline(): void {
    if (this.ended) return;
    const waitMs = this.deadlineMs - this.options.clock.monotonicMs();
    this.cancelDeadline = this.options.timers.setTimer(Math.max(0, waitMs), () => {
      this.cancelDeadline = undefined;
      if (this.isValid()) this.scheduleDeadline();
    });
  }

  /** The deadline passed or the server dropped the lease: invalid for good. */
  private expire(): void {
    if (this.ended) return;
    this.end();
    // The server may still hold the lease (only our answers were lost): drop it so that what the
    // cluster sees agrees with what this host decided.
    this.options.transport.revoke().catch(() => {});
    const onExpired = this.options.onExpired;
    if (onExpired) queueMicrotask(onExpired);
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.cancelKeepalive?.();
    this.cancelDeadline?.();
    this.cancelKeepalive = undefined;
    this.cancelDeadline = undefined;
    this.options.onEnded(this);
  }
}
