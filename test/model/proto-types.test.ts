// Decodes real wire messages with the server's proto-loader options and checks that they have the
// shapes src/model/proto-types.ts declares — and that the model functions accept them as decoded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileGcRule } from '../../src/model/gc-rule.js';
import { validateMutations } from '../../src/model/mutation.js';
import type {
  GcRule,
  Mutation,
  ReadModifyWriteRule,
  RowFilter,
  RowRange,
} from '../../src/model/proto-types.js';
import { validateReadModifyWriteRules } from '../../src/model/read-modify-write.js';
import { compileRowFilter } from '../../src/model/row-filter.js';
import { loadBigtableProtos } from '../../src/server/protos.js';

const protos = loadBigtableProtos();

function decode<T>(typeName: string, input: object, admin = false): T {
  const defs = admin ? protos.adminDefinition : protos.dataDefinition;
  const type = defs[typeName] as unknown as {
    serialize: (o: object) => Buffer;
    deserialize: (b: Buffer) => T;
  };
  return type.deserialize(type.serialize(input));
}

test('row filter oneofs decode with a virtual kind field, bytes as Buffer, int64 as string', () => {
  const f = decode<RowFilter>('google.bigtable.v2.RowFilter', {
    chain: {
      filters: [
        { familyNameRegexFilter: 'cf' },
        { columnQualifierRegexFilter: Buffer.from([0xff, 0x00]) },
        { timestampRangeFilter: { startTimestampMicros: '1000', endTimestampMicros: '9007199254740993' } },
        { columnRangeFilter: { familyName: 'cf', startQualifierOpen: Buffer.from('a') } },
        { cellsPerColumnLimitFilter: 0 },
        { passAllFilter: false },
        { rowSampleFilter: 0.5 },
      ],
    },
  });
  assert.equal(f.filter, 'chain');
  const [fam, qual, ts, cr, limit, pass, sample] = f.chain?.filters ?? [];
  assert.equal(fam?.filter, 'familyNameRegexFilter');
  assert.equal(fam?.familyNameRegexFilter, 'cf');
  assert.equal(qual?.filter, 'columnQualifierRegexFilter');
  assert.ok(Buffer.isBuffer(qual?.columnQualifierRegexFilter));
  assert.deepEqual([...(qual?.columnQualifierRegexFilter ?? [])], [0xff, 0x00]);
  assert.equal(ts?.timestampRangeFilter?.startTimestampMicros, '1000');
  assert.equal(
    ts?.timestampRangeFilter?.endTimestampMicros,
    '9007199254740993',
    'int64 keeps full precision',
  );
  assert.equal(cr?.columnRangeFilter?.startQualifier, 'startQualifierOpen');
  assert.equal(cr?.columnRangeFilter?.endQualifier, undefined, 'unset oneof has no kind');
  assert.equal(limit?.filter, 'cellsPerColumnLimitFilter', 'a zero oneof member is still present');
  assert.equal(limit?.cellsPerColumnLimitFilter, 0);
  assert.equal(pass?.filter, 'passAllFilter');
  assert.equal(pass?.passAllFilter, false);
  assert.equal(sample?.rowSampleFilter, 0.5);
  // No defaults are filled in: an unset message field is absent.
  const empty = decode<RowFilter>('google.bigtable.v2.RowFilter', {});
  assert.equal(empty.filter, undefined);
  assert.equal(empty.chain, undefined);
});

test('decoded filters compile; invalid decoded ones are rejected', () => {
  const ok = decode<RowFilter>('google.bigtable.v2.RowFilter', {
    interleave: { filters: [{ valueRegexFilter: Buffer.from('\\C*') }, { applyLabelTransformer: 'x' }] },
  });
  assert.ok(compileRowFilter(ok));
  const bad = decode<RowFilter>('google.bigtable.v2.RowFilter', { passAllFilter: false });
  assert.throws(() => compileRowFilter(bad), /boolean row filter must be true/);
});

test('mutations, rules, row ranges and gc rules decode to the declared shapes', () => {
  const m = decode<Mutation>('google.bigtable.v2.Mutation', {
    setCell: {
      familyName: 'cf',
      columnQualifier: Buffer.from('q'),
      timestampMicros: '-1',
      value: Buffer.from('v'),
    },
  });
  assert.equal(m.mutation, 'setCell');
  assert.equal(m.setCell?.timestampMicros, '-1');
  const d = decode<Mutation>('google.bigtable.v2.Mutation', { deleteFromRow: {} });
  assert.equal(d.mutation, 'deleteFromRow');
  assert.deepEqual(
    validateMutations([m, d]).map((x) => x.kind),
    ['setCell', 'deleteFromRow'],
  );
  const defaults = decode<Mutation>('google.bigtable.v2.Mutation', { setCell: { familyName: 'cf' } });
  assert.equal(defaults.setCell?.columnQualifier, undefined, 'defaults: false leaves empty bytes unset');
  assert.equal(validateMutations([defaults])[0]?.kind, 'setCell');

  const r = decode<ReadModifyWriteRule>('google.bigtable.v2.ReadModifyWriteRule', {
    familyName: 'cf',
    columnQualifier: Buffer.from('n'),
    incrementAmount: '-9223372036854775808',
  });
  assert.equal(r.rule, 'incrementAmount');
  assert.equal(r.incrementAmount, '-9223372036854775808');
  assert.equal(validateReadModifyWriteRules([r])[0]?.kind, 'increment');

  const rr = decode<RowRange>('google.bigtable.v2.RowRange', {
    startKeyOpen: Buffer.from('a'),
    endKeyClosed: Buffer.alloc(0),
  });
  assert.equal(rr.startKey, 'startKeyOpen');
  assert.equal(rr.endKey, 'endKeyClosed', 'an empty bytes oneof member keeps its presence');
  assert.equal(rr.endKeyClosed?.length, 0);

  const g = decode<GcRule>(
    'google.bigtable.admin.v2.GcRule',
    { union: { rules: [{ maxNumVersions: 2 }, { maxAge: { seconds: '86400', nanos: 5000 } }] } },
    true,
  );
  assert.equal(g.rule, 'union');
  assert.equal(g.union?.rules?.[1]?.maxAge?.seconds, '86400');
  assert.deepEqual(compileGcRule(g), {
    kind: 'union',
    rules: [
      { kind: 'maxVersions', versions: 2 },
      { kind: 'maxAge', ageMicros: 86_400_000_005 },
    ],
  });
});

test('protos load the data and both admin services', () => {
  assert.ok(protos.dataDefinition['google.bigtable.v2.Bigtable']);
  assert.ok(protos.adminDefinition['google.bigtable.admin.v2.BigtableTableAdmin']);
  assert.ok(protos.adminDefinition['google.bigtable.admin.v2.BigtableInstanceAdmin']);
});
