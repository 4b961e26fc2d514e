/**
 * The JSON Lines row format of `export`, `import` and `read --format json`: one object per row,
 *
 *   {"key":"user#1","cells":{"profile:name":"Ada","profile:age":{"value":"36","ts":1700000000000000}}}
 *
 * - `key` is the row key as UTF-8 text; a key that is not valid UTF-8 is written as `key64`
 *   (base64) instead.
 * - `cells` maps `family:qualifier` (split at the first colon) to a cell: a string (the value as
 *   UTF-8, no timestamp), an object `{"value": text}` or `{"base64": bytes}` with an optional
 *   `"ts"` (microseconds, a multiple of 1000), or an array of such objects for several versions.
 * Export always writes objects with `ts`, so importing an export writes the very same cells:
 * re-importing is idempotent. Bytes are bytes: nothing is lost for keys and values; a qualifier
 * must be UTF-8 (a row holding another one is refused rather than altered).
 */
import { isUtf8 } from 'node:buffer';
import type { Mutation, Row } from '../client/index.js';
import { splitColumn, usage } from './cli-output.js';

/** One cell of an input line, ready to be written. */
export interface CellInput {
  readonly family: string;
  readonly qualifier: string;
  readonly value: Buffer;
  readonly timestampMicros: number | undefined;
}

function bytesField(bytes: Buffer, text: string, base64: string): Record<string, string> {
  return isUtf8(bytes) ? { [text]: bytes.toString('utf8') } : { [base64]: bytes.toString('base64') };
}

/** The JSON line (without newline) of a row: every version of every column it holds. */
export function rowToJson(row: Row): string {
  const cells = new Map<string, Record<string, string | number>[]>();
  for (const cell of row.cells) {
    if (!isUtf8(cell.qualifier)) {
      usage(
        `row ${row.key.toString('hex')} has a qualifier that is not UTF-8 (0x${cell.qualifier.toString('hex')})`,
      );
    }
    const column = `${cell.family}:${cell.qualifier.toString('utf8')}`;
    const versions = cells.get(column) ?? [];
    versions.push({ ...bytesField(cell.value, 'value', 'base64'), ts: cell.timestampMicros });
    cells.set(column, versions);
  }
  const cellsObject: Record<string, unknown> = {};
  for (const [column, versions] of cells) {
    Object.defineProperty(cellsObject, column, {
      value: versions.length === 1 ? versions[0] : versions,
      enumerable: true,
    });
  }
  return JSON.stringify({ ...bytesField(row.key, 'key', 'key64'), cells: cellsObject });
}

function parseCellValue(raw: unknown, where: string): { value: Buffer; ts: number | undefined } {
  if (typeof raw === 'string') return { value: Buffer.from(raw, 'utf8'), ts: undefined };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    usage(`${where}: a cell must be a string or an object`);
  const o = raw as Record<string, unknown>;
  let value: Buffer;
  if (typeof o.value === 'string') value = Buffer.from(o.value, 'utf8');
  else if (typeof o.base64 === 'string') value = Buffer.from(o.base64, 'base64');
  else usage(`${where}: a cell object needs "value" (text) or "base64"`);
  if (o.ts !== undefined && (typeof o.ts !== 'number' || !Number.isSafeInteger(o.ts) || o.ts < 0)) {
    usage(`${where}: "ts" must be whole microseconds`);
  }
  return { value, ts: o.ts as number | undefined };
}

/** The row key and cells of one input line; a usage error names `where` (file:line) on bad input. */
export function parseRowJson(line: string, where: string): { key: Buffer; cells: CellInput[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    usage(`${where}: not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    usage(`${where}: a row must be an object`);
  const o = parsed as Record<string, unknown>;
  let key: Buffer;
  if (typeof o.key === 'string') key = Buffer.from(o.key, 'utf8');
  else if (typeof o.key64 === 'string') key = Buffer.from(o.key64, 'base64');
  else usage(`${where}: a row needs "key" (text) or "key64" (base64)`);
  if (typeof o.cells !== 'object' || o.cells === null || Array.isArray(o.cells))
    usage(`${where}: "cells" must be an object`);
  const cells: CellInput[] = [];
  for (const [column, raw] of Object.entries(o.cells)) {
    const { family, qualifier } = splitColumn(column, `${where}: cell name`);
    for (const version of Array.isArray(raw) ? raw : [raw]) {
      const { value, ts } = parseCellValue(version, `${where}: ${column}`);
      cells.push({ family, qualifier, value, timestampMicros: ts });
    }
  }
  return { key, cells };
}

/** SetCell mutations for `cells`, with `timestampMicros` for cells that carry none. */
export function setCellMutations(cells: readonly CellInput[], timestampMicros: number): Mutation[] {
  return cells.map((c) => ({
    setCell: {
      family: c.family,
      qualifier: c.qualifier,
      value: c.value,
      timestampMicros: c.timestampMicros ?? timestampMicros,
    },
  }));
}
