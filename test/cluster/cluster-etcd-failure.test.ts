/**
 * etcd failures under a writing client (issue 10), with real processes and a 3-member etcd:
 * 1. SIGKILL the etcd leader: service continues; the test measures and prints how soon every
 *    tablet takes writes again and the longest gap between acknowledgements.
 * 2. SIGSTOP every live member (etcd unreachable): once their leases cannot be proven the tablet
 *    servers stop acknowledging (no acknowledgement arrives later than the session TTL after the
 *    pause, plus ACK_SLACK_MS of transport) and answer UNAVAILABLE; SIGCONT → they serve again.
 * Then every acknowledged write reads back, and no (tablet, owner epoch) was opened by two
 * processes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CLUSTER_SERVER_SESSION_TTL_MS } from '../../src/common/limits.js';
import { connectData } from '../support/api-client.js';
import {
  assertNoAckedWriteLost,
  createLoadTable,
  PROBES,
  RETRY_PAUSE_MS,
  sleep,
  startWriters,
  timeToServeAgain,
  writeOnce,
} from './cluster-load.js';
import { type ClusterProcess, LocalCluster } from './cluster-processes.js';

const WRITERS = 4;
const WRITES_BEFORE_FAILURE = 40;
/** How long writes go on after the leader kill before etcd is made unreachable. */
const AFTER_KILL_MS = 3_000;
/** Longest the leader kill may keep some tablet from taking writes. */
const LEADER_KILL_SERVE_MS_MAX = 10_000;
/**
 * How long every etcd member stays stopped: past the tablet servers' session TTL, but short of the
 * master's lock TTL (5 s) less one renewal interval, so the master keeps its lock.
 */
const ETCD_PAUSE_MS = 3_000;
/** Transport time allowed between a server's last acknowledgement and its arrival here. */
const ACK_SLACK_MS = 300;
/** Pause between two rounds of probe writes while etcd is unreachable. */
const PROBE_ROUND_MS = 50;

let cluster: LocalCluster;

before(async () => {
  cluster = await LocalCluster.start(3, 3);
  // A standby master, in case the active one cannot renew its lock while etcd is stopped.
  void cluster.startMaster().catch(() => undefined);
});

after(async () => {
  await cluster?.destroy();
});

/** The longest gap between consecutive times in `times` within [fromMs, toMs]. */
function longestGap(times: readonly number[], fromMs: number, toMs: number): number {
  const inside = [fromMs, ...times.filter((t) => t > fromMs && t < toMs), toMs];
  let gap = 0;
  for (let i = 1; i < inside.length; i++)
    gap = Math.max(gap, (inside[i] as number) - (inside[i - 1] as number));
  return gap;
}

/** Probe writes to every tablet from `fromMs` until `toMs`; the status of each ('' = OK). */
async function probeWhileUnreachable(entry: ClusterProcess, fromMs: number, toMs: number): Promise<string[]> {
  const client = connectData(entry.address);
  const codes: string[] = [];
  try {
    while (performance.now() < fromMs) await sleep(RETRY_PAUSE_MS / 5);
    for (let round = 0; performance.now() < toMs; round++) {
      const answers = await Promise.all(
        PROBES.map((p) => writeOnce(client, `${p}-unreachable-${round}`, 'u')),
      );
      codes.push(...answers);
      await sleep(PROBE_ROUND_MS);
    }
  } finally {
    client.close();
  }
  return codes;
}

test('etcd leader kill and etcd unreachable: writes resume, stop within the TTL, nothing lost', async () => {
  const entry = cluster.servers[0] as ClusterProcess;
  const client = connectData(entry.address);
  const acked = new Map<string, string>();
  const ackTimes: number[] = [];
  const stop = { done: false };
  try {
    await createLoadTable(entry);
    const writers = startWriters(client, WRITERS, stop, acked, (t) => ackTimes.push(t));
    while (acked.size < WRITES_BEFORE_FAILURE) await sleep(RETRY_PAUSE_MS);

    const leader = await cluster.etcd.leaderIndex();
    const killedAtMs = performance.now();
    await cluster.etcd.kill(leader);
    const servedMs = await timeToServeAgain(client, killedAtMs);
    assert.ok(
      servedMs <= LEADER_KILL_SERVE_MS_MAX,
      `every tablet took writes again ${servedMs} ms after the kill`,
    );
    await sleep(Math.max(0, killedAtMs + AFTER_KILL_MS - performance.now()));
    const killGapMs = longestGap(ackTimes, killedAtMs - AFTER_KILL_MS, performance.now());
    const ackedBeforePause = acked.size;

    const live = cluster.etcd.members.map((m, i) => (m.dead ? -1 : i)).filter((i) => i >= 0);
    const pausedAtMs = performance.now();
    for (const i of live) cluster.etcd.pause(i);
    const refusedFromMs = pausedAtMs + CLUSTER_SERVER_SESSION_TTL_MS + ACK_SLACK_MS;
    const codes = await probeWhileUnreachable(entry, refusedFromMs, pausedAtMs + ETCD_PAUSE_MS);
    for (const i of live) cluster.etcd.resume(i);
    const resumedAtMs = performance.now();
    const lastAckMs = Math.max(...ackTimes.filter((t) => t < resumedAtMs)) - pausedAtMs;
    const lateAcks = ackTimes.filter((t) => t > refusedFromMs && t < resumedAtMs).length;
    assert.equal(lateAcks, 0, `acknowledgements ${Math.round(lastAckMs)} ms after etcd became unreachable`);
    assert.ok(codes.length > 0, 'probes were sent while etcd was unreachable');
    assert.deepEqual(
      new Set(codes),
      new Set(['UNAVAILABLE']),
      `answers while etcd was unreachable: ${codes}`,
    );
    const resumeMs = await timeToServeAgain(client, resumedAtMs).catch(async (err) => {
      console.log(await cluster.describe());
      throw err;
    });

    stop.done = true;
    await writers;
    await assertNoAckedWriteLost(cluster.servers, acked);
    assert.deepEqual(cluster.epochsWithTwoOwners(), [], 'a (tablet, epoch) opened by two processes');
    console.log(
      `etcd leader (member ${leader}) killed: every tablet took writes again after ${Math.round(servedMs)} ms; longest gap between acks ${Math.round(killGapMs)} ms (${ackedBeforePause} acked so far)`,
    );
    console.log(
      `etcd unreachable for ${ETCD_PAUSE_MS} ms (session TTL ${CLUSTER_SERVER_SESSION_TTL_MS} ms): last ack ${Math.round(lastAckMs)} ms after the pause; ${codes.length} probe writes after TTL + ${ACK_SLACK_MS} ms all UNAVAILABLE; every tablet took writes again ${Math.round(resumeMs)} ms after etcd returned; ${acked.size} acknowledged writes, 0 lost; no tablet epoch with two owners`,
    );
  } finally {
    stop.done = true;
    client.close();
  }
});
