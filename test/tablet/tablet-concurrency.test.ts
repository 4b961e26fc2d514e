/**
 * Splits and merges while requests run: concurrent writers (each writing distinct rows, recording
 * each acknowledgement, and deleting most of what they wrote a little earlier), a deleter that
 * removes whole finished key regions, scanners that pull full scans slowly — one event-loop turn
 * per row, so tablets split and merge under them — and a maintainer that flushes the tablets (so
 * compactions drop deleted cells and tablets shrink) and forces split and merge passes, on top of
 * the store's own automatic splits and merges. No row may be lost or duplicated:
 *
 * - every scan is strictly increasing (decreasing when reversed): no duplicate, no reordering;
 * - every row acknowledged before a scan started, and not being deleted, is in it;
 * - no scan shows a row whose deletion was acknowledged before it started, nor a row never written;
 * - at the end every acknowledged, undeleted row is present exactly once, the tablet invariants
 *   hold (test/support/tablet-invariants.ts), and the table both split and merged.
 *
 * A second test sends 200 increments to one counter row from concurrent callers, each followed by
 * a CheckAndMutateRow, while the counter's tablet splits and merges: the increments must see every
 * value from 1 to 200 exactly once and every check-and-mutate must apply. Regression tests for the
 * bugs these tests found close the file.
 *
 * Events are ordered by a logical tick (`History.tick`), bumped at every acknowledgement and at the
 * start and end of every scan and deletion, so the checks never depend on wall-clock time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { SeededRand } from '../../src/common/clock.js';
import type { ValidMutation } from '../../src/model/mutation.js';
import type { Cell } from '../../src/model/row-cells.js';
import { compileRowFilter } from '../../src/model/row-filter.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import type { WritableFile } from '../../src/storage/vfs.js';
import {
  maintainTablets,
  openTableStore,
  type TableStoreOptions,
  type TabletStats,
  tabletEngines,
  tabletRanges,
  tabletStats,
} from '../../src/tablet/table-store.js';
import type { ReadRowsQuery, TableStore } from '../../src/tablet/table-store-api.js';
import type { PausePhases } from '../../src/tablet/tablet-split.js';
import { testSeeds, withSeed } from '../support/seed.js';
import { checkTabletInvariants, rowInRange } from '../support/tablet-invariants.js';

const TABLE = 't';
const WRITERS = 4;
const SCANNERS = 3;
/**
 * Writes stalled longer than this fail (RESOURCE_EXHAUSTED) instead of waiting the default 30 s,
 * so a split that deadlocks with the writes it waits for fails the test quickly.
 */
const WRITE_STALL_MS = 5_000;

/** What happened to one row, in logical ticks; a row is written once and deleted at most once. */
interface RowEvents {
  ackTick?: number;
  deleteStartTick?: number;
  deleteAckTick?: number;
}

interface Workload {
  rowsPerWriter: number;
  /** Rows per writer in one key region; the deleter removes finished regions whole. */
  regionRows: number;
  valueBytesMin: number;
  valueBytesMax: number;
  /**
   * Each writer deletes the rows it wrote this many rows ago, except one in `keepEvery`: tablets
   * shrink while they are written (compactions drop the deleted cells), so neighbours merge.
   */
  deleteLagRows: number;
  keepEvery: number;
}

/** The shared state of one run. */
class History {
  tick = 0;
  readonly rows = new Map<string, RowEvents>();
  /** Rows each writer has acknowledged so far (its rows below this sequence are all acked). */
  readonly progress = new Array<number>(WRITERS).fill(0);
  writersDone = false;
  scans = 0;
  scannedRows = 0;
  readonly errors: unknown[] = [];
}

/** Engine options of the in-memory runs: tiny memtables, blocks and files, eager compaction. */
const TINY_ENGINE = {
  memtableBytes: 8 * 1024,
  blockBytes: 512,
  targetFileBytes: 8 * 1024,
  l0CompactionTrigger: 1,
  writeStallMsMax: WRITE_STALL_MS,
};

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const describePause = (p: PausePhases) =>
  `drain ${p.drainMs.toFixed(1)} hand-over ${p.handOverMs.toFixed(1)} adopt ${p.adoptMs.toFixed(1)} commit ${p.commitMs.toFixed(1)}`;
const regionPrefix = (region: number) => `r${pad(region, 3)}-`;

function rowKey(w: Workload, writer: number, seq: number): Buffer {
  return Buffer.from(`${regionPrefix(Math.floor(seq / w.regionRows))}${writer}-${pad(seq, 5)}`);
}

function value(rand: SeededRand, w: Pick<Workload, 'valueBytesMin' | 'valueBytesMax'>): Buffer {
  const out = Buffer.alloc(w.valueBytesMin + rand.int(w.valueBytesMax - w.valueBytesMin + 1));
  for (let i = 0; i < out.length; i++) out[i] = rand.int(256);
  return out;
}

const setCell = (family: string, q: string, v: Buffer): ValidMutation => ({
  kind: 'setCell',
  family,
  qualifier: Buffer.from(q),
  timestampMicros: 1000,
  value: v,
});

function fullScan(reversed: boolean): ReadRowsQuery {
  return {
    selection: { rowKeys: [], rowRanges: [], all: true },
    filter: compileRowFilter(undefined),
    rowsLimit: 0,
    reversed,
  };
}

/** Writes `rowsPerWriter` distinct rows, one row or a small batch at a time, recording each ack. */
async function writer(
  store: TableStore,
  h: History,
  w: Workload,
  id: number,
  rand: SeededRand,
): Promise<void> {
  for (let seq = 0; seq < w.rowsPerWriter; ) {
    const keys: Buffer[] = [];
    const doomed: Buffer[] = [];
    for (let n = rand.int(4) === 0 ? 1 + rand.int(8) : 1; n > 0 && seq < w.rowsPerWriter; n--) {
      const old = seq - w.deleteLagRows;
      if (w.deleteLagRows > 0 && old >= 0 && old % w.keepEvery !== 0) doomed.push(rowKey(w, id, old));
      keys.push(rowKey(w, id, seq++));
    }
    for (const k of keys) h.rows.set(k.toString('latin1'), {});
    if (keys.length === 1) {
      await store.tablet(TABLE).mutateRow(keys[0] as Buffer, [setCell('f', 'v', value(rand, w))]);
    } else {
      const outcomes = await store
        .tablet(TABLE)
        .mutateRows(keys.map((rowKey) => ({ rowKey, mutations: [setCell('f', 'v', value(rand, w))] })));
      assert.deepEqual(outcomes, new Array(keys.length).fill(undefined), 'every batch entry applied');
    }
    const tick = ++h.tick;
    for (const k of keys) (h.rows.get(k.toString('latin1')) as RowEvents).ackTick = tick;
    h.progress[id] = seq;
    if (doomed.length > 0) await deleteRows(store, h, doomed);
    // MemVfs completes I/O in microtasks: yield a turn so that scans and timers interleave.
    await nextTurn();
  }
}

/** Deletes `keys` with one MutateRows of DeleteFromRow entries, recording when. */
async function deleteRows(store: TableStore, h: History, keys: readonly Buffer[]): Promise<void> {
  const startTick = ++h.tick;
  for (const k of keys) (h.rows.get(k.toString('latin1')) as RowEvents).deleteStartTick = startTick;
  const outcomes = await store
    .tablet(TABLE)
    .mutateRows(keys.map((rowKey) => ({ rowKey, mutations: [{ kind: 'deleteFromRow' } as const] })));
  assert.deepEqual(outcomes, new Array(keys.length).fill(undefined), 'every deletion applied');
  const ackTick = ++h.tick;
  for (const k of keys) (h.rows.get(k.toString('latin1')) as RowEvents).deleteAckTick = ackTick;
}

/**
 * Deletes each key region once every writer has moved two regions past it (two of every three
 * regions: the third keeps data to the end), by DropRowRange or by DeleteFromRow batches, then
 * forces a split and merge pass.
 */
async function deleter(store: TableStore, h: History, w: Workload, rand: SeededRand): Promise<void> {
  const regions = Math.ceil(w.rowsPerWriter / w.regionRows);
  for (let region = 0; region < regions; ) {
    const finished = Math.floor(Math.min(...h.progress) / w.regionRows);
    if (!h.writersDone && finished < region + 2) {
      await sleep(5);
      continue;
    }
    if (region % 3 !== 2) {
      const prefix = regionPrefix(region);
      const keys = [...h.rows]
        .filter(([k, e]) => k.startsWith(prefix) && e.deleteStartTick === undefined)
        .map(([k]) => Buffer.from(k, 'latin1'));
      if (rand.int(2) === 0) {
        const startTick = ++h.tick;
        for (const k of keys) (h.rows.get(k.toString('latin1')) as RowEvents).deleteStartTick = startTick;
        await store.dropRowRange(TABLE, { rowKeyPrefix: Buffer.from(prefix) });
        const ackTick = ++h.tick;
        for (const k of keys) (h.rows.get(k.toString('latin1')) as RowEvents).deleteAckTick = ackTick;
      } else {
        for (let i = 0; i < keys.length; i += 50) await deleteRows(store, h, keys.slice(i, i + 50));
      }
      await flushTablets(store);
      await maintainTablets(store);
    }
    region++;
  }
}

/** Full scans, forward or reversed, one event-loop turn per row, each checked against the history. */
async function scanner(store: TableStore, h: History, reversed: boolean, done: () => boolean): Promise<void> {
  while (!done()) {
    const startTick = ++h.tick;
    const seen = new Set<string>();
    let last: Buffer | undefined;
    for (const row of store.tablet(TABLE).readRows(fullScan(reversed))) {
      if (last !== undefined) {
        const order = Buffer.compare(last, row.key);
        assert.ok(reversed ? order > 0 : order < 0, `scan (reversed=${reversed}) out of order at ${row.key}`);
      }
      last = row.key;
      const key = row.key.toString('latin1');
      const events = h.rows.get(key);
      assert.ok(events !== undefined, `scan shows row ${key} that was never written`);
      assert.ok(
        events.deleteAckTick === undefined || events.deleteAckTick > startTick,
        `scan shows row ${key} deleted before the scan started`,
      );
      seen.add(key);
      await nextTurn();
    }
    const endTick = ++h.tick;
    for (const [key, e] of h.rows) {
      const owed = e.ackTick !== undefined && e.ackTick < startTick;
      const deleting = e.deleteStartTick !== undefined && e.deleteStartTick < endTick;
      if (owed && !deleting) assert.ok(seen.has(key), `scan (reversed=${reversed}) lost row ${key}`);
    }
    h.scans++;
    h.scannedRows += seen.size;
    await nextTurn();
  }
}

/**
 * Flushes every live tablet's memtable, so that deletions reach level 0 and the compactions they
 * trigger (l0CompactionTrigger 1) drop the deleted cells: tablets shrink and can merge. Every
 * flush starts while its engine is live; a split or merge retiring it meanwhile closes it only
 * after the flush. (Engine.compactAll would not do: it does not stop when a split or merge
 * suspends the engine's compactions.)
 */
async function flushTablets(store: TableStore): Promise<void> {
  await Promise.all(tabletEngines(store, TABLE).map((e) => e.flush()));
}

/** Forces flushes and split and merge passes while the writers run. */
async function maintainer(store: TableStore, done: () => boolean): Promise<void> {
  while (!done()) {
    await flushTablets(store);
    await maintainTablets(store);
    await sleep(10);
  }
}

/** Runs `body`, recording a failure instead of rejecting, so the other tasks can wind down. */
async function guarded(h: History, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    h.errors.push(err);
  }
}

/** Every acknowledged row not deleted is present exactly once, in order; nothing else is. */
function checkFinal(store: TableStore, h: History): number {
  const expected = [...h.rows]
    .filter(([, e]) => e.ackTick !== undefined && e.deleteStartTick === undefined)
    .map(([k]) => k)
    .sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
  const got = [...store.tablet(TABLE).readRows(fullScan(false))].map((r) => r.key.toString('latin1'));
  assert.equal(got.length, expected.length, 'final row count');
  assert.deepEqual(got, expected, 'final scan: every acknowledged row exactly once');
  const seen = checkTabletInvariants(store, TABLE);
  assert.equal(seen.rows, expected.length);
  return expected.length;
}

async function runConcurrent(
  options: () => TableStoreOptions,
  w: Workload,
  rand: SeededRand,
  log: (line: string) => void,
): Promise<TabletStats> {
  let store = await openTableStore(options());
  const startedMs = performance.now();
  try {
    await store.createTable(TABLE, { families: new Map([['f', undefined]]), initialSplits: [] });
    const h = new History();
    let scansDone = false;
    const writers = Array.from({ length: WRITERS }, (_, id) =>
      guarded(h, () => writer(store, h, w, id, new SeededRand(rand.int(0x7fffffff)))),
    );
    const writing = Promise.all(writers).then(() => {
      h.writersDone = true;
    });
    const tasks = [
      guarded(h, () => deleter(store, h, w, new SeededRand(rand.int(0x7fffffff)))),
      guarded(h, () => maintainer(store, () => h.writersDone || h.errors.length > 0)),
      ...Array.from({ length: SCANNERS }, (_, i) =>
        guarded(h, () => scanner(store, h, i % 2 === 1, () => scansDone || h.errors.length > 0)),
      ),
    ];
    await writing;
    await tasks[0];
    // Let the scanners finish one more full pass over the final table, then stop them.
    const scansBefore = h.scans;
    while (h.scans < scansBefore + SCANNERS && h.errors.length === 0) await sleep(10);
    scansDone = true;
    await Promise.all(tasks);
    if (h.errors.length > 0) throw h.errors[0];
    await flushTablets(store);
    await maintainTablets(store);
    const rows = checkFinal(store, h);
    const stats = tabletStats(store) as TabletStats;
    log(
      `rows written=${h.rows.size} kept=${rows} tablets=${tabletRanges(store, TABLE).length} ` +
        `scans=${h.scans} (rows scanned=${h.scannedRows}) splits=${stats.splits} merges=${stats.merges} ` +
        `pauseMsMax=${stats.pauseMsMax.toFixed(1)} (${describePause(stats.longestPause)}) ` +
        `pauseMsTotal=${stats.pauseMsTotal.toFixed(1)} ${Math.round(performance.now() - startedMs)} ms`,
    );
    assert.ok(stats.splits > 0, 'tablets split');
    assert.ok(stats.merges > 0, 'tablets merged');
    // Everything survives a reopen.
    await store.close();
    store = await openTableStore(options());
    assert.equal(checkFinal(store, h), rows);
    return stats;
  } finally {
    await store.close();
  }
}

test('no row is lost or duplicated while tablets split and merge under writers and scans', async (t) => {
  for (const seed of testSeeds(2)) {
    await withSeed(seed, async (rand) => {
      const vfs = new MemVfs();
      const storeRand = new SeededRand(rand.int(0x7fffffff));
      const options = (): TableStoreOptions => ({
        dir: '/data',
        engine: { vfs, ...TINY_ENGINE },
        splitThresholdBytes: 8 * 1024,
        sampleIntervalBytes: 4 * 1024,
        autoSplit: true,
        rand: storeRand,
      });
      const workload = {
        rowsPerWriter: 600,
        regionRows: 60,
        valueBytesMin: 100,
        valueBytesMax: 250,
        deleteLagRows: 20,
        keepEvery: 10,
      };
      await runConcurrent(options, workload, rand, (line) => t.diagnostic(`seed ${seed}: ${line}`));
    });
  }
});

test('no row is lost or duplicated on a real disk with worker-thread compaction', async (t) => {
  for (const seed of testSeeds(1)) {
    const dir = mkdtempSync(join(tmpdir(), 'tabula-tablet-concurrency-'));
    try {
      await withSeed(seed, async (rand) => {
        const options = (): TableStoreOptions => ({
          dir,
          engine: {
            memtableBytes: 32 * 1024,
            targetFileBytes: 32 * 1024,
            l0CompactionTrigger: 1,
            executor: 'worker',
            writeStallMsMax: WRITE_STALL_MS,
          },
          splitThresholdBytes: 64 * 1024,
          autoSplit: true,
          rand: new SeededRand(rand.int(0x7fffffff)),
        });
        const workload = {
          rowsPerWriter: 700,
          regionRows: 100,
          valueBytesMin: 200,
          valueBytesMax: 400,
          deleteLagRows: 40,
          keepEvery: 10,
        };
        await runConcurrent(options, workload, rand, (line) => t.diagnostic(`seed ${seed} (disk): ${line}`));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

/**
 * 200 increments of one counter from 8 concurrent callers, each followed by a CheckAndMutateRow
 * that records the value it saw, while fillers around the counter make its tablet split and a
 * cleaner deletes them so it merges back.
 */
test('read-modify-write and check-and-mutate stay exact while their tablet splits and merges', async (t) => {
  for (const seed of testSeeds(2)) {
    await withSeed(seed, async (rand) => {
      const vfs = new MemVfs();
      const store = await openTableStore({
        dir: '/data',
        engine: { vfs, ...TINY_ENGINE },
        splitThresholdBytes: 4 * 1024,
        autoSplit: true,
        rand: new SeededRand(rand.int(0x7fffffff)),
      });
      try {
        await runCounter(store, rand, (line) => t.diagnostic(`seed ${seed}: ${line}`));
      } finally {
        await store.close();
      }
    });
  }
});

const INCREMENTS = 200;
const CALLERS = 8;
const COUNTER_ROW = Buffer.from('m-counter');

async function runCounter(store: TableStore, rand: SeededRand, log: (line: string) => void): Promise<void> {
  await store.createTable(TABLE, {
    families: new Map([
      ['f', undefined],
      ['c', undefined],
    ]),
    initialSplits: [],
  });
  const tablet = store.tablet(TABLE);
  const seen: number[] = [];
  /** The ranges of the tablets the counter row lived in. */
  const counterHomes = new Set<string>();
  let callersDone = false;
  const caller = async (id: number) => {
    for (let i = 0; i < INCREMENTS / CALLERS; i++) {
      const row = await tablet.readModifyWriteRow(COUNTER_ROW, [
        { kind: 'increment', family: 'c', qualifier: Buffer.from('n'), amount: 1n },
      ]);
      const n = Number((row.cells[0] as Cell).value.readBigInt64BE(0));
      seen.push(n);
      const matched = await tablet.checkAndMutateRow(
        COUNTER_ROW,
        undefined,
        [setCell('c', `saw-${pad(n, 3)}`, Buffer.from(`${id}`))],
        [],
      );
      assert.ok(matched, 'the counter row exists');
      for (let k = rand.int(6); k > 0; k--) await nextTurn();
    }
  };
  // Fillers on both sides of the counter grow its tablet past the threshold again and again; each
  // round is deleted once written, so the tablets shrink and merge back.
  const filler = async () => {
    for (let round = 0; !callersDone; round++) {
      const keys = Array.from({ length: 40 }, (_, i) =>
        Buffer.from(`m-${i % 2 === 0 ? 'a' : 'z'}-${pad(round, 4)}-${pad(i, 2)}`),
      );
      const written = await tablet.mutateRows(
        keys.map((rowKey) => ({ rowKey, mutations: [setCell('f', 'v', Buffer.alloc(200, round))] })),
      );
      assert.ok(written.every((o) => o === undefined));
      await maintainTablets(store);
      const deleted = await tablet.mutateRows(
        keys
          .filter((_, i) => i % 2 === 1)
          .map((rowKey) => ({ rowKey, mutations: [{ kind: 'deleteFromRow' }] })),
      );
      assert.ok(deleted.every((o) => o === undefined));
      await store.dropRowRange(TABLE, { rowKeyPrefix: Buffer.from('m-a-') });
      await flushTablets(store);
      await maintainTablets(store);
      const home = tabletRanges(store, TABLE).find((r) => rowInRange(r, COUNTER_ROW));
      counterHomes.add(`${home?.startRow?.toString('latin1')}..${home?.endRow?.toString('latin1')}`);
      // MemVfs completes I/O in microtasks: yield a turn so that the callers interleave.
      await nextTurn();
    }
  };
  const fill = filler();
  await Promise.all(Array.from({ length: CALLERS }, (_, id) => caller(id)));
  callersDone = true;
  await fill;
  await maintainTablets(store);
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    Array.from({ length: INCREMENTS }, (_, i) => i + 1),
    'each increment saw a distinct value, 1 to 200',
  );
  const [row] = [
    ...tablet.readRows({
      ...fullScan(false),
      selection: { rowKeys: [COUNTER_ROW], rowRanges: [], all: false },
    }),
  ];
  const latest = row?.cells.find((c) => c.qualifier.equals(Buffer.from('n')));
  assert.equal(latest?.value.readBigInt64BE(0), BigInt(INCREMENTS), 'the final count');
  const marks = new Set(
    row?.cells.filter((c) => c.qualifier.toString().startsWith('saw-')).map((c) => c.qualifier.toString()),
  );
  assert.equal(marks.size, INCREMENTS, 'every check-and-mutate applied');
  checkTabletInvariants(store, TABLE);
  const stats = tabletStats(store) as TabletStats;
  log(
    `splits=${stats.splits} merges=${stats.merges} pauseMsMax=${stats.pauseMsMax.toFixed(1)} ` +
      `(${describePause(stats.longestPause)}) tablets=${tabletRanges(store, TABLE).length} counter tablet ranges=${counterHomes.size}`,
  );
  assert.ok(stats.splits > 0 && stats.merges > 0, 'tablets split and merged');
  assert.ok(counterHomes.size >= 3, `the counter row moved between tablets (${counterHomes.size} ranges)`);
}

/** A MemVfs whose SSTable syncs take a few milliseconds: flushes, not writes, set the pace. */
class SlowSstVfs extends MemVfs {
  override async createWritable(path: string): Promise<WritableFile> {
    const file = await super.createWritable(path);
    if (!path.endsWith('.sst')) return file;
    const sync = file.sync.bind(file);
    file.sync = async () => {
      await sleep(2);
      await sync();
    };
    return file;
  }
}

/**
 * Regression (found by the test above): a split holds the parent's compactions suspended while it
 * flushes and then waits for the writes inside the tablet to finish. Under a write load that keeps
 * flushes busy, the split's flush kept finding newly frozen memtables while level 0 grew to the
 * stop-writes trigger; the writes inside then stalled (no compaction could make room) and the
 * split waited for them, until they failed with RESOURCE_EXHAUSTED `writes stalled waiting for
 * flush and compaction`.
 */
test('regression: a split does not wait for writes its stopped compactions stall', async () => {
  const store = await openTableStore({
    dir: '/data',
    engine: {
      vfs: new SlowSstVfs(),
      memtableBytes: 8 * 1024,
      blockBytes: 512,
      writeStallMsMax: WRITE_STALL_MS,
    },
    splitThresholdBytes: 8 * 1024,
    autoSplit: true,
    rand: new SeededRand(3),
  });
  try {
    await store.createTable(TABLE, { families: new Map([['f', undefined]]), initialSplits: [] });
    const workload: Workload = {
      rowsPerWriter: 600,
      regionRows: 60,
      valueBytesMin: 100,
      valueBytesMax: 250,
      deleteLagRows: 0,
      keepEvery: 1,
    };
    const rand = new SeededRand(5);
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, id) => {
        for (let seq = 0; seq < workload.rowsPerWriter; ) {
          const entries = [];
          for (let n = 1 + rand.int(8); n > 0 && seq < workload.rowsPerWriter; n--)
            entries.push({
              rowKey: rowKey(workload, id, seq++),
              mutations: [setCell('f', 'v', value(rand, workload))],
            });
          const outcomes = await store.tablet(TABLE).mutateRows(entries);
          for (const o of outcomes) if (o !== undefined) throw o;
        }
      }),
    );
    await maintainTablets(store);
    assert.equal(checkTabletInvariants(store, TABLE).rows, WRITERS * workload.rowsPerWriter);
    assert.ok((tabletStats(store) as TabletStats).splits > 0, 'the table split');
  } finally {
    await store.close();
  }
});

/**
 * Regression (open when written): Engine.compactAll does not stop when a split or merge suspends
 * the engine's compactions. Run on a tablet's engine (tabletEngines, the way tests and tools make
 * deletions shrink a tablet) while the tablet splits, it rewrites and deletes the parent's
 * SSTables after the children took references to them: the split fails, and the store no longer
 * opens (DATA_LOSS `a live sstable is missing`).
 */
test('regression: compacting a tablet engine while the tablet splits loses no file', async () => {
  const vfs = new MemVfs();
  const options = (splitThresholdBytes: number): TableStoreOptions => ({
    dir: '/data',
    // No background compactions: the full compaction below has several steps to run.
    engine: { vfs, memtableBytes: 4096, blockBytes: 512, targetFileBytes: 2048, autoCompact: false },
    splitThresholdBytes,
    autoSplit: false,
    rand: new SeededRand(8),
  });
  let store = await openTableStore(options(64 * 1024));
  const rand = new SeededRand(108);
  const expected = new Set<string>();
  try {
    await store.createTable(TABLE, { families: new Map([['f', undefined]]), initialSplits: [] });
    for (let i = 0; i < 300; i++) {
      const key = `r${pad(rand.int(1000), 4)}`;
      expected.add(key);
      await store
        .tablet(TABLE)
        .mutateRow(Buffer.from(key), [
          setCell('f', 'q', value(rand, { valueBytesMin: 200, valueBytesMax: 200 })),
        ]);
    }
    await store.close();
    // Reopened with a small threshold: the one tablet splits while its engine compacts.
    store = await openTableStore(options(8 * 1024));
    const engine = tabletEngines(store, TABLE)[0] as ReturnType<typeof tabletEngines>[number];
    const compacting = engine.compactAll();
    await maintainTablets(store);
    await compacting;
    checkTabletInvariants(store, TABLE);
    await store.close();
    store = await openTableStore(options(8 * 1024));
    assert.equal(checkTabletInvariants(store, TABLE).rows, expected.size);
  } finally {
    await store.close();
  }
});
