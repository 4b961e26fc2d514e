/**
 * The seeded differential workload: a deterministic sequence of data-API requests (every data RPC)
 * over three tables, identical for both servers. Same seed, same requests, byte for byte.
 *
 * Tables (ids carry the seed so several seeds share one server pair):
 * - main: families `a` (no GC rule), `b` (max age), `__proto__` (intersection); cells use future
 *   timestamps only, so none of these rules ever makes a cell eligible and reads are exact.
 * - gc: max-versions, max-age, union and intersection families written with old and future
 *   timestamps; read only at checkpoints after the emulator's GC loop has run (`Settle` step).
 * - scratch: server-assigned timestamps (-1, and ReadModifyWriteRow on empty columns), each on a
 *   fresh row, compared with timestamps normalized.
 *
 * Requests that may fail do so as a whole in both servers (an invalid mutation is alone in its
 * request or entry; an increment rule comes first), because the emulator applies mutations one
 * by one and keeps the ones before a failure — that would make the two states diverge.
 */
import type { SeededRand } from '../../src/common/clock.js';
import type { RowFilter } from '../../src/model/proto-types.js';
import type { Message } from './bigtable-client.js';
import { randomFilter } from './filter-generator.js';
import { filterNodes } from './filter-traits.js';
import {
  between,
  chance,
  MAIN_FAMILIES,
  pick,
  QUALIFIERS,
  RANGE_BOUNDS,
  ROW_KEYS,
  randomValue,
  TIMESTAMPS_MICROS,
  tableName,
} from './key-space.js';
import { invalidOperation, rmwOperations } from './workload-extra.js';

/** The data RPCs the suite exercises. */
export type RpcName =
  | 'MutateRow'
  | 'MutateRows'
  | 'CheckAndMutateRow'
  | 'ReadModifyWriteRow'
  | 'ReadRows'
  | 'SampleRowKeys';

/** Why an operation is in the workload; rules may depend on it. */
export type OperationTag = 'workload' | 'invalid' | 'server-time' | 'gc-checkpoint' | 'final-scan';

/** One request, sent to both servers. */
export interface Operation {
  readonly rpc: RpcName;
  readonly tag: OperationTag;
  readonly request: Message;
}

/** A pause that lets the emulator's GC loop (0.5–1.5 s period) run over everything written. */
export interface SettleStep {
  readonly rpc: 'Settle';
  readonly ms: number;
}

/** One step of a workload. */
export type Step = Operation | SettleStep;

/** Longest period of the emulator's GC loop plus a margin. */
export const GC_SETTLE_MS = 2_000;
/** GC checkpoints per seed (the last one is at the end). */
const GC_CHECKPOINTS = 2;

/** The table ids of one seed. */
export interface SeedTables {
  readonly main: string;
  readonly gc: string;
  readonly scratch: string;
}

/** Table names for `seed`. */
export function seedTables(seed: number): SeedTables {
  return {
    main: tableName(`main-${seed}`),
    gc: tableName(`gc-${seed}`),
    scratch: tableName(`scratch-${seed}`),
  };
}

/** The workload of `seed`: `count` steps of random operations, GC checkpoints and final scans. */
export function* workload(rand: SeededRand, tables: SeedTables, count: number): Generator<Step> {
  const checkpointEvery = Math.ceil(count / GC_CHECKPOINTS);
  let emitted = 0;
  let scratchRows = 0;
  while (emitted < count) {
    const batch = nextOperations(rand, tables, () => `s${scratchRows++}`);
    for (const step of batch) yield step;
    const before = emitted;
    emitted += batch.length;
    if (Math.floor(before / checkpointEvery) !== Math.floor(emitted / checkpointEvery) || emitted >= count) {
      yield { rpc: 'Settle', ms: GC_SETTLE_MS };
      yield* gcCheckpoint(rand, tables);
    }
  }
  yield { rpc: 'ReadRows', tag: 'final-scan', request: { tableName: tables.main } };
  yield { rpc: 'ReadRows', tag: 'server-time', request: { tableName: tables.scratch } };
}

function nextOperations(rand: SeededRand, tables: SeedTables, scratchKey: () => string): Operation[] {
  const roll = rand.int(1000);
  if (roll < 230) return [mutateRow(rand, tables.main, 'workload')];
  if (roll < 330) return [mutateRows(rand, tables.main)];
  if (roll < 450) return [checkAndMutateRow(rand, tables.main)];
  if (roll < 530) return rmwOperations(rand, tables.main);
  if (roll < 920) return [readRows(rand, tables.main)];
  if (roll < 935) return [{ rpc: 'SampleRowKeys', tag: 'workload', request: { tableName: tables.main } }];
  if (roll < 950) return serverTimeOperations(rand, tables.scratch, Buffer.from(scratchKey()));
  if (roll < 975) return [mutateRow(rand, tables.gc, 'workload', GC_FAMILIES, GC_TIMESTAMPS_MICROS)];
  return [invalidOperation(rand, tables.main)];
}

/** Families of the GC table and their rules; see `gcTableFamilies`. */
export const GC_FAMILIES: readonly string[] = ['gv', 'ga', 'gu', 'gi'];
/** Old (GC-eligible by age) and future timestamps. */
const GC_TIMESTAMPS_MICROS: readonly number[] = [1000, 2000, 3000, ...TIMESTAMPS_MICROS.slice(0, 2)];

/** A SetCell with an explicit timestamp. */
export function setCell(
  rand: SeededRand,
  families: readonly string[],
  timestamps: readonly number[],
): Message {
  return {
    setCell: {
      familyName: pick(rand, families),
      columnQualifier: pick(rand, QUALIFIERS),
      timestampMicros: String(pick(rand, timestamps)),
      value: randomValue(rand),
    },
  };
}

/** One random valid mutation. */
export function randomMutation(
  rand: SeededRand,
  families: readonly string[],
  timestamps: readonly number[],
): Message {
  const roll = rand.int(100);
  if (roll < 65) return setCell(rand, families, timestamps);
  if (roll < 85) {
    const del: Message = { familyName: pick(rand, families), columnQualifier: pick(rand, QUALIFIERS) };
    if (chance(rand, 0.6)) del.timeRange = deleteTimeRange(rand, timestamps);
    return { deleteFromColumn: del };
  }
  if (roll < 95) return { deleteFromFamily: { familyName: pick(rand, families) } };
  return { deleteFromRow: {} };
}

/** A valid [start, end) range for DeleteFromColumn: start < end, or end unset/0 (forever). */
function deleteTimeRange(rand: SeededRand, timestamps: readonly number[]): Message {
  const points = [0, ...timestamps].sort((x, y) => x - y);
  const i = rand.int(points.length);
  const range: Message = {};
  if (i > 0 || chance(rand, 0.5)) range.startTimestampMicros = String(points[i]);
  if (i + 1 < points.length && chance(rand, 0.7)) {
    range.endTimestampMicros = String(points[between(rand, i + 1, points.length - 1)]);
  }
  return range;
}

function mutations(
  rand: SeededRand,
  families: readonly string[],
  timestamps: readonly number[],
  max: number,
) {
  return Array.from({ length: between(rand, 1, max) }, () => randomMutation(rand, families, timestamps));
}

function mutateRow(
  rand: SeededRand,
  table: string,
  tag: 'workload',
  families: readonly string[] = MAIN_FAMILIES,
  timestamps: readonly number[] = TIMESTAMPS_MICROS,
): Operation {
  const request = {
    tableName: table,
    rowKey: pick(rand, ROW_KEYS),
    mutations: mutations(rand, families, timestamps, 4),
  };
  return { rpc: 'MutateRow', tag, request };
}

/** Several entries on distinct rows (entry order on one row is not specified by Bigtable). */
function mutateRows(rand: SeededRand, table: string): Operation {
  const keys = [...ROW_KEYS];
  const entries: Message[] = [];
  const count = between(rand, 2, 5);
  for (let i = 0; i < count; i++) {
    const key = keys.splice(rand.int(keys.length), 1)[0];
    entries.push({ rowKey: key, mutations: mutations(rand, MAIN_FAMILIES, TIMESTAMPS_MICROS, 3) });
  }
  return { rpc: 'MutateRows', tag: 'workload', request: { tableName: table, entries } };
}

function checkAndMutateRow(rand: SeededRand, table: string): Operation {
  const request: Message = { tableName: table, rowKey: pick(rand, ROW_KEYS) };
  if (chance(rand, 0.75)) request.predicateFilter = randomFilter(rand, true);
  const branches = rand.int(3);
  if (branches !== 1) request.trueMutations = mutations(rand, MAIN_FAMILIES, TIMESTAMPS_MICROS, 3);
  if (branches !== 0) request.falseMutations = mutations(rand, MAIN_FAMILIES, TIMESTAMPS_MICROS, 3);
  // The emulator evaluates per-row cell limits and offsets in random family order, so whether such a
  // predicate matches is not comparable (emulator-row-limit-family-order). Both branches then apply
  // the same mutations, so the two servers' rows stay equal whichever branch each one takes.
  if (request.predicateFilter !== undefined && hasPerRowCellFilter(request.predicateFilter)) {
    request.falseMutations = request.trueMutations ?? request.falseMutations;
    request.trueMutations = request.falseMutations;
  }
  return { rpc: 'CheckAndMutateRow', tag: 'workload', request };
}

function hasPerRowCellFilter(filter: RowFilter): boolean {
  for (const { node } of filterNodes(filter)) {
    if (node.cellsPerRowLimitFilter !== undefined || node.cellsPerRowOffsetFilter !== undefined) return true;
  }
  return false;
}

/** A RowRange with random open/closed/unset bounds, never inverted. */
function rowRange(rand: SeededRand): Message {
  const a = pick(rand, RANGE_BOUNDS);
  const b = pick(rand, RANGE_BOUNDS);
  const [lo, hi] = Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
  const range: Message = {};
  const start = rand.int(3);
  if (start === 1) range.startKeyClosed = lo;
  if (start === 2) range.startKeyOpen = lo;
  const end = rand.int(3);
  if (end === 1) range.endKeyClosed = hi;
  if (end === 2) range.endKeyOpen = hi;
  return range;
}

/** A ReadRows request: keys and/or ranges, a filter, a rows limit, reversed. */
export function readRows(rand: SeededRand, table: string): Operation {
  const request: Message = { tableName: table };
  const shape = rand.int(4);
  if (shape > 0) {
    const rows: Message = {};
    if (shape !== 2)
      rows.rowKeys = Array.from({ length: between(rand, 1, 4) }, () => pick(rand, RANGE_BOUNDS));
    if (shape !== 1) rows.rowRanges = Array.from({ length: between(rand, 1, 3) }, () => rowRange(rand));
    request.rows = rows;
  }
  if (chance(rand, 0.75)) request.filter = randomFilter(rand, false);
  if (chance(rand, 0.25)) request.rowsLimit = String(between(rand, 1, 6));
  if (chance(rand, 0.25)) request.reversed = true;
  return { rpc: 'ReadRows', tag: 'workload', request };
}

/** Server-assigned timestamps on a fresh scratch row: set, increment/append an empty column, read. */
function serverTimeOperations(rand: SeededRand, table: string, rowKey: Buffer): Operation[] {
  const set = {
    setCell: {
      familyName: 'a',
      columnQualifier: Buffer.from('t'),
      timestampMicros: '-1',
      value: randomValue(rand),
    },
  };
  const rule = chance(rand, 0.5)
    ? { familyName: 'b', columnQualifier: Buffer.from('n'), incrementAmount: String(between(rand, -3, 3)) }
    : { familyName: 'b', columnQualifier: Buffer.from('n'), appendValue: randomValue(rand) };
  return [
    { rpc: 'MutateRow', tag: 'server-time', request: { tableName: table, rowKey, mutations: [set] } },
    { rpc: 'ReadModifyWriteRow', tag: 'server-time', request: { tableName: table, rowKey, rules: [rule] } },
    { rpc: 'ReadRows', tag: 'server-time', request: { tableName: table, rows: { rowKeys: [rowKey] } } },
  ];
}

/** Reads of the GC table once GC has settled: everything, and random filters without `gi`. */
function* gcCheckpoint(rand: SeededRand, tables: SeedTables): Generator<Operation> {
  yield { rpc: 'ReadRows', tag: 'gc-checkpoint', request: { tableName: tables.gc } };
  for (let i = 0; i < 5; i++) {
    const filter = { chain: { filters: [{ familyNameRegexFilter: 'g[vau]' }, randomFilter(rand, false)] } };
    yield { rpc: 'ReadRows', tag: 'workload', request: { tableName: tables.gc, filter } };
  }
}
