// ReadModifyWriteRow as a pure function: append, increment with int64 wrap-around, width checks,
// several rules on one column, and timestamps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TabulaError } from '../../src/common/errors.js';
import type { ReadModifyWriteRule } from '../../src/model/proto-types.js';
import type { LatestCell } from '../../src/model/read-modify-write.js';
import { applyReadModifyWrite, incrementInt64 } from '../../src/model/read-modify-write.js';
import { testSeed } from './test-seed.js';

const seed = testSeed('read-modify-write.test');
const NOW = 5_000_000;
const i64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
};
const append = (family: string, q: string, v: string): ReadModifyWriteRule => ({
  familyName: family,
  columnQualifier: Buffer.from(q),
  rule: 'appendValue',
  appendValue: Buffer.from(v),
});
const inc = (family: string, q: string, amount: bigint | string): ReadModifyWriteRule => ({
  familyName: family,
  columnQualifier: Buffer.from(q),
  rule: 'incrementAmount',
  incrementAmount: String(amount),
});
function store(entries: [string, string, Buffer, number][]) {
  const m = new Map<string, LatestCell>();
  for (const [f, q, value, timestampMicros] of entries) m.set(`${f}/${q}`, { value, timestampMicros });
  return (family: string, qualifier: Buffer) => m.get(`${family}/${qualifier.toString()}`);
}

test('append: concatenates; a missing cell counts as empty', () => {
  const out = applyReadModifyWrite(
    [append('cf', 'a', 'world'), append('cf', 'new', 'x')],
    store([['cf', 'a', Buffer.from('hello '), 1000]]),
    NOW,
  );
  assert.deepEqual(
    out.map((r) => [r.family, r.qualifier.toString(), r.value.toString(), r.timestampMicros]),
    [
      ['cf', 'a', 'hello world', NOW],
      ['cf', 'new', 'x', NOW],
    ],
  );
});

test('increment: big-endian int64, missing counts as 0, wraps around', () => {
  const latest = store([
    ['cf', 'n', i64(41n), 1000],
    ['cf', 'max', i64(2n ** 63n - 1n), 1000],
    ['cf', 'min', i64(-(2n ** 63n)), 1000],
  ]);
  const out = applyReadModifyWrite(
    [inc('cf', 'n', 1n), inc('cf', 'max', 1n), inc('cf', 'min', -1n), inc('cf', 'zero', -7n)],
    latest,
    NOW,
  );
  assert.deepEqual(
    out.map((r) => r.value.readBigInt64BE()),
    [42n, -(2n ** 63n), 2n ** 63n - 1n, -7n],
  );
});

test('increment of a value that is not 8 bytes fails the request with FAILED_PRECONDITION', () => {
  for (const width of [0, 1, 7, 9]) {
    assert.throws(
      () => applyReadModifyWrite([inc('cf', 'n', 1n)], store([['cf', 'n', Buffer.alloc(width), 0]]), NOW),
      (e: unknown) =>
        e instanceof TabulaError &&
        e.code === 'FAILED_PRECONDITION' &&
        /not a 64-bit big-endian integer.*valueBytes=`\d+`/.test(e.message),
    );
  }
});

test('rules on one column apply in order, each seeing the previous result', () => {
  const out = applyReadModifyWrite(
    [inc('cf', 'n', 5n), append('cf', 's', 'a'), inc('cf', 'n', 10n), append('cf', 's', 'b')],
    store([]),
    NOW,
  );
  assert.equal(out.length, 2);
  assert.equal(out[0]?.value.readBigInt64BE(), 15n);
  assert.equal(out[1]?.value.toString(), 'ab');
  // Append after increment: the 8-byte value gains bytes; a later increment then fails.
  assert.throws(
    () =>
      applyReadModifyWrite([inc('cf', 'n', 1n), append('cf', 'n', 'x'), inc('cf', 'n', 1n)], store([]), NOW),
    /not a 64-bit big-endian integer/,
  );
});

test('the new timestamp is the greater of the existing one and now', () => {
  const out = applyReadModifyWrite(
    [append('cf', 'future', 'x'), append('cf', 'past', 'y')],
    store([
      ['cf', 'future', Buffer.from(''), NOW + 7000],
      ['cf', 'past', Buffer.from(''), NOW - 7000],
    ]),
    NOW,
  );
  assert.deepEqual(
    out.map((r) => r.timestampMicros),
    [NOW + 7000, NOW],
  );
});

test('family __proto__ is an ordinary family', () => {
  const out = applyReadModifyWrite(
    [append('__proto__', 'q', 'x'), append('constructor', 'q', 'y')],
    store([]),
    NOW,
  );
  assert.deepEqual(
    out.map((r) => r.family),
    ['__proto__', 'constructor'],
  );
});

test('validation', () => {
  const bad = (rules: unknown, re: RegExp) =>
    assert.throws(
      () => applyReadModifyWrite(rules as ReadModifyWriteRule[], store([]), NOW),
      (e: unknown) => e instanceof TabulaError && e.code === 'INVALID_ARGUMENT' && re.test(e.message),
    );
  bad([], /no read-modify-write rules provided/);
  bad([{ familyName: 'cf', columnQualifier: Buffer.from('q') }], /has no rule set.*rules\[0\]/);
  bad([{ familyName: 'cf', rule: 'multiply' }], /unknown read-modify-write rule/);
  bad([append('', 'q', 'x')], /family name must not be empty/);
  bad([inc('cf', 'q', '9223372036854775808')], /int64 field out of range/);
});

test('increment matches BigInt arithmetic modulo 2^64', () => {
  const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
  fc.assert(
    fc.property(int64, int64, (a, b) => {
      assert.equal(incrementInt64(i64(a), b).readBigInt64BE(), BigInt.asIntN(64, a + b));
    }),
    { seed, numRuns: 1000 },
  );
});
