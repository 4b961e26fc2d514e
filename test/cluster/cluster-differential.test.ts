/**
 * The differential suite through a cluster: the same seeded workloads as
 * test/differential/differential.test.ts, side by side against the official emulator and against
 * one tablet server of a cluster (etcd, a master and three tablet servers, real processes). Every
 * table the suite creates is pre-split (the emulator's are not: splits do not change what a client
 * sees), so its tablets spread over all three servers and most calls cross servers: writes and
 * reads of rows another server owns, CheckAndMutateRow with predicates forwarded whole,
 * SampleRowKeys from every owner. The test prints how many tablets each server holds.
 *
 * Part of `npm test`. Seeds are printed; TABULA_SEED replays one; TABULA_SEEDS=a,b,c,d a whole run.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { BigtableClient, type Message, type Outcome } from '../differential/bigtable-client.js';
import type { Endpoint } from '../differential/differential-runner.js';
import { OPERATIONS_MIN, runAndCheck } from '../differential/differential-suite.js';
import { type ServerProcess, startEmulator } from '../support/server-process.js';
import { LocalCluster } from './cluster-processes.js';

const SUITE_TIMEOUT_MS = 900_000;
const SERVERS = 3;
/** Split points by table kind: between the workload's row keys (test/differential/key-space.ts). */
const SPLITS: ReadonlyMap<string, readonly Buffer[]> = new Map([
  ['main', ['k04', 'k08', 'k12', 'k\xff'].map((k) => Buffer.from(k, 'latin1'))],
  ['gc', ['k04', 'k08', 'k12', 'k\xff'].map((k) => Buffer.from(k, 'latin1'))],
  ['scratch', ['s2', 's5'].map((k) => Buffer.from(k))],
]);
/** Fewest tablets each server must hold for the run to count as spread. */
const TABLETS_PER_SERVER_MIN = 4;

/** A client whose CreateTable pre-splits the table by its kind (the part of its id before `-`). */
class PreSplittingClient extends BigtableClient {
  override createTable(request: Message): Promise<Outcome<Message>> {
    const kind = String(request.tableId).split('-')[0] ?? '';
    const splits = SPLITS.get(kind) ?? [];
    return super.createTable({ ...request, initialSplits: splits.map((key) => ({ key })) });
  }
}

let emulator: ServerProcess | undefined;
let cluster: LocalCluster | undefined;
const endpoints: Endpoint[] = [];

describe('differential through a cluster', { timeout: SUITE_TIMEOUT_MS }, () => {
  after(async () => {
    for (const e of endpoints) e.client.close();
    await emulator?.stop();
    await cluster?.destroy();
  });

  it(`a cluster of ${SERVERS} tablet servers agrees with the emulator on >= ${OPERATIONS_MIN} operations`, async () => {
    emulator = await startEmulator();
    cluster = await LocalCluster.start(SERVERS);
    const reference: Endpoint = {
      label: 'emulator',
      client: new BigtableClient(emulator.address),
      isEmulator: true,
    };
    // Through the second server: its own tablets are a third of each table at most.
    const candidate: Endpoint = {
      label: 'cluster',
      client: new PreSplittingClient(cluster.servers[1]?.address as string),
      isEmulator: false,
    };
    endpoints.push(reference, candidate);
    const startedMs = Date.now();
    await runAndCheck(reference, candidate, 'emulator vs a cluster of 3 tablet servers');
    const byServer = await cluster.tabletsByServer();
    const counts = cluster.servers.map((s) => `${s.name}=${byServer.get(s.serverId) ?? 0}`);
    console.log(
      `tablets per server: ${counts.join(' ')}; run took ${Math.round((Date.now() - startedMs) / 1000)} s`,
    );
    for (const s of cluster.servers) {
      const n = byServer.get(s.serverId) ?? 0;
      assert.ok(n >= TABLETS_PER_SERVER_MIN, `${s.name} holds only ${n} tablets: ${counts.join(' ')}`);
    }
  });
});
