/**
 * The gRPC side of a remote client: the generated stubs of the data and table admin services
 * (official protos, loaded through `loadBigtableProtos`), credentials (plaintext on loopback,
 * TLS elsewhere unless told otherwise), and promise wrappers for unary and server-streaming calls.
 *
 * Ownership: a `GrpcChannel` owns its two stubs; `close()` closes both and cancels calls in flight.
 */
import type {
  ChannelCredentials,
  Client,
  ClientReadableStream,
  ServiceClientConstructor,
  ServiceError,
} from '@grpc/grpc-js';
import { connectivityState, credentials as grpcCredentials, Metadata } from '@grpc/grpc-js';
import { ErrorCode, TabulaError } from '../common/errors.js';
import { GRPC_SEND_MESSAGE_BYTES_MAX } from '../common/limits.js';
import { loadBigtableProtos } from '../server/protos.js';
import { errorOfCall } from './grpc-errors.js';

/** A loose proto-loader message. */
export type Message = Record<string, unknown>;

type UnaryMethod = (
  request: Message,
  metadata: Metadata,
  options: { deadline: Date },
  cb: (err: ServiceError | null, res: Message) => void,
) => void;
type StreamMethod = (
  request: Message,
  metadata: Metadata,
  options: { deadline?: Date },
) => ClientReadableStream<Message>;

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Whether `address` (host:port) names this machine, where plaintext is the sensible default. */
export function isLoopback(address: string): boolean {
  const host = address.startsWith('[')
    ? address.slice(0, address.indexOf(']') + 1)
    : (address.split(':')[0] ?? '');
  return LOOPBACK_HOSTS.has(host) || host.startsWith('127.');
}

function serviceConstructor(root: unknown, path: string): ServiceClientConstructor {
  let node = root;
  for (const part of path.split('.')) node = (node as Record<string, unknown>)[part];
  return node as ServiceClientConstructor;
}

const CHANNEL_OPTIONS = {
  'grpc.max_receive_message_length': GRPC_SEND_MESSAGE_BYTES_MAX,
  'grpc.max_send_message_length': GRPC_SEND_MESSAGE_BYTES_MAX,
};

/** Where and how to connect. */
export interface ChannelTarget {
  readonly address: string;
  readonly adminAddress: string;
  readonly credentials: ChannelCredentials;
}

/** The credentials for `address`: `explicit`, else plaintext on loopback or when `insecure`, else TLS. */
export function channelCredentials(
  address: string,
  explicit?: ChannelCredentials,
  insecure?: boolean,
): ChannelCredentials {
  if (explicit !== undefined) return explicit;
  const plain = insecure ?? isLoopback(address);
  return plain ? grpcCredentials.createInsecure() : grpcCredentials.createSsl();
}

/** The two stubs of a remote client. */
export class GrpcChannel {
  readonly data: Client;
  readonly admin: Client;
  private readonly address: string;

  constructor(target: ChannelTarget) {
    this.address = target.address;
    const protos = loadBigtableProtos();
    const Data = serviceConstructor(protos.data, 'google.bigtable.v2.Bigtable');
    const Admin = serviceConstructor(protos.admin, 'google.bigtable.admin.v2.BigtableTableAdmin');
    this.data = new Data(target.address, target.credentials, CHANNEL_OPTIONS);
    this.admin = new Admin(target.adminAddress, target.credentials, CHANNEL_OPTIONS);
  }

  /** Waits until both channels are connected, or fails with UNAVAILABLE at `deadline`. */
  async waitForReady(deadline: Date): Promise<void> {
    const wait = (client: Client) =>
      new Promise<void>((resolve, reject) =>
        client.waitForReady(deadline, (err) => (err ? reject(err) : resolve())),
      );
    try {
      await Promise.all([wait(this.data), wait(this.admin)]);
    } catch (err) {
      throw new TabulaError(
        ErrorCode.Unavailable,
        'cannot connect',
        { address: this.address },
        { cause: err },
      );
    }
  }

  /**
   * The data channel's connection state, as a router needs it: `ready`, `connecting` (idle ones
   * are asked to connect), or `failed` (the last attempt to connect failed, or closed).
   */
  connectivity(): 'ready' | 'connecting' | 'failed' {
    const state = this.data.getChannel().getConnectivityState(true);
    if (state === connectivityState.READY) return 'ready';
    if (state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN)
      return 'failed';
    return 'connecting';
  }

  /** One attempt of a unary call. */
  unary(
    client: Client,
    method: string,
    request: Message,
    metadata: Metadata,
    deadline: Date,
  ): Promise<Message> {
    const fn = (client as unknown as Record<string, UnaryMethod>)[method] as UnaryMethod;
    return new Promise((resolve, reject) => {
      fn.call(client, request, metadata, { deadline }, (err, res) =>
        err ? reject(errorOfCall(err)) : resolve(res),
      );
    });
  }

  /** Starts a server-streaming call. */
  stream(
    client: Client,
    method: string,
    request: Message,
    metadata: Metadata,
    deadline?: Date,
  ): ClientReadableStream<Message> {
    const fn = (client as unknown as Record<string, StreamMethod>)[method] as StreamMethod;
    return fn.call(client, request, metadata, deadline === undefined ? {} : { deadline });
  }

  /** Every message of a server-streaming call, collected (for small responses only). */
  async collect(
    client: Client,
    method: string,
    request: Message,
    metadata: Metadata,
    deadline: Date,
  ): Promise<Message[]> {
    const out: Message[] = [];
    try {
      for await (const m of this.stream(client, method, request, metadata, deadline)) out.push(m as Message);
    } catch (err) {
      throw errorOfCall(err);
    }
    return out;
  }

  /** Closes both channels. */
  close(): void {
    this.data.close();
    this.admin.close();
  }
}

/** Routing metadata Cloud Bigtable expects (`x-goog-request-params`); harmless elsewhere. */
export function routingMetadata(param: string, value: string): Metadata {
  const md = new Metadata();
  md.set('x-goog-request-params', `${param}=${encodeURIComponent(value)}`);
  return md;
}
