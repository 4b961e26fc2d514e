/**
 * Helpers of the cluster split, merge and GC tests: a writer of padded rows through one entry
 * server that journals every acknowledged write (retrying UNAVAILABLE and DEADLINE_EXCEEDED; an
 * explicit timestamp makes a retry idempotent), the table's tablets as the assignment keys show
 * them with a coverage check (no gap, no overlap), the exactly-once read-back check, and a look
 * at the table's directory in the shared store.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Client } from '@grpc/grpc-js';
import {
  ASSIGN_PREFIX,
  type Assignment,
  decodeAssignment,
  decodeTableRecord,
  decodeValue,
  type ServerStats,
  STATS_PREFIX,
  tableKey,
} from '../../src/cluster/cluster-keys.js';
import { manifestFiles } from '../../src/master/shared-file-gc.js';
import { RealVfs } from '../../src/storage/real-vfs.js';
import { joinPath } from '../../src/storage/vfs.js';
import { type ApiRow, connectData, readRows, statusName } from '../support/api-client.js';
import { LOAD_TABLE, RETRY_PAUSE_MS, sleep, writeOnce } from './cluster-load.js';
import type { ClusterProcess, LocalCluster } from './cluster-processes.js';

/** Bytes of padding in each written value: a tablet passes a small split threshold in few rows. */
const VALUE_PAD_BYTES = 400;
/** Longest a wait for the cluster to reach a state may take. */
export const STATE_WAIT_MS = 40_000;

/** The value written to `row`: the row and hex digits that do not compress away. */
export function rowValue(row: string): string {
  let pad = '';
  for (let i = 0; pad.length < VALUE_PAD_BYTES; i++)
    pad += createHash('sha256').update(`${row}/${i}`).digest('hex');
  return `${row}:${pad.slice(0, VALUE_PAD_BYTES)}`;
}

/**
 * Writes `rows` through `client` with `writers` concurrent writers until each is acknowledged,
 * journaling acknowledgements in `acked`; gives up on a row after `giveUpMs`.
 */
export async function writeAll(
  client: Client,
  rows: readonly string[],
  writers: number,
  acked: Set<string>,
  giveUpMs = STATE_WAIT_MS,
): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < rows.length) {
      const row = rows[next++] as string;
      const started = performance.now();
      for (;;) {
        const code = await writeOnce(client, row, rowValue(row));
        if (code === '') {
          acked.add(row);
          break;
        }
        if (code !== 'UNAVAILABLE' && code !== 'DEADLINE_EXCEEDED')
          throw new Error(`write of ${row}: ${code}`);
        if (performance.now() - started > giveUpMs) throw new Error(`write of ${row} never acknowledged`);
        await sleep(RETRY_PAUSE_MS);
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, run));
}

/** The table's assignments in key order; asserts they cover the row space with no gap or overlap. */
export async function coveringTablets(cluster: LocalCluster, tableId = LOAD_TABLE): Promise<Assignment[]> {
  const list = (await cluster.coord.list(`${ASSIGN_PREFIX}${tableId}/`)).map((e) =>
    decodeAssignment(e.key, e.value),
  );
  list.sort((x, y) =>
    x.tablet.startRow === undefined
      ? -1
      : y.tablet.startRow === undefined
        ? 1
        : Buffer.compare(x.tablet.startRow, y.tablet.startRow),
  );
  assert.ok(list.length > 0, 'the table has tablets');
  assert.equal(list[0]?.tablet.startRow, undefined, 'the first tablet starts at the table start');
  assert.equal(list.at(-1)?.tablet.endRow, undefined, 'the last tablet ends at the table end');
  for (let i = 0; i + 1 < list.length; i++) {
    const end = list[i]?.tablet.endRow;
    const start = list[i + 1]?.tablet.startRow;
    assert.ok(end && start && end.equals(start), `tablets ${i} and ${i + 1} are adjacent`);
  }
  return list;
}

/** Each tablet's size as its server last reported it (for failure messages). */
async function tabletSizes(cluster: LocalCluster): Promise<string> {
  const out: string[] = [];
  for (const e of await cluster.coord.list(STATS_PREFIX)) {
    const stats = decodeValue<ServerStats>(e.key, e.value);
    for (const t of stats.tablets)
      out.push(`${stats.server.slice(0, 12)} ${t.tabletDir} ${t.dataBytes} bytes`);
  }
  return out.join('\n');
}

/** Waits until `cond()` holds (polled), or fails with `what` and the cluster's state. */
export async function waitFor(
  cluster: LocalCluster,
  what: string,
  cond: () => Promise<boolean>,
  ms = STATE_WAIT_MS,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (performance.now() > deadline)
      assert.fail(
        `${what} did not happen in ${ms} ms\n${await tabletSizes(cluster)}\n${await cluster.describe()}`,
      );
    await sleep(200);
  }
}

/** The whole table, read again while a tablet answers UNAVAILABLE (opening after a split). */
async function readWhole(data: Client): Promise<ApiRow[]> {
  const deadline = performance.now() + STATE_WAIT_MS;
  for (;;) {
    try {
      return await readRows(data, LOAD_TABLE);
    } catch (err) {
      if (statusName(err) !== 'UNAVAILABLE' || performance.now() > deadline) throw err;
      await sleep(RETRY_PAUSE_MS);
    }
  }
}

/**
 * Reads the whole table through `reader`: every row of `acked` exactly once with its value, and
 * no row of `absent`.
 */
export async function assertReadBack(
  reader: ClusterProcess,
  acked: ReadonlySet<string>,
  absent: ReadonlySet<string> = new Set(),
): Promise<number> {
  const data = connectData(reader.address);
  try {
    const rows = await readWhole(data);
    const seen = new Map<string, number>();
    for (const r of rows) seen.set(r.key.toString(), (seen.get(r.key.toString()) ?? 0) + 1);
    const twice = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
    assert.deepEqual(twice.slice(0, 5), [], `rows read more than once: ${twice.length}`);
    const values = new Map(rows.map((r) => [r.key.toString(), r.cells[0]?.value.toString()]));
    const lost = [...acked].filter((row) => !absent.has(row) && values.get(row) !== rowValue(row));
    assert.deepEqual(lost.slice(0, 5), [], `acknowledged writes lost: ${lost.length} of ${acked.size}`);
    const back = [...absent].filter((row) => values.has(row));
    assert.deepEqual(back.slice(0, 5), [], `dropped rows read back: ${back.length}`);
    return rows.length;
  } finally {
    data.close();
  }
}

/** The table's directory in the shared store, its live tablet directories and every directory in it. */
export async function tableFiles(cluster: LocalCluster): Promise<{
  tableDir: string;
  live: Set<string>;
  dirs: Map<string, string[]>;
}> {
  const vfs = new RealVfs();
  const value = await cluster.coord.get(tableKey(LOAD_TABLE));
  assert.ok(value, 'the table record is published');
  const record = decodeTableRecord(tableKey(LOAD_TABLE), value.value);
  const tableDir = joinPath(cluster.storeDir, 'tables', record.dirName);
  const live = new Set((await coveringTablets(cluster)).map((a) => a.tablet.tabletDir));
  const dirs = new Map<string, string[]>();
  for (const d of await vfs.list(tableDir)) dirs.set(d, await vfs.list(joinPath(tableDir, d)));
  return { tableDir, live, dirs };
}

/**
 * The SSTables (`dir/name`) the live manifests name, asserting each exists; and the files of
 * retired directories that are not such SSTables (what the GC has still to collect).
 */
export async function sharedFileState(cluster: LocalCluster): Promise<{
  referenced: Set<string>;
  garbage: string[];
  retiredDirs: number;
}> {
  const vfs = new RealVfs();
  const { tableDir, live, dirs } = await tableFiles(cluster);
  const referenced = new Set<string>();
  for (const d of live) for (const f of await manifestFiles(vfs, tableDir, d)) referenced.add(f);
  for (const f of referenced)
    assert.ok(await vfs.exists(joinPath(tableDir, f)), `a file a live tablet references exists: ${f}`);
  const garbage: string[] = [];
  let retiredDirs = 0;
  for (const [d, files] of dirs) {
    if (live.has(d)) continue;
    retiredDirs++;
    for (const f of files) if (!referenced.has(`${d}/${f}`)) garbage.push(`${d}/${f}`);
  }
  return { referenced, garbage, retiredDirs };
}
