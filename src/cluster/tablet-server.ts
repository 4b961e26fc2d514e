/**
 * A tablet server process of a cluster: it registers in coordination (`cluster/servers/<id>`, an
 * ephemeral key of its session), follows the cluster view, opens the tablets assigned to it from
 * the shared directory under their owner epoch and closes those assigned elsewhere, and serves
 * the Bigtable API on two ports: the public one (every table, rows routed to their owners, admin
 * forwarded to the master; src/cluster/cluster-server.ts) and the peer one (only its own tablets,
 * for calls other servers forward; src/cluster/owner-store.ts).
 *
 * Session loss: the server serves nothing from the moment its session is invalid by its own
 * monotonic clock (`Session.isValid()`, checked by every operation); when the session expires it
 * closes every tablet, then registers again under a new id after CLUSTER_REJOIN_RETRY_MS (the
 * master has reassigned its tablets meanwhile, possibly back to it).
 *
 * Planned moves: a tablet whose assignment here names `moveTo` is released (flushed, closed;
 * `OwnedTablets.release`) outside the reconcile round, so opens of other tablets never wait on a
 * flush; then the server reports `released` in the tablet's loaded key and does not open it again
 * under that epoch unless the move is cancelled (the assignment loses `moveTo`).
 *
 * Load reports: a `TabletStatsPublisher` writes `cluster-stats/<id>` (ephemeral) with each open
 * tablet's size and request and write rates, for the master's balancer and the consoles.
 *
 * Concurrency: single event-loop thread. Reconciling (open/close to match the assignments) runs
 * one round at a time; a change seen during a round schedules one more round. A release runs at
 * most once at a time per tablet; a round that would close a releasing tablet waits for it.
 */
import { type Clock, type Rand, systemClock, systemRand } from '../common/clock.js';
import * as limits from '../common/limits.js';
import type { Logger } from '../common/logger.js';
import type { Coordination, Session } from '../coord/coordination.js';
import { type CoordinationTimers, systemTimers } from '../coord/coordination-timers.js';
import { type RunningServer, startServer } from '../server/server.js';
import type { TableRecord } from '../tablet/catalog.js';
import { type Assignment, encodeValue, loadedKey, type ServerInfo, serverKey } from './cluster-keys.js';
import { startClusterServer } from './cluster-server.js';
import { ClusterView } from './cluster-view.js';
import { OwnedTablets } from './owned-tablets.js';
import { OwnerStore } from './owner-store.js';
import { PeerClients } from './peer-client.js';
import { peerControlBinding } from './peer-control-service.js';
import { RoutingTableStore } from './routing-table-store.js';
import { TabletSplitter } from './tablet-splitter.js';
import { TabletStatsPublisher } from './tablet-stats-publisher.js';

/** What a tablet server's console and `/metrics` read of it (read-only; src/web/cluster-metrics.ts). */
export interface TabletServerState {
  readonly view: ClusterView;
  /** Its current id and session (undefined between registrations). */
  current(): { readonly serverId: string; readonly session: Session | undefined };
  /** The tablets it has open, with their owner epochs. */
  tablets(): ReadonlyArray<{
    readonly tableId: string;
    readonly tabletDir: string;
    readonly ownerEpoch: number;
  }>;
  /** Calls forwarded to other servers, by target address. */
  readonly forwardedCalls: ReadonlyMap<string, number>;
  readonly stats: TabletStatsPublisher;
}

/** Options of `startTabletServer`. */
export interface TabletServerOptions {
  readonly coord: Coordination;
  /** The shared store directory. */
  readonly dir: string;
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  readonly sessionTtlMs?: number;
  readonly clock?: Clock;
  readonly rand?: Rand;
  readonly timers?: CoordinationTimers;
  /** Size past which a tablet splits (default SPLIT_THRESHOLD_BYTES_DEFAULT; src/cluster/tablet-splitter.ts). */
  readonly splitThresholdBytes?: number;
}

/** A running tablet server. */
export class TabletServer {
  /** Current server id (a new one after each registration). */
  readonly self = { id: '' };
  private session: Session | undefined;
  private generation = 0;
  private reconciling: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** Table record each open tablet's table was last given, by table id. */
  private readonly applied = new Map<string, TableRecord>();
  /** Planned-move releases under way, by `<table id>/<tablet dir>`. */
  private readonly releasing = new Map<string, Promise<void>>();
  /** `<table id>/<tablet dir>@<epoch>` released here for a move (not to be opened again). */
  private readonly released = new Set<string>();
  /** Request counts at the last load report, by `<table id>/<tablet dir>`. */
  private publicServer!: RunningServer;
  private peerServer!: RunningServer;
  private readonly tablets: OwnedTablets;
  private readonly view: ClusterView;
  private readonly peers: PeerClients;
  private readonly store: RoutingTableStore;
  private readonly owner: OwnerStore;
  private readonly clock: Clock;
  private readonly timers: CoordinationTimers;
  private statsPublisher!: TabletStatsPublisher;
  /** Splits and merges of this server's tablets. */
  readonly splitter: TabletSplitter;

  private constructor(private readonly options: TabletServerOptions) {
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.view = new ClusterView(options.coord, this.timers, (err) =>
      options.log.error({ err }, 'cluster view error'),
    );
    this.tablets = new OwnedTablets({
      dir: options.dir,
      clock: this.clock,
      rand: options.rand ?? systemRand,
      timers: this.timers,
      log: options.log,
      canServe: () => this.session?.isValid() === true,
    });
    this.splitter = new TabletSplitter({
      tablets: this.tablets,
      view: this.view,
      self: this.self,
      clock: this.clock,
      timers: this.timers,
      log: options.log,
      splitThresholdBytes: options.splitThresholdBytes ?? limits.SPLIT_THRESHOLD_BYTES_DEFAULT,
    });
    this.tablets.afterWrite = (h) => this.splitter.afterWrite(h);
    this.peers = new PeerClients(this.clock);
    const owner = new OwnerStore(this.view, this.tablets, this.self);
    this.owner = owner;
    this.store = new RoutingTableStore(
      {
        view: this.view,
        peers: this.peers,
        self: this.self,
        local: (tableId) => owner.tablet(tableId),
        requireServing: () => this.tablets.requireServing(),
        timers: this.timers,
      },
      this.clock,
    );
  }

  /** Starts the servers, registers and follows the assignments. */
  static async start(options: TabletServerOptions): Promise<TabletServer> {
    const s = new TabletServer(options);
    await s.view.start();
    s.peerServer = await startServer({
      host: options.host,
      port: 0,
      store: s.owner,
      extraServices: [peerControlBinding({ view: s.view, tablets: s.tablets, self: s.self })],
    });
    s.publicServer = await startClusterServer({
      host: options.host,
      port: options.port,
      store: s.store,
      locations: { view: s.view, requireServing: () => s.tablets.requireServing() },
    });
    await s.register();
    s.statsPublisher = new TabletStatsPublisher({
      coord: options.coord,
      clock: s.clock,
      timers: s.timers,
      log: options.log,
      current: () => ({ serverId: s.self.id, session: s.session }),
      tablets: () => s.tablets.all(),
      requestCount: (tableId, tabletDir) => s.tablets.requestCount(tableId, tabletDir),
    });
    s.view.onChange(() => s.scheduleReconcile());
    s.scheduleReconcile();
    s.splitter.start();
    return s;
  }

  /** host:port of the public API. */
  get address(): string {
    return this.publicServer.address;
  }

  /** Read-only state for the console and `/metrics`. */
  get state(): TabletServerState {
    return {
      view: this.view,
      current: () => ({ serverId: this.self.id, session: this.session }),
      tablets: () =>
        this.tablets.all().map((h) => ({
          tableId: h.record.tableId,
          tabletDir: h.record.tabletDir,
          ownerEpoch: h.ownerEpoch,
        })),
      forwardedCalls: this.peers.forwardedCalls,
      stats: this.statsPublisher,
    };
  }

  /** Opens a session and puts this server's key; the id names the port and the generation. */
  private async register(): Promise<void> {
    const session = await this.options.coord.openSession(
      this.options.sessionTtlMs ?? limits.CLUSTER_SERVER_SESSION_TTL_MS,
      { onExpired: () => this.onSessionExpired() },
    );
    this.generation++;
    this.self.id = `ts-${this.publicServer.port}-${this.generation}-${session.id}`;
    const info: ServerInfo = {
      id: this.self.id,
      address: this.publicServer.address,
      peerAddress: this.peerServer.address,
    };
    await this.options.coord.put(serverKey(this.self.id), encodeValue(info), { session });
    this.session = session;
    this.options.log.info({ server: this.self.id, address: info.address }, 'tablet server registered');
  }

  private onSessionExpired(): void {
    if (this.closed) return;
    this.options.log.warn({ server: this.self.id }, 'coordination session expired; closing every tablet');
    void this.tablets
      .closeAll()
      .then(() => this.applied.clear())
      .catch((err) => this.options.log.error({ err }, 'closing tablets after session loss failed'))
      .finally(() => this.rejoinLater());
  }

  private rejoinLater(): void {
    this.timers.setTimer(limits.CLUSTER_REJOIN_RETRY_MS, () => {
      if (this.closed) return;
      this.register()
        .then(() => this.scheduleReconcile())
        .catch((err) => {
          this.options.log.warn({ err }, 'registering again failed; retrying');
          this.rejoinLater();
        });
    });
  }

  private scheduleReconcile(): void {
    if (this.reconciling) {
      this.again = true;
      return;
    }
    this.reconciling = this.reconcile()
      .catch((err) => this.options.log.error({ err }, 'reconciling tablets failed'))
      .finally(() => {
        this.reconciling = undefined;
        if (this.again && !this.closed) {
          this.again = false;
          this.scheduleReconcile();
        }
      });
  }

  /** One round: close what is no longer ours, apply schemas, open what is newly ours. */
  private async reconcile(): Promise<void> {
    const session = this.session;
    if (this.closed || !session?.isValid()) return;
    const me = this.self.id;
    const wanted = new Map<string, { table: TableRecord; assignment: Assignment }>();
    for (const [tableId, tablets] of this.view.assignments) {
      const table = this.view.tables.get(tableId);
      if (!table) continue;
      for (const a of tablets.values())
        if (a.server === me) wanted.set(`${tableId}/${a.tablet.tabletDir}`, { table, assignment: a });
    }
    for (const [k, p] of this.releasing) {
      const a = wanted.get(k)?.assignment;
      if (a?.moveTo === undefined) await p;
    }
    for (const h of this.tablets.all()) {
      const w = wanted.get(`${h.record.tableId}/${h.record.tabletDir}`);
      if (w && w.assignment.ownerEpoch === h.ownerEpoch) continue;
      await this.tablets.close(h.record.tableId, h.record.tabletDir);
      await this.options.coord.delete(loadedKey(h.record)).catch(() => false);
    }
    this.startReleases(wanted, session);
    for (const { table } of wanted.values()) {
      if (this.applied.get(table.schema.tableId) !== table) {
        this.tablets.applyTableRecord(table);
        this.applied.set(table.schema.tableId, table);
      }
    }
    const opening = [...wanted.values()].filter(
      (w) =>
        w.assignment.moveTo === undefined &&
        this.tablets.get(w.assignment.tablet.tableId, w.assignment.tablet.tabletDir) === undefined,
    );
    const failed = await Promise.all(
      opening.map((w) =>
        this.openOne(w.table, w.assignment, session).then(
          () => false,
          (err) => {
            this.options.log.warn({ err, tablet: w.assignment.tablet.tabletDir }, 'opening a tablet failed');
            return true;
          },
        ),
      ),
    );
    // A tablet whose directory another process still holds (a paused old owner) is tried again
    // in a later round, for as long as it stays assigned here.
    if (failed.includes(true))
      this.timers.setTimer(limits.CLUSTER_REJOIN_RETRY_MS, () => this.scheduleReconcile());
  }

  /**
   * Starts releasing every wanted tablet whose assignment names `moveTo` (open here or not: one not
   * open is reported released at once); forgets releases of moves that were cancelled.
   */
  private startReleases(wanted: ReadonlyMap<string, { assignment: Assignment }>, session: Session): void {
    for (const r of [...this.released]) {
      const [k, epoch] = r.split('@') as [string, string];
      const a = wanted.get(k)?.assignment;
      if (a?.moveTo === undefined || String(a.ownerEpoch) !== epoch) this.released.delete(r);
    }
    for (const [k, { assignment: a }] of wanted) {
      if (a.moveTo === undefined || this.releasing.has(k) || this.released.has(`${k}@${a.ownerEpoch}`))
        continue;
      const p = this.releaseOne(k, a, session).then(
        () => {
          this.releasing.delete(k);
          this.scheduleReconcile();
        },
        (err) => {
          // Tried again after a pause (the master cancels the move if it never succeeds).
          this.options.log.warn({ err, tablet: a.tablet.tabletDir }, 'releasing a tablet failed');
          this.timers.setTimer(limits.CLUSTER_REJOIN_RETRY_MS, () => {
            this.releasing.delete(k);
            this.scheduleReconcile();
          });
        },
      );
      this.releasing.set(k, p);
    }
  }

  /** Flushes and closes one tablet for a planned move, then reports it released. */
  private async releaseOne(k: string, a: Assignment, session: Session): Promise<void> {
    const t = a.tablet;
    const h = this.tablets.get(t.tableId, t.tabletDir);
    if (h && h.ownerEpoch !== a.ownerEpoch) return;
    const took = await this.tablets.release(t.tableId, t.tabletDir);
    const reportAtMs = this.clock.monotonicMs();
    const now = this.view.assignments.get(t.tableId)?.get(t.tabletDir);
    if (!session.isValid() || now?.server !== this.self.id || now.ownerEpoch !== a.ownerEpoch) return;
    this.released.add(`${k}@${a.ownerEpoch}`);
    await this.options.coord.put(
      loadedKey(t),
      encodeValue({ server: this.self.id, ownerEpoch: a.ownerEpoch, released: true }),
      { session },
    );
    this.options.log.info(
      {
        table: t.tableId,
        tablet: t.tabletDir,
        ownerEpoch: a.ownerEpoch,
        moveTo: a.moveTo,
        flushMs: Math.round(took?.flushMs ?? 0),
        stoppedMs: Math.round(took?.stoppedMs ?? 0),
        reportMs: Math.round(this.clock.monotonicMs() - reportAtMs),
      },
      'tablet released',
    );
  }

  private async openOne(table: TableRecord, a: Assignment, session: Session): Promise<void> {
    const t = a.tablet;
    const stillWanted = () => {
      const now = this.view.assignments.get(t.tableId)?.get(t.tabletDir);
      return session.isValid() && now?.server === this.self.id && now.ownerEpoch === a.ownerEpoch;
    };
    const startedMs = this.clock.monotonicMs();
    const handle = await this.tablets.open(table, t, a.ownerEpoch, stillWanted);
    if (!handle) return;
    // The session may have ended, or the tablet moved on, while its WAL was replayed.
    if (!stillWanted()) {
      await this.tablets.close(t.tableId, t.tabletDir);
      return;
    }
    this.options.log.info(
      {
        table: t.tableId,
        tablet: t.tabletDir,
        ownerEpoch: a.ownerEpoch,
        openMs: Math.round(this.clock.monotonicMs() - startedMs),
      },
      'tablet opened',
    );
    await this.options.coord.put(
      loadedKey(t),
      encodeValue({ server: this.self.id, ownerEpoch: a.ownerEpoch }),
      {
        session,
      },
    );
  }

  /** Stops serving: servers, tablets, session, clients. */
  async close(): Promise<void> {
    this.closed = true;
    this.statsPublisher.stop();
    this.view.close();
    await this.publicServer.close();
    await this.peerServer.close();
    await this.reconciling;
    await Promise.all([...this.releasing.values()]);
    await this.splitter.stop();
    await this.tablets.closeAll();
    await this.tablets.closeWorkers();
    await this.session?.close();
    await this.store.close();
    this.peers.close();
  }
}
