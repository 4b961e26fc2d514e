// RowFilter validation: every rejection is INVALID_ARGUMENT with a precise message and field path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TabulaError } from '../../src/common/errors.js';
import { ROW_FILTER_DEPTH_MAX } from '../../src/common/limits.js';
import type { RowFilter } from '../../src/model/proto-types.js';
import { compileRowFilter } from '../../src/model/row-filter.js';
import { F } from './row-filter-cases.js';

function rejects(filter: unknown, message: RegExp, field?: string): void {
  assert.throws(
    () => compileRowFilter(filter as RowFilter),
    (err: unknown) => {
      assert.ok(err instanceof TabulaError, String(err));
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.match(err.message, message);
      if (field !== undefined) assert.equal(err.details.field, field);
      return true;
    },
  );
}

function nest(depth: number): RowFilter {
  let f = F.pass();
  for (let d = 1; d < depth; d++) f = F.chain(f, F.pass());
  return f;
}

test('an empty or unknown filter member is rejected', () => {
  rejects({}, /row filter has no filter set/, 'filter');
  rejects({ filter: 'bogusFilter', bogusFilter: true }, /unknown row filter.*kind=`bogusFilter`/);
  rejects({ filter: 'toString' }, /unknown row filter/);
  rejects({ filter: 'chain' }, /row filter member is missing/, 'filter.chain');
  rejects(
    F.chain(F.pass(), null as unknown as RowFilter),
    /row filter is missing/,
    'filter.chain.filters[1]',
  );
});

test('nesting depth is limited', () => {
  assert.ok(compileRowFilter(nest(ROW_FILTER_DEPTH_MAX)));
  rejects(nest(ROW_FILTER_DEPTH_MAX + 1), /nested too deeply.*depthMax=`20`/);
  let cond: RowFilter = F.pass();
  for (let d = 0; d < ROW_FILTER_DEPTH_MAX; d++) cond = F.condition(cond, F.pass());
  rejects(cond, /nested too deeply/);
});

test('chains and interleaves need at least two filters', () => {
  rejects(F.chain(F.pass()), /chain must contain at least two filters/, 'filter.chain');
  rejects(F.interleave(), /interleave must contain at least two filters.*count=`0`/);
  rejects({ filter: 'chain', chain: {} }, /chain must contain at least two filters/);
});

test('conditions need a predicate and may not contain a sink anywhere', () => {
  rejects({ filter: 'condition', condition: { trueFilter: F.pass() } }, /condition needs a predicate/);
  rejects(
    F.condition(F.sink(), F.pass()),
    /sink cannot be used within a condition/,
    'filter.condition.predicate_filter',
  );
  rejects(
    F.condition(F.pass(), F.chain(F.pass(), F.sink())),
    /sink cannot be used within a condition/,
    'filter.condition.true_filter',
  );
  rejects(
    F.condition(F.pass(), undefined, F.interleave(F.pass(), F.sink())),
    /sink/,
    'filter.condition.false_filter',
  );
  rejects(
    F.chain(F.pass(), F.condition(F.pass(), F.condition(F.pass(), F.sink()))),
    /sink cannot be used within a condition/,
  );
  assert.ok(
    compileRowFilter(F.chain(F.sink(), F.condition(F.pass(), F.pass()))),
    'a sink beside a condition is fine',
  );
});

test('a chain has at most one sub-filter that applies labels', () => {
  rejects(
    F.chain(F.label('a'), F.label('b')),
    /chain may have at most one sub-filter that applies a label/,
    'filter.chain',
  );
  rejects(F.chain(F.label('a'), F.interleave(F.label('b'), F.pass())), /at most one sub-filter/);
  rejects(F.chain(F.label('a'), F.condition(F.pass(), F.label('b'))), /at most one sub-filter/);
  assert.ok(compileRowFilter(F.interleave(F.label('a'), F.label('b'))));
  assert.ok(compileRowFilter(F.chain(F.interleave(F.label('a'), F.label('b')), F.pass())));
  assert.ok(
    compileRowFilter(F.chain(F.condition(F.label('a'), F.pass()), F.label('b'))),
    'predicate labels never reach output',
  );
});

test('boolean members must be true', () => {
  for (const kind of ['sink', 'passAllFilter', 'blockAllFilter', 'stripValueTransformer'] as const) {
    rejects({ filter: kind, [kind]: false }, /boolean row filter must be true when set/, `filter.${kind}`);
  }
});

test('regex filters: non-empty, valid RE2, no colon in family regex', () => {
  rejects(
    { filter: 'rowKeyRegexFilter', rowKeyRegexFilter: Buffer.alloc(0) },
    /regular expression must not be empty/,
  );
  rejects({ filter: 'valueRegexFilter', valueRegexFilter: Buffer.alloc(0) }, /must not be empty/);
  rejects(F.family(''), /must not be empty/);
  rejects(F.family('cf:a'), /family name regex must not contain `:`/);
  rejects(
    F.chain(F.pass(), F.qualifier('(')),
    /invalid regular expression.*field=`filter.chain.filters\[1\].columnQualifierRegexFilter`.*reason=`missing \)/,
  );
  rejects(F.value('(?=look)ahead'), /invalid regular expression/);
  rejects(F.rowKey('a\\1'), /invalid regular expression/);
});

test('row sample probability lies strictly between 0 and 1', () => {
  for (const p of [0, 1, -0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
    rejects(F.sample(p), /strictly between 0 and 1/);
  rejects({ filter: 'rowSampleFilter' }, /member is missing/);
  assert.ok(compileRowFilter(F.sample(Number.MIN_VALUE)));
  assert.ok(compileRowFilter(F.sample(0.999999)));
});

test('cell offsets are non-negative integers and limits positive integers', () => {
  rejects(F.offset(-1), /cell count out of range.*value=`-1`/);
  rejects(F.rowLimit(-5), /cell count out of range/);
  rejects(F.columnLimit(1.5), /cell count out of range/);
  rejects(F.columnLimit(0), /cell count out of range.*min=`1`/);
  rejects(F.rowLimit(0), /cell count out of range.*min=`1`/);
  assert.ok(compileRowFilter(F.offset(0)));
  assert.ok(compileRowFilter(F.columnLimit(1)));
});

test('labels are 1 to 15 characters of [a-z0-9-]', () => {
  for (const label of ['', 'A', 'a_b', 'a b', 'é', 'x'.repeat(16)])
    rejects(F.label(label), /label must be 1 to 15 characters/);
  for (const label of ['a', 'abc-123', 'x'.repeat(15), '-'])
    assert.ok(compileRowFilter(F.label(label)), label);
});

test('inverted ranges and negative timestamps are rejected; empty ranges are not', () => {
  rejects(
    F.columns('cf', ['b', true], ['a', true]),
    /range start is after its end/,
    'filter.columnRangeFilter',
  );
  rejects(F.columns('', ['a', true]), /column range needs a family name/);
  rejects(F.values(['b', false], ['a', false]), /range start is after its end/);
  rejects(F.time(3000, 2000), /timestamp range start is after its end/);
  rejects(F.time(-1000), /timestamp must not be negative/);
  rejects(
    { filter: 'timestampRangeFilter', timestampRangeFilter: { startTimestampMicros: 'abc' } },
    /not a decimal integer/,
  );
  assert.ok(compileRowFilter(F.columns('cf', ['a', false], ['a', false])));
  assert.ok(compileRowFilter(F.time(3000, 0)), 'end 0 means infinity');
  assert.ok(compileRowFilter(F.time(0, '9223372036854775807' as unknown as number)));
});

test('value bitmask needs a mask', () => {
  rejects({ filter: 'valueBitmaskFilter', valueBitmaskFilter: {} }, /value bitmask needs a mask/);
});
