/**
 * A paused ("zombie") tablet server: SIGSTOP a server holding tablets for longer than its session
 * TTL while writers keep writing, then SIGCONT it. Its session expired meanwhile and the master
 * reassigned its tablets; on one machine the OS lock on each tablet directory keeps the new owner
 * out until the zombie lets go, which it does at once on waking: its own peer port answers
 * UNAVAILABLE (never OK) for the rows it held, it closes the tablets, and they serve again on other
 * servers. Every acknowledged write reads back at the end.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ASSIGN_PREFIX,
  decodeAssignment,
  decodeValue,
  SERVERS_PREFIX,
  type ServerInfo,
  serverKey,
} from '../../src/cluster/cluster-keys.js';
import { CLUSTER_SERVER_SESSION_TTL_MS } from '../../src/common/limits.js';
import { connectData } from '../support/api-client.js';
import {
  assertNoAckedWriteLost,
  busiestOther,
  createLoadTable,
  RETRY_PAUSE_MS,
  running,
  sleep,
  startWriters,
  timeToServeAgain,
  writeOnce,
} from './cluster-load.js';
import { type ClusterProcess, LocalCluster } from './cluster-processes.js';

const WRITERS = 4;
/** How long the zombie stays stopped: well past its session's TTL. */
const PAUSE_MS = CLUSTER_SERVER_SESSION_TTL_MS * 2;
const WRITES_BEFORE_PAUSE = 40;
/** Longest wait for the woken server to register again. */
const REJOIN_WAIT_MS = 10_000;

let cluster: LocalCluster;

before(async () => {
  cluster = await LocalCluster.start(3);
});

after(async () => {
  await cluster?.destroy();
});

test('a paused tablet server acknowledges nothing after waking and its tablets serve again', async () => {
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
    const peer = connectData(decodeValue<ServerInfo>(serverKey(zombie.serverId), info.value).peerAddress);
    const held = (await cluster.coord.list(ASSIGN_PREFIX))
      .map((e) => decodeAssignment(e.key, e.value))
      .filter((a) => a.server === zombie.serverId)
      .map((a) => `${a.tablet.startRow?.toString() ?? ''}zombie`);
    assert.ok(held.length > 0);

    const pausedAtMs = performance.now();
    zombie.child.kill('SIGSTOP');
    await sleep(PAUSE_MS);
    zombie.child.kill('SIGCONT');
    const resumedAtMs = performance.now();
    const answers = await Promise.all(held.map((row) => writeOnce(peer, row, 'late')));
    assert.deepEqual(new Set(answers), new Set(['UNAVAILABLE']), `the woken zombie answered ${answers}`);
    const ms = await timeToServeAgain(client, pausedAtMs);
    console.log(
      `paused ${zombie.name} for ${PAUSE_MS} ms: every tablet serves again ${Math.round(ms)} ms after the pause began (${Math.round(pausedAtMs + ms - resumedAtMs)} ms after it woke)`,
    );
    const rejoinBy = performance.now() + REJOIN_WAIT_MS;
    while ((await cluster.coord.list(SERVERS_PREFIX)).length < 3) {
      assert.ok(performance.now() < rejoinBy, 'the woken server registers again');
      await sleep(RETRY_PAUSE_MS);
    }
    assert.ok(running(zombie));
    peer.close();
    stop.done = true;
    await writers;
    await assertNoAckedWriteLost([entry, zombie], acked);
  } finally {
    stop.done = true;
    client.close();
  }
});
