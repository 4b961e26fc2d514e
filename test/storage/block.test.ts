/**
 * Property tests of data blocks: random sorted internal-key entries are built into a block at
 * several restart intervals, then every iterator movement is checked against a sorted-array model.
 * Replay a failure with TEST_SEED=<seed printed by fast-check>.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hasCode } from '../../src/common/errors.js';
import { BlockBuilder } from '../../src/storage/block-builder.js';
import { Block, type BlockIterator } from '../../src/storage/block-reader.js';
import { compareInternalKeys, encodeInternalKey } from '../../src/storage/internal-key.js';

const seed = process.env.TEST_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.TEST_SEED);
const fcOptions = { seed, numRuns: 150 };
// Sequences stay below 2^44 so the model comparator (a float trailer) is exact.
const SEQUENCE_TEST_MAX = 2 ** 44;

interface Entry {
  key: Buffer;
  value: Buffer;
}

const entryArb = fc.record({
  user: fc.uint8Array({ maxLength: 5, max: 3 }),
  sequence: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: SEQUENCE_TEST_MAX })),
  kind: fc.constantFrom(0, 1),
  value: fc.uint8Array({ maxLength: 140 }),
});

function sortedEntries(
  raw: { user: Uint8Array; sequence: number; kind: number; value: Uint8Array }[],
): Entry[] {
  const entries = raw.map((r) => ({
    key: encodeInternalKey(r.user, r.sequence, r.kind),
    value: Buffer.from(r.value),
  }));
  entries.sort((a, b) => compareInternalKeys(a.key, b.key));
  return entries.filter((e, i) => i === 0 || compareInternalKeys((entries[i - 1] as Entry).key, e.key) !== 0);
}

function build(entries: Entry[], restartInterval: number): Block {
  const builder = new BlockBuilder(restartInterval);
  for (const e of entries) builder.add(e.key, e.value);
  const estimatedBytes = builder.estimatedBytes();
  const contents = Buffer.from(builder.finish());
  assert.equal(contents.length, estimatedBytes);
  return new Block(contents, '/test/block', 0, true);
}

function at(it: BlockIterator): Entry | undefined {
  return it.valid() ? { key: it.key(), value: it.value() } : undefined;
}

function lowerBound(model: Entry[], target: Buffer): number {
  let i = 0;
  while (i < model.length && compareInternalKeys((model[i] as Entry).key, target) < 0) i++;
  return i;
}

test('block iterates forward and backward like the sorted model', () => {
  fc.assert(
    fc.property(fc.array(entryArb, { maxLength: 120 }), fc.constantFrom(1, 2, 3, 16), (raw, interval) => {
      const model = sortedEntries(raw);
      const it = build(model, interval).newIterator();
      const forward: Entry[] = [];
      for (it.seekToFirst(); it.valid(); it.next()) forward.push({ key: it.key(), value: it.value() });
      assert.deepEqual(forward, model);
      const backward: Entry[] = [];
      for (it.seekToLast(); it.valid(); it.prev()) backward.push({ key: it.key(), value: it.value() });
      assert.deepEqual(backward, [...model].reverse());
    }),
    fcOptions,
  );
});

test('block seek and seekForPrev land where the model says, then move both ways', () => {
  fc.assert(
    fc.property(
      fc.array(entryArb, { maxLength: 80 }),
      fc.array(entryArb, { minLength: 1, maxLength: 20 }),
      fc.constantFrom(1, 2, 3, 16),
      fc.array(fc.boolean(), { maxLength: 6 }),
      (raw, rawTargets, interval, moves) => {
        const model = sortedEntries(raw);
        const it = build(model, interval).newIterator();
        const targets = [...model.map((e) => e.key), ...sortedEntries(rawTargets).map((e) => e.key)];
        for (const target of targets) {
          const lb = lowerBound(model, target);
          it.seek(target);
          assert.deepEqual(at(it), model[lb]);
          const exact = lb < model.length && compareInternalKeys((model[lb] as Entry).key, target) === 0;
          let position = exact ? lb : lb - 1;
          it.seekForPrev(target);
          assert.deepEqual(at(it), model[position]);
          for (const forward of moves) {
            if (!it.valid()) break;
            position += forward ? 1 : -1;
            if (forward) it.next();
            else it.prev();
            assert.deepEqual(at(it), model[position]);
          }
        }
      },
    ),
    fcOptions,
  );
});

test('an empty block is valid and yields nothing', () => {
  const it = build([], 16).newIterator();
  it.seekToFirst();
  assert.equal(it.valid(), false);
  it.seekToLast();
  assert.equal(it.valid(), false);
  it.seek(encodeInternalKey(Buffer.from('a'), 1, 1));
  assert.equal(it.valid(), false);
});

test('damaged restart arrays and entries throw DATA_LOSS, never out-of-block bytes', () => {
  fc.assert(
    fc.property(
      fc.array(entryArb, { minLength: 1, maxLength: 60 }),
      fc.nat(),
      fc.nat(255),
      (raw, where, byte) => {
        const model = sortedEntries(raw);
        const contents = Buffer.from(build(model, 4).data);
        contents[where % contents.length] = byte;
        try {
          const it = new Block(contents, '/test/block', 7, true).newIterator();
          for (it.seekToFirst(); it.valid(); it.next()) it.key();
          for (it.seekToLast(); it.valid(); it.prev()) it.value();
          for (const e of model) it.seek(e.key);
        } catch (err) {
          assert.ok(hasCode(err, 'DATA_LOSS'), String(err));
          assert.match(String(err), /path=`\/test\/block`/);
        }
      },
    ),
    fcOptions,
  );
});
