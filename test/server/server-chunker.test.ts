// ReadRows chunking: rows → chunks → responses, reassembled by a strict client-side state machine,
// equal the input rows (large values split, labels, empty qualifiers and values, rows_limit), and
// rows are pulled lazily.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Cell, RowCells } from '../../src/model/row-cells.js';
import { compareCells } from '../../src/model/row-cells.js';
import type { CellChunk, ReadRowsResponse } from '../../src/server/read-rows-chunker.js';
import { readRowsResponses, rowChunks } from '../../src/server/read-rows-chunker.js';

/** Reassembles chunks the way official clients do, asserting every rule they check. */
function reassemble(responses: Iterable<ReadRowsResponse>): RowCells[] {
  const rows: RowCells[] = [];
  let key: Buffer | undefined;
  let cells: Cell[] = [];
  let family: string | undefined;
  let qualifier: Buffer | undefined;
  let partial: { ts: number; labels: string[]; parts: Buffer[]; size: number } | undefined;
  for (const response of responses) {
    for (const c of response.chunks as CellChunk[]) {
      if (partial !== undefined) {
        assert.equal(c.rowKey, undefined, 'continuation chunk has a row key');
        assert.equal(c.familyName, undefined, 'continuation chunk has a family');
        assert.equal(c.qualifier, undefined, 'continuation chunk has a qualifier');
        assert.equal(c.timestampMicros, undefined, 'continuation chunk has a timestamp');
        assert.equal(c.labels, undefined, 'continuation chunk has labels');
      } else {
        if (key === undefined) {
          assert.ok(c.rowKey !== undefined && c.rowKey.length > 0, 'new row without a key');
          assert.ok(c.familyName !== undefined, 'new row without a family');
          assert.ok(c.qualifier !== undefined, 'new row without a qualifier');
          key = c.rowKey;
        } else {
          assert.equal(c.rowKey, undefined, 'row key repeated within a row');
        }
        if (c.familyName !== undefined) {
          assert.ok(c.qualifier !== undefined, 'family change without a qualifier');
          family = c.familyName.value;
        }
        if (c.qualifier !== undefined) qualifier = c.qualifier.value;
        partial = { ts: c.timestampMicros ?? 0, labels: c.labels ?? [], parts: [], size: c.valueSize ?? 0 };
      }
      partial.parts.push(c.value);
      if (c.valueSize !== undefined && c.valueSize > 0) {
        assert.equal(c.valueSize, partial.size, 'value_size changed within a cell');
        assert.equal(c.commitRow, undefined, 'commit in the middle of a value');
        continue;
      }
      const value = Buffer.concat(partial.parts);
      if (partial.size > 0) assert.equal(value.length, partial.size, 'value_size disagrees with the value');
      cells.push({
        family: family!,
        qualifier: qualifier!,
        timestampMicros: partial.ts,
        value,
        labels: partial.labels,
      });
      partial = undefined;
      if (c.commitRow === true) {
        rows.push({ key: key!, cells });
        key = undefined;
        cells = [];
        family = undefined;
        qualifier = undefined;
      }
    }
  }
  assert.equal(key, undefined, 'stream ended inside a row');
  return rows;
}

const options = (over: Partial<Parameters<typeof readRowsResponses>[1]> = {}) => ({
  chunkValueBytesMax: 8,
  responseBytesTarget: 100,
  rowsLimit: 0,
  ...over,
});

const cell = (
  family: string,
  q: string,
  ts: number,
  value: Buffer | string,
  labels: string[] = [],
): Cell => ({
  family,
  qualifier: Buffer.from(q),
  timestampMicros: ts,
  value: Buffer.isBuffer(value) ? value : Buffer.from(value),
  labels,
});

test('rows round-trip, with a large value split and labels on the first chunk only', () => {
  const big = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
  const rows: RowCells[] = [
    {
      key: Buffer.from('r1'),
      cells: [
        cell('a', '', 3000, '', ['l1']),
        cell('a', 'q', 2000, big, ['x', 'y']),
        cell('a', 'q', 1000, 'v'),
        cell('b', 'q', 0, big),
      ],
    },
    { key: Buffer.from('r2'), cells: [cell('', '', 0, '')] },
  ];
  const chunks = [...rowChunks(rows[0]!, 8)];
  const split = chunks.filter((c) => c.valueSize === big.length);
  assert.ok(split.length >= 4, 'large value was split');
  assert.deepEqual(
    chunks.filter((c) => c.labels !== undefined).map((c) => c.labels),
    [['l1'], ['x', 'y']],
  );
  assert.equal(chunks.filter((c) => c.commitRow === true).length, 1);
  assert.equal(chunks[chunks.length - 1]!.commitRow, true);
  assert.deepEqual(reassemble(readRowsResponses(rows, options())), rows);
});

test('rows_limit stops the read and closes the source', () => {
  let pulled = 0;
  let closed = false;
  function* source(): Generator<RowCells> {
    try {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield { key: Buffer.from(`r${i}`), cells: [cell('f', 'q', 0, 'v')] };
      }
    } finally {
      closed = true;
    }
  }
  const out = reassemble(readRowsResponses(source(), options({ rowsLimit: 3 })));
  assert.equal(out.length, 3);
  assert.equal(pulled, 3);
  assert.equal(closed, true);
});

test('rows are pulled only as responses are consumed', () => {
  let pulled = 0;
  function* source(): Generator<RowCells> {
    for (let i = 0; i < 10; i++) {
      pulled++;
      yield { key: Buffer.from(`r${i}`), cells: [cell('f', 'q', 0, Buffer.alloc(50))] };
    }
  }
  const responses = readRowsResponses(
    source(),
    options({ chunkValueBytesMax: 1024, responseBytesTarget: 60 }),
  );
  responses.next();
  assert.equal(pulled, 1);
  responses.next();
  assert.equal(pulled, 2);
  responses.return();
});

const arbCell = fc
  .record({
    family: fc.constantFrom('a', 'b', '__proto__', ''),
    qualifier: fc.uint8Array({ maxLength: 3 }).map((b) => Buffer.from(b)),
    timestampMicros: fc.nat({ max: 5 }).map((n) => n * 1000),
    value: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    labels: fc.array(fc.constantFrom('l', 'm'), { maxLength: 2 }),
  })
  .map((c): Cell => ({ ...c }));

test('property: any rows round-trip under any chunk and response sizes', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(arbCell, { minLength: 1, maxLength: 6 }), { maxLength: 6 }),
      fc.integer({ min: 1, max: 16 }),
      fc.integer({ min: 1, max: 200 }),
      (rowCells, chunkBytes, responseBytes) => {
        const rows: RowCells[] = rowCells.map((cells, i) => ({
          key: Buffer.from(`row${i}`),
          cells: [...cells].sort(compareCells),
        }));
        const out = reassemble(
          readRowsResponses(
            rows,
            options({ chunkValueBytesMax: chunkBytes, responseBytesTarget: responseBytes }),
          ),
        );
        assert.deepEqual(out, rows);
      },
    ),
  );
});
