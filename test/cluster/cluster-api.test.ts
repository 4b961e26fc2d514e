/**
 * The admin and data calls a cluster used to refuse, through servers that do not own the rows:
 * etcd, a master and three tablet servers as real processes, one table pre-split into four
 * tablets spread over all three servers.
 *
 * - CheckAndMutateRow with a predicate, sent to every server for a row of every tablet: the
 *   predicate is evaluated on the owner (both branches), the mutation lands atomically there.
 * - SampleRowKeys through a server: every tablet boundary, offsets in bytes (not tablet counts).
 * - DropRowRange by prefix across two tablets of two servers, then the whole table.
 * - Dropping a column family: gone from every server's schema and reads at once; recreated, it
 *   shows none of the old cells (they were purged on each owner).
 * - A family created through one server takes writes through every other server at once.
 * - DropRowRange while a server is SIGKILLed: acknowledged only once the tablets' new owners
 *   dropped them; nothing of the range is read back afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@grpc/grpc-js';
import { ASSIGN_PREFIX, decodeAssignment } from '../../src/cluster/cluster-keys.js';
import {
  connectData,
  connectTableAdmin,
  INSTANCE_NAME,
  outcome,
  readRows,
  serverStream,
  setCell,
  tableName,
  unary,
} from '../support/api-client.js';
import { type ClusterProcess, LocalCluster } from './cluster-processes.js';

const TABLE = 'api';
const ROWS = 60;
const SPLITS = ['r15', 'r30', 'r45'];
/** Bytes of each value written: 60 rows × 2 families × this is far above any tablet count. */
const VALUE_BYTES = 1_000;
/** Tries of a read while the tablets of a killed server move, and the pause between. */
const MOVE_TRIES_MAX = 100;
const MOVE_RETRY_MS = 100;
/** Families created one after another, each written through the other servers at once. */
const FRESH_FAMILIES = 9;
const key = (i: number) => `r${String(i).padStart(2, '0')}`;

let cluster: LocalCluster;
let data: Client[] = [];
let admin: Client[] = [];

before(async () => {
  cluster = await LocalCluster.start(3);
  data = cluster.servers.map((s) => connectData(s.address));
  admin = cluster.servers.map((s) => connectTableAdmin(s.address));
});

after(async () => {
  for (const c of [...data, ...admin]) c.close();
  await cluster?.destroy();
});

/** The server process owning `row`, from the assignment keys. */
async function ownerOf(row: string): Promise<ClusterProcess> {
  for (const e of await cluster.coord.list(ASSIGN_PREFIX)) {
    const a = decodeAssignment(e.key, e.value);
    const start = a.tablet.startRow?.toString() ?? '';
    const end = a.tablet.endRow?.toString();
    if (row >= start && (end === undefined || row < end)) {
      const p = cluster.servers.find((s) => s.serverId === a.server);
      assert.ok(p, `owner ${a.server} of ${row} is not a known process`);
      return p;
    }
  }
  assert.fail(`no tablet holds ${row}`);
}

async function writeRows(client: Client, table: string): Promise<void> {
  const entries = Array.from({ length: ROWS }, (_, i) => ({
    rowKey: Buffer.from(key(i)),
    mutations: [
      setCell('cf', 'q', 1000, Buffer.alloc(VALUE_BYTES, `v${i}`)),
      setCell('cf2', 'q', 1000, Buffer.from(`w${i}`)),
    ],
  }));
  const responses = await serverStream(client, 'MutateRows', { tableName: tableName(table), entries });
  const codes = responses.flatMap((r) =>
    (r.entries as { status: { code: number } }[]).map((e) => e.status.code),
  );
  assert.deepEqual(codes, new Array(ROWS).fill(0));
}

const keys = (rows: { key: Buffer }[]) => rows.map((r) => r.key.toString());

test('the table spreads over all three servers', async () => {
  await unary(admin[0] as Client, 'CreateTable', {
    parent: INSTANCE_NAME,
    tableId: TABLE,
    table: { columnFamilies: { cf: {}, cf2: {} } },
    initialSplits: SPLITS.map((k) => ({ key: Buffer.from(k) })),
  });
  const byServer = await cluster.tabletsByServer();
  console.log(
    `tablets per server: ${cluster.servers.map((s) => `${s.name}=${byServer.get(s.serverId) ?? 0}`).join(' ')}`,
  );
  assert.equal(byServer.size, 3, 'every server holds a tablet');
  await writeRows(data[1] as Client, TABLE);
});

test('CheckAndMutateRow with a predicate is evaluated on the row owner, from every server', async () => {
  let forwarded = 0;
  for (const [s, server] of cluster.servers.entries()) {
    for (const i of [3, 20, 33, 58]) {
      if ((await ownerOf(key(i))) !== server) forwarded++;
      const request = (value: string) => ({
        tableName: tableName(TABLE),
        rowKey: Buffer.from(key(i)),
        predicateFilter: {
          chain: {
            filters: [{ familyNameRegexFilter: 'cf2' }, { valueRegexFilter: Buffer.from(value) }],
          },
        },
        trueMutations: [setCell('cf2', `t${s}`, 2000, Buffer.from('yes'))],
        falseMutations: [setCell('cf2', `f${s}`, 2000, Buffer.from('no'))],
      });
      const hit = await unary(data[s] as Client, 'CheckAndMutateRow', request(`w${i}`));
      assert.equal(hit.predicateMatched, true, `server ${s} row ${key(i)}`);
      const miss = await unary(data[s] as Client, 'CheckAndMutateRow', request('nothing'));
      assert.equal(miss.predicateMatched, false, `server ${s} row ${key(i)}`);
    }
  }
  assert.ok(forwarded >= 8, `only ${forwarded} calls reached a non-owner`);
  const rows = await readRows(data[2] as Client, TABLE, {
    rows: { rowKeys: [3, 20, 33, 58].map((i) => Buffer.from(key(i))) },
    filter: { columnQualifierRegexFilter: Buffer.from('[tf][0-9]') },
  });
  for (const r of rows) {
    assert.deepEqual(
      r.cells.map((c) => `${c.qualifier}=${c.value}`),
      ['f0=no', 'f1=no', 'f2=no', 't0=yes', 't1=yes', 't2=yes'],
    );
  }
});

test('SampleRowKeys gives every tablet boundary with byte offsets', async () => {
  const samples = await serverStream(data[0] as Client, 'SampleRowKeys', { tableName: tableName(TABLE) });
  const boundaries = samples.map((s) => (s.rowKey as Buffer).toString());
  const offsets = samples.map((s) => Number(s.offsetBytes));
  console.log(`samples: ${boundaries.map((b, i) => `${b || "''"}@${offsets[i]}`).join(' ')}`);
  assert.deepEqual(
    boundaries.filter((b) => SPLITS.includes(b) || b === ''),
    [...SPLITS, ''],
  );
  for (let i = 1; i < offsets.length; i++) assert.ok((offsets[i] as number) >= (offsets[i - 1] as number));
  assert.ok((offsets.at(-1) as number) >= ROWS * VALUE_BYTES, `table size ${offsets.at(-1)} is not in bytes`);
});

test('DropRowRange by prefix across tablets and servers, then of every row', async () => {
  await unary(admin[2] as Client, 'DropRowRange', {
    name: tableName(TABLE),
    rowKeyPrefix: Buffer.from('r1'),
  });
  const expected = Array.from({ length: ROWS }, (_, i) => key(i)).filter((k) => !k.startsWith('r1'));
  for (const client of data) assert.deepEqual(keys(await readRows(client, TABLE)), expected);
  await unary(admin[0] as Client, 'DropRowRange', { name: tableName(TABLE), deleteAllDataFromTable: true });
  for (const client of data) assert.deepEqual(keys(await readRows(client, TABLE)), []);
  await writeRows(data[2] as Client, TABLE);
});

test('a dropped family vanishes from every server at once and its cells are purged', async () => {
  await unary(admin[1] as Client, 'ModifyColumnFamilies', {
    name: tableName(TABLE),
    modifications: [{ id: 'cf2', drop: true }],
  });
  for (const [s, client] of data.entries()) {
    const schema = await unary(admin[s] as Client, 'GetTable', {
      name: tableName(TABLE),
      view: 'SCHEMA_VIEW',
    });
    assert.deepEqual(Object.keys(schema.columnFamilies), ['cf'], `schema through server ${s}`);
    const families = new Set((await readRows(client, TABLE)).flatMap((r) => r.cells.map((c) => c.family)));
    assert.deepEqual([...families], ['cf'], `families read through server ${s}`);
  }
  // Recreated through another server and written at once through a third: no old cell shows.
  await unary(admin[2] as Client, 'ModifyColumnFamilies', {
    name: tableName(TABLE),
    modifications: [{ id: 'cf2', create: {} }],
  });
  await unary(data[0] as Client, 'MutateRow', {
    tableName: tableName(TABLE),
    rowKey: Buffer.from(key(50)),
    mutations: [setCell('cf2', 'new', 3000, Buffer.from('n'))],
  });
  const cf2 = (
    await readRows(data[1] as Client, TABLE, { filter: { familyNameRegexFilter: 'cf2' } })
  ).flatMap((r) => r.cells.map((c) => `${r.key}/${c.qualifier}`));
  assert.deepEqual(cf2, [`${key(50)}/new`]);
});

test('a family created through one server takes writes through every other at once', async () => {
  for (let i = 0; i < FRESH_FAMILIES; i++) {
    const via = i % data.length;
    await unary(admin[via] as Client, 'ModifyColumnFamilies', {
      name: tableName(TABLE),
      modifications: [{ id: `fresh${i}`, create: {} }],
    });
    await Promise.all(
      data
        .filter((_, s) => s !== via)
        .map((client) =>
          unary(client, 'MutateRow', {
            tableName: tableName(TABLE),
            rowKey: Buffer.from(key(i)),
            mutations: [setCell(`fresh${i}`, 'q', 1000, Buffer.from('x'))],
          }),
        ),
    );
  }
});

test('DropRowRange while an owner is killed is retried on the new owner', async () => {
  const victim = await ownerOf(key(20));
  const survivor = cluster.servers.findIndex((s) => s !== victim);
  await victim.kill();
  const started = Date.now();
  await unary(admin[survivor] as Client, 'DropRowRange', {
    name: tableName(TABLE),
    deleteAllDataFromTable: true,
  });
  console.log(`DropRowRange with an owner killed: acknowledged after ${Date.now() - started} ms`);
  for (let tries = 1; ; tries++) {
    const o = await outcome(() => readRows(data[survivor] as Client, TABLE));
    if (o.code === 'OK') break;
    assert.ok(o.code === 'UNAVAILABLE' && tries < MOVE_TRIES_MAX, `${o.code} ${o.message}`);
    await new Promise((r) => setTimeout(r, MOVE_RETRY_MS));
  }
  assert.deepEqual(keys(await readRows(data[survivor] as Client, TABLE)), []);
});
