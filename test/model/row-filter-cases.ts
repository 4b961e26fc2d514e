/**
 * Shared fixtures for the RowFilter tests: a sample row, builders for filters, and a compact text
 * rendering of output rows (`family:qualifier@ts=value[labels]`, cells separated by spaces).
 */
import type { RowFilter } from '../../src/model/proto-types.js';
import type { Cell, RowCells } from '../../src/model/row-cells.js';

/** A cell from readable parts. */
export function cell(
  family: string,
  qualifier: string,
  timestampMicros: number,
  value: string,
  labels: string[] = [],
): Cell {
  return {
    family,
    qualifier: Buffer.from(qualifier, 'latin1'),
    timestampMicros,
    value: Buffer.from(value, 'latin1'),
    labels,
  };
}

/** The sample row, in Bigtable order. */
export const SAMPLE: RowCells = {
  key: Buffer.from('row1'),
  cells: [
    cell('cf1', 'a', 3000, 'v3'),
    cell('cf1', 'a', 2000, 'v2'),
    cell('cf1', 'a', 1000, 'v1'),
    cell('cf1', 'b', 2000, 'x'),
    cell('cf2', 'a', 5000, 'long value'),
    cell('cf2', 'c', 1000, ''),
  ],
};

/** Renders an output row compactly; `undefined` renders as `-`. */
export function render(row: RowCells | undefined): string {
  if (row === undefined) return '-';
  return row.cells
    .map((c) => {
      const labels = c.labels.length > 0 ? `[${c.labels.join(',')}]` : '';
      return `${c.family}:${c.qualifier.toString('latin1')}@${c.timestampMicros}=${c.value.toString('latin1')}${labels}`;
    })
    .join(' ');
}

const bytes = (s: string) => Buffer.from(s, 'latin1');

/** Filter builders, shaped as proto-loader decodes them. */
export const F = {
  chain: (...filters: RowFilter[]): RowFilter => ({ filter: 'chain', chain: { filters } }),
  interleave: (...filters: RowFilter[]): RowFilter => ({ filter: 'interleave', interleave: { filters } }),
  condition: (predicateFilter: RowFilter, trueFilter?: RowFilter, falseFilter?: RowFilter): RowFilter => ({
    filter: 'condition',
    condition: { predicateFilter, trueFilter, falseFilter },
  }),
  sink: (): RowFilter => ({ filter: 'sink', sink: true }),
  pass: (): RowFilter => ({ filter: 'passAllFilter', passAllFilter: true }),
  block: (): RowFilter => ({ filter: 'blockAllFilter', blockAllFilter: true }),
  rowKey: (re: string): RowFilter => ({ filter: 'rowKeyRegexFilter', rowKeyRegexFilter: bytes(re) }),
  sample: (p: number): RowFilter => ({ filter: 'rowSampleFilter', rowSampleFilter: p }),
  family: (re: string): RowFilter => ({ filter: 'familyNameRegexFilter', familyNameRegexFilter: re }),
  qualifier: (re: string): RowFilter => ({
    filter: 'columnQualifierRegexFilter',
    columnQualifierRegexFilter: bytes(re),
  }),
  value: (re: string): RowFilter => ({ filter: 'valueRegexFilter', valueRegexFilter: bytes(re) }),
  offset: (n: number): RowFilter => ({ filter: 'cellsPerRowOffsetFilter', cellsPerRowOffsetFilter: n }),
  rowLimit: (n: number): RowFilter => ({ filter: 'cellsPerRowLimitFilter', cellsPerRowLimitFilter: n }),
  columnLimit: (n: number): RowFilter => ({
    filter: 'cellsPerColumnLimitFilter',
    cellsPerColumnLimitFilter: n,
  }),
  strip: (): RowFilter => ({ filter: 'stripValueTransformer', stripValueTransformer: true }),
  label: (l: string): RowFilter => ({ filter: 'applyLabelTransformer', applyLabelTransformer: l }),
  bitmask: (mask: number[]): RowFilter => ({
    filter: 'valueBitmaskFilter',
    valueBitmaskFilter: { mask: Buffer.from(mask) },
  }),
  time: (start?: number, end?: number): RowFilter => ({
    filter: 'timestampRangeFilter',
    timestampRangeFilter: {
      startTimestampMicros: start === undefined ? undefined : String(start),
      endTimestampMicros: end === undefined ? undefined : String(end),
    },
  }),
  columns: (family: string, start?: [string, boolean], end?: [string, boolean]): RowFilter => ({
    filter: 'columnRangeFilter',
    columnRangeFilter: {
      familyName: family,
      ...(start === undefined
        ? {}
        : start[1]
          ? { startQualifier: 'startQualifierClosed', startQualifierClosed: bytes(start[0]) }
          : { startQualifier: 'startQualifierOpen', startQualifierOpen: bytes(start[0]) }),
      ...(end === undefined
        ? {}
        : end[1]
          ? { endQualifier: 'endQualifierClosed', endQualifierClosed: bytes(end[0]) }
          : { endQualifier: 'endQualifierOpen', endQualifierOpen: bytes(end[0]) }),
    },
  }),
  values: (start?: [string, boolean], end?: [string, boolean]): RowFilter => ({
    filter: 'valueRangeFilter',
    valueRangeFilter: {
      ...(start === undefined
        ? {}
        : start[1]
          ? { startValue: 'startValueClosed', startValueClosed: bytes(start[0]) }
          : { startValue: 'startValueOpen', startValueOpen: bytes(start[0]) }),
      ...(end === undefined
        ? {}
        : end[1]
          ? { endValue: 'endValueClosed', endValueClosed: bytes(end[0]) }
          : { endValue: 'endValueOpen', endValueOpen: bytes(end[0]) }),
    },
  }),
};
