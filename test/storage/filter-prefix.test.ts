/**
 * Prefix rules of Bloom filters (src/storage/filter-prefix.ts): the prefix of a key, the names
 * that persist a rule, and the property a prefix scan relies on — every key that begins with a
 * whole prefix has that prefix.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  isWholePrefix,
  type PrefixRule,
  parsePrefixRuleName,
  prefixLength,
  prefixRuleName,
  rangeWithinPrefix,
} from '../../src/storage/filter-prefix.js';
import { testSeed } from '../model/test-seed.js';

const runs = { seed: testSeed('filter-prefix.test'), numRuns: 3000 };
// Small alphabets make delimiters, repeats and overlaps common.
const byteArb = fc.constantFrom(0x00, 0x01, 0x02, 0x61, 0xff);
const keyArb = fc.array(byteArb, { maxLength: 10 }).map((a) => Buffer.from(a));
const ruleArb = fc
  .array(byteArb, { minLength: 1, maxLength: 3 })
  .map((a): PrefixRule => ({ delimiter: Buffer.from(a) }));

test('a key’s prefix ends after the first delimiter, or is the whole key', () => {
  const rule = { delimiter: Buffer.from([0x00, 0x01]) };
  const len = (hex: string) => prefixLength(rule, Buffer.from(hex, 'hex'));
  assert.equal(len('61620001630001'), 4);
  assert.equal(len('0001'), 2);
  assert.equal(len('00ff000161'), 4);
  assert.equal(len('616200'), 3);
  assert.equal(len(''), 0);
  // Overlapping candidates: the first full occurrence counts.
  assert.equal(prefixLength({ delimiter: Buffer.from('aab') }, Buffer.from('aaab-aab')), 4);
});

test('every key beginning with a whole prefix has that prefix', () => {
  fc.assert(
    fc.property(ruleArb, keyArb, keyArb, (rule, head, tail) => {
      const p = head.subarray(0, prefixLength(rule, head));
      if (!isWholePrefix(rule, p)) return;
      const key = Buffer.concat([p, tail]);
      assert.equal(prefixLength(rule, key), p.length);
    }),
    runs,
  );
});

test('a key’s prefix is whole exactly when it ends with the delimiter', () => {
  fc.assert(
    fc.property(ruleArb, keyArb, (rule, key) => {
      const n = prefixLength(rule, key);
      const p = key.subarray(0, n);
      const endsWithDelimiter =
        n >= rule.delimiter.length &&
        Buffer.from(rule.delimiter).equals(p.subarray(n - rule.delimiter.length));
      assert.equal(isWholePrefix(rule, p), endsWithDelimiter);
    }),
    runs,
  );
});

test('rangeWithinPrefix holds only when every key of the range begins with the prefix', () => {
  fc.assert(
    fc.property(keyArb, keyArb, keyArb, keyArb, (p, start, end, probe) => {
      if (!rangeWithinPrefix(p, start, end)) return;
      const inRange = Buffer.compare(probe, start) >= 0 && Buffer.compare(probe, end) < 0;
      if (inRange) assert.ok(probe.subarray(0, p.length).equals(p), 'a key of the range lacks the prefix');
    }),
    runs,
  );
  const p = Buffer.from('ab');
  assert.equal(rangeWithinPrefix(p, Buffer.from('ab'), Buffer.from('ac')), true);
  assert.equal(rangeWithinPrefix(p, Buffer.from('ab'), Buffer.from('ac\x00')), false);
  assert.equal(rangeWithinPrefix(p, Buffer.from('aa'), Buffer.from('ab\x01')), false);
  assert.equal(rangeWithinPrefix(p, Buffer.from('ab'), undefined), false);
  assert.equal(rangeWithinPrefix(Buffer.from([0xff]), Buffer.from([0xff]), Buffer.from([0xff, 1])), false);
});

test('rule names round-trip; unknown names are not rules', () => {
  fc.assert(
    fc.property(ruleArb, (rule) => {
      const parsed = parsePrefixRuleName(prefixRuleName(rule));
      assert.ok(parsed && Buffer.from(parsed.delimiter).equals(Buffer.from(rule.delimiter)));
    }),
    runs,
  );
  assert.equal(prefixRuleName({ delimiter: Buffer.from([0x00, 0x01]) }), 'delimited-0001');
  for (const name of ['', 'delimited-', 'delimited-0', 'delimited-0G', 'delimited-00AA', 'fixed-4']) {
    assert.equal(parsePrefixRuleName(name), undefined, name);
  }
});
