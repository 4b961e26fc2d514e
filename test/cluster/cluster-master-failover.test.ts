/**
 * Master failover: a standby master waits on the master lock; kill -9 of the active master under
 * writes. Row operations never need the master, so writes go on throughout; the standby takes the
 * lock once the lease of the dead one expires (CLUSTER_MASTER_LOCK_TTL_MS), with a larger epoch,
 * and then serves schema admin (forwarded by the tablet servers to its new address) and detects
 * dead tablet servers. Every acknowledged write reads back at the end.
 *
 * Then a master paused (SIGSTOP) past its lease: a standby takes over; the woken master steps down
 * on its own and campaigns again (it stays up as a standby, it does not exit), and takes over once
 * more when the master that replaced it is killed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CLUSTER_MASTER_LOCK_TTL_MS } from '../../src/common/limits.js';
import { connectData, connectTableAdmin, createTable, readRows } from '../support/api-client.js';
import {
  assertNoAckedWriteLost,
  busiestOther,
  createLoadTable,
  RETRY_PAUSE_MS,
  running,
  sleep,
  startWriters,
  timeToServeAgain,
} from './cluster-load.js';
import { type ClusterProcess, LocalCluster } from './cluster-processes.js';

const WRITERS = 2;
const WRITES_BEFORE_KILL = 40;

let cluster: LocalCluster;
/** The master elected last. */
let active: ClusterProcess;

before(async () => {
  cluster = await LocalCluster.start(2);
});

after(async () => {
  await cluster?.destroy();
});

test('kill -9 of the master: a standby takes over, writes never stop, admin and failover work again', async () => {
  const entry = cluster.servers[0] as ClusterProcess;
  const client = connectData(entry.address);
  const admin = connectTableAdmin(entry.address);
  const acked = new Map<string, string>();
  const stop = { done: false };
  try {
    await createLoadTable(entry);
    const standby = cluster.startMaster();
    const writers = startWriters(client, WRITERS, stop, acked);
    while (acked.size < WRITES_BEFORE_KILL) await sleep(RETRY_PAUSE_MS);
    const oldEpoch = Number(/epoch (\d+)/.exec(cluster.master.stderr())?.[1]);
    const killedAtMs = performance.now();
    const ackedAtKill = acked.size;
    await cluster.master.kill();
    const next = await standby;
    active = next;
    const takeoverMs = performance.now() - killedAtMs;
    const newEpoch = Number(/epoch (\d+)/.exec(next.stderr())?.[1]);
    assert.ok(newEpoch > oldEpoch, `epoch ${newEpoch} after ${oldEpoch}`);
    assert.ok(acked.size > ackedAtKill, 'writes were acknowledged while no master was active');
    console.log(
      `master takeover ${Math.round(takeoverMs)} ms after kill -9 (epoch ${oldEpoch} → ${newEpoch})`,
    );

    await createTable(admin, 'after', ['cf']);
    assert.deepEqual(await readRows(client, 'after'), []);
    await cluster.startServer();
    const v = await busiestOther(cluster, entry);
    const t0 = performance.now();
    await v.kill();
    console.log(
      `after the takeover, a killed tablet server's tablets serve again after ${Math.round(await timeToServeAgain(client, t0))} ms`,
    );
    stop.done = true;
    await writers;
    await assertNoAckedWriteLost([entry, ...cluster.servers.filter((s) => s !== entry && running(s))], acked);
  } finally {
    stop.done = true;
    client.close();
    admin.close();
  }
});

const epochs = (p: ClusterProcess) =>
  [...p.stderr().matchAll(/master elected \(epoch (\d+)\)/g)].map((m) => Number(m[1]));

test('a master paused past its lease steps down when it wakes, and serves again when elected again', async () => {
  const entry = cluster.servers[0] as ClusterProcess;
  const admin = connectTableAdmin(entry.address);
  const paused = active;
  try {
    const standby = cluster.startMaster();
    // Let the standby start campaigning before the pause, so only the lease's expiry gates it.
    await sleep(1_000);
    paused.child.kill('SIGSTOP');
    let next: ClusterProcess;
    try {
      next = await standby;
      await sleep(1_000);
    } finally {
      paused.child.kill('SIGCONT');
    }
    const [pausedEpoch] = epochs(paused);
    const [nextEpoch] = epochs(next);
    assert.ok((nextEpoch ?? 0) > (pausedEpoch ?? 0), `epoch ${nextEpoch} after ${pausedEpoch}`);
    await createTable(admin, 'after-pause', ['cf']);

    // The woken master stepped down and waits for the lock again: alive, campaigning.
    const wokeAtMs = performance.now();
    while (
      !/stepping down/.test(paused.stdout()) &&
      performance.now() - wokeAtMs < CLUSTER_MASTER_LOCK_TTL_MS
    )
      await sleep(RETRY_PAUSE_MS);
    assert.match(paused.stdout(), /master lock lost; stepping down/);
    assert.equal(paused.child.exitCode, null, 'the woken master exited instead of campaigning again');
    assert.equal(paused.stderr().match(/waiting to become the master/g)?.length, 2);

    await next.kill();
    const killedAtMs = performance.now();
    while (epochs(paused).length < 2 && performance.now() - killedAtMs < 3 * CLUSTER_MASTER_LOCK_TTL_MS)
      await sleep(RETRY_PAUSE_MS);
    const again = epochs(paused)[1];
    assert.ok(again !== undefined && again > (nextEpoch ?? 0), `re-elected with epoch ${again}`);
    console.log(
      `the woken master was elected again ${Math.round(performance.now() - killedAtMs)} ms after its successor's kill -9 (epoch ${pausedEpoch} → ${nextEpoch} → ${again})`,
    );
    await createTable(admin, 'after-reelection', ['cf']);
    const client = connectData(entry.address);
    try {
      assert.deepEqual(await readRows(client, 'after-reelection'), []);
    } finally {
      client.close();
    }
  } finally {
    admin.close();
  }
});
