/**
 * Misbehaving and well-behaved clients for the overload tests and `bench:overload`, on bare
 * `node:http2` so that a "paused" reader really stops reading (a grpc-js client keeps reading into
 * its own buffers): paused scans, request floods, and a timed stream of single-row reads.
 * Also the resident memory of a server process, read from /proc.
 */
import { readFileSync } from 'node:fs';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import { connect } from 'node:http2';
import type { Client } from '@grpc/grpc-js';
import { loadBigtableProtos } from '../../src/server/protos.js';
import { createTable, type Message, tableName, unary } from './api-client.js';
import { grpcFrame } from './api-h2load.js';

const SERVICE = 'google.bigtable.v2.Bigtable';
const BYTES_PER_KIB = 1024;

/** The request serializer of data method `method`. */
export function requestSerializer(method: string): (m: Message) => Buffer {
  const service = loadBigtableProtos().dataDefinition[SERVICE] as unknown as Record<
    string,
    { requestSerialize: (m: Message) => Buffer }
  >;
  return (service[method] as { requestSerialize: (m: Message) => Buffer }).requestSerialize;
}

/** Resident set size of process `pid`, in MiB (Linux /proc). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return kb / BYTES_PER_KIB;
}

/** A plaintext HTTP/2 connection to `address` that ignores its own errors (tests read outcomes). */
export function rawSession(address: string): ClientHttp2Session {
  // The client queues whole requests; Node's default bound on a session's memory (10 MB) would
  // make it refuse its own streams of a flood.
  const session = connect(`http://${address}`, { maxSessionMemory: 4096 });
  session.on('error', () => {});
  return session;
}

/** Starts a gRPC call of `method` with `body` (already serialized) on `session`. */
export function rawCall(
  session: ClientHttp2Session,
  method: string,
  body: Buffer,
  extraHeaders: Record<string, string> = {},
): ClientHttp2Stream {
  const stream = session.request({
    ':method': 'POST',
    ':path': `/${SERVICE}/${method}`,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...extraHeaders,
  });
  stream.on('error', () => {});
  stream.end(grpcFrame(body));
  return stream;
}

/**
 * A full-table ReadRows that reads its first DATA frame and then stops reading for good: its
 * flow-control window closes and the server must stop producing. Resolves once the first bytes
 * arrived (or the call ended: then `ended` is true).
 */
export function pausedScan(
  session: ClientHttp2Session,
  tableId: string,
): Promise<{ stream: ClientHttp2Stream; ended: boolean; status: string | undefined }> {
  const body = requestSerializer('ReadRows')({ tableName: tableName(tableId) });
  const stream = rawCall(session, 'ReadRows', body);
  return new Promise((resolve) => {
    let status: string | undefined;
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
    });
    stream.once('data', () => {
      stream.pause();
      resolve({ stream, ended: false, status });
    });
    stream.on('close', () => resolve({ stream, ended: true, status }));
  });
}

/** Fills `tableId` (family `f`, created here) with `rows` rows of `valueBytes` through MutateRows. */
export async function fillTable(
  data: Client,
  admin: Client,
  tableId: string,
  rows: number,
  valueBytes: number,
): Promise<void> {
  await createTable(admin, tableId, ['f']);
  const batchRows = 200;
  const inFlight = 4;
  const value = Buffer.alloc(valueBytes, 7);
  let next = 0;
  const worker = async () => {
    while (next < rows) {
      const start = next;
      next = Math.min(rows, next + batchRows);
      const entries = [];
      for (let i = start; i < next; i++) {
        entries.push({
          rowKey: Buffer.from(`row${String(i).padStart(8, '0')}`),
          mutations: [
            {
              setCell: { familyName: 'f', columnQualifier: Buffer.from('q'), timestampMicros: '1000', value },
            },
          ],
        });
      }
      await mutateRowsAll(data, tableId, entries);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/** Sends one MutateRows and fails unless every entry succeeded. */
async function mutateRowsAll(data: Client, tableId: string, entries: Message[]): Promise<void> {
  const fn = (data as unknown as Record<string, (...a: unknown[]) => NodeJS.ReadableStream>).mutateRows;
  await new Promise<void>((resolve, reject) => {
    const call = (fn as (...a: unknown[]) => NodeJS.ReadableStream).call(data, {
      tableName: tableName(tableId),
      entries,
    });
    call.on('data', (m: Message) => {
      for (const e of m.entries ?? []) {
        if ((e.status?.code ?? 0) !== 0) reject(new Error(`MutateRows entry failed: ${e.status?.message}`));
      }
    });
    call.on('error', reject);
    call.on('end', () => resolve());
  });
}

/** Single-row reads one after another for `count` calls; their latencies in ms, sorted. */
export async function timedReads(
  data: Client,
  tableId: string,
  count: number,
  rowsInTable: number,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const key = Buffer.from(`row${String((i * 7919) % rowsInTable).padStart(8, '0')}`);
    const started = performance.now();
    await readOneRow(data, tableId, key);
    latencies.push(performance.now() - started);
  }
  return latencies.sort((a, b) => a - b);
}

function readOneRow(data: Client, tableId: string, key: Buffer): Promise<void> {
  const fn = (data as unknown as Record<string, (...a: unknown[]) => NodeJS.ReadableStream>).readRows;
  return new Promise((resolve, reject) => {
    const call = (fn as (...a: unknown[]) => NodeJS.ReadableStream).call(data, {
      tableName: tableName(tableId),
      rows: { rowKeys: [key] },
    });
    call.on('data', () => {});
    call.on('error', reject);
    call.on('end', () => resolve());
  });
}

/** The q-quantile of sorted numbers. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** PingAndWarm on `data`: resolves when the server answers. */
export function ping(data: Client): Promise<unknown> {
  return unary(data, 'pingAndWarm', { name: 'projects/p/instances/i' });
}
