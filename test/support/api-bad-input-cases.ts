/**
 * The case table of test/server/api-bad-input.test.ts: malformed and boundary requests per RPC, each
 * with the gRPC status name(s) it must get. A case's `run` resolves when the server accepted the
 * request and rejects with the gRPC error otherwise; MutateRows cases turn a failed entry status
 * into a rejection too, so per-entry and whole-request rejections are both seen.
 *
 * Every case is independent of the others except through the table prepared by
 * `prepareBadInputTable` (families `f`, `__proto__`, `constructor`, `c`).
 */
import assert from 'node:assert/strict';
import type { Client } from '@grpc/grpc-js';
import {
  CELL_VALUE_BYTES_MAX,
  COLUMN_QUALIFIER_BYTES_MAX,
  MUTATIONS_PER_REQUEST_MAX,
  ROW_FILTER_DEPTH_MAX,
  ROW_KEY_BYTES_MAX,
  TABLE_ID_CHARS_MAX,
} from '../../src/common/limits.js';
import {
  anyCall,
  createTable,
  INSTANCE_NAME,
  type Message,
  readRows,
  serverStream,
  setCell,
  tableName,
  unary,
} from './api-client.js';

/** The table every case uses. */
export const TABLE_ID = 'bad-input';
/** An ordinary family. */
export const FAMILY = 'f';
/** A family holding counters for ReadModifyWriteRow. */
const COUNTER_FAMILY = 'c';
/** Family names that are special in JavaScript and must be ordinary data. */
const PROTOTYPE_FAMILIES = ['__proto__', 'constructor'] as const;
/** Size of the value the catastrophic-backtracking regex runs over. */
const REDOS_VALUE_BYTES = 100 * 1024;
/** Budget of the `(a+)+$` filter above a trivial filter on the same row, server side (RE2). */
const REDOS_EXTRA_MS_MAX = 50;
/** Repetitions of each timing; the minimum is kept, so noise does not fail the test. */
const REDOS_TIMING_RUNS = 3;
/** Nesting past the API's `ROW_FILTER_DEPTH_MAX`, within what the client library can encode. */
const FILTER_DEPTH_TOO_DEEP = 30;
/** A timestamp that is not a whole millisecond. */
const TIMESTAMP_NOT_MILLIS = 1_001;
/** A valid timestamp (whole milliseconds, in microseconds). */
const TS = 1_000_000;

/** What a case can use. */
export interface CaseContext {
  data: Client;
  admin: Client;
  address: string;
}

/** One row of the table. */
export interface BadInputCase {
  rpc: string;
  name: string;
  /** The status name, or the acceptable names (e.g. a documented server cap). */
  expected: string | string[];
  run(ctx: CaseContext): Promise<unknown>;
}

const T = tableName(TABLE_ID);
const bytes = (n: number, fill = 'k') => Buffer.alloc(n, fill);
const key = (s: string) => Buffer.from(s, 'latin1');
const cell = (qualifier: string | Buffer = 'q', value = key('v'), ts = TS) =>
  setCell(FAMILY, qualifier, ts, value);

/** `count` small SetCell mutations on distinct qualifiers. */
function manyMutations(count: number): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < count; i++)
    out.push(cell(`q${i % 1000}`, key('x'), TS + (Math.floor(i / 1000) + 1) * 1000));
  return out;
}

function mutateRow(ctx: CaseContext, rowKey: Buffer, mutations: Message[], tableNameValue = T) {
  return unary(ctx.data, 'MutateRow', { tableName: tableNameValue, rowKey, mutations });
}

/** MutateRows; rejects with the first failed entry's status when the RPC itself succeeded. */
export async function mutateRows(ctx: CaseContext, entries: Message[], tableNameValue = T): Promise<void> {
  const responses = await serverStream(ctx.data, 'MutateRows', { tableName: tableNameValue, entries });
  for (const r of responses) {
    for (const e of r.entries ?? []) {
      const code = Number(e.status?.code ?? 0);
      if (code !== 0) throw Object.assign(new Error(`entry ${e.index}: ${e.status?.message}`), { code });
    }
  }
}

function read(ctx: CaseContext, extra: Message, tableId = TABLE_ID) {
  return readRows(ctx.data, tableId, extra);
}

/** A filter nested `depth` chains deep (each chain of two filters: one is not a valid chain). */
function nestedFilter(depth: number): Message {
  let filter: Message = { passAllFilter: true };
  for (let i = 0; i < depth; i++) filter = { chain: { filters: [filter, { passAllFilter: true }] } };
  return filter;
}

/** Creates the case table (families through ModifyColumnFamilies: no JS object keyed by a name). */
export async function prepareBadInputTable(data: Client, admin: Client): Promise<void> {
  await createTable(admin, TABLE_ID, [FAMILY, COUNTER_FAMILY]);
  await unary(admin, 'ModifyColumnFamilies', {
    name: T,
    modifications: PROTOTYPE_FAMILIES.map((id) => ({ id, create: {} })),
  });
  await unary(data, 'MutateRow', { tableName: T, rowKey: key('health'), mutations: [cell()] });
}

function mutateRowCases(): BadInputCase[] {
  const rpc = 'MutateRow';
  return [
    {
      rpc,
      name: `row key ${ROW_KEY_BYTES_MAX} bytes`,
      expected: 'OK',
      run: (c) => mutateRow(c, bytes(ROW_KEY_BYTES_MAX), [cell()]),
    },
    {
      rpc,
      name: `row key ${ROW_KEY_BYTES_MAX + 1} bytes`,
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRow(c, bytes(ROW_KEY_BYTES_MAX + 1), [cell()]),
    },
    {
      rpc,
      name: 'empty row key',
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRow(c, Buffer.alloc(0), [cell()]),
    },
    {
      rpc,
      name: `qualifier ${COLUMN_QUALIFIER_BYTES_MAX} bytes`,
      expected: 'OK',
      run: (c) => mutateRow(c, key('r'), [cell(bytes(COLUMN_QUALIFIER_BYTES_MAX, 'q'))]),
    },
    {
      rpc,
      name: `qualifier ${COLUMN_QUALIFIER_BYTES_MAX + 1} bytes`,
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRow(c, key('r'), [cell(bytes(COLUMN_QUALIFIER_BYTES_MAX + 1, 'q'))]),
    },
    {
      rpc,
      name: `${MUTATIONS_PER_REQUEST_MAX} mutations`,
      expected: 'OK',
      run: (c) => mutateRow(c, key('many'), manyMutations(MUTATIONS_PER_REQUEST_MAX)),
    },
    {
      rpc,
      name: `${MUTATIONS_PER_REQUEST_MAX + 1} mutations`,
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRow(c, key('many'), manyMutations(MUTATIONS_PER_REQUEST_MAX + 1)),
    },
    { rpc, name: 'no mutations', expected: 'INVALID_ARGUMENT', run: (c) => mutateRow(c, key('r'), []) },
    {
      rpc,
      name: 'mutation with no kind set',
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRow(c, key('r'), [{}]),
    },
    {
      rpc,
      name: 'set cell without family',
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRow(c, key('r'), [setCell('', 'q', TS, key('v'))]),
    },
    {
      rpc,
      name: 'unknown family',
      expected: 'NOT_FOUND',
      run: (c) => mutateRow(c, key('r'), [setCell('nofamily', 'q', TS, key('v'))]),
    },
    {
      rpc,
      name: 'unknown table',
      expected: 'NOT_FOUND',
      run: (c) => mutateRow(c, key('r'), [cell()], tableName('no-such-table')),
    },
    {
      rpc,
      name: `timestamp ${TIMESTAMP_NOT_MILLIS} (not whole ms)`,
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRow(c, key('r'), [cell('q', key('v'), TIMESTAMP_NOT_MILLIS)]),
    },
    {
      rpc,
      name: 'timestamp -2',
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRow(c, key('r'), [cell('q', key('v'), -2)]),
    },
    {
      rpc,
      name: 'delete time range end < start',
      expected: 'INVALID_ARGUMENT',
      run: (c) =>
        mutateRow(c, key('r'), [
          {
            deleteFromColumn: {
              familyName: FAMILY,
              columnQualifier: key('q'),
              timeRange: { startTimestampMicros: '5000', endTimestampMicros: '2000' },
            },
          },
        ]),
    },
    {
      rpc,
      name: 'delete time range not whole ms',
      expected: 'INVALID_ARGUMENT',
      run: (c) =>
        mutateRow(c, key('r'), [
          {
            deleteFromColumn: {
              familyName: FAMILY,
              columnQualifier: key('q'),
              timeRange: { startTimestampMicros: '1001' },
            },
          },
        ]),
    },
    {
      rpc,
      name: 'empty table name',
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRow(c, key('r'), [cell()], ''),
    },
    {
      rpc,
      name: 'table name "nonsense"',
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRow(c, key('r'), [cell()], 'nonsense'),
    },
    {
      rpc,
      name: 'table name with empty id',
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRow(c, key('r'), [cell()], `${INSTANCE_NAME}/tables/`),
    },
    {
      rpc,
      name: 'table id with a space',
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRow(c, key('r'), [cell()], tableName('bad id')),
    },
    {
      rpc,
      name: 'table name with extra segments',
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRow(c, key('r'), [cell()], `${T}/x/y`),
    },
  ];
}

function largeValueCases(): BadInputCase[] {
  const rpc = 'MutateRow';
  return [
    {
      rpc,
      name: `value ${CELL_VALUE_BYTES_MAX} bytes (100 MiB), read back`,
      expected: ['OK', 'RESOURCE_EXHAUSTED'],
      run: async (c) => {
        await mutateRow(c, key('big'), [cell('big', bytes(CELL_VALUE_BYTES_MAX, 'v'))]);
        const rows = await read(c, { rows: { rowKeys: [key('big')] } });
        assert.equal(rows[0]?.cells[0]?.value.length, CELL_VALUE_BYTES_MAX, 'the 100 MiB value read back');
      },
    },
    {
      rpc,
      name: `value ${CELL_VALUE_BYTES_MAX + 1} bytes`,
      expected: ['INVALID_ARGUMENT', 'RESOURCE_EXHAUSTED'],
      run: (c) => mutateRow(c, key('big2'), [cell('big', bytes(CELL_VALUE_BYTES_MAX + 1, 'v'))]),
    },
  ];
}

function mutateRowsCases(): BadInputCase[] {
  const rpc = 'MutateRows';
  const half = MUTATIONS_PER_REQUEST_MAX / 2;
  const entry = (rowKey: Buffer, mutations: Message[] = [cell()]) => ({ rowKey, mutations });
  return [
    {
      rpc,
      name: `${MUTATIONS_PER_REQUEST_MAX} mutations over 2 entries`,
      expected: 'OK',
      run: (c) =>
        mutateRows(c, [entry(key('m1'), manyMutations(half)), entry(key('m2'), manyMutations(half))]),
    },
    {
      rpc,
      name: `${MUTATIONS_PER_REQUEST_MAX + 1} mutations over 2 entries`,
      expected: 'INVALID_ARGUMENT',
      run: (c) =>
        mutateRows(c, [entry(key('m1'), manyMutations(half)), entry(key('m2'), manyMutations(half + 1))]),
    },
    { rpc, name: 'no entries', expected: 'INVALID_ARGUMENT', run: (c) => mutateRows(c, []) },
    {
      rpc,
      name: 'entry with empty row key',
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRows(c, [entry(key('ok')), entry(Buffer.alloc(0))]),
    },
    {
      rpc,
      name: `entry with ${ROW_KEY_BYTES_MAX + 1}-byte row key`,
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRows(c, [entry(bytes(ROW_KEY_BYTES_MAX + 1))]),
    },
    {
      rpc,
      name: 'entry with no mutations',
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRows(c, [entry(key('r'), [])]),
    },
    {
      rpc,
      name: 'entry with unknown family',
      expected: 'NOT_FOUND',
      run: (c) => mutateRows(c, [entry(key('r'), [setCell('nofamily', 'q', TS, key('v'))])]),
    },
    {
      rpc,
      name: 'entry timestamp not whole ms',
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRows(c, [entry(key('r'), [cell('q', key('v'), TIMESTAMP_NOT_MILLIS)])]),
    },
    {
      rpc,
      name: 'unknown table',
      expected: 'NOT_FOUND',
      run: (c) => mutateRows(c, [entry(key('r'))], tableName('no-such-table')),
    },
    {
      rpc,
      name: 'bad table name',
      expected: 'INVALID_ARGUMENT',
      run: (c) => mutateRows(c, [entry(key('r'))], 'tables/x'),
    },
  ];
}

function readRowsCases(): BadInputCase[] {
  const rpc = 'ReadRows';
  const f = (filter: Message) => (c: CaseContext) => read(c, { filter });
  return [
    { rpc, name: 'unknown table', expected: 'NOT_FOUND', run: (c) => read(c, {}, 'no-such-table') },
    {
      rpc,
      name: 'bad table name',
      expected: 'INVALID_ARGUMENT',
      run: (c) => readRows(c.data, '', { tableName: 'x/y' }),
    },
    { rpc, name: 'row key regex "("', expected: 'INVALID_ARGUMENT', run: f({ rowKeyRegexFilter: key('(') }) },
    {
      rpc,
      name: 'value regex "[a-"',
      expected: 'INVALID_ARGUMENT',
      run: f({ valueRegexFilter: key('[a-') }),
    },
    {
      rpc,
      name: 'family regex "(?<"',
      expected: 'INVALID_ARGUMENT',
      run: f({ familyNameRegexFilter: '(?<' }),
    },
    {
      rpc,
      name: 'qualifier regex backreference "(a)\\1"',
      expected: 'INVALID_ARGUMENT',
      run: f({ columnQualifierRegexFilter: key('(a)\\1') }),
    },
    {
      rpc,
      name: `filter nesting ${FILTER_DEPTH_TOO_DEEP} deep`,
      expected: 'INVALID_ARGUMENT',
      run: f(nestedFilter(FILTER_DEPTH_TOO_DEEP)),
    },
    {
      rpc,
      name: `filter nesting ${ROW_FILTER_DEPTH_MAX - 1} deep`,
      expected: 'OK',
      run: f(nestedFilter(ROW_FILTER_DEPTH_MAX - 1)),
    },
    {
      rpc,
      name: 'filter with no kind set',
      expected: 'INVALID_ARGUMENT',
      run: f({ chain: { filters: [{}] } }),
    },
    {
      rpc,
      name: 'negative rows limit',
      expected: 'INVALID_ARGUMENT',
      run: (c) => read(c, { rowsLimit: '-1' }),
    },
    {
      rpc,
      name: 'negative cells per row limit',
      expected: 'INVALID_ARGUMENT',
      run: f({ cellsPerRowLimitFilter: -1 }),
    },
    {
      rpc,
      name: 'negative cells per column limit',
      expected: 'INVALID_ARGUMENT',
      run: f({ cellsPerColumnLimitFilter: -1 }),
    },
    { rpc, name: 'row sample probability 2', expected: 'INVALID_ARGUMENT', run: f({ rowSampleFilter: 2 }) },
    {
      rpc,
      name: 'label of 16 characters',
      expected: 'INVALID_ARGUMENT',
      run: f({ applyLabelTransformer: 'abcdefghijklmnop' }),
    },
    {
      rpc,
      name: 'label with a space',
      expected: 'INVALID_ARGUMENT',
      run: f({ applyLabelTransformer: 'bad label' }),
    },
    {
      rpc,
      name: 'timestamp range filter not whole ms',
      expected: ['OK', 'INVALID_ARGUMENT'],
      run: f({ timestampRangeFilter: { startTimestampMicros: '1001' } }),
    },
    {
      rpc,
      name: 'row range start after end',
      expected: 'INVALID_ARGUMENT',
      run: (c) => read(c, { rows: { rowRanges: [{ startKeyClosed: key('z'), endKeyOpen: key('a') }] } }),
    },
    {
      rpc,
      name: `row key ${ROW_KEY_BYTES_MAX + 1} bytes in row set`,
      expected: ['INVALID_ARGUMENT', 'OK'],
      run: (c) => read(c, { rows: { rowKeys: [bytes(ROW_KEY_BYTES_MAX + 1)] } }),
    },
    { rpc, name: '(a+)+$ on a 100 KiB value (RE2 time)', expected: 'OK', run: regexTimingCase },
  ];
}

async function timedRead(ctx: CaseContext, filter: Message): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < REDOS_TIMING_RUNS; i++) {
    const started = performance.now();
    await read(ctx, { rows: { rowKeys: [key('redos')] }, filter });
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

/** Writes 100 KiB of 'a' plus 'b' and times `(a+)+$` against a pass-all filter on that row. */
async function regexTimingCase(ctx: CaseContext): Promise<void> {
  const value = Buffer.concat([bytes(REDOS_VALUE_BYTES, 'a'), key('b')]);
  await mutateRow(ctx, key('redos'), [cell('q', value)]);
  const trivialMs = await timedRead(ctx, { passAllFilter: true });
  const regexMs = await timedRead(ctx, { valueRegexFilter: key('(a+)+$') });
  const matching = await read(ctx, {
    rows: { rowKeys: [key('redos')] },
    filter: { valueRegexFilter: key('(a+)+b') },
  });
  assert.equal(matching.length, 1, 'the value regex (a+)+b must match the row');
  assert.ok(
    regexMs - trivialMs < REDOS_EXTRA_MS_MAX,
    `(a+)+$ took ${regexMs.toFixed(1)} ms vs ${trivialMs.toFixed(1)} ms with a trivial filter`,
  );
}

function conditionalCases(): BadInputCase[] {
  const cam = (c: CaseContext, req: Message) =>
    unary(c.data, 'CheckAndMutateRow', { tableName: T, rowKey: key('cam'), ...req });
  const rmw = (c: CaseContext, req: Message) =>
    unary(c.data, 'ReadModifyWriteRow', { tableName: T, rowKey: key('rmw'), ...req });
  const inc = (family: string, qualifier = 'n') => ({
    familyName: family,
    columnQualifier: key(qualifier),
    incrementAmount: '1',
  });
  return [
    {
      rpc: 'CheckAndMutateRow',
      name: 'empty row key',
      expected: 'INVALID_ARGUMENT',
      run: (c) => cam(c, { rowKey: Buffer.alloc(0), trueMutations: [cell()] }),
    },
    {
      rpc: 'CheckAndMutateRow',
      name: 'no mutations at all',
      expected: 'INVALID_ARGUMENT',
      run: (c) => cam(c, {}),
    },
    {
      rpc: 'CheckAndMutateRow',
      name: 'bad predicate regex',
      expected: 'INVALID_ARGUMENT',
      run: (c) => cam(c, { predicateFilter: { rowKeyRegexFilter: key('(') }, trueMutations: [cell()] }),
    },
    {
      rpc: 'CheckAndMutateRow',
      name: `${MUTATIONS_PER_REQUEST_MAX} true mutations`,
      expected: 'OK',
      run: (c) => cam(c, { trueMutations: manyMutations(MUTATIONS_PER_REQUEST_MAX) }),
    },
    {
      rpc: 'CheckAndMutateRow',
      name: `${MUTATIONS_PER_REQUEST_MAX + 1} true mutations`,
      expected: 'INVALID_ARGUMENT',
      run: (c) => cam(c, { trueMutations: manyMutations(MUTATIONS_PER_REQUEST_MAX + 1) }),
    },
    {
      rpc: 'CheckAndMutateRow',
      name: 'unknown family in the branch taken',
      expected: 'NOT_FOUND',
      run: (c) =>
        cam(c, { rowKey: key('cam-absent'), falseMutations: [setCell('nofamily', 'q', TS, key('v'))] }),
    },
    {
      rpc: 'CheckAndMutateRow',
      name: 'unknown family in the branch not taken',
      expected: 'NOT_FOUND',
      run: (c) =>
        cam(c, {
          rowKey: key('cam-absent'),
          trueMutations: [setCell('nofamily', 'q', TS, key('v'))],
          falseMutations: [cell()],
        }),
    },
    {
      rpc: 'CheckAndMutateRow',
      name: 'unknown table',
      expected: 'NOT_FOUND',
      run: (c) => cam(c, { tableName: tableName('no-such-table'), trueMutations: [cell()] }),
    },
    {
      rpc: 'ReadModifyWriteRow',
      name: 'no rules',
      expected: 'INVALID_ARGUMENT',
      run: (c) => rmw(c, { rules: [] }),
    },
    {
      rpc: 'ReadModifyWriteRow',
      name: 'rule with no kind set',
      expected: 'INVALID_ARGUMENT',
      run: (c) => rmw(c, { rules: [{ familyName: COUNTER_FAMILY, columnQualifier: key('n') }] }),
    },
    {
      rpc: 'ReadModifyWriteRow',
      name: 'unknown family',
      expected: 'NOT_FOUND',
      run: (c) => rmw(c, { rules: [inc('nofamily')] }),
    },
    {
      rpc: 'ReadModifyWriteRow',
      name: 'empty row key',
      expected: 'INVALID_ARGUMENT',
      run: (c) => rmw(c, { rowKey: Buffer.alloc(0), rules: [inc(COUNTER_FAMILY)] }),
    },
    {
      rpc: 'ReadModifyWriteRow',
      name: 'increment of a 3-byte value',
      expected: 'FAILED_PRECONDITION',
      run: wrongWidthIncrement,
    },
    {
      rpc: 'SampleRowKeys',
      name: 'unknown table',
      expected: 'NOT_FOUND',
      run: (c) => serverStream(c.data, 'SampleRowKeys', { tableName: tableName('no-such-table') }),
    },
    {
      rpc: 'SampleRowKeys',
      name: 'bad table name',
      expected: 'INVALID_ARGUMENT',
      run: (c) => serverStream(c.data, 'SampleRowKeys', { tableName: 'bad' }),
    },
  ];
}

async function wrongWidthIncrement(ctx: CaseContext): Promise<void> {
  await mutateRow(ctx, key('rmw3'), [setCell(COUNTER_FAMILY, 'w', TS, Buffer.from([1, 2, 3]))]);
  await unary(ctx.data, 'ReadModifyWriteRow', {
    tableName: T,
    rowKey: key('rmw3'),
    rules: [{ familyName: COUNTER_FAMILY, columnQualifier: key('w'), incrementAmount: '1' }],
  });
}

/** `__proto__` and `constructor` as families: write, read back, increment, append, filter. */
async function prototypeFamiliesRoundTrip(ctx: CaseContext): Promise<void> {
  const row = key('proto-row');
  const mutations = PROTOTYPE_FAMILIES.map((family) =>
    setCell(family, family, TS, key(`value-of-${family}`)),
  );
  await mutateRow(ctx, row, mutations);
  await unary(ctx.data, 'ReadModifyWriteRow', {
    tableName: T,
    rowKey: row,
    rules: [
      { familyName: '__proto__', columnQualifier: key('n'), incrementAmount: '5' },
      { familyName: 'constructor', columnQualifier: key('s'), appendValue: key('xy') },
    ],
  });
  const [read1] = await read(ctx, { rows: { rowKeys: [row] } });
  const seen = new Map(
    (read1?.cells ?? []).map((c) => [`${c.family}:${c.qualifier.toString('latin1')}`, c.value]),
  );
  for (const family of PROTOTYPE_FAMILIES) {
    assert.equal(
      seen.get(`${family}:${family}`)?.toString('latin1'),
      `value-of-${family}`,
      `family ${family}`,
    );
  }
  assert.equal(seen.get('__proto__:n')?.readBigInt64BE(0), 5n, 'increment in __proto__');
  assert.equal(seen.get('constructor:s')?.toString('latin1'), 'xy', 'append in constructor');
  const only = await read(ctx, { rows: { rowKeys: [row] }, filter: { familyNameRegexFilter: '__proto__' } });
  assert.deepEqual(
    only[0]?.cells.map((c) => c.family),
    ['__proto__', '__proto__'],
    'family filter selects __proto__ only',
  );
}

function adminCases(): BadInputCase[] {
  const rpc = 'Admin';
  const create = (c: CaseContext, tableId: string, families: Message[] = []) =>
    unary(c.admin, 'CreateTable', { parent: INSTANCE_NAME, tableId, table: {} }).then(() =>
      families.length === 0
        ? undefined
        : unary(c.admin, 'ModifyColumnFamilies', { name: tableName(tableId), modifications: families }),
    );
  return [
    {
      rpc,
      name: 'CreateTable id with a space',
      expected: 'INVALID_ARGUMENT',
      run: (c) => create(c, 'bad id'),
    },
    {
      rpc,
      name: `CreateTable id of ${TABLE_ID_CHARS_MAX + 1} chars`,
      expected: 'INVALID_ARGUMENT',
      run: (c) => create(c, 't'.repeat(TABLE_ID_CHARS_MAX + 1)),
    },
    { rpc, name: 'CreateTable empty id', expected: 'INVALID_ARGUMENT', run: (c) => create(c, '') },
    { rpc, name: 'CreateTable existing table', expected: 'ALREADY_EXISTS', run: (c) => create(c, TABLE_ID) },
    {
      rpc,
      name: 'family id with a slash',
      expected: 'INVALID_ARGUMENT',
      run: (c) => create(c, 'fam-slash', [{ id: 'a/b', create: {} }]),
    },
    {
      rpc,
      name: 'family id of 65 chars',
      expected: 'INVALID_ARGUMENT',
      run: (c) => create(c, 'fam-long', [{ id: 'f'.repeat(65), create: {} }]),
    },
    {
      rpc,
      name: 'GetTable unknown table',
      expected: 'NOT_FOUND',
      run: (c) => unary(c.admin, 'GetTable', { name: tableName('no-such-table') }),
    },
    {
      rpc,
      name: 'DeleteTable unknown table',
      expected: 'NOT_FOUND',
      run: (c) => unary(c.admin, 'DeleteTable', { name: tableName('no-such-table') }),
    },
    {
      rpc,
      name: 'ModifyColumnFamilies drop unknown family',
      expected: 'NOT_FOUND',
      run: (c) =>
        unary(c.admin, 'ModifyColumnFamilies', { name: T, modifications: [{ id: 'nofamily', drop: true }] }),
    },
    {
      rpc: 'Data',
      name: 'families __proto__ and constructor end to end',
      expected: 'OK',
      run: prototypeFamiliesRoundTrip,
    },
  ];
}

function unimplementedCases(): BadInputCase[] {
  const data = ['GenerateInitialChangeStreamPartitions', 'ReadChangeStream', 'PrepareQuery', 'ExecuteQuery'];
  const admin = [
    'CreateBackup',
    'ListBackups',
    'SnapshotTable',
    'CreateAuthorizedView',
    'GetIamPolicy',
    'UndeleteTable',
  ];
  const request = { tableName: T, instanceName: INSTANCE_NAME, parent: INSTANCE_NAME, name: T, resource: T };
  return [
    ...data.map((method) => ({ method, client: (c: CaseContext) => c.data })),
    ...admin.map((method) => ({ method, client: (c: CaseContext) => c.admin })),
  ].map(({ method, client }) => ({
    rpc: method,
    name: 'unsupported RPC',
    expected: 'UNIMPLEMENTED',
    run: (c: CaseContext) => anyCall(client(c), method, request),
  }));
}

/** Every case, in the order they run. */
export function badInputCases(): BadInputCase[] {
  return [
    ...mutateRowCases(),
    ...largeValueCases(),
    ...mutateRowsCases(),
    ...readRowsCases(),
    ...conditionalCases(),
    ...adminCases(),
    ...unimplementedCases(),
  ];
}
