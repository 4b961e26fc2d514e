/**
 * The registered prefix watchers of one embedded coordination instance and the delivery of change
 * events.
 *
 * Delivery is synchronous: the owner calls `dispatch` for each change right after it is durable and
 * before the next change starts, so each listener sees changes in commit order. A watcher resuming
 * from a revision first receives its replay (events taken from the history when it was added) in a
 * microtask; live events dispatched before that microtask runs wait behind the replay, so the two
 * join with no gap and no duplicate. Each listener gets its own copy of the value. A listener that
 * throws does not stop delivery to the others: its error is rethrown from a microtask, where it
 * surfaces as an uncaught exception (a listener bug, like a throwing EventEmitter listener).
 *
 * Concurrency: single-threaded. A listener may unsubscribe itself or others, add watchers, or start
 * new changes (they are queued behind the current one) while an event is being dispatched; a watcher
 * removed during a dispatch receives nothing more, and one added during it receives only later events.
 *
 * Invariants: at most `COORD_WATCHERS_MAX` watchers; a watcher's `pending` queue exists only until
 * its replay microtask runs; `onBroken` is called at most once per watcher, and nothing after it.
 */
import { errors } from '../../common/errors.js';
import { COORD_WATCHERS_MAX } from '../../common/limits.js';
import type { Unsubscribe, WatchEvent, WatchListener } from '../coordination.js';
import type { HistoryEvent } from './watch-history.js';

interface Watcher {
  readonly prefix: string;
  readonly listener: WatchListener;
  readonly onBroken: ((reason: string) => void) | undefined;
  /** Events below this revision are not delivered (a start revision in the future). */
  readonly fromRevision: number;
  /** Events waiting for the replay microtask (replay first, then live ones), or `undefined`. */
  pending: HistoryEvent[] | undefined;
}

/** Prefix watchers, in registration order. */
export class WatcherSet {
  private readonly watchers = new Set<Watcher>();

  /** Number of registered watchers. */
  get size(): number {
    return this.watchers.size;
  }

  /**
   * Registers `listener` for keys starting with `prefix`; `replay` (commit order) is delivered
   * before any live event. RESOURCE_EXHAUSTED when full.
   */
  add(
    prefix: string,
    listener: WatchListener,
    replay: HistoryEvent[] | undefined,
    onBroken?: (reason: string) => void,
    fromRevision = 0,
  ): Unsubscribe {
    if (this.watchers.size >= COORD_WATCHERS_MAX) {
      throw errors.resourceExhausted('too many coordination watchers', { max: COORD_WATCHERS_MAX });
    }
    const watcher: Watcher = { prefix, listener, onBroken, fromRevision, pending: undefined };
    this.watchers.add(watcher);
    if (replay) {
      watcher.pending = replay.filter((event) => event.key.startsWith(prefix));
      queueMicrotask(() => this.flushPending(watcher));
    }
    return () => {
      this.watchers.delete(watcher);
    };
  }

  /** Delivers one durable change to every watcher whose prefix matches `key`. */
  dispatch(key: string, value: Buffer | undefined, version: number): void {
    for (const watcher of [...this.watchers]) {
      if (!key.startsWith(watcher.prefix) || !this.watchers.has(watcher)) continue;
      if (version < watcher.fromRevision) continue;
      if (watcher.pending) watcher.pending.push({ key, value, version });
      else deliver(watcher, { key, value, version });
    }
  }

  /** Drops every watcher (the instance closed). */
  clear(): void {
    this.watchers.clear();
  }

  /** Drops every watcher, telling each that its watch broke (the instance failed). */
  breakAll(reason: string): void {
    const broken = [...this.watchers];
    this.watchers.clear();
    for (const watcher of broken) {
      const onBroken = watcher.onBroken;
      if (onBroken) queueMicrotask(() => onBroken(reason));
    }
  }

  private flushPending(watcher: Watcher): void {
    const pending = watcher.pending ?? [];
    // Events dispatched while flushing are appended to `pending` and delivered by this loop.
    for (let i = 0; i < pending.length && this.watchers.has(watcher); i++) deliver(watcher, pending[i]!);
    watcher.pending = undefined;
  }
}

function deliver(watcher: Watcher, event: HistoryEvent): void {
  const copy: WatchEvent = {
    key: event.key,
    value: event.value === undefined ? undefined : Buffer.from(event.value),
    version: event.version,
  };
  try {
    watcher.listener(copy);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}
