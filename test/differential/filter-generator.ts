/**
 * Random RowFilter trees over the differential key space: every member of the RowFilter oneof,
 * nested chains, interleaves and conditions up to `FILTER_DEPTH_MAX`.
 *
 * The trees respect the rules Cloud Bigtable documents (at most one label-applying sub-filter per
 * chain, no sink inside a condition), and two restrictions that keep the emulator deterministic:
 * per-row cell limits/offsets appear (with rare exceptions) only where the cells reaching them
 * belong to one family — the emulator visits families in Go map order there — and the row sample
 * filter only uses probabilities that round to "all" or "none". `invalidFilter` produces the
 * filters Tabula rejects and the emulator may accept; the intended differences account for them.
 */
import type { SeededRand } from '../../src/common/clock.js';
import type { RowFilter } from '../../src/model/proto-types.js';
import {
  between,
  chance,
  MAIN_FAMILIES,
  pick,
  QUALIFIERS,
  TIMESTAMPS_MICROS,
  UNKNOWN_FAMILY,
  VALUES,
} from './key-space.js';

/** Deepest nesting generated (the top filter is depth 1). */
export const FILTER_DEPTH_MAX = 4;
/** Row sample probabilities that behave as "every row" / "no row" in practice. */
const SAMPLE_ALMOST_ALL = 1 - 1e-12;
const SAMPLE_ALMOST_NONE = 1e-12;
/** Probability of a per-row limit/offset where several families may reach it. */
const MULTI_FAMILY_ROW_LIMIT_CHANCE = 0.02;

const ROW_KEY_REGEXES = ['k0.*', 'k1\\d', '.*5', 'k\\xff', 'k0[0-4]|k17', '(?s).*', 'k05\\x00', 'z|k', 'k.'];
const FAMILY_REGEXES = ['a', 'b', '__proto__', 'b|__proto__', '.*', '[ab]', '_.*', UNKNOWN_FAMILY];
/** Family regexes that match exactly one family. */
const SINGLE_FAMILY_REGEXES = new Set(MAIN_FAMILIES);
const QUALIFIER_REGEXES = ['q', 'q.*', '\\x00', '(?s).*', 'q\\x00', '\\xff', 'r|q', '.', 'q?'];
const VALUE_REGEXES = ['v+', '(?s).*\\x00.*', 'a.c', '(?s).{8}', 'v?', '\\xff\\x80', '[^v]*', 'B+'];
const LABELS = ['l1', 'l2', 'x-y', '0'];

/** What a subtree may contain, from its position in the tree. */
export interface FilterContext {
  readonly depth: number;
  /** Whether an `apply_label_transformer` may appear (chain rule). */
  readonly labelAllowed: boolean;
  /** Whether a sink may appear (never inside a condition, never in a predicate request). */
  readonly sinkAllowed: boolean;
  /** Whether only one family's cells reach this point. */
  readonly singleFamily: boolean;
  /** Predicate filters (CheckAndMutateRow) leave out filters the emulator ignores. */
  readonly predicate: boolean;
}

/** A random valid filter for ReadRows (`predicate` false) or CheckAndMutateRow. */
export function randomFilter(rand: SeededRand, predicate: boolean): RowFilter {
  return node(rand, {
    depth: 1,
    labelAllowed: true,
    sinkAllowed: !predicate,
    singleFamily: false,
    predicate,
  });
}

function node(rand: SeededRand, ctx: FilterContext): RowFilter {
  const composite = ctx.depth < FILTER_DEPTH_MAX && chance(rand, 0.45 / ctx.depth);
  if (!composite) return leaf(rand, ctx);
  const kind = rand.int(3);
  if (kind === 0) return chain(rand, ctx);
  if (kind === 1) return interleave(rand, ctx);
  return condition(rand, ctx);
}

function chain(rand: SeededRand, ctx: FilterContext): RowFilter {
  const filters: RowFilter[] = [];
  let labelAllowed = ctx.labelAllowed;
  let singleFamily = ctx.singleFamily;
  const count = between(rand, 2, 3);
  for (let i = 0; i < count; i++) {
    const child = node(rand, { ...ctx, depth: ctx.depth + 1, labelAllowed, singleFamily });
    if (containsLabel(child)) labelAllowed = false;
    if (restrictsToOneFamily(child)) singleFamily = true;
    filters.push(child);
  }
  return { chain: { filters } };
}

function interleave(rand: SeededRand, ctx: FilterContext): RowFilter {
  const count = between(rand, 2, 3);
  const filters = Array.from({ length: count }, () => node(rand, { ...ctx, depth: ctx.depth + 1 }));
  return { interleave: { filters } };
}

function condition(rand: SeededRand, ctx: FilterContext): RowFilter {
  const inner = { ...ctx, depth: ctx.depth + 1, sinkAllowed: false };
  // Labels inside the predicate never reach the output, so they are always allowed there.
  const predicateFilter = node(rand, { ...inner, labelAllowed: true });
  const c: { predicateFilter: RowFilter; trueFilter?: RowFilter; falseFilter?: RowFilter } = {
    predicateFilter,
  };
  if (chance(rand, 0.8)) c.trueFilter = node(rand, inner);
  if (chance(rand, 0.6)) c.falseFilter = node(rand, inner);
  return { condition: c };
}

function leaf(rand: SeededRand, ctx: FilterContext): RowFilter {
  const roll = rand.int(100);
  if (roll < 8) return chance(rand, 0.7) ? { passAllFilter: true } : { blockAllFilter: true };
  if (roll < 16) return { rowKeyRegexFilter: Buffer.from(pick(rand, ROW_KEY_REGEXES), 'latin1') };
  if (roll < 26) return { familyNameRegexFilter: pick(rand, FAMILY_REGEXES) };
  if (roll < 34) return { columnQualifierRegexFilter: Buffer.from(pick(rand, QUALIFIER_REGEXES), 'latin1') };
  if (roll < 44) return { columnRangeFilter: columnRange(rand) };
  if (roll < 52) return { timestampRangeFilter: timestampRange(rand) };
  if (roll < 58) return { valueRegexFilter: Buffer.from(pick(rand, VALUE_REGEXES), 'latin1') };
  if (roll < 65) return { valueRangeFilter: valueRange(rand) };
  if (roll < 76) return rowLimit(rand, ctx);
  if (roll < 82) return { cellsPerColumnLimitFilter: between(rand, 1, 3) };
  if (roll < 86) return { stripValueTransformer: true };
  if (roll < 91 && ctx.labelAllowed) return { applyLabelTransformer: pick(rand, LABELS) };
  if (roll < 94) return { rowSampleFilter: chance(rand, 0.7) ? SAMPLE_ALMOST_ALL : SAMPLE_ALMOST_NONE };
  if (roll < 96 && !ctx.predicate && ctx.sinkAllowed) return { sink: true };
  if (roll < 97 && !ctx.predicate) return { valueBitmaskFilter: { mask: pick(rand, VALUES.slice(1)) } };
  return { passAllFilter: true };
}

function rowLimit(rand: SeededRand, ctx: FilterContext): RowFilter {
  if (!ctx.singleFamily && !chance(rand, MULTI_FAMILY_ROW_LIMIT_CHANCE)) {
    // Narrow to one family first, so the limit sees one family's cells.
    const family = pick(rand, MAIN_FAMILIES);
    return {
      chain: { filters: [{ familyNameRegexFilter: family }, rowLimit(rand, { ...ctx, singleFamily: true })] },
    };
  }
  return chance(rand, 0.5)
    ? { cellsPerRowLimitFilter: between(rand, 1, 4) }
    : { cellsPerRowOffsetFilter: between(rand, 0, 4) };
}

/** A column range in one family with random open/closed/unset bounds, never inverted. */
function columnRange(rand: SeededRand): RowFilter['columnRangeFilter'] {
  const [lo, hi] = orderedPair(rand, QUALIFIERS);
  const range: Record<string, unknown> = { familyName: pick(rand, MAIN_FAMILIES) };
  const start = rand.int(3);
  if (start === 1) range.startQualifierClosed = lo;
  if (start === 2) range.startQualifierOpen = lo;
  const end = rand.int(3);
  if (end === 1) range.endQualifierClosed = hi;
  if (end === 2) range.endQualifierOpen = hi;
  return range;
}

function valueRange(rand: SeededRand): RowFilter['valueRangeFilter'] {
  const [lo, hi] = orderedPair(rand, VALUES);
  const range: Record<string, unknown> = {};
  const start = rand.int(3);
  if (start === 1) range.startValueClosed = lo;
  if (start === 2) range.startValueOpen = lo;
  const end = rand.int(3);
  if (end === 1) range.endValueClosed = hi;
  if (end === 2) range.endValueOpen = hi;
  return range;
}

/** [start, end) over the timestamp pool; 0 or unset start = from the beginning, end 0/unset = forever. */
export function timestampRange(rand: SeededRand): {
  startTimestampMicros?: string;
  endTimestampMicros?: string;
} {
  const points = [0, ...TIMESTAMPS_MICROS, TIMESTAMPS_MICROS[TIMESTAMPS_MICROS.length - 1]! + 1000];
  const i = rand.int(points.length - 1);
  const j = between(rand, i + 1, points.length);
  const range: { startTimestampMicros?: string; endTimestampMicros?: string } = {};
  if (i > 0 || chance(rand, 0.5)) range.startTimestampMicros = String(points[i]);
  if (j < points.length) range.endTimestampMicros = String(points[j]);
  return range;
}

/** Two elements of `pool` in byte order (possibly equal). */
function orderedPair(rand: SeededRand, pool: readonly Buffer[]): [Buffer, Buffer] {
  const a = pick(rand, pool);
  const b = pick(rand, pool);
  return Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
}

/** Whether an `apply_label_transformer` can reach the output of `filter`. */
export function containsLabel(filter: RowFilter): boolean {
  if (filter.applyLabelTransformer !== undefined) return true;
  const children = filter.chain?.filters ?? filter.interleave?.filters ?? [];
  if (children.some(containsLabel)) return true;
  const c = filter.condition;
  return c !== undefined && [c.trueFilter, c.falseFilter].some((f) => f !== undefined && containsLabel(f));
}

/** Whether every cell `filter` outputs belongs to one known family. */
export function restrictsToOneFamily(filter: RowFilter): boolean {
  if (filter.familyNameRegexFilter !== undefined)
    return SINGLE_FAMILY_REGEXES.has(filter.familyNameRegexFilter);
  if (filter.columnRangeFilter !== undefined) return true;
  return (filter.chain?.filters ?? []).some(restrictsToOneFamily);
}

/** A filter Tabula rejects (INVALID_ARGUMENT) that the emulator may accept, with a valid sibling. */
export function invalidFilter(rand: SeededRand): RowFilter {
  const bad = pick(rand, INVALID_FILTERS)();
  return chance(rand, 0.5) ? bad : { interleave: { filters: [randomFilter(rand, true), bad] } };
}

const INVALID_FILTERS: readonly (() => RowFilter)[] = [
  () => ({ columnQualifierRegexFilter: Buffer.alloc(0) }),
  () => ({ valueRegexFilter: Buffer.alloc(0) }),
  () => ({ familyNameRegexFilter: '' }),
  () => ({ rowKeyRegexFilter: Buffer.alloc(0) }),
  () => ({ familyNameRegexFilter: 'a:b' }),
  () => ({ valueRegexFilter: Buffer.from('(') }),
  () => ({ applyLabelTransformer: 'UPPER' }),
  () => ({ applyLabelTransformer: 'a-label-of-16-ch' }),
  () => ({ chain: { filters: [{ applyLabelTransformer: 'l1' }, { applyLabelTransformer: 'l2' }] } }),
  () => ({ chain: { filters: [{ passAllFilter: true }] } }),
  () => ({ interleave: { filters: [] } }),
  () => ({ condition: { predicateFilter: { passAllFilter: true }, trueFilter: { sink: true } } }),
  () => ({ condition: { trueFilter: { passAllFilter: true } } }),
  () => ({
    columnRangeFilter: {
      familyName: 'a',
      startQualifierClosed: Buffer.from('r'),
      endQualifierOpen: Buffer.from('q'),
    },
  }),
  () => ({ valueRangeFilter: { startValueOpen: Buffer.from('v'), endValueClosed: Buffer.from('a') } }),
  () => ({
    timestampRangeFilter: {
      startTimestampMicros: String(TIMESTAMPS_MICROS[2]),
      endTimestampMicros: String(TIMESTAMPS_MICROS[1]),
    },
  }),
  () => ({ cellsPerRowLimitFilter: 0 }),
  () => ({ cellsPerColumnLimitFilter: 0 }),
  () => ({ rowSampleFilter: 1 }),
  () => ({ passAllFilter: false }),
  () => ({ blockAllFilter: false }),
  () => ({ stripValueTransformer: false }),
  () => ({}),
];
