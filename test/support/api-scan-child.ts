/**
 * A full-table scan client that costs the client almost nothing: one ReadRows over raw node:http2,
 * gRPC frames split by hand, and each ReadRowsResponse walked at the wire level only to count
 * CellChunks with `commit_row` set (field 9). No protobuf decoding, no row assembly, so the server,
 * not this client, bounds the rate. Prints one JSON line `{"rows","seconds","firstRowMs"}`.
 *
 * Used by bench/server-bench.ts in a separate process (`--scan-child <address> <tableId>`).
 */
import { connect } from 'node:http2';
import { loadBigtableProtos } from '../../src/server/protos.js';
import { tableName } from './api-client.js';
import { grpcFrame } from './api-h2load.js';

const FRAME_HEADER_BYTES = 5;
/** ReadRowsResponse.chunks. */
const FIELD_CHUNKS = 1;
/** CellChunk.commit_row. */
const FIELD_COMMIT_ROW = 9;
const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;
const MS_PER_S = 1000;

function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  let pos = at;
  for (;;) {
    const b = buf[pos++] as number;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, pos];
    shift += 7;
  }
}

/** Calls `onField(field, wire, valueStart, valueEnd, varint)` for each field of `buf[start, end)`. */
function walk(
  buf: Buffer,
  start: number,
  end: number,
  onField: (field: number, wire: number, from: number, to: number, varint: number) => void,
): void {
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === WIRE_VARINT) {
      const [v, next] = readVarint(buf, afterTag);
      onField(field, wire, afterTag, next, v);
      pos = next;
    } else if (wire === WIRE_LEN) {
      const [len, from] = readVarint(buf, afterTag);
      onField(field, wire, from, from + len, 0);
      pos = from + len;
    } else if (wire === WIRE_FIXED64) pos = afterTag + 8;
    else if (wire === WIRE_FIXED32) pos = afterTag + 4;
    else throw new Error(`unexpected wire type ${wire}`);
  }
}

/** Committed rows in one serialized ReadRowsResponse. */
export function countCommittedRows(message: Buffer): number {
  let rows = 0;
  walk(message, 0, message.length, (field, wire, from, to) => {
    if (field !== FIELD_CHUNKS || wire !== WIRE_LEN) return;
    walk(message, from, to, (f, w, _a, _b, v) => {
      if (f === FIELD_COMMIT_ROW && w === WIRE_VARINT && v !== 0) rows++;
    });
  });
  return rows;
}

/** Scans table `tableId` at `address` and prints the JSON result line. */
export async function scanChildMain(address: string, tableId: string): Promise<void> {
  const service = loadBigtableProtos().dataDefinition['google.bigtable.v2.Bigtable'] as unknown as Record<
    string,
    { requestSerialize: (m: object) => Buffer }
  >;
  const body = grpcFrame(
    (service.ReadRows as { requestSerialize: (m: object) => Buffer }).requestSerialize({
      tableName: tableName(tableId),
    }),
  );
  const session = connect(`http://${address}`);
  const started = performance.now();
  let firstRowMs = Number.NaN;
  let rows = 0;
  let pending: Buffer = Buffer.alloc(0);
  const stream = session.request({
    ':method': 'POST',
    ':path': '/google.bigtable.v2.Bigtable/ReadRows',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  let grpcStatus = '';
  stream.on('trailers', (t) => {
    grpcStatus = String(t['grpc-status'] ?? '');
  });
  stream.on('response', (h) => {
    if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
  });
  stream.on('data', (d: Buffer) => {
    pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
    while (pending.length >= FRAME_HEADER_BYTES) {
      const length = pending.readUInt32BE(1);
      if (pending.length < FRAME_HEADER_BYTES + length) break;
      rows += countCommittedRows(pending.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length));
      if (Number.isNaN(firstRowMs) && rows > 0) firstRowMs = performance.now() - started;
      pending = pending.subarray(FRAME_HEADER_BYTES + length);
    }
  });
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
    stream.end(body);
  });
  const seconds = (performance.now() - started) / MS_PER_S;
  session.close();
  if (grpcStatus !== '0') throw new Error(`scan ended with grpc-status ${grpcStatus}`);
  console.log(JSON.stringify({ rows, seconds, firstRowMs }));
}
