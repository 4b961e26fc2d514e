/**
 * SampleRowKeys over a table that is a set of tablets: every tablet boundary, plus rows about every
 * `sampleIntervalBytes` inside each tablet (from its engine's SSTable block samples), each with the
 * approximate bytes of the table up to it.
 *
 * Invariants of the answer: offsets never decrease, and row keys strictly increase up to the last
 * sample, which is always the empty row key (the table's end) at the table's approximate size.
 *
 * Concurrency: synchronous; it reads the tablets as they are at the call.
 */
import { decodeCellKey } from '../model/cell-key.js';
import type { RowKeySample } from './table-store-api.js';
import type { TabletHandle } from './tablet-handle.js';

/** The row key samples of a table whose live tablets, in range order, are `tablets`. */
export function sampleRowKeys(tablets: readonly TabletHandle[], sampleIntervalBytes: number): RowKeySample[] {
  const out: RowKeySample[] = [];
  let offset = 0;
  const push = (rowKey: Buffer, offsetBytes: number) => {
    const last = out[out.length - 1];
    if (last && Buffer.compare(last.rowKey, rowKey) >= 0) return;
    out.push({ rowKey, offsetBytes: Math.max(offsetBytes, last?.offsetBytes ?? 0) });
  };
  for (const t of tablets) {
    const bytes = t.engine.approximateBytes();
    let seen = 0;
    let sinceSample = 0;
    for (const s of t.engine.blockSamples()) {
      if (!t.containsKey(s.key)) continue;
      sinceSample += s.bytes;
      if (sinceSample >= sampleIntervalBytes) {
        const row = rowOf(s.key);
        if (row) push(row, offset + Math.min(seen, bytes));
        sinceSample = 0;
      }
      seen += s.bytes;
    }
    offset += bytes;
    if (t.record.endRow) push(t.record.endRow, offset);
  }
  out.push({
    rowKey: Buffer.alloc(0),
    offsetBytes: Math.max(offset, out[out.length - 1]?.offsetBytes ?? 0),
  });
  return out;
}

/** The row key of engine key `key`, or undefined when it is not a cell key. */
function rowOf(key: Buffer): Buffer | undefined {
  try {
    return decodeCellKey(key).rowKey;
  } catch {
    return undefined;
  }
}
