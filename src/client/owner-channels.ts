/**
 * The gRPC channels a routing client keeps to tablet owners, one per owner address, at most
 * CLIENT_OWNER_CHANNELS_MAX. Beyond the bound the least recently used channel with no call in
 * flight is closed; when every channel is busy the caller gets none and sends through the entry
 * server instead (never an unbounded set of connections, never a call cancelled by an eviction).
 *
 * Ownership: the pool owns its channels; `close()` closes them all. A lease (`acquire`) counts one
 * call in flight on its channel until `release()`; a channel is closed only with no call in
 * flight (or by `close()`).
 *
 * Concurrency: single event-loop thread.
 */
import { CLIENT_OWNER_CHANNELS_MAX } from '../common/limits.js';

/** What the pool needs of a channel. */
export interface ClosableChannel {
  close(): void;
}

/** One call's hold on a channel. */
export interface ChannelLease<C> {
  readonly channel: C;
  /** Ends the hold (idempotent). */
  release(): void;
}

interface Slot<C> {
  readonly channel: C;
  inFlight: number;
}

/** A bounded set of channels by address. */
export class OwnerChannels<C extends ClosableChannel> {
  /** By address, least recently used first. */
  private readonly slots = new Map<string, Slot<C>>();
  private closed = false;

  constructor(
    private readonly open: (address: string) => C,
    private readonly channelsMax = CLIENT_OWNER_CHANNELS_MAX,
  ) {}

  /** Channels open now. */
  get size(): number {
    return this.slots.size;
  }

  /**
   * A lease on the channel to `address` (opened if needed), or undefined when the pool is full of
   * channels with calls in flight, or closed.
   */
  acquire(address: string): ChannelLease<C> | undefined {
    if (this.closed) return undefined;
    let slot = this.slots.get(address);
    if (slot !== undefined) {
      this.slots.delete(address);
    } else {
      if (this.slots.size >= this.channelsMax && !this.evictIdle()) return undefined;
      slot = { channel: this.open(address), inFlight: 0 };
    }
    this.slots.set(address, slot);
    const held = slot;
    held.inFlight++;
    let released = false;
    return {
      channel: held.channel,
      release: () => {
        if (released) return;
        released = true;
        held.inFlight--;
      },
    };
  }

  /** Closes the idle channel to `address`, if any (its server went away; a new one reconnects). */
  drop(address: string): void {
    const slot = this.slots.get(address);
    if (slot === undefined || slot.inFlight > 0) return;
    this.slots.delete(address);
    slot.channel.close();
  }

  /** Closes every channel. */
  close(): void {
    this.closed = true;
    for (const slot of this.slots.values()) slot.channel.close();
    this.slots.clear();
  }

  /** Closes the least recently used idle channel; false when every channel is busy. */
  private evictIdle(): boolean {
    for (const [address, slot] of this.slots) {
      if (slot.inFlight > 0) continue;
      this.slots.delete(address);
      slot.channel.close();
      return true;
    }
    return false;
  }
}
