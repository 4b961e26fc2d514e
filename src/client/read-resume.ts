/**
 * The rest of a ReadRows request after a stream broke: what a retry asks for so that no row is
 * returned twice and none is skipped. Rows up to and including the last committed key are removed
 * from the row set (beyond it, for a reversed read), and the row limit shrinks by the rows already
 * returned. Official clients resume the same way.
 */
import type { RowRange, RowSet } from '../model/proto-types.js';
import type { ReadRowsFields } from './read-request.js';

function startBound(r: RowRange): { key: Buffer; open: boolean } | undefined {
  const key = r.startKey === 'startKeyOpen' ? r.startKeyOpen : r.startKeyClosed;
  return key === undefined || key.length === 0 ? undefined : { key, open: r.startKey === 'startKeyOpen' };
}

function endBound(r: RowRange): { key: Buffer; closed: boolean } | undefined {
  const key = r.endKey === 'endKeyClosed' ? r.endKeyClosed : r.endKeyOpen;
  return key === undefined || key.length === 0 ? undefined : { key, closed: r.endKey === 'endKeyClosed' };
}

function withStart(r: RowRange, last: Buffer): RowRange {
  const end = endBound(r);
  const out: RowRange = { startKey: 'startKeyOpen', startKeyOpen: last };
  return end === undefined
    ? out
    : {
        ...out,
        ...(end.closed
          ? { endKey: 'endKeyClosed', endKeyClosed: end.key }
          : { endKey: 'endKeyOpen', endKeyOpen: end.key }),
      };
}

function withEnd(r: RowRange, last: Buffer): RowRange {
  const start = startBound(r);
  const out: RowRange = { endKey: 'endKeyOpen', endKeyOpen: last };
  if (start === undefined) return out;
  return start.open
    ? { ...out, startKey: 'startKeyOpen', startKeyOpen: start.key }
    : { ...out, startKey: 'startKeyClosed', startKeyClosed: start.key };
}

/** The part of `r` after `last` (forward), or undefined if none remains. */
function rangeAfter(r: RowRange, last: Buffer): RowRange | undefined {
  const end = endBound(r);
  if (end !== undefined && Buffer.compare(end.key, last) <= 0) return undefined;
  const start = startBound(r);
  return start !== undefined && Buffer.compare(start.key, last) > 0 ? r : withStart(r, last);
}

/** The part of `r` before `last` (reversed), or undefined if none remains. */
function rangeBefore(r: RowRange, last: Buffer): RowRange | undefined {
  const start = startBound(r);
  if (start !== undefined && Buffer.compare(start.key, last) >= 0) return undefined;
  const end = endBound(r);
  const below =
    end !== undefined &&
    (end.closed ? Buffer.compare(end.key, last) < 0 : Buffer.compare(end.key, last) <= 0);
  return below ? r : withEnd(r, last);
}

/**
 * The request fields that read what `fields` still had to read after the row `lastKey` and
 * `rowsDone` rows; undefined when nothing remains.
 */
export function resumeFields(
  fields: ReadRowsFields,
  lastKey: Buffer | undefined,
  rowsDone: number,
): ReadRowsFields | undefined {
  const out: ReadRowsFields = { ...fields };
  if (fields.rowsLimit !== undefined) {
    const left = Number(fields.rowsLimit) - rowsDone;
    if (left <= 0) return undefined;
    out.rowsLimit = String(left);
  }
  if (lastKey === undefined) return out;
  const reversed = fields.reversed === true;
  const rows: RowSet = fields.rows ?? { rowKeys: [], rowRanges: [{}] };
  const keys = (rows.rowKeys ?? []).filter((k) =>
    reversed ? Buffer.compare(k, lastKey) < 0 : Buffer.compare(k, lastKey) > 0,
  );
  const ranges = (rows.rowRanges ?? [])
    .map((r) => (reversed ? rangeBefore(r, lastKey) : rangeAfter(r, lastKey)))
    .filter((r): r is RowRange => r !== undefined);
  if (keys.length === 0 && ranges.length === 0) return undefined;
  out.rows = { rowKeys: keys, rowRanges: ranges };
  return out;
}
