// Cell-key encoding: byte order of encodings equals Bigtable order, decode inverts encode, and the
// range helpers cover exactly the keys they claim.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareBytes } from '../../src/common/bytes.js';
import { hasCode } from '../../src/common/errors.js';
import type { CellKey, KeyRange } from '../../src/model/cell-key.js';
import {
  columnKeyRange,
  columnTimeKeyRange,
  decodeCellKey,
  encodeCellKey,
  familyKeyRange,
  keyRangeIsEmpty,
  rowKeyRange,
  rowRangeToKeyRange,
  rowStartKey,
  singleRowStart,
} from '../../src/model/cell-key.js';
import { compareFamilies } from '../../src/model/row-cells.js';
import { isWholePrefix, prefixLength, rangeWithinPrefix } from '../../src/storage/filter-prefix.js';
import { ROW_FILTER_PREFIX } from '../../src/tablet/row-reader.js';
import { testSeed } from './test-seed.js';

const seed = testSeed('cell-key.test');
const runs = { seed, numRuns: 2000 };

// Small alphabets make shared prefixes, zero bytes and equal parts common.
const bytesArb = fc
  .uint8Array({ maxLength: 5 })
  .map((a) => Buffer.from(a.map((b) => [0, 1, 2, 0xff, 0x61][b % 5] as number)));
const familyArb = fc.constantFrom(
  'a',
  'ab',
  'b',
  '_',
  '__proto__',
  'cf1',
  'cf.2',
  'Z',
  'é',
  '\u{10000}',
  '\uffff',
);
const tsArb = fc.oneof(
  fc.constantFrom(0, 1, 999, 1000, 2 ** 32, 2 ** 32 - 1, 9007199254740000),
  fc.integer({ min: 0, max: 2 ** 40 }),
);
const cellKeyArb = fc.record({
  rowKey: bytesArb,
  family: familyArb,
  qualifier: bytesArb,
  timestampMicros: tsArb,
});

function bigtableOrder(a: CellKey, b: CellKey): number {
  return (
    compareBytes(a.rowKey, b.rowKey) ||
    compareFamilies(a.family, b.family) ||
    compareBytes(a.qualifier, b.qualifier) ||
    b.timestampMicros - a.timestampMicros
  );
}

const enc = (k: CellKey) => encodeCellKey(k.rowKey, k.family, k.qualifier, k.timestampMicros);
const inRange = (r: KeyRange, key: Buffer) =>
  compareBytes(key, r.start) >= 0 && (r.end === undefined || compareBytes(key, r.end) < 0);

test('family order is the order of UTF-8 bytes', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
      assert.equal(Math.sign(compareFamilies(a, b)), Math.sign(compareBytes(Buffer.from(a), Buffer.from(b))));
    }),
    runs,
  );
});

test('byte order of encoded keys equals Bigtable order', () => {
  fc.assert(
    fc.property(cellKeyArb, cellKeyArb, (a, b) => {
      assert.equal(Math.sign(compareBytes(enc(a), enc(b))), Math.sign(bigtableOrder(a, b)));
    }),
    runs,
  );
});

test('decode inverts encode', () => {
  fc.assert(
    fc.property(cellKeyArb, (k) => {
      assert.deepEqual(decodeCellKey(enc(k)), { ...k });
    }),
    runs,
  );
});

test('row, family and column ranges contain exactly their keys', () => {
  fc.assert(
    fc.property(cellKeyArb, cellKeyArb, (probe, other) => {
      const key = enc(probe);
      const sameRow = probe.rowKey.equals(other.rowKey);
      const sameFamily = sameRow && probe.family === other.family;
      const sameColumn = sameFamily && probe.qualifier.equals(other.qualifier);
      assert.equal(inRange(rowKeyRange(other.rowKey), key), sameRow);
      assert.equal(inRange(familyKeyRange(other.rowKey, other.family), key), sameFamily);
      assert.equal(inRange(columnKeyRange(other.rowKey, other.family, other.qualifier), key), sameColumn);
    }),
    runs,
  );
});

test('a cell key’s filter prefix is its row part, and only one-row ranges name it', () => {
  fc.assert(
    fc.property(cellKeyArb, cellKeyArb, fc.boolean(), (probe, other, closedEnd) => {
      const key = enc(probe);
      // Tablet SSTables filter on this prefix: the row start key of the cell's row.
      assert.equal(prefixLength(ROW_FILTER_PREFIX, key), rowStartKey(probe.rowKey).length);
      const rowRange = rowKeyRange(other.rowKey);
      const start = singleRowStart(rowRange) ?? Buffer.alloc(0);
      assert.ok(start.equals(rowStartKey(other.rowKey)));
      assert.ok(isWholePrefix(ROW_FILTER_PREFIX, start));
      assert.ok(rangeWithinPrefix(start, rowRange.start, rowRange.end));
      // Wider or narrower ranges are not one row.
      assert.equal(singleRowStart(familyKeyRange(other.rowKey, other.family)), undefined);
      assert.equal(singleRowStart({ start: rowRange.start, end: undefined }), undefined);
      // A user row range [a, b] or [a, b) that happens to be one row is recognized as one.
      const range = rowRangeToKeyRange(
        closedEnd
          ? {
              startKey: 'startKeyClosed',
              startKeyClosed: other.rowKey,
              endKey: 'endKeyClosed',
              endKeyClosed: probe.rowKey,
            }
          : {
              startKey: 'startKeyClosed',
              startKeyClosed: other.rowKey,
              endKey: 'endKeyOpen',
              endKeyOpen: probe.rowKey,
            },
      );
      const one = singleRowStart(range);
      const isOneRow = closedEnd && other.rowKey.equals(probe.rowKey) && probe.rowKey.length > 0;
      assert.equal(one !== undefined, isOneRow);
    }),
    runs,
  );
});

test('column time ranges contain exactly the timestamps in [start, end)', () => {
  const boundArb = fc.constantFrom(0, 1, 999, 1000, 1001, 2000, 2 ** 32);
  fc.assert(
    fc.property(cellKeyArb, boundArb, fc.option(boundArb, { nil: undefined }), (k, start, end) => {
      const r = columnTimeKeyRange(k.rowKey, k.family, k.qualifier, start, end);
      for (const ts of [0, 1, 999, 1000, 1001, 1999, 2000, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1]) {
        const expected = ts >= start && (end === undefined || ts < end);
        assert.equal(inRange(r, encodeCellKey(k.rowKey, k.family, k.qualifier, ts)), expected, `ts=${ts}`);
      }
      // Nothing of another column leaks in.
      const otherQualifier = Buffer.concat([k.qualifier, Buffer.from([0])]);
      assert.equal(inRange(r, encodeCellKey(k.rowKey, k.family, otherQualifier, start)), false);
    }),
    runs,
  );
});

test('row ranges: open and closed bounds, unset and empty bounds', () => {
  const keys = ['a', 'a\u0000', 'ab', 'b', 'b\u0000', 'c'].map((s) => Buffer.from(s, 'latin1'));
  const pick = (r: KeyRange) =>
    keys.filter((row) => inRange(r, encodeCellKey(row, 'cf', Buffer.alloc(0), 5000))).map(String);
  const a = Buffer.from('a');
  const b = Buffer.from('b');
  assert.deepEqual(
    pick(
      rowRangeToKeyRange({
        startKey: 'startKeyClosed',
        startKeyClosed: a,
        endKey: 'endKeyOpen',
        endKeyOpen: b,
      }),
    ),
    ['a', 'a\u0000', 'ab'],
  );
  assert.deepEqual(
    pick(
      rowRangeToKeyRange({
        startKey: 'startKeyOpen',
        startKeyOpen: a,
        endKey: 'endKeyClosed',
        endKeyClosed: b,
      }),
    ),
    ['a\u0000', 'ab', 'b'],
  );
  assert.deepEqual(pick(rowRangeToKeyRange({})), keys.map(String));
  assert.deepEqual(
    pick(rowRangeToKeyRange({ endKey: 'endKeyOpen', endKeyOpen: Buffer.alloc(0) })),
    keys.map(String),
  );
  assert.ok(
    keyRangeIsEmpty(
      rowRangeToKeyRange({ startKey: 'startKeyOpen', startKeyOpen: a, endKey: 'endKeyOpen', endKeyOpen: a }),
    ),
  );
  assert.ok(!keyRangeIsEmpty(rowKeyRange(a)));
});

test('a malformed key is DATA_LOSS', () => {
  const good = encodeCellKey(Buffer.from('r'), 'cf', Buffer.from('q'), 1000);
  for (const bad of [
    good.subarray(0, good.length - 1),
    Buffer.from([0x61, 0x00, 0x07]),
    Buffer.from('abc'),
  ]) {
    assert.throws(
      () => decodeCellKey(bad),
      (e) => hasCode(e, 'DATA_LOSS'),
    );
  }
});
