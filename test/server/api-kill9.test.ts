/**
 * Durability through the API: a real kill -9 loop on the `tabula serve` process. Each cycle:
 *
 *   1. starts a writer child (test/support/api-writer-child.ts: 6 writers over MutateRow/MutateRows,
 *      one operation in flight each, logging `issue`/`ack` lines) which waits for the address;
 *   2. sometimes SIGKILLs a server while it is still opening the data directory (recovery);
 *   3. starts `tabula serve` on the same data directory (creating the table on the first cycle);
 *   4. reads the whole table through ReadRows and checks the PREVIOUS cycle exactly
 *      (test/support/api-kill9-model.ts `verifyCycle`): every acknowledged write present with the
 *      right value, every in-flight operation applied all-or-nothing per row, nothing else;
 *   5. lets the writer go and SIGKILLs the SERVER at a seeded random moment (after a random number of
 *      acks, or a random delay), then SIGKILLs the writer (before any new server exists, so no
 *      request of this cycle can reach the next server).
 *
 * A write the server answered with an error while it was healthy fails the test. The checker is
 * itself checked: on synthetic logs, and at the end on the real server by damaging one acked row.
 *
 * Replay with TABULA_SEED=<seed>; TABULA_API_KILL9_CYCLES sets the cycles (default 30). Kill timing
 * is seeded, but real time decides how far the writers got, so a replay repeats the plan, not every
 * byte.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SeededRand } from '../../src/common/clock.js';
import {
  connectData,
  connectTableAdmin,
  createTable,
  readRows,
  tableName,
  unary,
} from '../support/api-client.js';
import {
  applyEntry,
  type CycleLog,
  KILL9_FAMILIES,
  opFor,
  parseOpId,
  stateFromRows,
  type TableState,
  verifyCycle,
} from '../support/api-kill9-model.js';
import type { WriterChildConfig } from '../support/api-writer-child.js';
import { testSeeds, withSeed } from '../support/seed.js';
import { freePort, removeDataDir, type ServerProcess, startTabula } from '../support/server-process.js';

const CYCLES_DEFAULT = 30;
const WRITERS = 6;
const TABLE_ID = 'kill9';
const ACK_TARGET_MAX = 150;
/** Share of cycles where the server is killed a random time after the writer starts. */
const TIMED_KILL_PROBABILITY = 0.25;
const TIMED_KILL_DELAY_MS_MAX = 300;
/** Share of cycles that also kill a server while it opens the data directory. */
const RECOVERY_KILL_PROBABILITY = 0.1;
/** Start-up takes ~1-3 s (module and proto loading, then recovery), so kills land all through it. */
const RECOVERY_KILL_DELAY_MS_MAX = 2_000;
const CYCLE_TIMEOUT_MS = 20_000;
const WRITER_LIFETIME_MS = 60_000;
/**
 * A hang guard, not the budget: on a quiet 2-core machine 30 cycles take well under 90 s, but each
 * cycle starts the server (~1-4 s of module and proto loading and recovery, depending on load).
 */
const TEST_TIMEOUT_MS = 170_000;
const PROGRESS_EVERY_CYCLES = 5;
const HERE = dirname(fileURLToPath(import.meta.url));
const WRITER_PATH = join(HERE, '..', 'support', 'api-writer-child.js');
const CLI_PATH = join(HERE, '..', '..', 'src', 'cli', 'main.js');

/** When to kill the server: after `acks` acknowledgements, or `delayMs` after the writer starts. */
type KillPlan = { acks: number } | { delayMs: number };

/** A cycle's log plus what went wrong or was tolerated. */
interface CycleRun extends CycleLog {
  failedWhileHealthy: string[];
  failedAfterKill: number;
}

function killPlan(rand: SeededRand): KillPlan {
  if (rand.next() < TIMED_KILL_PROBABILITY) return { delayMs: rand.int(TIMED_KILL_DELAY_MS_MAX) };
  return { acks: 1 + rand.int(ACK_TARGET_MAX) };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('close', () => resolve()));
}

function spawnWriter(config: WriterChildConfig): ChildProcess {
  return spawn(process.execPath, [WRITER_PATH, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Starts a server on `dataDir` and SIGKILLs it `delayMs` later, wherever it is in its start-up. */
async function killDuringStartup(dataDir: string, delayMs: number): Promise<void> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--port', String(port), '--data', dataDir], {
    stdio: 'ignore',
  });
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  child.kill('SIGKILL');
  await exited(child);
}

/** Lets the writer go, kills the server per `plan`, then the writer; resolves with the log. */
function driveWriter(writer: ChildProcess, server: ServerProcess, plan: KillPlan): Promise<CycleRun> {
  const run: CycleRun = { issued: [], acked: new Set(), failedWhileHealthy: [], failedAfterKill: 0 };
  let stderr = '';
  let killing: Promise<void> | undefined;
  let timedOut = false;
  const killBoth = () => {
    killing ??= server.kill().then(() => {
      writer.kill('SIGKILL');
    });
  };
  const onTimeout = () => {
    timedOut = true;
    killBoth();
  };
  const timers = [setTimeout(onTimeout, CYCLE_TIMEOUT_MS)];
  if ('delayMs' in plan) timers.push(setTimeout(killBoth, plan.delayMs));
  writer.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  createInterface({ input: writer.stdout as NonNullable<ChildProcess['stdout']> }).on('line', (line) => {
    const [kind, id, code] = line.split(' ');
    if (kind === 'issue' && id) run.issued.push(id);
    else if (kind === 'ack' && id) run.acked.add(id);
    else if (kind === 'fail' && killing === undefined) run.failedWhileHealthy.push(`${id} ${code}`);
    else if (kind === 'fail') run.failedAfterKill++;
    if ('acks' in plan && run.acked.size >= plan.acks) killBoth();
    if (run.failedWhileHealthy.length > 0) killBoth();
  });
  writer.stdin?.end(`go ${server.address}\n`);
  return new Promise((resolve, reject) => {
    writer.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      void (killing ?? Promise.resolve()).then(() => {
        if (timedOut) reject(new Error(`no progress for ${CYCLE_TIMEOUT_MS} ms: ${stderr}`));
        else if (killing === undefined) reject(new Error(`writer exited (${code ?? signal}): ${stderr}`));
        else resolve(run);
      });
    });
  });
}

async function readState(address: string): Promise<TableState> {
  const client = connectData(address);
  try {
    return stateFromRows(await readRows(client, TABLE_ID));
  } finally {
    client.close();
  }
}

async function createKill9Table(address: string): Promise<void> {
  const admin = connectTableAdmin(address);
  try {
    await createTable(admin, TABLE_ID, [...KILL9_FAMILIES]);
  } finally {
    admin.close();
  }
}

/** Next counter per writer: one past the highest issued, so operation ids never repeat. */
function advanceCounters(counters: number[], issued: string[]): void {
  for (const id of issued) {
    const { worker, counter } = parseOpId(id);
    counters[worker] = Math.max(counters[worker] as number, counter + 1);
  }
}

/** Proves the checker fails on the real server: delete one column of a present row, expect an error. */
async function checkerFlagsDamage(server: ServerProcess, state: TableState): Promise<void> {
  const victim = [...state.keys()].find((k) => k.startsWith('p/'));
  assert.ok(victim, 'no primary row to damage');
  const client = connectData(server.address);
  try {
    await unary(client, 'MutateRow', {
      tableName: tableName(TABLE_ID),
      rowKey: Buffer.from(victim, 'latin1'),
      mutations: [{ deleteFromFamily: { familyName: 'f1' } }, { deleteFromFamily: { familyName: 'f2' } }],
    });
  } finally {
    client.close();
  }
  const damaged = await readState(server.address);
  assert.throws(() => verifyCycle(state, { issued: [], acked: new Set() }, damaged), /differs|lost/);
}

test('checker flags a lost ack, a half-applied row, a wrong value and a stray row', () => {
  const log: CycleLog = { issued: ['w0-0', 'w1-0', 'w0-1'], acked: new Set(['w0-0', 'w1-0']) };
  const full = new Map<string, ReadonlyMap<string, string>>();
  for (const id of log.issued) {
    const { worker, counter } = parseOpId(id);
    for (const e of opFor(worker, counter).entries) {
      const after = applyEntry(full.get(e.rowKey), e);
      if (after) full.set(e.rowKey, after);
      else full.delete(e.rowKey);
    }
  }
  assert.equal(verifyCycle(new Map(), log, full).inFlightRowsApplied > 0, true);
  const inFlightRow = opFor(0, 1).entries[0]?.rowKey as string;
  const withoutInFlight = new Map(full);
  withoutInFlight.delete(inFlightRow);
  assert.equal(verifyCycle(new Map(), log, withoutInFlight).inFlightRowsApplied >= 0, true);
  const lost = new Map(withoutInFlight);
  lost.delete(opFor(1, 0).entries[0]?.rowKey as string);
  assert.throws(() => verifyCycle(new Map(), log, lost), /acknowledged write w1-0 lost/);
  const half = new Map(full);
  const partial = new Map(full.get(inFlightRow));
  partial.delete([...partial.keys()][0] as string);
  half.set(inFlightRow, partial.size > 0 ? partial : new Map([['f1\u0000x\u00001000', 'x']]));
  assert.throws(() => verifyCycle(new Map(), log, half), /half-applied/);
  const ackedRow = opFor(1, 0).entries[0]?.rowKey as string;
  const wrong = new Map(full).set(ackedRow, new Map([['f1\u0000q0\u00001000', 'wrong']]));
  assert.throws(() => verifyCycle(new Map(), log, wrong), /lost or wrong/);
  const stray = new Map(full).set('p/w9/x', new Map([['f1\u0000q\u00001000', 'x']]));
  assert.throws(() => verifyCycle(new Map(), log, stray), /differs from the model/);
});

test('kill -9 of tabula serve: every acknowledged write survives, rows are atomic', {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const [seed] = testSeeds(1) as [number];
  const cycles = Number(process.env.TABULA_API_KILL9_CYCLES ?? CYCLES_DEFAULT);
  t.diagnostic(`seed ${seed} (replay with TABULA_SEED=${seed}), ${cycles} cycles`);
  const dataDir = mkdtempSync(join(tmpdir(), 'tabula-api-kill9-'));
  const started = performance.now();
  try {
    await withSeed(seed, async (rand) => {
      const summary = await killLoop(dataDir, cycles, rand, (m) => t.diagnostic(m));
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      t.diagnostic(`api kill-9 summary: ${summary}, ${seconds} s`);
    });
  } finally {
    removeDataDir(dataDir);
  }
});

/** The loop itself; returns a one-line summary. */
async function killLoop(
  dataDir: string,
  cycles: number,
  rand: SeededRand,
  progress: (message: string) => void,
): Promise<string> {
  const loopStarted = performance.now();
  let state: TableState = new Map();
  let log: CycleLog = { issued: [], acked: new Set() };
  const counters = Array.from({ length: WRITERS }, () => 0);
  const totals = { acked: 0, inFlightApplied: 0, recoveryKills: 0, failedAfterKill: 0, startMs: 0 };
  for (let cycle = 0; cycle <= cycles; cycle++) {
    const last = cycle === cycles;
    if (cycle % PROGRESS_EVERY_CYCLES === 0) {
      progress(`cycle ${cycle} at ${((performance.now() - loopStarted) / 1000).toFixed(1)} s`);
    }
    const writer = last
      ? undefined
      : spawnWriter({ tableId: TABLE_ID, startCounters: [...counters], lifetimeMs: WRITER_LIFETIME_MS });
    try {
      if (cycle > 0 && rand.next() < RECOVERY_KILL_PROBABILITY) {
        totals.recoveryKills++;
        await killDuringStartup(dataDir, rand.int(RECOVERY_KILL_DELAY_MS_MAX));
      }
      const startedAt = performance.now();
      const server = await startTabula({ dataDir }).catch((err: Error) => {
        throw new Error(`cycle ${cycle}: the server failed to start: ${err.message}`);
      });
      totals.startMs += performance.now() - startedAt;
      try {
        if (cycle === 0) await createKill9Table(server.address);
        const checked = verifyCycle(state, log, await readState(server.address));
        state = checked.state;
        totals.inFlightApplied += checked.inFlightRowsApplied;
        if (last) {
          await checkerFlagsDamage(server, state);
          break;
        }
        const run = await driveWriter(writer as ChildProcess, server, killPlan(rand));
        assert.deepEqual(run.failedWhileHealthy, [], 'writes failed while the server was healthy');
        log = run;
        totals.acked += run.acked.size;
        totals.failedAfterKill += run.failedAfterKill;
        advanceCounters(counters, run.issued);
      } finally {
        await (last ? server.stop() : server.kill());
      }
    } catch (err) {
      if (err instanceof Error) err.message = `cycle ${cycle}: ${err.message}`;
      throw err;
    } finally {
      writer?.kill('SIGKILL');
    }
  }
  assert.ok(totals.acked > 0, 'no write was ever acknowledged');
  return (
    `${cycles} cycles, ${totals.acked} acked writes verified, 0 lost, ` +
    `${totals.inFlightApplied} in-flight rows found applied (whole), ${totals.recoveryKills} kills during ` +
    `recovery, ${totals.failedAfterKill} writes failed after a kill, ${state.size} rows in the table, ` +
    `server start ${(totals.startMs / (cycles + 1)).toFixed(0)} ms on average`
  );
}
