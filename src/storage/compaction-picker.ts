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
  /** Overlapping files of the output level. */
  nextInputs: FileMeta[];
  /** Where the outputs go: level + 1, or `level` itself for an in-place rewrite of the last level. */
  outputLevel: number;
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
  const [lo, hi, hiExclusive] = userExtent(inputs);
  // Every file of the next level that overlaps the inputs' whole extent, not just each input: the
  // outputs span that extent, so a file left between two inputs would overlap them.
  const nextInputs = version
    .overlapping(level + 1, lo, hi)
    .filter((f) => !(hiExclusive && Buffer.compare(userKeyOf(f.smallest), hi) === 0));
  const trivialMove = level > 0 && inputs.length === 1 && nextInputs.length === 0;
  return { level, inputs, nextInputs, outputLevel: level + 1, trivialMove };
}

/**
 * The user-key extent [lo, hi] of `files`; `hiExclusive` when hi is only an exclusive bound (no
 * file holds an entry at hi itself).
 */
export function userExtent(files: readonly FileMeta[]): [Buffer, Buffer, boolean] {
  let lo: Buffer | undefined;
  let hi: Buffer | undefined;
  let hiExclusive = false;
  for (const f of files) {
    const s = userKeyOf(f.smallest);
    const l = userKeyOf(f.largest);
    if (!lo || Buffer.compare(s, lo) < 0) lo = s;
    const c = hi ? Buffer.compare(l, hi) : 1;
    if (c > 0) {
      hi = l;
      hiExclusive = largestIsExclusive(f);
    } else if (c === 0 && !largestIsExclusive(f)) {
      hiExclusive = false;
    }
  }
  return [lo as Buffer, hi as Buffer, hiExclusive];
}

/**
 * The steps of a full compaction: every non-empty level merged into the next, top down, so the
 * data ends in one level one below the deepest non-empty one — or rewritten in place when that is
 * the last level — and everything it covers is rewritten once, dropping what deletes hide.
 */
export function fullCompactionStep(version: Version, deepest: number): CompactionPick | undefined {
  const last = version.levels.length - 1;
  const target = Math.min(deepest + 1, last);
  for (let level = 0; level < target; level++) {
    const inputs = [...(version.levels[level] ?? [])];
    if (inputs.length === 0) continue;
    const nextInputs = [...(version.levels[level + 1] ?? [])];
    return { level, inputs, nextInputs, outputLevel: level + 1, trivialMove: false };
  }
  return undefined;
}

/** An in-place rewrite of the last level (it has no level below to merge into). */
export function lastLevelRewrite(version: Version): CompactionPick | undefined {
  const level = version.levels.length - 1;
  const inputs = [...(version.levels[level] ?? [])];
  return inputs.length === 0
    ? undefined
    : { level, inputs, nextInputs: [], outputLevel: level, trivialMove: false };
}
