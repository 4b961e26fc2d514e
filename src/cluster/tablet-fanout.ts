/**
 * The data half of DropRowRange and of dropping a column family in a cluster, driven by the master
 * (its `AssignmentHost` in the tablet host's place, src/master/assignment-host.ts): one peer control
 * call (src/cluster/peer-control-protocol.ts) per tablet of the table the catalog holds, to that
 * tablet's current owner, all tablets at once. The admin call is acknowledged only when every
 * tablet's owner acknowledged its part.
 *
 * Why the master drives it, not the tablet server that received the call: the master already
 * serializes every admin operation of a table on one chain (a drop cannot interleave with a
 * family change or a delete of the table), it holds the catalog's list of tablets (the
 * authoritative set, not one server's view of the assignments), and a family's purge is recorded
 * in the catalog (`purgingFamilies`) and resumed by the next master after a crash. Tablet servers
 * forward every admin call to the master anyway, so this adds no hop for the client.
 *
 * Moves: an owner that does not own its tablet any more (moved, opening, session lost, dead,
 * unreachable) answers UNAVAILABLE; the tablet is tried again on its owner as the master's view
 * then shows it, every CLUSTER_FANOUT_RETRY_MS, at most CLUSTER_FANOUT_TRIES_MAX times. A part
 * done twice (by an old owner whose ack was lost, then by the new one) is harmless: both are
 * deletions. Any other error fails the admin call at once.
 *
 * Concurrency: single event-loop thread; the calls of one fan-out run concurrently.
 */
import type { Clock } from '../common/clock.js';
import { ErrorCode, errors, hasCode } from '../common/errors.js';
import { CLUSTER_FANOUT_RETRY_MS, CLUSTER_FANOUT_TRIES_MAX } from '../common/limits.js';
import type { CoordinationTimers } from '../coord/coordination-timers.js';
import { rowStartKey } from '../model/cell-key.js';
import type { TabletRecord } from '../tablet/catalog.js';
import { DATA_START_KEY } from '../tablet/row-reader.js';
import { dropRangeKeys } from '../tablet/tablet-host.js';
import type { ClusterView } from './cluster-view.js';
import { isMoved } from './owned-tablets.js';
import { PeerControlClients } from './peer-control-protocol.js';

/** The peer control calls a fan-out makes (a `PeerControlClients`; a fake in tests). */
export type FanoutControl = Pick<PeerControlClients, 'dropTabletRange' | 'purgeTabletFamily' | 'close'>;

/** Fans the data half of admin operations out to the owners of a table's tablets. */
export class TabletFanout {
  private readonly control: FanoutControl;

  constructor(
    private readonly view: Pick<ClusterView, 'assignments' | 'servers' | 'refresh'>,
    clock: Clock,
    private readonly timers: CoordinationTimers,
    control?: FanoutControl,
  ) {
    this.control = control ?? new PeerControlClients(clock);
  }

  /** Deletes the rows with a prefix, or every row, in every tablet of `tablets` they overlap. */
  async dropRowRange(
    tableId: string,
    tablets: readonly TabletRecord[],
    range: { rowKeyPrefix: Buffer } | { all: true },
  ): Promise<void> {
    const { start, end } = dropRangeKeys(range);
    await Promise.all(
      tablets.map(async (t) => {
        const tStart = t.startRow ? rowStartKey(t.startRow) : DATA_START_KEY;
        const tEnd = t.endRow ? rowStartKey(t.endRow) : undefined;
        const lo = Buffer.compare(start, tStart) > 0 ? start : tStart;
        const hi = tEnd !== undefined && Buffer.compare(tEnd, end) < 0 ? tEnd : end;
        if (Buffer.compare(lo, hi) >= 0) return;
        await this.onOwner(tableId, t.tabletDir, (address) =>
          this.control.dropTabletRange(address, { tableId, tabletDir: t.tabletDir, start: lo, end: hi }),
        );
      }),
    );
  }

  /** Deletes every cell of `family` (already out of the published schema) in every tablet. */
  async purgeFamily(tableId: string, tablets: readonly TabletRecord[], family: string): Promise<void> {
    await Promise.all(
      tablets.map((t) =>
        this.onOwner(tableId, t.tabletDir, (address) =>
          this.control.purgeTabletFamily(address, { tableId, tabletDir: t.tabletDir, family }),
        ),
      ),
    );
  }

  close(): void {
    this.control.close();
  }

  /** Runs `call` at the tablet's current owner, again after UNAVAILABLE answers (see the file comment). */
  private async onOwner(
    tableId: string,
    tabletDir: string,
    call: (peerAddress: string) => Promise<void>,
  ): Promise<void> {
    for (let tries = 1; ; tries++) {
      const a = this.view.assignments.get(tableId)?.get(tabletDir);
      const server = a === undefined ? undefined : this.view.servers.get(a.server);
      let failure: unknown = errors.unavailable('the tablet has no live owner yet', {
        table: tableId,
        tablet: tabletDir,
      });
      if (server !== undefined) {
        try {
          return await call(server.peerAddress);
        } catch (err) {
          if (!hasCode(err, ErrorCode.Unavailable)) throw err;
          failure = err;
        }
      }
      if (tries >= CLUSTER_FANOUT_TRIES_MAX) throw failure;
      await new Promise<void>((resolve) => void this.timers.setTimer(CLUSTER_FANOUT_RETRY_MS, resolve));
      if (isMoved(failure)) await this.view.refresh();
    }
  }
}
