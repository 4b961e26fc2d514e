/**
 * The check both differential suites make: SEED_COUNT seeds run side by side against the emulator
 * and a candidate, every report printed, and the run failed unless it made OPERATIONS_MIN
 * operations with no unexplained difference (the message names the seeds to replay).
 */
import assert from 'node:assert/strict';
import { testSeeds } from '../support/seed.js';
import {
  describeDifference,
  type Endpoint,
  failureMessage,
  type RunReport,
  runSeed,
} from './differential-runner.js';
import { printSummary } from './differential-summary.js';

/** Seeds per run; they run concurrently on distinct tables. */
export const SEED_COUNT = 4;
/** Operations per seed: SEED_COUNT × this ≥ OPERATIONS_MIN. */
const OPERATIONS_PER_SEED = 5_000;
export const OPERATIONS_MIN = 20_000;

/** Prints each seed's unexplained differences and the summary under `title`. */
export function report(reports: readonly RunReport[], title: string): void {
  for (const r of reports) {
    console.log(`seed ${r.seed} (replay with TABULA_SEED=${r.seed}): ${r.unexplainedCount} unexplained`);
    for (const d of r.unexplained) console.log(describeDifference(d));
  }
  printSummary(title, reports, (line) => console.log(line));
}

/** Runs the seeds against `candidate`, reports, and asserts; returns the seeds it ran. */
export async function runAndCheck(emulator: Endpoint, candidate: Endpoint, title: string): Promise<number[]> {
  const seeds = testSeeds(SEED_COUNT);
  // A single replayed seed gets all the operations, so the run still reaches OPERATIONS_MIN.
  const operations =
    process.env.TABULA_SEED === undefined ? OPERATIONS_PER_SEED : OPERATIONS_PER_SEED * SEED_COUNT;
  const reports = await Promise.all(seeds.map((seed) => runSeed({ seed, operations, emulator, candidate })));
  report(reports, title);
  const total = reports.flatMap((r) => [...r.operationsByRpc.values()]).reduce((a, b) => a + b, 0);
  assert.ok(total >= OPERATIONS_MIN, `only ${total} operations ran`);
  const unexplained = reports.reduce((n, r) => n + r.unexplainedCount, 0);
  assert.equal(unexplained, 0, failureMessage(reports, seeds));
  return seeds;
}
