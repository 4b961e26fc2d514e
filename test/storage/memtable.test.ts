/**
 * Property tests of the arena skiplist memtable against a sorted-array model: random point entries
 * (user keys from a tiny alphabet, so keys repeat, and prefixes of one another — like a row key
 * and its `-a` sibling — are common) are inserted with unique sequence numbers in a RANDOM order,
 * as concurrent writers' batches may be applied; duplicates of one user key within one batch (a
 * put then a delete) get consecutive sequences. Then every read path is checked against the
 * model: full iteration in both directions, `find` (the newest entry visible at a snapshot), `seek`
 * and `seekForPrev` to arbitrary internal keys, and direction changes.
 * Replay a failure with TEST_SEED=<seed printed by fast-check>.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SeededRand } from '../../src/common/clock.js';
import {
  compareInternalKeys,
  EntryKind,
  encodeInternalKey,
  KIND_FOR_SEEK,
  sequenceOf,
  userKeyOf,
} from '../../src/storage/internal-key.js';
import { Memtable, memtableFilterBytes } from '../../src/storage/memtable.js';

const seed = process.env.TEST_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.TEST_SEED);
const fcOptions = { seed, numRuns: 200 };
/** User keys: short strings over a 2-letter alphabet plus '-', so many are prefixes of others. */
const userKeyArb = fc.string({ unit: fc.constantFrom('a', 'b', '-'), maxLength: 4 });
/** Sequences: small (dense collisions of order) or large (past the 24-bit low word of the trailer). */
const SEQUENCE_BASES = [1, 0xff_ffff - 8, 2 ** 40];

interface ModelEntry {
  key: Buffer;
  value: Buffer;
}

/** A batch: consecutive sequences, ops in order (a key may repeat). */
const batchArb = fc.array(
  fc.record({ user: userKeyArb, put: fc.boolean(), value: fc.string({ maxLength: 60 }) }),
  { minLength: 1, maxLength: 5 },
);

/** Builds batches with consecutive sequences, then applies them to a memtable in shuffled order. */
function build(
  batches: { user: string; put: boolean; value: string }[][],
  order: number[],
  base: number,
  heightSeed: number,
): { mem: Memtable; model: ModelEntry[]; maxSequence: number } {
  const stamped: { user: Buffer; sequence: number; kind: number; value: Buffer }[][] = [];
  let next = base;
  for (const b of batches) {
    stamped.push(
      b.map((op) => ({
        user: Buffer.from(op.user, 'latin1'),
        sequence: next++,
        kind: op.put ? EntryKind.Put : EntryKind.Delete,
        value: Buffer.from(op.put ? op.value : '', 'latin1'),
      })),
    );
  }
  const mem = new Memtable(new SeededRand(heightSeed), memtableFilterBytes(64 * 1024));
  const model: ModelEntry[] = [];
  for (const i of order) {
    for (const e of stamped[i] ?? []) {
      mem.add(e.user, e.sequence, e.kind, e.value);
      model.push({ key: encodeInternalKey(e.user, e.sequence, e.kind), value: e.value });
    }
  }
  model.sort((a, b) => compareInternalKeys(a.key, b.key));
  return { mem, model, maxSequence: next - 1 };
}

/** A permutation of 0..n-1 drawn from `rand`. */
function shuffled(n: number, rand: SeededRand): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rand.int(i + 1);
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}

const caseArb = fc.record({
  batches: fc.array(batchArb, { minLength: 1, maxLength: 40 }),
  shuffleSeed: fc.nat(),
  heightSeed: fc.nat(),
  base: fc.constantFrom(...SEQUENCE_BASES),
});

test('iteration yields every entry in engine order, forward and backward', () => {
  fc.assert(
    fc.property(caseArb, ({ batches, shuffleSeed, heightSeed, base }) => {
      const order = shuffled(batches.length, new SeededRand(shuffleSeed));
      const { mem, model } = build(batches, order, base, heightSeed);
      assert.equal(mem.entryCount, model.length);
      const it = mem.newIterator();
      const forward: Buffer[] = [];
      for (it.seekToFirst(); it.valid(); it.next()) forward.push(Buffer.from(it.key()));
      assert.deepEqual(
        forward,
        model.map((e) => e.key),
      );
      const backward: Buffer[] = [];
      for (it.seekToLast(); it.valid(); it.prev()) backward.push(Buffer.from(it.key()));
      assert.deepEqual(backward, model.map((e) => e.key).reverse());
    }),
    fcOptions,
  );
});

test('find returns the newest entry of a key at every snapshot, whatever the insertion order', () => {
  fc.assert(
    fc.property(caseArb, ({ batches, shuffleSeed, heightSeed, base }) => {
      const order = shuffled(batches.length, new SeededRand(shuffleSeed));
      const { mem, model, maxSequence } = build(batches, order, base, heightSeed);
      const users = new Set(model.map((e) => userKeyOf(e.key).toString('latin1')));
      users.add('ab-'); // a key that is absent (or present: the model decides)
      for (const user of users) {
        const userKey = Buffer.from(user, 'latin1');
        for (let snapshot = base - 1; snapshot <= maxSequence + 1; snapshot++) {
          // The model: entries of `user` are contiguous and newest first; take the first visible.
          const expected = model.find(
            (e) => userKeyOf(e.key).equals(userKey) && sequenceOf(e.key) <= snapshot,
          );
          const ref = mem.find(userKey, snapshot);
          if (!expected) {
            assert.equal(ref, 0, `find(${user}, ${snapshot}) found an entry that is not visible`);
            continue;
          }
          assert.notEqual(ref, 0, `find(${user}, ${snapshot}) missed ${sequenceOf(expected.key)}`);
          assert.deepEqual(mem.keyAt(ref), expected.key, `find(${user}, ${snapshot})`);
          assert.deepEqual(mem.valueAt(ref), expected.value);
          assert.equal(mem.sequenceAt(ref), sequenceOf(expected.key));
          assert.equal(mem.kindAt(ref), expected.key[expected.key.length - 8]);
        }
      }
    }),
    fcOptions,
  );
});

test('seek and seekForPrev land where the model says, and direction changes are exact', () => {
  const targetArb = fc.record({
    user: userKeyArb,
    offset: fc.integer({ min: -2, max: 60 }),
    kind: fc.constantFrom(EntryKind.Delete, EntryKind.Put, KIND_FOR_SEEK),
  });
  fc.assert(
    fc.property(
      caseArb,
      fc.array(targetArb, { minLength: 1, maxLength: 20 }),
      ({ batches, shuffleSeed, heightSeed, base }, targets) => {
        const order = shuffled(batches.length, new SeededRand(shuffleSeed));
        const { mem, model } = build(batches, order, base, heightSeed);
        const it = mem.newIterator();
        for (const t of targets) {
          const target = encodeInternalKey(
            Buffer.from(t.user, 'latin1'),
            Math.max(0, base + t.offset),
            t.kind,
          );
          const lower = model.findIndex((e) => compareInternalKeys(e.key, target) >= 0);
          it.seek(target);
          if (lower === -1) assert.equal(it.valid(), false, 'seek past the end');
          else {
            assert.deepEqual(it.key(), model[lower]?.key, 'seek');
            // Turn around: prev() must land on the entry before.
            it.prev();
            if (lower === 0) assert.equal(it.valid(), false, 'prev before the first');
            else assert.deepEqual(it.key(), model[lower - 1]?.key, 'prev after seek');
          }
          let upper = -1;
          for (let i = model.length - 1; i >= 0; i--) {
            if (compareInternalKeys((model[i] as ModelEntry).key, target) <= 0) {
              upper = i;
              break;
            }
          }
          it.seekForPrev(target);
          if (upper === -1) assert.equal(it.valid(), false, 'seekForPrev before the start');
          else {
            assert.deepEqual(it.key(), model[upper]?.key, 'seekForPrev');
            it.next();
            if (upper === model.length - 1) assert.equal(it.valid(), false, 'next after the last');
            else assert.deepEqual(it.key(), model[upper + 1]?.key, 'next after seekForPrev');
          }
        }
      },
    ),
    fcOptions,
  );
});

test('a batch that puts then deletes a key leaves the delete visible, and vice versa', () => {
  const mem = new Memtable(new SeededRand(7));
  const key = Buffer.from('w1-825-a');
  const sibling = Buffer.from('w1-825');
  // Batch 1 (sequences 10..12): put sibling, put key, delete key. Batch 2 (13..14): put key, put key.
  // Applied out of order, as two writers' batches may be.
  mem.add(key, 13, EntryKind.Put, Buffer.from('v13'));
  mem.add(key, 14, EntryKind.Put, Buffer.from('v14'));
  mem.add(sibling, 10, EntryKind.Put, Buffer.from('s10'));
  mem.add(key, 11, EntryKind.Put, Buffer.from('v11'));
  mem.add(key, 12, EntryKind.Delete, Buffer.alloc(0));
  const at = (snapshot: number) => {
    const ref = mem.find(key, snapshot);
    if (ref === 0) return 'absent';
    return mem.kindAt(ref) === EntryKind.Put ? mem.valueAt(ref).toString() : 'deleted';
  };
  assert.equal(at(10), 'absent');
  assert.equal(at(11), 'v11');
  assert.equal(at(12), 'deleted');
  assert.equal(at(13), 'v13');
  assert.equal(at(14), 'v14');
  assert.equal(at(100), 'v14');
  assert.equal(mem.find(sibling, 100) !== 0, true);
});

test('the key filter starts small and grows with the memtable, never losing a key', () => {
  const configured = memtableFilterBytes(64 * 1024 * 1024);
  const mem = new Memtable(new SeededRand(7), configured);
  // An empty memtable does not hold the filter a full one needs.
  assert.ok(mem.approximateBytes < configured / 16, `empty memtable charges ${mem.approximateBytes} bytes`);
  const key = (i: number) => Buffer.from(`row-${i * 7919}-key`);
  const value = Buffer.alloc(100, 0x61);
  const keys = 30_000;
  let last = mem.approximateBytes;
  for (let i = 0; i < keys; i++) {
    mem.add(key(i), i + 1, 1, value);
    assert.ok(mem.approximateBytes >= last, 'charged bytes never shrink');
    last = mem.approximateBytes;
    // Across every growth, each key added so far is still found.
    if (i % 997 === 0)
      for (let j = 0; j <= i; j += 101) assert.notEqual(mem.find(key(j), keys + 1), 0, `lost ${j}`);
  }
  for (let j = 0; j < keys; j++) assert.notEqual(mem.find(key(j), keys + 1), 0, `lost ${j}`);
  // Absent keys stay absent.
  let found = 0;
  for (let j = 0; j < 5_000; j++) if (mem.find(Buffer.from(`absent-${j}`), keys + 1) !== 0) found++;
  assert.equal(found, 0);
  // About 4.3 MB of entries: past MEMTABLE_FILTER_REHASH_KEYS_MAX keys the filter took its configured
  // size, and nothing more is charged for it.
  assert.ok(last >= configured && last < keys * 160 + configured, `charged ${last}`);
});
