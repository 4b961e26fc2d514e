// Chunk reassembly: rows chunked by the server's own chunker (values split across chunks with
// value_size) come back exactly, in any response grouping; reset_row discards the row in
// progress; protocol violations throw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { CellChunkIn } from '../../src/client/read-rows-assembler.js';
import { ReadRowsAssembler } from '../../src/client/read-rows-assembler.js';
import { TabulaError } from '../../src/common/errors.js';
import type { Cell, RowCells } from '../../src/model/row-cells.js';
import { compareCells } from '../../src/model/row-cells.js';
import { rowChunks } from '../../src/server/read-rows-chunker.js';
import { testSeed } from '../model/test-seed.js';

const cellArb = fc
  .record({
    family: fc.constantFrom('a', 'b', 'c'),
    qualifier: fc.uint8Array({ maxLength: 3 }).map((u) => Buffer.from(u)),
    timestampMicros: fc.integer({ min: 0, max: 10 }).map((n) => n * 1000),
    value: fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
    labels: fc.array(fc.constantFrom('x', 'y'), { maxLength: 2 }),
  })
  .map((c): Cell => ({ ...c }));

const rowsArb = fc
  .uniqueArray(
    fc.uint8Array({ minLength: 1, maxLength: 3 }).map((u) => Buffer.from(u)),
    {
      maxLength: 6,
      comparator: (a, b) => a.equals(b),
    },
  )
  .chain((keys) =>
    fc.tuple(
      ...keys
        .sort(Buffer.compare)
        .map((key) =>
          fc
            .array(cellArb, { minLength: 1, maxLength: 5 })
            .map((cells): RowCells => ({ key, cells: cells.sort(compareCells) })),
        ),
    ),
  );

function toWire(chunk: ReturnType<typeof rowChunks> extends Generator<infer C> ? C : never): CellChunkIn {
  return {
    ...chunk,
    timestampMicros: chunk.timestampMicros === undefined ? undefined : String(chunk.timestampMicros),
  };
}

test('rows chunked by the server reassemble exactly (property)', () => {
  fc.assert(
    fc.property(rowsArb, fc.integer({ min: 1, max: 16 }), (rows, chunkBytes) => {
      const assembler = new ReadRowsAssembler(false);
      const out: RowCells[] = [];
      for (const row of rows) {
        for (const chunk of rowChunks(row, chunkBytes)) {
          const done = assembler.push(toWire(chunk));
          if (done) out.push({ key: done.key, cells: done.cells as Cell[] });
        }
      }
      assembler.finish();
      assert.deepEqual(out, rows);
    }),
    { seed: testSeed('read-rows-assembler'), numRuns: 300 },
  );
});

const first = (key: string, value: string, extra: Partial<CellChunkIn> = {}): CellChunkIn => ({
  rowKey: Buffer.from(key),
  familyName: { value: 'f' },
  qualifier: { value: Buffer.from('q') },
  timestampMicros: '1000',
  value: Buffer.from(value),
  ...extra,
});

test('reset_row discards the row in progress, including a split value', () => {
  const a = new ReadRowsAssembler(false);
  assert.equal(a.push(first('k', 'ab', { valueSize: 4 })), undefined);
  assert.equal(a.push({ resetRow: true }), undefined);
  const row = a.push(first('k', 'new', { commitRow: true }));
  assert.equal(row?.cells.length, 1);
  assert.equal(row?.cells[0]?.value.toString(), 'new');
  const split = a.push(first('l', 'ab', { valueSize: 4 }));
  assert.equal(split, undefined);
  const done = a.push({ value: Buffer.from('cd'), commitRow: true });
  assert.equal(done?.cells[0]?.value.toString(), 'abcd');
  a.finish();
});

test('protocol violations throw', () => {
  const violations: CellChunkIn[][] = [
    [{ value: Buffer.from('x'), commitRow: true }],
    [{ resetRow: true }],
    [first('k', 'v'), { resetRow: true, value: Buffer.from('x') }],
    [first('k', 'ab', { valueSize: 4 }), { value: Buffer.from('c'), commitRow: true }],
    [first('k', 'ab', { valueSize: 4 }), { value: Buffer.from('cde') }],
    [first('k', 'ab', { valueSize: 4 }), { value: Buffer.from('c'), familyName: { value: 'g' } }],
    [first('k', 'v'), { familyName: { value: 'g' }, value: Buffer.from('x') }],
    [first('k', 'v'), { rowKey: Buffer.from('other'), value: Buffer.from('x') }],
    [first('k', 'v', { commitRow: true }), first('j', 'v', { commitRow: true })],
    [first('k', 'v', { commitRow: true }), first('k', 'v', { commitRow: true })],
  ];
  for (const chunks of violations) {
    const a = new ReadRowsAssembler(false);
    assert.throws(() => {
      for (const c of chunks) a.push(c);
    }, TabulaError);
  }
  const open = new ReadRowsAssembler(false);
  open.push(first('k', 'v'));
  assert.throws(() => open.finish(), TabulaError);
  const reversed = new ReadRowsAssembler(true);
  reversed.push(first('k', 'v', { commitRow: true }));
  assert.ok(reversed.push(first('j', 'v', { commitRow: true })));
});
