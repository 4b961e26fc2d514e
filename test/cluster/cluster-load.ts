/**
 * The write load of the cluster failure tests: writers that each write new rows through one entry
 * server (an explicit timestamp makes a retry idempotent), retrying UNAVAILABLE and
 * DEADLINE_EXCEEDED, and journaling every acknowledged write in this process (the client is never
 * killed, so its memory is the journal); a probe of one row per tablet that measures when every
 * tablet serves again; and the final check that every acknowledged write reads back.
 */
import assert from 'node:assert/strict';
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
import type { ClusterProcess, LocalCluster } from './cluster-processes.js';

/** The table every failure test writes. */
export const LOAD_TABLE = 'load';
const SPLITS = ['b', 'd', 'f', 'h', 'j'];
/** One probe row per tablet (below the first split, between each pair, above the last). */
export const PROBES = ['a', 'c', 'e', 'g', 'i', 'k'];
/** Deadline of one write or probe; a retry follows a failure after RETRY_PAUSE_MS. */
const CALL_DEADLINE_MS = 3_000;
export const RETRY_PAUSE_MS = 50;
/** Longest a failure may leave a tablet unserved before the test fails. */
const SERVE_AGAIN_MS_MAX = 20_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates the load table with one tablet per probe (or split at `splits`). */
export async function createLoadTable(
  entry: ClusterProcess,
  splits: readonly string[] = SPLITS,
): Promise<void> {
  const admin = connectTableAdmin(entry.address);
  try {
    await unary(admin, 'CreateTable', {
      parent: INSTANCE_NAME,
      tableId: LOAD_TABLE,
      table: { columnFamilies: { cf: {} } },
      initialSplits: splits.map((k) => ({ key: Buffer.from(k) })),
    });
  } finally {
    admin.close();
  }
}

/** The outcome of one MutateRow: '' when acknowledged, else the status name. */
export async function writeOnce(client: Client, row: string, value: string): Promise<string> {
  try {
    await unary(
      client,
      'MutateRow',
      {
        tableName: tableName(LOAD_TABLE),
        rowKey: Buffer.from(row),
        mutations: [setCell('cf', 'q', 1000, Buffer.from(value))],
      },
      CALL_DEADLINE_MS,
    );
    return '';
  } catch (err) {
    return statusName(err);
  }
}

/** Writes `value` to `row` until acknowledged (true) or `giveUp()` (false); other errors throw. */
async function writeUntilAcked(client: Client, row: string, value: string, giveUp: () => boolean) {
  for (;;) {
    const code = await writeOnce(client, row, value);
    if (code === '') return true;
    if (code !== 'UNAVAILABLE' && code !== 'DEADLINE_EXCEEDED') throw new Error(`write failed with ${code}`);
    if (giveUp()) return false;
    await sleep(RETRY_PAUSE_MS);
  }
}

/**
 * `count` writers of new rows until `stop.done`, journaling acknowledged writes in `acked`;
 * `onAck` is told the time (performance.now()) each acknowledgement arrived.
 */
export function startWriters(
  client: Client,
  count: number,
  stop: { done: boolean },
  acked: Map<string, string>,
  onAck?: (atMs: number) => void,
): Promise<unknown> {
  const run = async (w: number) => {
    for (let c = 0; !stop.done; c++) {
      const row = `${PROBES[(w + c) % PROBES.length]}-w${w}-${String(c).padStart(5, '0')}`;
      const value = `v${w}-${c}`;
      if (await writeUntilAcked(client, row, value, () => stop.done)) {
        acked.set(row, value);
        onAck?.(performance.now());
      }
    }
  };
  return Promise.all(Array.from({ length: count }, (_, w) => run(w)));
}

/** Milliseconds from `sinceMs` (performance.now()) until a write to every probe row succeeds. */
export async function timeToServeAgain(client: Client, sinceMs: number): Promise<number> {
  const served = await Promise.all(
    PROBES.map(async (p) => {
      const tooLong = () => performance.now() - sinceMs > SERVE_AGAIN_MS_MAX;
      if (!(await writeUntilAcked(client, `${p}-probe`, 'p', tooLong)))
        throw new Error(`the tablet of row ${p} did not serve again`);
      return performance.now();
    }),
  );
  return Math.max(...served) - sinceMs;
}

/** Whether the process still runs (it may be stopped). */
export function running(p: ClusterProcess): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/** The running server other than `entry` holding the most tablets. */
export async function busiestOther(cluster: LocalCluster, entry: ClusterProcess): Promise<ClusterProcess> {
  const counts = await cluster.tabletsByServer();
  const candidates = cluster.servers.filter((s) => s !== entry && running(s));
  candidates.sort((x, y) => (counts.get(y.serverId) ?? 0) - (counts.get(x.serverId) ?? 0));
  const v = candidates[0];
  assert.ok(v && (counts.get(v.serverId) ?? 0) > 0, 'some other server holds tablets');
  return v;
}

/**
 * One kill round under running writers: waits for `writesBefore` more acknowledged writes in
 * `acked`, kill -9s the server other than `entry` holding the most tablets, measures the
 * milliseconds until every tablet serves again through `client`, then starts a fresh server.
 */
export async function killRound(
  cluster: LocalCluster,
  entry: ClusterProcess,
  client: Client,
  acked: Map<string, string>,
  writesBefore: number,
): Promise<{ victim: ClusterProcess; ms: number }> {
  const before = acked.size;
  while (acked.size < before + writesBefore) await sleep(RETRY_PAUSE_MS);
  const victim = await busiestOther(cluster, entry);
  const killedAtMs = performance.now();
  await victim.kill();
  const ms = await timeToServeAgain(client, killedAtMs);
  await cluster.startServer();
  return { victim, ms };
}

/** What `failoverUnderWrites` measured. */
export interface FailoverRun {
  /** The server the writers write through (never killed). */
  entry: ClusterProcess;
  /** Every acknowledged write: row → value. */
  acked: Map<string, string>;
  /** Milliseconds until every tablet served again, per kill. */
  times: number[];
}

/**
 * Creates the load table through the cluster's first server, runs `writers` writers through it and
 * `kills` kill rounds (`killRound`), calling `onKill` after each; stops the writers at the end.
 */
export async function failoverUnderWrites(
  cluster: LocalCluster,
  opts: {
    writers: number;
    kills: number;
    writesBeforeKill: number;
    onKill: (k: number, victim: ClusterProcess, ms: number) => void;
  },
): Promise<FailoverRun> {
  const entry = cluster.servers[0] as ClusterProcess;
  const client = connectData(entry.address);
  const run: FailoverRun = { entry, acked: new Map(), times: [] };
  const stop = { done: false };
  try {
    await createLoadTable(entry);
    const writers = startWriters(client, opts.writers, stop, run.acked);
    for (let k = 0; k < opts.kills; k++) {
      const { victim, ms } = await killRound(cluster, entry, client, run.acked, opts.writesBeforeKill);
      run.times.push(ms);
      opts.onKill(k, victim, ms);
    }
    stop.done = true;
    await writers;
  } finally {
    stop.done = true;
    client.close();
  }
  return run;
}

/** Asserts that every acknowledged write reads back through each of `readers`. */
export async function assertNoAckedWriteLost(readers: readonly ClusterProcess[], acked: Map<string, string>) {
  for (const r of readers) {
    const data = connectData(r.address);
    try {
      const rows = new Map(
        (await readRows(data, LOAD_TABLE)).map((row) => [row.key.toString(), row.cells[0]?.value.toString()]),
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
}

/** p50, p99 (nearest rank) and max of `times`, rounded, as text. */
export function summary(times: readonly number[]): string {
  const sorted = [...times].sort((x, y) => x - y);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number);
  return `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
}
