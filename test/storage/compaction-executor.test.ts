/**
 * The worker-thread executor reports each worker's own memory, between jobs; the inline executor
 * has no workers to report.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InlineExecutor, WorkerExecutor } from '../../src/storage/compaction-executor.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';

test('each compaction worker reports its own heap; inline execution reports none', async () => {
  const executor = new WorkerExecutor();
  try {
    const memory = await executor.workerMemory();
    assert.equal(memory.length, 2, 'one figure per worker (flush and compaction)');
    for (const m of memory) {
      assert.ok(m.heapUsed > 0 && m.heapTotal >= m.heapUsed, JSON.stringify(m));
      assert.ok(m.arrayBuffers >= 0 && m.external >= m.arrayBuffers, JSON.stringify(m));
    }
  } finally {
    await executor.close();
  }
  assert.deepEqual(await new InlineExecutor(new MemVfs()).workerMemory(), []);
});

test('a request to a worker that is gone fails at once instead of waiting forever', async () => {
  const executor = new WorkerExecutor();
  await executor.workerMemory();
  await executor.close();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    executor.workerMemory().then(
      () => 'answered',
      (err: Error) => `failed: ${err.message}`,
    ),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('still waiting'), 2_000);
    }),
  ]);
  clearTimeout(timer);
  assert.match(outcome, /^failed: compaction worker exited/);
});
