/**
 * The official Node library `@google-cloud/bigtable`, unchanged, against `tabula serve`: table
 * admin (create with families and GC rules, list, `createFamily` with rules, `family.setMetadata`,
 * `family.delete`, `table.delete`), GC rules as reads see them, and data surviving a restart of the
 * server on the same data directory (graceful stop, then SIGKILL).
 *
 * One server per test, started here and killed in `finally` (the data directory goes with it).
 * Results are compared exactly; GC rules are compared through `describeGcRule`.
 * `TABULA_CONFORMANCE_TARGET=emulator` runs the same scenarios against the official emulator;
 * where it is known to be wrong the expectation branches on `onEmulator` and says why.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { IGcRule, Instance, Table } from '@google-cloud/bigtable';
import { status } from '@grpc/grpc-js';
import { removeDataDir, type ServerProcess, startTabula } from '../support/server-process.js';
import {
  cellLines,
  grpcCode,
  INSTANCE_ID,
  nodeClient,
  onEmulator,
  rejection,
  startTarget,
  stopTarget,
  TARGET,
} from './client-env.js';

const MICROS_PER_MS = 1000;
const MS_PER_MINUTE = 60_000;
const MAX_AGE_SECONDS = 3600;
/** Cells this old are beyond MAX_AGE_SECONDS: September 2020, in microseconds. */
const OLD1 = 1_600_000_001_000_000;
const OLD2 = 1_600_000_002_000_000;
/** Cells written a few minutes ago (well within MAX_AGE_SECONDS), whole milliseconds. */
const NOW_MS = Date.now();
const NEW1 = (NOW_MS - 2 * MS_PER_MINUTE) * MICROS_PER_MS;
const NEW2 = (NOW_MS - MS_PER_MINUTE) * MICROS_PER_MS;
/** Newest first, as reads return them. */
const FOUR_VERSIONS = [NEW2, NEW1, OLD2, OLD1];

/** A GC rule as text: `versions=N`, `age=Ns`, `union(…)`, `intersection(…)`, `none`. */
function describeGcRule(rule: IGcRule | null | undefined): string {
  if (!rule) return 'none';
  if (rule.maxNumVersions) return `versions=${rule.maxNumVersions}`;
  if (rule.maxAge) return `age=${Number(rule.maxAge.seconds ?? 0)}s`;
  if (rule.union) return `union(${(rule.union.rules ?? []).map(describeGcRule).join(',')})`;
  if (rule.intersection)
    return `intersection(${(rule.intersection.rules ?? []).map(describeGcRule).join(',')})`;
  return 'none';
}

/** The families of a table as `name: rule`, sorted by name. */
async function familyRules(table: Table): Promise<string[]> {
  const [families] = await table.getFamilies();
  return families
    .map((f) => `${f.id}: ${describeGcRule((f.metadata as { gcRule?: IGcRule } | undefined)?.gcRule)}`)
    .sort();
}

/** Writes one cell per timestamp of FOUR_VERSIONS into `family:q` of row `k`. */
async function writeFourVersions(table: Table, family: string): Promise<void> {
  for (const timestamp of [...FOUR_VERSIONS].reverse()) {
    await table.insert([{ key: 'k', data: { [family]: { q: { value: `v${timestamp}`, timestamp } } } }]);
  }
}

/** The timestamps `family:q` of row `k` reads back with. */
async function versions(table: Table, family: string): Promise<number[]> {
  const [rows] = await table.getRows({ keys: ['k'], filter: { family: `^${family}$` } });
  return cellLines(rows).map((line) => Number(/@(\d+)/.exec(line)?.[1]));
}

async function withTarget(body: (instance: Instance) => Promise<void>): Promise<void> {
  const server = await startTarget();
  const client = nodeClient(server.address);
  try {
    await body(client.instance(INSTANCE_ID));
  } finally {
    await client.close();
    await stopTarget(server);
  }
}

test(`official Node client: tables and families against ${TARGET}`, async () => {
  await withTarget(async (instance) => {
    const [table] = await instance.createTable('schema', {
      families: ['plain', { name: 'versions', rule: { versions: 2 } }],
    });
    await table.createFamily('aged', {
      rule: { age: { seconds: MAX_AGE_SECONDS }, versions: 1, union: true },
    });
    await table.createFamily('both', { rule: { age: { seconds: MAX_AGE_SECONDS }, versions: 3 } });
    assert.deepEqual(await familyRules(table), [
      `aged: union(age=${MAX_AGE_SECONDS}s,versions=1)`,
      `both: intersection(age=${MAX_AGE_SECONDS}s,versions=3)`,
      'plain: none',
      'versions: versions=2',
    ]);
    await instance.createTable('other');
    const [tables] = await instance.getTables();
    assert.deepEqual(tables.map((t) => t.id).sort(), ['other', 'schema']);
    assert.deepEqual(await table.exists(), [true]);

    const duplicate = await rejection(instance.createTable('schema'), 'creating an existing table');
    assert.equal(grpcCode(duplicate), status.ALREADY_EXISTS);
    const duplicateFamily = await rejection(table.createFamily('plain'), 'creating an existing family');
    assert.equal(grpcCode(duplicateFamily), status.ALREADY_EXISTS);

    await table.family('versions').setMetadata({ rule: { versions: 5 } });
    await table.family('plain').setMetadata({ rule: { age: { seconds: 60 } } });
    assert.deepEqual(await familyRules(table), [
      `aged: union(age=${MAX_AGE_SECONDS}s,versions=1)`,
      `both: intersection(age=${MAX_AGE_SECONDS}s,versions=3)`,
      'plain: age=60s',
      'versions: versions=5',
    ]);
  });
});

test(`official Node client: GC rules decide what reads return, against ${TARGET}`, async () => {
  await withTarget(async (instance) => {
    const [table] = await instance.createTable('gc', {
      families: [
        'plain',
        { name: 'versions', rule: { versions: 2 } },
        { name: 'aged', rule: { age: { seconds: MAX_AGE_SECONDS } } },
        { name: 'either', rule: { versions: 1, age: { seconds: MAX_AGE_SECONDS }, union: true } },
        { name: 'both', rule: { versions: 3, age: { seconds: MAX_AGE_SECONDS } } },
      ],
    });
    const families = ['plain', 'versions', 'aged', 'either', 'both'];
    for (const family of families) await writeFourVersions(table, family);

    const expected: Record<string, number[]> = onEmulator
      ? // The emulator applies GC rules only in a background sweep (and never intersections), so
        // reads right after the writes still return cells the rules made eligible.
        Object.fromEntries(families.map((f) => [f, FOUR_VERSIONS]))
      : {
          plain: FOUR_VERSIONS,
          versions: [NEW2, NEW1],
          aged: [NEW2, NEW1],
          either: [NEW2],
          // Intersection: only cells both beyond 3 versions and older than the max age go.
          both: [NEW2, NEW1, OLD2],
        };
    for (const family of families) {
      assert.deepEqual(await versions(table, family), expected[family], `family ${family}`);
    }

    // Tightening a rule applies to cells already written.
    await table.family('plain').setMetadata({ rule: { versions: 1 } });
    assert.deepEqual(await versions(table, 'plain'), onEmulator ? FOUR_VERSIONS : [NEW2]);
    assert.deepEqual(
      await familyRules(table).then((r) => r.find((l) => l.startsWith('plain:'))),
      'plain: versions=1',
    );
  });
});

test(`official Node client: dropping a family and a table drops their data, against ${TARGET}`, async () => {
  await withTarget(async (instance) => {
    const [table] = await instance.createTable('drops', { families: ['keep', 'gone'] });
    await table.insert([{ key: 'k', data: { keep: { q: { value: 'kept', timestamp: OLD1 } } } }]);
    await table.insert([{ key: 'k', data: { gone: { q: { value: 'dropped', timestamp: OLD1 } } } }]);
    await table.family('gone').delete();
    assert.deepEqual(await familyRules(table), ['keep: none']);
    await table.createFamily('gone');
    const [rows] = await table.getRows();
    assert.deepEqual(cellLines(rows), [`k keep:q @${OLD1} kept`], 'a re-created family starts empty');

    await table.delete();
    assert.deepEqual(await table.exists(), [false]);
    const read = await rejection(table.getRows(), 'reading a deleted table');
    assert.equal(grpcCode(read), status.NOT_FOUND);
    const again = await rejection(table.delete(), 'deleting a deleted table');
    assert.equal(grpcCode(again), status.NOT_FOUND);

    const [recreated] = await instance.createTable('drops', { families: ['keep'] });
    const [fresh] = await recreated.getRows();
    assert.deepEqual(fresh, [], 'a re-created table starts empty');
  });
});

test('official Node client: data and schema survive a restart of tabula serve', async (t) => {
  if (onEmulator) {
    // The emulator keeps everything in memory: nothing survives a restart.
    t.skip('the emulator is not persistent');
    return;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'tabula-conformance-restart-'));
  let server: ServerProcess | undefined;
  try {
    server = await startTabula({ dataDir });
    let client = nodeClient(server.address);
    const [table] = await client.instance(INSTANCE_ID).createTable('durable', {
      families: ['cf', { name: 'kept', rule: { versions: 1 } }],
    });
    await table.insert([
      {
        key: 'a',
        data: { cf: { q: { value: 'one', timestamp: OLD1 } }, kept: { q: { value: 'x', timestamp: OLD1 } } },
      },
      { key: 'b', data: { cf: { q: { value: 'two', timestamp: OLD2 } } } },
    ]);
    await table.row('c').increment('cf:n', 7);
    const before = await snapshot(client.instance(INSTANCE_ID).table('durable'));
    await client.close();

    await server.stop();
    server = await startTabula({ dataDir });
    client = nodeClient(server.address);
    const afterStop = client.instance(INSTANCE_ID).table('durable');
    assert.deepEqual(await snapshot(afterStop), before, 'after SIGTERM and restart');
    assert.deepEqual(await familyRules(afterStop), ['cf: none', 'kept: versions=1']);

    // An acknowledged write survives SIGKILL too.
    await afterStop.insert([{ key: 'd', data: { cf: { q: { value: 'acked', timestamp: OLD2 } } } }]);
    await client.close();
    await server.kill();
    server = await startTabula({ dataDir });
    client = nodeClient(server.address);
    const afterKill = client.instance(INSTANCE_ID).table('durable');
    assert.deepEqual(
      await snapshot(afterKill),
      [...before, `d cf:q @${OLD2} acked`],
      'after SIGKILL and restart',
    );
    await client.close();
  } finally {
    await server?.kill();
    removeDataDir(dataDir);
  }
});

/** Every cell of a table, with server-chosen timestamps kept (they must survive too). */
async function snapshot(table: Table): Promise<string[]> {
  const [rows] = await table.getRows();
  return cellLines(rows);
}
