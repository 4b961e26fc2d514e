/**
 * The `cbt` CLI, unchanged, against a cluster (etcd, a master and three tablet servers, real
 * processes), always through a server that does not own the rows it touches: createtable with
 * splits, createfamily, set, read, deletefamily (the family's cells vanish) and deleteallrows
 * (DropRowRange of every row). cbt runs as in test/conformance/cbt.test.ts: BIGTABLE_EMULATOR_HOST,
 * HOME a fresh temporary directory, `-creds` naming a file that does not exist.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ASSIGN_PREFIX, decodeAssignment } from '../../src/cluster/cluster-keys.js';
import { type ClusterProcess, LocalCluster } from './cluster-processes.js';

const CBT = 'cbt';
const CBT_RPC_TIMEOUT = '20s';
const CBT_PROCESS_TIMEOUT_MS = 30_000;
const TABLE = 'cbtsplit';
/** Rows: two in each of the three tablets of `splits=m,t`. */
const ROWS = ['apple', 'kiwi', 'mango', 'pear', 'tomato', 'yam'];

let cluster: LocalCluster;
let homeDir: string;

before(async () => {
  const probe = spawnSync(CBT, ['version'], { encoding: 'utf8' });
  if (probe.error)
    throw new Error(`the cbt CLI is missing (${probe.error.message}): install google-cloud-cli-cbt`);
  homeDir = mkdtempSync(join(tmpdir(), 'tabula-cbt-home-'));
  cluster = await LocalCluster.start(3);
});

after(async () => {
  await cluster?.destroy();
  if (homeDir) rmSync(homeDir, { recursive: true, force: true });
});

/** Runs cbt against `server`; resolves with its stdout, failing on a non-zero exit. */
function cbt(server: ClusterProcess, ...args: string[]): Promise<string> {
  const env = { ...process.env, BIGTABLE_EMULATOR_HOST: server.address, HOME: homeDir, TZ: 'UTC' };
  const flags = [
    '-project',
    'p',
    '-instance',
    'i',
    '-creds',
    join(homeDir, 'none.json'),
    '-timeout',
    CBT_RPC_TIMEOUT,
  ];
  return new Promise((resolve, reject) => {
    execFile(CBT, [...flags, ...args], { env, timeout: CBT_PROCESS_TIMEOUT_MS }, (err, stdout, stderr) =>
      err ? reject(new Error(`cbt ${args.join(' ')} failed: ${stderr}`)) : resolve(stdout),
    );
  });
}

/** A server owning none of the tablets that hold `rows` (there is one: 3 tablets on 3 servers). */
async function nonOwnerOf(rows: readonly string[]): Promise<ClusterProcess> {
  const owners = new Set<string>();
  for (const e of await cluster.coord.list(`${ASSIGN_PREFIX}${TABLE}/`)) {
    const a = decodeAssignment(e.key, e.value);
    const start = a.tablet.startRow?.toString() ?? '';
    const end = a.tablet.endRow?.toString();
    if (rows.some((r) => r >= start && (end === undefined || r < end))) owners.add(a.server);
  }
  const p = cluster.servers.find((s) => !owners.has(s.serverId));
  assert.ok(p, `every server owns one of ${rows.join(',')}`);
  return p;
}

/** The `row family:qualifier` lines of a `cbt read`. */
function cells(stdout: string): string[] {
  const out: string[] = [];
  let row = '';
  for (const line of stdout.split('\n')) {
    if (line.startsWith('-') || line === '') continue;
    if (line.startsWith('    ')) continue;
    if (line.startsWith('  ')) out.push(`${row} ${line.trim().split(/\s+/)[0]}`);
    else row = line;
  }
  return out;
}

test('cbt through servers that do not own the rows', async () => {
  const [ts0] = cluster.servers as [ClusterProcess];
  await cbt(ts0, 'createtable', TABLE, 'families=cf,old', 'splits=m,t');
  const byServer = await cluster.tabletsByServer();
  assert.deepEqual([...byServer.values()], [1, 1, 1], 'one tablet on each server');
  const writer = await nonOwnerOf(['apple', 'kiwi']);
  for (const row of ROWS) {
    await cbt(writer, 'set', TABLE, row, 'cf:q=v', 'old:q=o');
  }
  const reader = await nonOwnerOf(['mango', 'pear']);
  const all = cells(await cbt(reader, 'read', TABLE));
  assert.deepEqual(
    all,
    ROWS.flatMap((r) => [`${r} cf:q`, `${r} old:q`]),
  );
  await cbt(await nonOwnerOf(['tomato', 'yam']), 'deletefamily', TABLE, 'old');
  for (const s of cluster.servers) {
    assert.deepEqual(
      cells(await cbt(s, 'read', TABLE)),
      ROWS.map((r) => `${r} cf:q`),
      `read through ${s.name} after deletefamily`,
    );
  }
  await cbt(reader, 'deleteallrows', TABLE);
  for (const s of cluster.servers) assert.deepEqual(cells(await cbt(s, 'read', TABLE)), [], s.name);
  assert.equal((await cbt(writer, 'count', TABLE)).trim(), '0');
});
