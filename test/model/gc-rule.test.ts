// GC rules: validation and per-version eligibility for every rule kind and their combinations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TabulaError } from '../../src/common/errors.js';
import { GC_RULE_DEPTH_MAX } from '../../src/common/limits.js';
import { compileGcRule, evaluateGcPolicy, gcEligible } from '../../src/model/gc-rule.js';
import type { GcRule } from '../../src/model/proto-types.js';
import { testSeed } from './test-seed.js';

const seed = testSeed('gc-rule.test');
const NOW = 1_000_000_000;
const versions = (...ts: number[]) => ts.map((timestampMicros) => ({ timestampMicros }));
const maxVersions = (n: number): GcRule => ({ rule: 'maxNumVersions', maxNumVersions: n });
const maxAgeMs = (ms: number): GcRule => ({
  rule: 'maxAge',
  maxAge: { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 },
});
const union = (...rules: GcRule[]): GcRule => ({ rule: 'union', union: { rules } });
const intersection = (...rules: GcRule[]): GcRule => ({ rule: 'intersection', intersection: { rules } });

// Five versions, newest first: ages 0 ms, 1 ms, 10 ms, 100 ms, 1000 ms.
const V = versions(NOW, NOW - 1_000, NOW - 10_000, NOW - 100_000, NOW - 1_000_000);

test('absent rules keep everything', () => {
  assert.deepEqual(gcEligible(undefined, V, NOW), [false, false, false, false, false]);
  assert.deepEqual(gcEligible({}, V, NOW), [false, false, false, false, false]);
});

test('max_num_versions keeps the newest N', () => {
  assert.deepEqual(gcEligible(maxVersions(2), V, NOW), [false, false, true, true, true]);
  assert.deepEqual(gcEligible(maxVersions(1), V, NOW), [false, true, true, true, true]);
  assert.deepEqual(gcEligible(maxVersions(9), V, NOW), [false, false, false, false, false]);
});

test('max_age deletes versions strictly older than the age', () => {
  assert.deepEqual(gcEligible(maxAgeMs(10), V, NOW), [false, false, false, true, true]);
  assert.deepEqual(gcEligible(maxAgeMs(1), V, NOW), [false, false, true, true, true]);
  // Nanos are truncated to microseconds: 1 ms + 999 ns is 1000 µs.
  const truncated: GcRule = { rule: 'maxAge', maxAge: { seconds: '0', nanos: 1_000_999 } };
  assert.deepEqual(compileGcRule(truncated), { kind: 'maxAge', ageMicros: 1000 });
});

test('union deletes what any rule deletes; intersection what every rule deletes', () => {
  assert.deepEqual(gcEligible(union(maxVersions(4), maxAgeMs(10)), V, NOW), [
    false,
    false,
    false,
    true,
    true,
  ]);
  assert.deepEqual(gcEligible(union(maxVersions(1), maxAgeMs(100)), V, NOW), [false, true, true, true, true]);
  assert.deepEqual(gcEligible(intersection(maxVersions(1), maxAgeMs(10)), V, NOW), [
    false,
    false,
    false,
    true,
    true,
  ]);
  assert.deepEqual(gcEligible(intersection(maxVersions(4), maxAgeMs(1)), V, NOW), [
    false,
    false,
    false,
    false,
    true,
  ]);
  assert.deepEqual(gcEligible(union(intersection(maxVersions(2), maxAgeMs(5)), maxVersions(4)), V, NOW), [
    false,
    false,
    true,
    true,
    true,
  ]);
});

function rejects(rule: unknown, message: RegExp): void {
  assert.throws(
    () => compileGcRule(rule as GcRule),
    (err: unknown) =>
      err instanceof TabulaError && err.code === 'INVALID_ARGUMENT' && message.test(err.message),
  );
}

test('validation', () => {
  rejects(maxVersions(0), /max_num_versions must be at least 1/);
  rejects(maxVersions(-3), /max_num_versions must be at least 1/);
  rejects({ rule: 'maxNumVersions' }, /max_num_versions must be at least 1/);
  rejects({ rule: 'maxAge', maxAge: { seconds: '0', nanos: 999_999 } }, /at least one millisecond/);
  rejects({ rule: 'maxAge', maxAge: {} }, /at least one millisecond/);
  rejects({ rule: 'maxAge', maxAge: { seconds: '-5' } }, /at least one millisecond/);
  rejects({ rule: 'maxAge', maxAge: { seconds: '1', nanos: -5 } }, /different signs/);
  rejects({ rule: 'maxAge', maxAge: { seconds: '1', nanos: 2_000_000_000 } }, /nanos out of range/);
  rejects({ rule: 'maxAge', maxAge: { seconds: '1.5' } }, /not a decimal integer/);
  rejects(union(), /union needs at least one rule/);
  rejects(intersection(), /intersection needs at least one rule/);
  rejects(union(maxVersions(1), {}), /nested gc rule has no rule set.*gc_rule.union.rules\[1\]/);
  rejects({ rule: 'sometimes' }, /unknown gc rule/);
  let deep: GcRule = maxVersions(1);
  for (let d = 1; d < GC_RULE_DEPTH_MAX; d++) deep = union(deep);
  assert.ok(compileGcRule(deep));
  rejects(union(deep), /gc rule nested too deeply/);
});

test('random rules agree with a direct reading of the definitions', () => {
  const ruleArb = fc.letrec<{ r: GcRule }>((tie) => ({
    r: fc.oneof(
      { depthSize: 'small' },
      fc.integer({ min: 1, max: 6 }).map(maxVersions),
      fc.integer({ min: 1, max: 2000 }).map(maxAgeMs),
      fc.array(tie('r'), { minLength: 1, maxLength: 3 }).map((rs) => union(...rs)),
      fc.array(tie('r'), { minLength: 1, maxLength: 3 }).map((rs) => intersection(...rs)),
    ),
  })).r;
  const eligible = (rule: GcRule, index: number, ts: number): boolean => {
    switch (rule.rule) {
      case 'maxNumVersions':
        return index >= (rule.maxNumVersions ?? 0);
      case 'maxAge':
        return NOW - ts > Number(rule.maxAge?.seconds) * 1e6 + (rule.maxAge?.nanos ?? 0) / 1000;
      case 'union':
        return (rule.union?.rules ?? []).some((r) => eligible(r, index, ts));
      case 'intersection':
        return (rule.intersection?.rules ?? []).every((r) => eligible(r, index, ts));
      default:
        return false;
    }
  };
  fc.assert(
    fc.property(ruleArb, fc.array(fc.integer({ min: 0, max: 3_000_000 }), { maxLength: 8 }), (rule, ages) => {
      const vs = versions(...ages.sort((a, b) => a - b).map((age) => NOW - age));
      const policy = compileGcRule(rule);
      assert.deepEqual(
        evaluateGcPolicy(policy, vs, NOW),
        vs.map((v, i) => eligible(rule, i, v.timestampMicros)),
      );
    }),
    { seed, numRuns: 500 },
  );
});
