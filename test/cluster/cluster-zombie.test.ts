/**
 * The zombie tablet server (issue 10), from outside with real processes: SIGSTOP a server holding
 * tablets for longer than its session's TTL while writers keep writing through another server; the
 * master reassigns its tablets (each under a larger owner epoch) and they are written through
 * other servers while it sleeps. Storage fencing: each such tablet directory holds the FENCE file
 * of its new epoch and an engine opened there under the old epoch is refused. SIGCONT it → its peer
 * and public ports acknowledge none of the writes sent straight to them for the rows it held,
 * readers never see those writes, it drops the tablets on its own (its session expired) and comes
 * back under a new id; no (tablet, epoch) was ever opened by two processes; every acknowledged
 * write reads back.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Client } from '@grpc/grpc-js';
import {
  ASSIGN_PREFIX,
  type Assignment,
  decodeAssignment,
  decodeValue,
  SERVERS_PREFIX,
  type ServerInfo,
  serverKey,
} from '../../src/cluster/cluster-keys.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { CLUSTER_SERVER_SESSION_TTL_MS } from '../../src/common/limits.js';
import { Engine } from '../../src/storage/engine.js';
import { connectData, readRows } from '../support/api-client.js';
import {
  assertNoAckedWriteLost,
  busiestOther,
  createLoadTable,
  LOAD_TABLE,
  RETRY_PAUSE_MS,
  running,
  sleep,
  startWriters,
  timeToServeAgain,
  writeOnce,
} from './cluster-load.js';
import { type ClusterProcess, LocalCluster } from './cluster-processes.js';

/** How much longer than its session TTL the zombie sleeps at least. */
const ZOMBIE_EXTRA_SLEEP_MS = 500;
const WRITERS = 4;
const WRITES_BEFORE_PAUSE = 40;
/** Longest wait for the master to reassign the sleeping server's tablets. */
const REASSIGN_WAIT_MS = 15_000;
/** How long after waking the late writes are sent straight to the zombie (before it can rejoin). */
const LATE_WRITES_WINDOW_MS = 200;
/** Longest wait for the woken server to register again. */
const REJOIN_WAIT_MS = 10_000;
/** Marks the rows written straight to the zombie after it woke. */
const LATE = 'zombie-late';

let cluster: LocalCluster;

before(async () => {
  cluster = await LocalCluster.start(3);
});

after(async () => {
  await cluster?.destroy();
});

async function assignments(): Promise<Assignment[]> {
  return (await cluster.coord.list(ASSIGN_PREFIX)).map((e) => decodeAssignment(e.key, e.value));
}

/** Waits until every tablet of `held` is assigned elsewhere under a larger epoch; the new ones. */
async function awaitReassigned(held: readonly Assignment[], zombieId: string): Promise<Assignment[]> {
  const by = performance.now() + REASSIGN_WAIT_MS;
  for (;;) {
    const now = new Map((await assignments()).map((a) => [a.tablet.tabletDir, a]));
    const moved = held.map((h) => now.get(h.tablet.tabletDir));
    if (
      moved.every((a, i) => a && a.server !== zombieId && a.ownerEpoch > (held[i] as Assignment).ownerEpoch)
    )
      return moved as Assignment[];
    assert.ok(performance.now() < by, 'the sleeping server’s tablets are reassigned');
    await sleep(RETRY_PAUSE_MS);
  }
}

/** The directory of tablet `tabletDir` inside the shared store. */
function tabletDirPath(tabletDir: string): string {
  const found = readdirSync(cluster.storeDir, { recursive: true, encoding: 'utf8' }).find(
    (p) => p === tabletDir || p.endsWith(`/${tabletDir}`),
  );
  assert.ok(found, `tablet directory ${tabletDir} exists`);
  return join(cluster.storeDir, found);
}

/** Asserts the new fence is on disk and an engine under the zombie's epoch is refused there. */
async function assertFenced(old: Assignment, now: Assignment): Promise<void> {
  const dir = tabletDirPath(old.tablet.tabletDir);
  const fences = readdirSync(dir)
    .filter((f) => /^FENCE-\d+$/.test(f))
    .map((f) => Number(f.slice('FENCE-'.length)));
  assert.equal(Math.max(...fences), now.ownerEpoch, `${dir} is fenced by the new owner's epoch`);
  await assert.rejects(
    Engine.open({ dir, ownerEpoch: old.ownerEpoch, executor: 'inline' }),
    (err) => hasCode(err, ErrorCode.FailedPrecondition) && /owner epoch is stale/.test(String(err)),
    'an engine under the zombie’s epoch is refused',
  );
}

/** Sends late writes for `rows` straight to `ports` for LATE_WRITES_WINDOW_MS; every answer. */
async function lateWrites(ports: Map<string, Client>, rows: readonly string[]): Promise<string[]> {
  const answers: string[] = [];
  const until = performance.now() + LATE_WRITES_WINDOW_MS;
  for (let round = 0; round === 0 || performance.now() < until; round++) {
    const sent = [...ports].flatMap(([port, c]) =>
      rows.map(
        async (row) =>
          `${port} ${row}: ${(await writeOnce(c, `${row}${LATE}-${port}-${round}`, 'late')) || 'OK'}`,
      ),
    );
    answers.push(...(await Promise.all(sent)));
  }
  return answers;
}

async function assertNoLateRow(readers: readonly ClusterProcess[]): Promise<void> {
  for (const r of readers) {
    const data = connectData(r.address);
    try {
      const late = (await readRows(data, LOAD_TABLE)).filter((row) => row.key.toString().includes(LATE));
      assert.deepEqual(
        late.map((row) => row.key.toString()),
        [],
        `late writes seen through ${r.name}`,
      );
    } finally {
      data.close();
    }
  }
}

test('a zombie tablet server acknowledges nothing after waking, is fenced, and drops its tablets', async () => {
  const entry = cluster.servers[0] as ClusterProcess;
  const client = connectData(entry.address);
  const acked = new Map<string, string>();
  const stop = { done: false };
  try {
    await createLoadTable(entry);
    const writers = startWriters(client, WRITERS, stop, acked);
    while (acked.size < WRITES_BEFORE_PAUSE) await sleep(RETRY_PAUSE_MS);
    const zombie = await busiestOther(cluster, entry);
    const info = await cluster.coord.get(serverKey(zombie.serverId));
    assert.ok(info, 'the server is registered');
    const ports = new Map([
      ['peer', connectData(decodeValue<ServerInfo>(serverKey(zombie.serverId), info.value).peerAddress)],
      ['public', connectData(zombie.address)],
    ]);
    const held = (await assignments()).filter((a) => a.server === zombie.serverId);
    const rows = held.map((a) => a.tablet.startRow?.toString() ?? '');
    assert.ok(held.length > 0);

    const pausedAtMs = performance.now();
    zombie.child.kill('SIGSTOP');
    const now = await awaitReassigned(held, zombie.serverId);
    const reassignedMs = performance.now() - pausedAtMs;
    const servedMs = await timeToServeAgain(client, pausedAtMs);
    for (const row of rows) {
      while ((await writeOnce(client, `${row}zombie-moved`, 'new')) !== '') await sleep(RETRY_PAUSE_MS);
      acked.set(`${row}zombie-moved`, 'new');
    }
    for (const [i, old] of held.entries()) await assertFenced(old, now[i] as Assignment);
    // etcd may expire the lease (and the master reassign) a little before the zombie's own clock
    // would: keep it asleep until its session has lapsed by that clock too, with a margin.
    const pastSessionMs = CLUSTER_SERVER_SESSION_TTL_MS + ZOMBIE_EXTRA_SLEEP_MS;
    await sleep(Math.max(0, pastSessionMs - (performance.now() - pausedAtMs)));
    const sleptMs = performance.now() - pausedAtMs;
    assert.ok(sleptMs > CLUSTER_SERVER_SESSION_TTL_MS, 'the zombie slept past its session');

    zombie.child.kill('SIGCONT');
    const answers = await lateWrites(ports, rows);
    const acks = answers.filter((a) => a.endsWith(': OK'));
    assert.deepEqual(acks, [], 'the woken zombie acknowledged writes for tablets it lost');
    const codes = new Set(answers.map((a) => a.slice(a.lastIndexOf(' ') + 1)));
    assert.deepEqual(codes, new Set(['UNAVAILABLE']), `the woken zombie answered ${[...codes]}`);

    const rejoinBy = performance.now() + REJOIN_WAIT_MS;
    while ((await cluster.coord.list(SERVERS_PREFIX)).length < 3) {
      assert.ok(performance.now() < rejoinBy, 'the woken server registers again');
      await sleep(RETRY_PAUSE_MS);
    }
    assert.ok(running(zombie));
    assert.match(zombie.stdout(), /coordination session expired; closing every tablet/);
    const stale = zombie
      .stdout()
      .split('\n')
      .filter((l) => l.includes('owner epoch is stale')).length;
    for (const c of ports.values()) c.close();
    stop.done = true;
    await writers;
    await assertNoLateRow([entry, zombie]);
    await assertNoAckedWriteLost([entry, zombie], acked);
    assert.deepEqual(cluster.epochsWithTwoOwners(), [], 'a (tablet, epoch) opened by two processes');
    console.log(
      `zombie ${zombie.name} held ${held.length} tablets, slept ${Math.round(sleptMs)} ms: reassigned after ${Math.round(reassignedMs)} ms, every tablet served again after ${Math.round(servedMs)} ms; ${answers.length} late writes straight to it after waking: 0 acknowledged (${[...codes]}); stale-epoch lines in its log: ${stale}; ${acked.size} acknowledged writes, 0 lost`,
    );
  } finally {
    stop.done = true;
    client.close();
  }
});
