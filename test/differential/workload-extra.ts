/**
 * The parts of the differential workload with special shapes: ReadModifyWriteRow (with its
 * CheckAndMutateRow prelude) and deliberately invalid requests.
 *
 * ReadModifyWriteRow on an empty column takes the server's clock as timestamp, which differs
 * between servers; so on the main table each target column is first given a cell when it has none
 * (a CheckAndMutateRow whose predicate selects that column and whose false branch writes a cell at
 * a future timestamp). The new cell then replaces the latest one, at its timestamp, in both.
 * Empty-column ReadModifyWriteRow runs on the scratch table (workload.ts) instead.
 *
 * Invalid requests fail as a whole in both servers, so their states never diverge; only the
 * status codes are compared (see intended-differences.ts for the emulator's imprecise ones).
 */
import type { SeededRand } from '../../src/common/clock.js';
import type { Message } from './bigtable-client.js';
import { invalidFilter, randomFilter } from './filter-generator.js';
import {
  between,
  chance,
  counter,
  FUTURE_BASE_MICROS,
  MAIN_FAMILIES,
  pick,
  QUALIFIERS,
  ROW_KEYS,
  randomValue,
  TIMESTAMPS_MICROS,
  UNKNOWN_FAMILY,
  VALUES,
} from './key-space.js';
import { type Operation, randomMutation, readRows } from './workload.js';

/** Increment amounts: small, negative, and ones that wrap around 64 bits. */
const INCREMENT_AMOUNTS = ['1', '-1', '5', '0', '9223372036854775807', '-9223372036854775808'];

interface Column {
  readonly family: string;
  readonly qualifier: Buffer;
}

function randomColumn(rand: SeededRand): Column {
  return { family: pick(rand, MAIN_FAMILIES), qualifier: pick(rand, QUALIFIERS) };
}

/** "If `column` has no cell, write one": keeps ReadModifyWriteRow off the server clock. */
function ensureCell(rand: SeededRand, table: string, rowKey: Buffer, column: Column): Operation {
  const value = chance(rand, 0.6) ? counter(BigInt(between(rand, -3, 3))) : randomValue(rand);
  const request = {
    tableName: table,
    rowKey,
    predicateFilter: {
      columnRangeFilter: {
        familyName: column.family,
        startQualifierClosed: column.qualifier,
        endQualifierClosed: column.qualifier,
      },
    },
    falseMutations: [
      {
        setCell: {
          familyName: column.family,
          columnQualifier: column.qualifier,
          timestampMicros: String(pick(rand, TIMESTAMPS_MICROS)),
          value,
        },
      },
    ],
  };
  return { rpc: 'CheckAndMutateRow', tag: 'workload', request };
}

/** Preludes and one ReadModifyWriteRow: an optional leading increment, then appends. */
export function rmwOperations(rand: SeededRand, table: string): Operation[] {
  const rowKey = pick(rand, ROW_KEYS);
  const columns = [randomColumn(rand)];
  if (chance(rand, 0.4)) columns.push(randomColumn(rand));
  const ops = columns.map((c) => ensureCell(rand, table, rowKey, c));
  const rules: Message[] = [];
  // An increment may fail (wrong width); first in the request, its failure leaves nothing applied.
  if (chance(rand, 0.5)) {
    const c = columns[0] as Column;
    rules.push({
      familyName: c.family,
      columnQualifier: c.qualifier,
      incrementAmount: pick(rand, INCREMENT_AMOUNTS),
    });
  }
  const appends = rules.length === 0 ? between(rand, 1, 3) : rand.int(2);
  for (let i = 0; i < appends; i++) {
    const c = pick(rand, columns);
    rules.push({ familyName: c.family, columnQualifier: c.qualifier, appendValue: pick(rand, VALUES) });
  }
  ops.push({ rpc: 'ReadModifyWriteRow', tag: 'workload', request: { tableName: table, rowKey, rules } });
  return ops;
}

function unknownFamilySet(): Message {
  return {
    setCell: {
      familyName: UNKNOWN_FAMILY,
      columnQualifier: Buffer.from('q'),
      timestampMicros: String(FUTURE_BASE_MICROS),
      value: Buffer.from('v'),
    },
  };
}

function mutateRow(table: string, rowKey: Buffer, mutations: Message[]): Operation {
  return { rpc: 'MutateRow', tag: 'invalid', request: { tableName: table, rowKey, mutations } };
}

function setCellAt(timestampMicros: string): Message {
  return {
    setCell: { familyName: 'a', columnQualifier: Buffer.from('q'), timestampMicros, value: Buffer.from('v') },
  };
}

/** A valid mutation that changes nothing: no cell is ever written under this qualifier. */
const NO_OP_MUTATION = {
  deleteFromColumn: { familyName: 'a', columnQualifier: Buffer.from('never-written') },
};

/** Each returns one invalid request (exactly one thing is wrong with it). */
const INVALID_OPERATIONS: readonly ((rand: SeededRand, table: string, rowKey: Buffer) => Operation)[] = [
  (_r, t, k) => mutateRow(t, k, [unknownFamilySet()]),
  (_r, t, k) =>
    mutateRow(t, k, [
      { deleteFromColumn: { familyName: UNKNOWN_FAMILY, columnQualifier: Buffer.from('q') } },
    ]),
  (_r, t, k) => mutateRow(t, k, [{ deleteFromFamily: { familyName: UNKNOWN_FAMILY } }]),
  (_r, t, k) => mutateRow(t, k, [setCellAt(String(FUTURE_BASE_MICROS + 1))]),
  (_r, t, k) => mutateRow(t, k, [setCellAt('-2000')]),
  (r, t, k) => {
    const start = pick(r, TIMESTAMPS_MICROS.slice(1));
    const end = chance(r, 0.5) ? start : start - 1000;
    const timeRange = { startTimestampMicros: String(start), endTimestampMicros: String(end) };
    return mutateRow(t, k, [
      { deleteFromColumn: { familyName: 'a', columnQualifier: Buffer.from('q'), timeRange } },
    ]);
  },
  (r, t) => mutateRow(t, Buffer.alloc(0), [randomMutation(r, MAIN_FAMILIES, TIMESTAMPS_MICROS)]),
  (_r, t, k) => mutateRow(t, k, []),
  (r, t, k) => {
    const entries = [
      { rowKey: k, mutations: [unknownFamilySet()] },
      { rowKey: Buffer.from('k00'), mutations: [randomMutation(r, MAIN_FAMILIES, TIMESTAMPS_MICROS)] },
    ];
    if (chance(r, 0.5)) entries.reverse();
    return { rpc: 'MutateRows', tag: 'invalid', request: { tableName: t, entries } };
  },
  (_r, t) => ({ rpc: 'MutateRows', tag: 'invalid', request: { tableName: t, entries: [] } }),
  (_r, t, k) => {
    const rules = [
      { familyName: UNKNOWN_FAMILY, columnQualifier: Buffer.from('q'), appendValue: Buffer.from('x') },
    ];
    return { rpc: 'ReadModifyWriteRow', tag: 'invalid', request: { tableName: t, rowKey: k, rules } };
  },
  (_r, t, k) => ({
    rpc: 'ReadModifyWriteRow',
    tag: 'invalid',
    request: { tableName: t, rowKey: k, rules: [] },
  }),
  (r, t) => ({ ...readRows(r, t), tag: 'invalid', request: { tableName: t, filter: invalidFilter(r) } }),
  (_r, t) => {
    const rows = { rowRanges: [{ startKeyClosed: Buffer.from('k09'), endKeyOpen: Buffer.from('k01') }] };
    return { rpc: 'ReadRows', tag: 'invalid', request: { tableName: t, rows } };
  },
  (_r, t) => ({ rpc: 'ReadRows', tag: 'invalid', request: { tableName: t, rowsLimit: '-1' } }),
  (_r, t) => ({ rpc: 'ReadRows', tag: 'invalid', request: { tableName: `${t}-missing` } }),
  (r, t, k) => {
    const request = {
      tableName: t,
      rowKey: k,
      predicateFilter: invalidFilter(r),
      trueMutations: [NO_OP_MUTATION],
      falseMutations: [NO_OP_MUTATION],
    };
    return { rpc: 'CheckAndMutateRow', tag: 'invalid', request };
  },
  (r, t, k) => {
    const request = { tableName: t, rowKey: k, predicateFilter: randomFilter(r, true) };
    return { rpc: 'CheckAndMutateRow', tag: 'invalid', request };
  },
];

/** One random invalid request on `table`. */
export function invalidOperation(rand: SeededRand, table: string): Operation {
  return pick(rand, INVALID_OPERATIONS)(rand, table, pick(rand, ROW_KEYS));
}
