/**
 * Chooses the next compaction, LevelDB-style: level 0 compacts when it holds too many files; each
 * level >= 1 compacts when its bytes exceed its budget (level 1's budget times a multiplier per
 * level). Level-0 compactions take every level-0 file (they may overlap one another); deeper ones
 * take one file, round-robin through the key space, plus the overlapping files of the next level.
 * A single input file that overlaps nothing below moves down by a manifest edit alone.
 */
import { LEVEL_SIZE_MULTIPLIER, LSM_LEVELS } from '../common/limits.js';
import { compareInternalKeys, userKeyOf } from './internal-key.js';
import { largestIsExclusive, type Version } from './version.js';
import type { FileMeta } from './version-edit.js';

/** Tuning that decides when and what to compact. */
export interface CompactionPolicy {
  l0CompactionTrigger: number;
  level1Bytes: number;
}

/** A chosen compaction. */
export interface CompactionPick {
  level: number;
  inputs: FileMeta[];
  /** Overlapping files of level + 1. */
  nextInputs: FileMeta[];
  /** True when the single input can move down without rewriting. */
  trivialMove: boolean;
}

/** Byte budget of `level` (>= 1). */
export function levelBudgetBytes(policy: CompactionPolicy, level: number): number {
  return policy.level1Bytes * LEVEL_SIZE_MULTIPLIER ** (level - 1);
}

/** The most urgent compaction, or undefined when every level is within budget. */
export function pickCompaction(
  version: Version,
  policy: CompactionPolicy,
  cursors: Map<number, Buffer>,
): CompactionPick | undefined {
  let bestLevel = -1;
  let bestScore = 1;
  const l0Score = (version.levels[0]?.length ?? 0) / policy.l0CompactionTrigger;
  if (l0Score >= bestScore) {
    bestLevel = 0;
    bestScore = l0Score;
  }
  for (let level = 1; level < LSM_LEVELS - 1; level++) {
    const score = version.levelBytes(level) / levelBudgetBytes(policy, level);
    if (score > bestScore) {
      bestLevel = level;
      bestScore = score;
    }
  }
  if (bestLevel < 0) return undefined;
  return pickAtLevel(version, bestLevel, cursors);
}

/** A compaction of `level` into `level + 1` (used directly by manual compaction). */
export function pickAtLevel(
  version: Version,
  level: number,
  cursors: Map<number, Buffer>,
): CompactionPick | undefined {
  const files = version.levels[level] ?? [];
  if (files.length === 0) return undefined;
  let inputs: FileMeta[];
  if (level === 0) {
    inputs = [...files];
  } else {
    const cursor = cursors.get(level);
    const next = cursor ? files.find((f) => compareInternalKeys(f.smallest, cursor) > 0) : undefined;
    inputs = [next ?? (files[0] as FileMeta)];
  }
  const [lo, hi] = userExtent(inputs);
  const nextInputs = version.overlapping(level + 1, lo, hi).filter((f) => !touchesOnlyExclusive(inputs, f));
  const trivialMove = level > 0 && inputs.length === 1 && nextInputs.length === 0;
  return { level, inputs, nextInputs, trivialMove };
}

/** The user-key extent [lo, hi] of `files`. */
export function userExtent(files: readonly FileMeta[]): [Buffer, Buffer] {
  let lo: Buffer | undefined;
  let hi: Buffer | undefined;
  for (const f of files) {
    const s = userKeyOf(f.smallest);
    const l = userKeyOf(f.largest);
    if (!lo || Buffer.compare(s, lo) < 0) lo = s;
    if (!hi || Buffer.compare(l, hi) > 0) hi = l;
  }
  return [lo as Buffer, hi as Buffer];
}

/**
 * A file `f` of the next level that starts exactly at the exclusive upper bound of the inputs does
 * not really overlap them.
 */
function touchesOnlyExclusive(inputs: readonly FileMeta[], f: FileMeta): boolean {
  const fStart = userKeyOf(f.smallest);
  return inputs.every((i) => {
    const c = Buffer.compare(userKeyOf(i.largest), fStart);
    const endsBefore = c < 0 || (c === 0 && largestIsExclusive(i));
    const startsAfter = Buffer.compare(userKeyOf(i.smallest), userKeyOf(f.largest)) > 0;
    return endsBefore || startsAfter;
  });
}
