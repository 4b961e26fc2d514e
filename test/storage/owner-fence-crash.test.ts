/**
 * Crash states of a takeover (src/storage/owner-fence.ts, engine-recovery.ts): an engine A of epoch
 * 1 has written (some of it flushed, some only in its WAL); an engine B opens the directory with
 * epoch 2, writes and flushes. At every persistence point of B's fencing and takeover (each fsync,
 * directory fsync and rename), with and without a torn tail, the disk image must: open under
 * epoch 2 with every write A acknowledged and every write B acknowledged before the point; refuse
 * epoch 1 once B's fence is durable, and always once B's own manifest pointer is; and open again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SeededRand } from '../../src/common/clock.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { Engine, type EngineOptions } from '../../src/storage/engine.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { testSeeds, withSeed } from '../support/seed.js';

const WORKLOADS = 6;
const DIR = '/store';
const A_KEYS = 40;

interface Point {
  image: MemVfs;
  bAcked: number;
  label: string;
}

const key = (owner: string, i: number) => Buffer.from(`${owner}${String(i).padStart(3, '0')}`);

async function runWorkload(rand: SeededRand, seed: number): Promise<number> {
  const vfs = new MemVfs();
  const options = (v: MemVfs, ownerEpoch: number): EngineOptions => ({
    dir: DIR,
    vfs: v,
    rand,
    ownerEpoch,
    executor: 'inline',
    memtableBytes: 800 + rand.int(1200),
    blockBytes: 128,
  });
  const a = await Engine.open(options(vfs, 1));
  for (let i = 0; i < A_KEYS; i++) await a.put(key('a', i), Buffer.from(`v${seed}-${i}`));
  const points: Point[] = [];
  let bAcked = 0;
  vfs.onPersistencePoint = (kind, path) => {
    points.push({ image: vfs.crashImage(), bAcked, label: `${kind} ${path}` });
    points.push({
      image: vfs.crashImage({ tornTail: 'random', rand }),
      bAcked,
      label: `torn ${kind} ${path}`,
    });
  };
  const b = await Engine.open(options(vfs, 2));
  const bWrites = 5 + rand.int(10);
  for (let i = 0; i < bWrites; i++) {
    await b.put(key('b', i), Buffer.from('w'));
    bAcked = i + 1;
  }
  await b.flush();
  vfs.onPersistencePoint = undefined;
  await b.close();
  await assert.rejects(a.put(key('z', 0), Buffer.from('late')));
  await a.close();

  let fencedOnly = 0;
  for (const p of points) {
    const names = await p.image.list(DIR);
    if (names.includes('FENCE-2') && !names.includes('CURRENT-2')) fencedOnly++;
  }
  assert.ok(fencedOnly > 0, 'no crash point has the fence durable and the takeover not yet');
  for (const point of points) await checkImage(point, (v, e) => options(v, e), seed);
  return points.length;
}

async function checkImage(
  point: Point,
  options: (v: MemVfs, epoch: number) => EngineOptions,
  seed: number,
): Promise<void> {
  const where = `crash at ${point.label} (seed ${seed})`;
  const names = await point.image.list(DIR);
  const fenced = names.includes('FENCE-2');
  const tookOver = names.includes('CURRENT-2');
  assert.ok(fenced || !tookOver, `${where}: B's pointer is durable but its fence is not`);
  if (fenced) {
    await assert.rejects(
      Engine.open(options(point.image, 1)),
      (e) => hasCode(e, ErrorCode.FailedPrecondition),
      `${where}: epoch 1 opened a directory epoch 2 had fenced`,
    );
  }
  let recovered: Engine;
  try {
    recovered = await Engine.open(options(point.image, 2));
  } catch (err) {
    throw new Error(`${where}: epoch 2 failed to open: ${String(err)}`);
  }
  for (let i = 0; i < A_KEYS; i++) {
    assert.ok(recovered.get(key('a', i)), `${where}: A's acknowledged write ${i} is lost`);
  }
  for (let i = 0; i < point.bAcked; i++) {
    assert.ok(recovered.get(key('b', i)), `${where}: B's acknowledged write ${i} is lost`);
  }
  assert.equal(recovered.get(key('z', 0)), undefined, `${where}: A's post-fence write is visible`);
  await recovered.put(Buffer.from('after'), Buffer.from('ok'));
  await recovered.close();
  const again = await Engine.open(options(point.image, 3));
  assert.equal(again.get(Buffer.from('after'))?.toString(), 'ok', `${where}: lost after reopening`);
  await again.close();
}

test('every crash point of a takeover keeps both owners acknowledged writes and the fence', async () => {
  let total = 0;
  const seeds = testSeeds(WORKLOADS);
  for (const seed of seeds) total += await withSeed(seed, (rand) => runWorkload(rand, seed));
  assert.ok(total >= seeds.length * 10, `too few crash points exercised: ${total}`);
  console.log(`takeover crash states checked: ${total} over ${seeds.length} workloads`);
});
