/**
 * Cells and rows as the model sees them after decoding from the engine: plain values, never
 * mutated in place (filters that change a cell make a new one).
 *
 * Bigtable order of cells within a row: family ascending by the bytes of its name, then qualifier
 * ascending by bytes, then timestamp DESCENDING (newest first). Cells equal in all three keep their
 * relative order (possible only after an Interleave or a sink duplicated them).
 */
import { compareBytes } from '../common/bytes.js';

/** One cell version. */
export interface Cell {
  /** Column family name. */
  readonly family: string;
  /** Column qualifier bytes. */
  readonly qualifier: Buffer;
  /** Timestamp in microseconds. */
  readonly timestampMicros: number;
  /** Cell value bytes. */
  readonly value: Buffer;
  /** Labels applied by `apply_label_transformer`; empty for stored cells. */
  readonly labels: readonly string[];
}

/** A row: its key and its cells in Bigtable order. */
export interface RowCells {
  readonly key: Buffer;
  readonly cells: readonly Cell[];
}

/**
 * Compares family names by the bytes of their UTF-8 encoding, without encoding them: UTF-8 byte
 * order is code point order, which differs from UTF-16 code unit order only when exactly one side
 * is a surrogate (a code point above U+FFFF), which then sorts last.
 */
export function compareFamilies(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Bigtable order of two cells of one row: family, qualifier ascending; timestamp descending. */
export function compareCells(a: Cell, b: Cell): number {
  return (
    compareFamilies(a.family, b.family) ||
    compareBytes(a.qualifier, b.qualifier) ||
    b.timestampMicros - a.timestampMicros
  );
}

/** Whether two cells are in the same column. */
export function sameColumn(a: Cell, b: Cell): boolean {
  return a.family === b.family && a.qualifier.equals(b.qualifier);
}
