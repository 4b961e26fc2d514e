/**
 * User-level iteration over an engine view: turns the merged stream of internal entries (every
 * version of every key, tombstones included) into the live user keys visible at one snapshot, in
 * one direction, within [start, end).
 *
 * `LevelIterator` concatenates the sorted, disjoint files of one level >= 1, opening each file's
 * iterator only when the position reaches it.
 */
import { assert } from '../common/assert.js';
import {
  compareInternalKeys,
  EntryKind,
  encodeInternalKey,
  KIND_FOR_SEEK,
  kindOf,
  SEQUENCE_MAX,
  sequenceOf,
  userKeyOf,
} from './internal-key.js';
import type { InternalIterator } from './iterator.js';
import type { RangeTombstoneSet } from './range-tombstone-set.js';
import type { FileMeta } from './version-edit.js';

/** Concatenates the files of one level >= 1. */
export class LevelIterator implements InternalIterator {
  private index = -1;
  private inner: InternalIterator | undefined;

  constructor(
    private readonly files: readonly FileMeta[],
    private readonly iteratorOf: (f: FileMeta) => InternalIterator,
  ) {}

  valid(): boolean {
    return this.inner !== undefined && this.inner.valid();
  }
  seekToFirst(): void {
    this.open(0);
    this.inner?.seekToFirst();
    this.skipForward();
  }
  seekToLast(): void {
    this.open(this.files.length - 1);
    this.inner?.seekToLast();
    this.skipBackward();
  }
  seek(target: Uint8Array): void {
    // First file whose largest key is >= target.
    let lo = 0;
    let hi = this.files.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareInternalKeys((this.files[mid] as FileMeta).largest, target) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.open(lo);
    this.inner?.seek(target);
    this.skipForward();
  }
  seekForPrev(target: Uint8Array): void {
    // Last file whose smallest key is <= target.
    let lo = 0;
    let hi = this.files.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareInternalKeys((this.files[mid] as FileMeta).smallest, target) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.open(lo - 1);
    this.inner?.seekForPrev(target);
    this.skipBackward();
  }
  next(): void {
    assert(this.inner, 'next on invalid iterator');
    this.inner.next();
    this.skipForward();
  }
  prev(): void {
    assert(this.inner, 'prev on invalid iterator');
    this.inner.prev();
    this.skipBackward();
  }
  key(): Buffer {
    assert(this.inner, 'key on invalid iterator');
    return this.inner.key();
  }
  value(): Buffer {
    assert(this.inner, 'value on invalid iterator');
    return this.inner.value();
  }

  private open(index: number): void {
    if (index < 0 || index >= this.files.length) {
      this.index = index;
      this.inner = undefined;
      return;
    }
    if (index !== this.index || !this.inner) this.inner = this.iteratorOf(this.files[index] as FileMeta);
    this.index = index;
  }
  private skipForward(): void {
    while (this.inner && !this.inner.valid() && this.index + 1 < this.files.length) {
      this.open(this.index + 1);
      this.inner?.seekToFirst();
    }
  }
  private skipBackward(): void {
    while (this.inner && !this.inner.valid() && this.index > 0) {
      this.open(this.index - 1);
      this.inner?.seekToLast();
    }
  }
}

/** Options of a user-level scan. */
export interface ScanOptions {
  /** Inclusive lower bound. */
  start?: Uint8Array;
  /** Exclusive upper bound. */
  end?: Uint8Array;
  reverse?: boolean;
  /**
   * A prefix every key of [start, end) begins with, whole under the store's `filterPrefix` rule
   * (filter-prefix.ts `isWholePrefix`): tables whose prefix filter rules it out are not read.
   * Ignored by a store without a `filterPrefix` rule.
   */
  prefix?: Uint8Array;
}

/**
 * Yields the live [key, value] pairs of `source` visible at `snapshot`. Calls `release` when the
 * scan ends, is broken out of, or throws.
 */
export function* scanVisible(
  source: InternalIterator,
  tombstones: RangeTombstoneSet,
  snapshot: number,
  options: ScanOptions,
  release: () => void,
): Generator<[Buffer, Buffer]> {
  try {
    if (options.reverse) yield* scanBackward(source, tombstones, snapshot, options);
    else yield* scanForward(source, tombstones, snapshot, options);
  } finally {
    release();
  }
}

function* scanForward(
  it: InternalIterator,
  tombstones: RangeTombstoneSet,
  snapshot: number,
  { start, end }: ScanOptions,
): Generator<[Buffer, Buffer]> {
  if (start) it.seek(encodeInternalKey(start, SEQUENCE_MAX, KIND_FOR_SEEK));
  else it.seekToFirst();
  while (it.valid()) {
    const userKey = userKeyOf(it.key());
    if (end && Buffer.compare(userKey, end) >= 0) return;
    let found: { kind: number; sequence: number; value: Buffer } | undefined;
    while (it.valid()) {
      const key = it.key();
      if (!userKeyOf(key).equals(userKey)) break;
      const sequence = sequenceOf(key);
      if (!found && sequence <= snapshot) found = { kind: kindOf(key), sequence, value: it.value() };
      it.next();
    }
    if (found?.kind === EntryKind.Put && !tombstones.covers(userKey, found.sequence, snapshot)) {
      yield [userKey, found.value];
    }
  }
}

function* scanBackward(
  it: InternalIterator,
  tombstones: RangeTombstoneSet,
  snapshot: number,
  { start, end }: ScanOptions,
): Generator<[Buffer, Buffer]> {
  if (end) it.seekForPrev(encodeInternalKey(end, SEQUENCE_MAX, KIND_FOR_SEEK));
  else it.seekToLast();
  // Skip an entry of `end` itself if seekForPrev landed exactly on the sentinel (never stored).
  while (it.valid()) {
    const userKey = userKeyOf(it.key());
    if (end && Buffer.compare(userKey, end) >= 0) {
      it.prev();
      continue;
    }
    if (start && Buffer.compare(userKey, start) < 0) return;
    let found: { kind: number; sequence: number; value: Buffer } | undefined;
    while (it.valid()) {
      const key = it.key();
      if (!userKeyOf(key).equals(userKey)) break;
      const sequence = sequenceOf(key);
      if (sequence <= snapshot) found = { kind: kindOf(key), sequence, value: it.value() };
      it.prev();
    }
    if (found?.kind === EntryKind.Put && !tombstones.covers(userKey, found.sequence, snapshot)) {
      yield [userKey, found.value];
    }
  }
}
