/**
 * Tablets split and merge as metadata operations: with a tiny threshold a table becomes many
 * tablets that cover the row space exactly, every row stays readable (forward, reversed, by key,
 * by range, with limits), SampleRowKeys returns the boundaries, and after deletes and a drop the
 * tablets merge back. Everything survives reopen, and no file is left that nothing references.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, SeededRand } from '../../src/common/clock.js';
import { rowRangeToKeyRange } from '../../src/model/cell-key.js';
import type { ValidMutation } from '../../src/model/mutation.js';
import { compileRowFilter } from '../../src/model/row-filter.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import {
  maintainTablets,
  openTableStore,
  type TableStoreOptions,
  tabletRanges,
  tabletStats,
} from '../../src/tablet/table-store.js';
import type { ReadRowsQuery, TableStore } from '../../src/tablet/table-store-api.js';
import { checkCoverage } from '../../src/tablet/tablet-set.js';

const ROWS = 600;
const rowKey = (i: number) => Buffer.from(`row${String(i).padStart(5, '0')}`);
const setCell = (value: string): ValidMutation => ({
  kind: 'setCell',
  family: 'f',
  qualifier: Buffer.from('q'),
  timestampMicros: 1000,
  value: Buffer.from(value),
});

function query(over: Partial<ReadRowsQuery> = {}): ReadRowsQuery {
  return {
    selection: { rowKeys: [], rowRanges: [], all: true },
    filter: compileRowFilter(undefined),
    rowsLimit: 0,
    reversed: false,
    ...over,
  };
}

function rows(store: TableStore, q: ReadRowsQuery = query()): string[] {
  return [...store.tablet('t').readRows(q)].map((r) => `${r.key}=${r.cells[0]?.value}`);
}

function options(vfs: MemVfs): TableStoreOptions {
  return {
    dir: '/data',
    engine: { vfs, memtableBytes: 8 * 1024, blockBytes: 512, targetFileBytes: 8 * 1024 },
    splitThresholdBytes: 8 * 1024,
    sampleIntervalBytes: 4 * 1024,
    autoSplit: false,
    clock: new ManualClock(1_700_000_000_000),
    rand: new SeededRand(7),
  };
}

test('a table splits into many tablets and merges back, reading every row exactly once', async () => {
  const vfs = new MemVfs();
  let store = await openTableStore(options(vfs));
  await store.createTable('t', { families: new Map([['f', undefined]]), initialSplits: [] });
  const expected: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    await store.tablet('t').mutateRow(rowKey(i), [setCell(`v${i}-${'x'.repeat(60)}`)]);
    expected.push(`${rowKey(i)}=v${i}-${'x'.repeat(60)}`);
  }
  await maintainTablets(store);
  const ranges = tabletRanges(store, 't');
  checkCoverage(ranges);
  assert.ok(ranges.length >= 4, `the table split (tablets=${ranges.length})`);
  assert.ok((tabletStats(store)?.splits ?? 0) >= 3);
  assert.deepEqual(rows(store), expected, 'a full scan sees every row once, in order');
  assert.deepEqual(rows(store, query({ reversed: true })), [...expected].reverse());
  assert.deepEqual(rows(store, query({ rowsLimit: 250 })), expected.slice(0, 250));
  const range = rowRangeToKeyRange({
    startKey: 'startKeyClosed',
    startKeyClosed: rowKey(100),
    endKey: 'endKeyOpen',
    endKeyOpen: rowKey(450),
  });
  const sel = { rowKeys: [rowKey(5), rowKey(599)], rowRanges: [range], all: false };
  assert.deepEqual(rows(store, query({ selection: sel })), [
    expected[5],
    ...expected.slice(100, 450),
    expected[599],
  ]);
  assert.deepEqual(rows(store, query({ selection: sel, reversed: true, rowsLimit: 3 })), [
    expected[599],
    expected[449],
    expected[448],
  ]);
  const samples = store.tablet('t').sampleRowKeys();
  const boundaries = ranges.slice(1).map((r) => String(r.startRow));
  for (const bnd of boundaries)
    assert.ok(
      samples.some((s) => String(s.rowKey) === bnd),
      `boundary ${bnd} is sampled`,
    );
  for (let i = 1; i < samples.length; i++) {
    assert.ok(
      (samples[i] as { offsetBytes: number }).offsetBytes >=
        (samples[i - 1] as { offsetBytes: number }).offsetBytes,
    );
  }
  assert.equal(samples.at(-1)?.rowKey.length, 0, 'the last sample is the end of the table');
  // Writes after the split land in the right tablets; reopen keeps it all.
  await store.tablet('t').mutateRow(rowKey(300), [setCell('changed')]);
  expected[300] = `${rowKey(300)}=changed`;
  await store.close();
  store = await openTableStore(options(vfs));
  assert.deepEqual(
    tabletRanges(store, 't').map((r) => String(r.startRow)),
    ranges.map((r) => String(r.startRow)),
  );
  assert.deepEqual(rows(store), expected);
  // Delete most rows and compact: small neighbours merge.
  await store.dropRowRange('t', { rowKeyPrefix: Buffer.from('row000') });
  for (let i = 100; i < ROWS - 10; i++)
    await store.tablet('t').mutateRow(rowKey(i), [{ kind: 'deleteFromRow' }]);
  const { tabletEngines } = await import('../../src/tablet/table-store.js');
  for (const e of tabletEngines(store, 't')) await e.compactAll();
  for (let round = 0; round < 10; round++) await maintainTablets(store);
  const after = tabletRanges(store, 't');
  checkCoverage(after);
  assert.ok(after.length < ranges.length, `tablets merged (${ranges.length} → ${after.length})`);
  assert.deepEqual(rows(store), expected.slice(ROWS - 10));
  // Once compactions rewrite what the tablets reference, the parents' directories go away.
  for (const e of tabletEngines(store, 't')) await e.compactAll();
  await store.close();
  store = await openTableStore(options(vfs));
  assert.deepEqual(rows(store), expected.slice(ROWS - 10));
  const tableDirs = await vfs.list('/data/tables');
  assert.equal(tableDirs.length, 1);
  const tabletDirs = await vfs.list(`/data/tables/${tableDirs[0]}`);
  assert.equal(tabletDirs.length, tabletRanges(store, 't').length, 'retired tablet directories are gone');
  await store.close();
});
