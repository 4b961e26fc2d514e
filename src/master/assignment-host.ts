/**
 * The master's side of the tablet-host seam (`TabletHostControl`, src/tablet/tablet-host-api.ts):
 * where the one-process store opens a table's tablets in its own tablet host, the master publishes
 * the table's record (`cluster/tables/<id>`) and assigns each tablet to a live tablet server
 * (`cluster/assign/<table>/<tablet>`, src/cluster/cluster-keys.ts); the servers open them.
 *
 * Assignment (`reconcile`, level-triggered): every tablet of every table the catalog holds must be
 * assigned to a live server (a key under `cluster/servers/`). A tablet whose server's key vanished
 * (its session expired: the server died or was cut off) gets a new server: the one it was moving
 * to (src/master/planned-moves.ts) if that one lives, else the one with the fewest tablets. Each new assignment is one txn comparing the key's version as read, with an owner epoch
 * of the revision it was read at plus one, so a tablet's epochs strictly increase. Assignment and
 * table keys the catalog does not name are deleted. A round runs at start, on every change of the
 * live servers, and again after a failed round (CLUSTER_RECONCILE_RETRY_MS).
 *
 * CreateTable waits (CLUSTER_TABLE_OPEN_WAIT_MS at most) for every new tablet to be reported
 * loaded by its server (`cluster/loaded/…`) under its assignment's epoch; the catalog commit
 * follows, so a table is visible once it can be served. No live server: UNAVAILABLE.
 *
 * Purging a dropped family and dropping a row range (the data half of those runs on the servers)
 * are fanned out to each tablet's owner (src/cluster/tablet-fanout.ts). Splits and merges are
 * committed by the split coordinator (src/master/split-coordinator.ts), which replaces the parents'
 * assignments with the children's here (`exclusive`, `replaceAssignments`).
 *
 * Concurrency: single event-loop thread; reconcile rounds run one at a time (a request during a
 * round runs one more round after it). Schema writes are tracked so `settled()` can wait for them.
 */

import {
  ASSIGN_PREFIX,
  type Assignment,
  assignKey,
  decodeAssignment,
  encodeAssignment,
  encodeTableRecord,
  loadedKey,
  TABLES_PREFIX,
  tableKey,
} from '../cluster/cluster-keys.js';
import type { ClusterView } from '../cluster/cluster-view.js';
import { TabletFanout } from '../cluster/tablet-fanout.js';
import type { Clock } from '../common/clock.js';
import { errors } from '../common/errors.js';
import * as limits from '../common/limits.js';
import type { Logger } from '../common/logger.js';
import type { Coordination, TxnOp } from '../coord/coordination.js';
import type { CoordinationTimers } from '../coord/coordination-timers.js';
import type { TableRecord, TabletRecord } from '../tablet/catalog.js';
import type { Tablet } from '../tablet/table-store-api.js';
import type { TableOpenMode, TabletChange, TabletHostControl } from '../tablet/tablet-host-api.js';

/** What the assignment host needs. */
export interface AssignmentHostOptions {
  readonly coord: Coordination;
  readonly view: ClusterView;
  readonly clock: Clock;
  readonly timers: CoordinationTimers;
  readonly log: Logger;
}

/** The catalog's tables as assignments (see the file comment). */
export class AssignmentHost implements TabletHostControl {
  private readonly tables = new Map<string, { record: TableRecord; tablets: readonly TabletRecord[] }>();
  private readonly pending = new Set<Promise<unknown>>();
  private round: Promise<void> | undefined;
  private again = false;
  private liveSignature = '';
  /** Set once the catalog is loaded: keys the catalog does not name may be deleted. */
  private loaded = false;
  private closed = false;

  private readonly fanout: TabletFanout;

  constructor(private readonly options: AssignmentHostOptions) {
    this.fanout = new TabletFanout(options.view, options.clock, options.timers);
  }

  /** Starts following the live servers (after the catalog is loaded). */
  start(): void {
    this.loaded = true;
    this.options.view.onChange(() => {
      const signature = [...this.options.view.servers.keys()].sort().join(',');
      if (signature === this.liveSignature) return;
      this.liveSignature = signature;
      void this.reconcile().catch(() => undefined);
    });
    void this.reconcile().catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    this.fanout.close();
  }

  async openTable(
    table: TableRecord,
    tablets: readonly TabletRecord[],
    _ownerEpoch: number,
    mode: TableOpenMode,
  ): Promise<void> {
    if (mode === 'create' && this.options.view.servers.size === 0)
      throw errors.unavailable('no tablet server is live; start one and retry', {
        table: table.schema.tableId,
      });
    this.tables.set(table.schema.tableId, { record: table, tablets });
    await this.options.coord.put(tableKey(table.schema.tableId), encodeTableRecord(table));
    if (mode === 'recover') return;
    await this.reconcile();
    await this.waitLoaded(table.schema.tableId);
  }

  async closeTable(tableId: string): Promise<void> {
    const t = this.tables.get(tableId);
    this.tables.delete(tableId);
    const keys = [tableKey(tableId), ...(t?.tablets ?? []).map((r) => assignKey(r))];
    await this.deleteKeys(keys);
  }

  applyTableRecord(record: TableRecord): void {
    const t = this.tables.get(record.schema.tableId);
    if (t) this.tables.set(record.schema.tableId, { ...t, record });
    this.track(this.options.coord.put(tableKey(record.schema.tableId), encodeTableRecord(record)));
  }

  /** Has every tablet's owner delete the family's cells (src/cluster/tablet-fanout.ts). */
  async purgeFamily(tableId: string, family: string): Promise<void> {
    await this.settled();
    await this.fanout.purgeFamily(tableId, this.tables.get(tableId)?.tablets ?? [], family);
  }

  /** Has every owner of a tablet the range overlaps delete its part (src/cluster/tablet-fanout.ts). */
  dropRowRange(tableId: string, range: { rowKeyPrefix: Buffer } | { all: true }): Promise<void> {
    return this.fanout.dropRowRange(tableId, this.tables.get(tableId)?.tablets ?? [], range);
  }

  router(tableId: string): Tablet {
    throw errors.unavailable('the master serves no rows; send data calls to a tablet server', {
      table: tableId,
    });
  }

  lastSequence(): number {
    return 0;
  }

  /**
   * Runs `op` while no assignment round runs (a round asked for meanwhile runs after it): a split
   * or merge commit (src/master/split-coordinator.ts) checks the parents' owners and replaces
   * their assignments with no round moving them in between.
   */
  async exclusive<T>(op: () => Promise<T>): Promise<T> {
    while (this.round) await this.round.catch(() => undefined);
    const run = op();
    const held = run.then(
      () => undefined,
      () => undefined,
    );
    this.round = held;
    try {
      return await run;
    } finally {
      if (this.round === held) this.round = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        void this.reconcile().catch(() => undefined);
      }
    }
  }

  /** The current assignments of `tablets` with their keys' versions, read from coordination. */
  async assignmentsOf(
    tablets: readonly TabletRecord[],
  ): Promise<Map<string, { assignment: Assignment; version: number }>> {
    const out = new Map<string, { assignment: Assignment; version: number }>();
    for (const t of tablets) {
      const key = assignKey(t);
      const v = await this.options.coord.get(key);
      if (v) out.set(t.tabletDir, { assignment: decodeAssignment(key, v.value), version: v.version });
    }
    return out;
  }

  /**
   * A split or merge was committed in the catalog: the parents' assignments (at the key versions
   * `versions`, by tablet directory) give way to the children's, on `server`, under an owner epoch
   * above every earlier one, in one txn. If the keys changed meanwhile, a round assigns the
   * children instead (level-triggered, as after a master failover).
   */
  async replaceAssignments(
    change: TabletChange,
    server: string,
    versions: ReadonlyMap<string, number>,
  ): Promise<void> {
    const tableId = change.putTablets[0]?.tableId ?? '';
    const t = this.tables.get(tableId);
    const removed = new Set(change.removeTablets.map((r) => r.tabletDir));
    if (t) {
      const kept = t.tablets.filter((r) => !removed.has(r.tabletDir));
      this.tables.set(tableId, { ...t, tablets: [...kept, ...change.putTablets] });
    }
    const { revision } = await this.options.coord.listWithRevision(assignKey({ tableId, tabletDir: '' }));
    const ownerEpoch = revision + 1;
    const txn = await this.options.coord.txn({
      compares: [
        ...change.removeTablets.map((r) => ({ key: assignKey(r), version: versions.get(r.tabletDir) ?? 0 })),
        ...change.putTablets.map((r) => ({ key: assignKey(r), version: 0 })),
      ],
      success: [
        ...change.removeTablets.flatMap((r): TxnOp[] => [
          { type: 'delete', key: assignKey(r) },
          { type: 'delete', key: loadedKey(r) },
        ]),
        ...change.putTablets.map(
          (r): TxnOp => ({
            type: 'put',
            key: assignKey(r),
            value: encodeAssignment({ tablet: r, server, ownerEpoch }),
          }),
        ),
      ],
    });
    if (!txn.succeeded) {
      this.options.log.warn({ table: tableId }, 'assignments changed during a tablet change; reassigning');
      void this.reconcile().catch(() => undefined);
      return;
    }
    for (const r of change.putTablets)
      this.options.log.info({ table: tableId, tablet: r.tabletDir, server, ownerEpoch }, 'tablet assigned');
  }

  /** Resolves once every schema write started so far is done. */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Runs an assignment round now, or once more after the one running. */
  reconcile(): Promise<void> {
    if (this.round) {
      this.again = true;
      return this.round;
    }
    this.round = this.reconcileOnce()
      .catch((err) => {
        this.options.log.warn({ err }, 'assignment round failed; retrying');
        this.options.timers.setTimer(
          limits.CLUSTER_RECONCILE_RETRY_MS,
          () => void this.reconcile().catch(() => undefined),
        );
        throw err;
      })
      .finally(() => {
        this.round = undefined;
        if (this.again && !this.closed) {
          this.again = false;
          void this.reconcile().catch(() => undefined);
        }
      });
    return this.round;
  }

  private async reconcileOnce(): Promise<void> {
    if (this.closed) return;
    const live = [...this.options.view.servers.keys()];
    const load = new Map(live.map((s) => [s, 0]));
    const { entries, revision } = await this.options.coord.listWithRevision(ASSIGN_PREFIX);
    const current = new Map(
      entries.map((e) => [e.key, { version: e.version, a: decodeAssignment(e.key, e.value) }]),
    );
    for (const { a } of current.values())
      if (load.has(a.server)) load.set(a.server, (load.get(a.server) ?? 0) + 1);
    const wanted = new Set<string>();
    for (const { tablets } of this.tables.values()) {
      for (const t of tablets) {
        const key = assignKey(t);
        wanted.add(key);
        const a = current.get(key)?.a;
        if (a && load.has(a.server)) continue;
        // A tablet whose owner died while moving goes where it was moving, if that server lives.
        const server = a?.moveTo !== undefined && load.has(a.moveTo) ? a.moveTo : leastLoaded(load);
        if (server === undefined) return;
        const ownerEpoch = revision + 1;
        const txn = await this.options.coord.txn({
          compares: [{ key, version: current.get(key)?.version ?? 0 }],
          success: [{ type: 'put', key, value: encodeAssignment({ tablet: t, server, ownerEpoch }) }],
        });
        if (!txn.succeeded) throw errors.unavailable('assignment changed while being written', { key });
        load.set(server, (load.get(server) ?? 0) + 1);
        this.options.log.info(
          { table: t.tableId, tablet: t.tabletDir, server, ownerEpoch },
          'tablet assigned',
        );
      }
    }
    if (this.loaded)
      await this.deleteStrays(
        entries.map((e) => e.key),
        wanted,
      );
  }

  /** Deletes assignment and table keys the catalog does not name. */
  private async deleteStrays(assignKeys: readonly string[], wanted: ReadonlySet<string>): Promise<void> {
    const tableKeys = (await this.options.coord.list(TABLES_PREFIX)).map((e) => e.key);
    const stray = [
      ...assignKeys.filter((k) => !wanted.has(k)),
      ...tableKeys.filter((k) => !this.tables.has(k.slice(TABLES_PREFIX.length))),
    ];
    await this.deleteKeys(stray);
  }

  private async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += limits.COORD_TXN_OPS_MAX) {
      const ops: TxnOp[] = keys
        .slice(i, i + limits.COORD_TXN_OPS_MAX)
        .map((key) => ({ type: 'delete', key }));
      await this.options.coord.txn({ compares: [], success: ops });
    }
  }

  /** Waits until every tablet of the table is loaded by its assigned server, or fails. */
  private waitLoaded(tableId: string): Promise<void> {
    const { view, timers } = this.options;
    const done = () => {
      const t = this.tables.get(tableId);
      if (!t) return true;
      return t.tablets.every((r) => {
        const a = view.assignments.get(tableId)?.get(r.tabletDir);
        const l = view.loaded.get(`${tableId}/${r.tabletDir}`);
        return a !== undefined && l !== undefined && l.ownerEpoch === a.ownerEpoch && l.server === a.server;
      });
    };
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const stop = view.onChange(() => {
        if (!done()) return;
        stop();
        cancel();
        resolve();
      });
      const cancel = timers.setTimer(limits.CLUSTER_TABLE_OPEN_WAIT_MS, () => {
        stop();
        reject(
          errors.unavailable('the new tablets did not open on their servers in time', { table: tableId }),
        );
      });
    });
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((err) => this.options.log.error({ err }, 'writing a table record failed'));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }
}

function leastLoaded(load: ReadonlyMap<string, number>): string | undefined {
  let best: string | undefined;
  for (const [s, n] of load) if (best === undefined || n < (load.get(best) ?? 0)) best = s;
  return best;
}
