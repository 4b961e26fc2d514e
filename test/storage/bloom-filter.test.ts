/**
 * Bloom filter: the hash matches MurmurHash3 x86_32 reference values, there are no false
 * negatives (property test), and the false-positive rate at 10 bits/key is within 25 % of theory.
 * Replay a failure with TEST_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BloomFilter, BloomFilterBuilder, bloomProbeCount, hash32 } from '../../src/storage/bloom-filter.js';

const seed = process.env.TEST_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.TEST_SEED);

test('hash32 matches MurmurHash3 x86_32 reference values', () => {
  assert.equal(hash32(Buffer.alloc(0), 0), 0);
  assert.equal(hash32(Buffer.alloc(0), 1), 0x514e28b7);
  assert.equal(hash32(Buffer.from('hello'), 0), 0x248bfa47);
  assert.equal(hash32(Buffer.from('The quick brown fox jumps over the lazy dog'), 0), 0x2e4ff723);
});

test('probe count is round(bitsPerKey × ln 2) clamped to [1, 30]', () => {
  assert.equal(bloomProbeCount(10), 7);
  assert.equal(bloomProbeCount(0.1), 1);
  assert.equal(bloomProbeCount(100), 30);
});

test('every added key is reported as possibly present', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.uint8Array({ maxLength: 24 }), {
        maxLength: 300,
        selector: (k) => Buffer.from(k).toString('hex'),
      }),
      fc.integer({ min: 1, max: 20 }),
      (keys, bitsPerKey) => {
        const builder = new BloomFilterBuilder(bitsPerKey);
        for (const k of keys) builder.addKey(k);
        const filter = BloomFilter.parse(builder.finish());
        assert.ok(filter !== undefined);
        for (const k of keys)
          assert.ok(filter.mayContain(k), `false negative for ${Buffer.from(k).toString('hex')}`);
      },
    ),
    { seed, numRuns: 200 },
  );
});

test('false-positive rate at 10 bits/key is within 25% of (1 - e^(-kn/m))^k', () => {
  const n = 100_000;
  const bitsPerKey = 10;
  const builder = new BloomFilterBuilder(bitsPerKey);
  const key = (prefix: string, i: number) => Buffer.from(`${prefix}${String(i).padStart(8, '0')}`);
  for (let i = 0; i < n; i++) builder.addKey(key('user', i));
  const data = builder.finish();
  const filter = BloomFilter.parse(data);
  assert.ok(filter !== undefined);
  let positives = 0;
  for (let i = 0; i < n; i++) if (filter.mayContain(key('absent', i))) positives++;
  const k = filter.probeCount;
  const m = (data.length - 1) * 8;
  const theory = (1 - Math.exp((-k * n) / m)) ** k;
  const measured = positives / n;
  assert.ok(Math.abs(measured - theory) <= 0.25 * theory, `measured ${measured} vs theory ${theory}`);
});

test('malformed filter blocks are rejected', () => {
  assert.equal(BloomFilter.parse(Buffer.alloc(1)), undefined);
  assert.equal(BloomFilter.parse(Buffer.from([0, 0, 0, 31])), undefined);
  assert.equal(BloomFilter.parse(Buffer.from([0, 0, 0, 0])), undefined);
});
