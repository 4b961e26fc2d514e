/**
 * One gRPC call on one HTTP/2 stream, as the handlers see it. It offers the part of grpc-js's
 * server call surface that Tabula's handlers, the stream writer and the observer use (`request`,
 * `cancelled`, `writableEnded`, `getDeadline`, `getPeer`, `write`, `end`, the events `error`,
 * `finish`, `cancelled`, `close` and `drain`), so the services run unchanged on the lean
 * transport (grpc-transport.ts).
 *
 * Backpressure is counted in bytes, not messages: a message written is "unflushed" until HTTP/2
 * has handed it to the socket (its write callback; a reader that stopped reading keeps the flow
 * control window shut, so the callback waits). `write` returns false once the call holds
 * `unflushedBytesMax` or more, and `drain` follows when that falls below again. So a paused reader
 * holds at most about one response beyond what flow control allows.
 *
 * Ownership: the transport creates the call, feeds it the request and the stream's end; the
 * handler writes and ends it. Exactly one status is sent: the first `end`, error, deadline or
 * cancellation wins, and everything after it is ignored. Single event-loop thread.
 */
import { EventEmitter } from 'node:events';
import type { ServerHttp2Stream } from 'node:http2';
import { constants as h2 } from 'node:http2';
import { encodeGrpcMessage, frameMessage } from './grpc-framing.js';

/** gRPC status codes used by the transport itself. */
export const GrpcCode = Object.freeze({
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
});

/** A status to send: code and message. */
export interface CallStatus {
  readonly code: number;
  readonly details: string;
}

/** The transport's side of a call: what it needs to know when the call finishes. */
export interface CallHooks {
  /** Encodes a response message (Buffers pass through). */
  serialize(message: unknown): Buffer;
  /** Largest response message, in bytes. */
  readonly sendMessageBytesMax: number;
  /** Most unflushed response bytes before `write` returns false. */
  readonly unflushedBytesMax: number;
  /** Called once when the call's stream has closed (its slot and bytes are free again). */
  onDone(): void;
}

const RESPONSE_HEADERS = Object.freeze({
  [h2.HTTP2_HEADER_STATUS]: 200,
  [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
});

function statusOf(err: unknown): CallStatus {
  const e = err as { code?: unknown; details?: unknown; message?: unknown } | null | undefined;
  const code = typeof e?.code === 'number' ? e.code : GrpcCode.UNKNOWN;
  const details =
    typeof e?.details === 'string' ? e.details : typeof e?.message === 'string' ? e.message : '';
  return { code, details };
}

/** A server call on one HTTP/2 stream. */
export class GrpcServerCall extends EventEmitter {
  /** The decoded request (set by the transport before the handler runs). */
  request: unknown;
  /** True once the client cancelled, the deadline passed or the connection went away. */
  cancelled = false;
  /** True once a status was sent. */
  writableEnded = false;
  private headersSent = false;
  private unflushedBytes = 0;
  private waitingForDrain = false;
  private pendingStatus: CallStatus = { code: GrpcCode.OK, details: '' };
  private deadlineTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly hooks: CallHooks,
    private readonly deadlineAtMs: number,
    private readonly peer: string,
  ) {
    super();
    // grpc-js semantics: emitting 'error' on a streaming call ends it with that status.
    this.on('error', (err: unknown) => {
      this.pendingStatus = statusOf(err);
      this.end();
    });
    stream.on('close', () => this.abandon());
    stream.on('error', () => this.abandon());
    if (Number.isFinite(deadlineAtMs)) {
      this.deadlineTimer = setTimeout(() => this.onDeadline(), Math.max(0, deadlineAtMs - Date.now()));
    }
  }

  /** The deadline as epoch milliseconds (Infinity: none). */
  getDeadline(): number {
    return this.deadlineAtMs;
  }

  getPeer(): string {
    return this.peer;
  }

  /** Unflushed response bytes (for tests and metrics). */
  get bufferedBytes(): number {
    return this.unflushedBytes;
  }

  /**
   * Sends one response message. Returns false when the call holds `unflushedBytesMax` or more
   * unflushed bytes (wait for `drain`), or when the call is over.
   */
  write(message: unknown, callback?: (err?: Error) => void): boolean {
    if (this.writableEnded || this.cancelled) return false;
    let framed: Buffer;
    try {
      const encoded = this.hooks.serialize(message);
      if (encoded.length > this.hooks.sendMessageBytesMax) {
        this.finish({
          code: GrpcCode.RESOURCE_EXHAUSTED,
          details: `response message of ${encoded.length} bytes is larger than the limit of ${this.hooks.sendMessageBytesMax}`,
        });
        return false;
      }
      framed = frameMessage(encoded);
    } catch {
      this.finish({ code: GrpcCode.INTERNAL, details: 'response could not be encoded' });
      return false;
    }
    this.sendHeaders();
    this.unflushedBytes += framed.length;
    this.stream.write(framed, () => {
      this.unflushedBytes -= framed.length;
      callback?.();
      if (this.waitingForDrain && this.unflushedBytes < this.hooks.unflushedBytesMax) {
        this.waitingForDrain = false;
        this.emit('drain');
      }
    });
    if (this.unflushedBytes < this.hooks.unflushedBytesMax) return true;
    this.waitingForDrain = true;
    return false;
  }

  /** Ends the call with the pending status (OK unless an error was emitted). */
  end(): void {
    this.finish(this.pendingStatus);
  }

  /** Answers a unary call: `err` (a status-like object) or the response `value`. */
  respondUnary(err: unknown, value: unknown): void {
    if (err) {
      this.finish(statusOf(err));
      return;
    }
    this.write(value);
    this.end();
  }

  /** Ends the call with `status`, unless it is already over. */
  finish(status: CallStatus, cancelsHandler = false): void {
    if (this.writableEnded || this.cancelled) return;
    this.writableEnded = true;
    if (!this.stream.destroyed && !this.stream.closed) this.sendStatus(status);
    if (cancelsHandler) {
      this.cancelled = true;
      this.emit('cancelled');
    }
    this.emit('finish');
  }

  private sendStatus(status: CallStatus): void {
    const trailers: Record<string, string> = { 'grpc-status': String(status.code) };
    if (status.details !== '') trailers['grpc-message'] = encodeGrpcMessage(status.details);
    try {
      if (!this.headersSent) {
        this.headersSent = true;
        this.stream.respond({ ...RESPONSE_HEADERS, ...trailers }, { endStream: true });
        return;
      }
      this.stream.once('wantTrailers', () => {
        if (!this.stream.destroyed) this.stream.sendTrailers(trailers);
      });
      this.stream.end();
    } catch {
      // The stream went away while answering: nothing is left to tell the client.
      this.stream.destroy();
    }
  }

  private sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
  }

  /** The stream closed or failed: a call not yet over is cancelled; the call's slot is freed. */
  private abandon(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearDeadline();
    if (!this.writableEnded && !this.cancelled) {
      this.cancelled = true;
      this.emit('cancelled');
    }
    this.emit('close');
    this.hooks.onDone();
  }

  /**
   * The deadline passed: a call still running ends with DEADLINE_EXCEEDED, and a stream whose
   * reader has not taken what was written is reset, so it frees its bytes.
   */
  private onDeadline(): void {
    this.deadlineTimer = undefined;
    if (!this.writableEnded) {
      this.finish({ code: GrpcCode.DEADLINE_EXCEEDED, details: 'deadline exceeded' }, true);
    }
    if (!this.closed && this.unflushedBytes > 0) this.stream.close(h2.NGHTTP2_CANCEL);
  }

  private clearDeadline(): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }
}
