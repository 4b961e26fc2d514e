import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { prefixSuccessor } from '../../src/common/bytes.js';
import { crc32c, maskCrc, unmaskCrc } from '../../src/common/crc32c.js';
import { getVarint, putVarint, varintLength } from '../../src/common/varint.js';

test('varint round-trips every safe integer', () => {
  fc.assert(
    fc.property(fc.maxSafeNat(), (n) => {
      const buf = Buffer.alloc(10);
      const end = putVarint(buf, 0, n);
      assert.equal(end, varintLength(n));
      assert.deepEqual(getVarint(buf, 0), { value: n, offset: end });
      assert.equal(getVarint(buf, 0, end - 1), undefined, 'truncated varint must not decode');
    }),
  );
});

test('crc32c matches the published check value and masking inverts', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (c) => unmaskCrc(maskCrc(c)) === c));
});

test('prefixSuccessor bounds exactly the strings with the prefix', () => {
  assert.deepEqual(prefixSuccessor(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
  assert.equal(prefixSuccessor(Buffer.from([0xff, 0xff])), undefined);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 6 }), fc.uint8Array({ maxLength: 6 }), (p, rest) => {
      const succ = prefixSuccessor(p);
      const withPrefix = Buffer.concat([p, rest]);
      if (succ) assert.ok(Buffer.compare(withPrefix, succ) < 0);
    }),
  );
});
