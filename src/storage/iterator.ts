/**
 * The iterator contract shared by memtables, SSTable blocks, SSTables and merging iterators.
 * Iterators are synchronous (reads of immutable data are synchronous; see vfs.ts) and positioned
 * over encoded internal keys in engine order (see internal-key.ts).
 *
 * Contract:
 * - After construction the iterator is not valid until a seek.
 * - `key()`/`value()` may only be called while `valid()`; the returned buffers stay valid and
 *   unchanged after the iterator moves (implementations return copies or views of immutable data).
 * - `seek(target)` positions at the first entry >= target; `seekForPrev(target)` at the last
 *   entry <= target.
 * - An iterator that hits corrupt data throws a DATA_LOSS `TabulaError` naming the file and offset.
 */
export interface InternalIterator {
  valid(): boolean;
  seekToFirst(): void;
  seekToLast(): void;
  seek(target: Uint8Array): void;
  seekForPrev(target: Uint8Array): void;
  next(): void;
  prev(): void;
  /** The current encoded internal key. */
  key(): Buffer;
  /** The current value. */
  value(): Buffer;
}
