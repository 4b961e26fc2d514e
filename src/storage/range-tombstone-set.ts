/**
 * Answers "is this version of a key deleted by a range tombstone visible at snapshot S?" for a set
 * of range tombstones gathered from memtables and SSTables.
 *
 * The tombstones are fragmented: all start/end points are sorted into boundaries, and each fragment
 * [b_i, b_{i+1}) lists the sequences of the tombstones covering it, descending. A query is a binary
 * search for the fragment, then a scan of its (short) sequence list. Built once per read view.
 *
 * Invariant: fragments are sorted, disjoint, and each lists exactly the tombstones covering it.
 */
import type { RangeTombstone } from './internal-key.js';

interface Fragment {
  start: Buffer;
  end: Buffer;
  /** Sequences of covering tombstones, descending. */
  sequences: number[];
}

/** An immutable, queryable set of range tombstones. */
export class RangeTombstoneSet {
  private readonly fragments: Fragment[];

  constructor(tombstones: Iterable<RangeTombstone>) {
    this.fragments = fragment([...tombstones]);
  }

  /** Whether the set holds no tombstone. */
  get isEmpty(): boolean {
    return this.fragments.length === 0;
  }

  /**
   * Whether the version of `userKey` with `sequence` is deleted at `snapshot`: some tombstone covers
   * the key with `sequence < t.sequence <= snapshot`.
   */
  covers(userKey: Uint8Array, sequence: number, snapshot: number): boolean {
    const f = this.find(userKey);
    if (!f) return false;
    for (const s of f.sequences) {
      if (s <= snapshot) return s > sequence;
    }
    return false;
  }

  private find(userKey: Uint8Array): Fragment | undefined {
    let lo = 0;
    let hi = this.fragments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const f = this.fragments[mid] as Fragment;
      if (Buffer.compare(userKey, f.start) < 0) hi = mid - 1;
      else if (Buffer.compare(userKey, f.end) >= 0) lo = mid + 1;
      else return f;
    }
    return undefined;
  }
}

function fragment(tombstones: RangeTombstone[]): Fragment[] {
  if (tombstones.length === 0) return [];
  const points = new Map<string, Buffer>();
  for (const t of tombstones) {
    points.set(t.start.toString('latin1'), t.start);
    points.set(t.end.toString('latin1'), t.end);
  }
  const bounds = [...points.values()].sort(Buffer.compare);
  const byStart = [...tombstones].sort((a, b) => Buffer.compare(a.start, b.start));
  const out: Fragment[] = [];
  let active: RangeTombstone[] = [];
  let next = 0;
  for (let i = 0; i + 1 < bounds.length; i++) {
    const start = bounds[i] as Buffer;
    const end = bounds[i + 1] as Buffer;
    while (next < byStart.length && Buffer.compare((byStart[next] as RangeTombstone).start, start) <= 0) {
      active.push(byStart[next] as RangeTombstone);
      next++;
    }
    active = active.filter((t) => Buffer.compare(t.end, start) > 0);
    if (active.length > 0) {
      out.push({ start, end, sequences: active.map((t) => t.sequence).sort((a, b) => b - a) });
    }
  }
  return out;
}
