/**
 * The HTTP side of a cluster process (`tabula master` / `tabula tablet-server --http-port`):
 * `/metrics` (the RPC and process metrics `tabula serve` exports plus the cluster metrics,
 * src/web/cluster-metrics.ts) and the cluster console, live. Read-only, like the one-process
 * console (src/web/console-server.ts), and built from the same parts: src/web/http-basics.ts for
 * headers, assets and the read-only gate; the live sampler and event stream hub for pushing a
 * view once a second.
 *
 * Routes:
 *   /                          the cluster page      /api/cluster              its JSON
 *   /tables/ID                 a table's tablet map  /api/cluster/tables/ID    its JSON
 *   /api/events[?table=ID]     Server-Sent Events (hello, then a sample every second)
 *   /metrics                   Prometheus text
 *   /assets/NAME               the console's static files
 *
 * Every process can serve the console (each has a cluster view); the master's is the one
 * docs/cluster.md points at. The servers' statistics reports are re-read at most once per sample,
 * and only while someone looks (a stream is open or an API call came since the last sample).
 */
import type { ClusterView } from '../cluster/cluster-view.js';
import { ServerStatsCache } from '../cluster/server-stats-cache.js';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { METRICS_CONTENT_TYPE } from '../common/metrics.js';
import type { Coordination } from '../coord/coordination.js';
import type { RpcObserver } from '../server/observability.js';
import { ClusterEventLog } from './cluster-events.js';
import { type ClusterMetricsSource, registerClusterMetrics } from './cluster-metrics.js';
import { type ClusterViewSources, clusterOverview, clusterTable } from './cluster-views.js';
import { EventStreamHub } from './event-stream.js';
import {
  type Asset,
  type ListeningConsole,
  listenConsole,
  loadAssets,
  type Route,
  readOnlyServer,
  send,
  sendAsset,
  sendJson,
  tableIdOf,
} from './http-basics.js';
import { LiveSampler } from './live-sampler.js';

/** Options of `startClusterConsole`. */
export interface ClusterConsoleOptions {
  readonly host: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  readonly coord: Coordination;
  readonly view: ClusterView;
  readonly clock: Clock;
  /** The observer of the process's gRPC services (its registry gets the cluster metrics). */
  readonly observer: RpcObserver;
  readonly logger: Logger;
  /** What the metrics read besides the view and the events (which this console provides). */
  readonly metrics: Omit<ClusterMetricsSource, 'view' | 'events'>;
}

function makeRouter(
  sources: ClusterViewSources,
  hub: EventStreamHub,
  observer: RpcObserver,
  want: () => void,
): Route {
  const assets = loadAssets();
  const shell = assets.get('cluster.html') as Asset;
  return async (req, res, url, head) => {
    const path = url.pathname;
    const parts = path.split('/');
    if (path === '/' || /^\/tables\/[^/]+$/.test(path)) {
      send(res, 200, shell.type, shell.body, head);
    } else if (sendAsset(res, assets, path, head)) {
      return;
    } else if (path === '/metrics') {
      send(res, 200, METRICS_CONTENT_TYPE, await observer.registry.metrics(), head);
    } else if (path === '/api/cluster') {
      want();
      await sources.stats.refresh();
      sendJson(res, clusterOverview(sources), head);
    } else if (parts.length === 5 && parts[1] === 'api' && parts[2] === 'cluster' && parts[3] === 'tables') {
      want();
      await sources.stats.refresh();
      const id = tableIdOf(parts[4] as string);
      sendJson(res, id === undefined ? undefined : clusterTable(sources, id), head);
    } else if (path === '/api/events' && !head) {
      want();
      hub.open(req, res, url.searchParams.get('table') ?? undefined);
    } else {
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);
    }
  };
}

/** Starts the cluster console and `/metrics` on `options.host:options.port`. */
export async function startClusterConsole(options: ClusterConsoleOptions): Promise<ListeningConsole> {
  const log = options.logger.child({ component: 'console' });
  const events = new ClusterEventLog(options.view, options.clock);
  registerClusterMetrics(options.observer.registry, { ...options.metrics, view: options.view, events });
  const sources: ClusterViewSources = {
    role: options.metrics.role,
    self: () => options.metrics.serverId(),
    masterEpoch: () => options.metrics.masterEpoch(),
    view: options.view,
    events,
    stats: new ServerStatsCache(options.coord),
  };
  const sampler = new LiveSampler(options.observer);
  let wanted = false;
  const hub = new EventStreamHub(sampler, (tableId) =>
    tableId === undefined ? clusterOverview(sources) : clusterTable(sources, tableId),
  );
  // Subscribed after the hub: a tick's views use the reports read at the previous tick, and the
  // refresh started here lands before the next one.
  sampler.subscribe(() => {
    if (!wanted && hub.clientCount === 0) return;
    wanted = false;
    sources.stats.refresh().catch((err) => log.warn({ err }, 'reading the servers statistics failed'));
  });
  const server = readOnlyServer(
    makeRouter(sources, hub, options.observer, () => {
      wanted = true;
    }),
    log,
  );
  return listenConsole(server, options.host, options.port, [
    () => hub.close(),
    () => sampler.stop(),
    () => events.close(),
  ]);
}
