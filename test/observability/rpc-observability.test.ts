// Per-RPC observability over real gRPC: an in-process server whose handler maps go through
// `instrumentHandlers`, driven by raw clients. Checks the Prometheus series (calls and latency by
// status code, rows and bytes), the storage series, and that log lines keep request values as
// fields: a table name and a row key holding quotes, newlines and ` from 8.8.8.8` come back
// byte-exact from the parsed JSON, and never reach the message.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Client } from '@grpc/grpc-js';
import { createLogger, logBytes } from '../../src/common/logger.js';
import { Registry } from '../../src/common/metrics.js';
import { instrumentHandlers, RpcObserver, requestTable } from '../../src/server/observability.js';
import { openTableStore } from '../../src/tablet/table-store.js';
import type { TableStore } from '../../src/tablet/table-store-api.js';
import { registerStorageMetrics } from '../../src/web/storage-metrics.js';
import {
  connectData,
  connectTableAdmin,
  createTable,
  INSTANCE_NAME,
  outcome,
  readRows,
  serverStream,
  setCell,
  tableName,
  unary,
} from '../support/api-client.js';
import { type InstrumentedServer, LineSink, startInstrumentedServer } from './instrumented-server.js';

/** A value built to forge a log line if it were spliced into text. */
const HOSTILE = 'x" msg="login ok\nFailed password for root from 8.8.8.8 port 22\r\n\'}{';

let dir: string;
let store: TableStore;
let server: InstrumentedServer;
let data: Client;
let admin: Client;
const sink = new LineSink();
const registry = new Registry();
const observer = new RpcObserver({ logger: createLogger({ level: 'debug', destination: sink }), registry });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tabula-observability-'));
  store = await openTableStore({ dir });
  server = await startInstrumentedServer(store, observer);
  registerStorageMetrics(registry, store, () => observer.tableRequests());
  data = connectData(server.address);
  admin = connectTableAdmin(server.address);
});

after(async () => {
  data.close();
  admin.close();
  await server.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The value of one sample line of the exposition text, e.g. `name{a="b"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('calls, latency, rows and bytes are counted by method and status code', async () => {
  await createTable(admin, 'metrics', ['cf']);
  await unary(data, 'MutateRow', {
    tableName: tableName('metrics'),
    rowKey: Buffer.from('r0'),
    mutations: [setCell('cf', 'q', 1000, Buffer.from('value0'))],
  });
  const entries = ['r1', 'r2', 'r3'].map((key) => ({
    rowKey: Buffer.from(key),
    mutations: [setCell('cf', 'q', 1000, Buffer.from('v'))],
  }));
  await serverStream(data, 'MutateRows', { tableName: tableName('metrics'), entries });
  assert.equal((await readRows(data, 'metrics')).length, 4);
  const missing = await outcome(() => unary(admin, 'GetTable', { name: tableName('nope') }));
  assert.equal(missing.code, 'NOT_FOUND');

  const text = await registry.metrics();
  const data_ = 'service="google.bigtable.v2.Bigtable"';
  const admin_ = 'service="google.bigtable.admin.v2.BigtableTableAdmin"';
  assert.equal(sample(text, `tabula_rpc_calls_total{${data_},method="MutateRow",code="OK"}`), 1);
  assert.equal(sample(text, `tabula_rpc_calls_total{${data_},method="ReadRows",code="OK"}`), 1);
  assert.equal(sample(text, `tabula_rpc_calls_total{${admin_},method="GetTable",code="NOT_FOUND"}`), 1);
  assert.equal(sample(text, `tabula_rpc_duration_seconds_count{${data_},method="MutateRows",code="OK"}`), 1);
  assert.equal(
    sample(text, `tabula_rpc_duration_seconds_bucket{le="+Inf",${data_},method="MutateRow",code="OK"}`),
    1,
  );
  assert.equal(sample(text, 'tabula_rpc_rows_total{method="MutateRow",direction="written"}'), 1);
  assert.equal(sample(text, 'tabula_rpc_rows_total{method="MutateRows",direction="written"}'), 3);
  assert.equal(sample(text, 'tabula_rpc_rows_total{method="ReadRows",direction="read"}'), 4);
  // MutateRow: key 2 + qualifier 1 + value 6.
  assert.equal(sample(text, 'tabula_rpc_bytes_total{method="MutateRow",direction="written"}'), 9);
  assert.ok((sample(text, 'tabula_rpc_bytes_total{method="ReadRows",direction="read"}') ?? 0) >= 4 * 4);
  assert.equal(sample(text, 'tabula_tablets'), 1);
  assert.ok((sample(text, 'tabula_tablet_memtable_bytes{table="metrics",tablet=""}') ?? 0) > 0);
  assert.equal(sample(text, 'tabula_tablet_sstables{table="metrics",tablet="",level="0"}'), 0);
  // Every acknowledged write was fdatasynced: the WAL counts its syncs and their time.
  assert.ok((sample(text, 'tabula_tablet_wal_syncs{table="metrics",tablet=""}') ?? 0) >= 1);
  assert.ok((sample(text, 'tabula_tablet_wal_sync_seconds_total{table="metrics",tablet=""}') ?? 0) > 0);
  assert.equal(sample(text, 'tabula_tablet_flush_written_bytes{table="metrics",tablet=""}'), 0);
  assert.ok(sample(text, 'tabula_block_cache_capacity_bytes{table="metrics",tablet=""}') !== undefined);
  assert.ok(sample(text, 'tabula_block_cache_hit_ratio') !== undefined);
  assert.ok((sample(text, 'tabula_table_rpc_calls{table="metrics"}') ?? 0) >= 4);
  assert.deepEqual(server.internalErrors, []);
});

test('a hostile table name and row key come out of the log as exact fields', async () => {
  const before = sink.lines.length;
  const badName = await outcome(() =>
    unary(data, 'MutateRow', {
      tableName: `${INSTANCE_NAME}/tables/${HOSTILE}`,
      rowKey: Buffer.from(HOSTILE),
      mutations: [setCell('cf', 'q', 1000, Buffer.from('v'))],
    }),
  );
  assert.equal(badName.code, 'INVALID_ARGUMENT');
  const missing = await outcome(() =>
    unary(data, 'MutateRow', {
      tableName: tableName('absent'),
      rowKey: Buffer.from(HOSTILE),
      mutations: [setCell('cf', 'q', 1000, Buffer.from('v'))],
    }),
  );
  assert.equal(missing.code, 'NOT_FOUND');
  const lines = sink.lines.slice(before).filter((l) => l.includes('"rpc failed"'));
  assert.equal(lines.length, 2, sink.lines.slice(before).join('\n'));
  for (const line of lines) {
    assert.ok(!line.includes('\n') && !line.includes('\r'), 'one record, one line');
    const record = JSON.parse(line) as Record<string, unknown>;
    assert.equal(record.msg, 'rpc failed');
    assert.equal(record.method, 'MutateRow');
    assert.equal(record.rowKey, HOSTILE);
    assert.equal(record.level, 40);
    assert.ok(typeof record.error === 'string' && typeof record.peer === 'string');
  }
  const [invalid, notFound] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(invalid?.table, HOSTILE);
  assert.equal(invalid?.code, 'INVALID_ARGUMENT');
  assert.equal(notFound?.table, 'absent');
  assert.equal(notFound?.code, 'NOT_FOUND');
});

test('successful calls log at debug only; slow calls log with the threshold', async () => {
  const slowSink = new LineSink();
  const slowObserver = new RpcObserver({
    logger: createLogger({ level: 'info', destination: slowSink }),
    registry: new Registry(),
    slowRpcMs: 0,
  });
  const handlers = instrumentHandlers(
    'test.Service',
    {
      Echo: (_call: unknown, callback: (err: null, value: object) => void) => callback(null, {}),
    } as never,
    slowObserver,
  );
  const echo = handlers.Echo as unknown as (call: object, cb: () => void) => void;
  await new Promise<void>((resolve) =>
    echo({ request: { tableName: tableName('t1') }, getPeer: () => 'p' }, resolve),
  );
  const [line] = slowSink.records();
  assert.equal(line?.msg, 'slow rpc');
  assert.equal(line?.table, 't1');
  assert.equal(line?.slowRpcMs, 0);
  assert.equal(line?.code, 'OK');
  assert.ok(sink.records().some((r) => r.msg === 'rpc finished' && r.method === 'ReadRows'));
});

test('request tables and byte fields round-trip', () => {
  assert.equal(requestTable({ tableName: `${INSTANCE_NAME}/tables/${HOSTILE}` }), HOSTILE);
  assert.equal(requestTable({ name: `${INSTANCE_NAME}/tables/t/authorizedViews/v` }), 't');
  assert.equal(requestTable({ parent: INSTANCE_NAME, tableId: 'new' }), 'new');
  assert.equal(requestTable({ name: INSTANCE_NAME }), undefined);
  const binary = Buffer.from([0xff, 0x00, 0x0a, 0x22]);
  const fields = logBytes('rowKey', binary);
  assert.deepEqual(Buffer.from(fields.rowKeyBase64 as string, 'base64'), binary);
  assert.equal(logBytes('rowKey', Buffer.alloc(5000, 0x61)).rowKeyTruncated, true);
});
