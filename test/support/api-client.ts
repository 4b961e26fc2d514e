/**
 * A thin raw gRPC client for API-level tests and benchmarks: the official protos loaded through
 * `loadBigtableProtos()` (so messages have the shapes of src/model/proto-types.ts: bytes as Buffers,
 * int64 as decimal strings, oneofs named), promisified unary calls, a ReadRows reader that merges
 * chunks into rows, and table creation through the table admin API. Works against `tabula serve`
 * and the official emulator alike.
 *
 * Ownership: a client belongs to its creator, who must `close()` it. Nothing here retries.
 */

import type { GrpcObject, ServiceClientConstructor } from '@grpc/grpc-js';
import { type Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { loadBigtableProtos } from '../../src/server/protos.js';

/** Instance every test table lives in (any name works against both servers). */
export const INSTANCE_NAME = 'projects/test-project/instances/test-instance';
/** Default deadline of one unary call. */
export const CALL_DEADLINE_MS_DEFAULT = 30_000;
/** Message size cap of test clients: unlimited, so the server's limits are what is tested. */
const CLIENT_MESSAGE_BYTES_MAX = -1;

/** A loose request/response message. */
// biome-ignore lint/suspicious/noExplicitAny: raw proto-loader messages are dynamically shaped
export type Message = Record<string, any>;

/** One cell of a merged row. */
export interface ApiCell {
  family: string;
  qualifier: Buffer;
  timestampMicros: string;
  labels: string[];
  value: Buffer;
}

/** One merged row of a ReadRows response. */
export interface ApiRow {
  key: Buffer;
  cells: ApiCell[];
}

/** The full name of table `tableId`. */
export function tableName(tableId: string): string {
  return `${INSTANCE_NAME}/tables/${tableId}`;
}

function lookup(root: GrpcObject, path: string): ServiceClientConstructor {
  let node: unknown = root;
  for (const part of path.split('.')) node = (node as Record<string, unknown>)[part];
  return node as ServiceClientConstructor;
}

const CHANNEL_OPTIONS = {
  'grpc.max_send_message_length': CLIENT_MESSAGE_BYTES_MAX,
  'grpc.max_receive_message_length': CLIENT_MESSAGE_BYTES_MAX,
};

/** A client of `google.bigtable.v2.Bigtable` at `address` (host:port, plaintext). */
export function connectData(address: string): Client {
  const ctor = lookup(loadBigtableProtos().data, 'google.bigtable.v2.Bigtable');
  return new ctor(address, credentials.createInsecure(), CHANNEL_OPTIONS);
}

/** A client of `google.bigtable.admin.v2.BigtableTableAdmin` at `address`. */
export function connectTableAdmin(address: string): Client {
  const ctor = lookup(loadBigtableProtos().admin, 'google.bigtable.admin.v2.BigtableTableAdmin');
  return new ctor(address, credentials.createInsecure(), CHANNEL_OPTIONS);
}

/** Calls unary method `method` of `client`; rejects with the ServiceError. */
export function unary(
  client: Client,
  method: string,
  request: Message,
  deadlineMs = CALL_DEADLINE_MS_DEFAULT,
): Promise<Message> {
  const fn = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[method];
  if (typeof fn !== 'function') return Promise.reject(new Error(`no method ${method}`));
  return new Promise((resolve, reject) => {
    fn.call(
      client,
      request,
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err: ServiceError | null, res: Message) => (err ? reject(err) : resolve(res)),
    );
  });
}

/** Calls server-streaming method `method` and collects every response message. */
export function serverStream(
  client: Client,
  method: string,
  request: Message,
  deadlineMs = CALL_DEADLINE_MS_DEFAULT,
): Promise<Message[]> {
  const fn = (client as unknown as Record<string, (...args: unknown[]) => NodeJS.ReadableStream>)[method];
  if (typeof fn !== 'function') return Promise.reject(new Error(`no method ${method}`));
  return new Promise((resolve, reject) => {
    const out: Message[] = [];
    const call = fn.call(client, request, new Metadata(), { deadline: Date.now() + deadlineMs });
    call.on('data', (m: Message) => out.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
}

/** Calls `method` as unary or server-streaming, whichever its definition says. */
export function anyCall(client: Client, method: string, request: Message): Promise<unknown> {
  const service = (client.constructor as unknown as { service: Record<string, { responseStream: boolean }> })
    .service;
  const definition = service[method];
  if (definition === undefined) return Promise.reject(new Error(`no method ${method}`));
  return definition.responseStream ? serverStream(client, method, request) : unary(client, method, request);
}

/** The status name of a gRPC error (e.g. 'INVALID_ARGUMENT'), or 'OK' when `err` is undefined. */
export function statusName(err: unknown): string {
  if (err === undefined) return 'OK';
  const code = (err as Partial<ServiceError>).code;
  if (typeof code !== 'number') return `NOT_GRPC(${String(err)})`;
  return status[code] ?? `CODE_${code}`;
}

/** Runs `call` and returns its status name and (on error) message, never throwing. */
export async function outcome(call: () => Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await call();
    return { code: 'OK', message: '' };
  } catch (err) {
    return { code: statusName(err), message: (err as Error).message };
  }
}

/** Merges ReadRows response chunks into rows (the protocol of data.proto's CellChunk). */
export function mergeChunks(responses: Message[]): ApiRow[] {
  const rows: ApiRow[] = [];
  let row: ApiRow | undefined;
  let cell: ApiCell | undefined;
  let parts: Buffer[] = [];
  for (const response of responses) {
    for (const chunk of (response.chunks ?? []) as Message[]) {
      if (chunk.resetRow) {
        row = undefined;
        cell = undefined;
        parts = [];
        continue;
      }
      if (row === undefined && chunk.rowKey !== undefined && chunk.rowKey.length > 0) {
        row = { key: chunk.rowKey, cells: [] };
        cell = undefined;
      }
      if (row === undefined) throw new Error('chunk without a row key');
      if (parts.length === 0) {
        // A new cell; family and qualifier carry over from the previous cell of the row when unset.
        cell = {
          family: chunk.familyName?.value ?? cell?.family ?? '',
          qualifier: chunk.qualifier?.value ?? cell?.qualifier ?? Buffer.alloc(0),
          timestampMicros: String(chunk.timestampMicros ?? '0'),
          labels: chunk.labels ?? [],
          value: Buffer.alloc(0),
        };
      }
      parts.push(chunk.value ?? Buffer.alloc(0));
      if (!(chunk.valueSize > 0)) {
        row.cells.push({ ...(cell as ApiCell), value: Buffer.concat(parts) });
        parts = [];
      }
      if (chunk.commitRow) {
        rows.push(row);
        row = undefined;
        cell = undefined;
      }
    }
  }
  if (row !== undefined) throw new Error('stream ended inside an uncommitted row');
  return rows;
}

/** Reads rows of `tableId` with a ReadRows request built from `extra` (rows, filter, limits). */
export async function readRows(client: Client, tableId: string, extra: Message = {}): Promise<ApiRow[]> {
  return mergeChunks(await serverStream(client, 'ReadRows', { tableName: tableName(tableId), ...extra }));
}

/** Creates table `tableId` with `families` (no GC rule) through the table admin API. */
export async function createTable(admin: Client, tableId: string, families: string[]): Promise<void> {
  const columnFamilies: Record<string, Message> = {};
  for (const f of families) {
    Object.defineProperty(columnFamilies, f, { value: {}, enumerable: true, writable: true });
  }
  await unary(admin, 'CreateTable', { parent: INSTANCE_NAME, tableId, table: { columnFamilies } });
}

/** A SetCell mutation. */
export function setCell(family: string, qualifier: string | Buffer, timestampMicros: number, value: Buffer) {
  return {
    setCell: {
      familyName: family,
      columnQualifier: Buffer.isBuffer(qualifier) ? qualifier : Buffer.from(qualifier, 'latin1'),
      timestampMicros: String(timestampMicros),
      value,
    },
  };
}
