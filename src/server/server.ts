/**
 * The Tabula gRPC server: the data API, the table admin API and enough of the instance admin API,
 * on one TableStore, on the lean gRPC transport over `node:http2` (grpc-transport.ts). The server
 * owns no data: closing it leaves the store open (the caller closes the store after the server).
 *
 * Limits (src/common/limits.ts): message sizes, concurrent streams per connection, connections,
 * calls and request bytes in flight, and unflushed response bytes per call are enforced by the
 * transport; ReadRows chunking by data-service.ts. Shutdown is graceful: new calls are refused,
 * calls in flight get SERVER_SHUTDOWN_GRACE_MS to finish, then the rest are cancelled.
 */

import type { ServiceDefinition } from '@grpc/grpc-js';
import { SERVER_SHUTDOWN_GRACE_MS } from '../common/limits.js';
import type { TableStore } from '../tablet/table-store-api.js';
import { DATA_SERVICE_NAME, dataServiceRpcs } from './data-service.js';
import {
  GrpcTransport,
  type ServiceBinding,
  type TransportLimits,
  type TransportStats,
} from './grpc-transport.js';
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
  /** Admission and load-shedding bounds; each defaults to its limit in src/common/limits.ts. */
  readonly transportLimits?: Partial<TransportLimits>;
  /** More services on the same port (a tablet server's peer control service). */
  readonly extraServices?: readonly ServiceBinding[];
  /** The data API's handlers, when not the one-process ones on `store` (a tablet server's routing). */
  readonly dataRpcs?: ServiceRpcs;
}

/** A running server. */
export interface RunningServer {
  /** `host:port` as bound (the port is the real one when 0 was asked). */
  readonly address: string;
  readonly port: number;
  /** Connections, calls and bytes in flight, and what was refused (servers on the lean transport). */
  transportStats?(): TransportStats;
  /** Stops accepting calls, lets calls in flight finish within the grace period, then stops. */
  close(): Promise<void>;
}

function binding(
  name: string,
  definition: ServiceDefinition,
  rpcs: ServiceRpcs,
  onInternal: InternalErrorHook,
): ServiceBinding {
  const built = buildService(name, definition, rpcs, onInternal);
  return {
    name,
    definition: built.definition,
    implementation: instrumentHandlers(name, built.implementation),
  };
}

/** A server on the lean transport, whose counters can be read. */
export type TransportServer = RunningServer & { transportStats(): TransportStats };

/** Starts serving `options.store` on `options.host:options.port`. */
export async function startServer(options: ServerOptions): Promise<TransportServer> {
  const onInternal = options.onInternalError ?? logInternalError;
  const protos = loadBigtableProtos();
  const service = (definitions: typeof protos.dataDefinition, name: string) =>
    definitions[name] as ServiceDefinition;
  const services = [
    binding(
      DATA_SERVICE_NAME,
      service(protos.dataDefinition, DATA_SERVICE_NAME),
      options.dataRpcs ?? dataServiceRpcs(options.store, onInternal),
      onInternal,
    ),
    binding(
      TABLE_ADMIN_SERVICE_NAME,
      service(protos.adminDefinition, TABLE_ADMIN_SERVICE_NAME),
      tableAdminRpcs(options.store),
      onInternal,
    ),
    binding(
      INSTANCE_ADMIN_SERVICE_NAME,
      service(protos.adminDefinition, INSTANCE_ADMIN_SERVICE_NAME),
      instanceAdminRpcs(),
      onInternal,
    ),
    ...(options.extraServices ?? []),
  ];
  const limitOverrides: Partial<TransportLimits> = { ...options.transportLimits };
  if (options.receiveMessageBytesMax !== undefined)
    limitOverrides.receiveMessageBytesMax = options.receiveMessageBytesMax;
  if (options.sendMessageBytesMax !== undefined)
    limitOverrides.sendMessageBytesMax = options.sendMessageBytesMax;
  if (options.concurrentStreamsMax !== undefined)
    limitOverrides.concurrentStreamsMax = options.concurrentStreamsMax;
  const { transport, port } = await GrpcTransport.listen(
    options.host,
    options.port,
    services,
    limitOverrides,
  );
  const graceMs = options.shutdownGraceMs ?? SERVER_SHUTDOWN_GRACE_MS;
  let closing: Promise<void> | undefined;
  return {
    address: options.host.includes(':') ? `[${options.host}]:${port}` : `${options.host}:${port}`,
    port,
    transportStats: () => transport.stats(),
    close: () => {
      closing ??= transport.close(graceMs);
      return closing;
    },
  };
}
