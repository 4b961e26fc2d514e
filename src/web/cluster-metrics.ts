/**
 * The cluster metrics of a master or tablet server process, added to its Prometheus registry next
 * to the RPC and process metrics `tabula serve` exports. Read from the process's state at scrape
 * time (no timers): every gauge is reset and refilled per scrape, so series of tablets and servers
 * that went away vanish.
 *
 *   tabula_cluster_info{role,server}                   1 (role: master | tablet_server)
 *   tabula_cluster_master_epoch                        the master epoch (its lock's fencing token)
 *   tabula_cluster_servers_live                        tablet servers registered
 *   tabula_cluster_tablets_held                        tablets this server has open (tablet server)
 *   tabula_cluster_tablets_assigned{server}            tablets assigned per server (master)
 *   tabula_cluster_tablet_owner_epoch{table,tablet}    owner epoch per tablet held (server) / assigned (master)
 *   tabula_cluster_tablet_data_bytes{table,tablet}     approximate size per tablet held (tablet server)
 *   tabula_cluster_session_valid                       1 while the coordination session is valid
 *   tabula_cluster_session_remaining_seconds           validity left without another keepalive
 *   tabula_cluster_forwarded_calls_total{target}       calls forwarded to other servers, by address
 *   tabula_cluster_events_total{kind}                  events this process saw (src/web/cluster-events.ts)
 *
 * Labels take values from bounded sets: table ids of existing tables, tablet directories (at most
 * CLUSTER_METRICS_TABLETS_MAX series), server ids and addresses of the cluster (at most
 * CLUSTER_METRICS_TARGETS_MAX, the rest as `other`).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ServerStats } from '../cluster/cluster-keys.js';
import type { ClusterView } from '../cluster/cluster-view.js';
import { CLUSTER_METRICS_TABLETS_MAX } from '../common/limits.js';
import type { Session } from '../coord/coordination.js';
import { CLUSTER_EVENT_KINDS, type ClusterEventLog } from './cluster-events.js';

const MS_PER_SECOND = 1000;

/** A tablet and the owner epoch it is served under. */
export interface EpochedTablet {
  readonly tableId: string;
  readonly tabletDir: string;
  readonly ownerEpoch: number;
}

/** What the metrics read of a master or tablet server. */
export interface ClusterMetricsSource {
  readonly role: 'master' | 'tablet_server';
  readonly view: ClusterView;
  readonly events: ClusterEventLog;
  /** The process's id: the server id, or `master`. */
  serverId(): string;
  /** The master epoch as this process knows it (undefined: no master seen). */
  masterEpoch(): number | undefined;
  /** The process's coordination session (tablet servers). */
  session?(): Session | undefined;
  /** The tablets it has open (tablet servers). */
  tabletsHeld?(): readonly EpochedTablet[];
  /** Calls forwarded, by target address (tablet servers). */
  readonly forwardedCalls?: ReadonlyMap<string, number>;
  /** Its last statistics report (tablet servers). */
  stats?(): ServerStats | undefined;
}

/** Every tablet the view assigns, with its owner epoch. */
export function assignedTablets(view: ClusterView): EpochedTablet[] {
  const out: EpochedTablet[] = [];
  for (const byDir of view.assignments.values())
    for (const a of byDir.values())
      out.push({ tableId: a.tablet.tableId, tabletDir: a.tablet.tabletDir, ownerEpoch: a.ownerEpoch });
  return out;
}

/** Adds the cluster metrics of `source` to `registry`. */
export function registerClusterMetrics(registry: Registry, source: ClusterMetricsSource): void {
  const registers = [registry];
  const gauge = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers });
  // One collect refills every metric below; prom-client runs it when the first-registered one is
  // scraped, before it reads the others.
  const info = new Gauge({
    name: 'tabula_cluster_info',
    help: 'This process in the cluster (always 1).',
    labelNames: ['role', 'server'],
    registers,
    collect: () => refill(),
  });
  const masterEpoch = gauge('tabula_cluster_master_epoch', 'The master epoch this process knows.');
  const serversLive = gauge('tabula_cluster_servers_live', 'Tablet servers registered in the cluster.');
  const held = gauge('tabula_cluster_tablets_held', 'Tablets this tablet server has open.');
  const assigned = gauge('tabula_cluster_tablets_assigned', 'Tablets assigned per tablet server.', [
    'server',
  ]);
  const ownerEpoch = gauge('tabula_cluster_tablet_owner_epoch', 'Owner epoch of each tablet.', [
    'table',
    'tablet',
  ]);
  const dataBytes = gauge('tabula_cluster_tablet_data_bytes', 'Approximate bytes of each tablet held.', [
    'table',
    'tablet',
  ]);
  const sessionValid = gauge('tabula_cluster_session_valid', '1 while the coordination session is valid.');
  const sessionLeft = gauge(
    'tabula_cluster_session_remaining_seconds',
    'How long the coordination session stays valid without another answered keepalive.',
  );
  const forwarded = new Counter({
    name: 'tabula_cluster_forwarded_calls_total',
    help: 'Calls forwarded to the server owning the rows, by target address.',
    labelNames: ['target'],
    registers,
  });
  const events = new Counter({
    name: 'tabula_cluster_events_total',
    help: 'Cluster events this process saw, by kind.',
    labelNames: ['kind'],
    registers,
  });
  const refill = () => {
    for (const g of [info, masterEpoch, serversLive, held, assigned, ownerEpoch, dataBytes]) g.reset();
    for (const g of [sessionValid, sessionLeft]) g.reset();
    info.set({ role: source.role, server: source.serverId() }, 1);
    const epoch = source.masterEpoch();
    if (epoch !== undefined) masterEpoch.set(epoch);
    serversLive.set(source.view.servers.size);
    const tablets = (source.tabletsHeld?.() ?? assignedTablets(source.view)).slice(
      0,
      CLUSTER_METRICS_TABLETS_MAX,
    );
    for (const t of tablets) ownerEpoch.set({ table: t.tableId, tablet: t.tabletDir }, t.ownerEpoch);
    if (source.tabletsHeld) held.set(tablets.length);
    else {
      for (const id of source.view.servers.keys()) assigned.set({ server: id }, 0);
      for (const byDir of source.view.assignments.values())
        for (const a of byDir.values()) assigned.inc({ server: a.server });
    }
    for (const t of source.stats?.()?.tablets ?? [])
      dataBytes.set({ table: t.tableId, tablet: t.tabletDir }, t.dataBytes);
    const session = source.session?.();
    if (source.session) {
      sessionValid.set(session?.isValid() === true ? 1 : 0);
      sessionLeft.set((session?.remainingMs() ?? 0) / MS_PER_SECOND);
    }
    forwarded.reset();
    for (const [target, n] of source.forwardedCalls ?? []) forwarded.inc({ target }, n);
    events.reset();
    for (const kind of CLUSTER_EVENT_KINDS) events.inc({ kind }, source.events.totals().get(kind) ?? 0);
  };
}
