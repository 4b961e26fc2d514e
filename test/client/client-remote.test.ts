// The behavioural suite against `connect()` to a `tabula serve` child process, and the proof that
// the two modes are interchangeable: one scripted workload gives identical results on both.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Tabula } from '../../src/client/index.js';
import { connect, open } from '../../src/client/index.js';
import type { TabulaError } from '../../src/common/errors.js';
import { removeDataDir, type ServerProcess, startTabula } from '../support/server-process.js';
import { behaviourSuite } from './behaviour-suite.js';
import { workloadTranscript } from './workload-transcript.js';

let server: ServerProcess;
let db: Tabula;

before(async () => {
  server = await startTabula();
  db = await connect(server.address, { project: 'p', instance: 'i' });
});

after(async () => {
  await db?.close();
  await server?.stop();
  removeDataDir(server?.dataDir);
});

behaviourSuite('remote', () => db);

test('remote and embedded give identical results for one workload', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-client-same-'));
  const embedded = await open(dir);
  try {
    const local = await workloadTranscript(embedded, 'same_t');
    const remote = await workloadTranscript(db, 'same_t');
    assert.equal(db.mode, 'remote');
    assert.deepEqual(remote, local);
  } finally {
    await embedded.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('remote: connection errors and closed clients', async () => {
  await assert.rejects(connect('not an address'), (e: TabulaError) => e.code === 'INVALID_ARGUMENT');
  await assert.rejects(
    connect('127.0.0.1:1', { connectTimeoutMs: 300 }),
    (e: TabulaError) => e.code === 'UNAVAILABLE',
  );
  const other = await connect(server.address);
  await other.close();
  await assert.rejects(other.listTables(), (e: TabulaError) => e.code === 'FAILED_PRECONDITION');
});
