/**
 * The byte-level parts of gRPC over HTTP/2 that the server transport (grpc-transport.ts) needs:
 * length-prefixed message framing, the `grpc-timeout` header, and the percent-encoding of
 * `grpc-message` (see grpc/doc/PROTOCOL-HTTP2.md for the wire rules these follow).
 *
 * A message on the wire is `compressed-flag (1 byte) ‖ length (4 bytes, big-endian) ‖ message`.
 * `MessageReader` reassembles one request message from DATA frames of any size without copying a
 * frame more than once, and refuses a declared length above its bound before buffering it.
 *
 * Concurrency: plain functions and one small class per stream; no shared state.
 */

/** Bytes of the length prefix before every message: the compressed flag and a 4-byte length. */
export const GRPC_FRAME_HEADER_BYTES = 5;

/** Frames `message` for the wire (uncompressed). */
export function frameMessage(message: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(GRPC_FRAME_HEADER_BYTES + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, GRPC_FRAME_HEADER_BYTES);
  return framed;
}

/** What `MessageReader.push` found. */
export type ReadOutcome =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'declared'; readonly lengthBytes: number }
  | { readonly kind: 'message'; readonly message: Buffer }
  | { readonly kind: 'compressed' }
  | { readonly kind: 'extra-data' };

/**
 * Reassembles the one request message of a unary or server-streaming call. `push` each DATA
 * chunk; the first outcome other than `incomplete` decides: `declared` once the prefix is known
 * (the caller admits or refuses that many bytes before more arrive), then `message` when whole.
 * Data after the message is `extra-data` (a client-streaming request on a unary method).
 */
export class MessageReader {
  private readonly chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private declaredBytes = -1;
  private done = false;

  /** Bytes held so far (what the caller accounts for memory). */
  get heldBytes(): number {
    return this.bufferedBytes;
  }

  push(chunk: Buffer): ReadOutcome {
    if (this.done) return chunk.length === 0 ? { kind: 'incomplete' } : { kind: 'extra-data' };
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    if (this.declaredBytes < 0) {
      if (this.bufferedBytes < GRPC_FRAME_HEADER_BYTES) return { kind: 'incomplete' };
      const head = this.joined();
      if (head[0] !== 0) return { kind: 'compressed' };
      this.declaredBytes = head.readUInt32BE(1);
      return { kind: 'declared', lengthBytes: this.declaredBytes };
    }
    return this.take();
  }

  /** After `declared` was admitted: the message, if the bytes already held complete it. */
  take(): ReadOutcome {
    const total = GRPC_FRAME_HEADER_BYTES + this.declaredBytes;
    if (this.bufferedBytes < total) return { kind: 'incomplete' };
    if (this.bufferedBytes > total) return { kind: 'extra-data' };
    const all = this.joined();
    this.done = true;
    this.chunks.length = 0;
    return { kind: 'message', message: all.subarray(GRPC_FRAME_HEADER_BYTES, total) };
  }

  private joined(): Buffer {
    if (this.chunks.length !== 1) {
      const all = Buffer.concat(this.chunks, this.bufferedBytes);
      this.chunks.length = 0;
      this.chunks.push(all);
    }
    return this.chunks[0] as Buffer;
  }
}

const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};

/** The timeout a `grpc-timeout` header value asks for, in ms; undefined when absent or malformed. */
export function parseGrpcTimeoutMs(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (match === null) return undefined;
  return Number(match[1]) * (TIMEOUT_UNIT_MS[match[2] as string] as number);
}

/**
 * `grpc-message` encoding: bytes outside printable ASCII, and `%` itself, become `%XX` of the
 * message's UTF-8 bytes; the rest pass through.
 */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x25
        ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}
