// The hand-written ReadRowsResponse encoder against the official protos: for any rows, chunk and
// response sizes, decoding its bytes gives the same message as encoding the same response object
// through protobufjs (the generic path), including empty families, qualifiers and values, labels,
// split values and large timestamps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceDefinition } from '@grpc/grpc-js';
import fc from 'fast-check';
import type { Cell, RowCells } from '../../src/model/row-cells.js';
import { compareCells } from '../../src/model/row-cells.js';
import { loadBigtableProtos } from '../../src/server/protos.js';
import { readRowsResponses } from '../../src/server/read-rows-chunker.js';
import { encodeReadRowsResponse } from '../../src/server/read-rows-encoder.js';

const readRows = (loadBigtableProtos().dataDefinition['google.bigtable.v2.Bigtable'] as ServiceDefinition)
  .ReadRows as ServiceDefinition[string];

const arbCell = fc
  .record({
    family: fc.constantFrom('a', 'b', '__proto__', 'fämily'),
    qualifier: fc.uint8Array({ maxLength: 3 }).map((b) => Buffer.from(b)),
    timestampMicros: fc.oneof(
      fc.nat({ max: 5 }).map((n) => n * 1000),
      fc.constant(9_007_199_254_740_000),
    ),
    value: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    labels: fc.array(fc.constantFrom('l', 'label-ü'), { maxLength: 2 }),
  })
  .map((c): Cell => ({ ...c }));

test('property: encoded responses decode like protobufjs-encoded ones', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(arbCell, { minLength: 1, maxLength: 6 }), { maxLength: 6 }),
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 1, max: 400 }),
      (rowCells, chunkValueBytesMax, responseBytesTarget) => {
        const rows: RowCells[] = rowCells.map((cells, i) => ({
          key: Buffer.from(`row${i}`),
          cells: [...cells].sort(compareCells),
        }));
        for (const response of readRowsResponses(rows, {
          chunkValueBytesMax,
          responseBytesTarget,
          rowsLimit: 0,
        })) {
          const generic = readRows.responseDeserialize(readRows.responseSerialize(response));
          const mine = readRows.responseDeserialize(encodeReadRowsResponse(response));
          assert.deepEqual(mine, generic);
        }
      },
    ),
  );
});
