// Mutation validation against the Cloud Bigtable API limits, at and just past every boundary.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ErrorCode } from '../../src/common/errors.js';
import { TabulaError } from '../../src/common/errors.js';
import {
  CELL_VALUE_BYTES_MAX,
  COLUMN_QUALIFIER_BYTES_MAX,
  FAMILY_NAME_CHARS_MAX,
  MUTATIONS_PER_REQUEST_MAX,
  ROW_KEY_BYTES_MAX,
  TABLE_ID_CHARS_MAX,
} from '../../src/common/limits.js';
import {
  SERVER_TIMESTAMP_MICROS,
  validateFamilyName,
  validateMutations,
  validateRowKey,
  validateTableId,
} from '../../src/model/mutation.js';
import type { Mutation } from '../../src/model/proto-types.js';

const setCell = (over: Record<string, unknown> = {}): Mutation => ({
  mutation: 'setCell',
  setCell: {
    familyName: 'cf',
    columnQualifier: Buffer.from('q'),
    timestampMicros: '1000',
    value: Buffer.from('v'),
    ...over,
  },
});

function fails(fn: () => unknown, code: ErrorCode, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TabulaError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

test('row keys: 1 to 4096 bytes', () => {
  assert.equal(validateRowKey(Buffer.alloc(ROW_KEY_BYTES_MAX)).length, 4096);
  fails(
    () => validateRowKey(Buffer.alloc(ROW_KEY_BYTES_MAX + 1)),
    'INVALID_ARGUMENT',
    /row key too long.*bytes=`4097`/,
  );
  fails(() => validateRowKey(Buffer.alloc(0)), 'INVALID_ARGUMENT', /row key must not be empty/);
  fails(() => validateRowKey(undefined), 'INVALID_ARGUMENT', /row key must not be empty/);
});

test('family names and table ids', () => {
  for (const ok of ['cf', '_', '__proto__', 'a-b.c_d', '0', 'x'.repeat(FAMILY_NAME_CHARS_MAX)])
    assert.equal(validateFamilyName(ok), ok);
  for (const bad of ['', '-a', '.a', 'a:b', 'a b', 'é', 'x'.repeat(FAMILY_NAME_CHARS_MAX + 1)]) {
    fails(() => validateFamilyName(bad), 'INVALID_ARGUMENT', /family name/);
  }
  assert.equal(validateTableId('t'.repeat(TABLE_ID_CHARS_MAX)), 't'.repeat(50));
  fails(() => validateTableId('t'.repeat(TABLE_ID_CHARS_MAX + 1)), 'INVALID_ARGUMENT', /table id too long/);
  fails(() => validateTableId('a/b'), 'INVALID_ARGUMENT', /table id must match/);
});

test('set_cell: normalized, defaults filled, limits at the boundary', () => {
  const [m] = validateMutations([setCell()]);
  assert.deepEqual(m, {
    kind: 'setCell',
    family: 'cf',
    qualifier: Buffer.from('q'),
    timestampMicros: 1000,
    value: Buffer.from('v'),
  });
  const [d] = validateMutations([{ mutation: 'setCell', setCell: { familyName: '__proto__' } }]);
  assert.deepEqual(d, {
    kind: 'setCell',
    family: '__proto__',
    qualifier: Buffer.alloc(0),
    timestampMicros: 0,
    value: Buffer.alloc(0),
  });
  assert.ok(validateMutations([setCell({ columnQualifier: Buffer.alloc(COLUMN_QUALIFIER_BYTES_MAX) })]));
  fails(
    () =>
      validateMutations([
        setCell(),
        setCell({ columnQualifier: Buffer.alloc(COLUMN_QUALIFIER_BYTES_MAX + 1) }),
      ]),
    'INVALID_ARGUMENT',
    /column qualifier too long: field=`mutations\[1\].set_cell.column_qualifier`/,
  );
  const big = Buffer.allocUnsafe(CELL_VALUE_BYTES_MAX + 1);
  assert.ok(validateMutations([setCell({ value: big.subarray(0, CELL_VALUE_BYTES_MAX) })]));
  fails(() => validateMutations([setCell({ value: big })]), 'INVALID_ARGUMENT', /value too large/);
  fails(
    () => validateMutations([setCell({ familyName: undefined })]),
    'INVALID_ARGUMENT',
    /family name must not be empty/,
  );
});

test('set_cell timestamps: -1 or whole milliseconds', () => {
  assert.equal(
    validateMutations([setCell({ timestampMicros: '-1' })])[0]?.kind === 'setCell' && SERVER_TIMESTAMP_MICROS,
    -1,
  );
  const ts = (t: string) => {
    const [m] = validateMutations([setCell({ timestampMicros: t })]);
    return m?.kind === 'setCell' ? m.timestampMicros : undefined;
  };
  assert.equal(ts('-1'), -1);
  assert.equal(ts('0'), 0);
  assert.equal(ts('1700000000000000'), 1_700_000_000_000_000);
  fails(() => ts('1500'), 'INVALID_ARGUMENT', /granularity mismatch/);
  fails(() => ts('-2000'), 'INVALID_ARGUMENT', /-1 or non-negative/);
  fails(() => ts('9223372036854775000'), 'INVALID_ARGUMENT', /beyond the largest supported/);
  fails(() => ts('9223372036854775808'), 'INVALID_ARGUMENT', /int64 field out of range/);
  fails(() => ts('12abc'), 'INVALID_ARGUMENT', /not a decimal integer/);
});

test('deletes', () => {
  const out = validateMutations([
    {
      mutation: 'deleteFromColumn',
      deleteFromColumn: {
        familyName: 'cf',
        columnQualifier: Buffer.from('q'),
        timeRange: { startTimestampMicros: '1000', endTimestampMicros: '5000' },
      },
    },
    { mutation: 'deleteFromColumn', deleteFromColumn: { familyName: 'cf' } },
    { mutation: 'deleteFromFamily', deleteFromFamily: { familyName: 'cf' } },
    { mutation: 'deleteFromRow', deleteFromRow: {} },
  ]);
  assert.deepEqual(out, [
    {
      kind: 'deleteFromColumn',
      family: 'cf',
      qualifier: Buffer.from('q'),
      startMicros: 1000,
      endMicros: 5000,
    },
    {
      kind: 'deleteFromColumn',
      family: 'cf',
      qualifier: Buffer.alloc(0),
      startMicros: 0,
      endMicros: undefined,
    },
    { kind: 'deleteFromFamily', family: 'cf' },
    { kind: 'deleteFromRow' },
  ]);
  fails(
    () =>
      validateMutations([
        {
          mutation: 'deleteFromColumn',
          deleteFromColumn: {
            familyName: 'cf',
            timeRange: { startTimestampMicros: '5', endTimestampMicros: '2' },
          },
        },
      ]),
    'INVALID_ARGUMENT',
    /timestamp range start is after its end/,
  );
  fails(
    () => validateMutations([{ mutation: 'deleteFromFamily', deleteFromFamily: {} }]),
    'INVALID_ARGUMENT',
    /family name must not be empty/,
  );
});

test('mutation count: at least one, at most 100,000', () => {
  fails(() => validateMutations([]), 'INVALID_ARGUMENT', /no mutations provided/);
  fails(() => validateMutations(undefined), 'INVALID_ARGUMENT', /no mutations provided/);
  assert.deepEqual(validateMutations([], { allowEmpty: true }), []);
  const row = { mutation: 'deleteFromRow', deleteFromRow: {} } as Mutation;
  assert.equal(validateMutations(new Array<Mutation>(MUTATIONS_PER_REQUEST_MAX).fill(row)).length, 100_000);
  fails(
    () => validateMutations(new Array<Mutation>(MUTATIONS_PER_REQUEST_MAX + 1).fill(row)),
    'INVALID_ARGUMENT',
    /too many mutations.*count=`100001`/,
  );
});

test('unknown and aggregate mutation kinds', () => {
  fails(() => validateMutations([{}]), 'INVALID_ARGUMENT', /mutation has no kind set/);
  fails(
    () => validateMutations([{ mutation: 'frobnicate' } as unknown as Mutation]),
    'INVALID_ARGUMENT',
    /unknown mutation kind/,
  );
  fails(
    () => validateMutations([{ mutation: 'addToCell', addToCell: {} }]),
    'UNIMPLEMENTED',
    /aggregate mutations are not supported.*add_to_cell/,
  );
  fails(
    () => validateMutations([{ mutation: 'mergeToCell', mergeToCell: {} }]),
    'UNIMPLEMENTED',
    /merge_to_cell/,
  );
});
