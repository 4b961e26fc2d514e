/**
 * The local table store and its tablets: schema changes, row mutations, reads with filters and
 * GC, atomic read-modify-write operations, row-range drops, and persistence across reopen.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import type { ValidMutation } from '../../src/model/mutation.js';
import { compileRowFilter } from '../../src/model/row-filter.js';
import { openTableStore, tabletEngineStats, tabletEngines } from '../../src/tablet/table-store.js';
import type { ReadRowsQuery, TableStore } from '../../src/tablet/table-store-api.js';

const b = (s: string) => Buffer.from(s);
const set = (family: string, qualifier: string, ts: number, value: string): ValidMutation => ({
  kind: 'setCell',
  family,
  qualifier: b(qualifier),
  timestampMicros: ts,
  value: b(value),
});
const ALL: ReadRowsQuery = {
  selection: { rowKeys: [], rowRanges: [], all: true },
  filter: compileRowFilter(undefined),
  rowsLimit: 0,
  reversed: false,
};

function dump(store: TableStore, table: string, query: ReadRowsQuery = ALL): string[] {
  const out: string[] = [];
  for (const row of store.tablet(table).readRows(query)) {
    for (const c of row.cells)
      out.push(`${row.key}/${c.family}:${c.qualifier}@${c.timestampMicros}=${c.value}`);
  }
  return out;
}

async function withStore(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-store-'));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('tables, mutations, reads, GC and persistence', async () => {
  await withStore(async (dir) => {
    let store = await openTableStore({ dir });
    await store.createTable('t', {
      families: new Map([
        ['cf', { rule: 'maxNumVersions', maxNumVersions: 2 }],
        ['__proto__', undefined],
      ]),
      initialSplits: [],
    });
    await assert.rejects(store.createTable('t', { families: new Map(), initialSplits: [] }), (e) =>
      hasCode(e, ErrorCode.AlreadyExists),
    );
    const tablet = store.tablet('t');
    await tablet.mutateRow(b('r1'), [
      set('cf', 'a', 1000, 'v1'),
      set('cf', 'a', 2000, 'v2'),
      set('cf', 'a', 3000, 'v3'),
    ]);
    await tablet.mutateRow(b('r2'), [set('__proto__', 'x', 1000, 'p')]);
    await assert.rejects(tablet.mutateRow(b('r3'), [set('nope', 'x', 1000, 'v')]), (e) =>
      hasCode(e, ErrorCode.NotFound),
    );
    assert.deepEqual(dump(store, 't'), ['r1/cf:a@3000=v3', 'r1/cf:a@2000=v2', 'r2/__proto__:x@1000=p']);
    const reversed = dump(store, 't', { ...ALL, reversed: true });
    assert.deepEqual(reversed, ['r2/__proto__:x@1000=p', 'r1/cf:a@3000=v3', 'r1/cf:a@2000=v2']);
    await tablet.mutateRow(b('r1'), [
      { kind: 'deleteFromColumn', family: 'cf', qualifier: b('a'), startMicros: 3000, endMicros: 4000 },
    ]);
    assert.deepEqual(dump(store, 't').slice(0, 2), ['r1/cf:a@2000=v2', 'r1/cf:a@1000=v1']);
    await store.close();
    store = await openTableStore({ dir });
    assert.deepEqual(dump(store, 't'), ['r1/cf:a@2000=v2', 'r1/cf:a@1000=v1', 'r2/__proto__:x@1000=p']);
    await store.close();
  });
});

test('check-and-mutate and read-modify-write are atomic per row', async () => {
  await withStore(async (dir) => {
    const store = await openTableStore({ dir });
    await store.createTable('t', { families: new Map([['cf', undefined]]), initialSplits: [] });
    const tablet = store.tablet('t');
    const increments = Array.from({ length: 50 }, () =>
      tablet.readModifyWriteRow(b('counter'), [
        { kind: 'increment', family: 'cf', qualifier: b('n'), amount: 1n },
      ]),
    );
    await Promise.all(increments);
    const row = [
      ...tablet.readRows({ ...ALL, selection: { rowKeys: [b('counter')], rowRanges: [], all: false } }),
    ][0];
    assert.equal(row?.cells[0]?.value.readBigInt64BE(0), 50n);
    const matched = await tablet.checkAndMutateRow(
      b('counter'),
      undefined,
      [set('cf', 'flag', 1000, 'yes')],
      [],
    );
    assert.equal(matched, true);
    const missing = await tablet.checkAndMutateRow(
      b('absent'),
      undefined,
      [],
      [set('cf', 'flag', 1000, 'no')],
    );
    assert.equal(missing, false);
    await assert.rejects(
      tablet.readModifyWriteRow(b('absent'), [
        { kind: 'increment', family: 'cf', qualifier: b('flag'), amount: 1n },
      ]),
      (e) => hasCode(e, ErrorCode.FailedPrecondition),
    );
    await store.close();
  });
});

test('server timestamps increase strictly, also across reopen', async () => {
  await withStore(async (dir) => {
    let store = await openTableStore({ dir });
    await store.createTable('t', { families: new Map([['cf', undefined]]), initialSplits: [] });
    for (let i = 0; i < 20; i++) await store.tablet('t').mutateRow(b('r'), [set('cf', `q${i}`, -1, 'v')]);
    await store.close();
    store = await openTableStore({ dir });
    await store.tablet('t').mutateRow(b('r'), [set('cf', 'q20', -1, 'v')]);
    const ts = [...store.tablet('t').readRows(ALL)][0]?.cells.map((c) => c.timestampMicros) ?? [];
    const byQualifier = new Map(
      [...store.tablet('t').readRows(ALL)][0]?.cells.map((c) => [c.qualifier.toString(), c.timestampMicros]),
    );
    for (let i = 1; i <= 20; i++) {
      assert.ok((byQualifier.get(`q${i}`) as number) > (byQualifier.get(`q${i - 1}`) as number), `q${i}`);
    }
    assert.ok(
      ts.every((t) => t % 1000 === 0),
      'millisecond granularity',
    );
    await store.close();
  });
});

test('drop family removes its data for good; drop row range; deletion protection', async () => {
  await withStore(async (dir) => {
    const store = await openTableStore({ dir });
    await store.createTable('t', {
      families: new Map([
        ['a', undefined],
        ['b', undefined],
      ]),
      initialSplits: [],
    });
    const tablet = store.tablet('t');
    for (const r of ['p1', 'p2', 'q1'])
      await tablet.mutateRow(b(r), [set('a', 'x', 1000, r), set('b', 'y', 1000, r)]);
    await store.modifyColumnFamilies('t', [{ kind: 'drop', family: 'b' }]);
    await store.modifyColumnFamilies('t', [{ kind: 'create', family: 'b', gcRule: undefined }]);
    assert.deepEqual(dump(store, 't'), ['p1/a:x@1000=p1', 'p2/a:x@1000=p2', 'q1/a:x@1000=q1']);
    await store.dropRowRange('t', { rowKeyPrefix: b('p') });
    assert.deepEqual(dump(store, 't'), ['q1/a:x@1000=q1']);
    await store.updateTable('t', { deletionProtection: true });
    await assert.rejects(store.deleteTable('t'), (e) => hasCode(e, ErrorCode.FailedPrecondition));
    await store.updateTable('t', { deletionProtection: false });
    await store.dropRowRange('t', { all: true });
    assert.deepEqual(dump(store, 't'), []);
    await store.deleteTable('t');
    assert.throws(
      () => store.tablet('t'),
      (e) => hasCode(e, ErrorCode.NotFound),
    );
    await store.close();
  });
});

test('a single-row read leaves out the SSTables whose row filter rules the row out', async () => {
  await withStore(async (dir) => {
    const store = await openTableStore({ dir, engine: { autoCompact: false } });
    try {
      await store.createTable('t', { families: new Map([['cf', undefined]]), initialSplits: [] });
      const tablet = store.tablet('t');
      const files = 6;
      // Row r goes to table r % files, so every table spans (nearly) all rows.
      for (let f = 0; f < files; f++) {
        for (let r = f; r < 60; r += files)
          await tablet.mutateRow(b(`row${r}`), [set('cf', 'q', 1000, `v${r}`)]);
        for (const engine of tabletEngines(store, 't')) await engine.flush();
      }
      const skips = () => tabletEngineStats(store).reduce((n, s) => n + s.stats.prefixFilterSkips, 0);
      const before = skips();
      for (const r of [13, 29, 41]) {
        const query = { ...ALL, selection: { rowKeys: [b(`row${r}`)], rowRanges: [], all: false } };
        assert.deepEqual(dump(store, 't', query), [`row${r}/cf:q@1000=v${r}`]);
      }
      // Five of the six tables hold none of each row (a false positive may let one through).
      assert.ok(skips() - before >= 3 * (files - 2), `only ${skips() - before} tables left out`);
      // A range scan is not a single row: it reads every table and skips none.
      const range = skips();
      assert.equal(dump(store, 't').length, 60);
      assert.equal(skips(), range);
    } finally {
      await store.close();
    }
  });
});
