/**
 * The invariants every tablet test checks after a split, a merge, a reopen or at the end of a run:
 *
 * 1. Coverage: the live tablets of a table cover the whole row space in order, with no gap and no
 *    overlap (`checkCoverage` of src/tablet/tablet-set.ts).
 * 2. Containment: every row a tablet's engine shows lies inside that tablet's range. A tablet's
 *    store may hold SSTables shared with a former parent or sibling, but only through references
 *    bounded to its range (src/storage/file-refs.ts) that reads hide beyond the bounds: a raw
 *    engine scan must never show a row another tablet owns.
 * 3. Exactly once: a full scan of the table returns rows in strictly increasing key order, each
 *    row lies inside exactly one range, and each is held by exactly the engine of that range.
 *    (An engine may hold rows the table hides — cells garbage collection makes eligible, or of a
 *    family being purged — so engine rows need not all be visible; visible rows must all be held.)
 *
 * Call only while no split, merge or write is running (the check reads the live tablet set and
 * each engine once, without holding them).
 */
import assert from 'node:assert/strict';
import { decodeCellKey } from '../../src/model/cell-key.js';
import { compileRowFilter } from '../../src/model/row-filter.js';
import { DATA_START_KEY } from '../../src/tablet/row-reader.js';
import { tabletEngines, tabletRanges } from '../../src/tablet/table-store.js';
import type { TableStore } from '../../src/tablet/table-store-api.js';
import { checkCoverage, type RowRangeBounds } from '../../src/tablet/tablet-set.js';

/** What the check saw, for the caller's own assertions and messages. */
export interface TabletInvariantSummary {
  /** Live tablets of the table. */
  tablets: number;
  /** Rows a full scan of the table returned. */
  rows: number;
  /** Distinct rows the tablets' engines hold (visible or not). */
  engineRows: number;
}

const hex = (b: Buffer) => b.toString('hex');

/** The ranges of `ranges` holding row `rowKey` (indices). */
function rangesHolding(ranges: readonly RowRangeBounds[], rowKey: Buffer): number[] {
  const out: number[] = [];
  ranges.forEach((r, i) => {
    if (rowInRange(r, rowKey)) out.push(i);
  });
  return out;
}

/** Whether `rowKey` lies in [startRow, endRow) (undefined bounds are open). */
export function rowInRange(r: RowRangeBounds, rowKey: Buffer): boolean {
  return (
    (r.startRow === undefined || Buffer.compare(rowKey, r.startRow) >= 0) &&
    (r.endRow === undefined || Buffer.compare(rowKey, r.endRow) < 0)
  );
}

function describe(r: RowRangeBounds): string {
  const bound = (b: Buffer | undefined) => (b === undefined ? '∞' : `'${b.toString('latin1')}'`);
  return `[${bound(r.startRow)}, ${bound(r.endRow)})`;
}

/** The distinct row keys of one engine's cell keys, in order, as hex. */
function engineRowKeys(engine: ReturnType<typeof tabletEngines>[number]): string[] {
  const rows: string[] = [];
  let last: Buffer | undefined;
  for (const [key] of engine.scan({ start: DATA_START_KEY })) {
    const row = decodeCellKey(key).rowKey;
    if (last !== undefined && row.equals(last)) continue;
    if (last !== undefined)
      assert.ok(Buffer.compare(last, row) < 0, `engine rows out of order: ${hex(last)} then ${hex(row)}`);
    rows.push(hex(row));
    last = row;
  }
  return rows;
}

/**
 * Checks coverage, containment and exactly-once (see the file comment) for table `tableId` of a
 * local store; throws an AssertionError naming the offending row and tablet.
 */
export function checkTabletInvariants(store: TableStore, tableId: string): TabletInvariantSummary {
  const ranges = tabletRanges(store, tableId);
  checkCoverage(ranges);
  const engines = tabletEngines(store, tableId);
  assert.equal(engines.length, ranges.length, 'one engine per live tablet');

  // Containment, and which tablet's engine holds each row.
  const holder = new Map<string, number>();
  engines.forEach((engine, i) => {
    const range = ranges[i] as RowRangeBounds;
    for (const row of engineRowKeys(engine)) {
      assert.ok(
        rowInRange(range, Buffer.from(row, 'hex')),
        `tablet ${i} ${describe(range)} engine shows row '${Buffer.from(row, 'hex').toString('latin1')}' outside its range`,
      );
      const before = holder.get(row);
      assert.equal(before, undefined, `row ${row} is held by tablets ${before} and ${i}`);
      holder.set(row, i);
    }
  });

  // Exactly once through the table's own read path.
  const query = {
    selection: { rowKeys: [], rowRanges: [], all: true },
    filter: compileRowFilter(undefined),
    rowsLimit: 0,
    reversed: false,
  };
  let last: Buffer | undefined;
  let rows = 0;
  for (const row of store.tablet(tableId).readRows(query)) {
    if (last !== undefined)
      assert.ok(
        Buffer.compare(last, row.key) < 0,
        `full scan not strictly increasing: ${hex(last)} then ${hex(row.key)}`,
      );
    last = row.key;
    rows++;
    const owners = rangesHolding(ranges, row.key);
    assert.equal(owners.length, 1, `row ${hex(row.key)} lies in ${owners.length} tablet ranges`);
    assert.equal(
      holder.get(hex(row.key)),
      owners[0],
      `row ${hex(row.key)} is read but not held by the engine of its tablet ${owners[0]}`,
    );
  }
  return { tablets: ranges.length, rows, engineRows: holder.size };
}
