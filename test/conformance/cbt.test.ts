/**
 * The `cbt` CLI, unchanged, against `tabula serve`: createtable, createfamily, setgcpolicy, ls,
 * set, lookup, read (prefix=, start=, end=, count=, cells-per-column=), count, deleterow,
 * deleteallrows, deletetable, and the errors it reports. cbt's output is parsed and compared
 * exactly: every cell is written with an explicit timestamp and cbt prints times in UTC (TZ=UTC).
 *
 * cbt runs with BIGTABLE_EMULATOR_HOST (plaintext gRPC, no credentials), HOME set to a fresh
 * temporary directory (so no ~/.cbtrc applies) and `-creds` naming a file that does not exist:
 * with no -creds cbt shells out to `gcloud` for credentials on every call, which is slow and
 * reaches for the real account. One server per file, killed in `finally` with the temporary
 * directory. `TABULA_CONFORMANCE_TARGET=emulator` runs the same scenarios against the official
 * emulator; where it is known to be wrong the expectation branches on `onEmulator` and says why.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { INSTANCE_ID, onEmulator, PROJECT_ID, startTarget, stopTarget, TARGET } from './client-env.js';

const CBT = 'cbt';
/** cbt's own deadline per RPC, and ours for the whole process (which is then killed). */
const CBT_RPC_TIMEOUT = '20s';
const CBT_PROCESS_TIMEOUT_MS = 30_000;
/** The line cbt prints before each row. */
const ROW_SEPARATOR = '-'.repeat(40);

/** Explicit timestamps in microseconds and how cbt prints them in UTC. */
const T1 = 1_600_000_001_000_000;
const T2 = 1_600_000_002_000_000;
const T3 = 1_600_000_003_000_000;
const T1_TEXT = '2020/09/13-12:26:41.000000';
const T2_TEXT = '2020/09/13-12:26:42.000000';
const T3_TEXT = '2020/09/13-12:26:43.000000';

/** The result of one cbt run. */
interface CbtResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Fails with a clear message when cbt is not on PATH. */
function requireCbt(): void {
  const probe = spawnSync(CBT, ['version'], { encoding: 'utf8' });
  if (probe.error) {
    throw new Error(
      `the cbt CLI is missing (${probe.error.message}): install the Debian package google-cloud-cli-cbt ` +
        'or run `gcloud components install cbt`',
    );
  }
}

/** A function running cbt against `address` with an isolated HOME and no credentials. */
function cbtRunner(address: string, homeDir: string): (...args: string[]) => Promise<CbtResult> {
  const missingCreds = join(homeDir, 'no-credentials.json');
  const env = { ...process.env, BIGTABLE_EMULATOR_HOST: address, HOME: homeDir, TZ: 'UTC' };
  const flags = [
    '-project',
    PROJECT_ID,
    '-instance',
    INSTANCE_ID,
    '-creds',
    missingCreds,
    '-timeout',
    CBT_RPC_TIMEOUT,
  ];
  return (...args) =>
    new Promise((resolve) => {
      execFile(CBT, [...flags, ...args], { env, timeout: CBT_PROCESS_TIMEOUT_MS }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
}

/** Asserts that a cbt run succeeded and returns its stdout. */
function ok(result: CbtResult, what: string): string {
  assert.equal(result.code, 0, `${what} failed: ${result.stderr}`);
  return result.stdout;
}

/**
 * Parses the output of `cbt read`/`cbt lookup` into one line per cell:
 * `rowKey family:qualifier @ time "value"` (the value as cbt quotes it).
 */
function parseRows(stdout: string): string[] {
  const cells: string[] = [];
  let rowKey: string | undefined;
  let column: string | undefined;
  for (const line of stdout.split('\n')) {
    if (line === ROW_SEPARATOR) {
      rowKey = undefined;
    } else if (line.startsWith('    ')) {
      assert.ok(rowKey !== undefined && column !== undefined, `value before its cell: ${line}`);
      cells.push(`${rowKey} ${column} ${line.trim()}`);
    } else if (line.startsWith('  ')) {
      const match = /^ {2}(\S+)\s+@ (\S+)$/.exec(line);
      assert.ok(match, `unexpected cell line: ${JSON.stringify(line)}`);
      column = `${match[1]} @ ${match[2]}`;
    } else if (line !== '') {
      assert.equal(rowKey, undefined, `second row key line: ${line}`);
      rowKey = line;
    }
  }
  return cells;
}

/**
 * Parses `cbt ls TABLE` into `family: policy` lines, sorted by family. cbt prints a tab-aligned
 * table (family, GC policy, value type) under two header lines; the policy may be empty.
 */
function parseFamilies(stdout: string): string[] {
  const rows = stdout
    .split('\n')
    .slice(2)
    .filter((l) => l.trim() !== '');
  return rows
    .map((line) => {
      const fields = line.split(/\t+/);
      const second = fields[1] ?? '';
      const policy = fields.length >= 3 ? second : second.startsWith('{') ? '' : second;
      return `${fields[0]}: ${policy}`;
    })
    .sort();
}

/** Parses `cbt ls` (table names, one per line) into a sorted list. */
function parseTables(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

test(`cbt CLI against ${TARGET}`, async (t) => {
  requireCbt();
  const homeDir = mkdtempSync(join(tmpdir(), 'tabula-cbt-home-'));
  const server = await startTarget();
  const cbt = cbtRunner(server.address, homeDir);
  try {
    await t.test('createtable, createfamily, setgcpolicy and ls', async () => {
      assert.equal(ok(await cbt('createtable', 'schema'), 'createtable'), '');
      ok(await cbt('createtable', 'preset', 'families=cf:maxversions=2,other'), 'createtable with families');
      ok(await cbt('createfamily', 'schema', 'cf'), 'createfamily cf');
      ok(await cbt('createfamily', 'schema', 'f2'), 'createfamily f2');
      ok(await cbt('setgcpolicy', 'schema', 'cf', 'maxversions=2'), 'setgcpolicy maxversions');
      ok(await cbt('setgcpolicy', 'schema', 'f2', 'maxage=1h or maxversions=1'), 'setgcpolicy union');

      assert.deepEqual(parseTables(ok(await cbt('ls'), 'ls')), ['preset', 'schema']);
      assert.deepEqual(parseFamilies(ok(await cbt('ls', 'schema'), 'ls schema')), [
        'cf: versions() > 2',
        'f2: (age() > 1h || versions() > 1)',
      ]);
      // A family without a GC rule must come back with an empty GcRule, as Cloud Bigtable and the
      // emulator send it; cbt prints that as an empty policy, but an omitted GcRule as "<never>".
      assert.deepEqual(parseFamilies(ok(await cbt('ls', 'preset'), 'ls preset')), [
        'cf: versions() > 2',
        'other: ',
      ]);

      ok(await cbt('setgcpolicy', 'schema', 'f2', 'maxage=1d and maxversions=2'), 'setgcpolicy intersection');
      ok(await cbt('setgcpolicy', 'schema', 'cf', 'never'), 'setgcpolicy never');
      assert.deepEqual(parseFamilies(ok(await cbt('ls', 'schema'), 'ls schema')), [
        'cf: ',
        'f2: (age() > 1d && versions() > 2)',
      ]);

      const duplicate = await cbt('createtable', 'schema');
      assert.equal(duplicate.code, 1);
      assert.match(duplicate.stderr, /code = AlreadyExists/);
    });

    await t.test('set, lookup, read with prefix/start/end/count, count', async () => {
      ok(await cbt('createtable', 'data', 'families=cf,f2'), 'createtable data');
      ok(await cbt('set', 'data', 'r1', `cf:a=v1@${T1}`, `cf:b=hello@${T1}`), 'set r1');
      ok(await cbt('set', 'data', 'r1', `cf:a=v2@${T2}`), 'set r1 again');
      ok(await cbt('set', 'data', 'r2', `f2:x=y@${T3}`), 'set r2');
      for (const key of ['user#1', 'user#2', 'users']) {
        ok(await cbt('set', 'data', key, `cf:a=${key}-value@${T1}`), `set ${key}`);
      }
      const r1 = [`r1 cf:a @ ${T2_TEXT} "v2"`, `r1 cf:a @ ${T1_TEXT} "v1"`, `r1 cf:b @ ${T1_TEXT} "hello"`];
      const r2 = [`r2 f2:x @ ${T3_TEXT} "y"`];
      const user = (key: string) => [`${key} cf:a @ ${T1_TEXT} "${key}-value"`];
      const all = [...r1, ...r2, ...user('user#1'), ...user('user#2'), ...user('users')];

      const read = async (...args: string[]) =>
        parseRows(ok(await cbt('read', 'data', ...args), `read ${args}`));
      const lookup = async (...args: string[]) =>
        parseRows(ok(await cbt('lookup', 'data', ...args), `lookup ${args}`));
      assert.deepEqual(await lookup('r1'), r1);
      assert.deepEqual(await lookup('r1', 'cells-per-column=1'), [r1[0], r1[2]]);
      assert.deepEqual(await lookup('absent'), [], 'a missing row has no cells');
      assert.deepEqual(await read(), all);
      assert.deepEqual(await read('prefix=user'), [...user('user#1'), ...user('user#2'), ...user('users')]);
      assert.deepEqual(await read('prefix=user#'), [...user('user#1'), ...user('user#2')]);
      assert.deepEqual(await read('start=r2'), [
        ...r2,
        ...user('user#1'),
        ...user('user#2'),
        ...user('users'),
      ]);
      assert.deepEqual(await read('end=user#2'), [...r1, ...r2, ...user('user#1')], 'end= is exclusive');
      assert.deepEqual(await read('start=r2', 'end=users'), [...r2, ...user('user#1'), ...user('user#2')]);
      assert.deepEqual(await read('count=2'), [...r1, ...r2]);
      assert.deepEqual(await read('prefix=user', 'count=1'), user('user#1'));
      assert.deepEqual(await read('prefix=zzz'), []);
      assert.equal(ok(await cbt('count', 'data'), 'count').trim(), '5');
    });

    await t.test('deleterow and deleteallrows', async () => {
      ok(await cbt('createtable', 'deletes', 'families=cf'), 'createtable deletes');
      for (const key of ['a', 'b', 'c'])
        ok(await cbt('set', 'deletes', key, `cf:q=${key}@${T1}`), `set ${key}`);
      ok(await cbt('deleterow', 'deletes', 'b'), 'deleterow');
      assert.equal(ok(await cbt('count', 'deletes'), 'count').trim(), '2');
      assert.deepEqual(parseRows(ok(await cbt('read', 'deletes'), 'read')), [
        `a cf:q @ ${T1_TEXT} "a"`,
        `c cf:q @ ${T1_TEXT} "c"`,
      ]);
      ok(await cbt('deleteallrows', 'deletes'), 'deleteallrows');
      assert.equal(ok(await cbt('count', 'deletes'), 'count').trim(), '0');
      assert.deepEqual(parseRows(ok(await cbt('read', 'deletes'), 'read')), []);
    });

    await t.test('deletetable', async () => {
      ok(await cbt('createtable', 'doomed', 'families=cf'), 'createtable doomed');
      ok(await cbt('set', 'doomed', 'k', `cf:q=v@${T1}`), 'set');
      ok(await cbt('deletetable', 'doomed'), 'deletetable');
      assert.ok(!parseTables(ok(await cbt('ls'), 'ls')).includes('doomed'));
      const lookup = await cbt('lookup', 'doomed', 'k');
      assert.equal(lookup.code, 1);
      assert.match(lookup.stderr, /code = NotFound/);
    });

    await t.test('errors carry precise codes', async () => {
      ok(await cbt('createtable', 'errors', 'families=cf'), 'createtable errors');
      const unknownFamily = await cbt('set', 'errors', 'k', `nofamily:q=v@${T1}`);
      assert.equal(unknownFamily.code, 1);
      // The emulator answers Unknown for a mutation of an unknown family; Tabula answers NotFound.
      assert.match(unknownFamily.stderr, onEmulator ? /code = Unknown/ : /code = NotFound/);
      const missingTable = await cbt('ls', 'no-such-table');
      assert.equal(missingTable.code, 1);
      assert.match(missingTable.stderr, /code = NotFound/);
    });
  } finally {
    await stopTarget(server);
    rmSync(homeDir, { recursive: true, force: true });
  }
});
