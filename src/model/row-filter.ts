/**
 * RowFilter evaluation: `compileRowFilter` validates a RowFilter tree (filter-validate.ts),
 * compiles its regexes once (byte-regex.ts) and returns a per-row evaluator. Semantics follow the
 * comments in google/bigtable/v2/data.proto:
 *
 * - Every sub-evaluator takes and returns cells in Bigtable order (row-cells.ts). Duplicates —
 *   produced by an Interleave or a sink — are kept and each copy counts for the per-row and
 *   per-column limits.
 * - Interleave pools its children's outputs and sorts them stably; equal cells from different
 *   children stay in child order (the proto leaves that order unspecified).
 * - A sink sends a copy of its input straight to the output of the read and passes nothing to its
 *   parent; the sunk copies are merged into the final row.
 * - Condition evaluates `true_filter` on the input row if the predicate outputs any cell, else
 *   `false_filter`; an absent branch outputs nothing.
 *
 * Evaluators are pure apart from `row_sample_filter`, which draws from the injected Rand once per
 * row that reaches it. Recursion depth is bounded by ROW_FILTER_DEPTH_MAX, checked before compiling.
 */

import { unreachable } from '../common/assert.js';
import { EMPTY } from '../common/bytes.js';
import type { Rand } from '../common/clock.js';
import { systemRand } from '../common/clock.js';
import type { ByteRegex } from './byte-regex.js';
import { compileByteRegex } from './byte-regex.js';
import {
  byteRangeContains,
  columnRangeBounds,
  microsRangeContains,
  timestampRangeBounds,
  valueRangeBounds,
} from './filter-ranges.js';
import { childFilters, rowFilterKind, validateRowFilter } from './filter-validate.js';
import type { RowFilter } from './proto-types.js';
import type { Cell, RowCells } from './row-cells.js';
import { compareCells, sameColumn } from './row-cells.js';

/** A validated, compiled RowFilter. */
export interface CompiledFilter {
  /**
   * Applies the filter to one row (cells in Bigtable order). Returns the output row, or
   * `undefined` when no cell survives.
   */
  apply(row: RowCells): RowCells | undefined;
}

/** Options of `compileRowFilter`. */
export interface CompileRowFilterOptions {
  /** Randomness for `row_sample_filter`; defaults to `systemRand`. */
  rand?: Rand;
}

/** Per-row evaluation state. */
interface EvalContext {
  readonly key: Buffer;
  readonly rand: Rand;
  /** Cells that reached a sink, in arrival order. */
  readonly sunk: Cell[];
}

type Evaluator = (cells: readonly Cell[], ctx: EvalContext) => readonly Cell[];

const NONE: readonly Cell[] = Object.freeze([]);
const FAMILY_MATCH_CACHE_MAX = 256;

/**
 * Validates and compiles `filter`. An absent filter passes every cell. Throws INVALID_ARGUMENT
 * (TabulaError) for any invalid filter, before any row is evaluated.
 */
export function compileRowFilter(
  filter: RowFilter | undefined,
  options: CompileRowFilterOptions = {},
): CompiledFilter {
  const rand = options.rand ?? systemRand;
  if (filter === undefined || filter === null) {
    return { apply: (row) => (row.cells.length === 0 ? undefined : row) };
  }
  validateRowFilter(filter, 'filter');
  const root = compileNode(filter, 'filter');
  return {
    apply(row: RowCells): RowCells | undefined {
      const ctx: EvalContext = { key: row.key, rand, sunk: [] };
      let cells = row.cells.length === 0 ? NONE : root(row.cells, ctx);
      if (ctx.sunk.length > 0) cells = [...cells, ...ctx.sunk].sort(compareCells);
      return cells.length === 0 ? undefined : { key: row.key, cells };
    },
  };
}

function compileNode(filter: RowFilter, path: string): Evaluator {
  const kind = rowFilterKind(filter, path);
  const field = `${path}.${kind}`;
  switch (kind) {
    case 'chain':
      return chain(childFilters(filter, 'chain').map((f, i) => compileNode(f, `${field}.filters[${i}]`)));
    case 'interleave':
      return interleave(
        childFilters(filter, 'interleave').map((f, i) => compileNode(f, `${field}.filters[${i}]`)),
      );
    case 'condition':
      return condition(filter, field);
    case 'sink':
      return (cells, ctx) => {
        ctx.sunk.push(...cells);
        return NONE;
      };
    case 'passAllFilter':
      return (cells) => cells;
    case 'blockAllFilter':
      return () => NONE;
    case 'stripValueTransformer':
      return (cells) => cells.map((c) => (c.value.length === 0 ? c : { ...c, value: EMPTY }));
    case 'applyLabelTransformer': {
      const label = filter.applyLabelTransformer as string;
      return (cells) => cells.map((c) => ({ ...c, labels: [...c.labels, label] }));
    }
    case 'rowSampleFilter': {
      const p = filter.rowSampleFilter as number;
      return (cells, ctx) => (ctx.rand.next() < p ? cells : NONE);
    }
    case 'cellsPerRowOffsetFilter': {
      const n = filter.cellsPerRowOffsetFilter as number;
      return (cells) => (n === 0 ? cells : cells.slice(n));
    }
    case 'cellsPerRowLimitFilter': {
      const n = filter.cellsPerRowLimitFilter as number;
      return (cells) => (cells.length <= n ? cells : cells.slice(0, n));
    }
    case 'cellsPerColumnLimitFilter':
      return perColumnLimit(filter.cellsPerColumnLimitFilter as number);
    default:
      return compileCellPredicate(filter, kind, field);
  }
}

/** Filters that keep or drop each cell on its own. */
function compileCellPredicate(filter: RowFilter, kind: RowFilter['filter'], field: string): Evaluator {
  switch (kind) {
    case 'rowKeyRegexFilter': {
      const re = compileByteRegex(filter.rowKeyRegexFilter as Buffer, field);
      return (cells, ctx) => (re.matches(ctx.key) ? cells : NONE);
    }
    case 'familyNameRegexFilter':
      return keepIf(
        familyMatcher(compileByteRegex(Buffer.from(filter.familyNameRegexFilter as string, 'utf8'), field)),
      );
    case 'columnQualifierRegexFilter': {
      const re = compileByteRegex(filter.columnQualifierRegexFilter as Buffer, field);
      return keepIf((c) => re.matches(c.qualifier));
    }
    case 'valueRegexFilter': {
      const re = compileByteRegex(filter.valueRegexFilter as Buffer, field);
      return keepIf((c) => re.matches(c.value));
    }
    case 'columnRangeFilter': {
      const { family, qualifiers } = columnRangeBounds(filter.columnRangeFilter ?? {}, field);
      return keepIf((c) => c.family === family && byteRangeContains(qualifiers, c.qualifier));
    }
    case 'valueRangeFilter': {
      const range = valueRangeBounds(filter.valueRangeFilter ?? {}, field);
      return keepIf((c) => byteRangeContains(range, c.value));
    }
    case 'timestampRangeFilter': {
      const range = timestampRangeBounds(filter.timestampRangeFilter ?? {}, field);
      return keepIf((c) => microsRangeContains(range, c.timestampMicros));
    }
    case 'valueBitmaskFilter': {
      const mask = filter.valueBitmaskFilter?.mask as Buffer;
      return keepIf((c) => bitmaskMatches(c.value, mask));
    }
    default:
      return unreachable(kind as never, 'row filter kind not compiled');
  }
}

function keepIf(predicate: (cell: Cell) => boolean): Evaluator {
  return (cells) => {
    const out = cells.filter(predicate);
    return out.length === cells.length ? cells : out;
  };
}

/** Family regex results per family name, bounded (family names are few but user-chosen). */
function familyMatcher(re: ByteRegex): (cell: Cell) => boolean {
  const cache = new Map<string, boolean>();
  return (cell) => {
    let hit = cache.get(cell.family);
    if (hit === undefined) {
      hit = re.matches(Buffer.from(cell.family, 'utf8'));
      if (cache.size >= FAMILY_MATCH_CACHE_MAX) cache.clear();
      cache.set(cell.family, hit);
    }
    return hit;
  };
}

/** `(value & mask) == mask`, with the mask exactly as long as the value. */
function bitmaskMatches(value: Buffer, mask: Buffer): boolean {
  if (value.length !== mask.length) return false;
  for (let i = 0; i < mask.length; i++) {
    const m = mask[i] as number;
    if (((value[i] as number) & m) !== m) return false;
  }
  return true;
}

function chain(steps: readonly Evaluator[]): Evaluator {
  return (cells, ctx) => {
    let current = cells;
    for (const step of steps) {
      if (current.length === 0) return NONE;
      current = step(current, ctx);
    }
    return current;
  };
}

function interleave(branches: readonly Evaluator[]): Evaluator {
  return (cells, ctx) => {
    const pooled: Cell[] = [];
    for (const branch of branches) pooled.push(...branch(cells, ctx));
    // Array.prototype.sort is stable, so equal cells keep branch order.
    return pooled.sort(compareCells);
  };
}

function condition(filter: RowFilter, field: string): Evaluator {
  const c = filter.condition ?? {};
  const predicate = compileNode(c.predicateFilter as RowFilter, `${field}.predicate_filter`);
  const onTrue = c.trueFilter ? compileNode(c.trueFilter, `${field}.true_filter`) : undefined;
  const onFalse = c.falseFilter ? compileNode(c.falseFilter, `${field}.false_filter`) : undefined;
  return (cells, ctx) => {
    const branch = predicate(cells, ctx).length > 0 ? onTrue : onFalse;
    return branch === undefined ? NONE : branch(cells, ctx);
  };
}

function perColumnLimit(n: number): Evaluator {
  return (cells) => {
    const out: Cell[] = [];
    let run = 0;
    let previous: Cell | undefined;
    for (const cell of cells) {
      run = previous !== undefined && sameColumn(previous, cell) ? run + 1 : 1;
      previous = cell;
      if (run <= n) out.push(cell);
    }
    return out.length === cells.length ? cells : out;
  };
}
