// Retries of the remote client against a scripted in-process gRPC server: idempotent calls are
// retried on UNAVAILABLE, non-idempotent ones (server timestamps, check-and-mutate,
// read-modify-write) are sent exactly once, MutateRows retries only the failed idempotent
// entries, and a broken ReadRows stream resumes after the last row without duplicates.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import type { Tabula } from '../../src/client/index.js';
import { connect } from '../../src/client/index.js';
import { resumeFields } from '../../src/client/read-resume.js';
import { TabulaError } from '../../src/common/errors.js';
import { loadBigtableProtos } from '../../src/server/protos.js';
import { setCellFq } from './set-cell-fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: scripted handlers see raw messages.
type Msg = Record<string, any>;

const calls: Record<string, Msg[]> = {};
let server: Server;
let db: Tabula;
let failuresLeft = 0;

function record(method: string, request: Msg): void {
  (calls[method] ??= []).push(request);
}

function unavailable() {
  return Object.assign(new Error('try again'), { code: status.UNAVAILABLE, details: 'try again' });
}

function unaryHandler(method: string, reply: Msg) {
  return (call: ServerUnaryCall<Msg, Msg>, cb: sendUnaryData<Msg>) => {
    record(method, call.request);
    if (failuresLeft > 0) {
      failuresLeft--;
      cb(unavailable());
    } else cb(null, reply);
  };
}

function chunk(key: string, commit = true): Msg {
  return {
    rowKey: Buffer.from(key),
    familyName: { value: 'f' },
    qualifier: { value: Buffer.from('q') },
    timestampMicros: '1000',
    value: Buffer.from(key),
    commitRow: commit,
  };
}

function readRows(call: ServerWritableStream<Msg, Msg>) {
  record('ReadRows', call.request);
  if ((calls.ReadRows?.length ?? 0) === 1) {
    call.write({ chunks: [chunk('a'), chunk('b')] });
    call.write({ chunks: [chunk('c', false)] });
    setTimeout(() => call.emit('error', unavailable()), 20);
    return;
  }
  call.write({ chunks: [chunk('c'), chunk('d')] });
  call.end();
}

function mutateRows(call: ServerWritableStream<Msg, Msg>) {
  record('MutateRows', call.request);
  const first = (calls.MutateRows?.length ?? 0) === 1;
  const entries = (call.request.entries as Msg[]).map((_, index) => ({
    index,
    status: first ? { code: status.UNAVAILABLE, message: 'busy' } : { code: 0, message: '' },
  }));
  call.write({ entries });
  call.end();
}

before(async () => {
  const protos = loadBigtableProtos();
  server = new Server();
  // biome-ignore lint/suspicious/noExplicitAny: the loaded definition is untyped.
  server.addService((protos.dataDefinition as any)['google.bigtable.v2.Bigtable'], {
    MutateRow: unaryHandler('MutateRow', {}),
    CheckAndMutateRow: unaryHandler('CheckAndMutateRow', { predicateMatched: true }),
    ReadModifyWriteRow: unaryHandler('ReadModifyWriteRow', { row: { key: Buffer.from('k'), families: [] } }),
    ReadRows: readRows,
    MutateRows: mutateRows,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  db = await connect(`127.0.0.1:${port}`, { retry: { backoffMsInitial: 1, backoffMsMax: 2 } });
});

after(async () => {
  await db.close();
  server.forceShutdown();
});

const setCell = setCellFq;

test('idempotent mutations are retried; server-timestamp ones are not', async () => {
  calls.MutateRow = [];
  failuresLeft = 2;
  await db.table('t').mutateRow('k', [setCell(1000)]);
  assert.equal(calls.MutateRow.length, 3);
  calls.MutateRow = [];
  failuresLeft = 1;
  await assert.rejects(
    db.table('t').mutateRow('k', [setCell()]),
    (e: TabulaError) => e.code === 'UNAVAILABLE' && e.retryable,
  );
  assert.equal(calls.MutateRow.length, 1);
  calls.MutateRow = [];
  failuresLeft = 10;
  await assert.rejects(db.table('t').mutateRow('k', [setCell(1000)]), TabulaError);
  assert.equal(calls.MutateRow.length, 5, 'bounded by attemptsMax');
});

test('check-and-mutate and read-modify-write are sent once', async () => {
  calls.CheckAndMutateRow = [];
  calls.ReadModifyWriteRow = [];
  failuresLeft = 1;
  await assert.rejects(db.table('t').checkAndMutate('k', { onMatch: [setCell(1000)] }), TabulaError);
  failuresLeft = 1;
  await assert.rejects(
    db.table('t').readModifyWrite('k', [{ increment: { family: 'f', qualifier: 'n', amount: 1 } }]),
    TabulaError,
  );
  assert.equal(calls.CheckAndMutateRow.length, 1);
  assert.equal(calls.ReadModifyWriteRow.length, 1);
  failuresLeft = 0;
});

test('mutateRows retries only failed idempotent entries', async () => {
  calls.MutateRows = [];
  const results = await db.table('t').mutateRows([
    { key: 'a', mutations: [setCell(1000)] },
    { key: 'b', mutations: [setCell()] },
  ]);
  assert.equal(calls.MutateRows.length, 2);
  assert.deepEqual(
    calls.MutateRows[1]?.entries.map((e: Msg) => e.rowKey.toString()),
    ['a'],
  );
  assert.equal(results[0]?.error, undefined);
  assert.equal(results[1]?.error?.code, 'UNAVAILABLE');
});

test('a broken read resumes after the last committed row', async () => {
  calls.ReadRows = [];
  const keys: string[] = [];
  for await (const row of db.table('t').readRows({ limit: 10 })) keys.push(row.key.toString());
  assert.deepEqual(keys, ['a', 'b', 'c', 'd']);
  assert.equal(calls.ReadRows.length, 2);
  const resumed = calls.ReadRows[1] as Msg;
  assert.equal(resumed.rowsLimit, '8');
  assert.deepEqual(resumed.rows.rowRanges[0].startKeyOpen, Buffer.from('b'));
});

test('resumeFields trims keys and ranges in both directions', () => {
  const k = (s: string) => Buffer.from(s);
  const fields = {
    rows: {
      rowKeys: [k('a'), k('m'), k('z')],
      rowRanges: [
        {
          startKey: 'startKeyClosed' as const,
          startKeyClosed: k('b'),
          endKey: 'endKeyOpen' as const,
          endKeyOpen: k('d'),
        },
        {
          startKey: 'startKeyClosed' as const,
          startKeyClosed: k('n'),
          endKey: 'endKeyOpen' as const,
          endKeyOpen: k('q'),
        },
      ],
    },
  };
  const forward = resumeFields(fields, k('c'), 1);
  assert.deepEqual(forward?.rows?.rowKeys, [k('m'), k('z')]);
  assert.deepEqual(forward?.rows?.rowRanges, [
    { startKey: 'startKeyOpen', startKeyOpen: k('c'), endKey: 'endKeyOpen', endKeyOpen: k('d') },
    fields.rows.rowRanges[1],
  ]);
  const backward = resumeFields({ ...fields, reversed: true }, k('o'), 1);
  assert.deepEqual(backward?.rows?.rowKeys, [k('a'), k('m')]);
  assert.deepEqual(backward?.rows?.rowRanges, [
    fields.rows.rowRanges[0],
    { endKey: 'endKeyOpen', endKeyOpen: k('o'), startKey: 'startKeyClosed', startKeyClosed: k('n') },
  ]);
  assert.equal(resumeFields({ rows: { rowKeys: [k('a')], rowRanges: [] } }, k('a'), 1), undefined);
  assert.equal(resumeFields({ rowsLimit: '2' }, k('a'), 2), undefined);
  assert.deepEqual(resumeFields({}, k('a'), 1)?.rows?.rowRanges, [
    { startKey: 'startKeyOpen', startKeyOpen: k('a') },
  ]);
});
