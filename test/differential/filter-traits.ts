/**
 * Walks a generated RowFilter and names the traits that make it invalid for Tabula (and Cloud
 * Bigtable) while the emulator may accept it. The intended-difference rules key on these names.
 * Only filters built by filter-generator.ts are walked, so depth is bounded by its maximum.
 */
import { ROW_FILTER_KINDS } from '../../src/model/filter-validate.js';
import type { RowFilter } from '../../src/model/proto-types.js';
import { containsLabel } from './filter-generator.js';

/** Label syntax of apply_label_transformer (data.proto). */
const LABEL_PATTERN = /^[a-z0-9-]{1,15}$/;
/** Members of the RowFilter oneof, as set in generated requests. */
const MEMBERS = ROW_FILTER_KINDS;

/** A node of a filter tree and whether it lies inside a condition. */
export interface FilterNode {
  readonly node: RowFilter;
  readonly inCondition: boolean;
}

/** Every node of `filter`, parents before children. */
export function* filterNodes(filter: RowFilter, inCondition = false): Generator<FilterNode> {
  yield { node: filter, inCondition };
  for (const child of filter.chain?.filters ?? []) yield* filterNodes(child, inCondition);
  for (const child of filter.interleave?.filters ?? []) yield* filterNodes(child, inCondition);
  const c = filter.condition;
  if (c === undefined) return;
  for (const part of [c.predicateFilter, c.trueFilter, c.falseFilter]) {
    if (part !== undefined) yield* filterNodes(part, true);
  }
}

type Bound = { value: Buffer; open: boolean } | undefined;

function bound(range: Record<string, unknown>, closed: string, open: string): Bound {
  if (range[closed] !== undefined) return { value: range[closed] as Buffer, open: false };
  if (range[open] !== undefined) return { value: range[open] as Buffer, open: true };
  return undefined;
}

function invertedBytes(start: Bound, end: Bound): boolean {
  if (start === undefined || end === undefined) return false;
  const order = Buffer.compare(start.value, end.value);
  return order > 0 || (order === 0 && (start.open || end.open));
}

function invertedRange(f: RowFilter): boolean {
  const c = f.columnRangeFilter as Record<string, unknown> | undefined;
  if (
    c &&
    invertedBytes(
      bound(c, 'startQualifierClosed', 'startQualifierOpen'),
      bound(c, 'endQualifierClosed', 'endQualifierOpen'),
    )
  ) {
    return true;
  }
  const v = f.valueRangeFilter as Record<string, unknown> | undefined;
  if (
    v &&
    invertedBytes(bound(v, 'startValueClosed', 'startValueOpen'), bound(v, 'endValueClosed', 'endValueOpen'))
  ) {
    return true;
  }
  const t = f.timestampRangeFilter;
  if (t === undefined) return false;
  const end = Number(t.endTimestampMicros ?? 0);
  return end !== 0 && Number(t.startTimestampMicros ?? 0) >= end;
}

function nodeTraits(f: RowFilter, inCondition: boolean, out: Set<string>): void {
  if (!MEMBERS.some((m) => f[m] !== undefined)) out.add('empty-filter');
  if (f.columnQualifierRegexFilter?.length === 0 || f.valueRegexFilter?.length === 0) out.add('empty-regex');
  if (f.rowKeyRegexFilter?.length === 0 || f.familyNameRegexFilter === '') out.add('empty-regex');
  if (f.familyNameRegexFilter?.includes(':')) out.add('family-regex-colon');
  if (invertedRange(f)) out.add('inverted-range');
  if (f.applyLabelTransformer !== undefined && !LABEL_PATTERN.test(f.applyLabelTransformer))
    out.add('label-syntax');
  if ((f.chain?.filters ?? []).filter(containsLabel).length > 1) out.add('chain-labels');
  if (f.sink !== undefined && inCondition) out.add('sink-in-condition');
  if (f.condition !== undefined && f.condition.predicateFilter === undefined)
    out.add('condition-without-predicate');
  if ([f.sink, f.passAllFilter, f.blockAllFilter, f.stripValueTransformer].includes(false))
    out.add('false-boolean');
}

/** The invalidity traits present anywhere in `filter`. */
export function invalidFilterTraits(filter: RowFilter): Set<string> {
  const out = new Set<string>();
  for (const { node, inCondition } of filterNodes(filter)) nodeTraits(node, inCondition, out);
  return out;
}
