/**
 * Balancing and planned moves, from outside: etcd, a master and tablet servers as real processes,
 * a table of 24 tablets and 4 writers journaling acknowledged writes (test/cluster/cluster-moves.ts).
 *
 * 1. A fourth server joins a cluster of three: within 60 s the balancer has moved at least
 *    ⌊24/4⌋ − 1 tablets to it.
 * 2. MOVES planned moves under the writers, each requested through its `cluster/move/…` key and
 *    timed by a probe of the moving tablet; p50/p99 of the unavailability are printed, and every
 *    move must hand over without the failover path (≤ UNAVAILABLE_MS_MAX, well under a session
 *    TTL + reassignment). Issue 10's target, p99 ≤ 100 ms, is a timing figure of the machine:
 *    `npm run bench:cluster` measures it and says whether it is met (timed tests on a shared
 *    2-core runner would measure the other tests' load).
 * At the end: 0 acknowledged writes lost, every move raised the tablet's owner epoch, and no
 * (tablet, owner epoch) was opened by two processes.
 * 3. An owner stopped (SIGSTOP) right after a move of its tablet was requested cannot release it:
 *    the failover path gives the tablet to the move's target once the owner's session expires,
 *    under a larger epoch; the woken owner opens nothing under the new epoch. TABULA_DUMP_LOGS=<dir> keeps the processes'
 * logs there.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Client } from '@grpc/grpc-js';
import { encodeValue, moveKey } from '../../src/cluster/cluster-keys.js';
import { connectData } from '../support/api-client.js';
import { assertNoAckedWriteLost, sleep, summary, writeOnce } from './cluster-load.js';
import {
  assignments,
  createMoveTable,
  MOVE_TABLETS,
  type MoveContext,
  measurePlannedMoves,
  movedTo,
  rowPrefix,
  startMoveWriters,
} from './cluster-moves.js';
import { type ClusterProcess, LocalCluster } from './cluster-processes.js';

const WRITERS = 4;
const MOVES = 12;
/** The joiner's share the test requires: ⌊n/4⌋ − 1. */
const JOINER_SHARE_MIN = Math.floor(MOVE_TABLETS / 4) - 1;
const JOIN_WAIT_MS_MAX = 60_000;
/** A planned move that took longer fell back to waiting out a session: a defect, not slowness. */
const UNAVAILABLE_MS_MAX = 1_500;

let cluster: LocalCluster;
let entry: ClusterProcess;
let client: Client;
let ctx: MoveContext;
const stop = { done: false };
let writers: Promise<unknown> = Promise.resolve();

before(async () => {
  cluster = await LocalCluster.start(3);
  entry = cluster.servers[0] as ClusterProcess;
  await createMoveTable(entry);
  client = connectData(entry.address);
  ctx = { cluster, client, acked: new Map() };
  writers = startMoveWriters(ctx, WRITERS, stop);
});

after(async () => {
  const dump = process.env.TABULA_DUMP_LOGS;
  if (dump && cluster) {
    mkdirSync(dump, { recursive: true });
    for (const p of [...cluster.servers, cluster.master]) writeFileSync(`${dump}/${p.name}.log`, p.stdout());
  }
  stop.done = true;
  await writers.catch(() => undefined);
  client?.close();
  await cluster?.destroy();
});

test('a server that joins gets its share within 60 s under writes', async () => {
  while (ctx.acked.size < 100) await sleep(50);
  const startedMs = performance.now();
  const joiner = await cluster.startServer();
  let held = 0;
  while (performance.now() - startedMs < JOIN_WAIT_MS_MAX) {
    held = (await cluster.tabletsByServer()).get(joiner.serverId) ?? 0;
    if (held >= JOINER_SHARE_MIN) break;
    await sleep(200);
  }
  const ms = Math.round(performance.now() - startedMs);
  console.log(`joiner holds ${held} of ${MOVE_TABLETS} tablets ${ms} ms after it was started`);
  assert.ok(
    held >= JOINER_SHARE_MIN,
    `joiner holds ${held} < ${JOINER_SHARE_MIN}\n${await cluster.describe()}`,
  );
});

test('planned moves under writes: short unavailability, epochs rise, nothing lost', async () => {
  const moves = await measurePlannedMoves(ctx, MOVES, (m, move) =>
    console.log(`move ${m + 1}: a client saw the tablet unavailable for ${move.unavailableMs.toFixed(1)} ms`),
  );
  const gaps = moves.map((m) => m.unavailableMs);
  console.log(`planned-move unavailability over ${MOVES} moves: ${summary(gaps)}; ${ctx.acked.size} acked`);
  for (const m of moves) assert.ok(m.epochAfter > m.epochBefore, `the owner epoch of ${m.tablet} rose`);
  stop.done = true;
  await writers;
  const other = cluster.servers.filter((s) => s !== entry).slice(0, 1);
  await assertNoAckedWriteLost([entry, ...other], ctx.acked);
  assert.deepEqual(cluster.epochsWithTwoOwners(), [], 'no (tablet, epoch) opened by two processes');
  const sorted = [...gaps].sort((x, y) => x - y);
  const worst = sorted[sorted.length - 1] as number;
  assert.ok(worst <= UNAVAILABLE_MS_MAX, `a planned move was unavailable for ${worst.toFixed(1)} ms`);
});

test('an owner stopped in the middle of a move: the tablet goes to the target through failover', async () => {
  const all = await assignments(cluster);
  const a = all.find((x) => x.server !== entry.serverId && x.moveTo === undefined);
  assert.ok(a, 'a tablet owned by a server other than the entry');
  const owner = cluster.servers.find((s) => s.serverId === a.server) as ClusterProcess;
  const to = entry.serverId;
  const startedMs = performance.now();
  await cluster.coord.put(moveKey(a.tablet), encodeValue({ to }));
  owner.child.kill('SIGSTOP');
  try {
    const epoch = await movedTo(cluster, a, to);
    const row = `${a.tablet.startRow?.toString() ?? rowPrefix(0)}-after-stop`;
    let code = 'UNSENT';
    while (code !== '' && performance.now() - startedMs < 20_000) {
      code = await writeOnce(client, row, 'x');
      if (code !== '') await sleep(20);
    }
    console.log(
      `stopped owner: the tablet served on the target under epoch ${epoch} (was ${a.ownerEpoch}) after ${Math.round(performance.now() - startedMs)} ms`,
    );
    assert.equal(code, '', 'a write to the moved tablet is acknowledged');
  } finally {
    owner.child.kill('SIGCONT');
  }
  await sleep(500);
  assert.deepEqual(cluster.epochsWithTwoOwners(), [], 'no (tablet, epoch) opened by two processes');
});
