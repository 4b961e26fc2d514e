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
