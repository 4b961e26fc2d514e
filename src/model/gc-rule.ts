/**
 * GC rules of column families (google.bigtable.admin.v2.GcRule): validation into a compiled
 * `GcPolicy`, and evaluation over the versions of one column.
 *
 * Semantics (table.proto): `max_num_versions` N makes every version but the newest N eligible;
 * `max_age` makes versions older than the age eligible (strictly: now - timestamp > age); a union
 * makes a version eligible if any sub-rule does, an intersection if every sub-rule does. An unset
 * rule keeps everything. Validation: N ≥ 1; max_age ≥ 1 ms (truncated to microseconds); unions and
 * intersections hold at least one rule (an empty intersection would delete every cell); nesting
 * ≤ GC_RULE_DEPTH_MAX. Evaluation is pure; recursion is bounded by the validated depth.
 */
import { errors } from '../common/errors.js';
import { GC_MAX_AGE_MICROS_MIN, GC_RULE_DEPTH_MAX } from '../common/limits.js';
import { parseInt64 } from './proto-scalars.js';
import type { Duration, GcRule } from './proto-types.js';

/** A validated GC rule. */
export type GcPolicy =
  | { readonly kind: 'keepAll' }
  | { readonly kind: 'maxVersions'; readonly versions: number }
  | { readonly kind: 'maxAge'; readonly ageMicros: number }
  | { readonly kind: 'union' | 'intersection'; readonly rules: readonly GcPolicy[] };

/** A version of a column as GC sees it. */
export interface GcVersion {
  readonly timestampMicros: number;
}

const NANOS_PER_SECOND = 1_000_000_000n;

/** Converts a Duration to whole microseconds (truncating), validating its fields. */
export function durationToMicros(duration: Duration, field: string): bigint {
  const seconds = parseInt64(duration.seconds, `${field}.seconds`);
  const nanos = duration.nanos ?? 0;
  if (!Number.isInteger(nanos) || nanos <= -1_000_000_000 || nanos >= 1_000_000_000) {
    throw errors.invalidArgument('duration nanos out of range', { field: `${field}.nanos`, nanos });
  }
  if ((seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)) {
    throw errors.invalidArgument('duration seconds and nanos have different signs', { field });
  }
  return (seconds * NANOS_PER_SECOND + BigInt(nanos)) / 1000n;
}

/**
 * Validates `rule` and returns its compiled policy. Throws INVALID_ARGUMENT naming the field.
 * `undefined`, or a rule with no member set, keeps everything.
 */
export function compileGcRule(rule: GcRule | undefined, field = 'gc_rule', depth = 1): GcPolicy {
  if (depth > GC_RULE_DEPTH_MAX) {
    throw errors.invalidArgument('gc rule nested too deeply', { field, depthMax: GC_RULE_DEPTH_MAX });
  }
  if (rule === undefined || rule === null || rule.rule === undefined) return { kind: 'keepAll' };
  switch (rule.rule) {
    case 'maxNumVersions': {
      const n = rule.maxNumVersions;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
        throw errors.invalidArgument('max_num_versions must be at least 1', {
          field: `${field}.max_num_versions`,
          value: String(n),
        });
      }
      return { kind: 'maxVersions', versions: n };
    }
    case 'maxAge': {
      const ageMicros = durationToMicros(rule.maxAge ?? {}, `${field}.max_age`);
      if (ageMicros < BigInt(GC_MAX_AGE_MICROS_MIN)) {
        throw errors.invalidArgument('max_age must be at least one millisecond', {
          field: `${field}.max_age`,
        });
      }
      const capped =
        ageMicros > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(ageMicros);
      return { kind: 'maxAge', ageMicros: capped };
    }
    case 'union':
    case 'intersection': {
      const subRules = rule[rule.rule]?.rules ?? [];
      const subField = `${field}.${rule.rule}.rules`;
      if (subRules.length === 0)
        throw errors.invalidArgument(`${rule.rule} needs at least one rule`, { field: subField });
      const rules = subRules.map((r, i) => {
        if (r === undefined || r === null || r.rule === undefined) {
          throw errors.invalidArgument('nested gc rule has no rule set', { field: `${subField}[${i}]` });
        }
        return compileGcRule(r, `${subField}[${i}]`, depth + 1);
      });
      return { kind: rule.rule, rules };
    }
    default:
      throw errors.invalidArgument('unknown gc rule', { field, rule: String(rule.rule) });
  }
}

/**
 * For each version of one column (newest first), whether GC may delete it under `policy`.
 */
export function evaluateGcPolicy(
  policy: GcPolicy,
  versionsNewestFirst: readonly GcVersion[],
  nowMicros: number,
): boolean[] {
  switch (policy.kind) {
    case 'keepAll':
      return versionsNewestFirst.map(() => false);
    case 'maxVersions':
      return versionsNewestFirst.map((_, i) => i >= policy.versions);
    case 'maxAge':
      return versionsNewestFirst.map((v) => nowMicros - v.timestampMicros > policy.ageMicros);
    case 'union':
    case 'intersection': {
      const results = policy.rules.map((r) => evaluateGcPolicy(r, versionsNewestFirst, nowMicros));
      const any = policy.kind === 'union';
      return versionsNewestFirst.map((_, i) =>
        any ? results.some((r) => r[i] === true) : results.every((r) => r[i] === true),
      );
    }
  }
}

/**
 * Validates `rule` and evaluates it: for each version of one column (newest first), whether GC may
 * delete it. Callers evaluating many columns should compile once with `compileGcRule`.
 */
export function gcEligible(
  rule: GcRule | undefined,
  versionsNewestFirst: readonly GcVersion[],
  nowMicros: number,
): boolean[] {
  return evaluateGcPolicy(compileGcRule(rule), versionsNewestFirst, nowMicros);
}
