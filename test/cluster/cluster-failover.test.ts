/**
 * kill -9 of a tablet server under writes: etcd, a master and three tablet servers as real
 * processes. Writers send MutateRow through the entry server (never killed), each write a new row
 * with an explicit timestamp (so a retry is idempotent), retrying UNAVAILABLE; every acknowledged
 * write is journaled in this process (the client is never killed, so the journal is its memory).
 * Each round kills the other server holding the most tablets, then probes one row of every tablet
 * until each serves again, and prints that time; the killed server is restarted empty. At the end
 * every acknowledged write must read back, through both living servers: 0 acknowledged writes lost.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@grpc/grpc-js';
import {
  connectData,
  connectTableAdmin,
  INSTANCE_NAME,
  readRows,
  setCell,
  statusName,
  tableName,
  unary,
} from '../support/api-client.js';
import { type ClusterProcess, LocalCluster } from './cluster-processes.js';

const KILLS = 3;
const WRITERS = 4;
const SPLITS = ['b', 'd', 'f', 'h', 'j'];
/** One probe row per tablet (below the first split, between each pair, above the last). */
const PROBES = ['a', 'c', 'e', 'g', 'i', 'k'];
/** Deadline of one write or probe; a retry follows a failure after RETRY_PAUSE_MS. */
const CALL_DEADLINE_MS = 3_000;
const RETRY_PAUSE_MS = 50;
/** Longest a kill may leave a tablet unserved before the test fails. */
const SERVE_AGAIN_MS_MAX = 20_000;
/** Writes between two kills, so each kill lands under load. */
const WRITES_BEFORE_KILL = 40;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cluster: LocalCluster;

before(async () => {
  cluster = await LocalCluster.start(3);
});

after(async () => {
  await cluster?.destroy();
});

/**
 * Writes `value` to `row` until it is acknowledged (true) or `giveUp()` says to stop (false),
 * retrying UNAVAILABLE and DEADLINE_EXCEEDED (the write is idempotent: explicit timestamp).
 */
async function writeUntilAcked(
  client: Client,
  row: string,
  value: string,
  giveUp: () => boolean,
): Promise<boolean> {
  for (;;) {
    try {
      await unary(
        client,
        'MutateRow',
        {
          tableName: tableName('load'),
          rowKey: Buffer.from(row),
          mutations: [setCell('cf', 'q', 1000, Buffer.from(value))],
        },
        CALL_DEADLINE_MS,
      );
      return true;
    } catch (err) {
      const code = statusName(err);
      if (code !== 'UNAVAILABLE' && code !== 'DEADLINE_EXCEEDED') throw err;
      if (giveUp()) return false;
      await sleep(RETRY_PAUSE_MS);
    }
  }
}

/** Writes new rows until stopped, journaling each acknowledged one in `acked`. */
async function runWriter(client: Client, w: number, stop: { done: boolean }, acked: Map<string, string>) {
  for (let c = 0; !stop.done; c++) {
    const row = `${PROBES[(w + c) % PROBES.length]}-w${w}-${String(c).padStart(5, '0')}`;
    const value = `v${w}-${c}`;
    if (await writeUntilAcked(client, row, value, () => stop.done)) acked.set(row, value);
  }
}

/** Milliseconds from `killedAtMs` until a write to every probe row succeeds. */
async function timeToServeAgain(client: Client, killedAtMs: number): Promise<number> {
  const served = await Promise.all(
    PROBES.map(async (p) => {
      const tooLong = () => performance.now() - killedAtMs > SERVE_AGAIN_MS_MAX;
      if (!(await writeUntilAcked(client, `${p}-probe`, 'p', tooLong)))
        throw new Error(`the tablet of row ${p} did not serve again`);
      return performance.now();
    }),
  );
  return Math.max(...served) - killedAtMs;
}

/** The non-entry server holding the most tablets. */
async function victim(entry: ClusterProcess): Promise<ClusterProcess> {
  const counts = await cluster.tabletsByServer();
  const candidates = cluster.servers.filter(
    (s) => s !== entry && s.child.exitCode === null && s.child.signalCode === null,
  );
  candidates.sort((x, y) => (counts.get(y.serverId) ?? 0) - (counts.get(x.serverId) ?? 0));
  const v = candidates[0];
  assert.ok(v && (counts.get(v.serverId) ?? 0) > 0, 'some other server holds tablets');
  return v;
}

test('kill -9 of a tablet server under writes: every tablet serves again, no acknowledged write lost', async () => {
  const entry = cluster.servers[0] as ClusterProcess;
  const admin = connectTableAdmin(entry.address);
  const client = connectData(entry.address);
  const acked = new Map<string, string>();
  const stop = { done: false };
  const times: number[] = [];
  try {
    await unary(admin, 'CreateTable', {
      parent: INSTANCE_NAME,
      tableId: 'load',
      table: { columnFamilies: { cf: {} } },
      initialSplits: SPLITS.map((k) => ({ key: Buffer.from(k) })),
    });
    const writers = Array.from({ length: WRITERS }, (_, w) => runWriter(client, w, stop, acked));
    for (let k = 0; k < KILLS; k++) {
      const before = acked.size;
      while (acked.size < before + WRITES_BEFORE_KILL) await sleep(RETRY_PAUSE_MS);
      const v = await victim(entry);
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
    await Promise.all(writers);
    const sorted = [...times].sort((x, y) => x - y);
    console.log(
      `failover over ${times.length} kills: p50 ${Math.round(sorted[Math.floor(sorted.length / 2)] as number)} ms, max ${Math.round(sorted[sorted.length - 1] as number)} ms; ${acked.size} acknowledged writes`,
    );
    const readers = [
      entry,
      ...cluster.servers
        .filter((s) => s !== entry && s.child.exitCode === null && s.child.signalCode === null)
        .slice(0, 1),
    ];
    for (const r of readers) {
      const data = connectData(r.address);
      try {
        const rows = new Map(
          (await readRows(data, 'load')).map((row) => [row.key.toString(), row.cells[0]?.value.toString()]),
        );
        const lost = [...acked].filter(([row, value]) => rows.get(row) !== value);
        assert.deepEqual(
          lost.slice(0, 5),
          [],
          `acknowledged writes lost (read through ${r.name}): ${lost.length}`,
        );
      } finally {
        data.close();
      }
    }
  } finally {
    stop.done = true;
    client.close();
    admin.close();
  }
});
