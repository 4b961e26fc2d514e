/**
 * What every console HTTP server of Tabula shares (the one-process console, src/web/console-server.ts,
 * and the cluster's, src/web/cluster-console-server.ts): the security headers, the static assets,
 * answers in text or JSON, the read-only request gate and binding a port.
 *
 * Every response forbids framing and inline script (Content-Security-Policy), so no page may
 * render server data as HTML. Static files are read once at start; a missing one fails the start,
 * not a request.
 *
 * Concurrency: single event-loop thread; nothing here keeps state between requests.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../common/logger.js';

/** One static file of a console. */
export interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/** Headers every console response carries. */
export const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
} as const;

const JS_TYPE = 'text/javascript; charset=utf-8';
const CSS_TYPE = 'text/css; charset=utf-8';
const HTML_TYPE = 'text/html; charset=utf-8';

/** The directory of the consoles' own static files, next to this module's source. */
function assetsDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  // Compiled, this module runs from dist/src/web/; its assets stay in src/web/assets/.
  return here.includes('/dist/src/web')
    ? here.replace(/\/dist\/src\/web\/?$/, '/src/web/assets/')
    : `${here}assets/`;
}

/** Reads the fixed set of static files of both consoles, by name under `/assets/`. */
export function loadAssets(): Map<string, Asset> {
  const dir = assetsDir();
  const uplot = createRequire(import.meta.url);
  const files: Array<[string, string, string]> = [
    ['index.html', `${dir}index.html`, HTML_TYPE],
    ['cluster.html', `${dir}cluster.html`, HTML_TYPE],
    ['console.js', `${dir}console.js`, JS_TYPE],
    ['cluster-console.js', `${dir}cluster-console.js`, JS_TYPE],
    ['console-charts.js', `${dir}console-charts.js`, JS_TYPE],
    ['console-dom.js', `${dir}console-dom.js`, JS_TYPE],
    ['console.css', `${dir}console.css`, CSS_TYPE],
    ['uPlot.iife.min.js', uplot.resolve('uplot/dist/uPlot.iife.min.js'), JS_TYPE],
    ['uPlot.min.css', uplot.resolve('uplot/dist/uPlot.min.css'), CSS_TYPE],
  ];
  return new Map(files.map(([name, path, type]) => [name, { type, body: readFileSync(path) }]));
}

/** Answers `status` with `body` (only the headers for HEAD). */
export function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  head: boolean,
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(head ? undefined : body);
}

/** Answers `value` as JSON, or 404 when it is undefined. */
export function sendJson(res: ServerResponse, value: unknown, head: boolean): void {
  if (value === undefined) send(res, 404, 'application/json', '{"error":"not found"}\n', head);
  else send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, head);
}

/** Answers `/assets/NAME` when NAME is one of `assets`; false when the path is not one. */
export function sendAsset(
  res: ServerResponse,
  assets: ReadonlyMap<string, Asset>,
  path: string,
  head: boolean,
): boolean {
  const asset = path.startsWith('/assets/') ? assets.get(path.slice('/assets/'.length)) : undefined;
  if (asset === undefined) return false;
  send(res, 200, asset.type, asset.body, head);
  return true;
}

/** The id of a `/tables/ID` path segment, decoded; undefined if malformed or empty. */
export function tableIdOf(segment: string): string | undefined {
  try {
    const id = decodeURIComponent(segment);
    return id.length > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

/** A route of a console: answers one GET or HEAD request. */
export type Route = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  head: boolean,
) => void | Promise<void>;

/** An HTTP server that serves `route` for GET and HEAD and refuses every other method. */
export function readOnlyServer(route: Route, log: Logger): Server {
  return createServer((req, res) => {
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
}

/** Binds `server` to `host:port`; resolves with the port bound. */
function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** `http://host:port`, bracketing an IPv6 host. */
function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** A console listening on its port. */
export interface ListeningConsole {
  /** `http://host:port` as bound. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Binds `server` to `host:port`. `stops` end what the console runs besides the server (sampler,
 * streams): they run when binding fails (then the error is rethrown) and on `close()`, which
 * then closes the server and every connection it holds.
 */
export async function listenConsole(
  server: Server,
  host: string,
  port: number,
  stops: ReadonlyArray<() => void>,
): Promise<ListeningConsole> {
  let bound: number;
  try {
    bound = await listen(server, host, port);
  } catch (err) {
    for (const stop of stops) stop();
    throw err;
  }
  return {
    url: httpUrl(host, bound),
    port: bound,
    close: () => {
      for (const stop of stops) stop();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
