/**
 * The server side of gRPC on bare `node:http2` streams (ARCHITECTURE.md: a lean transport for the
 * data path): routing by `:path`, request reassembly, deadlines, and the bounds that keep the
 * server graceful under load, whatever the clients do.
 *
 * Bounds (each a named limit in src/common/limits.ts, overridable through `TransportLimits`):
 * - connections: beyond `connectionsMax`, a new connection is closed at once (GOAWAY);
 * - calls in flight, server-wide: beyond `callsInFlightMax`, a new call is refused at once with
 *   UNAVAILABLE (retryable: clients back off), never queued; per connection, HTTP/2's
 *   SETTINGS_MAX_CONCURRENT_STREAMS;
 * - request bytes in flight, server-wide: a request's declared length is reserved before its bytes
 *   are buffered; one that would take the total past `requestBytesInFlightMax` is refused with
 *   UNAVAILABLE (a request alone in flight is always admitted, up to the message size limit);
 * - response bytes per call: `unflushedBytesMax` beyond what flow control lets through
 *   (grpc-server-call.ts), so a reader that stops reading holds about one response;
 * - stream resets: nghttp2 (Node 20) closes a connection whose client resets streams faster than
 *   a fixed rate (a burst of 1,000, then 33 a second: the "rapid reset" defence), failing every
 *   call on it. A client that cancels often (a `break` out of a scan, deadlines) is normal, so the
 *   transport keeps its own count of that bucket and, well before it runs dry, ends the connection
 *   gracefully (GOAWAY with NO_ERROR: calls in flight finish, new ones go to a new connection).
 *   A client that resets faster than any real one just reconnects more often. Node also keeps
 *   the queued response of every reset stream charged against the connection's memory, so a
 *   connection is ended the same way after `HTTP2_RESETS_PER_CONNECTION_MAX` resets in its life;
 * - starting calls: admitted calls start round-robin over connections, at most
 *   `startTurnBudgetMs` of starting work per turn of the event loop (call-dispatcher.ts), so one
 *   client's flood neither stalls the loop nor queues other clients' calls behind its own;
 * - idle and half-open connections: a connection without calls for `idleMs` is closed gracefully;
 *   one with calls is pinged every `keepaliveIntervalMs` and destroyed when a ping is not answered
 *   within `keepaliveTimeoutMs` (a peer that vanished).
 *
 * Concurrency: single event-loop thread; all counters are plain fields of this object.
 */
import type { Http2Server, Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { createServer, constants as h2 } from 'node:http2';
import type { MethodDefinition, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import * as limits from '../common/limits.js';
import { CallDispatcher } from './call-dispatcher.js';
import { encodeGrpcMessage, MessageReader, parseGrpcTimeoutMs } from './grpc-framing.js';
import { type CallStatus, GrpcCode, GrpcServerCall } from './grpc-server-call.js';

/** A service to serve: its method definitions and its handlers (grpc-js shapes). */
export interface ServiceBinding {
  readonly name: string;
  readonly definition: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
}

/** The transport's bounds; every field defaults to its limit in src/common/limits.ts. */
export interface TransportLimits {
  receiveMessageBytesMax: number;
  sendMessageBytesMax: number;
  concurrentStreamsMax: number;
  connectionsMax: number;
  callsInFlightMax: number;
  startTurnBudgetMs: number;
  requestBytesInFlightMax: number;
  unflushedBytesMax: number;
  idleMs: number;
  keepaliveIntervalMs: number;
  keepaliveTimeoutMs: number;
}

/** Counters of the transport, for metrics, the console and tests. */
export interface TransportStats {
  connections: number;
  callsInFlight: number;
  requestBytesInFlight: number;
  refusedCalls: number;
  refusedConnections: number;
  resetGoaways: number;
  idleCloses: number;
}

interface Route {
  readonly fullName: string;
  readonly definition: MethodDefinition<unknown, unknown>;
  readonly handler: (...args: never[]) => unknown;
}

/** Per-connection state. */
interface SessionState {
  activeStreams: number;
  lastStreamId: number;
  resetTokens: number;
  resetRefillAtMs: number;
  /** Client resets over the connection's life (HTTP2_RESETS_PER_CONNECTION_MAX). */
  resetsTotal: number;
  idleTimer: NodeJS.Timeout | undefined;
  closing: boolean;
}

/** The default bounds. */
export function defaultTransportLimits(): TransportLimits {
  return {
    receiveMessageBytesMax: limits.GRPC_RECEIVE_MESSAGE_BYTES_MAX,
    sendMessageBytesMax: limits.GRPC_SEND_MESSAGE_BYTES_MAX,
    concurrentStreamsMax: limits.GRPC_CONCURRENT_STREAMS_MAX,
    connectionsMax: limits.GRPC_CONNECTIONS_MAX,
    callsInFlightMax: limits.RPC_CALLS_IN_FLIGHT_MAX,
    startTurnBudgetMs: limits.RPC_START_TURN_BUDGET_MS,
    requestBytesInFlightMax: limits.RPC_REQUEST_BYTES_IN_FLIGHT_MAX,
    unflushedBytesMax: limits.GRPC_STREAM_UNFLUSHED_BYTES_MAX,
    idleMs: limits.GRPC_CONNECTION_IDLE_MS,
    keepaliveIntervalMs: limits.GRPC_KEEPALIVE_INTERVAL_MS,
    keepaliveTimeoutMs: limits.GRPC_KEEPALIVE_TIMEOUT_MS,
  };
}

function routesOf(services: readonly ServiceBinding[]): Map<string, Route> {
  const routes = new Map<string, Route>();
  for (const service of services) {
    for (const [method, raw] of Object.entries(service.definition)) {
      const handler = service.implementation[method];
      if (handler === undefined) continue;
      routes.set(`/${service.name}/${method}`, {
        fullName: `${service.name}.${method}`,
        definition: raw as MethodDefinition<unknown, unknown>,
        handler: handler as (...args: never[]) => unknown,
      });
    }
  }
  return routes;
}

/** Answers a stream with a status alone (no messages) and drops what the client still sends. */
function refuse(stream: ServerHttp2Stream, status: CallStatus): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  stream.respond(
    {
      [h2.HTTP2_HEADER_STATUS]: 200,
      [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
      'grpc-status': String(status.code),
      'grpc-message': encodeGrpcMessage(status.details),
    },
    { endStream: true },
  );
  // What the client still sends is read and dropped, not reset: Node does not return the
  // connection window of data that arrives on a reset stream, so resets would starve the
  // connection's other calls.
  stream.resume();
}

/** A listening gRPC transport. */
export class GrpcTransport {
  private readonly routes: Map<string, Route>;
  private readonly sessions = new Map<Http2Session, SessionState>();
  private readonly counters: TransportStats = {
    connections: 0,
    callsInFlight: 0,
    requestBytesInFlight: 0,
    refusedCalls: 0,
    refusedConnections: 0,
    resetGoaways: 0,
    idleCloses: 0,
  };
  private readonly dispatcher: CallDispatcher<Http2Session | undefined>;
  private closing = false;
  private keepaliveTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly server: Http2Server,
    services: readonly ServiceBinding[],
    private readonly limits: TransportLimits,
  ) {
    this.routes = routesOf(services);
    this.dispatcher = new CallDispatcher(limits.startTurnBudgetMs);
    server.on('connection', (socket: import('node:net').Socket) => {
      // Small answers go out at once: with Nagle's algorithm a response waits for the client's
      // delayed ACK (a sequential single-row read took 6.5 ms at p50 on loopback).
      socket.setNoDelay(true);
      socket.setKeepAlive(true, limits.keepaliveIntervalMs);
    });
    server.on('session', (session) => this.onSession(session));
    server.on('stream', (stream, headers) => this.onStream(stream, headers));
    this.keepaliveTimer = setInterval(() => this.pingBusySessions(), limits.keepaliveIntervalMs);
    this.keepaliveTimer.unref();
  }

  /** Starts listening on `host:port` (0: any free port); resolves with the transport and port. */
  static async listen(
    host: string,
    port: number,
    services: readonly ServiceBinding[],
    overrides: Partial<TransportLimits> = {},
  ): Promise<{ transport: GrpcTransport; port: number }> {
    const bounds = { ...defaultTransportLimits(), ...overrides };
    const server = createServer({
      // The per-stream receive window stays HTTP/2's default: raised together with the
      // connection window below, every call from a grpc-js client took ~5 ms longer (measured:
      // PingAndWarm p50 6.2 ms against 1.2 ms with either one left at its default).
      settings: { maxConcurrentStreams: bounds.concurrentStreamsMax },
      maxSessionMemory: limits.GRPC_SESSION_MEMORY_MB_MAX,
    });
    const transport = new GrpcTransport(server, services, bounds);
    const bound = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
    return { transport, port: bound };
  }

  /** A copy of the counters. */
  stats(): TransportStats {
    return { ...this.counters, connections: this.sessions.size };
  }

  /**
   * Stops accepting connections and calls; calls in flight get `graceMs` to finish, then every
   * connection is destroyed.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    if (this.keepaliveTimer !== undefined) clearInterval(this.keepaliveTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions.keys()) this.closeGracefully(session);
    const timer = setTimeout(() => {
      for (const session of this.sessions.keys()) session.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  private onSession(session: Http2Session): void {
    session.on('error', () => {});
    if (this.closing || this.sessions.size >= this.limits.connectionsMax) {
      this.counters.refusedConnections++;
      session.close();
      return;
    }
    const state: SessionState = {
      activeStreams: 0,
      lastStreamId: 0,
      resetTokens: limits.HTTP2_RESET_BURST,
      resetRefillAtMs: performance.now(),
      resetsTotal: 0,
      idleTimer: undefined,
      closing: false,
    };
    this.sessions.set(session, state);
    session.setLocalWindowSize(limits.GRPC_CONNECTION_RECEIVE_WINDOW_BYTES);
    session.on('close', () => {
      if (state.idleTimer !== undefined) clearTimeout(state.idleTimer);
      this.sessions.delete(session);
      this.dispatcher.forget(session);
    });
    this.armIdleTimer(session, state);
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => {});
    const session = stream.session;
    const state = session === undefined ? undefined : this.sessions.get(session);
    if (state === undefined || session === undefined) {
      stream.close(h2.NGHTTP2_REFUSED_STREAM);
      return;
    }
    this.trackStream(session, state, stream);
    const route = this.routes.get(String(headers[h2.HTTP2_HEADER_PATH] ?? ''));
    if (this.closing) {
      refuse(stream, { code: GrpcCode.UNAVAILABLE, details: 'server is shutting down' });
      return;
    }
    if (!String(headers[h2.HTTP2_HEADER_CONTENT_TYPE] ?? '').startsWith('application/grpc')) {
      stream.respond({ [h2.HTTP2_HEADER_STATUS]: 415 }, { endStream: true });
      return;
    }
    if (route === undefined) {
      refuse(stream, {
        code: GrpcCode.UNIMPLEMENTED,
        details: `unknown method ${headers[h2.HTTP2_HEADER_PATH]}`,
      });
      return;
    }
    if (this.counters.callsInFlight >= this.limits.callsInFlightMax) {
      this.counters.refusedCalls++;
      refuse(stream, {
        code: GrpcCode.UNAVAILABLE,
        details: `server is overloaded: ${this.counters.callsInFlight} calls in flight (limit ${this.limits.callsInFlightMax}); retry with backoff`,
      });
      return;
    }
    this.startCall(stream, headers, route);
  }

  /** Counts the stream on its connection: idle timing, and client resets against the bucket. */
  private trackStream(session: Http2Session, state: SessionState, stream: ServerHttp2Stream): void {
    state.activeStreams++;
    state.lastStreamId = Math.max(state.lastStreamId, stream.id ?? 0);
    if (state.idleTimer !== undefined) clearTimeout(state.idleTimer);
    state.idleTimer = undefined;
    let resetByServer = false;
    const close = stream.close.bind(stream);
    stream.close = (code?: number, callback?: () => void) => {
      resetByServer = true;
      close(code, callback);
    };
    stream.on('close', () => {
      state.activeStreams--;
      if (!resetByServer && stream.rstCode !== undefined && stream.rstCode !== h2.NGHTTP2_NO_ERROR) {
        this.onClientReset(session, state);
      }
      this.armIdleTimer(session, state);
    });
  }

  private onClientReset(session: Http2Session, state: SessionState): void {
    const nowMs = performance.now();
    const refill = ((nowMs - state.resetRefillAtMs) / 1000) * limits.HTTP2_RESET_RATE_PER_SECOND;
    state.resetTokens = Math.min(limits.HTTP2_RESET_BURST, state.resetTokens + refill) - 1;
    state.resetRefillAtMs = nowMs;
    state.resetsTotal++;
    const budgetLow = state.resetTokens <= limits.HTTP2_RESET_GOAWAY_TOKENS_LEFT;
    if ((budgetLow || state.resetsTotal >= limits.HTTP2_RESETS_PER_CONNECTION_MAX) && !state.closing) {
      this.counters.resetGoaways++;
      this.closeGracefully(session);
    }
  }

  private armIdleTimer(session: Http2Session, state: SessionState): void {
    if (state.activeStreams > 0 || state.closing || state.idleTimer !== undefined) return;
    state.idleTimer = setTimeout(() => {
      state.idleTimer = undefined;
      if (state.activeStreams > 0) return;
      this.counters.idleCloses++;
      this.closeGracefully(session);
    }, this.limits.idleMs);
    state.idleTimer.unref();
  }

  /** GOAWAY (NO_ERROR) naming the last stream taken: calls in flight finish, new ones go elsewhere. */
  private closeGracefully(session: Http2Session): void {
    const state = this.sessions.get(session);
    if (state !== undefined) state.closing = true;
    if (session.closed || session.destroyed) return;
    session.goaway(h2.NGHTTP2_NO_ERROR, state?.lastStreamId ?? 0);
    session.close();
  }

  private pingBusySessions(): void {
    for (const [session, state] of this.sessions) {
      if (state.activeStreams === 0 || session.destroyed) continue;
      const timer = setTimeout(() => session.destroy(), this.limits.keepaliveTimeoutMs);
      timer.unref();
      const sent = session.ping((err) => {
        clearTimeout(timer);
        if (err) session.destroy();
      });
      if (!sent) clearTimeout(timer);
    }
  }

  /** Admits the call, reads its request message, then runs its handler. */
  private startCall(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, route: Route): void {
    const timeoutMs = parseGrpcTimeoutMs(headers['grpc-timeout']);
    const deadlineAtMs = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
    const socket = stream.session?.socket;
    const peer = `${socket?.remoteAddress ?? 'unknown'}:${socket?.remotePort ?? 0}`;
    let reservedBytes = 0;
    this.counters.callsInFlight++;
    const call = new GrpcServerCall(
      stream,
      {
        serialize: (message) =>
          Buffer.isBuffer(message) ? message : route.definition.responseSerialize(message),
        sendMessageBytesMax: this.limits.sendMessageBytesMax,
        unflushedBytesMax: this.limits.unflushedBytesMax,
        onDone: () => {
          this.counters.callsInFlight--;
          this.counters.requestBytesInFlight -= reservedBytes;
          reservedBytes = 0;
        },
      },
      deadlineAtMs,
      peer,
    );
    if (route.definition.requestStream) {
      call.finish({
        code: GrpcCode.UNIMPLEMENTED,
        details: `method is not supported by tabula: ${route.fullName}`,
      });
      return;
    }
    const reader = new MessageReader();
    const onData = (chunk: Buffer) => {
      // Once the call is answered, the rest of what the client sends is read and dropped.
      if (call.writableEnded || call.cancelled) return;
      const outcome = reader.push(chunk);
      if (outcome.kind === 'declared') {
        const refusal = this.admitBytes(outcome.lengthBytes);
        if (refusal !== undefined) {
          call.finish(refusal);
          return;
        }
        reservedBytes = outcome.lengthBytes;
        this.counters.requestBytesInFlight += reservedBytes;
        this.onRequestPart(stream.session, call, route, reader.take());
      } else {
        this.onRequestPart(stream.session, call, route, outcome);
      }
    };
    stream.on('data', onData);
    stream.on('end', () => {
      if (call.request === undefined && !call.writableEnded) {
        call.finish({ code: GrpcCode.INVALID_ARGUMENT, details: 'request message is missing or incomplete' });
      }
    });
  }

  /** UNAVAILABLE or RESOURCE_EXHAUSTED when a request of `lengthBytes` cannot be admitted now. */
  private admitBytes(lengthBytes: number): CallStatus | undefined {
    if (lengthBytes > this.limits.receiveMessageBytesMax) {
      return {
        code: GrpcCode.RESOURCE_EXHAUSTED,
        details: `request message of ${lengthBytes} bytes is larger than the limit of ${this.limits.receiveMessageBytesMax}`,
      };
    }
    const inFlight = this.counters.requestBytesInFlight;
    if (inFlight > 0 && inFlight + lengthBytes > this.limits.requestBytesInFlightMax) {
      this.counters.refusedCalls++;
      return {
        code: GrpcCode.UNAVAILABLE,
        details: `server is overloaded: ${inFlight} request bytes in flight (limit ${this.limits.requestBytesInFlightMax}); retry with backoff`,
      };
    }
    return undefined;
  }

  private onRequestPart(
    session: Http2Session | undefined,
    call: GrpcServerCall,
    route: Route,
    outcome: ReturnType<MessageReader['push']>,
  ): void {
    switch (outcome.kind) {
      case 'incomplete':
      case 'declared':
        return;
      case 'compressed':
        call.finish({
          code: GrpcCode.UNIMPLEMENTED,
          details: 'compressed request messages are not supported',
        });
        return;
      case 'extra-data':
        call.finish({
          code: GrpcCode.INVALID_ARGUMENT,
          details: 'more than one request message on a unary call',
        });
        return;
      case 'message':
        call.request = route.definition.requestDeserialize(outcome.message);
        this.dispatcher.submit(session, {
          run: () => this.runHandler(call, route),
          wanted: () => !call.cancelled && !call.writableEnded,
        });
    }
  }

  private runHandler(call: GrpcServerCall, route: Route): void {
    try {
      if (route.definition.responseStream) {
        (route.handler as unknown as (c: GrpcServerCall) => void)(call);
      } else {
        (route.handler as unknown as (c: GrpcServerCall, cb: (e: unknown, v?: unknown) => void) => void)(
          call,
          (err, value) => call.respondUnary(err, value),
        );
      }
    } catch {
      call.finish({ code: GrpcCode.INTERNAL, details: 'internal error; the server log has details' });
    }
  }
}
