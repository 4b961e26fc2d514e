/**
 * The differential suite with splitting forced: the same seeded workloads as differential.test.ts
 * against a Tabula whose split threshold is 4 KiB, so every seed's main table splits into several
 * tablets (and merges after deletes and drops) while the workload runs.
 *
 * Part of `npm test`; `npm run test:differential-split` runs it alone. Seeds are printed;
 * TABULA_SEED replays one; TABULA_SEEDS=a,b,c,d replays a whole run side by side.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { removeDataDir, type ServerProcess, startEmulator, startTabula } from '../support/server-process.js';
import { BigtableClient } from './bigtable-client.js';
import type { Endpoint } from './differential-runner.js';
import { OPERATIONS_MIN, runAndCheck } from './differential-suite.js';
import { seedTables } from './workload.js';

/** Split threshold of the run: small enough that every seed's main table splits many times. */
const FORCED_SPLIT_THRESHOLD = '4KiB';
const SUITE_TIMEOUT_MS = 900_000;

const servers: ServerProcess[] = [];
const endpoints: Endpoint[] = [];

async function start(kind: 'emulator' | 'tabula'): Promise<Endpoint> {
  const server =
    kind === 'emulator'
      ? await startEmulator()
      : await startTabula({ args: ['--split-threshold-bytes', FORCED_SPLIT_THRESHOLD] });
  servers.push(server);
  const endpoint = {
    label: kind,
    client: new BigtableClient(server.address),
    isEmulator: kind === 'emulator',
  };
  endpoints.push(endpoint);
  return endpoint;
}

describe('differential with splitting forced', { timeout: SUITE_TIMEOUT_MS }, () => {
  after(async () => {
    for (const e of endpoints) e.client.close();
    for (const s of servers) {
      await s.stop();
      removeDataDir(s.dataDir);
    }
  });

  it(`with splitting forced (threshold ${FORCED_SPLIT_THRESHOLD}) tabula still agrees on >= ${OPERATIONS_MIN} operations`, async () => {
    const emulator = await start('emulator');
    const tabula = await start('tabula');
    const seeds = await runAndCheck(emulator, tabula, 'emulator vs tabula, splitting forced');
    // The run must really have been split: each sample past the first boundary is a tablet edge.
    const samples: number[] = [];
    for (const seed of seeds) {
      const outcome = await tabula.client.sampleRowKeys({ tableName: seedTables(seed).main });
      samples.push(outcome.ok ? outcome.value : 0);
    }
    console.log(`samples per main table with splitting forced: ${samples.join(', ')}`);
    assert.ok(
      samples.some((n) => n >= 3),
      `no main table split (samples: ${samples.join(', ')})`,
    );
  });
});
