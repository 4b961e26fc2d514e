/**
 * Structural validation of a RowFilter, before anything is compiled or evaluated. Every rule
 * below comes from the comments in google/bigtable/v2/data.proto or from what Cloud Bigtable is
 * documented or observed to reject; each failure is INVALID_ARGUMENT naming the offending field
 * by its path (e.g. `filter.chain.filters[1].sink`).
 *
 * Rules: exactly one known member set; nesting depth ≤ ROW_FILTER_DEPTH_MAX (the top filter is
 * depth 1); a chain or interleave has at least two filters; a condition has a predicate; no sink
 * anywhere inside a condition; within a chain at most one sub-filter contains a label transformer;
 * boolean members are `true` when set; regexes are non-empty (and a family regex has no `:`);
 * counts are non-negative; the sample probability lies in (0, 1); labels match `[a-z0-9-]{1,15}`;
 * ranges are not inverted. Regex syntax is checked when the regex is compiled.
 *
 * Recursion is bounded by the depth check, which runs before descending.
 */
import { errors } from '../common/errors.js';
import { ROW_FILTER_DEPTH_MAX, ROW_FILTER_LABEL_CHARS_MAX } from '../common/limits.js';
import { columnRangeBounds, timestampRangeBounds, valueRangeBounds } from './filter-ranges.js';
import type { RowFilter, RowFilterKind } from './proto-types.js';

/** Label syntax of `apply_label_transformer` (data.proto: `[a-z0-9\\-]+`, at most 15 characters). */
export const ROW_FILTER_LABEL_PATTERN = /^[a-z0-9-]+$/;

/** Every member of the RowFilter oneof (data.proto), in proto order. */
export const ROW_FILTER_KINDS: readonly RowFilterKind[] = [
  'chain',
  'interleave',
  'condition',
  'sink',
  'passAllFilter',
  'blockAllFilter',
  'rowKeyRegexFilter',
  'rowSampleFilter',
  'familyNameRegexFilter',
  'columnQualifierRegexFilter',
  'columnRangeFilter',
  'timestampRangeFilter',
  'valueRegexFilter',
  'valueRangeFilter',
  'cellsPerRowOffsetFilter',
  'cellsPerRowLimitFilter',
  'cellsPerColumnLimitFilter',
  'stripValueTransformer',
  'applyLabelTransformer',
  'valueBitmaskFilter',
];

const KINDS: ReadonlySet<string> = new Set<RowFilterKind>(ROW_FILTER_KINDS);

/** What validation learned about a subtree. */
interface SubtreeInfo {
  /** Whether an `apply_label_transformer` occurs anywhere in it. */
  containsLabel: boolean;
  /** Whether a `sink` occurs anywhere in it. */
  containsSink: boolean;
}

/** Position of a filter in the tree, for messages and for rules that depend on ancestors. */
interface Place {
  path: string;
  depth: number;
}

/** Returns the member kind of `filter`, checking that it is known and its value present. */
export function rowFilterKind(filter: RowFilter, path: string): RowFilterKind {
  if (typeof filter !== 'object' || filter === null) {
    throw errors.invalidArgument('row filter is missing', { field: path });
  }
  const kind = filter.filter;
  if (kind === undefined) throw errors.invalidArgument('row filter has no filter set', { field: path });
  if (!KINDS.has(kind))
    throw errors.invalidArgument('unknown row filter', { field: path, kind: String(kind) });
  if (filter[kind] === undefined || filter[kind] === null) {
    throw errors.invalidArgument('row filter member is missing', { field: `${path}.${kind}` });
  }
  return kind;
}

/** Validates `filter` (the whole tree). Throws INVALID_ARGUMENT on the first violation. */
export function validateRowFilter(filter: RowFilter, path = 'filter'): void {
  validateNode(filter, { path, depth: 1 });
}

function validateNode(filter: RowFilter, place: Place): SubtreeInfo {
  if (place.depth > ROW_FILTER_DEPTH_MAX) {
    throw errors.invalidArgument('row filter nested too deeply', {
      field: place.path,
      depthMax: ROW_FILTER_DEPTH_MAX,
    });
  }
  const kind = rowFilterKind(filter, place.path);
  const field = `${place.path}.${kind}`;
  switch (kind) {
    case 'chain':
    case 'interleave':
      return validateComposite(childFilters(filter, kind), kind, { path: field, depth: place.depth });
    case 'condition':
      return validateCondition(filter, { path: field, depth: place.depth });
    default:
      validateLeaf(filter, kind, field);
      return { containsLabel: kind === 'applyLabelTransformer', containsSink: kind === 'sink' };
  }
}

/** The sub-filters of a chain or interleave. */
export function childFilters(filter: RowFilter, kind: 'chain' | 'interleave'): RowFilter[] {
  const children = filter[kind]?.filters ?? [];
  if (!Array.isArray(children))
    throw errors.invalidArgument('filters must be a list', { field: `${kind}.filters` });
  return children;
}

function validateComposite(children: RowFilter[], kind: 'chain' | 'interleave', place: Place): SubtreeInfo {
  if (children.length < 2) {
    throw errors.invalidArgument(`${kind} must contain at least two filters`, {
      field: place.path,
      count: children.length,
    });
  }
  const info: SubtreeInfo = { containsLabel: false, containsSink: false };
  let labelled = 0;
  children.forEach((child, i) => {
    const sub = validateNode(child, { path: `${place.path}.filters[${i}]`, depth: place.depth + 1 });
    if (sub.containsLabel) labelled++;
    info.containsLabel ||= sub.containsLabel;
    info.containsSink ||= sub.containsSink;
  });
  if (kind === 'chain' && labelled > 1) {
    throw errors.invalidArgument('chain may have at most one sub-filter that applies a label', {
      field: place.path,
      labelledFilters: labelled,
    });
  }
  return info;
}

function validateCondition(filter: RowFilter, place: Place): SubtreeInfo {
  const condition = filter.condition ?? {};
  if (condition.predicateFilter === undefined || condition.predicateFilter === null) {
    throw errors.invalidArgument('condition needs a predicate filter', {
      field: `${place.path}.predicate_filter`,
    });
  }
  const info: SubtreeInfo = { containsLabel: false, containsSink: false };
  const parts = [
    ['predicate_filter', condition.predicateFilter],
    ['true_filter', condition.trueFilter],
    ['false_filter', condition.falseFilter],
  ] as const;
  for (const [name, sub] of parts) {
    if (sub === undefined || sub === null) continue;
    const subPath = `${place.path}.${name}`;
    const subInfo = validateNode(sub, { path: subPath, depth: place.depth + 1 });
    if (subInfo.containsSink)
      throw errors.invalidArgument('sink cannot be used within a condition', { field: subPath });
    // Labels applied inside the predicate never reach the output, so they do not count.
    if (name !== 'predicate_filter') info.containsLabel ||= subInfo.containsLabel;
  }
  return info;
}

function validateLeaf(filter: RowFilter, kind: RowFilterKind, field: string): void {
  switch (kind) {
    case 'sink':
    case 'passAllFilter':
    case 'blockAllFilter':
    case 'stripValueTransformer':
      if (filter[kind] !== true)
        throw errors.invalidArgument('boolean row filter must be true when set', { field });
      return;
    case 'rowKeyRegexFilter':
    case 'columnQualifierRegexFilter':
    case 'valueRegexFilter':
      if ((filter[kind]?.length ?? 0) === 0)
        throw errors.invalidArgument('regular expression must not be empty', { field });
      return;
    case 'familyNameRegexFilter':
      validateFamilyRegex(filter.familyNameRegexFilter ?? '', field);
      return;
    case 'rowSampleFilter':
      validateProbability(filter.rowSampleFilter, field);
      return;
    case 'cellsPerRowOffsetFilter':
      validateCount(filter[kind], field, 0);
      return;
    case 'cellsPerRowLimitFilter':
    case 'cellsPerColumnLimitFilter':
      // A limit of zero would match nothing; Cloud Bigtable rejects it.
      validateCount(filter[kind], field, 1);
      return;
    case 'applyLabelTransformer':
      validateLabel(filter.applyLabelTransformer ?? '', field);
      return;
    case 'columnRangeFilter':
      columnRangeBounds(filter.columnRangeFilter ?? {}, field);
      return;
    case 'valueRangeFilter':
      valueRangeBounds(filter.valueRangeFilter ?? {}, field);
      return;
    case 'timestampRangeFilter':
      timestampRangeBounds(filter.timestampRangeFilter ?? {}, field);
      return;
    case 'valueBitmaskFilter':
      if ((filter.valueBitmaskFilter?.mask?.length ?? 0) === 0) {
        throw errors.invalidArgument('value bitmask needs a mask', { field: `${field}.mask` });
      }
      return;
    default:
      throw errors.invalidArgument('unknown row filter', { field, kind });
  }
}

function validateFamilyRegex(pattern: string, field: string): void {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw errors.invalidArgument('regular expression must not be empty', { field });
  }
  if (pattern.includes(':'))
    throw errors.invalidArgument('family name regex must not contain `:`', { field });
}

function validateProbability(p: unknown, field: string): void {
  if (typeof p !== 'number' || !(p > 0 && p < 1)) {
    throw errors.invalidArgument('row sample probability must lie strictly between 0 and 1', {
      field,
      value: String(p),
    });
  }
}

function validateCount(n: unknown, field: string, min: number): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min) {
    throw errors.invalidArgument('cell count out of range', { field, value: String(n), min });
  }
}

function validateLabel(label: string, field: string): void {
  if (
    typeof label !== 'string' ||
    label.length === 0 ||
    label.length > ROW_FILTER_LABEL_CHARS_MAX ||
    !ROW_FILTER_LABEL_PATTERN.test(label)
  ) {
    throw errors.invalidArgument('label must be 1 to 15 characters of [a-z0-9-]', {
      field,
      label: String(label),
    });
  }
}
