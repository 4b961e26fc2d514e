/**
 * The official Node library `@google-cloud/bigtable`, unchanged, against `tabula serve`: writes
 * (`table.insert`, `row.save`), reads (`getRows`/`createReadStream` by keys, ranges with open and
 * closed bounds, prefixes, limits, reversed), RowFilters, CheckAndMutateRow (`row.filter`),
 * ReadModifyWriteRow (`row.increment`, `row.createRules`), SampleRowKeys and DropRowRange
 * (`deleteRows`, `truncate`). Tables, families, GC rules and restarts are in
 * node-client-admin.test.ts.
 *
 * One server per file, started here and killed in `finally`; every scenario uses its own table.
 * Every result is compared exactly, as one line per cell (see `cellLines`), with explicit
 * millisecond-aligned timestamps wherever the server does not choose them.
 * `TABULA_CONFORMANCE_TARGET=emulator` runs the same scenarios against the official emulator;
 * where it is known to be wrong the expectation branches on `onEmulator` and says why.
 * The binary round trip is seeded: replay with TABULA_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Bigtable, GetRowsOptions, Instance, Row, Table } from '@google-cloud/bigtable';
import { status } from '@grpc/grpc-js';
import type { SeededRand } from '../../src/common/clock.js';
import { testSeeds, withSeed } from '../support/seed.js';
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

/** Explicit cell timestamps: whole milliseconds (Bigtable's granularity), in microseconds. */
const T1 = 1_600_000_001_000_000;
const T2 = 1_600_000_002_000_000;
const T3 = 1_600_000_003_000_000;
const MICROS_PER_MS = 1000;

const BINARY_ROWS = 40;
const BINARY_KEY_BYTES_MAX = 6;
/** Value lengths skip 8: the client decodes every 8-byte value as a counter. */
const BINARY_VALUE_BYTES_MAX = 7;
/** Bytes that stress ordering and encoding: 0x00, 0xff, the sign bit, a separator, ASCII. */
const BINARY_KEY_ALPHABET = [0x00, 0x01, 0x23, 0x61, 0x7f, 0x80, 0xfe, 0xff];

const SAMPLE_ROWS = 300;
const SAMPLE_VALUE_BYTES = 1024;
/** The least share of the bytes written that the last sample's offset must cover. */
const SAMPLE_OFFSET_SHARE_MIN = 0.5;

/** Row keys of the table the read scenarios select from, in order. */
const READ_KEYS = ['a', 'b', 'c', 'd', 'e', 'user#1', 'user#2', 'user#3', 'users', 'v'];

/** Creates a table with `families` (no GC rules) and returns it. */
async function createTable(instance: Instance, tableId: string, families: string[]): Promise<Table> {
  const [table] = await instance.createTable(tableId, { families });
  return table;
}

async function readLines(table: Table, options: GetRowsOptions = {}): Promise<string[]> {
  const [rows] = await table.getRows(options);
  return cellLines(rows);
}

async function readKeys(table: Table, options: GetRowsOptions = {}): Promise<string[]> {
  const [rows] = await table.getRows(options);
  return rows.map((r) => r.id);
}

/** Rows via `createReadStream`, collected. */
async function streamRows(table: Table, options: GetRowsOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const row of table.createReadStream(options)) rows.push(row as Row);
  return rows;
}

test(`official Node client: data API against ${TARGET}`, async (t) => {
  const server = await startTarget();
  const client: Bigtable = nodeClient(server.address);
  const instance = client.instance(INSTANCE_ID);
  try {
    await t.test('insert and row.save write exactly the cells given', async () => {
      const table = await createTable(instance, 'writes', ['cf', 'meta']);
      await table.insert([
        { key: 'r1', data: { cf: { a: { value: 'v1', timestamp: T1 }, b: { value: 'w1', timestamp: T2 } } } },
        { key: 'r2', data: { meta: { m: { value: 'x', timestamp: T3 } } } },
      ]);
      await table.insert([{ key: 'r1', data: { cf: { a: { value: 'v2', timestamp: T2 } } } }]);
      const beforeMs = Date.now();
      await table.row('r3').save({ cf: { a: 'saved' } });
      const afterMs = Date.now();

      const lines = await readLines(table);
      assert.deepEqual(lines.slice(0, 4), [
        `r1 cf:a @${T2} v2`,
        `r1 cf:a @${T1} v1`,
        `r1 cf:b @${T2} w1`,
        `r2 meta:m @${T3} x`,
      ]);
      assert.equal(lines.length, 5);
      // row.save stamps the cell with the client's clock in whole milliseconds.
      const saved = /^r3 cf:a @(\d+) saved$/.exec(lines[4] ?? '');
      assert.ok(saved, `unexpected saved cell: ${lines[4]}`);
      const savedMicros = Number(saved[1]);
      assert.equal(savedMicros % MICROS_PER_MS, 0);
      assert.ok(savedMicros >= beforeMs * MICROS_PER_MS && savedMicros <= afterMs * MICROS_PER_MS);

      // With columns, row.get resolves to the row's families only.
      const [data] = await table.row('r1').get(['cf:b']);
      assert.deepEqual(cellLines([{ id: 'r1', data }]), [`r1 cf:b @${T2} w1`]);
      assert.deepEqual(await table.row('r2').exists(), [true]);
      assert.deepEqual(await table.row('nope').exists(), [false]);
    });

    await t.test('reads select rows by keys, ranges, prefixes and limits', async () => {
      const table = await createTable(instance, 'reads', ['cf']);
      await table.insert(
        READ_KEYS.map((key) => ({ key, data: { cf: { q: { value: `v-${key}`, timestamp: T1 } } } })),
      );
      const cases: { name: string; options: GetRowsOptions; keys: string[] }[] = [
        { name: 'whole table', options: {}, keys: READ_KEYS },
        {
          name: 'keys, unordered, a missing one, a duplicate',
          options: { keys: ['d', 'a', 'zz', 'a'] },
          keys: ['a', 'd'],
        },
        { name: 'start/end default to closed', options: { start: 'b', end: 'd' }, keys: ['b', 'c', 'd'] },
        { name: 'start only', options: { start: 'user#3' }, keys: ['user#3', 'users', 'v'] },
        { name: 'end only', options: { end: 'b' }, keys: ['a', 'b'] },
        {
          name: 'open start and open end',
          options: {
            ranges: [{ start: { value: 'b', inclusive: false }, end: { value: 'd', inclusive: false } }],
          },
          keys: ['c'],
        },
        {
          name: 'closed start and open end',
          options: { ranges: [{ start: 'user#', end: { value: 'user#3', inclusive: false } }] },
          keys: ['user#1', 'user#2'],
        },
        {
          name: 'overlapping ranges return each row once',
          options: {
            ranges: [
              { start: 'a', end: 'c' },
              { start: 'b', end: 'd' },
            ],
          },
          keys: ['a', 'b', 'c', 'd'],
        },
        { name: 'prefix', options: { prefix: 'user#' }, keys: ['user#1', 'user#2', 'user#3'] },
        { name: 'prefixes', options: { prefixes: ['user#2', 'a'] }, keys: ['a', 'user#2'] },
        { name: 'prefix matching nothing', options: { prefix: 'zzz' }, keys: [] },
        { name: 'limit', options: { limit: 3 }, keys: ['a', 'b', 'c'] },
        { name: 'prefix and limit', options: { prefix: 'user', limit: 2 }, keys: ['user#1', 'user#2'] },
        {
          name: 'keys and ranges together',
          options: { keys: ['v'], ranges: [{ start: 'a', end: 'b' }] },
          keys: ['a', 'b', 'v'],
        },
      ];
      for (const c of cases) {
        assert.deepEqual(await readKeys(table, c.options), c.keys, c.name);
      }
      const streamed = await streamRows(table, { prefix: 'user#' });
      assert.deepEqual(cellLines(streamed), [
        `user#1 cf:q @${T1} v-user#1`,
        `user#2 cf:q @${T1} v-user#2`,
        `user#3 cf:q @${T1} v-user#3`,
      ]);
    });

    await t.test('reversed reads return rows in descending key order', async () => {
      const table = await createTable(instance, 'reversed', ['cf']);
      await table.insert(
        READ_KEYS.map((key) => ({ key, data: { cf: { q: { value: key, timestamp: T1 } } } })),
      );
      // The Node library's getRows has no `reversed` option, so this goes through its generated
      // ReadRows client, decoding the chunks here.
      const read = (request: Record<string, unknown>) => readRowKeysRaw(client, table, request);
      if (onEmulator) {
        // The emulator does not implement reversed scans: it answers UNIMPLEMENTED.
        const err = await rejection(read({ reversed: true }), 'reversed read on the emulator');
        assert.equal(grpcCode(err), status.UNIMPLEMENTED);
        return;
      }
      assert.deepEqual(await read({ reversed: true }), [...READ_KEYS].reverse());
      assert.deepEqual(await read({ reversed: true, rowsLimit: 3 }), ['v', 'users', 'user#3']);
      const closedRange = {
        rowRanges: [{ startKeyClosed: Buffer.from('b'), endKeyClosed: Buffer.from('d') }],
      };
      assert.deepEqual(await read({ reversed: true, rows: closedRange }), ['d', 'c', 'b']);
      const openRange = { rowRanges: [{ startKeyOpen: Buffer.from('b'), endKeyOpen: Buffer.from('e') }] };
      assert.deepEqual(await read({ reversed: true, rows: openRange, rowsLimit: 1 }), ['d']);
    });

    await t.test('binary row keys and values round-trip byte for byte', async () => {
      const table = await createTable(instance, 'binary', ['cf']);
      for (const seed of testSeeds(1)) {
        console.log(`binary round trip seed: ${seed} (replay with TABULA_SEED=${seed})`);
        await withSeed(seed, async (rand) => {
          const rows = binaryRows(rand);
          await table.truncate();
          await table.insert(
            [...rows].map(([hex, value]) => ({
              key: Buffer.from(hex, 'hex'),
              data: { cf: { q: { value, timestamp: T1 } } },
            })),
          );
          const expected = [...rows.keys()]
            .sort((x, y) => Buffer.compare(Buffer.from(x, 'hex'), Buffer.from(y, 'hex')))
            .map((hex) => `0x${hex} cf:q @${T1} 0x${rows.get(hex)?.toString('hex')}`);
          assert.deepEqual(await readLines(table, { decode: false }), expected);
        });
      }
    });

    await t.test('filters select exactly the cells they describe', async () => {
      const table = await createTable(instance, 'filters', ['cf1', 'cf2']);
      await writeFilterFixture(table);
      for (const c of FILTER_CASES) {
        const expected = onEmulator ? (c.emulatorLines ?? c.lines) : c.lines;
        assert.deepEqual(await readLines(table, { filter: c.filter }), expected, c.name);
      }
    });

    await t.test('row.filter runs CheckAndMutateRow: true branch, false branch, missing row', async () => {
      const table = await createTable(instance, 'check-and-mutate', ['cf']);
      await table.insert([{ key: 'k', data: { cf: { status: { value: 'open', timestamp: T1 } } } }]);
      const row = table.row('k');
      const isOpen = [{ column: 'status' }, { column: { cellLimit: 1 } }, { value: '^open$' }];
      const close = {
        onMatch: [{ method: 'insert', data: { cf: { status: { value: 'closed', timestamp: T2 } } } }],
      };
      const note = {
        onNoMatch: [{ method: 'insert', data: { cf: { note: { value: 'not-open', timestamp: T3 } } } }],
      };

      assert.deepEqual((await row.filter(isOpen, { ...close, ...note }))[0], true);
      assert.deepEqual(await readLines(table), [`k cf:status @${T2} closed`, `k cf:status @${T1} open`]);

      assert.deepEqual((await row.filter(isOpen, { ...close, ...note }))[0], false);
      assert.deepEqual(await readLines(table), [
        `k cf:note @${T3} not-open`,
        `k cf:status @${T2} closed`,
        `k cf:status @${T1} open`,
      ]);

      const dropNote = { onMatch: [{ method: 'delete', data: ['cf:note'] }] };
      assert.deepEqual((await row.filter([{ column: 'note' }], dropNote))[0], true);
      assert.deepEqual(await readLines(table), [`k cf:status @${T2} closed`, `k cf:status @${T1} open`]);

      const create = {
        onNoMatch: [{ method: 'insert', data: { cf: { status: { value: 'new', timestamp: T1 } } } }],
      };
      assert.deepEqual((await table.row('fresh').filter([{ all: true }], create))[0], false);
      assert.deepEqual(await readLines(table, { keys: ['fresh'] }), [`fresh cf:status @${T1} new`]);
    });

    await t.test('row.increment and row.createRules run ReadModifyWriteRow', async () => {
      const table = await createTable(instance, 'read-modify-write', ['cf']);
      const row = table.row('counter');
      assert.equal((await row.increment('cf:n'))[0], 1, 'a missing column counts from 0');
      assert.equal((await row.increment('cf:n', 41))[0], 42);
      assert.equal((await row.increment('cf:n', -50))[0], -8);

      const [response] = await row.createRules([
        { column: 'cf:s', append: 'ab' },
        { column: 'cf:s', append: 'cd' },
        { column: 'cf:n', increment: 8 },
      ]);
      assert.deepEqual(modifiedCells(response), ['cf:n 0x0000000000000000', 'cf:s 0x61626364']);

      // Each modified column now has the result as its newest cell, stamped by the server.
      const lines = await readLines(table, { filter: [{ column: { cellLimit: 1 } }] });
      assert.deepEqual(
        lines.map((l) => l.replace(/@\d+/, '@T')),
        ['counter cf:n @T #0', 'counter cf:s @T abcd'],
      );

      await table.insert([{ key: 'counter', data: { cf: { short: { value: 'abc', timestamp: T1 } } } }]);
      const err = await rejection(row.increment('cf:short', 1), 'increment of a 3-byte value');
      // The emulator answers UNKNOWN; Tabula treats a wrong-width value as FAILED_PRECONDITION.
      assert.equal(grpcCode(err), onEmulator ? status.UNKNOWN : status.FAILED_PRECONDITION);
    });

    await t.test('sampleRowKeys describes the table in key order', async () => {
      const table = await createTable(instance, 'samples', ['cf']);
      const [empty] = await table.sampleRowKeys();
      assert.deepEqual(
        empty.map((sample) => [Buffer.from(sample.key).toString(), Number(sample.offset)]),
        [['', 0]],
        'an empty table has one sample: the end of the table at offset 0',
      );
      const keys = Array.from({ length: SAMPLE_ROWS }, (_, i) => `row-${String(i).padStart(5, '0')}`);
      const value = Buffer.alloc(SAMPLE_VALUE_BYTES, 0x5a);
      await table.insert(keys.map((key) => ({ key, data: { cf: { q: { value, timestamp: T1 } } } })));
      const [samples] = await table.sampleRowKeys();
      assert.ok(samples.length >= 1, 'at least one sample');
      let previousOffset = -1;
      samples.forEach((sample, i) => {
        const key = Buffer.from(sample.key).toString();
        const offset = Number(sample.offset);
        const last = i === samples.length - 1;
        // The last sample closes the table: the empty key (Cloud Bigtable, the emulator) or the last row.
        if (last) assert.ok(key === '' || key === keys.at(-1), `last sample key ${JSON.stringify(key)}`);
        else assert.ok(keys.includes(key), `sample key ${JSON.stringify(key)} is a row key`);
        if (i > 0 && !last) {
          assert.ok(key > Buffer.from(samples[i - 1]?.key ?? '').toString(), 'sample keys ascend');
        }
        assert.ok(offset >= previousOffset, 'offsets never decrease');
        previousOffset = offset;
      });
      // Offsets are approximate, but the last one must account for most of the values written.
      const writtenBytes = SAMPLE_ROWS * SAMPLE_VALUE_BYTES;
      assert.ok(previousOffset >= writtenBytes * SAMPLE_OFFSET_SHARE_MIN, `last offset ${previousOffset}`);
    });

    await t.test('deleteRows drops a prefix and truncate drops everything', async () => {
      const table = await createTable(instance, 'drop-rows', ['cf']);
      const keys = ['a1', 'a2', 'ab', 'b1', 'b2', 'ba'];
      await table.insert(keys.map((key) => ({ key, data: { cf: { q: { value: key, timestamp: T1 } } } })));
      await table.deleteRows('a');
      assert.deepEqual(await readKeys(table), ['b1', 'b2', 'ba']);
      await table.deleteRows('b2');
      assert.deepEqual(await readKeys(table), ['b1', 'ba']);
      await table.truncate();
      assert.deepEqual(await readKeys(table), []);
      await table.insert([{ key: 'a1', data: { cf: { q: { value: 'again', timestamp: T1 } } } }]);
      assert.deepEqual(await readLines(table), [`a1 cf:q @${T1} again`]);
    });

    await t.test('writes to an unknown family or table fail with a precise code', async () => {
      const table = await createTable(instance, 'errors', ['cf']);
      const err = await rejection(
        table.insert([{ key: 'k', data: { nofamily: { q: 'v' } } }]),
        'unknown family',
      );
      const entryCodes = ((err as { errors?: { code?: number }[] }).errors ?? []).map((e) => e.code);
      // The emulator reports an unknown family as INTERNAL; Tabula as NOT_FOUND.
      assert.deepEqual(entryCodes, [onEmulator ? status.INTERNAL : status.NOT_FOUND]);
      const missing = await rejection(instance.table('no-such-table').getRows(), 'read of a missing table');
      assert.equal(grpcCode(missing), status.NOT_FOUND);
      assert.deepEqual(await readLines(table), []);
    });
  } finally {
    await client.close();
    await stopTarget(server);
  }
});

/** Seeded binary rows: hex row key → value (no 8-byte values, see BINARY_VALUE_BYTES_MAX). */
function binaryRows(rand: SeededRand): Map<string, Buffer> {
  const rows = new Map<string, Buffer>();
  while (rows.size < BINARY_ROWS) {
    const keyBytes = Array.from(
      { length: 1 + rand.int(BINARY_KEY_BYTES_MAX) },
      () => BINARY_KEY_ALPHABET[rand.int(BINARY_KEY_ALPHABET.length)] ?? 0,
    );
    const value = Buffer.from(
      Array.from({ length: rand.int(BINARY_VALUE_BYTES_MAX + 1) }, () => rand.int(256)),
    );
    rows.set(Buffer.from(keyBytes).toString('hex'), value);
  }
  return rows;
}

/** Row keys of a ReadRows call made through the library's generated client. */
async function readRowKeysRaw(
  client: Bigtable,
  table: Table,
  request: Record<string, unknown>,
): Promise<string[]> {
  const stream = client.request({
    client: 'BigtableClient',
    method: 'readRows',
    reqOpts: { tableName: table.name, ...request },
  }) as AsyncIterable<{ chunks?: { rowKey?: Uint8Array | null; commitRow?: boolean }[] }>;
  const keys: string[] = [];
  let current = '';
  for await (const response of stream) {
    for (const chunk of response.chunks ?? []) {
      if (chunk.rowKey && chunk.rowKey.length > 0) current = Buffer.from(chunk.rowKey).toString();
      if (chunk.commitRow) keys.push(current);
    }
  }
  return keys;
}

/** The cells a ReadModifyWriteRow response returns, as `family:qualifier 0xvalue`, sorted. */
function modifiedCells(response: unknown): string[] {
  type Cell = { value?: Uint8Array };
  type Column = { qualifier?: Uint8Array; cells?: Cell[] };
  const families = (response as { row?: { families?: { name?: string; columns?: Column[] }[] } }).row
    ?.families;
  const out: string[] = [];
  for (const family of families ?? []) {
    for (const column of family.columns ?? []) {
      for (const cell of column.cells ?? []) {
        const qualifier = Buffer.from(column.qualifier ?? []).toString();
        out.push(`${family.name}:${qualifier} 0x${Buffer.from(cell.value ?? []).toString('hex')}`);
      }
    }
  }
  return out.sort();
}

/**
 * The filter fixture: r1 has three versions of cf1:a, one of cf1:b and cf2:c; r2 one cell in each
 * family; r3 one cell in cf2.
 */
async function writeFilterFixture(table: Table): Promise<void> {
  const cell = (value: string, timestamp: number) => ({ value, timestamp });
  await table.insert([
    { key: 'r1', data: { cf1: { a: cell('a1', T1), b: cell('b1', T1) }, cf2: { c: cell('c2', T2) } } },
    { key: 'r2', data: { cf1: { a: cell('xa1', T1) }, cf2: { d: cell('d3', T3) } } },
    { key: 'r3', data: { cf2: { c: cell('c1', T1) } } },
  ]);
  await table.insert([{ key: 'r1', data: { cf1: { a: cell('a2', T2) } } }]);
  await table.insert([{ key: 'r1', data: { cf1: { a: cell('a3', T3) } } }]);
}

const R1_A3 = `r1 cf1:a @${T3} a3`;
const R1_A2 = `r1 cf1:a @${T2} a2`;
const R1_A1 = `r1 cf1:a @${T1} a1`;
const R1_B1 = `r1 cf1:b @${T1} b1`;
const R1_C2 = `r1 cf2:c @${T2} c2`;
const R2_A1 = `r2 cf1:a @${T1} xa1`;
const R2_D3 = `r2 cf2:d @${T3} d3`;
const R3_C1 = `r3 cf2:c @${T1} c1`;
const ALL_CELLS = [R1_A3, R1_A2, R1_A1, R1_B1, R1_C2, R2_A1, R2_D3, R3_C1];

/**
 * Each filter, in the Node library's syntax, with the exact cells it must return, and what the
 * emulator returns instead where it is wrong.
 */
const FILTER_CASES: { name: string; filter: object[] | object; lines: string[]; emulatorLines?: string[] }[] =
  [
    { name: 'pass all', filter: { all: true }, lines: ALL_CELLS },
    { name: 'block all', filter: { all: false }, lines: [] },
    { name: 'qualifier regex', filter: { column: 'a' }, lines: [R1_A3, R1_A2, R1_A1, R2_A1] },
    { name: 'family regex', filter: { family: 'cf2' }, lines: [R1_C2, R2_D3, R3_C1] },
    { name: 'family regex alternation', filter: { family: /^cf[12]$/ }, lines: ALL_CELLS },
    { name: 'value regex', filter: { value: /^a[12]$/ }, lines: [R1_A2, R1_A1] },
    { name: 'row key regex', filter: { row: /^r[13]$/ }, lines: [R1_A3, R1_A2, R1_A1, R1_B1, R1_C2, R3_C1] },
    {
      name: 'timestamp range [T2, T3)',
      filter: { time: { start: new Date(T2 / MICROS_PER_MS), end: new Date(T3 / MICROS_PER_MS) } },
      lines: [R1_A2, R1_C2],
    },
    {
      name: 'cells per column limit',
      filter: { column: { cellLimit: 1 } },
      lines: [R1_A3, R1_B1, R1_C2, R2_A1, R2_D3, R3_C1],
    },
    {
      name: 'chain',
      filter: [{ family: 'cf1' }, { column: { cellLimit: 1 } }],
      lines: [R1_A3, R1_B1, R2_A1],
    },
    {
      name: 'interleave',
      filter: { interleave: [[{ column: 'b' }], [{ family: 'cf2' }]] },
      lines: [R1_B1, R1_C2, R2_D3, R3_C1],
    },
    {
      name: 'condition: rows with cf1:b pass cf2, the others fail to their newest cf1 cells',
      filter: {
        condition: {
          test: [{ column: 'b' }],
          pass: [{ family: 'cf2' }],
          fail: [{ family: 'cf1' }, { column: { cellLimit: 1 } }],
        },
      },
      lines: [R1_C2, R2_A1],
    },
    {
      name: 'cells per row limit',
      filter: [{ family: 'cf1' }, { row: { cellLimit: 2 } }],
      lines: [R1_A3, R1_A2, R2_A1],
    },
    {
      name: 'cells per row offset',
      filter: [{ family: 'cf1' }, { row: { cellOffset: 1 } }],
      lines: [R1_A2, R1_A1, R1_B1],
    },
    {
      name: 'value range [a2, b1)',
      filter: { value: { start: 'a2', end: { value: 'b1', inclusive: false } } },
      lines: [R1_A3, R1_A2],
    },
    { name: 'column range', filter: { column: { family: 'cf1', start: 'b', end: 'z' } }, lines: [R1_B1] },
    {
      name: 'strip value',
      filter: [{ family: 'cf2' }, { value: { strip: true } }],
      lines: [`r1 cf2:c @${T2} `, `r2 cf2:d @${T3} `, `r3 cf2:c @${T1} `],
    },
    {
      name: 'label',
      filter: [{ family: 'cf2' }, { label: 'seen' }],
      lines: [`${R1_C2} [seen]`, `${R2_D3} [seen]`, `${R3_C1} [seen]`],
    },
    {
      name: 'sink: labelled copies escape the chain that drops everything else',
      filter: [
        { column: 'c' },
        { interleave: [[{ all: true }], [{ label: 'sunk' }, { sink: true }]] },
        { all: false },
      ],
      lines: [`${R1_C2} [sunk]`, `${R3_C1} [sunk]`],
      // The emulator ignores Sink (it logs "don't know how to handle filter"), so the chain blocks all.
      emulatorLines: [],
    },
  ];
