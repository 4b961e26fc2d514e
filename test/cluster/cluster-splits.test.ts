/**
 * Splits, merges and shared-file GC in a cluster, from outside: etcd, a master and three tablet
 * servers as real processes, a 16 KiB split threshold on every server and a 1 s GC grace period
 * on the master. Writers write padded rows through one server, which forwards most of them to
 * the rows' owners; the table's six initial tablets split into many, spread over the servers, and
 * every acknowledged row reads back exactly once through two servers. Then the master's GC has
 * removed every file of a retired tablet no live manifest references, and kept every referenced
 * one. Then rows of one initial tablet are dropped: its split children empty, compact, merge, and
 * their retired directories disappear; every other row still reads back.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  isChangeRefused,
  MasterControlClient,
  tabletFields,
} from '../../src/cluster/master-control-protocol.js';
import { systemClock } from '../../src/common/clock.js';
import { connectData, connectTableAdmin, tableName, unary } from '../support/api-client.js';
import { createLoadTable, LOAD_TABLE, PROBES } from './cluster-load.js';
import { type ClusterProcess, LocalCluster } from './cluster-processes.js';
import {
  assertReadBack,
  coveringTablets,
  sharedFileState,
  waitFor,
  writeAll,
} from './cluster-split-support.js';

const SPLIT_THRESHOLD = '16KiB';
const GC_GRACE_MS = 1_000;
const ROWS = 1_200;
const WRITERS = 6;

let cluster: LocalCluster;

before(async () => {
  cluster = await LocalCluster.start(3, 1, false, {
    master: { args: ['--file-gc-grace-ms', String(GC_GRACE_MS), '--file-gc-interval-ms', '500'] },
    server: { args: ['--split-threshold-bytes', SPLIT_THRESHOLD] },
  });
});

after(async () => {
  await cluster?.destroy();
});

/** Row `i`: spread over the six initial tablets (one per probe letter). */
const rowOf = (i: number) => `${PROBES[i % PROBES.length]}-${String(i).padStart(6, '0')}`;

test('tablets split under writes through a non-owner, merge after deletes, and shared files are collected', async () => {
  const [entry, other] = cluster.servers as [ClusterProcess, ClusterProcess];
  const startedMs = performance.now();
  await createLoadTable(entry);
  const client = connectData(entry.address);
  const acked = new Set<string>();
  try {
    await writeAll(
      client,
      Array.from({ length: ROWS }, (_, i) => rowOf(i)),
      WRITERS,
      acked,
    );
  } finally {
    client.close();
  }
  const split = await coveringTablets(cluster);
  const servers = new Set(split.map((a) => a.server));
  console.log(
    `${acked.size} rows acknowledged in ${Math.round(performance.now() - startedMs)} ms; ` +
      `6 tablets became ${split.length} on ${servers.size} servers`,
  );
  assert.ok(split.length >= 18, `the table split into many tablets (${split.length})`);
  assert.equal(servers.size, 3, 'the tablets are spread over every server');
  assert.equal(acked.size, ROWS);
  for (const reader of [entry, other]) await assertReadBack(reader, acked);

  // The GC removes what no live manifest references, after its grace period.
  await waitFor(cluster, 'the GC collected every unreferenced file', async () => {
    const s = await sharedFileState(cluster);
    return s.garbage.length === 0;
  });
  const kept = await sharedFileState(cluster);
  console.log(
    `after GC: ${kept.referenced.size} referenced SSTables, ${kept.retiredDirs} retired directories kept`,
  );
  await assertReadBack(entry, acked);

  // Rows of the initial tablet [b, d) are dropped: its children empty, compact and merge.
  const inDropped = (a: { tablet: { startRow: Buffer | undefined } }) =>
    a.tablet.startRow !== undefined &&
    a.tablet.startRow.toString() >= 'b' &&
    a.tablet.startRow.toString() < 'd';
  const before = (await coveringTablets(cluster)).filter(inDropped).length;
  const admin = connectTableAdmin(entry.address);
  try {
    await unary(admin, 'DropRowRange', { name: tableName(LOAD_TABLE), rowKeyPrefix: Buffer.from('c') });
  } finally {
    admin.close();
  }
  const dropped = new Set([...acked].filter((r) => r.startsWith('c')));
  await waitFor(cluster, 'the emptied tablets merged', async () => {
    const now = (await coveringTablets(cluster)).filter(inDropped).length;
    return now < before && now <= Math.ceil(before / 2);
  });
  const merged = await coveringTablets(cluster);
  console.log(
    `after the drop: the ${before} tablets of [b, d) merged into ${merged.filter(inDropped).length}`,
  );
  await waitFor(cluster, 'the GC collected the merged tablets files', async () => {
    const s = await sharedFileState(cluster);
    return s.garbage.length === 0 && s.retiredDirs <= kept.retiredDirs;
  });
  for (const reader of [entry, other]) await assertReadBack(reader, acked, dropped);
});

test('the master refuses a split from a stale owner epoch and one whose children are not on disk', async () => {
  const [a] = await coveringTablets(cluster);
  assert.ok(a);
  const mid = Buffer.from('0');
  const child = (dir: string, startRow: Buffer | undefined, endRow: Buffer | undefined) =>
    tabletFields({ ...a.tablet, tabletDir: dir, startRow, endRow, sources: [] });
  const ask = (ownerEpoch: number) => ({
    tableId: LOAD_TABLE,
    server: a.server,
    ownerEpochs: [ownerEpoch],
    removeTablets: [tabletFields(a.tablet)],
    putTablets: [child('never-made-1', a.tablet.startRow, mid), child('never-made-2', mid, a.tablet.endRow)],
  });
  const control = new MasterControlClient(systemClock);
  try {
    for (const [epoch, reason] of [
      [a.ownerEpoch - 1, 'owner epoch is stale'],
      [a.ownerEpoch, 'a child tablet has no readable manifest'],
    ] as const) {
      await assert.rejects(control.commitTablets(cluster.master.address, ask(epoch), 5_000), (err: Error) => {
        assert.ok(isChangeRefused(err), String(err));
        assert.ok(err.message.includes(reason), err.message);
        return true;
      });
    }
  } finally {
    control.close();
  }
  const after = await coveringTablets(cluster);
  assert.ok(
    after.some((t) => t.tablet.tabletDir === a.tablet.tabletDir),
    'the parent is still live',
  );
});

test('a DropRowRange next to a splitting tablet answers at once (the split holds the table gate)', async () => {
  const entry = cluster.servers[0] as ClusterProcess;
  const client = connectData(entry.address);
  const admin = connectTableAdmin(entry.address);
  const acked = new Set<string>();
  const times: number[] = [];
  try {
    const writing = writeAll(
      client,
      Array.from({ length: 300 }, (_, i) => `g-9${String(i).padStart(5, '0')}`),
      WRITERS,
      acked,
    );
    let done = false;
    void writing.finally(() => {
      done = true;
    });
    while (!done) {
      const started = performance.now();
      await unary(admin, 'DropRowRange', { name: tableName(LOAD_TABLE), rowKeyPrefix: Buffer.from('g-8') });
      times.push(performance.now() - started);
    }
    await writing;
  } finally {
    client.close();
    admin.close();
  }
  const slowest = Math.round(Math.max(...times));
  console.log(
    `${times.length} drops next to splitting tablets while ${acked.size} rows were written; slowest ${slowest} ms`,
  );
  assert.ok(slowest < 10_000, `every drop answered within 10 s (slowest ${slowest} ms)`);
  await assertReadBack(entry, acked);
});
