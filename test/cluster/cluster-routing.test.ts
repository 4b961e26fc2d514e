/**
 * A cluster is one Bigtable from any of its tablet servers: etcd, a master and two tablet servers
 * as real processes; the official Node client creates a pre-split table and writes through server
 * A, and reads everything back through server B (rows of tablets A owns come over B's one hop).
 * Raw stubs check what the Node client does not show: MutateRows split by owner, reversed and
 * limited scans across tablets, read-modify-write on the other server's rows, and schema changes
 * visible through every server as soon as the admin call answers.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { INSTANCE_ID, nodeClient } from '../conformance/client-env.js';
import {
  connectData,
  connectTableAdmin,
  outcome,
  readRows,
  serverStream,
  setCell,
  tableName,
  unary,
} from '../support/api-client.js';
import { type ClusterProcess, LocalCluster } from './cluster-processes.js';

const ROWS = 60;
const SPLITS = ['r15', 'r30', 'r45'];
const key = (i: number) => `r${String(i).padStart(2, '0')}`;

let cluster: LocalCluster;

before(async () => {
  cluster = await LocalCluster.start(2);
});

after(async () => {
  await cluster?.destroy();
});

test('the official client creates, writes through one server and reads through the other', async () => {
  const [a, b] = cluster.servers as [ClusterProcess, ClusterProcess];
  const clientA = nodeClient(a.address);
  const clientB = nodeClient(b.address);
  try {
    const [table] = await clientA.instance(INSTANCE_ID).createTable('users', {
      families: ['cf'],
      splits: SPLITS,
    });
    const byServer = await cluster.tabletsByServer();
    assert.equal(
      [...byServer.values()].reduce((x, y) => x + y, 0),
      SPLITS.length + 1,
      'one assignment per tablet',
    );
    assert.equal(byServer.size, 2, 'tablets are spread over both servers');
    await table.insert(
      Array.from({ length: ROWS }, (_, i) => ({ key: key(i), data: { cf: { q: `v${i}` } } })),
    );
    const [rows] = await clientB.instance(INSTANCE_ID).table('users').getRows();
    assert.deepEqual(
      rows.map((r) => r.id),
      Array.from({ length: ROWS }, (_, i) => key(i)),
    );
    assert.equal(rows[37]?.data.cf.q[0].value, 'v37');
    const [tables] = await clientB.instance(INSTANCE_ID).getTables();
    assert.deepEqual(
      tables.map((t) => t.id),
      ['users'],
    );
  } finally {
    await clientA.close();
    await clientB.close();
  }
});

test('raw API through the other server: multi-owner batches, ordered scans, refusals', async () => {
  const [a, b] = cluster.servers as [ClusterProcess, ClusterProcess];
  const dataA = connectData(a.address);
  const dataB = connectData(b.address);
  const adminB = connectTableAdmin(b.address);
  try {
    const entries = [5, 20, 35, 50].map((i) => ({
      rowKey: Buffer.from(key(i)),
      mutations: [setCell('cf', 'm', 7000, Buffer.from(`m${i}`))],
    }));
    const responses = await serverStream(dataB, 'MutateRows', { tableName: tableName('users'), entries });
    const codes = responses.flatMap((r) =>
      (r.entries as { status: { code: number } }[]).map((e) => e.status.code),
    );
    assert.deepEqual(codes, [0, 0, 0, 0]);
    const m = await readRows(dataA, 'users', { rows: { rowKeys: entries.map((e) => e.rowKey) } });
    assert.deepEqual(
      m.map((r) => r.cells.find((c) => c.qualifier.toString() === 'm')?.value.toString()),
      ['m5', 'm20', 'm35', 'm50'],
    );
    const reversed = await readRows(dataB, 'users', { reversed: true, rowsLimit: '20' });
    assert.deepEqual(
      reversed.map((r) => r.key.toString()),
      Array.from({ length: 20 }, (_, i) => key(ROWS - 1 - i)),
    );
    const range = await readRows(dataA, 'users', {
      rows: { rowRanges: [{ startKeyOpen: Buffer.from('r12'), endKeyClosed: Buffer.from('r47') }] },
      filter: { cellsPerColumnLimitFilter: 1 },
    });
    assert.deepEqual(
      range.map((r) => r.key.toString()),
      Array.from({ length: 47 - 12 }, (_, i) => key(13 + i)),
    );
    for (const client of [dataA, dataB]) {
      const res = await unary(client, 'ReadModifyWriteRow', {
        tableName: tableName('users'),
        rowKey: Buffer.from(key(44)),
        rules: [{ familyName: 'cf', columnQualifier: Buffer.from('n'), incrementAmount: '2' }],
      });
      assert.equal(res.row.families[0].columns[0].cells.length, 1);
    }
    const counter = await readRows(dataB, 'users', {
      rows: { rowKeys: [Buffer.from(key(44))] },
      filter: { columnQualifierRegexFilter: Buffer.from('n') },
    });
    assert.equal(counter[0]?.cells[0]?.value.readBigInt64BE(), 4n);
    const unknown = await outcome(() =>
      unary(dataA, 'MutateRow', {
        tableName: tableName('nope'),
        rowKey: Buffer.from('x'),
        mutations: [setCell('cf', 'q', 1000, Buffer.from('x'))],
      }),
    );
    assert.equal(unknown.code, 'NOT_FOUND');
  } finally {
    dataA.close();
    dataB.close();
    adminB.close();
  }
});

test('schema admin through a tablet server reaches the master and every server', async () => {
  const [a, b] = cluster.servers as [ClusterProcess, ClusterProcess];
  const dataA = connectData(a.address);
  const adminA = connectTableAdmin(a.address);
  const adminB = connectTableAdmin(b.address);
  try {
    await unary(adminB, 'ModifyColumnFamilies', {
      name: tableName('users'),
      modifications: [{ id: 'cf2', create: { gcRule: { maxNumVersions: 1 } } }],
    });
    // The admin call answered only once every server saw the change: the other one takes it at once.
    await unary(dataA, 'MutateRow', {
      tableName: tableName('users'),
      rowKey: Buffer.from(key(50)),
      mutations: [setCell('cf2', 'q', 1000, Buffer.from('new'))],
    });
    const table = await unary(adminA, 'GetTable', { name: tableName('users'), view: 'SCHEMA_VIEW' });
    assert.deepEqual(Object.keys(table.columnFamilies).sort(), ['cf', 'cf2']);
    await unary(adminA, 'ModifyColumnFamilies', {
      name: tableName('users'),
      modifications: [{ id: 'cf2', drop: true }],
    });
    const afterDrop = await unary(adminB, 'GetTable', { name: tableName('users'), view: 'SCHEMA_VIEW' });
    assert.deepEqual(Object.keys(afterDrop.columnFamilies), ['cf']);
    await unary(adminA, 'UpdateTable', {
      table: { name: tableName('users'), deletionProtection: true },
      updateMask: { paths: ['deletion_protection'] },
    });
    const protectedDelete = await outcome(() => unary(adminB, 'DeleteTable', { name: tableName('users') }));
    assert.equal(protectedDelete.code, 'FAILED_PRECONDITION');
    await unary(adminB, 'UpdateTable', {
      table: { name: tableName('users'), deletionProtection: false },
      updateMask: { paths: ['deletion_protection'] },
    });
    await unary(adminB, 'DeleteTable', { name: tableName('users') });
    assert.equal((await cluster.tabletsByServer()).size, 0, 'no assignment is left');
    // The other server saw the deletion before the admin call answered.
    const gone = await outcome(() => readRows(dataA, 'users'));
    assert.equal(gone.code, 'NOT_FOUND', gone.message);
  } finally {
    dataA.close();
    adminA.close();
    adminB.close();
  }
});
