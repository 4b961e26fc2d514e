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
 * It runs on `startServer`'s lean transport with these data handlers in place of the one-process
 * ones; the admin services are the one-process handlers on the routing store.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { errors } from '../common/errors.js';
import {
  CLUSTER_READ_BATCH_ROWS,
  READ_ROWS_CHUNK_VALUE_BYTES_MAX,
  READ_ROWS_FIRST_RESPONSE_BYTES_TARGET,
  READ_ROWS_RESPONSE_BYTES_TARGET,
} from '../common/limits.js';
import type { RowFilter } from '../model/proto-types.js';
import type { RowCells } from '../model/row-cells.js';
import { type ReadRowsRequest, readRowsQuery } from '../server/data-requests.js';
import { dataServiceRpcs } from '../server/data-service.js';
import type { ServiceBinding } from '../server/grpc-transport.js';
import { instrumentHandlers } from '../server/observability.js';
import { readRowsResponses } from '../server/read-rows-chunker.js';
import { encodedReadRowsResponses } from '../server/read-rows-encoder.js';
import { type DataRequestNames, dataRequestTable } from '../server/request-names.js';
import { buildService, type ServiceRpcs } from '../server/rpc-handlers.js';
import { startServer, type TransportServer } from '../server/server.js';
import { type InternalErrorHook, logInternalError } from '../server/status-map.js';
import { writeWithBackpressure } from '../server/stream-writer.js';
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
  /** More services on the same port. */
  readonly extraServices?: readonly ServiceBinding[];
}

/**
 * Starts a tablet server's public API on `host:port`, on the same lean transport (and so the same
 * admission, load-shedding and fairness bounds) as the one-process server.
 */
export async function startClusterServer(options: ClusterServerOptions): Promise<TransportServer> {
  const onInternal = options.onInternalError ?? logInternalError;
  const data = dataServiceRpcs(options.store, onInternal);
  const dataRpcs: ServiceRpcs = {
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
  const extraServices: ServiceBinding[] = [...(options.extraServices ?? [])];
  if (options.locations !== undefined) {
    const built = buildService(
      TABLET_LOCATIONS_SERVICE_NAME,
      tabletLocationsDefinition(),
      tabletLocationRpcs(options.locations),
      onInternal,
    );
    extraServices.push({
      name: TABLET_LOCATIONS_SERVICE_NAME,
      definition: built.definition,
      implementation: instrumentHandlers(TABLET_LOCATIONS_SERVICE_NAME, built.implementation),
    });
  }
  return startServer({
    host: options.host,
    port: options.port,
    store: options.store,
    onInternalError: onInternal,
    dataRpcs,
    extraServices,
  });
}
