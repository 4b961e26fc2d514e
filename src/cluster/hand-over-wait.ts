/**
 * How a routed call rides out a tablet changing hands. While a tablet moves (planned move, or
 * failover after its server died), the owner answers `moved` or "opening", or the view names a
 * server that is gone. Each of these answers is given before anything is applied, so the router
 * may try again without risk of applying a write twice. The first retry follows a refresh of the
 * view; each later one follows the next change of the view (the new owner's assignment or its
 * report that it serves, through the view's watch) or a growing pause, whichever comes first (a
 * pause that passes without a change refreshes the view). All this for at most
 * CLUSTER_HAND_OVER_WAIT_MS_MAX of pauses (counted in full, so it bounds the time too). A client so sees a move as a
 * slower call, not an error; only a hand-over that takes longer reaches it, as UNAVAILABLE (which
 * clients retry). Errors of any other kind (a peer that stopped answering mid-call, whose write may
 * have been applied) are never retried here.
 *
 * Concurrency: one instance per routed call, on the event loop; pauses come from the injected timers.
 */
import {
  CLUSTER_HAND_OVER_PAUSE_FIRST_MS,
  CLUSTER_HAND_OVER_PAUSE_MAX_MS,
  CLUSTER_HAND_OVER_WAIT_MS_MAX,
} from '../common/limits.js';
import type { CoordinationTimers } from '../coord/coordination-timers.js';
import { isMoved } from './owned-tablets.js';

/**
 * The messages of the answers that mean "this tablet is between owners; nothing was applied",
 * besides `moved` (owned-tablets.ts). Throwers use these, so the match below cannot drift from
 * them; they cross the peer port as gRPC status messages, hence messages, not error classes.
 */
export const HAND_OVER = Object.freeze({
  opening: 'tablet is opening on its owner',
  serverGone: 'the server of this tablet is not live; it is being reassigned',
  unassigned: 'no tablet of the table is assigned yet',
});

/** Whether `err` says the row's tablet is changing hands (refused before anything was applied). */
export function isHandOver(err: unknown): boolean {
  if (isMoved(err)) return true;
  const message = err instanceof Error ? err.message : '';
  return Object.values(HAND_OVER).some((m) => message.includes(m));
}

/** The retries of one routed call across hand-overs. */
export class HandOverWait {
  private tries = 0;
  private waitedMs = 0;
  private pauseMs = CLUSTER_HAND_OVER_PAUSE_FIRST_MS;

  constructor(
    private readonly timers: CoordinationTimers,
    private readonly view: {
      refresh(): Promise<void>;
      onChange(listener: () => void): () => void;
    },
  ) {}

  /**
   * After a failed try: false when `err` is not a hand-over or the wait bound is spent (the caller
   * throws it); else pauses (not before the first retry), refreshes the view and returns true.
   */
  async again(err: unknown): Promise<boolean> {
    if (!isHandOver(err) || this.waitedMs >= CLUSTER_HAND_OVER_WAIT_MS_MAX) return false;
    if (this.tries++ === 0) {
      await this.view.refresh();
      return true;
    }
    const pauseMs = Math.min(this.pauseMs, CLUSTER_HAND_OVER_WAIT_MS_MAX - this.waitedMs);
    this.pauseMs = Math.min(this.pauseMs * 2, CLUSTER_HAND_OVER_PAUSE_MAX_MS);
    // A pause counts in full even when a change ends it early: the bound is on tries, not time.
    this.waitedMs += pauseMs;
    if (!(await this.changeOrPause(pauseMs))) await this.view.refresh();
    return true;
  }

  /** True when the view changed within `pauseMs`, false when the pause passed first. */
  private changeOrPause(pauseMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let cancelTimer: () => void = () => undefined;
      const stopListening = this.view.onChange(() => {
        stopListening();
        cancelTimer();
        resolve(true);
      });
      cancelTimer = this.timers.setTimer(pauseMs, () => {
        stopListening();
        resolve(false);
      });
    });
  }
}
