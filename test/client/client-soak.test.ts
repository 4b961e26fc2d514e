// Grace under load, from outside: `connect()` against a `tabula serve` child process.
//
// 1. A soak of mixed single-row calls (readRow / mutateRow, several in flight): no call fails and
//    none hangs. Before reads stopped resetting completed streams, about 1 call in 150 failed
//    with "Session closed with error code 2" once the server had counted ~1,000 resets.
// 2. A client that cancels every stream after its first row (a genuine early stop, so each call
//    does send RST_STREAM): the server drops such connections, and the client must carry on — the
//    reads caught by a dropped connection are retried on a fresh one, and the last calls succeed.
//
// Sizing: each loop runs until its call count or its wall-clock budget, whichever comes first,
// and prints how many calls it made and the rate (a loaded 2-core machine reaches only part of
// the 100,000 calls in the budget). TABULA_SOAK_CALLS and TABULA_SOAK_BUDGET_MS override both.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Table, Tabula } from '../../src/client/index.js';
import { connect } from '../../src/client/index.js';
import { removeDataDir, type ServerProcess, startTabula } from '../support/server-process.js';
import { setCellFq } from './set-cell-fixture.js';

const CALLS = Number(process.env.TABULA_SOAK_CALLS ?? 100_000);
const BUDGET_MS = Number(process.env.TABULA_SOAK_BUDGET_MS ?? 50_000);
const IN_FLIGHT = 8;
const ROWS = 200;
/** A call slower than this counts as hung (each call's own deadline is far longer). */
const CALL_HANG_MS = 20_000;
/** node:test timeout of each loop (budget plus setup): past it the test fails instead of hanging. */
const TEST_TIMEOUT_MS = BUDGET_MS + 35_000;

let server: ServerProcess;
let db: Tabula;

const key = (n: number) => `row${String(n % ROWS).padStart(4, '0')}`;

async function loadTable(name: string): Promise<Table> {
  await db.createTable(name, { families: { f: { maxVersions: 1 } } });
  const table = db.table(name);
  const entries = Array.from({ length: ROWS }, (_, n) => ({
    key: key(n),
    mutations: [setCellFq(1000, `v${n}`)],
  }));
  for (const r of await table.mutateRows(entries)) assert.equal(r.error, undefined);
  return table;
}

interface LoopResult {
  calls: number;
  failures: string[];
  slowestMs: number;
  seconds: number;
}

/** Runs `call(n)` for n = 0.. with IN_FLIGHT workers until CALLS or BUDGET_MS. */
async function loop(call: (n: number) => Promise<void>): Promise<LoopResult> {
  const startMs = performance.now();
  const failures: string[] = [];
  let next = 0;
  let slowestMs = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let n = next++; n < CALLS && performance.now() - startMs < BUDGET_MS; n = next++) {
        const t0 = performance.now();
        try {
          await call(n);
        } catch (err) {
          failures.push(`call ${n}: ${(err as Error).message}`);
        }
        slowestMs = Math.max(slowestMs, performance.now() - t0);
      }
    }),
  );
  const calls = Math.min(next, CALLS + IN_FLIGHT) - IN_FLIGHT;
  return { calls, failures, slowestMs, seconds: (performance.now() - startMs) / 1000 };
}

function report(what: string, r: LoopResult): void {
  console.log(
    `${what}: ${r.calls} calls in ${r.seconds.toFixed(1)} s = ${Math.round(r.calls / r.seconds)} calls/s, ` +
      `${r.failures.length} failed, slowest ${Math.round(r.slowestMs)} ms`,
  );
  assert.deepEqual(r.failures.slice(0, 5), [], `${r.failures.length} calls failed`);
  assert.ok(r.slowestMs < CALL_HANG_MS, `a call took ${Math.round(r.slowestMs)} ms`);
}

before(async () => {
  server = await startTabula();
  db = await connect(server.address);
});

after(async () => {
  await db?.close();
  await server?.stop();
  removeDataDir(server?.dataDir);
});

test('soak: mixed readRow / mutateRow calls through connect(), none fails or hangs', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const table = await loadTable('soak');
  const result = await loop(async (n) => {
    if (n % 2 === 0) {
      const row = await table.readRow(key(n));
      assert.ok(row !== undefined, `row ${key(n)} is there`);
    } else {
      await table.mutateRow(key(n), [setCellFq(undefined, `w${n}`)]);
    }
  });
  report('soak', result);
});

test('a client that cancels every stream after one row keeps working', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const table = await loadTable('cancel');
  const result = await loop(async () => {
    let rows = 0;
    for await (const _ of table.readRows({})) {
      rows++;
      break;
    }
    assert.equal(rows, 1);
  });
  report('cancel after first row', result);
  for (let n = 0; n < 100; n++)
    assert.ok((await table.readRow(key(n))) !== undefined, 'the last calls succeed');
});
