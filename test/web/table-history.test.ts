/**
 * The split and merge history of the one-process console (src/web/table-history.ts), against a
 * stand-in store whose tablet boundaries the test changes: the boundaries seen first are the
 * baseline; a boundary that appears is a split at that row, one that disappears a merge across it;
 * a deleted table's history goes with it; the store's own counters come along.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TableStore } from '../../src/tablet/table-store-api.js';
import { TableHistory } from '../../src/web/table-history.js';

function fakeStore(bounds: Map<string, string[]>): TableStore {
  const tablets = (id: string) => {
    const starts = ['', ...(bounds.get(id) ?? [])];
    return starts.map((s) => ({ startRow: s === '' ? undefined : Buffer.from(s) }));
  };
  return {
    listTables: () => [...bounds.keys()].map((tableId) => ({ tableId })),
    inspection: { tablets, splitStats: () => ({ splits: 3, merges: 1 }) },
  } as unknown as TableStore;
}

test('splits and merges are recorded as boundaries appear and disappear, newest first', () => {
  const bounds = new Map([['t', ['m']]]);
  let now = 1_000;
  const history = new TableHistory(fakeStore(bounds), () => now);
  assert.deepEqual(history.view('t').entries, []);
  now = 2_000;
  bounds.set('t', ['f', 'm']);
  history.observe();
  now = 3_000;
  bounds.set('t', ['f']);
  history.observe();
  history.observe();
  const view = history.view('t');
  assert.deepEqual(view.entries, [
    { timeMs: 3_000, kind: 'merge', rowKey: 'm' },
    { timeMs: 2_000, kind: 'split', rowKey: 'f' },
  ]);
  assert.equal(view.sinceMs, 1_000);
  assert.equal(view.storeSplits, 3);
  assert.equal(view.storeMerges, 1);
});

test("a deleted table's history goes; a new table starts from its own baseline", () => {
  const bounds = new Map([['t', ['m']]]);
  const history = new TableHistory(fakeStore(bounds), () => 0);
  bounds.set('t', []);
  history.observe();
  assert.equal(history.view('t').entries.length, 1);
  bounds.delete('t');
  history.observe();
  bounds.set('t', ['a', 'b']);
  history.observe();
  assert.deepEqual(history.view('t').entries, []);
});
