/**
 * The JSON the cluster console draws (src/web/assets/cluster-console.js): the cluster overview
 * (master, servers with their tablets and rates, tables, recent events) and one table's tablet map
 * (each tablet's key range, size, write rate, owner and owner epoch). Built on demand from the
 * process's cluster view, its event log and the servers' statistics reports (`cluster-stats/`,
 * read through `ServerStatsCache`); nothing here writes.
 *
 * Row keys are shown as text (UTF-8, invalid bytes replaced), '' at either end of the table.
 * A report is at most CLUSTER_STATS_PUBLISH_INTERVAL_MS old when its server is healthy; a tablet
 * with no report (just opened, or its server gone) shows size and rate as null.
 *
 * Concurrency: views are synchronous snapshots on the event loop; the cache refreshes itself
 * asynchronously, one coordination read at a time.
 */
import type { ClusterView } from '../cluster/cluster-view.js';
import type { ServerStatsCache } from '../cluster/server-stats-cache.js';
import { CLUSTER_CONSOLE_TABLETS_MAX, CONSOLE_TABLES_LISTED_MAX } from '../common/limits.js';
import type { ClusterEvent, ClusterEventLog } from './cluster-events.js';
import { gcRuleText } from './console-views.js';

/** One tablet server as the console shows it. */
export interface ServerView {
  readonly id: string;
  readonly address: string;
  readonly peerAddress: string;
  /**
   * `serving`: registered, every tablet assigned to it loaded; `opening`: registered, some not yet
   * loaded; `gone`: its session ended, tablets still assigned to it (awaiting failover).
   */
  readonly state: 'serving' | 'opening' | 'gone';
  readonly tabletsAssigned: number;
  readonly tabletsLoaded: number;
  /** From its last report; null without one. */
  readonly callsPerSecond: number | null;
  readonly dataBytes: number | null;
  readonly tablets: ReadonlyArray<{ readonly tableId: string; readonly tabletDir: string }>;
}

/** The cluster overview. */
export interface ClusterOverviewView {
  readonly role: 'master' | 'tablet_server';
  /** This process: `master`, or its server id. */
  readonly self: string;
  readonly masterEpoch: number | null;
  readonly masterAddress: string | null;
  readonly servers: readonly ServerView[];
  readonly tabletCount: number;
  readonly tables: ReadonlyArray<{
    readonly tableId: string;
    readonly tablets: number;
    readonly dataBytes: number;
    readonly writesPerSecond: number;
  }>;
  /** Newest first. */
  readonly events: readonly ClusterEvent[];
}

/** One tablet on a cluster table page. */
export interface ClusterTabletView {
  readonly tabletDir: string;
  readonly startKey: string;
  readonly endKey: string;
  readonly server: string;
  readonly ownerEpoch: number;
  /** Whether its server reported it open. */
  readonly loaded: boolean;
  readonly dataBytes: number | null;
  readonly writesPerSecond: number | null;
}

/** One table of the cluster. */
export interface ClusterTableView {
  readonly tableId: string;
  readonly createdAtMs: number;
  readonly families: ReadonlyArray<{ readonly name: string; readonly gcRule: string }>;
  /** In key order; at most CLUSTER_CONSOLE_TABLETS_MAX. */
  readonly tablets: readonly ClusterTabletView[];
  readonly tabletCount: number;
  /** This table's tablet events seen by this process, newest first. */
  readonly history: readonly ClusterEvent[];
}

/** What the views read. */
export interface ClusterViewSources {
  readonly role: 'master' | 'tablet_server';
  self(): string;
  masterEpoch(): number | undefined;
  readonly view: ClusterView;
  readonly events: ClusterEventLog;
  readonly stats: ServerStatsCache;
}

function serverViews(s: ClusterViewSources): ServerView[] {
  const { view, stats } = s;
  const owned = new Map<string, Array<{ tableId: string; tabletDir: string }>>();
  for (const id of view.servers.keys()) owned.set(id, []);
  for (const byDir of view.assignments.values())
    for (const a of byDir.values()) {
      const list = owned.get(a.server) ?? [];
      list.push({ tableId: a.tablet.tableId, tabletDir: a.tablet.tabletDir });
      owned.set(a.server, list);
    }
  return [...owned].map(([id, tablets]) => {
    const info = view.servers.get(id);
    const loaded = tablets.filter(
      (t) => view.loaded.get(`${t.tableId}/${t.tabletDir}`)?.server === id,
    ).length;
    const report = stats.server(id);
    return {
      id,
      address: info?.address ?? '',
      peerAddress: info?.peerAddress ?? '',
      state: info === undefined ? 'gone' : loaded < tablets.length ? 'opening' : 'serving',
      tabletsAssigned: tablets.length,
      tabletsLoaded: loaded,
      callsPerSecond: report?.callsPerSecond ?? null,
      dataBytes: report === undefined ? null : report.tablets.reduce((n, t) => n + t.dataBytes, 0),
      tablets: tablets.slice(0, CLUSTER_CONSOLE_TABLETS_MAX),
    };
  });
}

/** The cluster overview. */
export function clusterOverview(s: ClusterViewSources): ClusterOverviewView {
  const { view, stats } = s;
  let tabletCount = 0;
  const tables = [...view.tables.keys()]
    .sort()
    .slice(0, CONSOLE_TABLES_LISTED_MAX)
    .map((tableId) => {
      const tablets = [...(view.assignments.get(tableId)?.values() ?? [])];
      tabletCount += tablets.length;
      let dataBytes = 0;
      let writesPerSecond = 0;
      for (const a of tablets) {
        const r = stats.tablet(tableId, a.tablet.tabletDir);
        dataBytes += r?.dataBytes ?? 0;
        writesPerSecond += r?.writesPerSecond ?? 0;
      }
      return { tableId, tablets: tablets.length, dataBytes, writesPerSecond };
    });
  return {
    role: s.role,
    self: s.self(),
    masterEpoch: s.masterEpoch() ?? null,
    masterAddress: view.master?.address ?? null,
    servers: serverViews(s),
    tabletCount,
    tables,
    events: s.events.events(),
  };
}

/** One table's tablet map, or undefined when the cluster has no such table. */
export function clusterTable(s: ClusterViewSources, tableId: string): ClusterTableView | undefined {
  const record = s.view.tables.get(tableId);
  if (record === undefined) return undefined;
  const routed = s.view.tabletsOf(tableId);
  const tablets = routed.slice(0, CLUSTER_CONSOLE_TABLETS_MAX).map(({ assignment: a }) => {
    const r = s.stats.tablet(tableId, a.tablet.tabletDir);
    return {
      tabletDir: a.tablet.tabletDir,
      startKey: a.tablet.startRow?.toString('utf8') ?? '',
      endKey: a.tablet.endRow?.toString('utf8') ?? '',
      server: a.server,
      ownerEpoch: a.ownerEpoch,
      loaded: s.view.loaded.get(`${tableId}/${a.tablet.tabletDir}`)?.server === a.server,
      dataBytes: r?.dataBytes ?? null,
      writesPerSecond: r?.writesPerSecond ?? null,
    };
  });
  const schema = record.schema;
  return {
    tableId,
    createdAtMs: schema.createdAtMs,
    families: [...schema.families.values()].map((f) => ({ name: f.name, gcRule: gcRuleText(f.gcRule) })),
    tablets,
    tabletCount: routed.length,
    history: s.events.events().filter((e) => e.tableId === tableId),
  };
}
