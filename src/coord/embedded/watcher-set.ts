/**
 * The registered prefix watchers of one coordination instance and the delivery of change events.
 *
 * Delivery is synchronous: the owner calls `dispatch` for each change right after it is durable and
 * before the next change starts, so each listener sees changes in commit order with nothing queued
 * (no unbounded buffer). Each listener gets its own copy of the value. A listener that throws does
 * not stop delivery to the others: its error is rethrown from a microtask, where it surfaces as an
 * uncaught exception (a listener bug, like a throwing EventEmitter listener).
 *
 * Concurrency: single-threaded. A listener may unsubscribe itself or others, add watchers, or start
 * new changes (they are queued behind the current one) while an event is being dispatched; a watcher
 * removed during a dispatch receives nothing more, and one added during it receives only later events.
 *
 * Invariants: at most `COORD_WATCHERS_MAX` watchers.
 */
import { errors } from '../../common/errors.js';
import { COORD_WATCHERS_MAX } from '../../common/limits.js';
import type { Unsubscribe, WatchListener } from '../coordination.js';

interface Watcher {
  readonly prefix: string;
  readonly listener: WatchListener;
}

/** Prefix watchers, in registration order. */
export class WatcherSet {
  private readonly watchers = new Set<Watcher>();

  /** Number of registered watchers. */
  get size(): number {
    return this.watchers.size;
  }

  /** Registers `listener` for keys starting with `prefix`. RESOURCE_EXHAUSTED when full. */
  add(prefix: string, listener: WatchListener): Unsubscribe {
    if (this.watchers.size >= COORD_WATCHERS_MAX) {
      throw errors.resourceExhausted('too many coordination watchers', { max: COORD_WATCHERS_MAX });
    }
    const watcher: Watcher = { prefix, listener };
    this.watchers.add(watcher);
    return () => {
      this.watchers.delete(watcher);
    };
  }

  /** Delivers one durable change to every watcher whose prefix matches `key`. */
  dispatch(key: string, value: Buffer | undefined, version: number): void {
    for (const watcher of [...this.watchers]) {
      if (!key.startsWith(watcher.prefix) || !this.watchers.has(watcher)) continue;
      try {
        watcher.listener({ key, value: value === undefined ? undefined : Buffer.from(value), version });
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Drops every watcher (the instance closed or failed). */
  clear(): void {
    this.watchers.clear();
  }
}
