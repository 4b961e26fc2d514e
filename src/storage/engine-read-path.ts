/**
 * The engine's read path: point reads (memtables newest first, then the SSTables level by level)
 * and scans (a merge of every memtable and SSTable, filtered to what one snapshot sees).
 *
 * Invariants: a read at sequence S sees exactly the writes with sequence <= S that no newer range
 * tombstone visible at S covers; range tombstones come from every memtable and table, so leaving a
 * table's entries out of a prefix scan never resurrects what it deletes. A scan pins the version
 * it started on until it is exhausted or abandoned, so compaction cannot delete its files.
 *
 * Concurrency: single event-loop thread; `get` is synchronous. A scan is a generator over the
 * version and range tombstones captured when it started; its sequence hides later writes.
 */
import { assert } from '../common/assert.js';
import { LevelIterator, type ScanOptions, scanVisible } from './engine-iterator.js';
import type { EngineState, FrozenMemtable } from './engine-state.js';
import { isWholePrefix, prefixLength, prefixRuleName, rangeWithinPrefix } from './filter-prefix.js';
import { EntryKind, kindOf, sequenceOf } from './internal-key.js';
import type { InternalIterator } from './iterator.js';
import { MergingIterator } from './merging-iterator.js';
import { fileContains, fileOverlaps, type Version } from './version.js';
import type { FileMeta } from './version-edit.js';

/** Point reads and scans over one store's state. */
export class ReadPath {
  /** The persisted name of the store's prefix rule, if it has one (computed once, not per read). */
  private readonly ruleName: string | undefined;

  /**
   * @param onVersionUnpinned called when the last scan of a version that is no longer current
   *   ends: its files may have become obsolete.
   */
  constructor(
    private readonly state: EngineState,
    private readonly onVersionUnpinned: () => void,
  ) {
    const rule = state.opts.filterPrefix;
    this.ruleName = rule && prefixRuleName(rule);
  }

  /** The value of `key` at `sequence`, or undefined. */
  get(key: Uint8Array, sequence: number): Buffer | undefined {
    const state = this.state;
    // Memtables, newest first, without iterators or a seek target: most reads of recent data end here.
    let mem = state.mem;
    for (let i = state.immutables.length; ; ) {
      const ref = mem.find(key, sequence);
      if (ref !== 0) {
        if (mem.kindAt(ref) !== EntryKind.Put) return undefined;
        if (state.rangeTombstones().covers(key, mem.sequenceAt(ref), sequence)) return undefined;
        return mem.valueAt(ref);
      }
      if (--i < 0) break;
      mem = (state.immutables[i] as FrozenMemtable).mem;
    }
    const entry = this.findInTables(key, sequence);
    if (!entry || kindOf(entry.key) !== EntryKind.Put) return undefined;
    if (state.rangeTombstones().covers(key, sequenceOf(entry.key), sequence)) return undefined;
    return entry.value;
  }

  /** The newest entry of `key` visible at `sequence` in the SSTables of the current version. */
  private findInTables(key: Uint8Array, sequence: number): { key: Buffer; value: Buffer } | undefined {
    const v = this.state.version;
    // Tables with a prefix filter answer for the key's prefix (their `get` has no whole-key filter).
    const rule = this.state.opts.filterPrefix;
    const ruleName = this.ruleName;
    const prefix = rule && key.subarray(0, prefixLength(rule, key));
    const lookUp = (f: FileMeta) => {
      const reader = this.state.tables.reader(f);
      if (ruleName !== undefined && !reader.mayContainPrefix(ruleName, prefix as Uint8Array))
        return undefined;
      return reader.get(key, sequence);
    };
    for (const f of v.levels[0] ?? []) {
      if (!fileContains(f, key)) continue;
      const hit = lookUp(f);
      if (hit) return hit;
    }
    for (let level = 1; level < v.levels.length; level++) {
      const f = v.findFile(level, key);
      const hit = f && lookUp(f);
      if (hit) return hit;
    }
    return undefined;
  }

  /** Live [key, value] pairs within `options` at `sequence`; pins the version until it ends. */
  scan(options: ScanOptions, sequence: number): Generator<[Buffer, Buffer]> {
    const state = this.state;
    const version = state.version;
    const wanted = this.tableFilter(options);
    this.pin(version);
    const children: InternalIterator[] = state.memtablesNewestFirst().map((m) => m.newIterator());
    for (const f of version.levels[0] ?? []) if (wanted(f)) children.push(state.tables.iterator(f));
    // A prefix scan reads, per level, the few files its range overlaps (binary search) that pass.
    const from = state.opts.filterPrefix === undefined ? undefined : (options.start ?? options.prefix);
    for (let level = 1; level < version.levels.length; level++) {
      const files =
        options.prefix === undefined || from === undefined
          ? (version.levels[level] ?? [])
          : version.overlappingFiles(level, from, options.end).filter(wanted);
      if (files.length > 0) children.push(new LevelIterator(files, (f) => state.tables.iterator(f)));
    }
    const source = new MergingIterator(children);
    return scanVisible(source, state.rangeTombstones(), sequence, options, () => this.unpin(version));
  }

  /**
   * Which tables a scan must read: all of them, or with a `prefix`, those that overlap the scan's
   * range and whose prefix filter does not rule the prefix out. Range tombstones are gathered
   * from every table regardless (`rangeTombstones`), so leaving a table's entries out never
   * resurrects what it deletes.
   */
  private tableFilter(options: ScanOptions): (f: FileMeta) => boolean {
    const { prefix, start, end } = options;
    const rule = this.state.opts.filterPrefix;
    // Without a rule of its own the store has no prefix filters it could trust.
    if (prefix === undefined || rule === undefined) return () => true;
    assert(isWholePrefix(rule, prefix), 'scan prefix is not a whole prefix under the filter rule');
    const from = start ?? prefix;
    assert(rangeWithinPrefix(prefix, from, end), 'scan range reaches beyond its prefix');
    const ruleName = this.ruleName as string;
    return (f) => {
      if (!fileOverlaps(f, from, end)) return false;
      if (this.state.tables.reader(f).mayContainPrefix(ruleName, prefix)) return true;
      this.state.prefixFilterSkips++;
      return false;
    };
  }

  private pin(v: Version): void {
    v.refs++;
    this.state.pinned.add(v);
  }

  private unpin(v: Version): void {
    v.refs--;
    if (v.refs === 0 && v !== this.state.version) {
      this.state.pinned.delete(v);
      this.onVersionUnpinned();
    }
  }
}
