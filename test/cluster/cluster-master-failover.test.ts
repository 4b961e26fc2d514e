/**
 * Master failover: a standby master waits on the master lock; kill -9 of the active master under
 * writes. Row operations never need the master, so writes go on throughout; the standby takes the
 * lock once the lease of the dead one expires (CLUSTER_MASTER_LOCK_TTL_MS), with a larger epoch,
 * and then serves schema admin (forwarded by the tablet servers to its new address) and detects
 * dead tablet servers. Every acknowledged write reads back at the end.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
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
