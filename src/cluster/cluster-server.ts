/**
 * The public gRPC server of a tablet server: the same services as `startServer`
 * (src/server/server.ts) on a `RoutingTableStore`, except ReadRows, which must be able to wait for
 * rows from another server while the one-process `Tablet.readRows` is a synchronous iterator. Here
 * ReadRows pulls rows from `RoutingTablet.readRowsAsync` and sends them in batches of at most
 * CLUSTER_READ_BATCH_ROWS rows through the same chunker, encoder and backpressure as the
 * one-process server (so a slow reader still holds at most one batch and the stream's buffer).
 * SampleRowKeys is answered from every owner's tablet sizes (RoutingTablet.sampleRowKeysAsync), and
 * CheckAndMutateRow runs the one-process handler on a store that keeps the request's predicate in
 * its proto form, to forward it whole to the row's owner. Every other RPC is the one-process
 * handler, unchanged. Next to them: the tablet location service (src/cluster/tablet-location-*.ts),
 * which tells Tabula clients where each tablet's owner listens, so they can skip the hop.
 *
 * Why not `startServer`: it cannot be given a different ReadRows; keeping the one-process path
 * free of cluster code matters more than one shared constructor. When the data path moves to the
 * lean transport, this file follows it.
 */
import type { ServerWritableStream, ServiceDefinition } from '@grpc/grpc-js';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { errors } from '../common/errors.js';
import {
  CLUSTER_READ_BATCH_ROWS,
  GRPC_CONCURRENT_STREAMS_MAX,
  GRPC_RECEIVE_MESSAGE_BYTES_MAX,
  GRPC_SEND_MESSAGE_BYTES_MAX,
  READ_ROWS_CHUNK_VALUE_BYTES_MAX,
  READ_ROWS_FIRST_RESPONSE_BYTES_TARGET,
  READ_ROWS_RESPONSE_BYTES_TARGET,
  SERVER_SHUTDOWN_GRACE_MS,
} from '../common/limits.js';
import type { RowFilter } from '../model/proto-types.js';
import type { RowCells } from '../model/row-cells.js';
import { type ReadRowsRequest, readRowsQuery } from '../server/data-requests.js';
import { DATA_SERVICE_NAME, dataServiceRpcs } from '../server/data-service.js';
import { INSTANCE_ADMIN_SERVICE_NAME, instanceAdminRpcs } from '../server/instance-admin-service.js';
import { instrumentHandlers } from '../server/observability.js';
import { loadBigtableProtos } from '../server/protos.js';
import { readRowsResponses } from '../server/read-rows-chunker.js';
import { encodedReadRowsResponses } from '../server/read-rows-encoder.js';
import { type DataRequestNames, dataRequestTable } from '../server/request-names.js';
import { buildService, type ServiceRpcs } from '../server/rpc-handlers.js';
import type { RunningServer } from '../server/server.js';
import { type InternalErrorHook, logInternalError } from '../server/status-map.js';
import { writeWithBackpressure } from '../server/stream-writer.js';
import { TABLE_ADMIN_SERVICE_NAME, tableAdminRpcs } from '../server/table-admin-service.js';
import type { RoutingTableStore } from './routing-table-store.js';
import { TABLET_LOCATIONS_SERVICE_NAME, tabletLocationsDefinition } from './tablet-location-protocol.js';
import { type TabletLocationContext, tabletLocationRpcs } from './tablet-location-service.js';

/** ReadRows over the tablets of every server (see the file comment). */
async function readRows(
  store: RoutingTableStore,
  request: ReadRowsRequest,
  call: ServerWritableStream<unknown, unknown>,
): Promise<void> {
  const tablet = store.routingTablet(dataRequestTable(request).tableId);
  const rows = tablet.readRowsAsync(readRowsQuery(request));
  let batch: RowCells[] = [];
  let first = true;
  const send = async () => {
    const responses = readRowsResponses(batch, {
      chunkValueBytesMax: READ_ROWS_CHUNK_VALUE_BYTES_MAX,
      responseBytesTarget: READ_ROWS_RESPONSE_BYTES_TARGET,
      firstResponseBytesTarget: first
        ? READ_ROWS_FIRST_RESPONSE_BYTES_TARGET
        : READ_ROWS_RESPONSE_BYTES_TARGET,
      rowsLimit: 0,
    });
    first = false;
    batch = [];
    return writeWithBackpressure(call, encodedReadRowsResponses(responses));
  };
  try {
    for await (const row of rows) {
      batch.push(row);
      if (batch.length >= CLUSTER_READ_BATCH_ROWS && (await send()) !== 'completed') return;
    }
    if (batch.length > 0) await send();
  } finally {
    await rows.return(undefined);
  }
}

/** SampleRowKeys with byte offsets from every tablet's owner (RoutingTablet.sampleRowKeysAsync). */
async function sampleRowKeys(
  store: RoutingTableStore,
  request: { rowRange?: unknown } & DataRequestNames,
  call: ServerWritableStream<unknown, unknown>,
): Promise<void> {
  const tablet = store.routingTablet(dataRequestTable(request).tableId);
  if (request.rowRange !== undefined && request.rowRange !== null) {
    throw errors.unimplemented('sampling a row range is not supported; omit row_range to sample the table', {
      field: 'row_range',
    });
  }
  const samples = await tablet.sampleRowKeysAsync();
  await writeWithBackpressure(
    call,
    samples.map((s) => ({ rowKey: s.rowKey, offsetBytes: s.offsetBytes }))[Symbol.iterator](),
  );
}

/** Options of `startClusterServer`. */
export interface ClusterServerOptions {
  readonly host: string;
  readonly port: number;
  readonly store: RoutingTableStore;
  /** Where the tablet location service (for routing clients) reads from; absent: not served. */
  readonly locations?: TabletLocationContext;
  readonly onInternalError?: InternalErrorHook;
}

function add(
  server: Server,
  name: string,
  definition: ServiceDefinition,
  rpcs: ServiceRpcs,
  onInternal: InternalErrorHook,
) {
  const built = buildService(name, definition, rpcs, onInternal);
  server.addService(built.definition, instrumentHandlers(name, built.implementation));
}

/** Starts a tablet server's public API on `host:port`. */
export async function startClusterServer(options: ClusterServerOptions): Promise<RunningServer> {
  const onInternal = options.onInternalError ?? logInternalError;
  const protos = loadBigtableProtos();
  const server = new Server({
    'grpc.max_receive_message_length': GRPC_RECEIVE_MESSAGE_BYTES_MAX,
    'grpc.max_send_message_length': GRPC_SEND_MESSAGE_BYTES_MAX,
    'grpc.max_concurrent_streams': GRPC_CONCURRENT_STREAMS_MAX,
    'grpc.enable_channelz': 0,
  });
  const data = dataServiceRpcs(options.store, onInternal);
  const rpcs: ServiceRpcs = {
    unary: {
      ...data.unary,
      // The one-process handler (same validation and errors), on a store whose tablets carry the
      // predicate's proto, so a row another server owns gets the whole call forwarded.
      CheckAndMutateRow: (request: { predicateFilter?: RowFilter | null }, call) => {
        const filter = request.predicateFilter;
        if (filter === undefined || filter === null) return data.unary.CheckAndMutateRow?.(request, call);
        const store = options.store.withPredicateProto(filter);
        return dataServiceRpcs(store, onInternal).unary.CheckAndMutateRow?.(request, call);
      },
    },
    serverStreaming: {
      ...data.serverStreaming,
      ReadRows: (request: ReadRowsRequest, call) => readRows(options.store, request, call),
      SampleRowKeys: (request, call) => sampleRowKeys(options.store, request, call),
    },
  };
  const def = (p: typeof protos.dataDefinition, name: string) => p[name] as ServiceDefinition;
  add(server, DATA_SERVICE_NAME, def(protos.dataDefinition, DATA_SERVICE_NAME), rpcs, onInternal);
  add(
    server,
    TABLE_ADMIN_SERVICE_NAME,
    def(protos.adminDefinition, TABLE_ADMIN_SERVICE_NAME),
    tableAdminRpcs(options.store),
    onInternal,
  );
  add(
    server,
    INSTANCE_ADMIN_SERVICE_NAME,
    def(protos.adminDefinition, INSTANCE_ADMIN_SERVICE_NAME),
    instanceAdminRpcs(),
    onInternal,
  );
  if (options.locations !== undefined) {
    const rpcs = tabletLocationRpcs(options.locations);
    add(server, TABLET_LOCATIONS_SERVICE_NAME, tabletLocationsDefinition(), rpcs, onInternal);
  }
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port}`, ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
  let closing: Promise<void> | undefined;
  return {
    address: `${host}:${port}`,
    port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, SERVER_SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}
