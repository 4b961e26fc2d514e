/**
 * Merges several internal iterators into one, in engine order. Children are few (memtables, L0
 * files, one per deeper level), so the current child is found by a linear scan rather than a heap.
 *
 * Invariant: when valid, `current` is the child with the smallest key (forward) or the largest key
 * (reverse); on a direction change every other child is repositioned relative to the current key,
 * as internal keys are unique across children.
 */
import { assert } from '../common/assert.js';
import { compareInternalKeys } from './internal-key.js';
import type { InternalIterator } from './iterator.js';

export class MergingIterator implements InternalIterator {
  private current: InternalIterator | undefined;
  private forward = true;

  constructor(private readonly children: InternalIterator[]) {}

  valid(): boolean {
    return this.current !== undefined && this.current.valid();
  }

  seekToFirst(): void {
    for (const c of this.children) c.seekToFirst();
    this.forward = true;
    this.pickSmallest();
  }

  seekToLast(): void {
    for (const c of this.children) c.seekToLast();
    this.forward = false;
    this.pickLargest();
  }

  seek(target: Uint8Array): void {
    for (const c of this.children) c.seek(target);
    this.forward = true;
    this.pickSmallest();
  }

  seekForPrev(target: Uint8Array): void {
    for (const c of this.children) c.seekForPrev(target);
    this.forward = false;
    this.pickLargest();
  }

  next(): void {
    const cur = this.current;
    assert(cur && cur.valid(), 'next on invalid iterator');
    if (!this.forward) {
      const key = cur.key();
      for (const c of this.children) {
        if (c === cur) continue;
        c.seek(key);
        if (c.valid() && compareInternalKeys(c.key(), key) === 0) c.next();
      }
      this.forward = true;
    }
    cur.next();
    this.pickSmallest();
  }

  prev(): void {
    const cur = this.current;
    assert(cur && cur.valid(), 'prev on invalid iterator');
    if (this.forward) {
      const key = cur.key();
      for (const c of this.children) {
        if (c === cur) continue;
        c.seekForPrev(key);
        if (c.valid() && compareInternalKeys(c.key(), key) === 0) c.prev();
      }
      this.forward = false;
    }
    cur.prev();
    this.pickLargest();
  }

  key(): Buffer {
    assert(this.current, 'key on invalid iterator');
    return this.current.key();
  }

  value(): Buffer {
    assert(this.current, 'value on invalid iterator');
    return this.current.value();
  }

  private pickSmallest(): void {
    let best: InternalIterator | undefined;
    let bestKey: Buffer | undefined;
    for (const c of this.children) {
      if (!c.valid()) continue;
      const k = c.key();
      if (bestKey === undefined || compareInternalKeys(k, bestKey) < 0) {
        best = c;
        bestKey = k;
      }
    }
    this.current = best;
  }

  private pickLargest(): void {
    let best: InternalIterator | undefined;
    let bestKey: Buffer | undefined;
    for (const c of this.children) {
      if (!c.valid()) continue;
      const k = c.key();
      if (bestKey === undefined || compareInternalKeys(k, bestKey) > 0) {
        best = c;
        bestKey = k;
      }
    }
    this.current = best;
  }
}
