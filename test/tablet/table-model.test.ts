/**
 * Model-based test of a table that splits and merges: random row operations (mutations, batches,
 * check-and-mutate, read-modify-write, prefix drops), reads of every shape, SampleRowKeys, tablet
 * maintenance, full compactions and reopens run against a table store with a tiny split threshold
 * and against a plain in-memory model of Bigtable semantics. Every read must match the model
 * exactly; the tablet invariants (test/support/tablet-invariants.ts) must hold after every
 * maintenance step; and a run must split and merge hundreds of times.
 *
 * The model: row key → family → qualifier → timestamp → value. SetCell timestamps are explicit
 * (small multiples of 1000) so the model needs no clock; ReadModifyWriteRow takes the server's
 * time, a ManualClock the test advances, and the new cell's timestamp is max(now, latest).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, SeededRand } from '../../src/common/clock.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { type KeyRange, rowRangeToKeyRange } from '../../src/model/cell-key.js';
import type { ValidMutation } from '../../src/model/mutation.js';
import type { RowRange } from '../../src/model/proto-types.js';
import type { ValidReadModifyWriteRule } from '../../src/model/read-modify-write.js';
import type { RowCells } from '../../src/model/row-cells.js';
import { compileRowFilter } from '../../src/model/row-filter.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import {
  maintainTablets,
  openTableStore,
  type TableStoreOptions,
  type TabletStats,
  tabletEngines,
  tabletRanges,
  tabletStats,
} from '../../src/tablet/table-store.js';
import type { ReadRowsQuery, RowMutations, TableStore } from '../../src/tablet/table-store-api.js';
import { testSeeds, withSeed } from '../support/seed.js';
import { checkTabletInvariants } from '../support/tablet-invariants.js';

const TABLE = 't';
/** Families of the table: `a` and `b` take SetCell, `c` takes read-modify-write. */
const FAMILIES = ['a', 'b', 'c'];
const GROUPS = 'abcdefgh';
const STEPS = 2000;
const SPLITS_MIN = 100;
const MERGES_MIN = 20;

type Column = Map<number, Buffer>;
type ModelRow = Map<string, Map<string, Column>>;
/** Row key (hex) → family → qualifier (hex) → timestamp micros → value. */
type Model = Map<string, ModelRow>;

const hex = (b: Buffer) => b.toString('hex');
const fromHex = (s: string) => Buffer.from(s, 'hex');

// ---- random inputs ------------------------------------------------------------------------------

/** A row key from a small, skewed key space: low groups and low numbers are hot. */
function randomRowKey(rand: SeededRand): Buffer {
  const group = GROUPS[Math.floor(GROUPS.length * rand.next() ** 1.5)] as string;
  const n = Math.floor(120 * rand.next() ** 2);
  const r = rand.int(20);
  const suffix = r === 0 ? '\x00z' : r === 1 ? '\xff' : '';
  return Buffer.from(`${group}/${String(n).padStart(3, '0')}${suffix}`, 'latin1');
}

function randomValue(rand: SeededRand): Buffer {
  const out = Buffer.alloc(50 + rand.int(251));
  for (let i = 0; i < out.length; i++) out[i] = rand.int(256);
  return out;
}

const qualifier = (rand: SeededRand) => Buffer.from(`q${rand.int(3)}`);
const timestamp = (rand: SeededRand) => rand.int(6) * 1000;

function randomMutation(rand: SeededRand, unknownFamily = false): ValidMutation {
  const family = unknownFamily ? 'zz' : (FAMILIES[rand.int(2)] as string);
  const r = rand.int(100);
  if (r < 72 || unknownFamily)
    return {
      kind: 'setCell',
      family,
      qualifier: qualifier(rand),
      timestampMicros: timestamp(rand),
      value: randomValue(rand),
    };
  if (r < 84) {
    const startMicros = timestamp(rand);
    const endMicros = rand.int(3) === 0 ? undefined : startMicros + rand.int(4) * 1000;
    return { kind: 'deleteFromColumn', family, qualifier: qualifier(rand), startMicros, endMicros };
  }
  if (r < 93) return { kind: 'deleteFromFamily', family: FAMILIES[rand.int(3)] as string };
  return { kind: 'deleteFromRow' };
}

function randomMutations(rand: SeededRand, withUnknown: boolean): ValidMutation[] {
  const out = Array.from({ length: 1 + rand.int(4) }, () => randomMutation(rand));
  if (withUnknown) out.splice(rand.int(out.length + 1), 0, randomMutation(rand, true));
  return out;
}

function randomRules(rand: SeededRand): ValidReadModifyWriteRule[] {
  return Array.from({ length: 1 + rand.int(3) }, (): ValidReadModifyWriteRule => {
    const r = rand.int(100);
    // Rarely an append to a counter or an increment of a SetCell column: the request must fail.
    if (r < 3) return { kind: 'append', family: 'c', qualifier: Buffer.from('n'), value: randomValue(rand) };
    if (r < 5) return { kind: 'increment', family: 'a', qualifier: qualifier(rand), amount: 1n };
    if (r < 55)
      return {
        kind: 'increment',
        family: 'c',
        qualifier: Buffer.from(rand.int(2) === 0 ? 'n' : 'm'),
        amount: BigInt(rand.int(200) - 20) * (rand.int(10) === 0 ? 1n << 60n : 1n),
      };
    return {
      kind: 'append',
      family: 'c',
      qualifier: Buffer.from('x'),
      value: randomValue(rand).subarray(0, 40),
    };
  });
}

// ---- the model ----------------------------------------------------------------------------------

function modelColumn(
  model: Model,
  rowKey: Buffer,
  family: string,
  q: Buffer,
  create: boolean,
): Column | undefined {
  let row = model.get(hex(rowKey));
  if (!row && !create) return undefined;
  if (!row) model.set(hex(rowKey), (row = new Map()));
  let fam = row.get(family);
  if (!fam && !create) return undefined;
  if (!fam) row.set(family, (fam = new Map()));
  let col = fam.get(hex(q));
  if (!col && create) fam.set(hex(q), (col = new Map()));
  return col;
}

/** Removes empty columns, families and the row itself. */
function prune(model: Model, rowKey: Buffer): void {
  const row = model.get(hex(rowKey));
  if (!row) return;
  for (const [f, fam] of row) {
    for (const [q, col] of fam) if (col.size === 0) fam.delete(q);
    if (fam.size === 0) row.delete(f);
  }
  if (row.size === 0) model.delete(hex(rowKey));
}

function applyMutation(model: Model, rowKey: Buffer, m: ValidMutation): void {
  switch (m.kind) {
    case 'setCell':
      (modelColumn(model, rowKey, m.family, m.qualifier, true) as Column).set(m.timestampMicros, m.value);
      break;
    case 'deleteFromColumn': {
      const col = modelColumn(model, rowKey, m.family, m.qualifier, false);
      for (const ts of [...(col?.keys() ?? [])])
        if (ts >= m.startMicros && (m.endMicros === undefined || ts < m.endMicros)) col?.delete(ts);
      break;
    }
    case 'deleteFromFamily':
      model.get(hex(rowKey))?.delete(m.family);
      break;
    case 'deleteFromRow':
      model.delete(hex(rowKey));
      break;
  }
  prune(model, rowKey);
}

/** The model's outcome of ReadModifyWriteRow: the new cells, or the error the request must fail with. */
function modelReadModifyWrite(
  model: Model,
  rowKey: Buffer,
  rules: readonly ValidReadModifyWriteRule[],
  nowMicros: number,
): { cells: Array<{ family: string; qualifier: Buffer; ts: number; value: Buffer }> } | 'failedPrecondition' {
  const updated = new Map<string, { family: string; qualifier: Buffer; ts: number; value: Buffer }>();
  for (const rule of rules) {
    const id = `${rule.family}/${hex(rule.qualifier)}`;
    let current = updated.get(id);
    if (!current) {
      const col = modelColumn(model, rowKey, rule.family, rule.qualifier, false);
      const ts = col && col.size > 0 ? Math.max(...col.keys()) : undefined;
      if (ts !== undefined)
        current = { family: rule.family, qualifier: rule.qualifier, ts, value: col?.get(ts) as Buffer };
    }
    let value: Buffer;
    if (rule.kind === 'append') value = Buffer.concat([current?.value ?? Buffer.alloc(0), rule.value]);
    else {
      if (current && current.value.length !== 8) return 'failedPrecondition';
      value = Buffer.alloc(8);
      value.writeBigInt64BE(BigInt.asIntN(64, (current?.value.readBigInt64BE(0) ?? 0n) + rule.amount));
    }
    updated.set(id, {
      family: rule.family,
      qualifier: rule.qualifier,
      ts: Math.max(nowMicros, current?.ts ?? 0),
      value,
    });
  }
  const cells = [...updated.values()].sort((x, y) =>
    x.family < y.family ? -1 : x.family > y.family ? 1 : Buffer.compare(x.qualifier, y.qualifier),
  );
  for (const c of cells)
    applyMutation(model, rowKey, {
      kind: 'setCell',
      family: c.family,
      qualifier: c.qualifier,
      timestampMicros: c.ts,
      value: c.value,
    });
  return { cells };
}

const renderCell = (family: string, q: Buffer, ts: number, v: Buffer) =>
  `${family}:${hex(q)}@${ts}=${hex(v)}`;

function renderModelRow(model: Model, keyHex: string): string {
  const row = model.get(keyHex) as ModelRow;
  const cells: string[] = [];
  for (const family of [...row.keys()].sort()) {
    const fam = row.get(family) as Map<string, Column>;
    for (const q of [...fam.keys()].sort((x, y) => Buffer.compare(fromHex(x), fromHex(y)))) {
      const col = fam.get(q) as Column;
      for (const ts of [...col.keys()].sort((x, y) => y - x))
        cells.push(renderCell(family, fromHex(q), ts, col.get(ts) as Buffer));
    }
  }
  return `${keyHex} ${cells.join(' ')}`;
}

function renderRow(row: RowCells): string {
  for (const c of row.cells) assert.equal(c.labels.length, 0, 'stored cells carry no labels');
  return `${hex(row.key)} ${row.cells.map((c) => renderCell(c.family, c.qualifier, c.timestampMicros, c.value)).join(' ')}`;
}

/** The model's answer to a read of the rows `wanted` selects. */
function modelRead(
  model: Model,
  wanted: (key: Buffer) => boolean,
  reversed: boolean,
  limit: number,
): string[] {
  const keys = [...model.keys()].map(fromHex).filter(wanted).sort(Buffer.compare);
  if (reversed) keys.reverse();
  return (limit > 0 ? keys.slice(0, limit) : keys).map((k) => renderModelRow(model, hex(k)));
}

// ---- reads --------------------------------------------------------------------------------------

interface RandomRead {
  query: ReadRowsQuery;
  wanted: (key: Buffer) => boolean;
  what: string;
}

/** A random row range, as the request carries it and as a predicate on row keys. */
function randomRowRange(rand: SeededRand): {
  range: KeyRange;
  contains: (k: Buffer) => boolean;
  what: string;
} {
  const lo = rand.int(6) === 0 ? undefined : randomRowKey(rand);
  const hi = rand.int(6) === 0 ? undefined : randomRowKey(rand);
  const loOpen = rand.int(2) === 0;
  const hiClosed = rand.int(2) === 0;
  const r: RowRange = {};
  if (lo)
    Object.assign(
      r,
      loOpen
        ? { startKey: 'startKeyOpen', startKeyOpen: lo }
        : { startKey: 'startKeyClosed', startKeyClosed: lo },
    );
  if (hi)
    Object.assign(
      r,
      hiClosed ? { endKey: 'endKeyClosed', endKeyClosed: hi } : { endKey: 'endKeyOpen', endKeyOpen: hi },
    );
  const contains = (k: Buffer) => {
    const a = lo === undefined ? 1 : Buffer.compare(k, lo);
    const b = hi === undefined ? -1 : Buffer.compare(k, hi);
    return (loOpen ? a > 0 : a >= 0) && (hiClosed ? b <= 0 : b < 0);
  };
  const what = `${loOpen ? '(' : '['}${lo?.toString('latin1') ?? ''}, ${hi?.toString('latin1') ?? ''}${hiClosed ? ']' : ')'}`;
  return { range: rowRangeToKeyRange(r), contains, what };
}

function randomRead(rand: SeededRand): RandomRead {
  const reversed = rand.int(2) === 0;
  const rowsLimit = rand.int(3) === 0 ? 1 + rand.int(30) : 0;
  const kind = rand.int(4);
  const keys =
    kind === 1 || kind === 3 ? Array.from({ length: 1 + rand.int(6) }, () => randomRowKey(rand)) : [];
  const ranges = kind >= 2 ? Array.from({ length: 1 + rand.int(3) }, () => randomRowRange(rand)) : [];
  const all = kind === 0;
  const query: ReadRowsQuery = {
    selection: { rowKeys: keys, rowRanges: ranges.map((r) => r.range), all },
    filter: compileRowFilter(undefined),
    rowsLimit,
    reversed,
  };
  const wanted = (k: Buffer) => all || keys.some((x) => x.equals(k)) || ranges.some((r) => r.contains(k));
  const what = `read all=${all} keys=${keys.length} ranges=${ranges.map((r) => r.what).join(' ')} reversed=${reversed} limit=${rowsLimit}`;
  return { query, wanted, what };
}

function checkSamples(store: TableStore): void {
  const samples = store.tablet(TABLE).sampleRowKeys();
  const last = samples.at(-1);
  assert.ok(last !== undefined && last.rowKey.length === 0, 'the last sample is the empty key');
  for (let i = 1; i < samples.length; i++) {
    const [p, s] = [samples[i - 1], samples[i]] as [(typeof samples)[number], (typeof samples)[number]];
    assert.ok(s.offsetBytes >= p.offsetBytes, 'sample offsets never decrease');
    if (i < samples.length - 1) assert.ok(Buffer.compare(p.rowKey, s.rowKey) < 0, 'sample keys increase');
  }
  for (const r of tabletRanges(store, TABLE).slice(1))
    assert.ok(
      samples.some((s) => s.rowKey.equals(r.startRow as Buffer)),
      'every tablet boundary is sampled',
    );
}

// ---- the workload -------------------------------------------------------------------------------

function storeOptions(vfs: MemVfs, clock: ManualClock, rand: SeededRand): TableStoreOptions {
  return {
    dir: '/data',
    engine: { vfs, memtableBytes: 8 * 1024, blockBytes: 512, targetFileBytes: 8 * 1024 },
    splitThresholdBytes: 8 * 1024,
    sampleIntervalBytes: 2 * 1024,
    autoSplit: false,
    clock,
    rand,
  };
}

/** The state of one run: the store (replaced on reopen), the model and split counts of closed stores. */
interface Run {
  rand: SeededRand;
  clock: ManualClock;
  vfs: MemVfs;
  store: TableStore;
  model: Model;
  closedStats: TabletStats;
  step: number;
}

function totalStats(run: Run): TabletStats {
  const s = tabletStats(run.store) as TabletStats;
  return {
    splits: run.closedStats.splits + s.splits,
    merges: run.closedStats.merges + s.merges,
    pauseMsMax: Math.max(run.closedStats.pauseMsMax, s.pauseMsMax),
    longestPause: s.pauseMsMax >= run.closedStats.pauseMsMax ? s.longestPause : run.closedStats.longestPause,
    pauseMsTotal: run.closedStats.pauseMsTotal + s.pauseMsTotal,
  };
}

async function mutateRowOp(run: Run): Promise<void> {
  const key = randomRowKey(run.rand);
  const unknown = run.rand.int(40) === 0;
  const mutations = randomMutations(run.rand, unknown);
  const write = run.store.tablet(TABLE).mutateRow(key, mutations);
  if (unknown) {
    await assert.rejects(write, (e) => hasCode(e, ErrorCode.NotFound), 'an unknown family fails the row');
    return;
  }
  await write;
  for (const m of mutations) applyMutation(run.model, key, m);
}

async function mutateRowsOp(run: Run): Promise<void> {
  const entries: RowMutations[] = [];
  const unknown: boolean[] = [];
  for (let i = 1 + run.rand.int(15); i > 0; i--) {
    const bad = run.rand.int(20) === 0;
    // Some entries repeat an earlier row: they must apply in order.
    const rowKey =
      entries.length > 0 && run.rand.int(4) === 0
        ? (entries[run.rand.int(entries.length)] as RowMutations).rowKey
        : randomRowKey(run.rand);
    entries.push({ rowKey, mutations: randomMutations(run.rand, bad) });
    unknown.push(bad);
  }
  const outcomes = await run.store.tablet(TABLE).mutateRows(entries);
  entries.forEach((e, i) => {
    if (unknown[i]) {
      assert.ok(hasCode(outcomes[i], ErrorCode.NotFound), `entry ${i} with an unknown family fails alone`);
      return;
    }
    assert.equal(outcomes[i], undefined, `entry ${i} applied`);
    for (const m of e.mutations) applyMutation(run.model, e.rowKey, m);
  });
}

async function checkAndMutateOp(run: Run): Promise<void> {
  const key = randomRowKey(run.rand);
  const onTrue = run.rand.int(4) === 0 ? [] : randomMutations(run.rand, false);
  const onFalse = run.rand.int(4) === 0 ? [] : randomMutations(run.rand, false);
  const matched = await run.store.tablet(TABLE).checkAndMutateRow(key, undefined, onTrue, onFalse);
  const exists = run.model.has(hex(key));
  assert.equal(matched, exists, `checkAndMutateRow predicate on ${key.toString('latin1')}`);
  for (const m of exists ? onTrue : onFalse) applyMutation(run.model, key, m);
}

async function readModifyWriteOp(run: Run): Promise<void> {
  run.clock.advance(run.rand.int(3));
  const key = randomRowKey(run.rand);
  const rules = randomRules(run.rand);
  const nowMicros = Math.floor(run.clock.nowMs()) * 1000;
  const before = new Map(run.model);
  const expected = modelReadModifyWrite(run.model, key, rules, nowMicros);
  const result = run.store.tablet(TABLE).readModifyWriteRow(key, rules);
  if (expected === 'failedPrecondition') {
    run.model.clear();
    for (const [k, v] of before) run.model.set(k, v);
    await assert.rejects(result, (e) => hasCode(e, ErrorCode.FailedPrecondition), 'a bad increment fails');
    return;
  }
  const row = await result;
  assert.deepEqual(
    row.cells.map((c) => renderCell(c.family, c.qualifier, c.timestampMicros, c.value)),
    expected.cells.map((c) => renderCell(c.family, c.qualifier, c.ts, c.value)),
    'readModifyWriteRow returns the new cells',
  );
}

async function dropOp(run: Run): Promise<void> {
  if (run.rand.int(12) === 0) {
    await run.store.dropRowRange(TABLE, { all: true });
    run.model.clear();
    return;
  }
  const group = GROUPS[run.rand.int(GROUPS.length)] as string;
  const prefix = Buffer.from(run.rand.int(2) === 0 ? `${group}/` : `${group}/0${run.rand.int(10)}`, 'latin1');
  await run.store.dropRowRange(TABLE, { rowKeyPrefix: prefix });
  for (const k of [...run.model.keys()])
    if (fromHex(k).subarray(0, prefix.length).equals(prefix)) run.model.delete(k);
}

function readOp(run: Run): void {
  const r = randomRead(run.rand);
  const got = [...run.store.tablet(TABLE).readRows(r.query)].map(renderRow);
  assert.deepEqual(
    got,
    modelRead(run.model, r.wanted, r.query.reversed, r.query.rowsLimit),
    `${r.what} at step ${run.step}`,
  );
}

async function maintenanceOp(run: Run, kind: number): Promise<void> {
  if (kind === 0) {
    await maintainTablets(run.store);
  } else if (kind === 1) {
    for (const e of tabletEngines(run.store, TABLE)) await e.compactAll();
    await maintainTablets(run.store);
  } else {
    run.closedStats = totalStats(run);
    await run.store.close();
    run.store = await openTableStore(storeOptions(run.vfs, run.clock, run.rand));
  }
  const seen = checkTabletInvariants(run.store, TABLE);
  assert.equal(seen.rows, run.model.size, `rows after maintenance at step ${run.step}`);
}

async function step(run: Run): Promise<void> {
  const r = run.rand.int(1000);
  if (r < 400) await mutateRowOp(run);
  else if (r < 540) await mutateRowsOp(run);
  else if (r < 580) await checkAndMutateOp(run);
  else if (r < 630) await readModifyWriteOp(run);
  else if (r < 660) await dropOp(run);
  else if (r < 860) readOp(run);
  else if (r < 875) checkSamples(run.store);
  else if (r < 950) await maintenanceOp(run, 0);
  else if (r < 992) await maintenanceOp(run, 1);
  else await maintenanceOp(run, 2);
}

async function runWorkload(rand: SeededRand): Promise<TabletStats & { tablets: number; rows: number }> {
  const vfs = new MemVfs();
  const clock = new ManualClock(1_700_000_000_000);
  const store = await openTableStore(storeOptions(vfs, clock, rand));
  await store.createTable(TABLE, {
    families: new Map(FAMILIES.map((f) => [f, undefined])),
    initialSplits: [],
  });
  const run: Run = {
    rand,
    clock,
    vfs,
    store,
    model: new Map(),
    closedStats: {
      splits: 0,
      merges: 0,
      pauseMsMax: 0,
      longestPause: { drainMs: 0, handOverMs: 0, adoptMs: 0, commitMs: 0 },
      pauseMsTotal: 0,
    },
    step: 0,
  };
  try {
    for (; run.step < STEPS; run.step++) await step(run);
    await maintenanceOp(run, 1);
    const seen = checkTabletInvariants(run.store, TABLE);
    assert.deepEqual(
      [
        ...run.store.tablet(TABLE).readRows({
          selection: { rowKeys: [], rowRanges: [], all: true },
          filter: compileRowFilter(undefined),
          rowsLimit: 0,
          reversed: true,
        }),
      ].map(renderRow),
      modelRead(run.model, () => true, true, 0),
      'final reversed scan',
    );
    const stats = totalStats(run);
    assert.ok(stats.splits >= SPLITS_MIN, `splits=${stats.splits} >= ${SPLITS_MIN}`);
    assert.ok(stats.merges >= MERGES_MIN, `merges=${stats.merges} >= ${MERGES_MIN}`);
    return { ...stats, tablets: seen.tablets, rows: seen.rows };
  } finally {
    await run.store.close();
  }
}

test('a splitting and merging table matches the model', async (t) => {
  for (const seed of testSeeds(3)) {
    const startedMs = performance.now();
    const s = await withSeed(seed, runWorkload);
    t.diagnostic(
      `seed ${seed}: splits=${s.splits} merges=${s.merges} final tablets=${s.tablets} rows=${s.rows} ` +
        `${Math.round(performance.now() - startedMs)} ms`,
    );
  }
});

/**
 * Regression (found by the model test): at open, a table's tablets open one by one and count
 * their references to retired tablets' SSTables as they open. A tablet that compacts right away
 * releases its reference to a retired parent's SSTable; if no tablet counted so far shares it, the
 * file is deleted at once, although a tablet further right, not yet opened, still references it:
 * its open then fails with DATA_LOSS `a live sstable is missing`.
 */
test('regression: a tablet compacting at open does not delete files tablets not yet opened share', async () => {
  const vfs = new MemVfs();
  const clock = new ManualClock(1_700_000_000_000);
  const rand = new SeededRand(11);
  const options = (l0CompactionTrigger: number): TableStoreOptions => ({
    dir: '/data',
    engine: { vfs, memtableBytes: 64 * 1024, blockBytes: 512, l0CompactionTrigger },
    splitThresholdBytes: 4096,
    autoSplit: false,
    clock,
    rand,
  });
  const set = (value: Buffer): ValidMutation => ({
    kind: 'setCell',
    family: 'a',
    qualifier: Buffer.from('q'),
    timestampMicros: 1000,
    value,
  });
  const key = (i: number) => Buffer.from(`r${String(i).padStart(3, '0')}`);
  const value = () => Buffer.from(Array.from({ length: 200 }, () => rand.int(256)));
  let store = await openTableStore(options(100));
  await store.createTable(TABLE, { families: new Map([['a', undefined]]), initialSplits: [] });
  for (let i = 0; i < 80; i++) await store.tablet(TABLE).mutateRow(key(i), [set(value())]);
  // One SSTable P in the first tablet; the splits make every tablet reference it.
  for (const e of tabletEngines(store, TABLE)) await e.flush();
  await maintainTablets(store);
  const engines = tabletEngines(store, TABLE);
  assert.ok(engines.length >= 8, `the table split (tablets=${engines.length})`);
  // The middle tablets rewrite their rows into files of their own (dropping their references to
  // P); the first gets level-0 files of its own so that it compacts as soon as it opens.
  for (const e of engines.slice(1, -3)) await e.compactAll();
  for (let round = 0; round < 3; round++) {
    await store.tablet(TABLE).mutateRow(key(0), [set(value())]);
    await (engines[0] as (typeof engines)[number]).flush();
  }
  await store.close();
  store = await openTableStore(options(2));
  try {
    assert.equal(checkTabletInvariants(store, TABLE).rows, 80);
    await store.close();
    store = await openTableStore(options(2));
    assert.equal(checkTabletInvariants(store, TABLE).rows, 80);
  } finally {
    await store.close();
  }
});
