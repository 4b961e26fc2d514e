// How the remote client ends its calls, watched from a bare HTTP/2 server (scripted-h2-server.ts):
// a completed read reads to its status instead of resetting the stream; a genuine early stop
// resets it; hung calls end with DEADLINE_EXCEEDED; and when the server drops the connection with
// GOAWAY mid-load, idempotent calls succeed on a fresh connection while non-idempotent ones fail
// with UNAVAILABLE and are never sent twice.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tabula } from '../../src/client/index.js';
import { connect } from '../../src/client/index.js';
import { TabulaError } from '../../src/common/errors.js';
import { type ScriptedServer, startScriptedServer } from './scripted-h2-server.js';
import { setCellFq } from './set-cell-fixture.js';

const READS = 40;
const IN_FLIGHT = 8;

async function withServer(
  options: Parameters<typeof startScriptedServer>[0],
  retry: Parameters<typeof connect>[1],
  body: (db: Tabula, server: ScriptedServer) => Promise<void>,
): Promise<void> {
  const server = await startScriptedServer(options);
  const db = await connect(server.address, retry);
  try {
    await body(db, server);
  } finally {
    await db.close();
    await server.close();
  }
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 100));
}

test('a completed read sends no RST_STREAM; an early stop sends one', async () => {
  await withServer({ trailerDelayMs: 30 }, {}, async (db, server) => {
    const table = db.table('t');
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async (_, w) => {
        for (let i = w; i < READS; i += IN_FLIGHT) {
          const row = await table.readRow('abcde'[i % 5] as string);
          assert.ok(row !== undefined);
        }
      }),
    );
    // A limited scan whose consumer stops at the limit has everything too.
    for await (const row of table.readRows({ limit: 2 })) if (row.key.toString() === 'b') break;
    // A missing key: the stream ends with no row.
    assert.equal(await table.readRow('zz'), undefined);
    await settle();
    assert.equal(server.stats.resets, 0, 'completed reads must not be reset');
    // + 1: the client's one tablet-location probe, answered UNIMPLEMENTED (routing then stays off).
    assert.equal(server.stats.clean, READS + 2 + 1);

    // A genuine early stop: rows b..e were still to come, so the stream is cancelled.
    for await (const row of table.readRows({})) if (row.key.toString() === 'a') break;
    await settle();
    assert.equal(server.stats.resets, 1, 'an early stop cancels its stream');
  });
});

test('a hung read or unary call ends with DEADLINE_EXCEEDED', async () => {
  const retry = { retry: { readIdleMs: 200, deadlineMs: 400, attemptsMax: 2, backoffMsInitial: 1 } };
  await withServer({}, retry, async (db, server) => {
    const t0 = performance.now();
    await assert.rejects(db.table('t').readRow('hang'), (e: TabulaError) => e.code === 'DEADLINE_EXCEEDED');
    await assert.rejects(
      db
        .table('t')
        .mutateRow('hang', [{ setCell: { family: 'f', qualifier: 'q', value: 'v', timestampMicros: 1000 } }]),
      (e: TabulaError) => e.code === 'DEADLINE_EXCEEDED',
    );
    const elapsedMs = performance.now() - t0;
    assert.ok(elapsedMs < 5_000, `bounded by the deadlines: ${elapsedMs} ms`);
    assert.equal(server.stats.requests.filter((r) => r.method === 'ReadRows').length, 2, 'retried once');
  });
});

const setCell = setCellFq;

type Kind = 'read' | 'write-ts' | 'write-server-ts' | 'check-and-mutate' | 'read-modify-write';
const KINDS: readonly Kind[] = [
  'read',
  'write-ts',
  'write-server-ts',
  'check-and-mutate',
  'read-modify-write',
];
const kindOf = (n: number) => KINDS[n % KINDS.length] as Kind;
const IDEMPOTENT: ReadonlySet<Kind> = new Set<Kind>(['read', 'write-ts']);

function callOf(db: Tabula, kind: Kind, key: string): Promise<unknown> {
  const table = db.table('t');
  switch (kind) {
    case 'read':
      return table.readRow('abcde'[Number(key.slice(1)) % 5] as string);
    case 'write-ts':
      return table.mutateRow(key, [setCell(1000)]);
    case 'write-server-ts':
      return table.mutateRow(key, [setCell()]);
    case 'check-and-mutate':
      return table.checkAndMutate(key, { onMatch: [setCell(1000)] });
    case 'read-modify-write':
      return table.readModifyWrite(key, [{ increment: { family: 'f', qualifier: 'n', amount: 1 } }]);
  }
}

test('after GOAWAY, idempotent calls succeed on a fresh connection; the others are not retried', async () => {
  const CALLS = 1_500;
  await withServer({ replyDelayMs: 4, goawayEveryStreams: 60 }, {}, async (db, server) => {
    const failures = new Map<Kind, TabulaError[]>(KINDS.map((k) => [k, []]));
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let n = next++; n < CALLS; n = next++) {
          const kind = kindOf(n);
          try {
            await callOf(db, kind, `k${n}`);
          } catch (err) {
            assert.ok(err instanceof TabulaError, String(err));
            failures.get(kind)?.push(err);
          }
        }
      }),
    );
    const lost = [...failures].map(([k, errs]) => `${k}=${errs.length}`).join(' ');
    console.log(`goaways=${server.stats.goaways} failures: ${lost}`);
    assert.ok(server.stats.goaways >= 5, 'the server dropped connections under load');
    for (const kind of IDEMPOTENT) assert.deepEqual(failures.get(kind), [], `${kind} calls all succeed`);
    const nonIdempotent = KINDS.filter((k) => !IDEMPOTENT.has(k)).flatMap((k) => failures.get(k) ?? []);
    assert.ok(nonIdempotent.length > 0, 'some non-idempotent calls were caught by a GOAWAY');
    for (const e of nonIdempotent) assert.ok(e.code === 'UNAVAILABLE' && e.retryable, e.message);
    // Keys are unique per call (reads excepted), so a key the server saw twice was retried.
    const sent = new Map<string, number>();
    for (const r of server.stats.requests)
      if (r.method !== 'ReadRows') sent.set(r.key, (sent.get(r.key) ?? 0) + 1);
    const retried = (kind: Kind) =>
      [...sent].filter(([k, n]) => n > 1 && kindOf(Number(k.slice(1))) === kind);
    for (const kind of KINDS.filter((k) => !IDEMPOTENT.has(k)))
      assert.deepEqual(retried(kind), [], `${kind} sent once`);
    assert.ok(retried('write-ts').length > 0, 'idempotent writes were retried');
  });
});
