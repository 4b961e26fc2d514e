/**
 * Intended-difference rules on recorded cases, without servers: a rule must explain exactly the
 * emulator behaviour it names, and nothing that would hide a Tabula bug.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareOutcomes } from './comparison.js';
import type { CellView, OutcomeView } from './outcome-view.js';
import type { Operation } from './workload.js';

const GC_READ: Operation = {
  rpc: 'ReadRows',
  tag: 'gc-checkpoint',
  request: { tableName: 'projects/differential/instances/suite/tables/gc-211895577' },
};
const cell = (family: string, qualifier: string, timestamp: string, value: string): CellView => ({
  family,
  qualifier,
  timestamp,
  value,
  labels: [],
});
const rows = (...cells: CellView[]): OutcomeView => ({ code: 'OK', rows: [{ key: 'k01', cells }] });

// A gc-checkpoint read seen in a CI run: the emulator repeated a run of two versions (A B A B).
const A = cell('ga', 'q\\x00', '4102444800001000', '\\xff\\x80');
const B = cell('ga', 'q\\x00', '4102444800000000', 'abc');
const head = cell('ga', 'q', '4102444800000000', '\\x07');
const tail = [cell('gv', 'r', '3000', '\\xff'), cell('gv', 'r', '1000', '\\x00')];

test('a run of versions the emulator repeats in one column is explained', () => {
  const verdict = compareOutcomes(GC_READ, rows(head, A, B, A, B, ...tail), rows(head, A, B, ...tail), false);
  assert.equal(verdict.kind, 'explained');
  assert.ok(verdict.kind === 'explained' && verdict.rules.includes('emulator-gc-repeats-versions'));
  // One version repeated, too.
  assert.equal(
    compareOutcomes(GC_READ, rows(head, A, A, B, ...tail), rows(head, A, B, ...tail), false).kind,
    'explained',
  );
});

test('repeats on the Tabula side, or a lost version, are never explained', () => {
  assert.equal(
    compareOutcomes(GC_READ, rows(head, A, B, ...tail), rows(head, A, B, A, B, ...tail), false).kind,
    'unexplained',
  );
  assert.equal(
    compareOutcomes(GC_READ, rows(head, A, B, A, B, ...tail), rows(head, A, ...tail), false).kind,
    'unexplained',
  );
  const changed = cell('ga', 'q\\x00', '4102444800000000', 'abd');
  assert.equal(
    compareOutcomes(GC_READ, rows(head, A, B, A, B, ...tail), rows(head, A, changed, ...tail), false).kind,
    'unexplained',
  );
});

// A gc-checkpoint read seen in a run with splitting forced: Tabula's compaction had removed an
// old intersection-family cell while a newer version of its column existed; the newer one was
// deleted since, and the emulator (which never applies intersection rules) still shows the old one.
test('an old intersection-family cell removed by a compaction is explained; other missing cells are not', () => {
  const gi = [cell('gi', '', '4102444800000000', ''), cell('gi', 'q', '3000', 'v')];
  const old = cell('gi', 'r', '1000', 'abc');
  const gu = cell('gu', '', '4102444800001000', 'vv');
  const verdict = compareOutcomes(GC_READ, rows(...gi, old, gu), rows(...gi, gu), false);
  assert.ok(verdict.kind === 'explained' && verdict.rules.includes('intersection-gc-compacted'));
  // A missing cell of another family, or a future-timestamped one, stays unexplained.
  const gv = cell('gv', 'r', '1000', 'abc');
  assert.equal(compareOutcomes(GC_READ, rows(...gi, gv, gu), rows(...gi, gu), false).kind, 'unexplained');
  const future = cell('gi', 'r', '4102444800000000', 'abc');
  assert.equal(compareOutcomes(GC_READ, rows(...gi, future, gu), rows(...gi, gu), false).kind, 'unexplained');
  // Tabula holding a cell the emulator does not is not explained by this rule.
  assert.equal(compareOutcomes(GC_READ, rows(...gi, gu), rows(...gi, old, gu), false).kind, 'unexplained');
});

// A read seen in a CI run with splitting forced: the emulator repeated a version after GC, and the
// read's filter held an interleave (in a branch the row never took).
test('a repeated version under a copying filter is explained; a lost or extra copy is not', () => {
  const INTERLEAVED_READ: Operation = {
    ...GC_READ,
    tag: 'workload',
    request: {
      ...GC_READ.request,
      filter: { interleave: { filters: [{ passAllFilter: true }, { familyNameRegexFilter: 'a' }] } },
    },
  };
  const gu = cell('gu', 'r', '4102444800000000', 'vv');
  const gv = cell('gv', 'r', '1000', 'x');
  const verdict = compareOutcomes(INTERLEAVED_READ, rows(gu, gu, gv), rows(gu, gv), false);
  assert.ok(verdict.kind === 'explained' && verdict.rules.includes('emulator-gc-repeats-versions-copied'));
  // The candidate with more copies, a missing distinct cell, or another value: unexplained.
  assert.equal(compareOutcomes(INTERLEAVED_READ, rows(gu, gv), rows(gu, gu, gv), false).kind, 'unexplained');
  assert.equal(compareOutcomes(INTERLEAVED_READ, rows(gu, gu, gv), rows(gu), false).kind, 'unexplained');
  const other = cell('gu', 'r', '4102444800000000', 'vw');
  assert.equal(
    compareOutcomes(INTERLEAVED_READ, rows(gu, gu, gv), rows(other, gv), false).kind,
    'unexplained',
  );
  // Without a copying filter the rule does not apply.
  const plain = { ...GC_READ, tag: 'workload' } as Operation;
  const plainVerdict = compareOutcomes(plain, rows(gu, gu, gv), rows(gu, gv), false);
  assert.ok(
    plainVerdict.kind !== 'explained' || !plainVerdict.rules.includes('emulator-gc-repeats-versions-copied'),
  );
});
