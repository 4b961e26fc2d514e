/**
 * Every known, intended difference between Tabula and the official emulator (cbtemulator), with
 * its reason. docs/differential.md explains each one in prose; keep the two in step.
 *
 * A rule either NORMALIZES outcomes (a deterministic correction of a known emulator deviation,
 * applied to emulator outcomes — or to both sides when the behaviour is unspecified) or ACCEPTS a
 * pair of outcomes that differ in one known way. The comparison (comparison.ts) tries the
 * normalizers first, then the acceptors; every rule that made a difference disappear is counted
 * and printed. A candidate answering UNKNOWN, INTERNAL or a malformed chunk stream is never
 * explained: Tabula must not answer those.
 */
import type { RowFilter } from '../../src/model/proto-types.js';
import type { Message } from './bigtable-client.js';
import { filterNodes, invalidFilterTraits } from './filter-traits.js';
import { FUTURE_BASE_MICROS, UNKNOWN_FAMILY } from './key-space.js';
import { type CellView, mapCells, type OutcomeView, type RowView, sameView } from './outcome-view.js';
import type { Operation } from './workload.js';

/** A rule that corrects a known deviation deterministically. */
export interface NormalizingRule {
  readonly id: string;
  readonly reason: string;
  /** `emulator`: the rule fixes the emulator's outcome; `both`: the behaviour is unspecified. */
  readonly sides: 'emulator' | 'both';
  applies(op: Operation): boolean;
  normalize(view: OutcomeView, op: Operation): OutcomeView;
}

/** A rule that accepts a specific kind of difference. */
export interface AcceptingRule {
  readonly id: string;
  readonly reason: string;
  applies(op: Operation): boolean;
  accepts(emulator: OutcomeView, candidate: OutcomeView, op: Operation): boolean;
}

/** Codes the emulator uses for bad input instead of a precise one. */
const IMPRECISE_CODES = new Set(['UNKNOWN', 'INTERNAL']);
/** The precise codes Tabula answers bad input with. */
const PRECISE_CODES = new Set(['INVALID_ARGUMENT', 'NOT_FOUND', 'FAILED_PRECONDITION', 'OUT_OF_RANGE']);
/** Codes a candidate never gets excused for. */
export const NEVER_EXPLAINED_CODES = new Set([
  'UNKNOWN',
  'INTERNAL',
  'BAD_CHUNKS',
  'UNAVAILABLE',
  'CLIENT_ERROR',
]);
/**
 * GC-table families whose rule keeps at most N versions of cells with future timestamps (which no
 * max-age rule touches): `gv` max versions 2, `gu` max versions 1 OR max age.
 */
const MAX_VERSIONS_BY_FAMILY: ReadonlyMap<string, number> = new Map([
  ['gv', 2],
  ['gu', 1],
]);
/** The GC-table family with an intersection rule (max versions 1 AND max age 1 h). */
const INTERSECTION_FAMILY = 'gi';

/** The filter of a read or the predicate of a check-and-mutate. */
export function opFilter(op: Operation): RowFilter | undefined {
  return op.request.filter ?? op.request.predicateFilter ?? undefined;
}

function filterHas(op: Operation, test: (f: RowFilter, inCondition: boolean) => boolean): boolean {
  const filter = opFilter(op);
  if (filter === undefined) return false;
  for (const { node, inCondition } of filterNodes(filter)) if (test(node, inCondition)) return true;
  return false;
}

function compareFamilyNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function sortRunsOfEqualCoordinates(cells: readonly CellView[]): CellView[] {
  const key = (c: CellView) => JSON.stringify([c.value, c.labels]);
  const out = [...cells];
  let i = 0;
  while (i < out.length) {
    let j = i + 1;
    const a = out[i] as CellView;
    while (j < out.length) {
      const b = out[j] as CellView;
      if (b.family !== a.family || b.qualifier !== a.qualifier || b.timestamp !== a.timestamp) break;
      j++;
    }
    const run = out.slice(i, j).sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
    out.splice(i, run.length, ...run);
    i = j;
  }
  return out;
}

function dropStaleIntersectionCells(cells: readonly CellView[]): CellView[] {
  let previous: CellView | undefined;
  let versions = 0;
  return cells.filter((c) => {
    const sameColumn = previous?.family === c.family && previous?.qualifier === c.qualifier;
    versions = sameColumn ? versions + 1 : 1;
    previous = c;
    return c.family !== INTERSECTION_FAMILY || versions <= 1 || Number(c.timestamp) >= FUTURE_BASE_MICROS;
  });
}

/**
 * Drops a cell identical in timestamp and value to an earlier cell of the same column (one version
 * repeated, or a run of versions repeated: A B A B). A column holds one cell per timestamp.
 */
function dropRepeatedVersions(cells: readonly CellView[]): CellView[] {
  let column: string | undefined;
  let seen = new Set<string>();
  return cells.filter((c) => {
    const here = `${c.family}\u0000${c.qualifier}`;
    if (here !== column) {
      column = here;
      seen = new Set();
    }
    const version = `${c.timestamp}\u0000${c.value}`;
    if (seen.has(version)) return false;
    seen.add(version);
    return true;
  });
}

/** Normalizing rules, applied in this order. */
export const NORMALIZING_RULES: readonly NormalizingRule[] = [
  {
    id: 'family-order',
    reason:
      'the emulator returns families in creation order (random for families given to CreateTable, a Go map); ' +
      'Bigtable and Tabula return them in byte order of their names',
    sides: 'emulator',
    applies: (op) => op.rpc === 'ReadRows' || op.rpc === 'ReadModifyWriteRow',
    normalize: (view) =>
      mapCells(view, (cells) => [...cells].sort((x, y) => compareFamilyNames(x.family, y.family))),
  },
  {
    id: 'duplicate-cell-order',
    reason:
      'the order of identical-coordinate copies of a cell made by an interleave or sink is unspecified ' +
      '(the emulator sorts unstably); both sides are ordered by value and labels',
    sides: 'both',
    applies: (op) => filterHas(op, (f) => f.interleave !== undefined || f.sink !== undefined),
    normalize: (view) => mapCells(view, sortRunsOfEqualCoordinates),
  },
  {
    id: 'server-timestamps',
    reason: 'server-assigned timestamps come from each server\'s clock; they are compared as "server time"',
    sides: 'both',
    applies: (op) => op.tag === 'server-time',
    normalize: (view) =>
      mapCells(view, (cells) =>
        cells.map((c) => (Number(c.timestamp) < FUTURE_BASE_MICROS ? { ...c, timestamp: 'server' } : c)),
      ),
  },
  {
    id: 'intersection-gc-not-applied',
    reason:
      'the emulator never applies intersection GC rules; Tabula hides cells the rule makes eligible ' +
      '(here: all but the newest version, when older than the max age)',
    sides: 'emulator',
    applies: (op) => op.tag === 'gc-checkpoint',
    normalize: (view) => mapCells(view, dropStaleIntersectionCells),
  },
  {
    id: 'emulator-gc-repeats-versions',
    reason:
      'after its GC pass the emulator sometimes returns a version, or a run of versions, twice (same column, ' +
      'timestamp and value); a column holds at most one cell per timestamp',
    sides: 'emulator',
    applies: (op) =>
      op.rpc === 'ReadRows' &&
      String(op.request.tableName).includes('/tables/gc-') &&
      !filterHas(op, (f) => f.interleave !== undefined || f.sink !== undefined),
    normalize: (view) => mapCells(view, dropRepeatedVersions),
  },
];

/**
 * Whether `c` equals `e` but for extra cells, each in a family of `maxVersionsByFamily`, in a column
 * where `e` shows fewer than that family's max versions, and older than every version `e` shows.
 */
function onlyExtraOlderVersions(
  e: OutcomeView,
  c: OutcomeView,
  maxVersionsByFamily: ReadonlyMap<string, number>,
): boolean {
  if (e.code !== 'OK' || c.code !== 'OK' || e.rows === undefined || c.rows === undefined) return false;
  if (e.rows.length !== c.rows.length) return false;
  const same = (a: CellView, b: CellView) =>
    a.family === b.family &&
    a.qualifier === b.qualifier &&
    a.timestamp === b.timestamp &&
    a.value === b.value;
  let extras = 0;
  for (let r = 0; r < e.rows.length; r++) {
    const er = e.rows[r] as RowView;
    const cr = c.rows[r] as RowView;
    if (er.key !== cr.key) return false;
    let i = 0;
    for (const cell of cr.cells) {
      const next = er.cells[i];
      if (next && same(next, cell) && next.labels.join() === cell.labels.join()) {
        i++;
        continue;
      }
      const shown = er.cells.filter((x) => x.family === cell.family && x.qualifier === cell.qualifier);
      const numeric = (t: string) => /^[0-9]+$/.test(t);
      const older =
        numeric(cell.timestamp) &&
        shown.every((x) => numeric(x.timestamp) && BigInt(x.timestamp) > BigInt(cell.timestamp));
      const maxVersions = maxVersionsByFamily.get(cell.family);
      if (maxVersions === undefined || shown.length >= maxVersions || !older) return false;
      extras++;
    }
    if (i !== er.cells.length) return false;
  }
  return extras > 0;
}

/**
 * Whether `c` equals `e` but for cells missing from `c`, each of the intersection family with a
 * past timestamp (so older than its max age).
 */
function onlyMissingPastIntersectionCells(e: OutcomeView, c: OutcomeView): boolean {
  if (e.code !== 'OK' || c.code !== 'OK' || e.rows === undefined || c.rows === undefined) return false;
  if (e.rows.length !== c.rows.length) return false;
  let missing = 0;
  for (let r = 0; r < e.rows.length; r++) {
    const er = e.rows[r] as RowView;
    const cr = c.rows[r] as RowView;
    if (er.key !== cr.key) return false;
    let i = 0;
    for (const cell of er.cells) {
      const next = cr.cells[i];
      if (next && JSON.stringify(next) === JSON.stringify(cell)) {
        i++;
        continue;
      }
      const past = /^[0-9]+$/.test(cell.timestamp) && Number(cell.timestamp) < FUTURE_BASE_MICROS;
      if (cell.family !== INTERSECTION_FAMILY || !past) return false;
      missing++;
    }
    if (i !== cr.cells.length) return false;
  }
  return missing > 0;
}

/** Whether both outcomes hold the same rows with the same cell coordinates, in order. */
/**
 * Whether `c` equals `e` but for fewer copies of some cells: per row, the same distinct cells (row,
 * family, qualifier, timestamp, value, labels) in the same order, and no cell more often than in `e`.
 */
function onlyFewerCopies(e: OutcomeView, c: OutcomeView): boolean {
  if (e.code !== 'OK' || c.code !== 'OK' || e.rows === undefined || c.rows === undefined) return false;
  if (e.rows.length !== c.rows.length) return false;
  const key = (x: CellView) => JSON.stringify([x.family, x.qualifier, x.timestamp, x.value, x.labels]);
  const copies = (cells: readonly CellView[]) => {
    const counts = new Map<string, number>();
    for (const x of cells) counts.set(key(x), (counts.get(key(x)) ?? 0) + 1);
    return counts;
  };
  let fewer = false;
  for (let r = 0; r < e.rows.length; r++) {
    const er = e.rows[r] as RowView;
    const cr = c.rows[r] as RowView;
    if (er.key !== cr.key) return false;
    const ec = copies(er.cells);
    const cc = copies(cr.cells);
    if ([...ec.keys()].join('\u0001') !== [...cc.keys()].join('\u0001')) return false;
    for (const [k, n] of cc) {
      const m = ec.get(k) as number;
      if (n > m) return false;
      if (n < m) fewer = true;
    }
  }
  return fewer;
}

function sameCoordinates(e: OutcomeView, c: OutcomeView): boolean {
  if (e.rows === undefined || c.rows === undefined || e.rows.length !== c.rows.length) return false;
  const coordinates = (r: RowView) =>
    r.cells.map((x) => `${x.family}\u0000${x.qualifier}\u0000${x.timestamp}`).join('\u0001');
  return e.rows.every((er, i) => {
    const cr = c.rows?.[i] as RowView;
    return er.key === cr.key && coordinates(er) === coordinates(cr);
  });
}

function codeIsPrecisionOf(emulator: string, candidate: string): boolean {
  return IMPRECISE_CODES.has(emulator) && PRECISE_CODES.has(candidate);
}

function entriesMatch(emulator: OutcomeView, candidate: OutcomeView): boolean {
  const e = emulator.entries;
  const c = candidate.entries;
  if (e === undefined || c === undefined) return false;
  return (
    e.length === c.length && e.every((code, i) => code === c[i] || codeIsPrecisionOf(code, c[i] as string))
  );
}

function invalidFilterRule(trait: string, reason: string): AcceptingRule {
  return {
    id: `filter-${trait}`,
    reason,
    applies: (op) => {
      const filter = opFilter(op);
      return filter !== undefined && invalidFilterTraits(filter).has(trait);
    },
    accepts: (_e, candidate) => candidate.code === 'INVALID_ARGUMENT',
  };
}

/** Accepting rules, tried in this order after normalization. */
export const ACCEPTING_RULES: readonly AcceptingRule[] = [
  {
    id: 'emulator-gc-repeats-versions-copied',
    reason:
      'the version the emulator repeats after its GC pass also reaches reads whose filter copies cells ' +
      '(interleave or sink), where a repeat cannot be told from a legitimate copy by normalizing; the ' +
      'candidate must show every distinct cell the emulator shows, in order, and never more copies of one',
    applies: (op) =>
      op.rpc === 'ReadRows' &&
      String(op.request.tableName).includes('/tables/gc-') &&
      filterHas(op, (f) => f.interleave !== undefined || f.sink !== undefined),
    accepts: (e, c) => onlyFewerCopies(e, c),
  },
  {
    id: 'emulator-gc-dropped-older-versions',
    reason:
      'the emulator ran max-versions GC while the column held more versions than it does now (a repeated copy ' +
      'of one version, or a newer version deleted since) and physically dropped an older one; Tabula applies the ' +
      'rule to the versions there are now. Bigtable GC is asynchronous, so both answers are allowed',
    applies: (op) => op.rpc === 'ReadRows' && String(op.request.tableName).includes('/tables/gc-'),
    accepts: (e, c) => onlyExtraOlderVersions(e, c, MAX_VERSIONS_BY_FAMILY),
  },
  {
    id: 'intersection-gc-compacted',
    reason:
      'a compaction applied the intersection rule (max versions 1 AND max age) while the column held a newer ' +
      'version, deleted since, and removed an old cell for good; the emulator never applies intersection ' +
      'rules. Bigtable GC is asynchronous, so both answers are allowed',
    applies: (op) => op.rpc === 'ReadRows' && String(op.request.tableName).includes('/tables/gc-'),
    accepts: (e, c) => onlyMissingPastIntersectionCells(e, c),
  },
  {
    id: 'error-code-precision',
    reason:
      'the emulator answers bad input with UNKNOWN (unary calls) or INTERNAL (MutateRows entries); ' +
      'Tabula answers the precise code (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION)',
    applies: () => true,
    accepts: (e, c) =>
      codeIsPrecisionOf(e.code, c.code) || (e.code === 'OK' && c.code === 'OK' && entriesMatch(e, c)),
  },
  {
    id: 'emulator-ignores-sink',
    reason: 'the emulator treats `sink` as pass-all; Tabula implements it (data.proto)',
    applies: (op) => filterHas(op, (f) => f.sink !== undefined),
    accepts: (e, c) => e.code === 'OK' && c.code === 'OK',
  },
  {
    id: 'emulator-ignores-value-bitmask',
    reason: 'the emulator treats `value_bitmask_filter` as pass-all; Tabula implements it',
    applies: (op) => filterHas(op, (f) => f.valueBitmaskFilter !== undefined),
    accepts: (e, c) => e.code === 'OK' && c.code === 'OK',
  },
  {
    id: 'emulator-strip-drops-labels',
    reason: "the emulator's strip_value_transformer also removes labels; Bigtable and Tabula keep them",
    applies: (op) =>
      filterHas(op, (f) => f.stripValueTransformer !== undefined) &&
      filterHas(op, (f) => f.applyLabelTransformer !== undefined),
    accepts: (e, c) => sameView(withoutLabels(e), withoutLabels(c)),
  },
  {
    id: 'emulator-row-limit-family-order',
    reason:
      "the emulator's cells_per_row_limit/offset visit families in Go map order (random) when several " +
      'families reach them; only success is compared there',
    applies: (op) =>
      filterHas(op, (f) => f.cellsPerRowLimitFilter !== undefined || f.cellsPerRowOffsetFilter !== undefined),
    accepts: (e, c) => e.code === 'OK' && c.code === 'OK',
  },
  ...invalidFilterRules(),
  {
    id: 'emulator-accepts-unknown-family-delete',
    reason: 'the emulator accepts DeleteFromFamily of a family the table does not have; Tabula rejects it',
    applies: (op) => requestMutations(op).some((m) => m.deleteFromFamily?.familyName === UNKNOWN_FAMILY),
    accepts: (e, c) => (e.code === 'OK' && PRECISE_CODES.has(c.code)) || entriesMatchLoosely(e, c),
  },
  {
    id: 'emulator-accepts-empty-read-modify-write',
    reason: 'the emulator accepts ReadModifyWriteRow without rules; Bigtable requires at least one',
    applies: (op) => op.rpc === 'ReadModifyWriteRow' && (op.request.rules ?? []).length === 0,
    accepts: (e, c) => e.code === 'OK' && c.code === 'INVALID_ARGUMENT',
  },
  {
    id: 'emulator-delete-range-unchecked',
    reason:
      'the emulator validates a DeleteFromColumn time range only when the row has cells in that family, ' +
      'and then answers UNKNOWN; Tabula always rejects an empty or inverted range',
    applies: (op) => op.tag === 'invalid' && requestMutations(op).some((m) => m.deleteFromColumn?.timeRange),
    accepts: (e, c) => (e.code === 'OK' || e.code === 'UNKNOWN') && c.code === 'INVALID_ARGUMENT',
  },
  {
    id: 'emulator-accepts-check-and-mutate-without-mutations',
    reason: 'the emulator accepts CheckAndMutateRow with no mutations; data.proto requires at least one',
    applies: (op) =>
      op.rpc === 'CheckAndMutateRow' &&
      (op.request.trueMutations ?? []).length + (op.request.falseMutations ?? []).length === 0,
    accepts: (e, c) => e.code === 'OK' && c.code === 'INVALID_ARGUMENT',
  },
  {
    id: 'duplicate-order-before-cell-limit',
    reason:
      'copies of one cell that an interleave makes (differently labelled or stripped) come in unspecified ' +
      'order, so a later per-column or per-row cell limit keeps different copies; the cells kept must agree ' +
      'in row, family, qualifier and timestamp',
    applies: (op) =>
      op.rpc === 'ReadRows' &&
      filterHas(op, (f) => f.interleave !== undefined) &&
      filterHas(
        op,
        (f) =>
          f.cellsPerColumnLimitFilter !== undefined ||
          f.cellsPerRowLimitFilter !== undefined ||
          f.cellsPerRowOffsetFilter !== undefined,
      ),
    accepts: (e, c) => e.code === 'OK' && c.code === 'OK' && sameCoordinates(e, c),
  },
  {
    id: 'emulator-checks-filters-lazily',
    reason:
      'the emulator checks a filter only when it evaluates it on a row, so an invalid filter on a read or a ' +
      'check-and-mutate that reaches no row answers OK (no rows, not matched); Tabula validates every filter first',
    applies: (op) =>
      (op.rpc === 'ReadRows' || op.rpc === 'CheckAndMutateRow') &&
      op.tag === 'invalid' &&
      opFilter(op) !== undefined,
    accepts: (e, c) =>
      e.code === 'OK' &&
      c.code === 'INVALID_ARGUMENT' &&
      (e.rows === undefined || e.rows.length === 0) &&
      e.matched !== true,
  },
  {
    id: 'emulator-accepts-negative-rows-limit',
    reason: 'the emulator answers an empty result for a negative rows_limit; Tabula rejects it',
    applies: (op) => op.rpc === 'ReadRows' && Number(op.request.rowsLimit ?? 0) < 0,
    accepts: (e, c) => e.code === 'OK' && c.code === 'INVALID_ARGUMENT',
  },
];

function invalidFilterRules(): AcceptingRule[] {
  return [
    invalidFilterRule(
      'empty-regex',
      'the emulator accepts an empty regex (it matches only empty strings); Tabula rejects it',
    ),
    invalidFilterRule('family-regex-colon', 'the emulator accepts `:` in a family regex; Tabula rejects it'),
    invalidFilterRule(
      'inverted-range',
      'the emulator treats an inverted column/value/timestamp range as empty; Tabula rejects it',
    ),
    invalidFilterRule(
      'label-syntax',
      'the emulator checks labels with an unanchored regex (any length); Tabula enforces [a-z0-9-]{1,15}',
    ),
    invalidFilterRule(
      'chain-labels',
      'the emulator accepts several label-applying filters in a chain (the last label wins); data.proto forbids it',
    ),
    invalidFilterRule(
      'sink-in-condition',
      'the emulator accepts a sink inside a condition; Tabula rejects it',
    ),
    invalidFilterRule(
      'condition-without-predicate',
      'the emulator treats a missing predicate as pass-all; Tabula rejects it',
    ),
    invalidFilterRule(
      'false-boolean',
      'the emulator accepts strip_value/sink set to false; Tabula requires true',
    ),
    invalidFilterRule(
      'empty-filter',
      'the emulator treats a RowFilter with no member set as pass-all; Tabula rejects it',
    ),
  ];
}

function entriesMatchLoosely(e: OutcomeView, c: OutcomeView): boolean {
  const ee = e.entries;
  const ce = c.entries;
  if (ee === undefined || ce === undefined) return false;
  return (
    e.code === 'OK' &&
    c.code === 'OK' &&
    ee.length === ce.length &&
    ee.every(
      (code, i) =>
        code === ce[i] ||
        (code === 'OK' && PRECISE_CODES.has(ce[i] as string)) ||
        codeIsPrecisionOf(code, ce[i] as string),
    )
  );
}

/** Every mutation in a mutating request. */
function requestMutations(op: Operation): Message[] {
  const r = op.request;
  return [
    ...(r.mutations ?? []),
    ...(r.trueMutations ?? []),
    ...(r.falseMutations ?? []),
    ...(r.entries ?? []).flatMap((e: Message) => e.mutations ?? []),
  ];
}

function withoutLabels(view: OutcomeView): OutcomeView {
  return mapCells(view, (cells) => cells.map((c) => ({ ...c, labels: [] })));
}

/** Every rule id, in reporting order. */
export const ALL_RULE_IDS: readonly string[] = [...NORMALIZING_RULES, ...ACCEPTING_RULES].map((r) => r.id);
