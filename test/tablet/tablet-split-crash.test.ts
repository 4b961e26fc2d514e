/**
 * Crash at every persistence point of a tablet split and of a merge, on the in-memory crashable
 * file system: recovery must yield a valid catalog and every acknowledged write.
 *
 * Three workloads run on MemVfs with a tiny split threshold:
 * - split: a table over the threshold, then a maintenance pass that splits it (several times);
 * - merge: a split table, reopened with a larger threshold, loses most rows, its tablets are
 *   compacted and merged back;
 * - split of a split, then merges of references of references (no compaction in between), so
 *   grandchildren and merged tablets read the first tablet's physical SSTables.
 * During each maintenance pass the workload writes: a few writes issued just before it without
 * being awaited; one into each tablet the moment a split or merge closes its gate (it waits, then
 * goes to the tablet owning its row); one at each persistence point of the protocol (a flush, a
 * manifest, a child's creation, the catalog commit…) up to a budget. Each workload asserts that
 * writes did wait at a closed gate.
 *
 * Each workload runs once counting its persistence points (each fsync, directory fsync, rename and
 * directory removal), then again taking at every point the disk image a power loss would leave,
 * with and without a torn unsynced tail; the two runs must make the same points in the same order.
 * Every distinct image is recovered and checked by `checkCrashState`
 * (test/support/tablet-crash-support.ts): the store opens, the tablets cover the row space with no
 * gap or overlap, every acknowledged write is readable with its value, nothing never written
 * appears, each row lies in exactly one tablet and only that tablet's engine holds it, no directory
 * is an orphan, and further writes, a maintenance pass, reopening and compacting every tablet all
 * work (after which only the live tablets' directories remain).
 *
 * Negative controls run the same checker on images broken the way a wrong protocol would break
 * them (the parent's directory deleted before the commit point, its SSTables deleted after it while
 * children reference them, a commit that lost a child's record) and require it to fail there while
 * passing on the intact image. A regression test pins the one bug this test found.
 *
 * Workload sizes and write patterns derive from the printed seed: TABULA_SEED=n replays a run,
 * and TABULA_CRASH_POINT=<index> (the # printed in a failure) checks that point only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRand } from '../../src/common/clock.js';
import { rowStartKey } from '../../src/model/cell-key.js';
import { Engine } from '../../src/storage/engine.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { Catalog } from '../../src/tablet/catalog.js';
import {
  maintainTablets,
  openTableStore,
  tabletEngines,
  tabletRanges,
  tabletStats,
} from '../../src/tablet/table-store.js';
import type { TableStore } from '../../src/tablet/table-store-api.js';
import type { TabletHandle } from '../../src/tablet/tablet-handle.js';
import { testSeeds, withSeed } from '../support/seed.js';
import {
  type CrashPoint,
  CrashRecorder,
  checkCrashState,
  checkLayout,
  DIR,
  distinctStates,
  rowInRange,
  rowName,
  storeOptions,
  TABLE,
  WriteModel,
  watchGates,
} from '../support/tablet-crash-support.js';

/** The split threshold of the workloads (SPLIT_THRESHOLD_BYTES_MIN). */
const THRESHOLD_BYTES = 4096;
/** The threshold workloads B and C merge under: 16 KiB tablets are "small" (a quarter of it). */
const MERGE_THRESHOLD_BYTES = 64 * 1024;
const LOAD_BATCH_ROWS = 25;
const CONCURRENT_WRITES_MAX = 16;
/** Workload B keeps one row in this many before merging. */
const SURVIVOR_STRIDE = 10;
const ONLY_POINT =
  process.env.TABULA_CRASH_POINT === undefined ? undefined : Number(process.env.TABULA_CRASH_POINT);

/** One run of a workload: its store, model, recorder and the facts the controls need. */
class Harness {
  readonly vfs = new MemVfs();
  readonly model = new WriteModel();
  readonly recorder: CrashRecorder;
  /** Workload parameters drawn from the seed (the same on every run of one seed). */
  readonly rand: SeededRand;
  store!: TableStore;
  tableDir = '';
  firstTabletDir = '';
  /** Writes that waited at a tablet's closed gate during the maintenance passes. */
  gateWaits = 0;

  constructor(
    readonly seed: number,
    keepImages: boolean,
  ) {
    this.rand = new SeededRand(seed);
    this.recorder = new CrashRecorder(this.vfs, this.model, seed, keepImages);
  }

  async open(thresholdBytes: number): Promise<void> {
    this.store = await openTableStore(storeOptions(this.vfs, thresholdBytes, this.seed));
  }

  async createAndLoad(rows: number): Promise<void> {
    await this.store.createTable(TABLE, { families: new Map([['f', undefined]]), initialSplits: [] });
    [this.tableDir = ''] = await this.vfs.list(`${DIR}/tables`);
    [this.firstTabletDir = ''] = await this.vfs.list(`${DIR}/tables/${this.tableDir}`);
    for (let i = 0; i < rows; i += LOAD_BATCH_ROWS) {
      const batch = Array.from({ length: Math.min(LOAD_BATCH_ROWS, rows - i) }, (_, k) => rowName(i + k));
      await this.model.mutateRows(this.store, batch, 'put');
    }
  }

  /**
   * Runs a maintenance pass with writes beside it: three issued just before it (not awaited); one
   * to each tablet as a split or merge closes its gate (it waits there, then goes to a child); and
   * one at each persistence point that is not a tablet's WAL sync (a write's own sync would feed
   * the next), up to CONCURRENT_WRITES_MAX, so writes arrive at every step of the protocol. Rows
   * come from `rows` with a seeded stride. Every write is issued after the call that triggered it
   * returns, in a deterministic order.
   */
  async maintainWithWrites(rows: readonly string[]): Promise<void> {
    let next = this.rand.int(rows.length);
    const stride = 1 + this.rand.int(12);
    let budget = CONCURRENT_WRITES_MAX;
    const write = (inside?: TabletHandle) => {
      for (let tries = 0; tries < rows.length; tries++) {
        next = (next + stride) % rows.length;
        const row = rows[next] as string;
        if (this.model.busy(row) || (inside && !inside.containsKey(rowStartKey(Buffer.from(row))))) continue;
        this.model.put(this.store, row).catch(() => undefined);
        return;
      }
    };
    const onPause = (t: TabletHandle) => queueMicrotask(() => write(t));
    this.gateWaits += await watchGates(onPause, async () => {
      for (let i = 0; i < 3; i++) write();
      this.recorder.onPoint = (_kind, path) => {
        if (budget <= 0 || (path.endsWith('.log') && !path.includes('/catalog/'))) return;
        budget--;
        queueMicrotask(() => write());
      };
      try {
        await maintainTablets(this.store);
      } finally {
        this.recorder.onPoint = undefined;
      }
      await this.model.settle();
    });
  }

  async writeAfter(rows: readonly string[]): Promise<void> {
    for (const row of rows) await this.model.put(this.store, row);
  }
}

const rowRange = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => rowName(from + i));

interface Workload {
  readonly name: string;
  /** The threshold recovery reopens with. */
  readonly thresholdBytes: number;
  run(h: Harness): Promise<void>;
}

/** A: one table over the threshold splits, several times, with writes beside the splits. */
const splitWorkload: Workload = {
  name: 'split',
  thresholdBytes: THRESHOLD_BYTES,
  async run(h) {
    const rows = 100 + h.rand.int(40);
    await h.open(THRESHOLD_BYTES);
    await h.createAndLoad(rows);
    h.recorder.armed = true;
    await h.maintainWithWrites(rowRange(0, rows + 20));
    assert.ok(h.gateWaits > 0, 'some writes waited at the closed gate of a splitting tablet');
    const stats = tabletStats(h.store);
    assert.ok((stats?.splits ?? 0) >= 2, `the table split (splits=${stats?.splits})`);
    await h.writeAfter([rowName(3), rowName(60), rowName(rows + 30)]);
    checkLayout(h.store);
    await h.store.close();
  },
};

/**
 * B: a split table, reopened with a larger threshold (an SSTable's fixed overhead alone is near a
 * quarter of the smallest threshold), loses most rows, is compacted, and merges back with writes
 * beside it.
 */
const mergeWorkload: Workload = {
  name: 'merge',
  thresholdBytes: MERGE_THRESHOLD_BYTES,
  async run(h) {
    const rows = 100 + h.rand.int(40);
    await h.open(THRESHOLD_BYTES);
    await h.createAndLoad(rows);
    await maintainTablets(h.store);
    const before = tabletRanges(h.store, TABLE).length;
    assert.ok(before >= 3, `the table split first (tablets=${before})`);
    await h.store.close();
    await h.open(MERGE_THRESHOLD_BYTES);
    h.recorder.armed = true;
    const doomed = rowRange(0, rows).filter((_, i) => i % SURVIVOR_STRIDE !== 0);
    for (let i = 0; i < doomed.length; i += 40)
      await h.model.mutateRows(h.store, doomed.slice(i, i + 40), 'delete');
    for (const engine of tabletEngines(h.store, TABLE)) await engine.compactAll();
    const survivors = rowRange(0, rows).filter((_, i) => i % SURVIVOR_STRIDE === 0);
    await h.maintainWithWrites(survivors);
    const after = tabletRanges(h.store, TABLE).length;
    assert.ok(
      (tabletStats(h.store)?.merges ?? 0) >= 1 && after < before,
      `tablets merged (${before} → ${after})`,
    );
    assert.ok(h.gateWaits > 0, 'some writes waited at the closed gate of merging tablets');
    await h.writeAfter([rowName(5), rowName(50)]);
    checkLayout(h.store);
    await h.store.close();
  },
};

/**
 * C: splits of splits with no compaction between (grandchildren reference the first tablet's
 * files), then, reopened with a larger threshold, merges of those references twice over.
 */
const refsOfRefsWorkload: Workload = {
  name: 'split twice, merge refs of refs',
  thresholdBytes: MERGE_THRESHOLD_BYTES,
  async run(h) {
    const rows = 110 + h.rand.int(30);
    await h.open(THRESHOLD_BYTES);
    await h.createAndLoad(rows);
    h.recorder.armed = true;
    await h.maintainWithWrites(rowRange(0, rows));
    const split = tabletRanges(h.store, TABLE).length;
    assert.ok(split >= 4, `the table split twice over (tablets=${split})`);
    const physical = new Set(
      tabletEngines(h.store, TABLE).flatMap((e) => e.referencedSources().map((s) => s.dir)),
    );
    assert.ok(physical.has(h.firstTabletDir), 'grandchildren reference the first tablet’s SSTables');
    await h.store.close();
    await h.open(MERGE_THRESHOLD_BYTES);
    await h.maintainWithWrites(rowRange(0, rows));
    await maintainTablets(h.store);
    const merged = tabletRanges(h.store, TABLE).length;
    assert.ok(merged < split - 1, `merged tablets merged again (${split} → ${merged})`);
    assert.ok(h.gateWaits > 0, 'some writes waited at the closed gate of a splitting or merging tablet');
    await h.writeAfter([rowName(1), rowName(rows - 1)]);
    checkLayout(h.store);
    await h.store.close();
  },
};

/** Runs `w` twice (counting, then imaging) and checks every distinct crash state. */
async function crashEveryPoint(w: Workload, seed: number): Promise<{ points: number; states: number }> {
  const counting = new Harness(seed, false);
  await w.run(counting);
  counting.recorder.detach();
  const h = new Harness(seed, true);
  await w.run(h);
  h.recorder.detach();
  assert.deepEqual(
    h.recorder.trace,
    counting.recorder.trace,
    `${w.name}: reruns make the same persistence points`,
  );
  const points = h.recorder.trace.length;
  assert.ok(points >= 20, `${w.name}: too few persistence points (${points})`);
  let states = 0;
  const distinct = await distinctStates(h.recorder.points);
  for (let p = distinct.shift(); p !== undefined; p = distinct.shift()) {
    if (ONLY_POINT !== undefined && p.index !== ONLY_POINT) continue;
    try {
      await checkCrashState(p.image, h.model, p.expect, w.thresholdBytes);
    } catch (err) {
      if (err instanceof Error) err.message = `${w.name}: crash at ${p.label}: ${err.message}`;
      throw err;
    }
    states++;
  }
  return { points, states };
}

for (const w of [splitWorkload, mergeWorkload, refsOfRefsWorkload]) {
  test(`crash at every persistence point of a ${w.name}: every state recovers`, async () => {
    const [seed] = testSeeds(1) as [number];
    const startedMs = performance.now();
    const { points, states } = await withSeed(seed, () => crashEveryPoint(w, seed));
    const ms = Math.round(performance.now() - startedMs);
    console.log(
      `${w.name} (seed ${seed}): ${points} persistence points, ${states} distinct crash states checked in ${ms} ms`,
    );
  });
}

/**
 * Requires `checkCrashState` to pass on a copy of `point`'s image and to fail on another copy
 * damaged by `damage` (so the failure is the damage's). Returns the failure's message.
 */
async function mustDetect(
  h: Harness,
  point: CrashPoint,
  damage: (image: MemVfs) => Promise<void>,
): Promise<string> {
  await checkCrashState(point.image.crashImage(), h.model, point.expect, THRESHOLD_BYTES);
  const damaged = point.image.crashImage();
  await damage(damaged);
  let message = '';
  await assert.rejects(checkCrashState(damaged, h.model, point.expect, THRESHOLD_BYTES), (err: Error) => {
    message = err.message;
    return true;
  });
  return message;
}

test('negative controls: the checker fails on images a wrong protocol would leave', async () => {
  const [seed] = testSeeds(1) as [number];
  await withSeed(seed, async () => {
    const h = new Harness(seed, true);
    await splitWorkload.run(h);
    h.recorder.detach();
    const tableDir = `${DIR}/tables/${h.tableDir}`;
    const parentDir = `${tableDir}/${h.firstTabletDir}`;
    // The first split creates its children (then syncs the table directory) before the catalog
    // commit (the next catalog WAL sync).
    const points = h.recorder.points.filter((p) => !p.torn);
    const created = points.findIndex((p) => p.label.endsWith(`syncDir ${tableDir}`));
    const commit = points.findIndex((p, i) => i > created && p.label.includes(`${DIR}/catalog/`));
    assert.ok(created >= 0 && commit > created, 'the split creates children, then commits');
    const detected: string[] = [];
    // The parent's directory collected before the commit point: its rows are lost.
    detected.push(await mustDetect(h, points[created] as CrashPoint, (image) => image.removeDir(parentDir)));
    // The parent's SSTables deleted after the commit while the children reference them.
    detected.push(
      await mustDetect(h, points[commit] as CrashPoint, async (image) => {
        for (const name of await image.list(parentDir))
          if (name.endsWith('.sst')) await image.remove(`${parentDir}/${name}`);
      }),
    );
    // A commit that recorded only one child: the tablets no longer cover the row space.
    detected.push(
      await mustDetect(h, points[commit] as CrashPoint, async (image) => {
        const engine = await Engine.open({
          ...storeOptions(image, THRESHOLD_BYTES, seed).engine,
          dir: `${DIR}/catalog`,
        });
        const catalog = new Catalog(engine);
        const [first] = catalog
          .listTablets()
          .sort((a, b) => Buffer.compare(a.startRow ?? Buffer.alloc(0), b.startRow ?? Buffer.alloc(0)));
        assert.ok(first);
        await catalog.commit({ removeTablets: [first] });
        await engine.close();
      }),
    );
    console.log(`negative controls detected:\n  ${detected.join('\n  ')}`);
  });
});

/**
 * Regression: while a table opened, a tablet that compacted right after its own open (its WAL
 * replayed into a fourth level-0 file) released its references to the first tablet's SSTables
 * before the tablets opened after it had counted theirs: the count fell to zero and the retired
 * directory was deleted with SSTables live tablets still read ("a live sstable is missing" at the
 * next open). Tablets open in directory-name order, which here is creation order, so the workload
 * makes the first tablet compact at open and the second slow to open (a long WAL to replay). It
 * happens after a crash and after a clean close alike.
 */
test('regression: a tablet compacting while its table opens keeps SSTables later tablets reference', async () => {
  for (const crash of [true, false]) {
    const vfs = new MemVfs();
    const model = new WriteModel();
    const store = await openTableStore(storeOptions(vfs, THRESHOLD_BYTES, 7));
    await store.createTable(TABLE, { families: new Map([['f', undefined]]), initialSplits: [] });
    // Three level-0 files, each spanning every row: every tablet split from them references all three.
    for (let b = 0; b < 3; b++) {
      await model.mutateRows(
        store,
        rowRange(0, 40).map((_, k) => rowName(k * 3 + b)),
        'put',
      );
      await tabletEngines(store, TABLE)[0]?.flush();
    }
    await maintainTablets(store);
    const ranges = tabletRanges(store, TABLE);
    assert.ok(ranges.length >= 3, `the table split twice over (tablets=${ranges.length})`);
    const inside = (i: number) =>
      model.rows().filter((r) => rowInRange(ranges[i] as (typeof ranges)[number], Buffer.from(r)));
    for (const row of inside(0).slice(0, 3)) await model.put(store, row);
    const slow = inside(1);
    for (let i = 0; i < 60; i++) await model.put(store, slow[i % slow.length] as string);
    const image = crash ? vfs.crashImage() : vfs;
    const expect = model.expectation();
    await store.close();
    await checkCrashState(image, model, expect, THRESHOLD_BYTES).catch((err: Error) => {
      err.message = `reopened ${crash ? 'after a crash' : 'after a clean close'}: ${err.message}`;
      throw err;
    });
  }
});
