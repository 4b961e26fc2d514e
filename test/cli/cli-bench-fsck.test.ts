// `bench` runs a few hundred operations of a YCSB workload and prints the latency histogram;
// `fsck` passes a clean stopped store and names the damaged file (and offset) when a byte of an
// SSTable or of a WAL is flipped, exiting 1.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RECOVERY_LOG_COPY_BYTES_MAX } from '../../src/common/limits.js';
import { removeDataDir, startTabula } from '../support/server-process.js';
import { runCli, runOk } from './cli-runner.js';

function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = (bytes[offset] as number) ^ 0xff;
  writeFileSync(path, bytes);
}

/** Files of every tablet store: `tables/<table>/<tablet>/*<suffix>`. */
function filesEndingWith(dir: string, suffix: string): string[] {
  const tables = join(dir, 'tables');
  return readdirSync(tables).flatMap((t) =>
    readdirSync(join(tables, t)).flatMap((tablet) =>
      readdirSync(join(tables, t, tablet))
        .filter((n) => n.endsWith(suffix))
        .map((n) => join(tables, t, tablet, n)),
    ),
  );
}

test('bench runs workloads and prints p50/p90/p99/max', async () => {
  const server = await startTabula();
  try {
    for (const workload of ['a', 'e', 'f']) {
      const result = await runOk(
        [
          'bench',
          '--workload',
          workload,
          '--records',
          '300',
          '--ops',
          '300',
          '--concurrency',
          '4',
          '--seed',
          '7',
        ],
        server.address,
      );
      assert.match(
        result.stdout,
        new RegExp(`^workload ${workload} .*seed 7\\n300 ops in [0-9.]+ s: [0-9]+ ops/s, 0 errors\\n`),
      );
      assert.match(result.stdout, /op +count +p50 ms +p90 ms +p99 ms +max ms\n/);
      assert.match(result.stdout, /\nall +300( +[0-9]+\.[0-9]{2}){4}\n$/);
    }
    assert.ok(Number((await runOk(['count', 'bench'], server.address)).stdout) >= 300);
  } finally {
    await server.stop();
    removeDataDir(server.dataDir);
  }
});

/** Bytes of each value the fsck test writes (one command-line argument each). */
const VALUE_BYTES = 100_000;

test('fsck passes a clean store and reports a damaged SSTable and WAL', async () => {
  const server = await startTabula();
  const dataDir = server.dataDir as string;
  try {
    await runOk(['tables', 'create', 't', '--family', 'f'], server.address);
    // More than RECOVERY_LOG_COPY_BYTES_MAX in all, so that the replay below is flushed.
    const rows = Math.ceil(RECOVERY_LOG_COPY_BYTES_MAX / VALUE_BYTES) + 2;
    for (let i = 0; i < rows; i++)
      await runOk(['set', 't', `row${i}`, `f:c=${String(i).padEnd(VALUE_BYTES, 'x')}`], server.address);
    await server.stop();
    // Opening the stopped store replays its WAL into an SSTable.
    await runOk(['status', '--data', dataDir]);
    const clean = await runOk(['fsck', '--data', dataDir]);
    assert.match(clean.stdout, /fsck: 2 stores, [0-9]+ files checked, 0 damaged\n$/);
    const [sst] = filesEndingWith(dataDir, '.sst');
    assert.ok(sst, 'an sstable was written');
    flipByte(sst, 10);
    const damaged = await runCli(['fsck', '--data', dataDir]);
    assert.equal(damaged.code, 1);
    assert.ok(
      damaged.stdout.includes(`damage: DATA_LOSS: sstable block is corrupt: path=\`${sst}\` offset=\`0\``),
      damaged.stdout,
    );
    assert.match(damaged.stderr, /^tabula: DATA_LOSS: 1 damaged file or record in /);
  } finally {
    removeDataDir(dataDir);
  }
});

test('fsck reports a damaged WAL record with its offset', async () => {
  const server = await startTabula();
  const dataDir = server.dataDir as string;
  try {
    await runOk(['tables', 'create', 't', '--family', 'f'], server.address);
    for (let i = 0; i < 5; i++) await runOk(['set', 't', `row${i}`, `f:c=value ${i}`], server.address);
    await server.kill();
    const [wal] = filesEndingWith(dataDir, '.log');
    assert.ok(wal, 'a wal exists');
    flipByte(wal, 20);
    const damaged = await runCli(['fsck', '--data', dataDir]);
    assert.equal(damaged.code, 1, damaged.stdout + damaged.stderr);
    assert.ok(
      damaged.stdout.includes(
        `damage: DATA_LOSS: log is corrupt: damaged fragment: path=\`${wal}\` offset=\`0\``,
      ),
      damaged.stdout,
    );
  } finally {
    removeDataDir(dataDir);
  }
});
