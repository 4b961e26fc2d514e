/**
 * The differential suite: seeded random workloads of every data RPC, run in lock-step against
 * Tabula and the official emulator, with every response compared exactly except where an
 * intended difference (intended-differences.ts, docs/differential.md) explains it.
 *
 * Seeds are printed; TABULA_SEED replays one. The self-check runs the emulator against a second
 * emulator with one response deliberately altered, and requires that exactly that response is
 * reported — so the comparison can fail, and the harness itself adds no noise.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testSeeds } from '../support/seed.js';
import { removeDataDir, type ServerProcess, startEmulator, startTabula } from '../support/server-process.js';
import { BigtableClient } from './bigtable-client.js';
import { type Endpoint, failureMessage, runSeed } from './differential-runner.js';
import { OPERATIONS_MIN, runAndCheck } from './differential-suite.js';
import type { OutcomeView } from './outcome-view.js';
import type { Operation } from './workload.js';

/** Added to the self-check's seed so it never equals a seed of the main run (see below). */
const SELF_CHECK_SEED_OFFSET = 1;
/** Operations of the self-check run. */
const SELF_CHECK_OPERATIONS = 400;
const SUITE_TIMEOUT_MS = 300_000;

const servers: ServerProcess[] = [];

async function start(kind: 'emulator' | 'tabula'): Promise<Endpoint> {
  const server = kind === 'emulator' ? await startEmulator() : await startTabula();
  servers.push(server);
  return { label: kind, client: new BigtableClient(server.address), isEmulator: kind === 'emulator' };
}

/** Alters the value of the first cell of the first non-empty read at or after `fromIndex`, once. */
function tamperOnce(fromIndex: number): {
  tamper: (op: Operation, v: OutcomeView, i: number) => OutcomeView;
  tampered: () => number;
} {
  let tampered = -1;
  const tamper = (op: Operation, view: OutcomeView, index: number): OutcomeView => {
    const first = view.rows?.[0]?.cells[0];
    if (
      tampered >= 0 ||
      index < fromIndex ||
      op.rpc !== 'ReadRows' ||
      first === undefined ||
      view.rows === undefined
    )
      return view;
    tampered = index;
    const [row, ...rest] = view.rows;
    const cells = [{ ...first, value: `${first.value}!` }, ...(row?.cells.slice(1) ?? [])];
    return { ...view, rows: [{ key: row?.key ?? '', cells }, ...rest] };
  };
  return { tamper, tampered: () => tampered };
}

describe('differential: Tabula vs the official emulator', { timeout: SUITE_TIMEOUT_MS }, () => {
  let emulator: Endpoint;
  const endpoints: Endpoint[] = [];

  before(async () => {
    emulator = await start('emulator');
    endpoints.push(emulator);
  });

  after(async () => {
    for (const e of endpoints) e.client.close();
    for (const s of servers) {
      await s.stop();
      removeDataDir(s.dataDir);
    }
  });

  it('self-check: emulator vs emulator reports exactly one deliberately altered response', async () => {
    const second = await start('emulator');
    endpoints.push(second);
    const { tamper, tampered } = tamperOnce(SELF_CHECK_OPERATIONS / 2);
    // Offset from the drawn (or replayed) seed: the self-check's tables live on the same emulator
    // as the main run's, and a replay of the main run's seeds must not find them there already.
    const seed = ((testSeeds(1)[0] as number) + SELF_CHECK_SEED_OFFSET) >>> 0;
    const result = await runSeed({
      seed,
      operations: SELF_CHECK_OPERATIONS,
      emulator,
      candidate: second,
      tamper,
    });
    assert.ok(tampered() >= 0, 'no response was altered');
    assert.equal(result.unexplainedCount, 1, `expected only op#${tampered()} to differ`);
    assert.equal(result.unexplained[0]?.index, tampered());
    // A failed run's message names the seeds to replay and the difference itself.
    const message = failureMessage([result], [seed]);
    assert.match(message, new RegExp(`^1 unexplained differences \\(replay with TABULA_SEEDS=${seed}\\)`));
    assert.ok(message.includes(`op#${tampered()} ReadRows`), message);
  });

  it(`tabula agrees with the emulator on >= ${OPERATIONS_MIN} operations`, async () => {
    const tabula = await start('tabula');
    endpoints.push(tabula);
    await runAndCheck(emulator, tabula, 'emulator vs tabula');
  });
});
