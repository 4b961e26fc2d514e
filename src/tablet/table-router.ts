/**
 * The row operations of a table that is a set of tablets: each request goes to the tablet owning
 * its row; multi-row writes are split per tablet; scans walk the tablets in range order, one at a
 * time, holding one row at a time.
 *
 * Splits and merges run beside requests:
 * - A write enters its tablet's gate. If the tablet is paused for a split or merge, the write waits
 *   and then routes again, so it lands in whichever tablet owns its row after the switch.
 * - A scan holds its current tablet as a reader: a split or merge that retires it leaves its engine
 *   open until the scan moves on, so the scan reads a consistent tablet to its end. It then
 *   resolves the next tablet by key (where the previous one ended) in the live set of that moment,
 *   so every row is read exactly once however the ranges changed meanwhile.
 */
import type { KeyRange } from '../model/cell-key.js';
import { rowStartKey } from '../model/cell-key.js';
import type { ValidMutation } from '../model/mutation.js';
import type { ValidReadModifyWriteRule } from '../model/read-modify-write.js';
import type { RowCells } from '../model/row-cells.js';
import type { CompiledFilter } from '../model/row-filter.js';
import { selectionRanges } from './row-reader.js';
import type { ReadRowsQuery, RowKeySample, RowMutations, Tablet } from './table-store-api.js';
import type { TabletHandle } from './tablet-handle.js';
import type { TabletSet } from './tablet-set.js';

/** What the router tells its owner. */
export interface RouterHooks {
  /** After a write to `t` settled (size checks, memory budget). */
  afterWrite(t: TabletHandle): void;
  /** Samples of the whole table (tablet boundaries and intra-tablet samples). */
  sampleRowKeys(): RowKeySample[];
}

export class TableRouter implements Tablet {
  constructor(
    private readonly tablets: () => TabletSet,
    private readonly hooks: RouterHooks,
  ) {}

  mutateRow(rowKey: Buffer, mutations: readonly ValidMutation[]): Promise<void> {
    return this.onRow(rowKey, (t) => t.tablet.mutateRow(rowKey, mutations));
  }

  async mutateRows(entries: readonly RowMutations[]): Promise<unknown[]> {
    const outcomes: unknown[] = new Array(entries.length).fill(undefined);
    await this.writeEntries(
      entries,
      entries.map((_, i) => i),
      outcomes,
    );
    return outcomes;
  }

  checkAndMutateRow(
    rowKey: Buffer,
    predicate: CompiledFilter | undefined,
    trueMutations: readonly ValidMutation[],
    falseMutations: readonly ValidMutation[],
  ): Promise<boolean> {
    return this.onRow(rowKey, (t) =>
      t.tablet.checkAndMutateRow(rowKey, predicate, trueMutations, falseMutations),
    );
  }

  readModifyWriteRow(rowKey: Buffer, rules: readonly ValidReadModifyWriteRule[]): Promise<RowCells> {
    return this.onRow(rowKey, (t) => t.tablet.readModifyWriteRow(rowKey, rules));
  }

  sampleRowKeys(): RowKeySample[] {
    return this.hooks.sampleRowKeys();
  }

  *readRows(query: ReadRowsQuery): Generator<RowCells, void, undefined> {
    const ranges = selectionRanges(query.selection);
    if (ranges.length === 0) return;
    let remaining = query.rowsLimit;
    // `cursor`: forward, the first key not yet read; reversed, the key every unread key is below.
    let cursor: Buffer | undefined = query.reversed
      ? (ranges[ranges.length - 1] as KeyRange).end
      : (ranges[0] as KeyRange).start;
    for (;;) {
      const set = this.tablets();
      const t = query.reversed ? set.findBefore(cursor) : set.find(cursor as Buffer);
      const lo = query.reversed ? t.startKey : maxKey(cursor as Buffer, t.startKey);
      const hi = query.reversed ? minEnd(cursor, t.endKey) : t.endKey;
      const sub = clipRanges(ranges, lo, hi);
      if (sub.length > 0) {
        t.acquireReader();
        try {
          const rows = t.tablet.readRows({
            selection: { rowKeys: [], rowRanges: sub, all: false },
            filter: query.filter,
            rowsLimit: remaining,
            reversed: query.reversed,
          });
          for (const row of rows) {
            yield row;
            if (remaining > 0 && --remaining === 0) return;
          }
        } finally {
          t.releaseReader();
        }
      }
      if (query.reversed) {
        if (Buffer.compare(t.startKey, (ranges[0] as KeyRange).start) <= 0 || set.all()[0] === t) return;
        cursor = prevRangeEnd(ranges, t.startKey);
        if (cursor === undefined) return;
      } else {
        const last = ranges[ranges.length - 1] as KeyRange;
        if (t.endKey === undefined || (last.end !== undefined && Buffer.compare(t.endKey, last.end) >= 0))
          return;
        cursor = nextRangeStart(ranges, t.endKey);
        if (cursor === undefined) return;
      }
    }
  }

  /** Runs `op` on the tablet owning `rowKey`, inside its write gate; re-routes after a switch. */
  private async onRow<T>(rowKey: Buffer, op: (t: TabletHandle) => Promise<T>): Promise<T> {
    const key = rowStartKey(rowKey);
    for (;;) {
      const t = this.tablets().find(key);
      const entered = t.enter();
      if (entered !== true) {
        await entered;
        continue;
      }
      try {
        return await op(t);
      } finally {
        t.leave();
        this.hooks.afterWrite(t);
      }
    }
  }

  /** Writes `entries[i]` for i in `indices`, one tablet group at a time per tablet. */
  private async writeEntries(
    entries: readonly RowMutations[],
    indices: readonly number[],
    outcomes: unknown[],
  ): Promise<void> {
    const groups = new Map<TabletHandle, number[]>();
    const set = this.tablets();
    for (const i of indices) {
      const t = set.find(rowStartKey((entries[i] as RowMutations).rowKey));
      const g = groups.get(t);
      if (g) g.push(i);
      else groups.set(t, [i]);
    }
    await Promise.all(
      [...groups].map(async ([t, group]) => {
        let entered: true | Promise<void>;
        try {
          entered = t.enter();
        } catch (err) {
          for (const i of group) outcomes[i] = err;
          return;
        }
        if (entered !== true) {
          await entered;
          return this.writeEntries(entries, group, outcomes);
        }
        try {
          const results = await t.tablet.mutateRows(group.map((i) => entries[i] as RowMutations));
          results.forEach((r, k) => {
            outcomes[group[k] as number] = r;
          });
        } finally {
          t.leave();
          this.hooks.afterWrite(t);
        }
      }),
    );
  }
}

function maxKey(a: Buffer, b: Buffer): Buffer {
  return Buffer.compare(a, b) >= 0 ? a : b;
}

function minEnd(a: Buffer | undefined, b: Buffer | undefined): Buffer | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Buffer.compare(a, b) <= 0 ? a : b;
}

/** `ranges` (sorted, disjoint) intersected with [lo, hi). */
function clipRanges(ranges: readonly KeyRange[], lo: Buffer, hi: Buffer | undefined): KeyRange[] {
  const out: KeyRange[] = [];
  for (const r of ranges) {
    const start = maxKey(r.start, lo);
    const end = minEnd(r.end, hi);
    if (end === undefined || Buffer.compare(start, end) < 0) out.push({ start, end });
  }
  return out;
}

/** The first key ≥ `key` inside some range, or undefined when every range ends at or before it. */
function nextRangeStart(ranges: readonly KeyRange[], key: Buffer): Buffer | undefined {
  for (const r of ranges) {
    if (r.end !== undefined && Buffer.compare(r.end, key) <= 0) continue;
    return maxKey(r.start, key);
  }
  return undefined;
}

/** The last key bound ≤ `key` that some range reaches below, or undefined if no range starts below it. */
function prevRangeEnd(ranges: readonly KeyRange[], key: Buffer): Buffer | undefined {
  for (let i = ranges.length - 1; i >= 0; i--) {
    const r = ranges[i] as KeyRange;
    if (Buffer.compare(r.start, key) >= 0) continue;
    return minEnd(r.end, key);
  }
  return undefined;
}
