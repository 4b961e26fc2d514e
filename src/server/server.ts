/**
 * The Tabula gRPC server: the data API, the table admin API and enough of the instance admin API,
 * on one TableStore, with @grpc/grpc-js. The server owns no data: closing it leaves the store open
 * (the caller closes the store after the server).
 *
 * Limits (src/common/limits.ts): request and response message sizes and concurrent streams per
 * connection are enforced by grpc-js from the options set here; ReadRows chunking and backpressure
 * by data-service.ts. Shutdown is graceful: new calls are refused, calls in flight get
 * SERVER_SHUTDOWN_GRACE_MS to finish, then the rest are cancelled.
 */

import type { ServiceDefinition } from '@grpc/grpc-js';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import {
  GRPC_CONCURRENT_STREAMS_MAX,
  GRPC_RECEIVE_MESSAGE_BYTES_MAX,
  GRPC_SEND_MESSAGE_BYTES_MAX,
  SERVER_SHUTDOWN_GRACE_MS,
} from '../common/limits.js';
import type { TableStore } from '../tablet/table-store-api.js';
import { DATA_SERVICE_NAME, dataServiceRpcs } from './data-service.js';
import { INSTANCE_ADMIN_SERVICE_NAME, instanceAdminRpcs } from './instance-admin-service.js';
import { instrumentHandlers } from './observability.js';
import { loadBigtableProtos } from './protos.js';
import type { ServiceRpcs } from './rpc-handlers.js';
import { buildService } from './rpc-handlers.js';
import type { InternalErrorHook } from './status-map.js';
import { logInternalError } from './status-map.js';
import { TABLE_ADMIN_SERVICE_NAME, tableAdminRpcs } from './table-admin-service.js';

/** Options of `startServer`. */
export interface ServerOptions {
  /** Interface to listen on, e.g. `127.0.0.1`. */
  readonly host: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** The tables to serve. */
  readonly store: TableStore;
  /** Largest request message, in bytes. Default GRPC_RECEIVE_MESSAGE_BYTES_MAX. */
  readonly receiveMessageBytesMax?: number;
  /** Largest response message, in bytes. Default GRPC_SEND_MESSAGE_BYTES_MAX. */
  readonly sendMessageBytesMax?: number;
  /** Concurrent calls per connection. Default GRPC_CONCURRENT_STREAMS_MAX. */
  readonly concurrentStreamsMax?: number;
  /** How long `close()` waits for calls in flight. Default SERVER_SHUTDOWN_GRACE_MS. */
  readonly shutdownGraceMs?: number;
  /** Receives failures that are bugs (not TabulaErrors). Default: a JSON line on stderr. */
  readonly onInternalError?: InternalErrorHook;
}

/** A running server. */
export interface RunningServer {
  /** `host:port` as bound (the port is the real one when 0 was asked). */
  readonly address: string;
  readonly port: number;
  /** Stops accepting calls, lets calls in flight finish within the grace period, then stops. */
  close(): Promise<void>;
}

function addService(
  server: Server,
  name: string,
  definition: ServiceDefinition,
  rpcs: ServiceRpcs,
  onInternal: InternalErrorHook,
): void {
  const built = buildService(name, definition, rpcs, onInternal);
  server.addService(built.definition, instrumentHandlers(name, built.implementation));
}

function bind(server: Server, host: string, port: number): Promise<number> {
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(target, ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(err);
      else resolve(bound);
    });
  });
}

function shutdown(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts serving `options.store` on `options.host:options.port`. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const onInternal = options.onInternalError ?? logInternalError;
  const protos = loadBigtableProtos();
  const server = new Server({
    'grpc.max_receive_message_length': options.receiveMessageBytesMax ?? GRPC_RECEIVE_MESSAGE_BYTES_MAX,
    'grpc.max_send_message_length': options.sendMessageBytesMax ?? GRPC_SEND_MESSAGE_BYTES_MAX,
    'grpc.max_concurrent_streams': options.concurrentStreamsMax ?? GRPC_CONCURRENT_STREAMS_MAX,
    // Channelz (grpc-js's introspection service) is not served; its per-call counters and
    // timestamps cost about 2% of a single-row read's CPU.
    'grpc.enable_channelz': 0,
  });
  const service = (definitions: typeof protos.dataDefinition, name: string) =>
    definitions[name] as ServiceDefinition;
  addService(
    server,
    DATA_SERVICE_NAME,
    service(protos.dataDefinition, DATA_SERVICE_NAME),
    dataServiceRpcs(options.store, onInternal),
    onInternal,
  );
  addService(
    server,
    TABLE_ADMIN_SERVICE_NAME,
    service(protos.adminDefinition, TABLE_ADMIN_SERVICE_NAME),
    tableAdminRpcs(options.store),
    onInternal,
  );
  addService(
    server,
    INSTANCE_ADMIN_SERVICE_NAME,
    service(protos.adminDefinition, INSTANCE_ADMIN_SERVICE_NAME),
    instanceAdminRpcs(),
    onInternal,
  );
  const port = await bind(server, options.host, options.port);
  const graceMs = options.shutdownGraceMs ?? SERVER_SHUTDOWN_GRACE_MS;
  let closing: Promise<void> | undefined;
  return {
    address: options.host.includes(':') ? `[${options.host}]:${port}` : `${options.host}:${port}`,
    port,
    close: () => {
      closing ??= shutdown(server, graceMs);
      return closing;
    },
  };
}
