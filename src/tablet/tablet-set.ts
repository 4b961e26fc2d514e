/**
 * The live tablets of one table, ordered by range. Invariant (checked by `checkCoverage`, which
 * every test calls): the ranges cover the whole row space, with no gap and no overlap — the first
 * starts at the table's start, each next one starts where the previous ends, the last is unbounded.
 *
 * Concurrency: single event-loop thread; `replace` swaps tablets in one synchronous step, so a
 * lookup sees either the parent or its children, never neither.
 */
import { assert } from '../common/assert.js';
import type { TabletHandle } from './tablet-handle.js';

/** A tablet's row range as the coverage check takes it (undefined: unbounded). */
export interface RowRangeBounds {
  readonly startRow: Buffer | undefined;
  readonly endRow: Buffer | undefined;
}

/**
 * Throws unless `ranges`, in order, cover every row once: the first starts at the table's start,
 * each next starts exactly where the previous ends (which is above its start), the last is open.
 */
export function checkCoverage(ranges: readonly RowRangeBounds[], what = 'tablets'): void {
  assert(ranges.length > 0, `${what}: a table has at least one tablet`);
  assert(
    (ranges[0] as RowRangeBounds).startRow === undefined,
    `${what}: the first tablet does not start at the table's start`,
  );
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i] as RowRangeBounds;
    if (r.startRow !== undefined && r.endRow !== undefined)
      assert(Buffer.compare(r.startRow, r.endRow) < 0, `${what}: tablet ${i} has an empty range`);
    const next = ranges[i + 1];
    if (next === undefined) {
      assert(r.endRow === undefined, `${what}: the last tablet does not reach the table's end`);
    } else {
      assert(
        r.endRow !== undefined && next.startRow !== undefined && r.endRow.equals(next.startRow),
        `${what}: gap or overlap between tablets ${i} and ${i + 1}`,
      );
    }
  }
}

export class TabletSet {
  private tablets: TabletHandle[];

  constructor(tablets: readonly TabletHandle[]) {
    this.tablets = [...tablets].sort((a, b) => Buffer.compare(a.startKey, b.startKey));
    checkCoverage(this.ranges());
  }

  /** The tablets in range order. */
  all(): readonly TabletHandle[] {
    return this.tablets;
  }

  get size(): number {
    return this.tablets.length;
  }

  /** The tablet whose range holds engine key `key` (keys below the first start go to the first). */
  find(key: Buffer): TabletHandle {
    let lo = 0;
    let hi = this.tablets.length;
    // Last tablet whose start is <= key.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare((this.tablets[mid] as TabletHandle).startKey, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return this.tablets[Math.max(0, lo - 1)] as TabletHandle;
  }

  /** The tablet holding the keys just below `end` (undefined: the last tablet). */
  findBefore(end: Buffer | undefined): TabletHandle {
    if (end === undefined) return this.tablets[this.tablets.length - 1] as TabletHandle;
    let lo = 0;
    let hi = this.tablets.length;
    // Last tablet whose start is < end.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare((this.tablets[mid] as TabletHandle).startKey, end) < 0) lo = mid + 1;
      else hi = mid;
    }
    return this.tablets[Math.max(0, lo - 1)] as TabletHandle;
  }

  /** The tablet right after `t` in range order, if any. */
  next(t: TabletHandle): TabletHandle | undefined {
    const i = this.tablets.indexOf(t);
    return i < 0 ? undefined : this.tablets[i + 1];
  }

  /** Replaces adjacent tablets `old` by `created` covering the same rows, in one step. */
  replace(old: readonly TabletHandle[], created: readonly TabletHandle[]): void {
    const first = this.tablets.indexOf(old[0] as TabletHandle);
    assert(first >= 0, 'replaced tablet is not live');
    for (let i = 0; i < old.length; i++)
      assert(this.tablets[first + i] === old[i], 'replaced tablets are not adjacent');
    const next = [...this.tablets];
    next.splice(first, old.length, ...created);
    checkCoverage(next.map((t) => t.record));
    this.tablets = next;
  }

  ranges(): RowRangeBounds[] {
    return this.tablets.map((t) => t.record);
  }
}
