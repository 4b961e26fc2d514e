/**
 * The master's half of splits and merges in a cluster. The owner of a tablet prepares a split or
 * merge as the single process does (src/tablet/tablet-split.ts: the children's stores reference
 * the parents' SSTables and hold the writes no file held yet, all durable, while the parents'
 * writes are paused) and then asks the master, through the master control service
 * (src/cluster/master-control-protocol.ts), to commit it. Here, on the metadata service's chain
 * (one at a time with admin operations and the shared-file GC) and with no assignment round
 * running (`AssignmentHost.exclusive`):
 *
 * 1. Already committed (every child live, no parent): OK — the owner asks again after losing an
 *    answer. A parent not live otherwise: refused.
 * 2. The parents' current assignments (read from coordination) must name the asking server and
 *    its owner epoch: otherwise refused (`owner epoch is stale`); a tablet moved to another owner
 *    may have taken writes the children lack.
 * 3. Every child's manifest must be readable and every file it names present (the GC may have
 *    collected the directory of a change that waited too long): otherwise refused.
 * 4. One catalog write retires the parents and makes the children live: THE COMMIT POINT. The
 *    catalog engine is fenced by the master epoch (src/master/cluster-master.ts), so a master that
 *    lost its lock cannot commit. A failure here leaves the outcome unknown (UNAVAILABLE): the
 *    owner asks again, and step 1 or 2 then answers.
 * 5. The parents' assignments give way to the children's on the same server, under a larger owner
 *    epoch, in one txn (`AssignmentHost.replaceAssignments`); the owner opens them from there.
 *
 * Crash analysis: before 4, the parents stay live (the owner, if alive, asks again or rolls back;
 * if dead, its tablets are reassigned and their new owners replay the parents' WALs). After 4,
 * the catalog names the children: a master that dies before 5 is replaced by one that loads the
 * catalog and, level-triggered, assigns the children and deletes the parents' stray assignments.
 * At no instant does the catalog name both or neither.
 *
 * Concurrency: single event-loop thread; every commit runs on the metadata chain.
 */

import {
  type CommitTabletsRequest,
  changeRefused,
  MASTER_CONTROL_SERVICE_NAME,
  masterControlDefinition,
  type TabletFields,
  tabletOfFields,
} from '../cluster/master-control-protocol.js';
import type { Clock } from '../common/clock.js';
import { crashPoint } from '../common/crash-points.js';
import { errors } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { CoordinationTimers } from '../coord/coordination-timers.js';
import type { ServiceBinding } from '../server/grpc-transport.js';
import { buildService } from '../server/rpc-handlers.js';
import { logInternalError } from '../server/status-map.js';
import { joinPath, type Vfs } from '../storage/vfs.js';
import type { TabletRecord } from '../tablet/catalog.js';
import type { MetadataService } from '../tablet/metadata-service.js';
import type { TabletChange } from '../tablet/tablet-host-api.js';
import { tableDirOf } from '../tablet/tablet-lifecycle.js';
import type { AssignmentHost } from './assignment-host.js';
import { manifestFiles } from './shared-file-gc.js';
import { TableGates } from './table-gates.js';

/** What the split coordinator works with. */
export interface SplitCoordinatorOptions {
  readonly metadata: MetadataService;
  readonly host: AssignmentHost;
  readonly vfs: Vfs;
  /** The shared store directory. */
  readonly dir: string;
  readonly clock: Clock;
  readonly timers: CoordinationTimers;
  readonly log: Logger;
}

/** One split or merge a tablet server asks to commit. */
export interface CommitAsk {
  readonly tableId: string;
  /** The server that prepared it. */
  readonly server: string;
  /** The owner epoch it holds each parent under (in the order of `change.removeTablets`). */
  readonly ownerEpochs: readonly number[];
  readonly change: TabletChange;
  /** The table gate the server took for it, if any (src/master/table-gates.ts). */
  readonly gateId?: string;
}

/** Commits the splits and merges tablet servers prepare (see the file comment). */
export class SplitCoordinator {
  /** Splits and merges committed by this master. */
  readonly stats = { splits: 0, merges: 0, refused: 0 };

  private readonly gates: TableGates;

  constructor(private readonly options: SplitCoordinatorOptions) {
    this.gates = new TableGates(options.metadata, options.clock, options.timers, options.log);
  }

  /** The master control service's binding for the admin port. */
  binding(): ServiceBinding {
    const built = buildService(
      MASTER_CONTROL_SERVICE_NAME,
      masterControlDefinition(),
      {
        unary: {
          CommitTablets: (r) => this.commitRequest(r as unknown as CommitTabletsRequest),
          AcquireTableGate: async (r) => ({
            gateId: await this.gates.acquire(stringOf(r, 'tableId'), stringOf(r, 'server')),
          }),
          ReleaseTableGate: (r) => {
            this.gates.release(stringOf(r, 'gateId'));
            return {};
          },
        },
        serverStreaming: {},
      },
      logInternalError,
    );
    return { name: MASTER_CONTROL_SERVICE_NAME, ...built };
  }

  private async commitRequest(r: CommitTabletsRequest): Promise<object> {
    const list = (v: unknown) => (Array.isArray(v) ? (v as TabletFields[]).map(tabletOfFields) : []);
    const change: TabletChange = { removeTablets: list(r.removeTablets), putTablets: list(r.putTablets) };
    const epochs = Array.isArray(r.ownerEpochs) ? r.ownerEpochs.map(Number) : [];
    if (
      typeof r.server !== 'string' ||
      typeof r.tableId !== 'string' ||
      epochs.length !== change.removeTablets.length ||
      !epochs.every((e) => Number.isSafeInteger(e))
    )
      throw errors.invalidArgument('commit request is malformed');
    const gateId = typeof r.gateId === 'string' ? r.gateId : undefined;
    await this.commit({ tableId: r.tableId, server: r.server, ownerEpochs: epochs, change, gateId });
    return {};
  }

  /** Commits the change `ask` names (steps 1–5), or refuses it. */
  commit(ask: CommitAsk): Promise<void> {
    const { host } = this.options;
    return this.gates.run(ask.gateId, ask.tableId, ask.server, () =>
      host.exclusive(async () => {
        try {
          await this.commitNow(ask);
        } catch (err) {
          this.stats.refused++;
          this.options.log.warn(
            { err: String(err), table: ask.tableId, server: ask.server },
            'tablet change not committed',
          );
          throw err;
        }
      }),
    );
  }

  private async commitNow({ tableId, server, ownerEpochs, change }: CommitAsk): Promise<void> {
    const { metadata, host } = this.options;
    checkShape(tableId, change);
    const live = metadata.liveTablets(tableId);
    if (!live) throw changeRefused('table does not exist', { table: tableId });
    const parentsLive = change.removeTablets.every((p) => sameRange(live.get(p.tabletDir), p));
    if (!parentsLive) {
      if (
        change.putTablets.every((c) => live.has(c.tabletDir)) &&
        !change.removeTablets.some((p) => live.has(p.tabletDir))
      )
        return;
      throw changeRefused('a parent tablet is not live', { table: tableId });
    }
    const owners = await host.assignmentsOf(change.removeTablets);
    change.removeTablets.forEach((p, i) => {
      const a = owners.get(p.tabletDir)?.assignment;
      const epoch = ownerEpochs[i] ?? 0;
      if (a?.server !== server || a.ownerEpoch !== epoch)
        throw changeRefused('owner epoch is stale', { tablet: p.tabletDir, epoch });
    });
    const tableDir = tableDirOf(this.options.dir, metadata.record(tableId));
    for (const c of change.putTablets) await this.checkComplete(tableDir, c);
    crashPoint('commit-before-catalog');
    try {
      await metadata.commitTablets(change);
    } catch (err) {
      throw errors.unavailable('the tablet change may or may not be recorded; ask again', {
        cause: String(err),
      });
    }
    crashPoint('commit-after-catalog');
    if (change.removeTablets.length === 1) this.stats.splits++;
    else this.stats.merges++;
    this.options.log.info(
      {
        table: tableId,
        parents: change.removeTablets.map((t) => t.tabletDir),
        children: change.putTablets.map((t) => t.tabletDir),
      },
      change.removeTablets.length === 1 ? 'tablet split committed' : 'tablet merge committed',
    );
    const versions = new Map([...owners].map(([dir, o]) => [dir, o.version]));
    await host.replaceAssignments(change, server, versions);
  }

  /** Refuses a child whose manifest cannot be read or names a file that is not there. */
  private async checkComplete(tableDir: string, child: TabletRecord): Promise<void> {
    const { vfs } = this.options;
    let files: string[];
    try {
      files = (await manifestFiles(vfs, tableDir, child.tabletDir)).map((f) => joinPath(tableDir, f));
    } catch (err) {
      throw changeRefused('a child tablet has no readable manifest', {
        tablet: child.tabletDir,
        cause: String(err),
      });
    }
    for (const path of files)
      if (!(await vfs.exists(path))) throw changeRefused('a child tablet file is missing', { path });
  }
}

/** A string field of a request; INVALID_ARGUMENT when absent. */
function stringOf(r: Record<string, unknown>, field: string): string {
  const v = r[field];
  if (typeof v !== 'string') throw errors.invalidArgument('master control field must be a string', { field });
  return v;
}

/** The parents must be adjacent and the children cover exactly their range, in order. */
function checkShape(tableId: string, change: TabletChange): void {
  const { removeTablets: parents, putTablets: children } = change;
  const ok =
    parents.length >= 1 &&
    children.length >= 1 &&
    parents.length + children.length === 3 &&
    [...parents, ...children].every((t) => t.tableId === tableId) &&
    adjacent(parents) &&
    adjacent(children) &&
    sameRow(parents[0]?.startRow, children[0]?.startRow) &&
    sameRow(parents[parents.length - 1]?.endRow, children[children.length - 1]?.endRow);
  if (!ok)
    throw errors.invalidArgument('a split or merge must replace adjacent tablets by their exact range');
}

function adjacent(tablets: readonly TabletRecord[]): boolean {
  for (let i = 0; i + 1 < tablets.length; i++) {
    const end = tablets[i]?.endRow;
    if (end === undefined || !sameRow(end, tablets[i + 1]?.startRow)) return false;
  }
  return true;
}

function sameRow(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

function sameRange(live: TabletRecord | undefined, asked: TabletRecord): boolean {
  return live !== undefined && sameRow(live.startRow, asked.startRow) && sameRow(live.endRow, asked.endRow);
}
