// The behavioural suite of the Node API, run unchanged against `open()` (embedded) and
// `connect()` (a `tabula serve` child process) by client-embedded.test.ts and client-remote.test.ts.
// Each test uses its own table, so the suite also runs against a shared server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Row, Tabula } from '../../src/client/index.js';
import { Filter } from '../../src/client/index.js';
import { TabulaError } from '../../src/common/errors.js';

/** Provides the database under test (opened once by the caller). */
export type DbProvider = () => Tabula;

const T = 1_700_000_000_000_000; // a fixed timestamp (micros, whole milliseconds)
const BIG_VALUE_BYTES = 3 * 1024 * 1024 + 17;

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  const run = typeof p === 'function' ? async () => p() : () => p;
  await assert.rejects(run, (err: unknown) => {
    assert.ok(err instanceof TabulaError, `expected a TabulaError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

async function collect(rows: AsyncIterable<Row>): Promise<Row[]> {
  const out: Row[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

function keys(rows: Row[]): string[] {
  return rows.map((r) => r.key.toString());
}

function values(row: Row | undefined): string[] {
  return (row?.cells ?? []).map(
    (c) => `${c.family}:${c.qualifier.toString()}@${c.timestampMicros}=${c.value.toString()}`,
  );
}

async function seed(db: Tabula, table: string, n: number): Promise<void> {
  await db.createTable(table, { families: { f: {}, g: {} } });
  const entries = Array.from({ length: n }, (_, i) => ({
    key: `row#${String(i).padStart(3, '0')}`,
    mutations: [
      { setCell: { family: 'f', qualifier: 'a', value: `v${i}`, timestampMicros: T } },
      { setCell: { family: 'g', qualifier: 'b', value: `w${i}`, timestampMicros: T } },
    ],
  }));
  const results = await db.table(table).mutateRows(entries);
  assert.ok(results.every((r) => r.error === undefined));
}

/** Registers the suite's tests. */
export function behaviourSuite(label: string, db: DbProvider): void {
  adminTests(label, db);
  mutationTests(label, db);
  readTests(label, db);
  atomicTests(label, db);
}

function adminTests(label: string, db: DbProvider): void {
  test(`${label}: tables, families and typed GC rules`, async () => {
    const gc = {
      union: [{ maxVersions: 3 }, { intersection: [{ maxAgeMs: 86_400_000 }, { maxVersions: 1 }] }],
    };
    const info = await db().createTable('admin_t', { families: { a: { maxVersions: 2 }, b: gc, c: {} } });
    assert.equal(info.name, 'admin_t');
    assert.deepEqual([...info.families.keys()], ['a', 'b', 'c']);
    assert.deepEqual(info.families.get('b')?.gcRule, gc);
    assert.equal(info.families.get('c')?.gcRule, undefined);
    await rejectsWith(db().createTable('admin_t'), 'ALREADY_EXISTS');
    assert.ok((await db().listTables()).some((t) => t.name === 'admin_t'));
    const changed = await db().modifyFamilies('admin_t', [
      { create: 'd', gcRule: { maxAgeMs: 1500 } },
      { update: 'a', gcRule: { maxVersions: 5 } },
      { drop: 'c' },
    ]);
    assert.deepEqual([...changed.families.keys()], ['a', 'b', 'd']);
    assert.deepEqual(changed.families.get('a')?.gcRule, { maxVersions: 5 });
    assert.deepEqual((await db().getTable('admin_t')).families.get('d')?.gcRule, { maxAgeMs: 1500 });
    await rejectsWith(db().modifyFamilies('admin_t', [{ drop: 'nope' }]), 'NOT_FOUND');
    assert.equal((await db().setDeletionProtection('admin_t', true)).deletionProtection, true);
    await rejectsWith(db().deleteTable('admin_t'), 'FAILED_PRECONDITION');
    await db().setDeletionProtection('admin_t', false);
    await db().deleteTable('admin_t');
    await rejectsWith(db().getTable('admin_t'), 'NOT_FOUND');
  });

  test(`${label}: invalid admin input is rejected before any request`, async () => {
    await rejectsWith(db().createTable('bad name'), 'INVALID_ARGUMENT');
    await rejectsWith(
      db().createTable('gc_bad', { families: { f: { maxVersions: 0 } } }),
      'INVALID_ARGUMENT',
    );
    await rejectsWith(db().createTable('gc_bad', { families: { f: { maxAgeMs: 0 } } }), 'INVALID_ARGUMENT');
    const both = { maxVersions: 1, maxAgeMs: 5 } as unknown as { maxVersions: number };
    await rejectsWith(db().createTable('gc_bad', { families: { f: both } }), 'INVALID_ARGUMENT');
    await rejectsWith(db().createTable('gc_bad', { families: { 'bad:family': {} } }), 'INVALID_ARGUMENT');
    await rejectsWith(db().getTable('gc_bad'), 'NOT_FOUND');
  });

  test(`${label}: a family named __proto__ through a Map`, async () => {
    const info = await db().createTable('proto_t', {
      families: new Map([['__proto__', { maxVersions: 1 }]]),
    });
    assert.deepEqual([...info.families.keys()], ['__proto__']);
    const t = db().table('proto_t');
    await t.mutateRow('k', [
      { setCell: { family: '__proto__', qualifier: 'q', value: 'v', timestampMicros: T } },
    ]);
    assert.deepEqual(values(await t.readRow('k')), [`__proto__:q@${T}=v`]);
  });
}

function mutationTests(label: string, db: DbProvider): void {
  test(`${label}: mutations, versions and deletes`, async () => {
    await db().createTable('mut_t', { families: { f: {}, g: { maxVersions: 1 } } });
    const t = db().table('mut_t');
    await t.mutateRow(Buffer.from([0, 0xff, 1]), [
      {
        setCell: {
          family: 'f',
          qualifier: Buffer.from([0xfe]),
          value: new Uint8Array([1, 2]),
          timestampMicros: T,
        },
      },
    ]);
    const bin = await t.readRow(Buffer.from([0, 0xff, 1]));
    assert.deepEqual(bin?.key, Buffer.from([0, 0xff, 1]));
    assert.deepEqual(bin?.cells[0]?.value, Buffer.from([1, 2]));
    for (let v = 1; v <= 3; v++) {
      await t.mutateRow('r', [
        { setCell: { family: 'f', qualifier: 'q', value: `v${v}`, timestampMicros: T + v * 1000 } },
        { setCell: { family: 'g', qualifier: 'q', value: `v${v}`, timestampMicros: T + v * 1000 } },
      ]);
    }
    assert.deepEqual(values(await t.readRow('r')), [
      `f:q@${T + 3000}=v3`,
      `f:q@${T + 2000}=v2`,
      `f:q@${T + 1000}=v1`,
      `g:q@${T + 3000}=v3`,
    ]);
    await t.mutateRow('r', [
      { deleteFromColumn: { family: 'f', qualifier: 'q', startMicros: T + 2000, endMicros: T + 3000 } },
    ]);
    assert.deepEqual(values(await t.readRow('r', { filter: Filter.family('f') })), [
      `f:q@${T + 3000}=v3`,
      `f:q@${T + 1000}=v1`,
    ]);
    await t.mutateRow('r', [{ deleteFromFamily: { family: 'f' } }]);
    assert.deepEqual(values(await t.readRow('r')), [`g:q@${T + 3000}=v3`]);
    await t.mutateRow('r', [{ deleteFromRow: true }]);
    assert.equal(await t.readRow('r'), undefined);
    await t.mutateRow('s', [{ setCell: { family: 'f', qualifier: 'q', value: 'now' } }]);
    const now = (await t.readRow('s'))?.cells[0];
    assert.ok(now !== undefined && now.timestampMicros % 1000 === 0 && now.timestampMicros > T);
    assert.deepEqual(now.labels, []);
  });

  test(`${label}: invalid mutations are rejected with the model's codes`, async () => {
    await db().createTable('bad_mut_t', { families: { f: {} } });
    const t = db().table('bad_mut_t');
    await rejectsWith(t.mutateRow('', [{ deleteFromRow: true }]), 'INVALID_ARGUMENT');
    await rejectsWith(t.mutateRow('k', []), 'INVALID_ARGUMENT');
    await rejectsWith(
      t.mutateRow('k', [{ setCell: { family: 'f', qualifier: 'q', value: 'v', timestampMicros: 1 } }]),
      'INVALID_ARGUMENT',
    );
    await rejectsWith(
      t.mutateRow('k', [{ setCell: { family: 'nope', qualifier: 'q', value: 'v' } }]),
      'NOT_FOUND',
    );
    const bogus = [{ setCell: { family: 'f' }, deleteFromRow: true }] as unknown as [];
    await rejectsWith(t.mutateRow('k', bogus), 'INVALID_ARGUMENT');
    await rejectsWith(
      db()
        .table('missing_t')
        .mutateRow('k', [{ deleteFromRow: true }]),
      'NOT_FOUND',
    );
  });

  test(`${label}: mutateRows reports each entry on its own`, async () => {
    await db().createTable('rows_t', { families: { f: {} } });
    const t = db().table('rows_t');
    const results = await t.mutateRows([
      { key: 'a', mutations: [{ setCell: { family: 'f', qualifier: 'q', value: '1', timestampMicros: T } }] },
      { key: 'b', mutations: [{ setCell: { family: 'nope', qualifier: 'q', value: '2' } }] },
      { key: '', mutations: [{ deleteFromRow: true }] },
      { key: 'c', mutations: [{ setCell: { family: 'f', qualifier: 'q', value: '3', timestampMicros: T } }] },
    ]);
    assert.deepEqual(
      results.map((r) => [r.index, r.key.toString(), r.error?.code]),
      [
        [0, 'a', undefined],
        [1, 'b', 'NOT_FOUND'],
        [2, '', 'INVALID_ARGUMENT'],
        [3, 'c', undefined],
      ],
    );
    assert.deepEqual(keys(await collect(t.readRows())), ['a', 'c']);
    await rejectsWith(
      db()
        .table('missing_t')
        .mutateRows([{ key: 'a', mutations: [{ deleteFromRow: true }] }]),
      'NOT_FOUND',
    );
  });
}

function readTests(label: string, db: DbProvider): void {
  test(`${label}: readRows selects keys, ranges, prefixes, limits and reverse order`, async () => {
    await seed(db(), 'read_t', 20);
    const t = db().table('read_t');
    assert.equal((await collect(t.readRows())).length, 20);
    assert.deepEqual(keys(await collect(t.readRows({ keys: ['row#003', 'row#001', 'zzz'] }))), [
      'row#001',
      'row#003',
    ]);
    const r = { start: 'row#005', end: 'row#008' };
    assert.deepEqual(keys(await collect(t.readRows({ ranges: [r] }))), ['row#005', 'row#006', 'row#007']);
    const r2 = { ...r, startInclusive: false, endInclusive: true };
    assert.deepEqual(keys(await collect(t.readRows({ ranges: [r2] }))), ['row#006', 'row#007', 'row#008']);
    assert.deepEqual(keys(await collect(t.readRows({ prefix: 'row#01', limit: 3 }))), [
      'row#010',
      'row#011',
      'row#012',
    ]);
    assert.deepEqual(keys(await collect(t.readRows({ prefix: 'row#01', limit: 2, reverse: true }))), [
      'row#019',
      'row#018',
    ]);
    const union = await collect(
      t.readRows({ keys: ['row#000'], ranges: [{ start: 'row#018' }], prefix: 'row#005' }),
    );
    assert.deepEqual(keys(union), ['row#000', 'row#005', 'row#018', 'row#019']);
    let seen = 0;
    for await (const _ of t.readRows()) if (++seen === 3) break;
    assert.equal(seen, 3);
    assert.equal((await t.readRow('row#004'))?.cells.length, 2);
    assert.throws(() => t.readRows({ limit: -1 }), TabulaError);
    assert.throws(() => t.readRows({ prefix: '' }), TabulaError);
    await rejectsWith(collect(db().table('missing_t').readRows()), 'NOT_FOUND');
  });

  test(`${label}: filters compose and apply`, async () => {
    await seed(db(), 'filter_t', 5);
    const t = db().table('filter_t');
    await t.mutateRow('row#001', [
      { setCell: { family: 'f', qualifier: 'a', value: 'newer', timestampMicros: T + 1000 } },
    ]);
    const read = async (filter: Filter, key = 'row#001') => values(await t.readRow(key, { filter }));
    assert.deepEqual(await read(Filter.family('g')), [`g:b@${T}=w1`]);
    assert.deepEqual(await read(Filter.qualifier('a').andThen(Filter.latest())), [`f:a@${T + 1000}=newer`]);
    assert.deepEqual(await read(Filter.chain(Filter.family('f'), Filter.stripValue())), [
      `f:a@${T + 1000}=`,
      `f:a@${T}=`,
    ]);
    assert.deepEqual(await read(Filter.timestampRange({ endMicros: T + 1000 })), [
      `f:a@${T}=v1`,
      `g:b@${T}=w1`,
    ]);
    assert.deepEqual(await read(Filter.valueRange({ start: 'w', end: 'x' })), [`g:b@${T}=w1`]);
    assert.deepEqual(await read(Filter.columnRange({ family: 'g', start: 'a', end: 'c' })), [`g:b@${T}=w1`]);
    assert.deepEqual(await read(Filter.columnRange({ family: 'g', end: 'b' })), []);
    assert.deepEqual(await read(Filter.valueRange({ start: 'v1', end: 'w1', endInclusive: true })), [
      `f:a@${T}=v1`,
      `g:b@${T}=w1`,
    ]);
    assert.deepEqual(await read(Filter.cellsPerRowLimit(1)), [`f:a@${T + 1000}=newer`]);
    assert.deepEqual(await read(Filter.cellsPerRowOffset(2)), [`g:b@${T}=w1`]);
    assert.deepEqual(await read(Filter.valueRegex('w.*')), [`g:b@${T}=w1`]);
    const labelled = await t.readRow('row#002', {
      filter: Filter.chain(Filter.family('g'), Filter.label('x-1')),
    });
    assert.deepEqual(labelled?.cells[0]?.labels, ['x-1']);
    const cond = Filter.condition(Filter.value('v2'), {
      onMatch: Filter.family('g'),
      onNoMatch: Filter.blockAll(),
    });
    assert.deepEqual(keys(await collect(t.readRows({ filter: cond }))), ['row#002']);
    const inter = Filter.interleave(Filter.family('g'), Filter.rowKeyRegex('row#00[34]'));
    assert.deepEqual(keys(await collect(t.readRows({ filter: inter, limit: 2 }))), ['row#000', 'row#001']);
    assert.deepEqual(keys(await collect(t.readRows({ filter: Filter.rowKey('row#004') }))), ['row#004']);
    assert.equal(await t.readRow('row#001', { filter: Filter.blockAll() }), undefined);
    assert.throws(() => Filter.label('Bad Label'), TabulaError);
    assert.throws(() => Filter.valueRegex('('), TabulaError);
    assert.throws(() => t.readRows({ filter: { toProto: () => ({}) } as unknown as Filter }), TabulaError);
  });
}

function atomicTests(label: string, db: DbProvider): void {
  test(`${label}: checkAndMutate applies one branch atomically`, async () => {
    await db().createTable('cam_t', { families: { f: {} } });
    const t = db().table('cam_t');
    const set = (v: string) => [{ setCell: { family: 'f', qualifier: 'q', value: v, timestampMicros: T } }];
    assert.equal(await t.checkAndMutate('k', { onMatch: set('yes'), onNoMatch: set('no') }), false);
    assert.deepEqual(values(await t.readRow('k')), [`f:q@${T}=no`]);
    assert.equal(await t.checkAndMutate('k', { predicate: Filter.value('no'), onMatch: set('yes') }), true);
    assert.deepEqual(values(await t.readRow('k')), [`f:q@${T}=yes`]);
    assert.equal(await t.checkAndMutate('k', { predicate: Filter.value('no'), onMatch: set('x') }), false);
    const unknown = [{ setCell: { family: 'nope', qualifier: 'q', value: 'v' } }];
    await rejectsWith(t.checkAndMutate('k', { onMatch: set('z'), onNoMatch: unknown }), 'NOT_FOUND');
    await rejectsWith(t.checkAndMutate('k', {}), 'INVALID_ARGUMENT');
  });

  test(`${label}: readModifyWrite appends and increments`, async () => {
    await db().createTable('rmw_t', { families: { f: {} } });
    const t = db().table('rmw_t');
    await t.readModifyWrite('k', [{ append: { family: 'f', qualifier: 's', value: 'ab' } }]);
    const row = await t.readModifyWrite('k', [
      { append: { family: 'f', qualifier: 's', value: 'cd' } },
      { increment: { family: 'f', qualifier: 'n', amount: 5 } },
      { increment: { family: 'f', qualifier: 'n', amount: -7n } },
    ]);
    assert.equal(row.key.toString(), 'k');
    const byQualifier = new Map(row.cells.map((c) => [c.qualifier.toString(), c.value]));
    assert.equal(byQualifier.get('s')?.toString(), 'abcd');
    assert.equal(byQualifier.get('n')?.readBigInt64BE(0), -2n);
    await rejectsWith(
      t.readModifyWrite('k', [{ increment: { family: 'f', qualifier: 's', amount: 1 } }]),
      'FAILED_PRECONDITION',
    );
    await rejectsWith(t.readModifyWrite('k', []), 'INVALID_ARGUMENT');
  });

  test(`${label}: large values, sampleRowKeys and dropRowRange`, async () => {
    await seed(db(), 'drop_t', 10);
    const t = db().table('drop_t');
    const big = Buffer.alloc(BIG_VALUE_BYTES, 7);
    big[big.length - 1] = 9;
    await t.mutateRow('big', [{ setCell: { family: 'f', qualifier: 'x', value: big, timestampMicros: T } }]);
    assert.ok((await t.readRow('big'))?.cells[0]?.value.equals(big));
    const samples = await t.sampleRowKeys();
    assert.ok(samples.length >= 1 && samples.every((s) => Buffer.isBuffer(s.key) && s.offsetBytes >= 0));
    await t.dropRowRange({ prefix: 'row#00' });
    assert.deepEqual(keys(await collect(t.readRows())), ['big']);
    await t.dropRowRange({ all: true });
    assert.deepEqual(await collect(t.readRows()), []);
    await rejectsWith(t.dropRowRange({ prefix: '' }), 'INVALID_ARGUMENT');
  });
}
