/**
 * A version: the set of live SSTables of a store, by level, as of one manifest edit. Versions are
 * immutable; each edit produces a new one. Readers pin the version they started with, so files of an
 * older version are deleted only once no reader holds it.
 *
 * Invariants (checked by `checkInvariants` under PARANOID):
 * - Level 0 files may overlap; they are ordered newest first (descending file number).
 * - Files of each level >= 1 are sorted by smallest key and do not overlap.
 * - For any user key, entries in level L are newer than entries in level L+1.
 * File bounds are internal keys and include the extent of the file's range tombstones; a largest
 * key whose trailer is the seek sentinel (sequence max, kind 0xff) is an exclusive bound.
 */
import { assert } from '../common/assert.js';
import { LSM_LEVELS } from '../common/limits.js';
import {
  compareInternalKeys,
  encodeInternalKey,
  KIND_FOR_SEEK,
  kindOf,
  SEQUENCE_MAX,
  sequenceOf,
  userKeyOf,
} from './internal-key.js';
import type { FileMeta, VersionEdit } from './version-edit.js';

/** The internal key used as an exclusive upper bound at user key `end`. */
export function exclusiveBound(end: Uint8Array): Buffer {
  return encodeInternalKey(end, SEQUENCE_MAX, KIND_FOR_SEEK);
}

/** Whether a file's largest key is an exclusive bound. */
export function largestIsExclusive(file: FileMeta): boolean {
  return sequenceOf(file.largest) === SEQUENCE_MAX && kindOf(file.largest) === KIND_FOR_SEEK;
}

/**
 * Whether `file` may hold entries for user keys in [start, end] (both inclusive; undefined is
 * unbounded).
 */
export function fileOverlaps(
  file: FileMeta,
  start: Uint8Array | undefined,
  end: Uint8Array | undefined,
): boolean {
  if (end !== undefined && Buffer.compare(userKeyOf(file.smallest), end) > 0) return false;
  if (start !== undefined) {
    const c = Buffer.compare(userKeyOf(file.largest), start);
    if (c < 0 || (c === 0 && largestIsExclusive(file))) return false;
  }
  return true;
}

/** Whether `file` may hold user key `key`. */
export function fileContains(file: FileMeta, key: Uint8Array): boolean {
  return fileOverlaps(file, key, key);
}

/** Index of the first of sorted, disjoint `files` whose range reaches up to `userKey` or beyond. */
function firstFileReaching(files: readonly FileMeta[], userKey: Uint8Array): number {
  let lo = 0;
  let hi = files.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const f = files[mid] as FileMeta;
    const c = Buffer.compare(userKeyOf(f.largest), userKey);
    if (c < 0 || (c === 0 && largestIsExclusive(f))) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** An immutable set of files by level. */
export class Version {
  /** Readers pinning this version. */
  refs = 0;

  constructor(readonly levels: readonly (readonly FileMeta[])[]) {
    assert(levels.length === LSM_LEVELS, 'wrong number of levels');
  }

  static empty(): Version {
    return new Version(Array.from({ length: LSM_LEVELS }, () => []));
  }

  /** A new version with `edit` applied. */
  apply(edit: VersionEdit): Version {
    const deleted = new Set(edit.deletedFiles.map((d) => `${d.level}:${d.fileNumber}`));
    const levels = this.levels.map((files, level) =>
      files.filter((f) => !deleted.has(`${level}:${f.fileNumber}`)),
    );
    for (const { level, file } of edit.addedFiles) (levels[level] as FileMeta[]).push(file);
    (levels[0] as FileMeta[]).sort((a, b) => b.fileNumber - a.fileNumber);
    for (let l = 1; l < levels.length; l++) {
      (levels[l] as FileMeta[]).sort((a, b) => compareInternalKeys(a.smallest, b.smallest));
    }
    return new Version(levels);
  }

  /** Total bytes of the files of `level`. */
  levelBytes(level: number): number {
    let n = 0;
    for (const f of this.levels[level] ?? []) n += f.fileSize;
    return n;
  }

  /** Every live file number. */
  fileNumbers(): number[] {
    return this.levels.flatMap((files) => files.map((f) => f.fileNumber));
  }

  /** Files of `level` overlapping user keys [start, end]. */
  overlapping(level: number, start: Uint8Array | undefined, end: Uint8Array | undefined): FileMeta[] {
    return (this.levels[level] ?? []).filter((f) => fileOverlaps(f, start, end));
  }

  /** For a level >= 1: the file that may hold `userKey`, by binary search. */
  findFile(level: number, userKey: Uint8Array): FileMeta | undefined {
    const files = this.levels[level] ?? [];
    const f = files[firstFileReaching(files, userKey)];
    return f && fileContains(f, userKey) ? f : undefined;
  }

  /**
   * The files of level >= 1 that may hold user keys in [start, end] (both inclusive), found by
   * binary search: the level's files are sorted and disjoint.
   */
  overlappingFiles(level: number, start: Uint8Array, end: Uint8Array | undefined): FileMeta[] {
    const files = this.levels[level] ?? [];
    const out: FileMeta[] = [];
    for (let i = firstFileReaching(files, start); i < files.length; i++) {
      const f = files[i] as FileMeta;
      if (!fileOverlaps(f, start, end)) break;
      out.push(f);
    }
    return out;
  }

  /** Throws if a level invariant does not hold. */
  checkInvariants(): void {
    for (let l = 1; l < this.levels.length; l++) {
      const files = this.levels[l] as FileMeta[];
      for (let i = 1; i < files.length; i++) {
        const a = files[i - 1] as FileMeta;
        const b = files[i] as FileMeta;
        const c = Buffer.compare(userKeyOf(a.largest), userKeyOf(b.smallest));
        assert(c < 0 || (c === 0 && largestIsExclusive(a)), `overlapping files in level ${l}`);
      }
    }
  }
}
