/**
 * Block cache: LRU order, byte bound at all times (checked after every operation of a random
 * sequence against a simple model), per-file eviction and counters. Replay with TEST_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BlockCache } from '../../src/storage/block-cache.js';

const seed = process.env.TEST_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.TEST_SEED);

test('least recently used entries go first', () => {
  const cache = new BlockCache<string>({ capacityBytes: 30 });
  cache.insert(1, 0, 'a', 10);
  cache.insert(1, 10, 'b', 10);
  cache.insert(2, 0, 'c', 10);
  assert.equal(cache.get(1, 0), 'a');
  cache.insert(2, 10, 'd', 10);
  assert.equal(cache.get(1, 10), undefined, 'b was least recently used');
  assert.equal(cache.get(1, 0), 'a');
  assert.equal(cache.get(2, 0), 'c');
  assert.deepEqual(cache.stats(), { hits: 3, misses: 1, usedBytes: 30, capacityBytes: 30 });
});

test('oversized entries are not cached and evictFile drops only that file', () => {
  const cache = new BlockCache<string>({ capacityBytes: 100 });
  cache.insert(1, 0, 'huge', 101);
  assert.equal(cache.get(1, 0), undefined);
  cache.insert(1, 0, 'a', 10);
  cache.insert(1, 5, 'b', 10);
  cache.insert(2, 0, 'c', 10);
  cache.evictFile(1);
  assert.equal(cache.get(1, 0), undefined);
  assert.equal(cache.get(2, 0), 'c');
  assert.equal(cache.stats().usedBytes, 10);
});

test('random operations keep the cache bounded and consistent with an LRU model', () => {
  const op = fc.oneof(
    fc.record({ t: fc.constant('insert'), file: fc.nat(3), offset: fc.nat(5), charge: fc.nat(60) }),
    fc.record({ t: fc.constant('get'), file: fc.nat(3), offset: fc.nat(5) }),
    fc.record({ t: fc.constant('evict'), file: fc.nat(3) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const capacity = 100;
      const cache = new BlockCache<number>({ capacityBytes: capacity });
      // Model: array of [key, value, charge], most recent last.
      let model: [string, number, number][] = [];
      ops.forEach((o, i) => {
        if (o.t === 'insert') {
          const k = `${o.file}/${o.offset}`;
          model = model.filter(([mk]) => mk !== k);
          cache.insert(o.file, o.offset, i, o.charge);
          if (o.charge <= capacity) {
            while (model.reduce((s, [, , c]) => s + c, 0) + o.charge > capacity) model.shift();
            model.push([k, i, o.charge]);
          }
        } else if (o.t === 'get') {
          const k = `${o.file}/${o.offset}`;
          const idx = model.findIndex(([mk]) => mk === k);
          assert.equal(cache.get(o.file, o.offset), idx < 0 ? undefined : model[idx]?.[1]);
          if (idx >= 0) model.push(...model.splice(idx, 1));
        } else {
          cache.evictFile(o.file);
          model = model.filter(([mk]) => !mk.startsWith(`${o.file}/`));
        }
        const used = cache.stats().usedBytes;
        assert.ok(used <= capacity);
        assert.equal(
          used,
          model.reduce((s, [, , c]) => s + c, 0),
        );
      });
    }),
    { seed, numRuns: 300 },
  );
});
