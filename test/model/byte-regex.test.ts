// Byte regexes: RE2 syntax in Latin-1 (raw byte) mode with full-match semantics, on bytes that
// need not be UTF-8, in linear time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hasCode } from '../../src/common/errors.js';
import { compileByteRegex } from '../../src/model/byte-regex.js';
import { testSeed } from './test-seed.js';

const seed = testSeed('byte-regex.test');
const b = (...bytes: number[]) => Buffer.from(bytes);
const re = (pattern: string | Buffer) =>
  compileByteRegex(typeof pattern === 'string' ? Buffer.from(pattern, 'latin1') : pattern, 'test');

test('full-match semantics', () => {
  const cases: [string, string, boolean][] = [
    ['abc', 'abc', true],
    ['abc', 'xabc', false],
    ['abc', 'abcx', false],
    ['abc', 'abc\n', false],
    ['a|ab', 'ab', true],
    ['b', 'abc', false],
    ['a.*', 'abc', true],
    ['.*', 'a\nb', false],
    ['(?s).*', 'a\nb', true],
    ['(?m)^a$', 'a\na', false],
    ['', '', true],
    ['a*', '', true],
  ];
  for (const [pattern, subject, expected] of cases) {
    assert.equal(
      re(pattern).matches(Buffer.from(subject, 'latin1')),
      expected,
      `${pattern} on ${JSON.stringify(subject)}`,
    );
  }
});

test('bytes that are not UTF-8: \\C, dot, classes and \\x escapes match single bytes', () => {
  const invalid = b(0xff, 0xfe, 0x80, 0xc3);
  assert.ok(re('\\C\\C\\C\\C').matches(invalid));
  assert.ok(!re('\\C\\C\\C').matches(invalid));
  assert.ok(re('\\C*').matches(invalid));
  assert.ok(re('....').matches(invalid), 'dot matches one byte in Latin-1 mode');
  assert.ok(re('\\xff\\xfe\\x80\\xc3').matches(invalid));
  assert.ok(re('[\\x80-\\xff]+').matches(invalid));
  assert.ok(!re('[\\x00-\\x7f]+').matches(invalid));
  assert.ok(re(b(0xff, 0x2e, 0x2a)).matches(invalid), 'a raw 0xff byte in the pattern is a literal');
  assert.ok(re('\\C').matches(b(0x0a)), '\\C matches a newline byte');
  assert.ok(!re('.').matches(b(0x0a)));
  // UTF-8 text is just bytes: "é" is two bytes, so one dot does not match it.
  assert.ok(!re('.').matches(Buffer.from('é', 'utf8')));
  assert.ok(re('..').matches(Buffer.from('é', 'utf8')));
  assert.ok(re(Buffer.from('é', 'utf8')).matches(Buffer.from('é', 'utf8')));
  // NUL bytes in pattern and subject.
  assert.ok(re(b(0x61, 0x00, 0x62)).matches(b(0x61, 0x00, 0x62)));
  assert.ok(re('a\\x00b').matches(b(0x61, 0x00, 0x62)));
});

test('\\C is rewritten only where it is an escape', () => {
  assert.ok(re('\\\\C').matches(Buffer.from('\\C')), 'an escaped backslash followed by C is literal');
  assert.ok(re('\\Q\\C\\E').matches(Buffer.from('\\C')), '\\Q…\\E quotes \\C');
  assert.ok(re('\\Qa)').matches(Buffer.from('a)')), 'an unterminated \\Q cannot swallow the anchor');
  assert.ok(re('[]a]\\C').matches(b(0x5d, 0xff)));
  assert.ok(re('[[:alpha:]]\\C').matches(b(0x61, 0xff)));
});

test('invalid patterns are INVALID_ARGUMENT, including JS-only syntax', () => {
  for (const p of [
    '(',
    'a)|(b',
    '\\1',
    '(?=a)',
    '(?<!a)b',
    '\\cA',
    '\\u0041',
    'a{2,1}',
    '[z-a]',
    'x**',
    '\\',
  ]) {
    assert.throws(
      () => re(p),
      (e) => hasCode(e, 'INVALID_ARGUMENT'),
      p,
    );
  }
});

test('random literal byte strings match themselves through \\x escapes, and .* / \\C* agree with newline rules', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const subject = Buffer.from(bytes);
      const escaped = [...subject].map((x) => `\\x${x.toString(16).padStart(2, '0')}`).join('');
      assert.ok(re(escaped).matches(subject));
      assert.ok(re('\\C*').matches(subject));
      assert.equal(re('.*').matches(subject), !subject.includes(0x0a));
      assert.equal(re(`${escaped}\\C`).matches(subject), false);
    }),
    { seed, numRuns: 300 },
  );
});

test('(a+)+$ on a 100 KiB value finishes in linear time (< 50 ms)', () => {
  const value = Buffer.alloc(100 * 1024, 0x61);
  value[value.length - 1] = 0x21; // a trailing "!" makes backtracking engines explode
  const evil = re('(a+)+$');
  evil.matches(value); // warm-up: first call pays for lazy DFA construction
  const started = performance.now();
  const matched = evil.matches(value);
  const elapsedMs = performance.now() - started;
  assert.equal(matched, false);
  assert.ok(elapsedMs < 50, `took ${elapsedMs.toFixed(1)} ms`);
  const cold = re('(x+x+)+y');
  const coldStarted = performance.now();
  assert.equal(cold.matches(Buffer.alloc(100 * 1024, 0x78)), false);
  assert.ok(performance.now() - coldStarted < 50, 'cold nested-quantifier match is linear too');
});
