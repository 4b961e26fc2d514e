/**
 * The master process of a cluster. It waits to win the coordination lock `CLUSTER_MASTER_LOCK`
 * (its lease epoch is the master epoch), then owns the METADATA catalog in the shared directory
 * (the metadata service, src/tablet/metadata-service.ts, with the `AssignmentHost` in the tablet
 * host's place), serves the table admin API, and publishes its address in `cluster/master`.
 *
 * Losing the lock is fail-stop for this term: when a renewal fails or the lease is no longer valid,
 * the master calls `onLost`; the command closes it and campaigns again (src/cli/cluster-commands.ts),
 * so a standby, or this process once coordination is back, takes over with a larger epoch. The catalog
 * engine is opened under the master epoch as its owner epoch (src/storage/owner-fence.ts): once a
 * newer master opened it, every catalog commit of an older one fails (`owner epoch is stale`).
 * It also commits the splits and merges tablet servers prepare (src/master/split-coordinator.ts,
 * on the master control service of its admin port) and collects the shared files no live tablet
 * references (src/master/shared-file-gc.ts, every `fileGcIntervalMs`).
 *
 * Balancing: every CLUSTER_BALANCE_PERIOD_MS, and CLUSTER_BALANCE_AFTER_CHANGE_MS after the set of
 * live servers changed (a server joined or left), the master weighs the servers' load reports
 * (`cluster-stats/…`) with the balancer (src/master/balancer.ts, seeded from the injected random)
 * and starts up to CLUSTER_BALANCE_MOVES_MAX planned moves, less those still in flight
 * (src/master/planned-moves.ts).
 *
 * Concurrency: single event-loop thread. Admin operations run one at a time on the metadata
 * service's chain; an admin answer is sent only after the coordination keys it changed are written.
 */

import { CLUSTER_MASTER_LOCK, encodeValue, MASTER_KEY } from '../cluster/cluster-keys.js';
import { ClusterView } from '../cluster/cluster-view.js';
import { ServerStatsCache } from '../cluster/server-stats-cache.js';
import { type Clock, type Rand, SeededRand, systemClock, systemRand } from '../common/clock.js';
import { ErrorCode, errors, hasCode } from '../common/errors.js';
import * as limits from '../common/limits.js';
import type { Logger } from '../common/logger.js';
import type { Coordination, Lease, Session } from '../coord/coordination.js';
import { type CoordinationTimers, systemTimers } from '../coord/coordination-timers.js';
import { loadBigtableProtos } from '../server/protos.js';
import { type RunningServer, startServer } from '../server/server.js';
import { Engine } from '../storage/engine.js';
import { joinPath } from '../storage/vfs.js';
import { Catalog } from '../tablet/catalog.js';
import { MetadataService } from '../tablet/metadata-service.js';
import type { FamilyModification, TableSchema, TableStore, Tablet } from '../tablet/table-store-api.js';
import { sharedEngineResources } from '../tablet/tablet-host.js';
import { TabletDirNames } from '../tablet/tablet-lifecycle.js';
import { AssignmentHost } from './assignment-host.js';
import { type BalancerTablet, planMoves } from './balancer.js';
import { locateMetadata } from './metadata-root.js';
import { PlannedMoves } from './planned-moves.js';
import { SharedFileGc } from './shared-file-gc.js';
import { SplitCoordinator } from './split-coordinator.js';

/** The master's admin API: schema admin on the metadata service; no rows. */
class MasterStore implements TableStore {
  constructor(
    private readonly metadata: MetadataService,
    private readonly host: AssignmentHost,
  ) {}

  private async settled<T>(result: Promise<T>): Promise<T> {
    const value = await result;
    await this.host.settled();
    return value;
  }

  createTable(tableId: string, options: Parameters<TableStore['createTable']>[1]): Promise<TableSchema> {
    return this.settled(this.metadata.createTable(tableId, options));
  }
  listTables(): TableSchema[] {
    return this.metadata.listTables();
  }
  getTable(tableId: string): TableSchema {
    return this.metadata.getTable(tableId);
  }
  deleteTable(tableId: string): Promise<void> {
    return this.settled(this.metadata.deleteTable(tableId));
  }
  updateTable(tableId: string, changes: { deletionProtection?: boolean }): Promise<TableSchema> {
    return this.settled(this.metadata.updateTable(tableId, changes));
  }
  modifyColumnFamilies(tableId: string, modifications: readonly FamilyModification[]): Promise<TableSchema> {
    return this.settled(this.metadata.modifyColumnFamilies(tableId, modifications));
  }
  dropRowRange(tableId: string, range: { rowKeyPrefix: Buffer } | { all: true }): Promise<void> {
    return this.settled(this.metadata.dropRowRange(tableId, range));
  }
  tablet(tableId: string): Tablet {
    this.metadata.record(tableId);
    return this.host.router(tableId);
  }
  generateConsistencyToken(tableId: string): string {
    this.metadata.record(tableId);
    return `${tableId}/0`;
  }
  checkConsistency(tableId: string, token: string): boolean {
    this.metadata.record(tableId);
    if (!token.startsWith(`${tableId}/`))
      throw errors.invalidArgument('consistency token is not for this table', { table: tableId });
    return true;
  }
  async close(): Promise<void> {}
}

/** Options of `startMaster`. */
export interface MasterOptions {
  readonly coord: Coordination;
  readonly dir: string;
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  /** Called once if the master loses its lock (the caller closes it, then may campaign again). */
  readonly onLost: (reason: string) => void;
  readonly clock?: Clock;
  readonly rand?: Rand;
  readonly timers?: CoordinationTimers;
  /** Grace period of the shared-file GC (default FILE_GC_GRACE_MS_DEFAULT). */
  readonly fileGcGraceMs?: number;
  /** Period of the shared-file GC's sweeps (default FILE_GC_INTERVAL_MS_DEFAULT). */
  readonly fileGcIntervalMs?: number;
}

/** A running, elected master. */
export interface RunningMaster {
  readonly address: string;
  readonly epoch: number;
  /** The master's cluster view (read-only: for its console and `/metrics`). */
  readonly view: ClusterView;
  readonly splits: SplitCoordinator;
  readonly gc: SharedFileGc;
  /** Stops serving and releases the lock (a standby takes over at once). */
  close(): Promise<void>;
  /** Stops serving after the lock was lost, without waiting on coordination. */
  stepDown(): Promise<void>;
}

function sleep(timers: CoordinationTimers, ms: number): Promise<void> {
  return new Promise((resolve) => void timers.setTimer(ms, resolve));
}

/** Waits to win the master lock; resolves with its lease. */
async function winLock(options: MasterOptions, timers: CoordinationTimers): Promise<Lease> {
  const owner = `master-${options.host}:${options.port}`;
  for (;;) {
    try {
      const lease = await options.coord.acquireLock(
        CLUSTER_MASTER_LOCK,
        owner,
        limits.CLUSTER_MASTER_LOCK_TTL_MS,
      );
      if (lease) return lease;
    } catch (err) {
      // Coordination unreachable: a candidate waits for it like for the lock.
      options.log.warn({ err }, 'campaigning for the master lock failed; trying again');
    }
    await sleep(timers, limits.CLUSTER_MASTER_LOCK_RETRY_MS);
  }
}

/** Renews the lease until it fails, then reports the loss once. */
function keepLease(lease: Lease, options: MasterOptions, timers: CoordinationTimers): () => void {
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    lease
      .renew()
      .then((ok) => {
        if (stopped) return;
        if (!ok || !lease.isValid()) return options.onLost('master lock lease could not be renewed');
        timers.setTimer(lease.ttlMs * limits.CLUSTER_MASTER_RENEW_FRACTION, tick);
      })
      .catch(() => {
        if (stopped) return;
        if (!lease.isValid()) return options.onLost('master lock lease expired');
        timers.setTimer(lease.ttlMs * limits.CLUSTER_MASTER_RENEW_FRACTION, tick);
      });
  };
  timers.setTimer(lease.ttlMs * limits.CLUSTER_MASTER_RENEW_FRACTION, tick);
  return () => {
    stopped = true;
  };
}

/** Opens the catalog engine, waiting while a previous master's process still holds it. */
async function openCatalog(
  shared: ReturnType<typeof sharedEngineResources>,
  dir: string,
  masterEpoch: number,
  timers: CoordinationTimers,
): Promise<Engine> {
  for (let tries = 1; ; tries++) {
    try {
      return await Engine.open({ ...shared, dir, ownerEpoch: masterEpoch });
    } catch (err) {
      if (!hasCode(err, ErrorCode.FailedPrecondition) || tries >= limits.CLUSTER_CATALOG_OPEN_TRIES_MAX)
        throw err;
      await sleep(timers, limits.CLUSTER_TABLET_OPEN_RETRY_MS);
    }
  }
}

/**
 * The view's assigned tablets with their servers' last reported loads; one moving counts at its
 * destination; moving and recently moved ones are pinned.
 */
function balancerTablets(view: ClusterView, stats: ServerStatsCache, moves: PlannedMoves): BalancerTablet[] {
  const out: BalancerTablet[] = [];
  for (const [tableId, tablets] of view.assignments) {
    for (const a of tablets.values()) {
      const key = `${tableId}/${a.tablet.tabletDir}`;
      const load = stats.tablet(tableId, a.tablet.tabletDir);
      out.push({
        key,
        server: a.moveTo ?? a.server,
        bytes: load?.dataBytes ?? 0,
        requestsPerSec: load?.requestsPerSecond ?? 0,
        pinned: a.moveTo !== undefined || moves.movedRecently(key),
      });
    }
  }
  return out;
}

/**
 * Runs balancing rounds until the returned function is called: one every CLUSTER_BALANCE_PERIOD_MS
 * and one CLUSTER_BALANCE_AFTER_CHANGE_MS after the live servers change.
 */
function startBalancing(
  view: ClusterView,
  stats: ServerStatsCache,
  moves: PlannedMoves,
  timers: CoordinationTimers,
  rand: Rand,
  log: Logger,
): () => void {
  let stopped = false;
  let signature = '';
  let cancelNext: () => void = () => undefined;
  const round = async () => {
    const budget = limits.CLUSTER_BALANCE_MOVES_MAX - moves.inFlight();
    if (budget <= 0) return;
    await stats.refresh();
    const servers = [...view.servers.keys()];
    const plan = planMoves(servers, balancerTablets(view, stats, moves), budget, rand);
    for (const m of plan)
      if (await moves.begin(m.key, m.to))
        log.info({ tablet: m.key, from: m.from, to: m.to }, 'balancer moves a tablet');
  };
  const schedule = (ms: number) => {
    cancelNext();
    cancelNext = timers.setTimer(ms, () => {
      if (stopped) return;
      round()
        .catch((err) => log.warn({ err }, 'balancing round failed'))
        .finally(() => {
          if (!stopped) schedule(limits.CLUSTER_BALANCE_PERIOD_MS);
        });
    });
  };
  const stopWatching = view.onChange(() => {
    const now = [...view.servers.keys()].sort().join(',');
    if (now === signature) return;
    signature = now;
    schedule(limits.CLUSTER_BALANCE_AFTER_CHANGE_MS);
  });
  schedule(limits.CLUSTER_BALANCE_PERIOD_MS);
  return () => {
    stopped = true;
    stopWatching();
    cancelNext();
  };
}

/** Runs a GC sweep every `intervalMs` until the returned function is called. */
function sweepPeriodically(
  gc: SharedFileGc,
  intervalMs: number,
  timers: CoordinationTimers,
  log: Logger,
): () => void {
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    gc.sweep()
      .catch((err) => log.warn({ err: String(err) }, 'shared-file sweep failed'))
      .finally(() => {
        if (!stopped) timers.setTimer(intervalMs, tick);
      });
  };
  timers.setTimer(intervalMs, tick);
  return () => {
    stopped = true;
  };
}

/** Becomes the master (waiting for the lock), loads the catalog, assigns tablets and serves admin. */
export async function startMaster(options: MasterOptions): Promise<RunningMaster> {
  const clock = options.clock ?? systemClock;
  const rand = options.rand ?? systemRand;
  const timers = options.timers ?? systemTimers;
  const { coord, log } = options;
  // The heavy synchronous start-up (protos, compaction workers) runs before the lock is won, so
  // it cannot delay the first renewals past the lease's deadline on a loaded machine.
  loadBigtableProtos();
  const shared = sharedEngineResources();
  const lease = await winLock(options, timers);
  // What the term has started, stopped in reverse by `close`, `stepDown`, or a failed start-up.
  const term = new Teardown();
  term.add(() => lease.release(), true);
  term.add(keepLease(lease, options, timers));
  log.info({ epoch: lease.epoch }, 'master lock won');
  try {
    return await serveAsMaster(options, lease, shared, term, { clock, rand, timers });
  } catch (err) {
    await term.run(false).catch(() => undefined);
    throw err;
  }
}

/**
 * Steps that stop what was started, run last-added first. A step marked `coordination` talks to
 * coordination (releasing the lock, closing the session): `run(false)` starts it without waiting,
 * for a master whose coordination may be unreachable.
 */
class Teardown {
  private readonly steps: Array<{ stop: () => unknown; coordination: boolean }> = [];

  add(stop: () => unknown, coordination = false): void {
    this.steps.push({ stop, coordination });
  }

  /** Runs every step once, even past a failure; rejects with the first failure. */
  async run(waitOnCoordination: boolean): Promise<void> {
    let failure: unknown;
    for (const { stop, coordination } of this.steps.splice(0).reverse()) {
      const done = Promise.resolve().then(stop);
      if (coordination && !waitOnCoordination) void done.catch(() => undefined);
      else await done.catch((err: unknown) => (failure ??= err));
    }
    if (failure !== undefined) throw failure;
  }
}

async function serveAsMaster(
  options: MasterOptions,
  lease: Lease,
  shared: ReturnType<typeof sharedEngineResources>,
  term: Teardown,
  { clock, rand, timers }: { clock: Clock; rand: Rand; timers: CoordinationTimers },
): Promise<RunningMaster> {
  const { coord, log } = options;
  term.add(() => shared.executor.close());
  const catalogDir = await locateMetadata(coord);
  const catalogEngine = await openCatalog(shared, joinPath(options.dir, catalogDir), lease.epoch, timers);
  term.add(() => catalogEngine.close());
  const view = new ClusterView(coord, timers, (err) => log.error({ err }, 'cluster view error'));
  term.add(() => view.close());
  await view.start();
  const host = new AssignmentHost({ coord, view, clock, timers, log });
  const metadata = new MetadataService({
    dir: options.dir,
    vfs: shared.vfs,
    catalog: new Catalog(catalogEngine),
    host,
    ownerEpoch: lease.epoch,
    dirNames: new TabletDirNames(clock, rand),
    clock,
    rand,
  });
  await metadata.load();
  term.add(() => metadata.drain());
  host.start();
  term.add(() => host.close());
  const moves = new PlannedMoves({ coord, view, timers, clock, log });
  moves.start();
  const balancerSeed = Math.floor(rand.next() * 0x1_0000_0000);
  log.info({ seed: balancerSeed }, 'balancer seeded');
  const stopBalancing = startBalancing(
    view,
    new ServerStatsCache(coord),
    moves,
    timers,
    new SeededRand(balancerSeed),
    log,
  );
  const splits = new SplitCoordinator({
    metadata,
    host,
    vfs: shared.vfs,
    dir: options.dir,
    clock,
    timers,
    log,
  });
  const gc = new SharedFileGc({
    metadata,
    vfs: shared.vfs,
    dir: options.dir,
    clock,
    log,
    graceMs: options.fileGcGraceMs ?? limits.FILE_GC_GRACE_MS_DEFAULT,
  });
  const stopGc = sweepPeriodically(
    gc,
    options.fileGcIntervalMs ?? limits.FILE_GC_INTERVAL_MS_DEFAULT,
    timers,
    log,
  );
  term.add(() => moves.close());
  term.add(stopBalancing);
  term.add(stopGc);
  const server: RunningServer = await startServer({
    host: options.host,
    port: options.port,
    store: new MasterStore(metadata, host),
    extraServices: [splits.binding()],
  });
  term.add(() => server.close());
  const session: Session = await coord.openSession(limits.CLUSTER_MASTER_LOCK_TTL_MS);
  term.add(() => session.close(), true);
  await coord.put(MASTER_KEY, encodeValue({ address: server.address, epoch: lease.epoch }), { session });
  return {
    address: server.address,
    epoch: lease.epoch,
    view,
    splits,
    gc,
    close: () => term.run(true),
    // The lease is gone or going; coordination may be unreachable: nothing waits on it.
    stepDown: () => term.run(false),
  };
}
