/**
 * Server-assigned cell timestamps: millisecond granularity (as Bigtable requires), strictly
 * increasing per tablet, also across restarts and clock steps backwards. The tablet persists a
 * reservation (`reservedUntilMicros`) in the same atomic batch as the first write that needs a
 * timestamp beyond it; after a restart, timestamps start above the persisted reservation.
 */
import type { Clock } from '../common/clock.js';
import { TIMESTAMP_RESERVATION_MICROS } from '../common/limits.js';

export { TIMESTAMP_RESERVATION_MICROS };

const MICROS_PER_MS = 1000;

export class TimestampOracle {
  private lastMicros: number;

  constructor(
    private readonly clock: Clock,
    /** The reservation recovered from storage (0 for a new tablet). */
    private reservedUntilMicros: number,
  ) {
    this.lastMicros = reservedUntilMicros;
  }

  /**
   * The next timestamp; `reserve` is called with a new reservation when the timestamp passes the
   * current one — the caller must persist it atomically with the write that uses the timestamp.
   */
  next(reserve: (reservedUntilMicros: number) => void): number {
    const nowMicros = Math.floor(this.clock.nowMs()) * MICROS_PER_MS;
    const ts = Math.max(nowMicros, this.lastMicros + MICROS_PER_MS);
    this.lastMicros = ts;
    if (ts > this.reservedUntilMicros) {
      this.reservedUntilMicros = ts + TIMESTAMP_RESERVATION_MICROS;
      reserve(this.reservedUntilMicros);
    }
    return ts;
  }

  /** After a failed write: the reservation it carried may not be durable, so persist it again. */
  forgetReservation(): void {
    this.reservedUntilMicros = Math.min(this.reservedUntilMicros, this.lastMicros);
  }
}
