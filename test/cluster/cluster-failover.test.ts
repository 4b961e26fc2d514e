/**
 * kill -9 of a tablet server under writes: etcd, a master and three tablet servers as real
 * processes, writers through the entry server (never killed; test/cluster/cluster-load.ts). Each
 * round kills the other server holding the most tablets, probes one row of every tablet until each
 * serves again and prints that time; the killed server is restarted (empty). At the end every
 * acknowledged write must read back through two living servers: 0 acknowledged writes lost.
 */
import { after, before, test } from 'node:test';
import { assertNoAckedWriteLost, failoverUnderWrites, running, summary } from './cluster-load.js';
import { LocalCluster } from './cluster-processes.js';

/** Kills per run: 5 by default (in `npm test`); TABULA_CLUSTER_KILLS raises it for a soak run. */
const KILLS = Number(process.env.TABULA_CLUSTER_KILLS ?? 5);
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
  const { entry, acked, times } = await failoverUnderWrites(cluster, {
    writers: WRITERS,
    kills: KILLS,
    writesBeforeKill: WRITES_BEFORE_KILL,
    onKill: (k, victim, ms) =>
      console.log(
        `kill ${k + 1}: ${victim.name} held tablets; every tablet serves again after ${Math.round(ms)} ms`,
      ),
  });
  console.log(`failover over ${times.length} kills: ${summary(times)}; ${acked.size} acknowledged writes`);
  const other = cluster.servers.filter((s) => s !== entry && running(s)).slice(0, 1);
  await assertNoAckedWriteLost([entry, ...other], acked);
});
