/**
 * Runs the differential suite by hand and prints its report:
 *
 *   node dist/test/differential/differential-cli.js [--candidate tabula|emulator|HOST:PORT]
 *        [--operations N] [--seeds N]
 *
 * `--candidate emulator` compares the emulator with a second emulator (must show zero
 * unexplained differences: a check of the harness itself). TABULA_SEED replays one seed.
 */

import { testSeeds } from '../support/seed.js';
import { removeDataDir, type ServerProcess, startEmulator, startTabula } from '../support/server-process.js';
import { BigtableClient } from './bigtable-client.js';
import { describeDifference, type Endpoint, type RunReport, runSeed } from './differential-runner.js';
import { printSummary } from './differential-summary.js';

/** Defaults of a manual run. */
const DEFAULT_OPERATIONS_PER_SEED = 7_000;
const DEFAULT_SEEDS = 3;

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function candidateEndpoint(kind: string, started: ServerProcess[]): Promise<Endpoint> {
  if (kind === 'emulator' || kind === 'tabula') {
    const server = kind === 'emulator' ? await startEmulator() : await startTabula();
    started.push(server);
    return { label: kind, client: new BigtableClient(server.address), isEmulator: kind === 'emulator' };
  }
  return { label: kind, client: new BigtableClient(kind), isEmulator: false };
}

async function main(): Promise<void> {
  const started: ServerProcess[] = [];
  const reference = await startEmulator();
  started.push(reference);
  const emulator: Endpoint = {
    label: 'emulator',
    client: new BigtableClient(reference.address),
    isEmulator: true,
  };
  const candidate = await candidateEndpoint(argument('candidate') ?? 'tabula', started);
  const operations = Number(argument('operations') ?? DEFAULT_OPERATIONS_PER_SEED);
  const reports: RunReport[] = [];
  try {
    const seeds = testSeeds(Number(argument('seeds') ?? DEFAULT_SEEDS));
    const began = performance.now();
    // Seeds use distinct tables, so they run concurrently; each seed's operations stay in order.
    reports.push(
      ...(await Promise.all(seeds.map((seed) => runSeed({ seed, operations, emulator, candidate })))),
    );
    for (const report of reports) {
      console.log(
        `seed ${report.seed} (replay with TABULA_SEED=${report.seed}): ${report.unexplainedCount} unexplained`,
      );
      for (const d of report.unexplained) console.log(describeDifference(d));
    }
    console.log(`${((performance.now() - began) / 1000).toFixed(1)} s`);
    printSummary(`emulator vs ${candidate.label}`, reports, console.log);
  } finally {
    emulator.client.close();
    candidate.client.close();
    for (const s of started) {
      await s.stop();
      removeDataDir(s.dataDir);
    }
  }
}

await main();
