/**
 * What tablets share and keep: initial splits make tablets that are never merged away, and the
 * memtables of many tablets stay within one budget.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, SeededRand } from '../../src/common/clock.js';
import type { ValidMutation } from '../../src/model/mutation.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import {
  maintainTablets,
  openTableStore,
  tabletEngines,
  tabletRanges,
} from '../../src/tablet/table-store.js';
import { checkCoverage } from '../../src/tablet/tablet-set.js';

const setCell = (value: Buffer): ValidMutation => ({
  kind: 'setCell',
  family: 'f',
  qualifier: Buffer.from('q'),
  timestampMicros: 1000,
  value,
});

test('initial splits pre-split the table, are sampled, and survive merge passes', async () => {
  const vfs = new MemVfs();
  const store = await openTableStore({
    dir: '/data',
    engine: { vfs },
    splitThresholdBytes: 64 * 1024,
    autoSplit: false,
    clock: new ManualClock(1_700_000_000_000),
    rand: new SeededRand(3),
  });
  const splits = ['m', 'g', 't', 'g'].map((s) => Buffer.from(s));
  await store.createTable('t', { families: new Map([['f', undefined]]), initialSplits: splits });
  const ranges = tabletRanges(store, 't');
  checkCoverage(ranges);
  assert.deepEqual(
    ranges.map((r) => [String(r.startRow ?? ''), String(r.endRow ?? '')]),
    [
      ['', 'g'],
      ['g', 'm'],
      ['m', 't'],
      ['t', ''],
    ],
  );
  assert.deepEqual(
    store
      .tablet('t')
      .sampleRowKeys()
      .map((s) => String(s.rowKey)),
    ['g', 'm', 't', ''],
  );
  for (const key of ['a', 'h', 'n', 'z'])
    await store.tablet('t').mutateRow(Buffer.from(key), [setCell(Buffer.from(key))]);
  await maintainTablets(store);
  assert.equal(tabletRanges(store, 't').length, 4, 'empty pre-split tablets are not merged');
  await store.close();
});

test('the memtables of many tablets stay within the memtable budget', async () => {
  const vfs = new MemVfs();
  const budget = 256 * 1024;
  const store = await openTableStore({
    dir: '/data',
    engine: { vfs, memtableBytes: 1024 * 1024 },
    memtableBudgetBytes: budget,
    splitThresholdBytes: 64 * 1024 * 1024,
    autoSplit: false,
    clock: new ManualClock(1_700_000_000_000),
    rand: new SeededRand(4),
  });
  const splits = Array.from({ length: 15 }, (_, i) => Buffer.from(`k${String(i + 1).padStart(2, '0')}`));
  await store.createTable('t', { families: new Map([['f', undefined]]), initialSplits: splits });
  const engines = tabletEngines(store, 't');
  assert.equal(engines.length, 16);
  let peak = 0;
  const value = Buffer.alloc(200, 7);
  for (let i = 0; i < 8000; i++) {
    const row = Buffer.from(`k${String(i % 16).padStart(2, '0')}-${i}`);
    await store.tablet('t').mutateRow(row, [setCell(value)]);
    const total = engines.reduce((n, e) => n + e.memtableBytes(), 0);
    peak = Math.max(peak, total);
  }
  // Each tablet alone may hold up to 1 MiB; together they are kept near the budget.
  const written = 8000 * 200;
  assert.ok(written > 4 * budget, 'the workload writes far more than the budget');
  assert.ok(peak < budget * 1.5, `memtables peaked at ${peak} bytes against a budget of ${budget}`);
  await store.close();
});

test('a tablet that stays hot splits below the size threshold; a cool one does not', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const store = await openTableStore({
    dir: '/data',
    engine: { vfs: new MemVfs() },
    splitThresholdBytes: 64 * 1024 * 1024,
    hotSplit: { opsPerSec: 100, windowMs: 5_000, bytesMin: 8 * 1024 },
    clock,
    rand: new SeededRand(5),
  });
  await store.createTable('t', { families: new Map([['f', undefined]]), initialSplits: [] });
  const value = Buffer.alloc(100, 1);
  let row = 0;
  const writeFor = async (seconds: number, perSecond: number) => {
    for (let s = 0; s < seconds; s++) {
      for (let i = 0; i < perSecond; i++) {
        await store
          .tablet('t')
          .mutateRow(Buffer.from(`r${String(row++).padStart(6, '0')}`), [setCell(value)]);
      }
      clock.advance(1000);
    }
  };
  await writeFor(10, 50);
  await maintainTablets(store);
  assert.equal(tabletRanges(store, 't').length, 1, 'a tablet under the rate does not split');
  await writeFor(8, 150);
  await maintainTablets(store);
  assert.ok(tabletRanges(store, 't').length >= 2, 'a tablet over the rate for the window splits');
  await store.close();
});
