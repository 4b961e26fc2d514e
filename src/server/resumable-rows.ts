/**
 * A ReadRows row source that can let go of its engine iterator while its reader is paused and
 * pick up after the last row it returned. An open iterator pins what it reads from: the memtables
 * and SSTable readers current when the scan began, which a flush or compaction would otherwise
 * free. A stream whose reader stops reading therefore releases its iterator after
 * READ_ROWS_STALL_RELEASE_MS (stream-writer.ts); the next pull reopens the scan strictly after the
 * last row returned (before it, when reversed), so no row is returned twice or skipped.
 *
 * Consistency: rows after a release are read at a new point in time. Bigtable's ReadRows promises
 * a consistent view per row, not across rows, so this is within its contract.
 *
 * Concurrency: single event-loop thread; one reader pulls at a time.
 */

import type { KeyRange } from '../model/cell-key.js';
import { rowEndKey, rowStartKey } from '../model/cell-key.js';
import type { RowCells } from '../model/row-cells.js';
import type { ReadRowsQuery } from '../tablet/table-store-api.js';

/** The part of `query` strictly after row `lastKey` in its direction; undefined if nothing is left. */
export function queryAfter(query: ReadRowsQuery, lastKey: Buffer): ReadRowsQuery | undefined {
  const reversed = query.reversed;
  const remains = (key: Buffer) =>
    reversed ? Buffer.compare(key, lastKey) < 0 : Buffer.compare(key, lastKey) > 0;
  const rowKeys = query.selection.rowKeys.filter(remains);
  const whole: KeyRange[] = query.selection.all
    ? [{ start: rowStartKey(Buffer.alloc(0)), end: undefined }]
    : [];
  const rowRanges: KeyRange[] = [];
  for (const range of [...query.selection.rowRanges, ...whole]) {
    const clipped = reversed ? clipEnd(range, rowStartKey(lastKey)) : clipStart(range, rowEndKey(lastKey));
    if (clipped !== undefined) rowRanges.push(clipped);
  }
  if (rowKeys.length === 0 && rowRanges.length === 0) return undefined;
  return { ...query, selection: { rowKeys, rowRanges, all: false } };
}

function clipStart(range: KeyRange, start: Buffer): KeyRange | undefined {
  const from = Buffer.compare(range.start, start) >= 0 ? range.start : start;
  if (range.end !== undefined && Buffer.compare(from, range.end) >= 0) return undefined;
  return { start: from, end: range.end };
}

function clipEnd(range: KeyRange, end: Buffer): KeyRange | undefined {
  const to = range.end !== undefined && Buffer.compare(range.end, end) <= 0 ? range.end : end;
  if (Buffer.compare(range.start, to) >= 0) return undefined;
  return { start: range.start, end: to };
}

/** Rows of a query from `open`, releasable between rows (see the file comment). */
export class ResumableRows implements Iterator<RowCells, void, undefined> {
  private current: Iterator<RowCells, void, undefined> | undefined;
  private lastKey: Buffer | undefined;
  private finished = false;
  /** How many times the engine iterator was let go (for tests and metrics). */
  releases = 0;

  constructor(
    private readonly query: ReadRowsQuery,
    private readonly open: (query: ReadRowsQuery) => Iterator<RowCells, void, undefined>,
  ) {}

  next(): IteratorResult<RowCells, void> {
    if (this.finished) return { done: true, value: undefined };
    if (this.current === undefined) {
      const query = this.lastKey === undefined ? this.query : queryAfter(this.query, this.lastKey);
      if (query === undefined) return this.finish();
      this.current = this.open(query);
    }
    const result = this.current.next();
    if (result.done === true) return this.finish();
    this.lastKey = result.value.key;
    return result;
  }

  /** Closes the engine iterator now; the next pull reopens the scan after the last row. */
  release(): void {
    if (this.current === undefined) return;
    this.current.return?.();
    this.current = undefined;
    this.releases++;
  }

  return(): IteratorResult<RowCells, void> {
    return this.finish();
  }

  private finish(): IteratorResult<RowCells, void> {
    this.finished = true;
    this.current?.return?.();
    this.current = undefined;
    return { done: true, value: undefined };
  }
}
