// The Filter builder: every RowFilter member is reachable, compiles to the proto shape the server
// decodes, and invalid filters throw INVALID_ARGUMENT when built (before any request).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Filter } from '../../src/client/index.js';
import { exactPattern } from '../../src/client/row-filter-builder.js';
import { TabulaError } from '../../src/common/errors.js';
import { compileByteRegex } from '../../src/model/byte-regex.js';
import type { RowFilterKind } from '../../src/model/proto-types.js';

const b = (s: string) => Buffer.from(s, 'latin1');

test('every RowFilter kind has a factory producing its proto shape', () => {
  const cases: [Filter, RowFilterKind, unknown][] = [
    [
      Filter.chain(Filter.passAll(), Filter.blockAll()),
      'chain',
      {
        filters: [
          { filter: 'passAllFilter', passAllFilter: true },
          { filter: 'blockAllFilter', blockAllFilter: true },
        ],
      },
    ],
    [
      Filter.interleave(Filter.sink(), Filter.stripValue()),
      'interleave',
      {
        filters: [
          { filter: 'sink', sink: true },
          { filter: 'stripValueTransformer', stripValueTransformer: true },
        ],
      },
    ],
    [
      Filter.condition(Filter.passAll(), { onNoMatch: Filter.blockAll() }),
      'condition',
      {
        predicateFilter: { filter: 'passAllFilter', passAllFilter: true },
        falseFilter: { filter: 'blockAllFilter', blockAllFilter: true },
      },
    ],
    [Filter.sink(), 'sink', true],
    [Filter.passAll(), 'passAllFilter', true],
    [Filter.blockAll(), 'blockAllFilter', true],
    [Filter.rowKeyRegex('a.*'), 'rowKeyRegexFilter', b('a.*')],
    [Filter.rowSample(0.5), 'rowSampleFilter', 0.5],
    [Filter.familyRegex('f.*'), 'familyNameRegexFilter', 'f.*'],
    [Filter.qualifierRegex('q'), 'columnQualifierRegexFilter', b('q')],
    [
      Filter.columnRange({ family: 'f', start: 'a', end: 'c', endInclusive: true }),
      'columnRangeFilter',
      {
        familyName: 'f',
        startQualifier: 'startQualifierClosed',
        startQualifierClosed: b('a'),
        endQualifier: 'endQualifierClosed',
        endQualifierClosed: b('c'),
      },
    ],
    [
      Filter.timestampRange({ startMicros: 1000, endMicros: 3000 }),
      'timestampRangeFilter',
      { startTimestampMicros: '1000', endTimestampMicros: '3000' },
    ],
    [Filter.valueRegex('v'), 'valueRegexFilter', b('v')],
    [
      Filter.valueRange({ start: 'a', startInclusive: false }),
      'valueRangeFilter',
      { startValue: 'startValueOpen', startValueOpen: b('a') },
    ],
    [Filter.cellsPerRowOffset(2), 'cellsPerRowOffsetFilter', 2],
    [Filter.cellsPerRowLimit(3), 'cellsPerRowLimitFilter', 3],
    [Filter.cellsPerColumnLimit(1), 'cellsPerColumnLimitFilter', 1],
    [Filter.stripValue(), 'stripValueTransformer', true],
    [Filter.label('x-1'), 'applyLabelTransformer', 'x-1'],
    [Filter.valueBitmask(Buffer.from([0x0f])), 'valueBitmaskFilter', { mask: Buffer.from([0x0f]) }],
  ];
  const kinds = new Set<string>();
  for (const [filter, kind, member] of cases) {
    const proto = filter.toProto();
    assert.equal(proto.filter, kind);
    assert.deepEqual(proto[kind], member, kind);
    kinds.add(kind);
  }
  assert.equal(kinds.size, 20);
});

test('toProto returns a copy; andThen() chains', () => {
  const f = Filter.rowKeyRegex('k');
  const p = f.toProto();
  (p.rowKeyRegexFilter as Buffer)[0] = 0x7a;
  assert.deepEqual(f.toProto().rowKeyRegexFilter, b('k'));
  assert.equal(Filter.family('f').andThen(Filter.latest()).toProto().chain?.filters?.length, 2);
});

test('exact-match factories escape every byte that is not a word character', () => {
  for (const s of ['a.b', '(x)', '\\', 'ü', '\u0000\u00ff*', 'plain_01']) {
    const bytes = Buffer.from(s, 'utf8');
    const re = compileByteRegex(exactPattern(bytes), 'test');
    assert.ok(re.matches(bytes), s);
    assert.ok(!re.matches(Buffer.concat([bytes, b('x')])), s);
  }
  assert.equal(Filter.family('my.fam').toProto().familyNameRegexFilter, 'my\\x2efam');
});

test('invalid filters throw INVALID_ARGUMENT as they are built', () => {
  const invalid: (() => unknown)[] = [
    () => Filter.chain(Filter.passAll()),
    () => Filter.interleave(),
    () => Filter.rowKeyRegex(''),
    () => Filter.rowKeyRegex('('),
    () => Filter.rowSample(1),
    () => Filter.rowSample(0),
    () => Filter.familyRegex('a:b'),
    () => Filter.columnRange({ family: 'f', start: 'z', end: 'a' }),
    () => Filter.timestampRange({ startMicros: -1 }),
    () => Filter.valueRange({ start: 'b', end: 'a' }),
    () => Filter.cellsPerRowLimit(0),
    () => Filter.cellsPerColumnLimit(1.5),
    () => Filter.cellsPerRowOffset(-1),
    () => Filter.label('UPPER'),
    () => Filter.label('much-too-long-label'),
    () => Filter.valueBitmask(''),
    () => Filter.condition(Filter.passAll(), { onMatch: Filter.sink() }),
    () => Filter.chain(Filter.label('a'), Filter.label('b')),
    () => Filter.chain({} as Filter, Filter.passAll()),
    () => Filter.rowKeyRegex(42 as unknown as string),
  ];
  for (const make of invalid) {
    assert.throws(
      make,
      (e: unknown) => e instanceof TabulaError && e.code === 'INVALID_ARGUMENT',
      String(make),
    );
  }
  let deep = Filter.passAll();
  assert.throws(() => {
    for (let i = 0; i < 25; i++) deep = Filter.chain(deep, Filter.passAll());
  }, TabulaError);
});
