/**
 * File references: how one store reads SSTables another store wrote, restricted to a key range.
 *
 * A tablet split or merge creates new stores whose manifests name the parent's SSTables instead of
 * copying them. Such an entry of a manifest is a *reference*: it has a number of its own (unique in
 * the referencing store, so versions, caches and compaction picks work as for any file), a `source`
 * naming the physical file (a sibling store directory of the same namespace and the file's number
 * there), and bounds [smallest, largest] that may be narrower than the file's contents. When
 * `bounded` is set, entries and range tombstones outside the bounds exist in the file but are hidden:
 * reads clip them (`BoundedIterator`, `clipTombstones`) and compactions never copy them.
 *
 * Ownership: a store never deletes a referenced file; it reports references it no longer needs
 * (`EngineOptions.onSourcesReleased`) and whoever owns the namespace deletes a physical file once no
 * live store refers to it. Pure functions and one iterator; no state beyond the iterator's.
 */
import {
  compareInternalKeys,
  encodeInternalKey,
  KIND_FOR_SEEK,
  type RangeTombstone,
  SEQUENCE_MAX,
  userKeyOf,
} from './internal-key.js';
import type { InternalIterator } from './iterator.js';
import { exclusiveBound, largestIsExclusive } from './version.js';
import type { FileMeta } from './version-edit.js';

/** The physical file of a reference: a store directory (a name in the namespace) and a number. */
export interface FileSource {
  /** Directory name of the store that wrote the file, relative to the namespace directory. */
  readonly dir: string;
  /** The file's number in that store. */
  readonly fileNumber: number;
}

/** A key identifying a source across stores: `dir/number`. */
export function sourceKey(s: FileSource): string {
  return `${s.dir}/${s.fileNumber}`;
}

/** The first internal key of user key `key`: an inclusive lower bound at `key`. */
export function lowerBound(key: Uint8Array): Buffer {
  return encodeInternalKey(key, SEQUENCE_MAX, KIND_FOR_SEEK);
}

/**
 * `file` restricted to user keys [lo, hi) (undefined: unbounded), or undefined when nothing of it
 * is left. The result keeps the file's number, size and count; callers re-estimate those.
 */
export function clipFile(
  file: FileMeta,
  lo: Buffer | undefined,
  hi: Buffer | undefined,
): FileMeta | undefined {
  const smallUser = userKeyOf(file.smallest);
  const largeUser = userKeyOf(file.largest);
  if (hi !== undefined && Buffer.compare(smallUser, hi) >= 0) return undefined;
  if (lo !== undefined) {
    const c = Buffer.compare(largeUser, lo);
    if (c < 0 || (c === 0 && largestIsExclusive(file))) return undefined;
  }
  const clipLow = lo !== undefined && Buffer.compare(smallUser, lo) < 0;
  const clipHigh = hi !== undefined && Buffer.compare(largeUser, hi) >= 0;
  if (!clipLow && !clipHigh) return file;
  return {
    ...file,
    smallest: clipLow ? lowerBound(lo as Buffer) : file.smallest,
    largest: clipHigh ? exclusiveBound(hi as Buffer) : file.largest,
    bounded: true,
  };
}

/** The range tombstones of a file as a reference with `file`'s bounds sees them. */
export function clipTombstones(file: FileMeta, tombstones: readonly RangeTombstone[]): RangeTombstone[] {
  if (!file.bounded) return [...tombstones];
  const lo = userKeyOf(file.smallest);
  const hi = largestIsExclusive(file) ? userKeyOf(file.largest) : undefined;
  const out: RangeTombstone[] = [];
  for (const t of tombstones) {
    const start = Buffer.compare(t.start, lo) < 0 ? lo : t.start;
    const end = hi !== undefined && Buffer.compare(t.end, hi) > 0 ? hi : t.end;
    if (Buffer.compare(start, end) < 0) out.push({ start, end, sequence: t.sequence });
  }
  return out;
}

/**
 * An iterator over the entries of `inner` within internal keys [lower, upper] (upper exclusive when
 * `upperExclusive`). Positions outside the bounds read as invalid.
 */
export class BoundedIterator implements InternalIterator {
  constructor(
    private readonly inner: InternalIterator,
    private readonly lower: Buffer,
    private readonly upper: Buffer,
    private readonly upperExclusive: boolean,
  ) {}

  /** An iterator over `file`'s visible entries given its unbounded iterator. */
  static forFile(file: FileMeta, inner: InternalIterator): InternalIterator {
    return file.bounded
      ? new BoundedIterator(inner, file.smallest, file.largest, largestIsExclusive(file))
      : inner;
  }

  valid(): boolean {
    if (!this.inner.valid()) return false;
    const key = this.inner.key();
    if (compareInternalKeys(key, this.lower) < 0) return false;
    const c = compareInternalKeys(key, this.upper);
    return this.upperExclusive ? c < 0 : c <= 0;
  }
  seekToFirst(): void {
    this.inner.seek(this.lower);
  }
  seekToLast(): void {
    this.inner.seekForPrev(this.upper);
  }
  seek(target: Uint8Array): void {
    this.inner.seek(compareInternalKeys(target, this.lower) < 0 ? this.lower : target);
  }
  seekForPrev(target: Uint8Array): void {
    this.inner.seekForPrev(compareInternalKeys(target, this.upper) > 0 ? this.upper : target);
  }
  next(): void {
    this.inner.next();
  }
  prev(): void {
    this.inner.prev();
  }
  key(): Buffer {
    return this.inner.key();
  }
  value(): Buffer {
    return this.inner.value();
  }
}
