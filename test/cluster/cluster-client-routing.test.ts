/**
 * The Tabula client routes straight to tablet owners: etcd, a master and three tablet servers as
 * real processes (each with `--http-port`, for `/metrics`), a table of 6 tablets spread over the
 * three, and `connect()` to one server only (the entry). Checked from outside through every
 * server's `tabula_cluster_forwarded_calls_total`:
 *
 * - with routing (the default), MutateRow, reads of one row, CheckAndMutateRow, ReadModifyWriteRow
 *   and MutateRows on rows of every tablet make no server forward anything (each call went to its
 *   owner); a scan across tablets goes through the entry server, which forwards;
 * - with `routing: false` the same writes make the entry server forward (so the counter does see
 *   the difference);
 * - single-row write throughput with and without routing (a short bounded loop; figures printed
 *   with the load average);
 * - kill -9 of an owner under 4 writers: the client refreshes its locations and writes on (every
 *   tablet takes writes again), 0 acknowledged writes lost, and once failover is over its writes
 *   go straight to the new owners again (no forwarding).
 *
 * Every wait is bounded (WAIT_MS_MAX).
 */
import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { after, before, test } from 'node:test';
import { connect, type Tabula } from '../../src/client/index.js';
import { sleep } from './cluster-load.js';
import { type ClusterProcess, LocalCluster } from './cluster-processes.js';

/** Longest a check waits for the cluster to reach the state it expects. */
const WAIT_MS_MAX = 25_000;
const POLL_MS = 100;
const ROWS = 60;
const SPLITS = ['r10', 'r20', 'r30', 'r40', 'r50'];
/** Length of each throughput phase, and the calls each phase keeps in flight. */
const THROUGHPUT_PHASE_MS = 2_000;
const THROUGHPUT_IN_FLIGHT = 16;
const WRITERS = 4;
/** Pause after the warm-up writes, for the client's connections to the owners to come up. */
const WARM_UP_MS = 300;
const T0_MICROS = 1_700_000_000_000_000;

const key = (i: number) => `r${String(i % 100).padStart(2, '0')}`;
const cell = (value: string, timestampMicros?: number) => ({
  setCell: {
    family: 'f',
    qualifier: 'q',
    value,
    ...(timestampMicros === undefined ? {} : { timestampMicros }),
  },
});

let cluster: LocalCluster;
let entry: ClusterProcess;
let db: Tabula;

before(async () => {
  cluster = await LocalCluster.start(3, 1, true);
  entry = cluster.servers[0] as ClusterProcess;
  db = await connect(entry.address);
  await db.createTable('routed', { families: { f: {} }, splitKeys: SPLITS });
});

after(async () => {
  await db?.close();
  await cluster?.destroy();
});

/** Calls `p` forwarded to other servers so far (every target summed), from its `/metrics`. */
async function forwarded(p: ClusterProcess): Promise<number> {
  const url = p.consoleUrl();
  assert.ok(url, `${p.name} has a console`);
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(res.status, 200);
  let total = 0;
  for (const line of (await res.text()).split('\n'))
    if (line.startsWith('tabula_cluster_forwarded_calls_total{')) total += Number(line.split(' ').pop());
  return total;
}

/** One write per tablet, then a pause: the client has fetched the locations and connected to each owner. */
async function warmUp(t: ReturnType<Tabula['table']>): Promise<void> {
  for (const k of ['r05', ...SPLITS]) await t.mutateRow(`${k}-warm`, [cell('warm')]);
  await sleep(WARM_UP_MS);
}

/** Forwarded calls of each living server, by name. */
async function forwardedAll(): Promise<Map<string, number>> {
  const alive = cluster.servers.filter((s) => s.child.exitCode === null && s.child.signalCode === null);
  return new Map(await Promise.all(alive.map(async (s) => [s.name, await forwarded(s)] as const)));
}

/** What each server forwarded since `before`. */
async function forwardedSince(before: Map<string, number>): Promise<Map<string, number>> {
  const now = await forwardedAll();
  return new Map([...now].map(([name, n]) => [name, n - (before.get(name) ?? 0)]));
}

async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const start = performance.now();
  while (performance.now() - start < WAIT_MS_MAX) {
    if (await check().catch(() => false)) return;
    await sleep(POLL_MS);
  }
  assert.fail(`${what} within ${WAIT_MS_MAX} ms\n${await cluster.describe(5)}`);
}

test('row operations through one server go straight to their owners', async () => {
  const byServer = await cluster.tabletsByServer();
  assert.equal(byServer.size, 3, `tablets spread over the three servers: ${[...byServer.values()]}`);
  const t = db.table('routed');
  // The first call of each owner goes through the entry while the client connects to the owner.
  await warmUp(t);
  const before0 = await forwardedAll();
  for (let i = 0; i < ROWS; i++) await t.mutateRow(key(i), [cell(`v${i}`)]);
  for (let i = 0; i < ROWS; i++) assert.equal((await t.readRow(key(i)))?.cells[0]?.value.toString(), `v${i}`);
  for (let i = 0; i < ROWS; i += 10) {
    assert.equal(await t.checkAndMutate(key(i), { onMatch: [cell('checked')] }), true);
    await t.readModifyWrite(key(i + 1), [{ increment: { family: 'f', qualifier: 'n', amount: 1 } }]);
  }
  const outcomes = await t.mutateRows(
    Array.from({ length: ROWS }, (_, i) => ({ key: key(i), mutations: [cell(`w${i}`)] })),
  );
  assert.ok(outcomes.every((o) => o.error === undefined));
  const rangeRead = [];
  for await (const row of t.readRows({ ranges: [{ start: 'r21', end: 'r29' }] }))
    rangeRead.push(row.key.toString());
  assert.equal(rangeRead.length, 8, 'a range inside one tablet');
  const direct = await forwardedSince(before0);
  console.log(`forwarded with routing (per server): ${JSON.stringify(Object.fromEntries(direct))}`);
  assert.ok(
    [...direct.values()].every((n) => n === 0),
    `no server forwarded a routed call: ${JSON.stringify([...direct])}`,
  );

  // A scan across every tablet goes through the entry server, which forwards the others' parts.
  const before1 = await forwardedAll();
  const all = [];
  for await (const row of t.readRows()) all.push(row.key.toString());
  assert.deepEqual(
    all.filter((k) => !k.endsWith('-warm')),
    Array.from({ length: ROWS }, (_, i) => key(i)),
  );
  assert.ok(((await forwardedSince(before1)).get(entry.name) ?? 0) > 0, 'the scan went through the entry');

  // Without routing the same writes are forwarded by the entry server.
  const plain = await connect(entry.address, { routing: false });
  try {
    const before2 = await forwardedAll();
    for (let i = 0; i < ROWS; i++) await plain.table('routed').mutateRow(key(i), [cell(`p${i}`)]);
    const viaEntry = (await forwardedSince(before2)).get(entry.name) ?? 0;
    const notEntry = ROWS - Math.round((ROWS * (byServer.get(entry.serverId) ?? 0)) / (SPLITS.length + 1));
    console.log(`forwarded by the entry without routing: ${viaEntry} of ${ROWS} writes`);
    assert.ok(
      viaEntry >= notEntry - 10,
      `the entry forwarded the others' rows (${viaEntry}, ~${notEntry}; entry ${entry.serverId}, ` +
        `tablets ${JSON.stringify([...byServer])})`,
    );
  } finally {
    await plain.close();
  }
});

/** Single-row writes per second through `client` for THROUGHPUT_PHASE_MS. */
async function writesPerSecond(client: Tabula, tag: string): Promise<number> {
  const t = client.table('routed');
  const start = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: THROUGHPUT_IN_FLIGHT }, async (_, w) => {
      for (let n = 0; performance.now() - start < THROUGHPUT_PHASE_MS; n++) {
        await t.mutateRow(key(w * 7 + n * 13), [cell(`${tag}${w}-${n}`)]);
        done++;
      }
    }),
  );
  return (done * 1000) / (performance.now() - start);
}

test('single-row write throughput through connect(), with and without routing', async () => {
  const plain = await connect(entry.address, { routing: false });
  try {
    await warmUp(db.table('routed'));
    const load = loadavg()[0]?.toFixed(2);
    // Phases in the order off, on, on, off, so a drift of the machine's load weighs on both alike.
    const off1 = await writesPerSecond(plain, 'off');
    const on1 = await writesPerSecond(db, 'on');
    const on2 = await writesPerSecond(db, 'on');
    const off2 = await writesPerSecond(plain, 'off');
    const on = (on1 + on2) / 2;
    const off = (off1 + off2) / 2;
    console.log(
      `single-row writes/s, ${THROUGHPUT_IN_FLIGHT} in flight, 4 phases of ${THROUGHPUT_PHASE_MS} ms: ` +
        `routing ${Math.round(on)} (${Math.round(on1)}, ${Math.round(on2)}), ` +
        `through the entry ${Math.round(off)} (${Math.round(off1)}, ${Math.round(off2)}), ratio ${(on / off).toFixed(2)}; ` +
        `load average ${load} before, ${loadavg()[0]?.toFixed(2)} after`,
    );
    assert.ok(on > 0 && off > 0);
  } finally {
    await plain.close();
  }
});

test('kill -9 of an owner: the client refreshes, writes on, loses no acknowledged write', async () => {
  const t = db.table('routed');
  const acked = new Map<string, string>();
  let stop = false;
  let lastAckMs = 0;
  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    for (let n = 0; !stop; n++) {
      const k = `${key(w * 17 + n * 7)}-${w}-${n}`;
      const v = `k${w}-${n}`;
      try {
        // Explicit timestamps: idempotent, so the client retries it after refreshing its locations.
        await t.mutateRow(k, [cell(v, T0_MICROS + (w * 1_000_000 + n) * 1000)]);
        acked.set(k, v);
        lastAckMs = performance.now();
      } catch {
        await sleep(20);
      }
    }
  });
  await eventually('writes acknowledged before the kill', async () => acked.size >= 40);
  const victim = cluster.servers.find((s) => s !== entry && s.child.exitCode === null) as ClusterProcess;
  const held = (await cluster.tabletsByServer()).get(victim.serverId) ?? 0;
  assert.ok(held > 0, 'the victim owns tablets');
  const killedMs = performance.now();
  const ackedAtKill = acked.size;
  await victim.kill();
  // Every tablet takes writes again through the routing client.
  await eventually('every tablet takes writes again', async () => {
    const probes = await Promise.all(
      ['r05', ...SPLITS].map((s, i) =>
        t.mutateRow(`${s}-probe`, [cell(`p${i}`, T0_MICROS)]).then(() => true),
      ),
    );
    return probes.every(Boolean);
  });
  const recoveredMs = performance.now() - killedMs;
  await sleep(500);
  stop = true;
  await Promise.all(writers);
  console.log(
    `kill -9 of ${victim.name} (${held} tablets): every tablet took writes again after ${Math.round(recoveredMs)} ms; ` +
      `${acked.size} acknowledged writes (${acked.size - ackedAtKill} after the kill, last ${Math.round(lastAckMs - killedMs)} ms after it)`,
  );
  assert.ok(acked.size > ackedAtKill, 'writes went on after the kill');
  let lost = 0;
  for (const [k, v] of acked) if ((await t.readRow(k))?.cells[0]?.value.toString() !== v) lost++;
  assert.equal(lost, 0, `${lost} of ${acked.size} acknowledged writes lost`);

  // Failover over: writes go straight to the new owners again (after at most the short TTL).
  await sleep(1_200);
  await warmUp(t);
  const before = await forwardedAll();
  for (let i = 0; i < ROWS; i++) await t.mutateRow(key(i), [cell(`after${i}`)]);
  const after = await forwardedSince(before);
  assert.ok(
    [...after.values()].every((n) => n === 0),
    `no forwarding after failover: ${JSON.stringify([...after])}`,
  );
});
