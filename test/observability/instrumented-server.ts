/**
 * A gRPC server for observability tests, built the way src/server/server.ts builds its services
 * but with every handler map passed through `instrumentHandlers` and one given observer, so a test
 * can read the observer's metrics and log lines. In-process, on 127.0.0.1 and a free port.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { DATA_SERVICE_NAME, dataServiceRpcs } from '../../src/server/data-service.js';
import { instrumentHandlers, type RpcObserver } from '../../src/server/observability.js';
import { loadBigtableProtos } from '../../src/server/protos.js';
import { buildService } from '../../src/server/rpc-handlers.js';
import { TABLE_ADMIN_SERVICE_NAME, tableAdminRpcs } from '../../src/server/table-admin-service.js';
import type { TableStore } from '../../src/tablet/table-store-api.js';

/** A running instrumented server. */
export interface InstrumentedServer {
  readonly address: string;
  /** Failures the services reported as bugs (tests expect none). */
  readonly internalErrors: unknown[];
  close(): Promise<void>;
}

/** Serves the data and table admin APIs of `store`, instrumented through `observer`. */
export async function startInstrumentedServer(
  store: TableStore,
  observer: RpcObserver,
): Promise<InstrumentedServer> {
  const protos = loadBigtableProtos();
  const server = new Server();
  const internalErrors: unknown[] = [];
  const onInternal = (err: unknown) => {
    internalErrors.push(err);
  };
  const services: Array<[string, ServiceDefinition, ReturnType<typeof dataServiceRpcs>]> = [
    [
      DATA_SERVICE_NAME,
      protos.dataDefinition[DATA_SERVICE_NAME] as ServiceDefinition,
      dataServiceRpcs(store, onInternal),
    ],
    [
      TABLE_ADMIN_SERVICE_NAME,
      protos.adminDefinition[TABLE_ADMIN_SERVICE_NAME] as ServiceDefinition,
      tableAdminRpcs(store),
    ],
  ];
  for (const [name, definition, rpcs] of services) {
    const built = buildService(name, definition, rpcs, onInternal);
    server.addService(built.definition, instrumentHandlers(name, built.implementation, observer));
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    internalErrors,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** A pino destination that keeps every line. */
export class LineSink {
  readonly lines: string[] = [];
  write(chunk: string): void {
    for (const line of chunk.split('\n')) if (line.length > 0) this.lines.push(line);
  }
  /** The lines parsed as JSON. */
  records(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
