/**
 * The live lock holders of the embedded driver and the `Lease` objects handed to them.
 *
 * Only the epoch counter is persisted (in the state file, by the owner of this table): holders live
 * in memory. That is enough for the embedded driver, whose lease holders run in the same process:
 * after a restart no old lease object exists, every lock is free, and the persisted counter makes
 * each new epoch larger than every epoch granted before the restart.
 *
 * Time is the injected clock's monotonic milliseconds: a lease is valid while `now < expiresAtMs`.
 *
 * Concurrency: single-threaded; the owner serializes grants (one mutation at a time), while
 * `renew`, `release` and `isValid` act at once. An expired lease is dead for good: `renew` does not
 * revive it, so a takeover that saw it expired can never be contradicted.
 *
 * Invariants: at most one holder per lock name; a `Lease` is valid only while the table's holder of
 * its name carries its epoch and has not expired, and the table is open; at most `COORD_LOCKS_MAX`
 * holders.
 */
import type { Clock } from '../../common/clock.js';
import { errors } from '../../common/errors.js';
import { COORD_LOCKS_MAX } from '../../common/limits.js';
import type { Lease } from '../coordination.js';

/** The current holder of one lock. */
interface LockHolder {
  readonly owner: string;
  readonly epoch: number;
  readonly ttlMs: number;
  /** Monotonic clock time at which the lease lapses unless renewed. */
  expiresAtMs: number;
}

/** Live lock holders by lock name. */
export class LockTable {
  private readonly holders = new Map<string, LockHolder>();
  private open = true;

  constructor(private readonly clock: Clock) {}

  /** The owner of the valid lease on `name`, or `undefined` when the lock is free. */
  liveOwner(name: string): string | undefined {
    return this.liveHolder(name)?.owner;
  }

  /**
   * Frees `name` for a new grant: drops its holder (a superseded lease stops being valid now) and
   * makes sure there is room for one more holder. RESOURCE_EXHAUSTED beyond `COORD_LOCKS_MAX`.
   */
  prepareGrant(name: string): void {
    this.holders.delete(name);
    if (this.holders.size < COORD_LOCKS_MAX) return;
    for (const held of [...this.holders.keys()]) this.liveHolder(held);
    if (this.holders.size >= COORD_LOCKS_MAX) {
      throw errors.resourceExhausted('too many coordination locks are held', { max: COORD_LOCKS_MAX });
    }
  }

  /** Records a grant (after its epoch is durable) and returns its lease. */
  grant(name: string, owner: string, epoch: number, ttlMs: number): Lease {
    this.holders.set(name, { owner, epoch, ttlMs, expiresAtMs: this.clock.monotonicMs() + ttlMs });
    return new EmbeddedLease(this, name, owner, epoch, ttlMs);
  }

  /** Whether the lease of `name` with `epoch` is valid now. */
  isValid(name: string, epoch: number): boolean {
    return this.liveHolder(name)?.epoch === epoch;
  }

  /** Extends the lease of `name` with `epoch` if it is valid; returns whether it was. */
  renew(name: string, epoch: number): boolean {
    const holder = this.liveHolder(name);
    if (holder?.epoch !== epoch) return false;
    holder.expiresAtMs = this.clock.monotonicMs() + holder.ttlMs;
    return true;
  }

  /** Frees `name` if the lease with `epoch` holds it. */
  release(name: string, epoch: number): void {
    if (this.holders.get(name)?.epoch === epoch) this.holders.delete(name);
  }

  /** Invalidates every lease, for good (the coordination instance closed or failed). */
  close(): void {
    this.open = false;
    this.holders.clear();
  }

  /** The holder of `name` if its lease is valid; drops an expired one. */
  private liveHolder(name: string): LockHolder | undefined {
    if (!this.open) return undefined;
    const holder = this.holders.get(name);
    if (!holder) return undefined;
    if (this.clock.monotonicMs() < holder.expiresAtMs) return holder;
    this.holders.delete(name);
    return undefined;
  }
}

/** A lease handed out by `LockTable.grant`; its state lives in the table. */
class EmbeddedLease implements Lease {
  constructor(
    private readonly table: LockTable,
    readonly name: string,
    readonly owner: string,
    readonly epoch: number,
    readonly ttlMs: number,
  ) {}

  isValid(): boolean {
    return this.table.isValid(this.name, this.epoch);
  }

  async renew(): Promise<boolean> {
    return this.table.renew(this.name, this.epoch);
  }

  async release(): Promise<void> {
    this.table.release(this.name, this.epoch);
  }
}
