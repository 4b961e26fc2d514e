// RowFilter evaluation, table-driven over a sample row, plus the examples from data.proto and
// properties that hold for random filter trees.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SeededRand } from '../../src/common/clock.js';
import { TabulaError } from '../../src/common/errors.js';
import type { RowFilter } from '../../src/model/proto-types.js';
import type { RowCells } from '../../src/model/row-cells.js';
import { compareCells } from '../../src/model/row-cells.js';
import { compileRowFilter } from '../../src/model/row-filter.js';
import { cell, F, render, SAMPLE } from './row-filter-cases.js';
import { testSeed } from './test-seed.js';

const seed = testSeed('row-filter.test');

const [A, B, C, D, E, G] = render(SAMPLE).split(/ (?=cf)/) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const ALL = [A, B, C, D, E, G].join(' ');
const run = (filter: RowFilter | undefined, row: RowCells = SAMPLE) =>
  render(compileRowFilter(filter).apply(row));
const withLabel = (c: string, l: string) => `${c}[${l}]`;
const stripped = (c: string) => c.replace(/=.*$/, '=');

const CASES: [string, RowFilter | undefined, string][] = [
  ['no filter', undefined, ALL],
  ['pass_all', F.pass(), ALL],
  ['block_all', F.block(), '-'],
  ['row key full match', F.rowKey('row1'), ALL],
  ['row key prefix is not a match', F.rowKey('row'), '-'],
  ['row key \\C wildcard', F.rowKey('\\C+'), ALL],
  ['family exact', F.family('cf1'), [A, B, C, D].join(' ')],
  ['family regex must match whole name', F.family('cf'), '-'],
  ['family regex class', F.family('.*2'), [E, G].join(' ')],
  ['qualifier regex', F.qualifier('a'), [A, B, C, E].join(' ')],
  ['qualifier class', F.qualifier('[bc]'), [D, G].join(' ')],
  ['column range [a, b)', F.columns('cf1', ['a', true], ['b', false]), [A, B, C].join(' ')],
  ['column range (a, b]', F.columns('cf1', ['a', false], ['b', true]), D],
  ['column range whole family', F.columns('cf1'), [A, B, C, D].join(' ')],
  ['column range other family, open end', F.columns('cf2', ['b', true]), G],
  ['column range empty [b, b)', F.columns('cf1', ['b', true], ['b', false]), '-'],
  ['timestamp range [1000, 3000)', F.time(1000, 3000), [B, C, D, G].join(' ')],
  ['timestamp range [2000, ∞)', F.time(2000), [A, B, D, E].join(' ')],
  ['timestamp range [0, 2000)', F.time(undefined, 2000), [C, G].join(' ')],
  ['timestamp range empty', F.time(3000, 3000), '-'],
  ['value regex', F.value('v.'), [A, B, C].join(' ')],
  ['value regex \\C* matches empty values too', F.value('\\C*'), ALL],
  ['value range [v1, v3)', F.values(['v1', true], ['v3', false]), [B, C].join(' ')],
  ['value range (v1, ∞)', F.values(['v1', false]), [A, B, D].join(' ')],
  ['value range [empty, l]', F.values(undefined, ['l', true]), G],
  ['row offset 2', F.offset(2), [C, D, E, G].join(' ')],
  ['row offset across families', F.offset(4), [E, G].join(' ')],
  ['row offset past the end', F.offset(10), '-'],
  ['row offset 0', F.offset(0), ALL],
  ['row limit 2', F.rowLimit(2), [A, B].join(' ')],
  ['column limit 1', F.columnLimit(1), [A, D, E, G].join(' ')],
  ['column limit 2', F.columnLimit(2), [A, B, D, E, G].join(' ')],
  ['strip value', F.strip(), [A, B, C, D, E, G].map(stripped).join(' ')],
  ['label', F.label('foo'), [A, B, C, D, E, G].map((c) => withLabel(c, 'foo')).join(' ')],
  ['bitmask, one byte', F.bitmask([0x70]), D],
  ['bitmask, two bytes', F.bitmask([0x76, 0x30]), [A, B, C].join(' ')],
  ['chain: column limit then value regex', F.chain(F.columnLimit(1), F.value('v[12]')), '-'],
  ['chain: value regex then column limit', F.chain(F.value('v[12]'), F.columnLimit(1)), B],
  [
    'chain: family, column limit, strip',
    F.chain(F.family('cf1'), F.columnLimit(1), F.strip()),
    [A, D].map(stripped).join(' '),
  ],
  [
    'interleave with labels keeps one copy per branch',
    F.interleave(F.label('a'), F.label('b')),
    [A, B, C, D, E, G].flatMap((c) => [withLabel(c, 'a'), withLabel(c, 'b')]).join(' '),
  ],
  [
    'interleave duplicates count for row limit',
    F.chain(F.interleave(F.pass(), F.pass()), F.rowLimit(3)),
    [A, A, B].join(' '),
  ],
  [
    'interleave duplicates count for column limit',
    F.chain(F.interleave(F.pass(), F.pass()), F.columnLimit(3)),
    [A, A, B, D, D, E, E, G, G].join(' '),
  ],
  [
    'interleave pools and sorts',
    F.interleave(F.family('cf2'), F.qualifier('a')),
    [A, B, C, E, E, G].join(' '),
  ],
  [
    'interleave of a label and its absence',
    F.interleave(F.pass(), F.chain(F.family('cf2'), F.label('x'))),
    [A, B, C, D, E, withLabel(E, 'x'), G, withLabel(G, 'x')].join(' '),
  ],
  [
    'condition true',
    F.condition(F.value('v3'), F.strip(), F.block()),
    [A, B, C, D, E, G].map(stripped).join(' '),
  ],
  ['condition false', F.condition(F.value('nope'), F.strip(), F.family('cf2')), [E, G].join(' ')],
  ['condition without true filter', F.condition(F.value('v3')), '-'],
  ['condition without false filter', F.condition(F.value('nope'), F.strip()), '-'],
  [
    'condition predicate is a narrowing chain',
    F.condition(F.chain(F.qualifier('a'), F.qualifier('b')), F.pass(), F.block()),
    '-',
  ],
  ['sink alone outputs everything', F.sink(), ALL],
  ['sink before block still outputs', F.chain(F.sink(), F.block()), ALL],
  ['sink then more filters', F.chain(F.family('cf2'), F.sink(), F.strip()), [E, G].join(' ')],
  [
    'sink in interleave',
    F.interleave(F.sink(), F.label('x')),
    [A, B, C, D, E, G].flatMap((c) => [withLabel(c, 'x'), c]).join(' '),
  ],
  [
    'condition next to a sink',
    F.chain(
      F.interleave(F.chain(F.family('cf2'), F.sink()), F.pass()),
      F.condition(F.value('x'), F.columnLimit(1)),
    ),
    [A, D, E, E, G, G].join(' '),
  ],
  [
    'label in chain with unlabelled interleave',
    F.chain(F.label('a'), F.interleave(F.pass(), F.family('cf2'))),
    [A, B, C, D, E, E, G, G].map((c) => withLabel(c, 'a')).join(' '),
  ],
];

for (const [name, filter, expected] of CASES) {
  test(`filter: ${name}`, () => {
    assert.equal(run(filter), expected);
  });
}

test('the sink example from data.proto', () => {
  const row: RowCells = {
    key: Buffer.from('r'),
    cells: [cell('A', 'A', 1, 'w'), cell('A', 'B', 2, 'x'), cell('B', 'B', 4, 'z')],
  };
  const filter = F.chain(
    F.family('A'),
    F.interleave(F.pass(), F.chain(F.label('foo'), F.sink())),
    F.qualifier('B'),
  );
  const out = run(filter, row).split(' ').sort();
  assert.deepEqual(out, ['A:A@1=w[foo]', 'A:B@2=x', 'A:B@2=x[foo]']);
});

test('family names like __proto__ are ordinary data', () => {
  const row: RowCells = {
    key: Buffer.from('r'),
    cells: [cell('__proto__', 'q', 1000, 'v'), cell('constructor', 'q', 1000, 'w')],
  };
  assert.equal(run(F.family('__proto__'), row), '__proto__:q@1000=v');
  assert.equal(run(F.columns('constructor'), row), 'constructor:q@1000=w');
});

test('row sample draws from the injected rand, once per row', () => {
  const rows = 2000;
  const count = (s: number) => {
    const compiled = compileRowFilter(F.sample(0.25), { rand: new SeededRand(s) });
    let kept = 0;
    for (let i = 0; i < rows; i++) if (compiled.apply(SAMPLE) !== undefined) kept++;
    return kept;
  };
  const kept = count(seed);
  assert.equal(count(seed), kept, 'same seed, same sample');
  assert.ok(Math.abs(kept - rows * 0.25) < rows * 0.05, `kept ${kept} of ${rows}`);
  const all = compileRowFilter(F.sample(0.25), { rand: new SeededRand(seed) }).apply(SAMPLE);
  assert.ok(
    all === undefined || all.cells.length === SAMPLE.cells.length,
    'a sampled row keeps all its cells',
  );
});

test('regex filters work on invalid UTF-8 keys, qualifiers and values', () => {
  const raw = (bytes: number[]) => Buffer.from(bytes);
  const row: RowCells = {
    key: raw([0xff, 0x00, 0x0a]),
    cells: [
      { family: 'f', qualifier: raw([0xc3, 0x28]), timestampMicros: 0, value: raw([0x80, 0xfe]), labels: [] },
    ],
  };
  const regex = (
    kind: 'rowKeyRegexFilter' | 'columnQualifierRegexFilter' | 'valueRegexFilter',
    p: number[],
  ): RowFilter => ({
    filter: kind,
    [kind]: raw(p),
  });
  assert.notEqual(
    compileRowFilter(regex('rowKeyRegexFilter', [0xff, 0x5c, 0x43, 0x5c, 0x43])).apply(row),
    undefined,
  ); // \xff\C\C
  assert.equal(
    compileRowFilter(regex('rowKeyRegexFilter', [0xff, 0x2e, 0x2e])).apply(row),
    undefined,
    'dot does not match \\n',
  );
  assert.notEqual(
    compileRowFilter(regex('columnQualifierRegexFilter', [0xc3, 0x5c, 0x28])).apply(row),
    undefined,
  );
  assert.notEqual(
    compileRowFilter(regex('valueRegexFilter', [0x5b, 0x80, 0x2d, 0xff, 0x5d, 0x2b])).apply(row),
    undefined,
  ); // [\x80-\xff]+
  assert.equal(
    compileRowFilter(regex('valueRegexFilter', [0x2e])).apply(row),
    undefined,
    'one dot is one byte',
  );
});

// ---- Properties over random filter trees ---------------------------------------------------------

const leafArb: fc.Arbitrary<RowFilter> = fc.oneof(
  fc.constant(F.pass()),
  fc.constant(F.block()),
  fc.constant(F.strip()),
  fc.constantFrom('a', 'b', 'x-1').map(F.label),
  fc.constantFrom('cf1', 'cf2', 'cf.', '.*').map(F.family),
  fc.constantFrom('a', '[ab]', '\\C*').map(F.qualifier),
  fc.constantFrom('v.', '\\C*', 'x').map(F.value),
  fc.integer({ min: 0, max: 7 }).map(F.offset),
  fc.integer({ min: 1, max: 7 }).map(F.rowLimit),
  fc.integer({ min: 1, max: 3 }).map(F.columnLimit),
  fc
    .constantFrom<[number | undefined, number | undefined]>(
      [1000, 3000],
      [2000, undefined],
      [undefined, 1001],
    )
    .map(([s, e]) => F.time(s, e)),
  fc.constant(F.sample(0.5)),
);
const labelFree = (f: RowFilter): boolean => JSON.stringify(f).includes('applyLabelTransformer') === false;
const treeArb = fc.letrec<{ tree: RowFilter }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.array(tie('tree'), { minLength: 2, maxLength: 3 }).map((fs) => {
      // Keep chains valid: at most one sub-filter may carry labels.
      let seen = false;
      const kept = fs.map((f) => {
        if (labelFree(f)) return f;
        if (seen) return F.pass();
        seen = true;
        return f;
      });
      return F.chain(...kept);
    }),
    fc.array(tie('tree'), { minLength: 2, maxLength: 3 }).map((fs) => F.interleave(...fs)),
    fc.tuple(tie('tree'), tie('tree'), tie('tree')).map(([p, t, f]) => F.condition(p, t, f)),
  ),
})).tree;

function sorted(row: RowCells | undefined): boolean {
  if (row === undefined) return true;
  return row.cells.every((c, i) => i === 0 || compareCells(row.cells[i - 1]!, c) <= 0);
}

test('random filter trees: output is in Bigtable order, and chain/interleave identities hold', () => {
  fc.assert(
    fc.property(
      treeArb, // never produces a sink, so conditions stay valid
      fc.integer(),
      (filter, randSeed) => {
        const apply = (f: RowFilter) =>
          render(compileRowFilter(f, { rand: new SeededRand(randSeed) }).apply(SAMPLE));
        const out = compileRowFilter(filter, { rand: new SeededRand(randSeed) }).apply(SAMPLE);
        assert.ok(sorted(out));
        const text = render(out);
        assert.equal(apply(F.chain(filter, F.pass())), text);
        assert.equal(apply(F.interleave(filter, F.block())), text);
        assert.equal(
          apply(F.chain(F.sink(), F.block(), filter)),
          ALL,
          'a leading sink outputs the input row',
        );
        const cond = apply(F.condition(filter, F.pass(), F.block()));
        assert.equal(cond, text === '-' ? '-' : ALL);
      },
    ),
    { seed, numRuns: 400 },
  );
});

test('random junk never crashes the compiler: it compiles or throws a TabulaError', () => {
  const junk = fc.letrec<{ f: unknown }>((tie) => ({
    f: fc.oneof(
      { depthSize: 'small' },
      fc.anything(),
      fc.record({
        filter: fc.constantFrom('chain', 'interleave'),
        chain: fc.record({ filters: fc.array(tie('f'), { maxLength: 3 }) }),
        interleave: fc.record({ filters: fc.array(tie('f'), { maxLength: 3 }) }),
      }),
      fc.record({
        filter: fc.constantFrom('condition'),
        condition: fc.record({ predicateFilter: tie('f'), trueFilter: tie('f') }),
      }),
      fc.record({
        filter: fc.constantFrom('rowKeyRegexFilter', 'valueRegexFilter'),
        rowKeyRegexFilter: fc.uint8Array().map(Buffer.from),
        valueRegexFilter: fc.uint8Array().map(Buffer.from),
      }),
      fc.record({
        filter: fc.constantFrom('cellsPerRowLimitFilter', 'rowSampleFilter'),
        cellsPerRowLimitFilter: fc.double(),
        rowSampleFilter: fc.double(),
      }),
      leafArb,
    ),
  })).f;
  fc.assert(
    fc.property(junk, (f) => {
      try {
        const compiled = compileRowFilter(f as RowFilter, { rand: new SeededRand(seed) });
        assert.ok(sorted(compiled.apply(SAMPLE)));
      } catch (err) {
        assert.ok(err instanceof TabulaError, `unexpected ${String(err)}`);
        assert.equal(err.code, 'INVALID_ARGUMENT');
      }
    }),
    { seed, numRuns: 1000 },
  );
});
