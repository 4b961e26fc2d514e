/**
 * kill -9 of a tablet server under writes: etcd, a master and three tablet servers as real
 * processes, writers through the entry server (never killed; test/cluster/cluster-load.ts). Each
 * round kills the other server holding the most tablets, probes one row of every tablet until each
 * serves again and prints that time; the killed server is restarted (empty). At the end every
 * acknowledged write must read back through two living servers: 0 acknowledged writes lost.
 */
import { after, before, test } from 'node:test';
import { connectData } from '../support/api-client.js';
import {
  assertNoAckedWriteLost,
  busiestOther,
  createLoadTable,
  RETRY_PAUSE_MS,
  running,
  sleep,
  startWriters,
  summary,
  timeToServeAgain,
} from './cluster-load.js';
import { type ClusterProcess, LocalCluster } from './cluster-processes.js';

/** Kills per run: 3 by default (in `npm test`); TABULA_CLUSTER_KILLS raises it for a soak run. */
const KILLS = Number(process.env.TABULA_CLUSTER_KILLS ?? 3);
const WRITERS = 4;
/** Writes between two kills, so each kill lands under load. */
const WRITES_BEFORE_KILL = 40;

let cluster: LocalCluster;

before(async () => {
  cluster = await LocalCluster.start(3);
});

after(async () => {
  await cluster?.destroy();
});

test('kill -9 of a tablet server under writes: every tablet serves again, no acknowledged write lost', async () => {
  const entry = cluster.servers[0] as ClusterProcess;
  const client = connectData(entry.address);
  const acked = new Map<string, string>();
  const stop = { done: false };
  const times: number[] = [];
  try {
    await createLoadTable(entry);
    const writers = startWriters(client, WRITERS, stop, acked);
    for (let k = 0; k < KILLS; k++) {
      const before = acked.size;
      while (acked.size < before + WRITES_BEFORE_KILL) await sleep(RETRY_PAUSE_MS);
      const v = await busiestOther(cluster, entry);
      const killedAtMs = performance.now();
      await v.kill();
      const ms = await timeToServeAgain(client, killedAtMs);
      times.push(ms);
      console.log(
        `kill ${k + 1}: ${v.name} held tablets; every tablet serves again after ${Math.round(ms)} ms`,
      );
      await cluster.startServer();
    }
    stop.done = true;
    await writers;
    console.log(`failover over ${times.length} kills: ${summary(times)}; ${acked.size} acknowledged writes`);
    const other = cluster.servers.filter((s) => s !== entry && running(s)).slice(0, 1);
    await assertNoAckedWriteLost([entry, ...other], acked);
  } finally {
    stop.done = true;
    client.close();
  }
});
