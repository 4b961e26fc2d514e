/**
 * Crash-state test: run a workload on the in-memory VFS and, at every persistence point (each
 * fsync, directory fsync and rename), take the disk image a power loss would leave — also with a
 * torn, partially persisted tail. Recover every image and require that the store opens, holds every
 * write acknowledged before that point, and equals the state after some prefix of the issued writes
 * (no holes). Finally the recovered store must accept a new write and reopen again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SeededRand } from '../../src/common/clock.js';
import { Engine, type EngineOptions } from '../../src/storage/engine.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { WriteBatch } from '../../src/storage/write-batch.js';
import { testSeeds, withSeed } from '../support/seed.js';

const WORKLOADS = 24;
const OPS_PER_WORKLOAD = 90;
const DIR = '/store';

type Op = (batch: WriteBatch, model: Map<string, string>) => void;

function randomOp(rand: SeededRand): Op {
  const key = () => `k${String(rand.int(40)).padStart(2, '0')}`;
  const parts: Op[] = [];
  for (let i = rand.int(3) === 0 ? 1 + rand.int(6) : 1; i > 0; i--) {
    const r = rand.int(10);
    const k = key();
    if (r < 7) {
      const v = `${k}:${rand.int(1_000_000)}:${'x'.repeat(rand.int(80))}`;
      parts.push((b, m) => {
        b.put(Buffer.from(k), Buffer.from(v));
        m.set(k, v);
      });
    } else if (r < 9) {
      parts.push((b, m) => {
        b.delete(Buffer.from(k));
        m.delete(k);
      });
    } else {
      const k2 = key();
      const [lo, hi] = k < k2 ? [k, k2] : [k2, `${k}~`];
      parts.push((b, m) => {
        b.deleteRange(Buffer.from(lo), Buffer.from(hi));
        for (const mk of [...m.keys()]) if (mk >= lo && mk < hi) m.delete(mk);
      });
    }
  }
  return (b, m) => {
    for (const p of parts) p(b, m);
  };
}

function render(m: Map<string, string>): string {
  return [...m.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

async function readAll(engine: Engine): Promise<string> {
  const m = new Map<string, string>();
  for (const [k, v] of engine.scan()) m.set(k.toString(), v.toString());
  return render(m);
}

interface CrashPoint {
  image: MemVfs;
  acked: number;
  label: string;
}

async function runWorkload(rand: SeededRand, seed: number): Promise<number> {
  const vfs = new MemVfs();
  const options = (v: MemVfs): EngineOptions => ({
    dir: DIR,
    vfs: v,
    rand,
    memtableBytes: 1500,
    l0CompactionTrigger: 2,
    level1Bytes: 3000,
    targetFileBytes: 1200,
    blockBytes: 128,
  });
  const points: CrashPoint[] = [];
  let acked = 0;
  vfs.onPersistencePoint = (kind, path) => {
    points.push({ image: vfs.crashImage(), acked, label: `${kind} ${path}` });
    if (rand.int(3) === 0)
      points.push({
        image: vfs.crashImage({ tornTail: 'random', rand }),
        acked,
        label: `torn ${kind} ${path}`,
      });
  };
  // states[p] = the model after the first p operations.
  const model = new Map<string, string>();
  const states: string[] = [render(model)];
  let engine = await Engine.open(options(vfs));
  for (let i = 0; i < OPS_PER_WORKLOAD; i++) {
    const batch = new WriteBatch();
    randomOp(rand)(batch, model);
    states.push(render(model));
    await engine.write(batch);
    acked = i + 1;
    if (rand.int(40) === 0) {
      await engine.close();
      engine = await Engine.open(options(vfs));
    }
  }
  await engine.close();
  vfs.onPersistencePoint = undefined;

  for (const point of points) {
    let recovered: Engine;
    try {
      recovered = await Engine.open(options(point.image));
    } catch (err) {
      throw new Error(`store failed to open after crash at ${point.label} (seed ${seed}): ${String(err)}`);
    }
    const state = await readAll(recovered);
    const prefix = states.findIndex((s, p) => p >= point.acked && s === state);
    assert.ok(
      prefix >= 0,
      `crash at ${point.label}: recovered state is not a prefix holding the ${point.acked} acknowledged writes`,
    );
    await recovered.put(Buffer.from('after-crash'), Buffer.from('ok'));
    await recovered.close();
    const again = await Engine.open(options(point.image));
    assert.equal(again.get(Buffer.from('after-crash'))?.toString(), 'ok');
    await again.close();
  }
  return points.length;
}

test('every crash point of every workload recovers a prefix with all acknowledged writes', async () => {
  let total = 0;
  const seeds = testSeeds(WORKLOADS);
  for (const seed of seeds) total += await withSeed(seed, (rand) => runWorkload(rand, seed));
  assert.ok(total >= seeds.length * 20, `too few crash points exercised: ${total}`);
  console.log(`crash states checked: ${total} over ${seeds.length} workloads`);
});
