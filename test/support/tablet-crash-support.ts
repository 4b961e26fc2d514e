/**
 * Crash-state harness for tablet splits and merges (test/tablet/tablet-split-crash.test.ts).
 *
 * - `WriteModel` issues the workload's writes through a table store and remembers every one: its
 *   row, its value (or a row delete), its timestamp and whether it was acknowledged. Writes to one
 *   row never overlap (asserted), so a row's durable state after a crash is its state after some
 *   prefix of its writes that holds every acknowledged one.
 * - `CrashRecorder` takes, at every persistence point MemVfs reports (each fsync, directory fsync
 *   and rename) and at each directory removal (durable at once in MemVfs), the disk image a power
 *   loss would leave — also with a torn unsynced tail — plus which writes were issued and
 *   acknowledged at that instant. `distinctStates` drops the points that repeat an earlier state.
 * - `watchGates` lets the workload write into a tablet the moment a split or merge closes its
 *   gate, and counts the writes that waited there.
 * - `checkCrashState` recovers one image and checks it (see its comment).
 *
 * Everything is deterministic: MemVfs resolves without timers, the store runs with the inline
 * executor, a ManualClock and a SeededRand, so a workload makes the same persistence points in the
 * same order on every run (the test asserts it).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ManualClock, SeededRand } from '../../src/common/clock.js';
import { decodeCellKey } from '../../src/model/cell-key.js';
import type { ValidMutation } from '../../src/model/mutation.js';
import type { RowCells } from '../../src/model/row-cells.js';
import { compileRowFilter } from '../../src/model/row-filter.js';
import { Engine } from '../../src/storage/engine.js';
import { parseFileName } from '../../src/storage/file-names.js';
import { type FileSource, sourceKey } from '../../src/storage/file-refs.js';
import { MemVfs, type PersistenceKind } from '../../src/storage/mem-vfs.js';
import { Catalog } from '../../src/tablet/catalog.js';
import { DATA_START_KEY } from '../../src/tablet/row-reader.js';
import {
  maintainTablets,
  openTableStore,
  type TableStoreOptions,
  tabletEngines,
  tabletRanges,
} from '../../src/tablet/table-store.js';
import type { TableStore } from '../../src/tablet/table-store-api.js';
import { TabletHandle } from '../../src/tablet/tablet-handle.js';
import { checkCoverage, type RowRangeBounds } from '../../src/tablet/tablet-set.js';

export const DIR = '/data';
export const TABLE = 't';
const FAMILY = 'f';
const QUALIFIER = Buffer.from('q');
const ENGINE = { memtableBytes: 8 * 1024, blockBytes: 512, targetFileBytes: 8 * 1024 };

/** Options of a store on `vfs`; `seed` and `startMs` make tablet directory names differ per open. */
export function storeOptions(
  vfs: MemVfs,
  thresholdBytes: number,
  seed: number,
  startMs = 1_700_000_000_000,
): TableStoreOptions {
  return {
    dir: DIR,
    engine: { vfs, ...ENGINE },
    splitThresholdBytes: thresholdBytes,
    autoSplit: false,
    clock: new ManualClock(startMs),
    rand: new SeededRand(seed),
  };
}

/** `row%05d`: the model's row keys sort by number. */
export const rowName = (i: number) => `row${String(i).padStart(5, '0')}`;

interface ModelOp {
  readonly row: string;
  /** Undefined for a delete of the whole row. */
  readonly value: string | undefined;
  readonly timestampMicros: number;
  acked: boolean;
}

/** What a crash image must hold: the writes issued and acknowledged at the crash instant. */
export interface Expectation {
  readonly issued: number;
  /** acked[i] = 1 when write i was acknowledged. */
  readonly acked: Uint8Array;
}

/** The workload's writes, issued through a store and remembered. */
export class WriteModel {
  readonly ops: ModelOp[] = [];
  private readonly byRow = new Map<string, number[]>();
  private readonly pending = new Set<Promise<unknown>>();

  /** Issues a put of `row` (not awaited by the caller when concurrent); resolves when acknowledged. */
  put(store: TableStore, row: string): Promise<void> {
    const id = this.add(row, true);
    const op = this.ops[id] as ModelOp;
    const m: ValidMutation = {
      kind: 'setCell',
      family: FAMILY,
      qualifier: QUALIFIER,
      timestampMicros: op.timestampMicros,
      value: Buffer.from(op.value as string),
    };
    return this.track(store.tablet(TABLE).mutateRow(Buffer.from(row), [m]), [id]);
  }

  /** Issues puts (or row deletes) of `rows` as one MutateRows call. */
  async mutateRows(store: TableStore, rows: readonly string[], kind: 'put' | 'delete'): Promise<void> {
    const ids = rows.map((r) => this.add(r, kind === 'put'));
    const entries = ids.map((id) => {
      const op = this.ops[id] as ModelOp;
      const m: ValidMutation =
        op.value === undefined
          ? { kind: 'deleteFromRow' }
          : {
              kind: 'setCell',
              family: FAMILY,
              qualifier: QUALIFIER,
              timestampMicros: op.timestampMicros,
              value: Buffer.from(op.value),
            };
      return { rowKey: Buffer.from(op.row), mutations: [m] };
    });
    const outcomes = await store.tablet(TABLE).mutateRows(entries);
    outcomes.forEach((o, i) => {
      if (o !== undefined) throw new Error(`write of ${rows[i]} failed: ${String(o)}`);
      (this.ops[ids[i] as number] as ModelOp).acked = true;
    });
  }

  /** Whether `row` has a write in flight. */
  busy(row: string): boolean {
    const ids = this.byRow.get(row);
    return ids !== undefined && !(this.ops[ids[ids.length - 1] as number] as ModelOp).acked;
  }

  /** Waits for every write issued so far; rethrows the first failure. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** The writes issued and acknowledged now. */
  expectation(): Expectation {
    return { issued: this.ops.length, acked: Uint8Array.from(this.ops, (o) => (o.acked ? 1 : 0)) };
  }

  /**
   * The states a recovered row may be in, each as the ids of its puts since its last delete
   * (newest first): after its last acknowledged write, or after any later write issued before
   * the crash.
   */
  allowedStates(row: string, e: Expectation): Set<string> {
    const ids = (this.byRow.get(row) ?? []).filter((id) => id < e.issued);
    let firstAllowed = -1;
    ids.forEach((id, k) => {
      if (e.acked[id] === 1) firstAllowed = k;
    });
    const out = new Set<string>();
    let live: number[] = [];
    if (firstAllowed < 0) out.add('');
    ids.forEach((id, k) => {
      live = (this.ops[id] as ModelOp).value === undefined ? [] : [id, ...live];
      if (k >= firstAllowed) out.add(live.join(','));
    });
    return out;
  }

  /** The write a cell was made by, checked against the cell (nothing unwritten may appear). */
  opOfCell(row: string, timestampMicros: number, value: Buffer): number {
    const id = timestampMicros / 1000 - 1;
    const op = this.ops[id];
    assert.ok(
      op !== undefined && op.row === row && op.value === value.toString(),
      `row ${row} holds a cell that was never written: ts=${timestampMicros} value=${value.toString().slice(0, 20)}`,
    );
    return id;
  }

  rows(): string[] {
    return [...this.byRow.keys()];
  }

  private add(row: string, put: boolean): number {
    assert.ok(!this.busy(row), `workload bug: overlapping writes to ${row}`);
    const id = this.ops.length;
    const value = put
      ? `${row}@${id}:${createHash('sha256').update(String(id)).digest('hex').slice(0, 48)}`
      : undefined;
    this.ops.push({ row, value, timestampMicros: (id + 1) * 1000, acked: false });
    const list = this.byRow.get(row) ?? [];
    list.push(id);
    this.byRow.set(row, list);
    return id;
  }

  private track(p: Promise<void>, ids: number[]): Promise<void> {
    const run = p.then(() => {
      for (const id of ids) (this.ops[id] as ModelOp).acked = true;
    });
    this.pending.add(run);
    void run.then(
      () => this.pending.delete(run),
      () => undefined,
    );
    return run;
  }
}

/**
 * Runs `body` watching the write gates of tablets: `onPause` is called as a split or merge closes
 * a tablet's gate (the workload issues a write to that tablet there, which must wait), and the
 * result counts the writes that found a gate closed and waited (`TabletHandle.enter` returned a
 * promise) — the workload's proof that it covers them.
 */
export async function watchGates(
  onPause: (t: TabletHandle) => void,
  body: () => Promise<void>,
): Promise<number> {
  const proto = TabletHandle.prototype;
  const { enter, pause } = proto;
  let waits = 0;
  proto.enter = function (this: TabletHandle) {
    const entered = enter.call(this);
    if (entered !== true) waits++;
    return entered;
  };
  // `pause` closes the gate synchronously, then waits for the writes inside to leave.
  proto.pause = function (this: TabletHandle) {
    const drained = pause.call(this);
    onPause(this);
    return drained;
  };
  try {
    await body();
  } finally {
    proto.enter = enter;
    proto.pause = pause;
  }
  return waits;
}

/** One crash state: the disk image at a persistence point and what the model expects of it. */
export interface CrashPoint {
  readonly index: number;
  readonly label: string;
  readonly torn: boolean;
  readonly image: MemVfs;
  readonly expect: Expectation;
}

/**
 * Where a crash image is taken: each point MemVfs reports, plus `removeDir`, which MemVfs makes
 * durable at once without reporting it (the removal of a retired tablet's directory is exactly
 * the step a wrong order of deletion and commit would get wrong). `mkdirp` is durable at once too,
 * but an empty new directory adds no state the points around it do not.
 */
export type CrashPointKind = PersistenceKind | 'removeDir';

/** Whether MemVfs itself reports `removeDir` as a persistence point (then it is not wrapped). */
function reportsRemoveDir(): boolean {
  const probe = new MemVfs();
  let reported = false;
  probe.onPersistencePoint = (kind) => {
    reported ||= (kind as string) === 'removeDir';
  };
  // Both do their work synchronously.
  void probe.mkdirp('/probe');
  void probe.removeDir('/probe');
  return reported;
}

/**
 * Records crash images while armed. `onPoint` runs after the images of a point are taken (the
 * workload issues its concurrent writes there).
 */
export class CrashRecorder {
  readonly points: CrashPoint[] = [];
  /** `kind path issued acked` of every point while armed: compared across reruns. */
  readonly trace: string[] = [];
  armed = false;
  onPoint: ((kind: CrashPointKind, path: string) => void) | undefined;
  private readonly tornRand: SeededRand;
  private readonly restore: () => void;

  constructor(
    private readonly vfs: MemVfs,
    private readonly model: WriteModel,
    seed: number,
    /** Keep images (false: only trace, for the determinism rerun). */
    private readonly keepImages = true,
  ) {
    this.tornRand = new SeededRand(seed);
    const point = (kind: CrashPointKind, path: string) => {
      if (this.armed) this.take(kind, path);
      this.onPoint?.(kind, path);
    };
    vfs.onPersistencePoint = point;
    // MemVfs does a directory operation synchronously before its promise resolves, so the image
    // taken right after the call returns shows it (and the call's timing is unchanged).
    const { removeDir } = vfs;
    if (!reportsRemoveDir())
      vfs.removeDir = (dir) => {
        const done = removeDir.call(vfs, dir);
        point('removeDir', dir);
        return done;
      };
    this.restore = () => {
      vfs.onPersistencePoint = undefined;
      vfs.removeDir = removeDir;
    };
  }

  private take(kind: CrashPointKind, path: string): void {
    const expect = this.model.expectation();
    const index = this.trace.length;
    const label = `#${index} ${kind} ${path}`;
    this.trace.push(
      `${kind} ${path} issued=${expect.issued} acked=${expect.acked.reduce((a, b) => a + b, 0)}`,
    );
    if (!this.keepImages) return;
    this.points.push({ index, label, torn: false, image: this.vfs.crashImage(), expect });
    const torn = this.vfs.crashImage({ tornTail: 'random', rand: this.tornRand });
    this.points.push({ index, label: `${label} (torn tail)`, torn: true, image: torn, expect });
  }

  detach(): void {
    this.restore();
  }
}

/**
 * The points that are distinct crash states: a point whose image (every path and byte) and
 * expectation (writes issued and acknowledged) equal an earlier one's would repeat its check —
 * a directory sync that changed nothing, a torn image of a point where no file had an unsynced
 * tail. Consumes `points`.
 */
export async function distinctStates(points: CrashPoint[]): Promise<CrashPoint[]> {
  const seen = new Set<string>();
  const out: CrashPoint[] = [];
  for (let p = points.shift(); p !== undefined; p = points.shift()) {
    const hash = createHash('sha256');
    for (const path of p.image.allPaths()) hash.update(`${path}\0`).update(await p.image.readFile(path));
    const key = `${hash.digest('hex')} ${p.expect.issued} ${p.expect.acked.join('')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

/** Every row of the table with its cells, read through the store. */
function readTable(store: TableStore): RowCells[] {
  return [
    ...store.tablet(TABLE).readRows({
      selection: { rowKeys: [], rowRanges: [], all: true },
      filter: compileRowFilter(undefined),
      rowsLimit: 0,
      reversed: false,
    }),
  ];
}

function renderRow(r: RowCells): string {
  return `${r.key.toString('latin1')}:${r.cells.map((c) => `${c.timestampMicros}=${c.value}`).join(',')}`;
}

function render(rows: readonly RowCells[]): string {
  return rows.map(renderRow).join('\n');
}

/** Whether `row` lies in [startRow, endRow) (undefined bounds are open). */
export function rowInRange(r: RowRangeBounds, row: Buffer): boolean {
  return (
    (r.startRow === undefined || Buffer.compare(row, r.startRow) >= 0) &&
    (r.endRow === undefined || Buffer.compare(row, r.endRow) < 0)
  );
}

/**
 * Coverage, then placement: every row read lies in exactly one range and is held by exactly the
 * engine of that range; no engine shows a row outside its range. Returns the rows read.
 */
export function checkLayout(store: TableStore): RowCells[] {
  const ranges = tabletRanges(store, TABLE);
  checkCoverage(ranges);
  const engines = tabletEngines(store, TABLE);
  assert.equal(engines.length, ranges.length);
  const holders = new Map<string, number[]>();
  engines.forEach((engine, i) => {
    const range = ranges[i] as RowRangeBounds;
    let last: Buffer | undefined;
    for (const [key] of engine.scan({ start: DATA_START_KEY })) {
      const row = decodeCellKey(key).rowKey;
      if (last?.equals(row)) continue;
      last = row;
      assert.ok(rowInRange(range, row), `tablet ${i} shows row ${row} outside its range`);
      const list = holders.get(row.toString('latin1')) ?? [];
      list.push(i);
      holders.set(row.toString('latin1'), list);
    }
  });
  const rows = readTable(store);
  for (let i = 0; i < rows.length; i++) {
    const row = (rows[i] as RowCells).key;
    if (i > 0)
      assert.ok(Buffer.compare((rows[i - 1] as RowCells).key, row) < 0, `rows out of order at ${row}`);
    const inRanges = ranges.flatMap((r, k) => (rowInRange(r, row) ? [k] : []));
    assert.equal(inRanges.length, 1, `row ${row} lies in ${inRanges.length} ranges`);
    assert.deepEqual(
      holders.get(row.toString('latin1')),
      inRanges,
      `row ${row} is not held by its tablet alone`,
    );
  }
  return rows;
}

/** Checks the rows of a recovered table against the writes issued and acknowledged. */
function checkAgainstModel(rows: readonly RowCells[], model: WriteModel, e: Expectation): void {
  const seen = new Set<string>();
  for (const r of rows) {
    const row = r.key.toString();
    seen.add(row);
    const ids = r.cells.map((c) => model.opOfCell(row, c.timestampMicros, c.value));
    const allowed = model.allowedStates(row, e);
    assert.ok(
      allowed.has(ids.join(',')),
      `row ${row} holds writes [${ids}], allowed: ${[...allowed].join(' | ')}`,
    );
  }
  for (const row of model.rows()) {
    if (seen.has(row)) continue;
    assert.ok(model.allowedStates(row, e).has(''), `row ${row} is missing: an acknowledged write was lost`);
  }
}

/**
 * No orphan: every directory of the table that no live tablet owns holds only SSTables a live
 * tablet references (besides the store files of its former owner) and at least one of them.
 */
async function checkNoOrphans(image: MemVfs, referenced: ReadonlySet<string>, thresholdBytes: number) {
  const catalogEngine = await Engine.open({
    ...storeOptions(image, thresholdBytes, 1).engine,
    dir: `${DIR}/catalog`,
  });
  const live = new Set(new Catalog(catalogEngine).listTablets().map((t) => t.tabletDir));
  await catalogEngine.close();
  const [tableDir, ...others] = await image.list(`${DIR}/tables`);
  assert.equal(others.length, 0, 'one table directory');
  for (const dir of await image.list(`${DIR}/tables/${tableDir}`)) {
    if (live.has(dir)) continue;
    let kept = 0;
    for (const name of await image.list(`${DIR}/tables/${tableDir}/${dir}`)) {
      const parsed = parseFileName(name);
      if (parsed?.kind !== 'sst') continue;
      assert.ok(referenced.has(`${dir}/${parsed.number}`), `orphan SSTable ${dir}/${name}`);
      kept++;
    }
    assert.ok(kept > 0, `orphan directory ${dir}: no live tablet references any of its files`);
  }
}

async function tabletDirCount(image: MemVfs): Promise<number> {
  const [tableDir] = await image.list(`${DIR}/tables`);
  return (await image.list(`${DIR}/tables/${tableDir}`)).length;
}

/**
 * Recovers `image` and checks: the store opens; the tablets cover the row space exactly; every
 * acknowledged write is there and nothing never written is; each row lies in exactly one range
 * and only that tablet's engine holds it; no directory is an orphan. Then writes, a maintenance
 * pass and reads work, reopening gives the same state, and once every tablet is compacted the
 * table directory holds exactly the live tablets' directories. `image` is consumed.
 */
export async function checkCrashState(
  image: MemVfs,
  model: WriteModel,
  e: Expectation,
  thresholdBytes: number,
): Promise<{ tablets: number }> {
  const open = (seed: number) =>
    openTableStore(storeOptions(image, thresholdBytes, seed, 1_800_000_000_000 + seed));
  let store: TableStore | undefined = await open(101);
  try {
    const recovered = checkLayout(store);
    checkAgainstModel(recovered, model, e);
    const referenced = new Set(
      tabletEngines(store, TABLE).flatMap((en) =>
        en.referencedSources().map((s: FileSource) => sourceKey(s)),
      ),
    );
    await store.close();
    store = undefined;
    await checkNoOrphans(image, referenced, thresholdBytes);

    store = await open(102);
    const tablet = store.tablet(TABLE);
    const cell = (v: string, ts: number): ValidMutation => ({
      kind: 'setCell',
      family: FAMILY,
      qualifier: QUALIFIER,
      timestampMicros: ts,
      value: Buffer.from(v),
    });
    // Rows sorting first, between the model's rows and last, so they land in different tablets.
    const extra = ['row00000~after', 'row00100~after', 'zz~after', 'row00050~after'];
    const expected = new Map(recovered.map((r) => [r.key.toString('latin1'), renderRow(r)]));
    for (const [k, row] of extra.entries()) {
      const ts = 9_000_000_000 + k * 1000;
      await tablet.mutateRow(Buffer.from(row), [cell(`after${k}`, ts)]);
      expected.set(row, `${row}:${ts}=after${k}`);
      if (k === 2) await maintainTablets(store);
    }
    const after = render(checkLayout(store));
    const want = [...expected.entries()]
      .sort(([a], [b]) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')))
      .map(([, v]) => v)
      .join('\n');
    assert.equal(after, want, 'further writes and a maintenance pass after recovery');
    const ranges = tabletRanges(store, TABLE).map((r) => String(r.startRow));
    await store.close();
    store = await open(103);
    assert.equal(render(checkLayout(store)), after, 'reopening gives the same rows');
    assert.deepEqual(
      tabletRanges(store, TABLE).map((r) => String(r.startRow)),
      ranges,
      'reopening gives the same tablets',
    );
    for (const engine of tabletEngines(store, TABLE)) await engine.compactAll();
    await store.close();
    store = await open(104);
    assert.equal(render(checkLayout(store)), after, 'rows after compacting every tablet and reopening');
    const tablets = tabletRanges(store, TABLE).length;
    await store.close();
    store = undefined;
    assert.equal(await tabletDirCount(image), tablets, 'every retired tablet directory was collected');
    return { tablets };
  } finally {
    await store?.close().catch(() => undefined);
  }
}
