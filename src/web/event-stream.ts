/**
 * Server-Sent Events for the console: every page holds one `GET /api/events` stream and redraws
 * from what it pushes; nothing polls and no page reloads. On connect a client gets `hello` (the
 * history of live points and the current view); then, once a second, `sample` (the new point and
 * the view again). A view is the overview, or one table's detail when the stream was opened with
 * `?table=ID` (null while that table does not exist); the console that opens the hub says how
 * each is built (the one-process console from its store, the cluster console from the cluster view).
 *
 * Limits: at most CONSOLE_SSE_CLIENTS_MAX streams (more get 503), and a client whose unsent bytes
 * pass CONSOLE_SSE_BUFFERED_BYTES_MAX is cut off rather than buffered for without end. Each view
 * is built once per tick whatever the number of clients watching it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONSOLE_SSE_BUFFERED_BYTES_MAX, CONSOLE_SSE_CLIENTS_MAX } from '../common/limits.js';
import type { LivePoint, LiveSampler } from './live-sampler.js';

export { CONSOLE_SSE_BUFFERED_BYTES_MAX, CONSOLE_SSE_CLIENTS_MAX };

/** How long a browser waits before reconnecting a dropped stream, in ms. */
const SSE_RETRY_MS = 2000;

interface Client {
  readonly res: ServerResponse;
  /** The table watched, or undefined for the overview. */
  readonly tableId: string | undefined;
}

/** Builds the view a stream shows: the overview (undefined) or one table's; undefined: no such table. */
export type ViewBuilder = (tableId: string | undefined) => unknown;

/** The event streams of one console. */
export class EventStreamHub {
  private readonly clients = new Set<Client>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly sampler: LiveSampler,
    private readonly build: ViewBuilder,
  ) {
    this.unsubscribe = sampler.subscribe((point) => this.broadcast(point));
  }

  /** Streams open now. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Opens a stream for `req` (watching `tableId`, or the overview when undefined). */
  open(req: IncomingMessage, res: ServerResponse, tableId: string | undefined): void {
    if (this.clients.size >= CONSOLE_SSE_CLIENTS_MAX) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '5' });
      res.end('too many console event streams\n');
      return;
    }
    const client: Client = { res, tableId };
    this.clients.add(client);
    req.socket.setNoDelay(true);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: ${SSE_RETRY_MS}\n\n`);
    const points = this.sampler.points();
    this.send(client, 'hello', { points, view: this.view(tableId, new Map()) });
    res.on('close', () => this.clients.delete(client));
  }

  /** Ends every stream and stops listening to the sampler. */
  close(): void {
    this.unsubscribe();
    for (const client of this.clients) client.res.end();
    this.clients.clear();
  }

  private view(tableId: string | undefined, cache: Map<string, string>): string {
    const key = tableId === undefined ? '' : `t:${tableId}`;
    let json = cache.get(key);
    if (json === undefined) {
      json = JSON.stringify(this.build(tableId) ?? null);
      cache.set(key, json);
    }
    return json;
  }

  private broadcast(point: LivePoint): void {
    const views = new Map<string, string>();
    for (const client of this.clients)
      this.send(client, 'sample', { point, view: this.view(client.tableId, views) });
  }

  /** Writes one event; `payload.view` is already JSON. */
  private send(
    client: Client,
    event: string,
    payload: { points?: readonly LivePoint[]; point?: LivePoint; view: string },
  ) {
    const { res } = client;
    if (res.writableLength > CONSOLE_SSE_BUFFERED_BYTES_MAX) {
      this.clients.delete(client);
      res.destroy();
      return;
    }
    const head = payload.points === undefined ? { point: payload.point } : { points: payload.points };
    const json = `${JSON.stringify(head).slice(0, -1)},"view":${payload.view}}`;
    // One `data:` line: JSON.stringify escapes every newline inside strings.
    res.write(`event: ${event}\ndata: ${json}\n\n`);
  }
}
