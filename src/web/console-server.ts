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
 * no user data into HTML. Every response forbids framing and inline script (Content-Security-Policy).
 * Static files are read once at start; a missing one fails the start, not a request.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../common/logger.js';
import { METRICS_CONTENT_TYPE } from '../common/metrics.js';
import type { RpcObserver } from '../server/observability.js';
import type { TableStore } from '../tablet/table-store-api.js';
import { overviewView, tableView } from './console-views.js';
import { EventStreamHub } from './event-stream.js';
import { LiveSampler } from './live-sampler.js';
import { registerStorageMetrics } from './storage-metrics.js';

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
export interface RunningConsole {
  /** `http://host:port` as bound. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
} as const;

/** The directory of the console's own static files, next to this module's source. */
function assetsDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  // Compiled, this module runs from dist/src/web/; its assets stay in src/web/assets/.
  return here.includes('/dist/src/web')
    ? here.replace(/\/dist\/src\/web\/?$/, '/src/web/assets/')
    : `${here}assets/`;
}

function loadAssets(): Map<string, Asset> {
  const dir = assetsDir();
  const uplot = createRequire(import.meta.url);
  const files: Array<[string, string, string]> = [
    ['index.html', `${dir}index.html`, 'text/html; charset=utf-8'],
    ['console.js', `${dir}console.js`, 'text/javascript; charset=utf-8'],
    ['console-charts.js', `${dir}console-charts.js`, 'text/javascript; charset=utf-8'],
    ['console.css', `${dir}console.css`, 'text/css; charset=utf-8'],
    ['uPlot.iife.min.js', uplot.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['uPlot.min.css', uplot.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  return new Map(files.map(([name, path, type]) => [name, { type, body: readFileSync(path) }]));
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, head: boolean): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(head ? undefined : body);
}

function sendJson(res: ServerResponse, value: unknown, head: boolean): void {
  if (value === undefined) send(res, 404, 'application/json', '{"error":"not found"}\n', head);
  else send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, head);
}

/** The table id of `/tables/ID[/storage]` or `/api/tables/ID`, decoded; undefined if malformed. */
function tableIdOf(segment: string): string | undefined {
  try {
    const id = decodeURIComponent(segment);
    return id.length > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

type Route = (req: IncomingMessage, res: ServerResponse, url: URL, head: boolean) => void | Promise<void>;

function makeRouter(options: ConsoleOptions, sampler: LiveSampler, hub: EventStreamHub): Route {
  const assets = loadAssets();
  const shell = assets.get('index.html') as Asset;
  const { store, observer } = options;
  return async (req, res, url, head) => {
    const path = url.pathname;
    const parts = path.split('/');
    if (path === '/' || /^\/tables\/[^/]+(\/storage)?$/.test(path)) {
      send(res, 200, shell.type, shell.body, head);
    } else if (path.startsWith('/assets/') && assets.has(path.slice('/assets/'.length))) {
      const asset = assets.get(path.slice('/assets/'.length)) as Asset;
      send(res, 200, asset.type, asset.body, head);
    } else if (path === '/metrics') {
      send(res, 200, METRICS_CONTENT_TYPE, await observer.registry.metrics(), head);
    } else if (path === '/api/overview') {
      sendJson(res, overviewView(store, sampler), head);
    } else if (parts.length === 4 && parts[1] === 'api' && parts[2] === 'tables') {
      const id = tableIdOf(parts[3] as string);
      sendJson(res, id === undefined ? undefined : tableView(store, sampler, id), head);
    } else if (path === '/api/events' && !head) {
      hub.open(req, res, url.searchParams.get('table') ?? undefined);
    } else {
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);
    }
  };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts the console on `options.host:options.port`. */
export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const log = options.logger.child({ component: 'console' });
  const sampler = new LiveSampler(options.observer);
  const hub = new EventStreamHub(options.store, sampler);
  registerStorageMetrics(options.observer.registry, options.store, () => options.observer.tableRequests());
  const route = makeRouter(options, sampler, hub);
  const server = createServer((req, res) => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.writeHead(405, { ...SECURITY_HEADERS, Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
      res.end('the console is read-only\n');
      return;
    }
    Promise.resolve()
      .then(() => route(req, res, new URL(req.url ?? '/', 'http://console'), head))
      .catch((err: unknown) => {
        log.error({ err, path: req.url }, 'console request failed');
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n', head);
        else res.destroy();
      });
  });
  let port: number;
  try {
    port = await listen(server, options.host, options.port);
  } catch (err) {
    sampler.stop();
    hub.close();
    throw err;
  }
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        hub.close();
        sampler.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
