/**
 * The workload and the checker of the API-level kill -9 test (test/server/api-kill9.test.ts).
 *
 * Workload: writer w issues operations w<w>-<c> for c = 0, 1, ..., ONE AT A TIME (the next is issued
 * only after the previous was acknowledged), so each writer's operations are totally ordered while
 * several writers keep several requests in flight. An operation is a pure function of (w, c)
 * (`opFor`), so the checker can replay any of them:
 *
 *   - MutateRow on a fresh "primary" row p/w<w>/<c>: 1..5 cells over families f1 and f2, sometimes a
 *     DeleteFromColumn followed by a re-set of the same column (order inside one request matters);
 *   - MutateRows: the same primary entry, sometimes an entry deleting an earlier primary row of the
 *     same writer, and an entry on the writer's "aux" row a/w<w> (DeleteFromFamily f2, then set f2 and
 *     f1:last), which every MutateRows of the writer overwrites.
 *
 * Rows of different writers never overlap, so each writer's history is checked on its own.
 *
 * Checker (`verifyCycle`): given the exact state before a cycle, the issue/ack log of the cycle and the
 * state read back through ReadRows after the restart:
 *   - every acknowledged operation is applied, in order, with the right values (0 acked writes lost);
 *   - the one operation per writer that was in flight when the server died is, PER ROW, either fully
 *     applied or not at all (row atomicity of MutateRow and of each MutateRows entry);
 *   - nothing else: no row or cell that no operation wrote, no operation that was never issued.
 * It returns the new exact state, which the next cycle builds on.
 */
import { SeededRand } from '../../src/common/clock.js';
import type { ApiRow, Message } from './api-client.js';

/** The families of the test table. */
export const KILL9_FAMILIES = ['f1', 'f2'] as const;
const CELLS_PER_ROW_MAX = 5;
const VALUE_BYTES_MIN = 16;
const VALUE_BYTES_SPREAD = 400;
const MUTATE_ROWS_PROBABILITY = 0.4;
const REWRITE_PROBABILITY = 0.3;
const DELETE_EARLIER_PROBABILITY = 0.5;
/** How far back (in counters) a MutateRows may delete an earlier primary row of its writer. */
const DELETE_REACH_MAX = 16;
const MICROS_PER_OP = 1_000;
const CANONICAL_CHARS_SHOWN = 300;

/** One model mutation; the cell id is family, qualifier and timestamp. */
export type ModelMutation =
  | { kind: 'set'; family: string; qualifier: string; ts: number; value: string }
  | { kind: 'deleteColumn'; family: string; qualifier: string }
  | { kind: 'deleteFamily'; family: string }
  | { kind: 'deleteRow' };

/** The mutations of one row. */
export interface ModelEntry {
  rowKey: string;
  mutations: ModelMutation[];
}

/** One operation: a MutateRow (one entry) or a MutateRows. */
export interface ModelOp {
  id: string;
  rpc: 'MutateRow' | 'MutateRows';
  entries: ModelEntry[];
}

/** Cells of a row: `family \0 qualifier \0 ts` → value (Latin-1). */
export type RowState = ReadonlyMap<string, string>;
/** Rows by key (Latin-1). */
export type TableState = ReadonlyMap<string, RowState>;

/** What one cycle's writer did before the server died. */
export interface CycleLog {
  /** Operation ids in issue order. */
  issued: string[];
  acked: Set<string>;
}

/** The id of operation (w, c). */
export function opId(worker: number, counter: number): string {
  return `w${worker}-${counter}`;
}

/** Parses an operation id. */
export function parseOpId(id: string): { worker: number; counter: number } {
  const m = /^w(\d+)-(\d+)$/.exec(id);
  if (!m) throw new Error(`bad operation id ${id}`);
  return { worker: Number(m[1]), counter: Number(m[2]) };
}

function primaryRow(worker: number, counter: number): string {
  return `p/w${worker}/${String(counter).padStart(8, '0')}`;
}

/** FNV-1a, 32 bits. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function valueFor(unit: string): string {
  const length = VALUE_BYTES_MIN + (hash32(unit) % VALUE_BYTES_SPREAD);
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

function primaryEntry(worker: number, counter: number, rand: SeededRand, ts: number): ModelEntry {
  const rowKey = primaryRow(worker, counter);
  const mutations: ModelMutation[] = [];
  const cells = 1 + rand.int(CELLS_PER_ROW_MAX);
  for (let i = 0; i < cells; i++) {
    const family = KILL9_FAMILIES[i % 2] as string;
    mutations.push({ kind: 'set', family, qualifier: `q${i}`, ts, value: valueFor(`${rowKey}/${i};`) });
  }
  if (rand.next() < REWRITE_PROBABILITY) {
    mutations.push({ kind: 'deleteColumn', family: 'f1', qualifier: 'q0' });
    mutations.push({ kind: 'set', family: 'f1', qualifier: 'q0', ts, value: valueFor(`${rowKey}/re;`) });
  }
  return { rowKey, mutations };
}

/** Operation (w, c): a pure function of its arguments. */
export function opFor(worker: number, counter: number): ModelOp {
  const id = opId(worker, counter);
  const rand = new SeededRand(hash32(id));
  const ts = (counter + 1) * MICROS_PER_OP;
  const primary = primaryEntry(worker, counter, rand, ts);
  if (rand.next() >= MUTATE_ROWS_PROBABILITY) return { id, rpc: 'MutateRow', entries: [primary] };
  const entries = [primary];
  if (counter > 0 && rand.next() < DELETE_EARLIER_PROBABILITY) {
    const earlier = counter - 1 - rand.int(Math.min(counter, DELETE_REACH_MAX));
    entries.push({ rowKey: primaryRow(worker, earlier), mutations: [{ kind: 'deleteRow' }] });
  }
  entries.push({
    rowKey: `a/w${worker}`,
    mutations: [
      { kind: 'deleteFamily', family: 'f2' },
      { kind: 'set', family: 'f2', qualifier: `c${counter}`, ts, value: String(counter) },
      { kind: 'set', family: 'f1', qualifier: 'last', ts, value: String(counter) },
    ],
  });
  return { id, rpc: 'MutateRows', entries };
}

/** The proto Mutation of a model mutation. */
export function toProtoMutation(m: ModelMutation): Message {
  const q = (s: string) => Buffer.from(s, 'latin1');
  switch (m.kind) {
    case 'set':
      return {
        setCell: {
          familyName: m.family,
          columnQualifier: q(m.qualifier),
          timestampMicros: String(m.ts),
          value: q(m.value),
        },
      };
    case 'deleteColumn':
      return { deleteFromColumn: { familyName: m.family, columnQualifier: q(m.qualifier) } };
    case 'deleteFamily':
      return { deleteFromFamily: { familyName: m.family } };
    case 'deleteRow':
      return { deleteFromRow: {} };
  }
}

const SEP = '\u0000';

/** The row after `entry` applied to `row` (undefined: the row is empty). */
export function applyEntry(row: RowState | undefined, entry: ModelEntry): RowState | undefined {
  const cells = new Map(row ?? []);
  for (const m of entry.mutations) {
    if (m.kind === 'deleteRow') cells.clear();
    else if (m.kind === 'set') cells.set(`${m.family}${SEP}${m.qualifier}${SEP}${m.ts}`, m.value);
    else {
      const prefix =
        m.kind === 'deleteFamily' ? `${m.family}${SEP}` : `${m.family}${SEP}${m.qualifier}${SEP}`;
      for (const id of [...cells.keys()]) if (id.startsWith(prefix)) cells.delete(id);
    }
  }
  return cells.size === 0 ? undefined : cells;
}

/** The table state of rows read through ReadRows (all versions). */
export function stateFromRows(rows: ApiRow[]): TableState {
  const state = new Map<string, RowState>();
  for (const row of rows) {
    const cells = new Map<string, string>();
    for (const c of row.cells) {
      const id = `${c.family}${SEP}${c.qualifier.toString('latin1')}${SEP}${c.timestampMicros}`;
      cells.set(id, c.value.toString('latin1'));
    }
    if (cells.size > 0) state.set(row.key.toString('latin1'), cells);
  }
  return state;
}

/** A canonical, comparable text of a row ('' for an absent row). */
export function canonical(row: RowState | undefined): string {
  if (row === undefined) return '';
  return [...row]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, value]) => `${id.split(SEP).join(':')}=${value}`)
    .join(' ');
}

function shown(row: RowState | undefined): string {
  const text = canonical(row);
  if (text === '') return '(absent)';
  return text.length > CANONICAL_CHARS_SHOWN ? `${text.slice(0, CANONICAL_CHARS_SHOWN)}...` : text;
}

/** A row whose final state is one of two (an in-flight entry applied or not). */
interface Uncertain {
  before: RowState | undefined;
  after: RowState | undefined;
  opId: string;
}

/** Applies the acked operations and collects the rows of in-flight ones. Throws on a bad log. */
function replayLog(prev: TableState, log: CycleLog) {
  const expected = new Map(prev);
  const uncertain = new Map<string, Uncertain>();
  const ackedRows = new Map<string, string>();
  const inFlightWorkers = new Set<number>();
  for (const id of log.issued) {
    const { worker, counter } = parseOpId(id);
    if (inFlightWorkers.has(worker))
      throw new Error(`log: ${id} was issued after an unacked op of its writer`);
    const op = opFor(worker, counter);
    const acked = log.acked.has(id);
    if (!acked) inFlightWorkers.add(worker);
    for (const entry of op.entries) {
      const before = expected.get(entry.rowKey);
      const after = applyEntry(before, entry);
      if (acked) ackedRows.set(entry.rowKey, id);
      else uncertain.set(entry.rowKey, { before, after, opId: id });
      if (after === undefined) expected.delete(entry.rowKey);
      else expected.set(entry.rowKey, after);
    }
  }
  for (const id of log.acked) {
    if (!log.issued.includes(id)) throw new Error(`log: ${id} acknowledged but never issued`);
  }
  return { expected, uncertain, ackedRows };
}

/** Checks one cycle (see the file comment); returns the exact new state and how many in-flight rows applied. */
export function verifyCycle(
  prev: TableState,
  log: CycleLog,
  actual: TableState,
): { state: TableState; inFlightRowsApplied: number } {
  const { expected, uncertain, ackedRows } = replayLog(prev, log);
  let inFlightRowsApplied = 0;
  for (const rowKey of new Set([...expected.keys(), ...actual.keys()])) {
    const got = actual.get(rowKey);
    const doubt = uncertain.get(rowKey);
    if (doubt !== undefined) {
      const text = canonical(got);
      if (text === canonical(doubt.after)) inFlightRowsApplied += canonical(doubt.before) === text ? 0 : 1;
      else if (text !== canonical(doubt.before)) {
        throw new Error(
          `row ${rowKey} half-applied or wrong (in-flight op ${doubt.opId}): got ${shown(got)}; ` +
            `before ${shown(doubt.before)}; after ${shown(doubt.after)}`,
        );
      }
      if (got === undefined) expected.delete(rowKey);
      else expected.set(rowKey, got);
      continue;
    }
    const want = expected.get(rowKey);
    if (canonical(want) === canonical(got)) continue;
    const by = ackedRows.get(rowKey);
    const what = by ? `acknowledged write ${by} lost or wrong` : 'row differs from the model';
    throw new Error(`${what}: row ${rowKey}: expected ${shown(want)}; got ${shown(got)}`);
  }
  return { state: expected, inFlightRowsApplied };
}
