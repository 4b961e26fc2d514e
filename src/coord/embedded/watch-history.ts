/**
 * The embedded driver's bounded history of recent changes, from which a watch with `fromRevision`
 * is replayed. It holds the newest events only: at most `COORD_WATCH_HISTORY_EVENTS_MAX` events and
 * `COORD_WATCH_HISTORY_BYTES_MAX` value bytes; older ones are dropped (compacted) a whole revision
 * at a time. Nothing is persisted: after a restart the history starts empty at the next revision.
 *
 * Concurrency: single-threaded; the owner records each change after it is durable.
 * Invariants: events are in commit order; every event with revision ≥ `firstRevision` that was
 * recorded is still held, so a replay from any revision ≥ `firstRevision` has no gap.
 */
import { COORD_WATCH_HISTORY_BYTES_MAX, COORD_WATCH_HISTORY_EVENTS_MAX } from '../../common/limits.js';
import type { KeyChange } from './embedded-changes.js';

/** A recorded change (value owned by the history; copy before handing out). */
export interface HistoryEvent extends KeyChange {
  readonly version: number;
}

/** Recent changes, oldest first. */
export class WatchHistory {
  private events: HistoryEvent[] = [];
  private head = 0;
  private bytes = 0;

  /** @param firstRevision the first revision this history will hold (current revision + 1). */
  constructor(private firstRevision: number) {}

  /** Smallest revision a replay may start from. */
  get oldestRevision(): number {
    return this.firstRevision;
  }

  /** Records one durable change. */
  record(event: HistoryEvent): void {
    this.events.push(event);
    this.bytes += event.value?.length ?? 0;
    while (
      this.events.length - this.head > COORD_WATCH_HISTORY_EVENTS_MAX ||
      this.bytes > COORD_WATCH_HISTORY_BYTES_MAX
    ) {
      this.dropRevision();
    }
    if (this.head > COORD_WATCH_HISTORY_EVENTS_MAX) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }

  /** Events with revision ≥ `fromRevision`, or `undefined` when some were already dropped. */
  since(fromRevision: number): HistoryEvent[] | undefined {
    if (fromRevision < this.firstRevision) return undefined;
    const out: HistoryEvent[] = [];
    for (let i = this.head; i < this.events.length; i++) {
      const event = this.events[i]!;
      if (event.version >= fromRevision) out.push(event);
    }
    return out;
  }

  /** Drops the oldest revision's events (all of them: a txn's events share a revision). */
  private dropRevision(): void {
    const revision = this.events[this.head]!.version;
    while (this.head < this.events.length && this.events[this.head]!.version === revision) {
      this.bytes -= this.events[this.head]!.value?.length ?? 0;
      this.head++;
    }
    this.firstRevision = revision + 1;
  }
}
