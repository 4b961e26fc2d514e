/**
 * Planned moves of tablets between live servers, driven through the cluster keys (no peer RPC):
 *
 * 1. `begin`: the master sets `moveTo: B` on the tablet's assignment (same server A, same owner
 *    epoch E), one txn comparing the key's version. A move request key (`cluster/move/…`) that
 *    asked for it is deleted in the same txn.
 * 2. A (src/cluster/tablet-server.ts) flushes the tablet while it still serves, stops admitting
 *    writes, waits for those inside, flushes again, closes it and reports `released` in the
 *    tablet's loaded key (under E).
 * 3. Seeing that report, the master assigns the tablet to B under a larger owner epoch (the
 *    assignment key's version — the revision of a write made after E was chosen, so ≥ E — or E,
 *    whichever is larger, plus one), again one txn
 *    comparing the version; B opens it (little WAL to replay) and reports it loaded.
 *
 * Exclusion never rests on A's cooperation: B's open fences the directory with the larger epoch
 * (docs/rfcs/0003-epoch-fencing.md). A move whose owner has not released within
 * CLUSTER_MOVE_RELEASE_WAIT_MS is cancelled (`moveTo` removed; A opens the tablet again if it had
 * closed it) while A's server key lives; if A's session ends instead, the failover path
 * (AssignmentHost.reconcile) reassigns the tablet, to B when B is live. A move to a server that
 * vanished is cancelled at once.
 *
 * A tablet handed over is not moved again by the balancer for CLUSTER_BALANCE_MOVED_COOLDOWN_MS
 * (`movedRecently`), so a requested move is not undone at once and no tablet ping-pongs.
 *
 * Concurrency: single event-loop thread; at most one txn per tablet at a time (`busy`). Every
 * decision is taken again from the view on each change, so a lost race (compare failed) is
 * retried by the next change or dropped when it no longer applies.
 */
import {
  type Assignment,
  assignKey,
  decodeAssignment,
  encodeAssignment,
  moveKey,
  tabletOfKey,
} from '../cluster/cluster-keys.js';
import type { ClusterView } from '../cluster/cluster-view.js';
import type { Clock } from '../common/clock.js';
import * as limits from '../common/limits.js';
import type { Logger } from '../common/logger.js';
import type { Coordination, TxnOp } from '../coord/coordination.js';
import type { CancelTimer, CoordinationTimers } from '../coord/coordination-timers.js';

/** What planned moves need. */
export interface PlannedMovesOptions {
  readonly coord: Coordination;
  readonly view: ClusterView;
  readonly timers: CoordinationTimers;
  readonly clock: Clock;
  readonly log: Logger;
}

const sameMove = (a: Assignment, b: Assignment) =>
  a.server === b.server && a.ownerEpoch === b.ownerEpoch && a.moveTo === b.moveTo;

/** The master's planned moves (see the file comment). */
export class PlannedMoves {
  private readonly busy = new Set<string>();
  /** Release deadlines of the moves in flight, by `<table id>/<tablet dir>`. */
  private readonly deadlines = new Map<string, { move: Assignment; cancel: CancelTimer }>();
  /** The assignment each move began with and its key's version, to hand over without a read. */
  private readonly begun = new Map<string, { move: Assignment; version: number }>();
  /** When each tablet was last handed over (monotonic ms), for the balancer's cool-down. */
  private readonly handedOver = new Map<string, number>();
  private stopWatching: (() => void) | undefined;

  constructor(private readonly options: PlannedMovesOptions) {}

  /** Follows the view: hands released tablets over, cancels stuck moves, starts requested ones. */
  start(): void {
    this.stopWatching = this.options.view.onChange(() => this.check());
    this.check();
  }

  close(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
    for (const d of this.deadlines.values()) d.cancel();
    this.deadlines.clear();
  }

  /** Whether tablet `key` was handed over less than CLUSTER_BALANCE_MOVED_COOLDOWN_MS ago. */
  movedRecently(key: string): boolean {
    const at = this.handedOver.get(key);
    if (at === undefined) return false;
    if (this.options.clock.monotonicMs() - at < limits.CLUSTER_BALANCE_MOVED_COOLDOWN_MS) return true;
    this.handedOver.delete(key);
    return false;
  }

  /** Assignments naming `moveTo` now. */
  inFlight(): number {
    let n = 0;
    for (const tablets of this.options.view.assignments.values())
      for (const a of tablets.values()) if (a.moveTo !== undefined) n++;
    return n;
  }

  /**
   * Starts moving tablet `key` (`<table id>/<tablet dir>`) to server `to`; false when it is not
   * assigned, already moving or already there, or the assignment changed meanwhile.
   */
  async begin(key: string, to: string, alsoDelete: readonly string[] = []): Promise<boolean> {
    return this.rewrite(key, (cur) => {
      if (cur.moveTo !== undefined || cur.server === to) return undefined;
      return { next: { ...cur, moveTo: to }, alsoDelete };
    });
  }

  private check(): void {
    const { view } = this.options;
    const moving = new Set<string>();
    for (const [tableId, tablets] of view.assignments) {
      for (const a of tablets.values()) {
        if (a.moveTo === undefined) continue;
        const k = `${tableId}/${a.tablet.tabletDir}`;
        moving.add(k);
        this.armDeadline(k, a);
        const loaded = view.loaded.get(k);
        if (!view.servers.has(a.moveTo)) void this.cancel(k, a, 'the target server is gone');
        else if (loaded?.released && loaded.server === a.server && loaded.ownerEpoch === a.ownerEpoch)
          void this.handOver(k, a);
      }
    }
    for (const [k, d] of this.deadlines) {
      if (moving.has(k)) continue;
      d.cancel();
      this.deadlines.delete(k);
    }
    // A move the view has seen end (its write is in the view) needs no cached version any more.
    for (const [k, b] of this.begun) if (!moving.has(k) && view.revision >= b.version) this.begun.delete(k);
    for (const [k, req] of view.moveRequests) void this.request(k, req.to);
  }

  /** Starts a requested move, or drops a request that cannot apply; leaves it while the tablet moves. */
  private async request(k: string, to: string): Promise<void> {
    const { view } = this.options;
    const { tableId, tabletDir } = tabletOfKey(k);
    const a = view.assignments.get(tableId)?.get(tabletDir);
    if (this.busy.has(k) || a?.moveTo !== undefined) return;
    const reqKey = moveKey({ tableId, tabletDir });
    if (a && a.server !== to && view.servers.has(to) && view.servers.has(a.server)) {
      if (await this.begin(k, to, [reqKey]))
        this.options.log.info({ tablet: k, from: a.server, to }, 'move requested');
      return;
    }
    if (a && !view.servers.has(a.server)) return;
    this.options.log.info({ tablet: k, to }, 'move request dropped: nothing to move');
    await this.options.coord.delete(reqKey).catch(() => false);
  }

  private armDeadline(k: string, a: Assignment): void {
    const d = this.deadlines.get(k);
    if (d && sameMove(d.move, a)) return;
    d?.cancel();
    const cancel = this.options.timers.setTimer(limits.CLUSTER_MOVE_RELEASE_WAIT_MS, () => {
      this.deadlines.delete(k);
      const now = this.options.view.assignments.get(a.tablet.tableId)?.get(a.tablet.tabletDir);
      if (!now || !sameMove(now, a) || !this.options.view.servers.has(a.server)) return;
      void this.cancel(k, a, 'the owner did not release the tablet in time');
    });
    this.deadlines.set(k, { move: a, cancel });
  }

  private async handOver(k: string, a: Assignment): Promise<void> {
    const ok = await this.rewrite(k, (cur, version) => {
      if (!sameMove(cur, a) || a.moveTo === undefined) return undefined;
      const ownerEpoch = Math.max(version, cur.ownerEpoch) + 1;
      return { next: { tablet: cur.tablet, server: a.moveTo, ownerEpoch } };
    });
    if (!ok) return;
    this.handedOver.set(k, this.options.clock.monotonicMs());
    this.options.log.info({ tablet: k, from: a.server, to: a.moveTo }, 'tablet handed over');
  }

  private async cancel(k: string, a: Assignment, reason: string): Promise<void> {
    const ok = await this.rewrite(k, (cur) => {
      if (!sameMove(cur, a)) return undefined;
      return { next: { tablet: cur.tablet, server: cur.server, ownerEpoch: cur.ownerEpoch } };
    });
    if (ok) this.options.log.warn({ tablet: k, from: a.server, to: a.moveTo, reason }, 'move cancelled');
  }

  /**
   * Reads tablet `k`'s assignment and, if `change` gives a next one, writes it under a compare on
   * the version read (deleting `alsoDelete` in the same txn). True when written.
   */
  private async rewrite(
    k: string,
    change: (
      cur: Assignment,
      version: number,
    ) => { next: Assignment; alsoDelete?: readonly string[] } | undefined,
  ): Promise<boolean> {
    if (this.busy.has(k)) return false;
    this.busy.add(k);
    const seenRevision = this.options.view.revision;
    try {
      const { tableId, tabletDir } = tabletOfKey(k);
      const key = assignKey({ tableId, tabletDir });
      const known = this.begun.get(k);
      const found = known
        ? { a: known.move, version: known.version }
        : await this.options.coord
            .get(key)
            .then((f) => f && { a: decodeAssignment(key, f.value), version: f.version });
      this.begun.delete(k);
      if (!found) return false;
      const step = change(found.a, found.version);
      if (!step) return false;
      const deletes: TxnOp[] = (step.alsoDelete ?? []).map((d) => ({ type: 'delete', key: d }));
      const txn = await this.options.coord.txn({
        compares: [{ key, version: found.version }],
        success: [{ type: 'put', key, value: encodeAssignment(step.next) }, ...deletes],
      });
      if (txn.succeeded && step.next.moveTo !== undefined)
        this.begun.set(k, { move: step.next, version: txn.revision });
      return txn.succeeded;
    } catch (err) {
      this.options.log.warn({ err, tablet: k }, 'planned move step failed');
      return false;
    } finally {
      this.busy.delete(k);
      // Changes the view applied meanwhile were skipped for this tablet (busy): weigh them now.
      if (this.options.view.revision !== seenRevision && this.stopWatching) this.check();
    }
  }
}
