/**
 * The read path of a tablet: turns a row selection into ordered engine key ranges, streams the
 * cells of those ranges, groups them into rows, hides what garbage collection makes eligible and
 * what belongs to no family of the schema, and applies the RowFilter. One row is held at a time.
 */

import { ROW_KEY_BYTES_MAX } from '../common/limits.js';
import {
  decodeCellKey,
  KEY_ESCAPE,
  KEY_TERMINATOR,
  type KeyRange,
  rowKeyRange,
  singleRowStart,
} from '../model/cell-key.js';
import { evaluateGcPolicy, type GcPolicy } from '../model/gc-rule.js';
import type { Cell, RowCells } from '../model/row-cells.js';
import type { CompiledFilter } from '../model/row-filter.js';
import type { Engine } from '../storage/engine.js';
import type { PrefixRule } from '../storage/filter-prefix.js';
import type { RowSelection } from './table-store-api.js';

/** The first engine key of cell data: below it lives tablet metadata (see tablet-keys.ts). */
export const DATA_START_KEY = Buffer.from([0x00, 0x02]);
/** An engine key above every cell key: row keys are at most ROW_KEY_BYTES_MAX bytes. */
export const DATA_END_KEY = Buffer.alloc(ROW_KEY_BYTES_MAX + 1, 0xff);

/**
 * The Bloom filter rule of tablet stores: a cell key's filter prefix is its row part
 * `esc(row) ‖ 00 01` (cell-key.ts), so a read of one row skips the SSTables that hold none of it.
 * PERSISTED: the rule's name is part of each SSTable's filter block name.
 */
export const ROW_FILTER_PREFIX: PrefixRule = { delimiter: Buffer.from([KEY_ESCAPE, KEY_TERMINATOR]) };

/** The ranges of `selection` as sorted, disjoint engine key ranges inside the data key space. */
export function selectionRanges(selection: RowSelection): KeyRange[] {
  const ranges: KeyRange[] = selection.all
    ? [{ start: DATA_START_KEY, end: undefined }]
    : [...selection.rowKeys.map((k) => rowKeyRange(k)), ...selection.rowRanges];
  const clamped = ranges
    .map((r) => ({
      start: Buffer.compare(r.start, DATA_START_KEY) < 0 ? DATA_START_KEY : r.start,
      end: r.end,
    }))
    .filter((r) => r.end === undefined || Buffer.compare(r.start, r.end) < 0)
    .sort((a, b) => Buffer.compare(a.start, b.start));
  const merged: KeyRange[] = [];
  for (const r of clamped) {
    const last = merged[merged.length - 1];
    if (last && (last.end === undefined || Buffer.compare(r.start, last.end) <= 0)) {
      if (last.end !== undefined && (r.end === undefined || Buffer.compare(r.end, last.end) > 0))
        last.end = r.end;
    } else {
      merged.push({ start: r.start, end: r.end });
    }
  }
  return merged;
}

/** What the reader needs to know of the schema at read time. */
export interface ReadContext {
  /** GC policy per family; a family absent here is not part of the schema and is hidden. */
  readonly policies: ReadonlyMap<string, GcPolicy>;
  readonly nowMicros: number;
}

/** Streams the cells of `ranges` (in order, or reversed) grouped into rows in Bigtable order. */
export function* readRawRows(
  engine: Engine,
  ranges: readonly KeyRange[],
  reversed: boolean,
): Generator<RowCells> {
  const ordered = reversed ? [...ranges].reverse() : ranges;
  for (const range of ordered) {
    let rowKey: Buffer | undefined;
    let cells: Cell[] = [];
    const scan = { start: range.start, end: range.end, reverse: reversed, prefix: singleRowStart(range) };
    for (const [key, value] of engine.scan(scan)) {
      const c = decodeCellKey(key);
      if (rowKey !== undefined && !c.rowKey.equals(rowKey)) {
        yield { key: rowKey, cells: reversed ? cells.reverse() : cells };
        cells = [];
      }
      rowKey = c.rowKey;
      cells.push({
        family: c.family,
        qualifier: c.qualifier,
        timestampMicros: c.timestampMicros,
        value,
        labels: [],
      });
    }
    if (rowKey !== undefined) yield { key: rowKey, cells: reversed ? cells.reverse() : cells };
  }
}

/** Drops cells of unknown families and cells garbage collection makes eligible. */
export function visibleCells(row: RowCells, ctx: ReadContext): RowCells {
  const out: Cell[] = [];
  let i = 0;
  const cells = row.cells;
  while (i < cells.length) {
    const first = cells[i] as Cell;
    let j = i + 1;
    while (j < cells.length) {
      const c = cells[j] as Cell;
      if (c.family !== first.family || !c.qualifier.equals(first.qualifier)) break;
      j++;
    }
    const policy = ctx.policies.get(first.family);
    if (policy) {
      const column = cells.slice(i, j);
      const eligible =
        policy.kind === 'keepAll' ? undefined : evaluateGcPolicy(policy, column, ctx.nowMicros);
      column.forEach((c, k) => {
        if (!eligible?.[k]) out.push(c);
      });
    }
    i = j;
  }
  return { key: row.key, cells: out };
}

/** The filtered rows of `ranges`, at most `rowsLimit` (0: no limit). */
export function* readRows(
  engine: Engine,
  ranges: readonly KeyRange[],
  options: { reversed: boolean; filter: CompiledFilter; rowsLimit: number; context: () => ReadContext },
): Generator<RowCells, void, undefined> {
  let emitted = 0;
  const ctx = options.context();
  for (const raw of readRawRows(engine, ranges, options.reversed)) {
    const visible = visibleCells(raw, ctx);
    if (visible.cells.length === 0) continue;
    const out = options.filter.apply(visible);
    if (!out || out.cells.length === 0) continue;
    yield out;
    emitted++;
    if (options.rowsLimit > 0 && emitted >= options.rowsLimit) return;
  }
}
