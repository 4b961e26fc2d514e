// End to end over gRPC: the server in-process on port 0 with a real table store on a temporary
// directory, driven by raw grpc-js clients built from the same protos. Covers admin and data RPCs,
// per-entry MutateRows statuses, UNIMPLEMENTED methods, malformed request bytes, and families
// named `__proto__`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Client, ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { MUTATIONS_PER_REQUEST_MAX } from '../../src/common/limits.js';
import { loadBigtableProtos } from '../../src/server/protos.js';
import type { RunningServer } from '../../src/server/server.js';
import { startServer } from '../../src/server/server.js';
import { TABLE_TYPE_URL } from '../../src/server/table-admin-service.js';
import { openTableStore } from '../../src/tablet/table-store.js';
import type { TableStore } from '../../src/tablet/table-store-api.js';

// biome-ignore lint/suspicious/noExplicitAny: generated client stubs are untyped.
type Stub = Client & Record<string, any>;

const INSTANCE = 'projects/p/instances/i';
const TABLE = `${INSTANCE}/tables/t`;
const BIG_VALUE_BYTES = 3 * 1024 * 1024 + 17;

let dir: string;
let store: TableStore;
let server: RunningServer;
let data: Stub;
let admin: Stub;
let instances: Stub;

function stub(pkg: unknown, path: string[], address: string): Stub {
  // biome-ignore lint/suspicious/noExplicitAny: walking the loaded package object.
  const Ctor = path.reduce((o: any, k) => o[k], pkg);
  return new Ctor(address, credentials.createInsecure());
}

function unary<T>(client: Stub, method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](request, (err: ServiceError | null, res: T) => (err ? reject(err) : resolve(res))),
  );
}

function collect<T>(call: ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    call.on('data', (m: T) => out.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
}

async function failsWith(p: Promise<unknown>, code: status, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: ServiceError) => {
    assert.equal(err.code, code, `${status[err.code]}: ${err.details}`);
    if (message) assert.match(err.details, message);
    return true;
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tabula-server-e2e-'));
  store = await openTableStore({ dir });
  server = await startServer({ host: '127.0.0.1', port: 0, store });
  const protos = loadBigtableProtos();
  data = stub(protos.data, ['google', 'bigtable', 'v2', 'Bigtable'], server.address);
  admin = stub(protos.admin, ['google', 'bigtable', 'admin', 'v2', 'BigtableTableAdmin'], server.address);
  instances = stub(
    protos.admin,
    ['google', 'bigtable', 'admin', 'v2', 'BigtableInstanceAdmin'],
    server.address,
  );
});

after(async () => {
  for (const c of [data, admin, instances]) c?.close();
  await server?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const setCell = (family: string, q: string, value: Buffer | string, ts = '1000') => ({
  setCell: {
    familyName: family,
    columnQualifier: Buffer.from(q),
    timestampMicros: ts,
    value: Buffer.from(value),
  },
});

test('create and get a table with GC rules and families named like Object members', async () => {
  const families = Object.create(null);
  families.cf = { gcRule: { maxNumVersions: 2 } };
  const proto = '__proto__';
  families[proto] = {};
  families.constructor = {
    gcRule: { union: { rules: [{ maxNumVersions: 1 }, { maxAge: { seconds: '60' } }] } },
  };
  const created = await unary<{ name: string }>(admin, 'CreateTable', {
    parent: INSTANCE,
    tableId: 't',
    table: { columnFamilies: families },
  });
  assert.equal(created.name, TABLE);
  const got = await unary<{ columnFamilies: Record<string, { gcRule?: object }>; granularity: string }>(
    admin,
    'GetTable',
    { name: TABLE },
  );
  assert.deepEqual(Object.keys(got.columnFamilies).sort(), ['__proto__', 'cf', 'constructor']);
  assert.equal(got.granularity, 'MILLIS');
  assert.deepEqual(got.columnFamilies.cf?.gcRule, { maxNumVersions: 2, rule: 'maxNumVersions' });
  const list = await unary<{ tables: { name: string; columnFamilies?: object }[] }>(admin, 'ListTables', {
    parent: INSTANCE,
  });
  assert.deepEqual(
    list.tables.map((t) => t.name),
    [TABLE],
  );
  await failsWith(
    unary(admin, 'CreateTable', { parent: INSTANCE, tableId: 't', table: {} }),
    status.ALREADY_EXISTS,
  );
  await failsWith(
    unary(admin, 'CreateTable', {
      parent: INSTANCE,
      tableId: 'u',
      table: { columnFamilies: { f: { gcRule: { maxNumVersions: 0 } } } },
    }),
    status.INVALID_ARGUMENT,
    /max_num_versions/,
  );
  await failsWith(unary(admin, 'GetTable', { name: `${INSTANCE}/tables/missing` }), status.NOT_FOUND);
  await failsWith(unary(admin, 'GetTable', { name: 'tables/t' }), status.INVALID_ARGUMENT);
});

test('MutateRows answers a precise status per entry', async () => {
  const entries = [
    { rowKey: Buffer.from('a'), mutations: [setCell('cf', 'q', 'va'), setCell('__proto__', 'p', 'vp')] },
    { rowKey: Buffer.from('b'), mutations: [setCell('nope', 'q', 'v')] },
    { rowKey: Buffer.from('c'), mutations: [setCell('bad family!', 'q', 'v')] },
    { rowKey: Buffer.alloc(0), mutations: [setCell('cf', 'q', 'v')] },
    { rowKey: Buffer.from('big'), mutations: [setCell('cf', 'q', Buffer.alloc(BIG_VALUE_BYTES, 7))] },
  ];
  const responses = await collect<{ entries: { index: string; status: { code: number } }[] }>(
    data.MutateRows({ tableName: TABLE, entries }),
  );
  const codes = responses.flatMap((r) => r.entries).sort((x, y) => Number(x.index) - Number(y.index));
  assert.deepEqual(
    codes.map((e) => e.status.code),
    [status.OK, status.NOT_FOUND, status.INVALID_ARGUMENT, status.INVALID_ARGUMENT, status.OK],
  );
  const tooMany = Array.from({ length: MUTATIONS_PER_REQUEST_MAX + 1 }, () => ({ deleteFromRow: {} }));
  await failsWith(
    collect(
      data.MutateRows({ tableName: TABLE, entries: [{ rowKey: Buffer.from('x'), mutations: tooMany }] }),
    ),
    status.INVALID_ARGUMENT,
    /too many mutations/,
  );
});

interface Chunk {
  rowKey?: Buffer;
  familyName?: { value: string };
  value: Buffer;
  valueSize?: number;
  commitRow?: boolean;
}

async function readRows(request: object): Promise<{ key: string; families: string[]; bytes: number }[]> {
  const responses = await collect<{ chunks: Chunk[] }>(data.ReadRows({ tableName: TABLE, ...request }));
  const rows: { key: string; families: string[]; bytes: number }[] = [];
  let current: { key: string; families: string[]; bytes: number } | undefined;
  for (const c of responses.flatMap((r) => r.chunks)) {
    if (c.rowKey !== undefined && c.rowKey.length > 0)
      current = { key: c.rowKey.toString(), families: [], bytes: 0 };
    assert.ok(current);
    if (c.familyName !== undefined) current.families.push(c.familyName.value);
    current.bytes += c.value.length;
    if (c.commitRow === true) rows.push(current);
  }
  return rows;
}

test('ReadRows streams rows in order, splits large values, honours rows_limit and reversed', async () => {
  const all = await readRows({});
  assert.deepEqual(
    all.map((r) => r.key),
    ['a', 'big'],
  );
  assert.deepEqual(all[0]?.families, ['__proto__', 'cf']);
  assert.equal(all[1]?.bytes, BIG_VALUE_BYTES);
  assert.deepEqual(
    (await readRows({ rowsLimit: '1' })).map((r) => r.key),
    ['a'],
  );
  assert.deepEqual(
    (await readRows({ reversed: true })).map((r) => r.key),
    ['big', 'a'],
  );
  assert.deepEqual(
    (
      await readRows({ rows: { rowKeys: [Buffer.from('big')] }, filter: { stripValueTransformer: true } })
    ).map((r) => [r.key, r.bytes]),
    [['big', 0]],
  );
  await failsWith(readRows({ rowsLimit: '-1' }), status.INVALID_ARGUMENT, /rows_limit/);
  await failsWith(
    readRows({ filter: { chain: {} }, tableName: `${INSTANCE}/tables/missing` }),
    status.NOT_FOUND,
  );
  await failsWith(
    collect(data.ReadRows({ authorizedViewName: `${TABLE}/authorizedViews/v` })),
    status.UNIMPLEMENTED,
  );
});

test('CheckAndMutateRow, ReadModifyWriteRow, SampleRowKeys and PingAndWarm', async () => {
  const check = await unary<{ predicateMatched: boolean }>(data, 'CheckAndMutateRow', {
    tableName: TABLE,
    rowKey: Buffer.from('a'),
    predicateFilter: { familyNameRegexFilter: 'cf' },
    trueMutations: [setCell('cf', 'm', 'matched')],
  });
  assert.equal(check.predicateMatched, true);
  const rmw = await unary<{
    row: { key: Buffer; families: { name: string; columns: { cells: { value: Buffer }[] }[] }[] };
  }>(data, 'ReadModifyWriteRow', {
    tableName: TABLE,
    rowKey: Buffer.from('n'),
    rules: [{ familyName: 'cf', columnQualifier: Buffer.from('c'), incrementAmount: '5' }],
  });
  assert.equal(rmw.row.families[0]?.name, 'cf');
  assert.equal(rmw.row.families[0]?.columns[0]?.cells[0]?.value.readBigInt64BE(0), 5n);
  await failsWith(
    unary(data, 'ReadModifyWriteRow', {
      tableName: TABLE,
      rowKey: Buffer.from('a'),
      rules: [{ familyName: 'cf', columnQualifier: Buffer.from('q'), incrementAmount: '1' }],
    }),
    status.FAILED_PRECONDITION,
  );
  const samples = await collect<{ rowKey: Buffer; offsetBytes: string }>(
    data.SampleRowKeys({ tableName: TABLE }),
  );
  assert.ok(samples.length >= 1);
  await unary(data, 'PingAndWarm', { name: INSTANCE });
  await failsWith(unary(data, 'PingAndWarm', { name: 'nope' }), status.INVALID_ARGUMENT);
});

test('unsupported methods answer UNIMPLEMENTED whatever their streaming kind', async () => {
  await failsWith(
    collect(data.ExecuteQuery({ instanceName: INSTANCE })),
    status.UNIMPLEMENTED,
    /ExecuteQuery/,
  );
  await failsWith(unary(data, 'PrepareQuery', { instanceName: INSTANCE }), status.UNIMPLEMENTED);
  await failsWith(unary(admin, 'CreateBackup', { parent: INSTANCE }), status.UNIMPLEMENTED, /CreateBackup/);
  await failsWith(unary(instances, 'CreateInstance', { parent: 'projects/p' }), status.UNIMPLEMENTED);
  const bidi = data.OpenTable();
  const ended = new Promise<ServiceError>((resolve) => bidi.on('error', resolve));
  bidi.write({});
  assert.equal((await ended).code, status.UNIMPLEMENTED);
});

test('request bytes that are not protobuf are INVALID_ARGUMENT and the server keeps serving', async () => {
  for (const garbage of [Buffer.from([0x0f]), Buffer.from([0x12, 0x03, 0x0a])]) {
    await failsWith(rawMutateRow(garbage), status.INVALID_ARGUMENT, /protobuf/);
  }
  await unary(data, 'PingAndWarm', { name: INSTANCE });
});

function rawMutateRow(bytes: Buffer): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) =>
    data.makeUnaryRequest(
      '/google.bigtable.v2.Bigtable/MutateRow',
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new Metadata(),
      (err: ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res)),
    ),
  );
}

test('instance admin answers for any instance', async () => {
  const inst = await unary<{ name: string; state: string }>(instances, 'GetInstance', {
    name: 'projects/x/instances/y',
  });
  assert.equal(inst.name, 'projects/x/instances/y');
  assert.equal(inst.state, 'READY');
  const list = await unary<{ instances: { name: string }[] }>(instances, 'ListInstances', {
    parent: 'projects/x',
  });
  assert.equal(list.instances.length, 1);
  const clusters = await unary<{ clusters: object[] }>(instances, 'ListClusters', { parent: INSTANCE });
  assert.equal(clusters.clusters.length, 1);
});

test('UpdateTable returns a done operation holding the table; deletion protection blocks delete', async () => {
  const op = await unary<{ done: boolean; response: { type_url: string; value: Buffer } }>(
    admin,
    'UpdateTable',
    {
      table: { name: TABLE, deletionProtection: true },
      updateMask: { paths: ['deletion_protection'] },
    },
  );
  assert.equal(op.done, true);
  assert.equal(op.response.type_url, TABLE_TYPE_URL);
  const protos = loadBigtableProtos();
  // biome-ignore lint/suspicious/noExplicitAny: the raw service definition.
  const getTable = (protos.adminDefinition['google.bigtable.admin.v2.BigtableTableAdmin'] as any).GetTable;
  assert.equal(getTable.responseDeserialize(op.response.value).deletionProtection, true);
  await failsWith(unary(admin, 'DeleteTable', { name: TABLE }), status.FAILED_PRECONDITION);
  await failsWith(
    unary(admin, 'UpdateTable', { table: { name: TABLE }, updateMask: { paths: ['column_families'] } }),
    status.UNIMPLEMENTED,
  );
  await unary(admin, 'UpdateTable', {
    table: { name: TABLE },
    updateMask: { paths: ['deletion_protection'] },
  });
  const token = await unary<{ consistencyToken: string }>(admin, 'GenerateConsistencyToken', { name: TABLE });
  const consistent = await unary<{ consistent: boolean }>(admin, 'CheckConsistency', {
    name: TABLE,
    consistencyToken: token.consistencyToken,
  });
  assert.equal(consistent.consistent, true);
  await unary(admin, 'DropRowRange', { name: TABLE, rowKeyPrefix: Buffer.from('b') });
  assert.deepEqual(
    (await readRows({})).map((r) => r.key),
    ['a', 'n'],
  );
  await unary(admin, 'DeleteTable', { name: TABLE });
  await failsWith(unary(admin, 'GetTable', { name: TABLE }), status.NOT_FOUND);
});
