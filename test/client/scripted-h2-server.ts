/**
 * A bare node:http2 server that speaks just enough gRPC for the Bigtable data methods the client
 * tests need, so a test sees what grpc-js cannot show: the RST_STREAM frames a client sends (each
 * stream's close code) and connections closed with GOAWAY on command.
 *
 * Every stream is answered after `replyDelayMs`; a read's status (the trailers) follows its last
 * row after `trailerDelayMs`, which leaves a window in which a client that cancels a completed
 * read is caught resetting it. Rows are `a`..`e` in family `f`. Requests for key `hang` (and
 * MutateRow to `hang`) are never answered.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { loadBigtableProtos } from '../../src/server/protos.js';

// biome-ignore lint/suspicious/noExplicitAny: scripted handlers see raw messages.
type Msg = Record<string, any>;
interface MethodCodec {
  requestDeserialize(b: Buffer): Msg;
  responseSerialize(m: Msg): Buffer;
}

/** Row keys the server holds. */
export const SCRIPTED_ROWS: readonly string[] = ['a', 'b', 'c', 'd', 'e'];

/** What the server saw. */
export interface ScriptedStats {
  /** Streams the client reset (closed with a non-zero code before the server finished). */
  resets: number;
  /** Streams that closed cleanly. */
  clean: number;
  /** Requests by method, each with its row key (`*` for a scan). */
  requests: { method: string; key: string }[];
  /** Connections closed with GOAWAY INTERNAL_ERROR. */
  goaways: number;
}

/** Behaviour switches. */
export interface ScriptedOptions {
  replyDelayMs?: number;
  trailerDelayMs?: number;
  /** Close a connection with GOAWAY INTERNAL_ERROR after this many streams on it (0: never). */
  goawayEveryStreams?: number;
}

/** A running scripted server. */
export interface ScriptedServer {
  readonly address: string;
  readonly stats: ScriptedStats;
  close(): Promise<void>;
}

function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

function rowChunk(key: string): Msg {
  return {
    rowKey: Buffer.from(key),
    familyName: { value: 'f' },
    qualifier: { value: Buffer.from('q') },
    timestampMicros: '1000',
    value: Buffer.from(`v-${key}`),
    commitRow: true,
  };
}

function readKeys(request: Msg): string[] {
  const keys = ((request.rows?.rowKeys as Buffer[] | undefined) ?? []).map((k) => k.toString());
  const all = keys.length === 0 ? [...SCRIPTED_ROWS] : keys.filter((k) => SCRIPTED_ROWS.includes(k));
  const limit = Number(request.rowsLimit ?? 0);
  return limit > 0 ? all.slice(0, limit) : all;
}

function unaryReply(method: string, request: Msg): Msg {
  if (method === 'CheckAndMutateRow') return { predicateMatched: true };
  if (method === 'ReadModifyWriteRow') return { row: { key: request.rowKey, families: [] } };
  return {};
}

/** Starts the server on 127.0.0.1 and a free port. */
export async function startScriptedServer(options: ScriptedOptions = {}): Promise<ScriptedServer> {
  const service = loadBigtableProtos().dataDefinition['google.bigtable.v2.Bigtable'] as unknown as Record<
    string,
    MethodCodec
  >;
  const stats: ScriptedStats = { resets: 0, clean: 0, requests: [], goaways: 0 };
  const replyDelayMs = options.replyDelayMs ?? 0;
  const trailerDelayMs = options.trailerDelayMs ?? 0;
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  const streamsBySession = new Map<http2.ServerHttp2Session, number>();

  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => {});
  });
  server.on('stream', (stream, headers) => {
    const method = String(headers[':path']).split('/').pop() ?? '';
    const codec = service[method];
    stream.on('close', () => (stream.rstCode === 0 ? stats.clean++ : stats.resets++));
    stream.on('error', () => {});
    const session = stream.session as http2.ServerHttp2Session;
    const seen = (streamsBySession.get(session) ?? 0) + 1;
    streamsBySession.set(session, seen);
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.on('end', () => {
      if (codec === undefined) {
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' },
          { endStream: true },
        );
        return;
      }
      const request = codec.requestDeserialize(Buffer.concat(parts).subarray(5));
      const key =
        method === 'ReadRows' ? (request.rows?.rowKeys?.[0]?.toString() ?? '*') : String(request.rowKey);
      stats.requests.push({ method, key });
      if (key === 'hang') return;
      setTimeout(() => answer(stream, method, codec, request), replyDelayMs);
    });
    const every = options.goawayEveryStreams ?? 0;
    if (every > 0 && seen === every) {
      // Let this stream and a few others get under way, then drop the connection as a server
      // defending against resets does: GOAWAY with an error code, then close.
      setTimeout(
        () => {
          stats.goaways++;
          if (!session.destroyed) session.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR);
          setTimeout(() => session.destroy(), 5);
        },
        Math.max(1, replyDelayMs / 2),
      );
    }
  });

  function answer(stream: http2.ServerHttp2Stream, method: string, codec: MethodCodec, request: Msg): void {
    if (stream.destroyed || stream.closed) return;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    if (method !== 'ReadRows') {
      stream.end(frame(codec.responseSerialize(unaryReply(method, request))));
      return;
    }
    for (const key of readKeys(request))
      stream.write(frame(codec.responseSerialize({ chunks: [rowChunk(key)] })));
    setTimeout(() => {
      if (!stream.destroyed && !stream.closed) stream.end();
    }, trailerDelayMs);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    stats,
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
