/**
 * The web console and `/metrics`, on node:http. Read-only: only GET and HEAD are served, and no
 * route changes anything. It binds the same host as the gRPC server (`tabula serve --host`), on
 * its own port (`--http-port`).
 *
 * Routes:
 *   /                          overview page       /api/overview        its JSON
 *   /tables/ID                 a table's page      /api/tables/ID       its JSON
 *   /tables/ID/storage         the table's tablets' storage (same JSON)
 *   /api/events[?table=ID]     Server-Sent Events (event-stream.ts)
 *   /metrics                   Prometheus text
 *   /assets/NAME               the fixed set of static files below; nothing else is read from disk
 *
 * The pages are one static HTML shell plus a script that routes on the path, so the server renders
 * no user data into HTML. Headers, assets and the read-only gate: src/web/http-basics.ts.
 */
import type { Logger } from '../common/logger.js';
import { METRICS_CONTENT_TYPE } from '../common/metrics.js';
import type { RpcObserver } from '../server/observability.js';
import type { TableStore } from '../tablet/table-store-api.js';
import { overviewView, tableView } from './console-views.js';
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
import { registerStorageMetrics } from './storage-metrics.js';
import { TableHistory } from './table-history.js';

/** Options of `startConsole`. */
export interface ConsoleOptions {
  /** Interface to listen on: the gRPC server's. */
  readonly host: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  readonly store: TableStore;
  /** The observer of the gRPC services (its registry gets the storage metrics). */
  readonly observer: RpcObserver;
  readonly logger: Logger;
}

/** A running console. */
export type RunningConsole = ListeningConsole;

function makeRouter(
  options: ConsoleOptions,
  sampler: LiveSampler,
  hub: EventStreamHub,
  history: TableHistory,
): Route {
  const assets = loadAssets();
  const shell = assets.get('index.html') as Asset;
  const { store, observer } = options;
  return async (req, res, url, head) => {
    const path = url.pathname;
    const parts = path.split('/');
    if (path === '/' || /^\/tables\/[^/]+(\/storage)?$/.test(path)) {
      send(res, 200, shell.type, shell.body, head);
    } else if (sendAsset(res, assets, path, head)) {
      return;
    } else if (path === '/metrics') {
      send(res, 200, METRICS_CONTENT_TYPE, await observer.registry.metrics(), head);
    } else if (path === '/api/overview') {
      sendJson(res, overviewView(store, sampler), head);
    } else if (parts.length === 4 && parts[1] === 'api' && parts[2] === 'tables') {
      const id = tableIdOf(parts[3] as string);
      sendJson(res, id === undefined ? undefined : tableView(store, sampler, id, history), head);
    } else if (path === '/api/events' && !head) {
      hub.open(req, res, url.searchParams.get('table') ?? undefined);
    } else {
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);
    }
  };
}

/** Starts the console on `options.host:options.port`. */
export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const log = options.logger.child({ component: 'console' });
  const sampler = new LiveSampler(options.observer);
  const { store } = options;
  const history = new TableHistory(store);
  sampler.subscribe(() => history.observe());
  const hub = new EventStreamHub(sampler, (tableId) =>
    tableId === undefined ? overviewView(store, sampler) : tableView(store, sampler, tableId, history),
  );
  registerStorageMetrics(options.observer.registry, store, () => options.observer.tableRequests());
  const server = readOnlyServer(makeRouter(options, sampler, hub, history), log);
  return listenConsole(server, options.host, options.port, [() => hub.close(), () => sampler.stop()]);
}
