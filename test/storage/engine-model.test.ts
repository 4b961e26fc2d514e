/**
 * Model-based test of the engine: random operations against the engine and a plain sorted map,
 * under several option sets, with identical results required at every read.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SeededRand } from '../../src/common/clock.js';
import { Engine, type EngineOptions, type Snapshot } from '../../src/storage/engine.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { WriteBatch } from '../../src/storage/write-batch.js';
import { testSeeds, withSeed } from '../support/seed.js';

type Model = Map<string, Buffer>;

const OPTION_SETS: Record<string, Partial<EngineOptions>> = {
  tinyMemtable: { memtableBytes: 2 * 1024, compression: 'none' },
  tinyBlocks: { memtableBytes: 16 * 1024, blockBytes: 64, restartInterval: 2, compression: 'snappy' },
  compressedLz4: { memtableBytes: 8 * 1024, compression: 'lz4', bloomBitsPerKey: 4 },
  tinyCache: { memtableBytes: 8 * 1024, blockCacheBytes: 512, blockBytes: 256, bloomBitsPerKey: 0 },
  aggressiveCompaction: {
    memtableBytes: 4 * 1024,
    l0CompactionTrigger: 1,
    level1Bytes: 4 * 1024,
    targetFileBytes: 1024,
    blockBytes: 256,
  },
  // Bloom filters over the part of a key up to its first 00 byte; prefix scans skip tables.
  prefixFilter: { memtableBytes: 2 * 1024, blockBytes: 256, filterPrefix: { delimiter: Buffer.from([0]) } },
};

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function randomKey(rand: SeededRand): Buffer {
  const n = rand.int(300);
  const suffix = rand.int(4) === 0 ? '\x00x' : '';
  return Buffer.from(`k${String(n).padStart(3, '0')}${suffix}`, 'latin1');
}

function randomValue(rand: SeededRand): Buffer {
  const len = rand.int(8) === 0 ? rand.int(600) : rand.int(40);
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = rand.int(4) === 0 ? rand.int(256) : 97 + rand.int(3);
  return b;
}

function modelScan(model: Model, start?: Buffer, end?: Buffer, reverse = false): string[] {
  const keys = [...model.keys()]
    .map((k) => Buffer.from(k, 'hex'))
    .filter((k) => (!start || Buffer.compare(k, start) >= 0) && (!end || Buffer.compare(k, end) < 0))
    .sort(Buffer.compare);
  if (reverse) keys.reverse();
  return keys.map((k) => `${hex(k)}=${hex(model.get(hex(k)) as Buffer)}`);
}

function engineScan(
  engine: Engine,
  start?: Buffer,
  end?: Buffer,
  reverse = false,
  snap?: Snapshot,
): string[] {
  const out: string[] = [];
  for (const [k, v] of engine.scan({ start, end, reverse }, snap)) out.push(`${hex(k)}=${hex(v)}`);
  return out;
}

function applyRange(model: Model, start: Buffer, end: Buffer): void {
  for (const k of [...model.keys()]) {
    const kb = Buffer.from(k, 'hex');
    if (Buffer.compare(kb, start) >= 0 && Buffer.compare(kb, end) < 0) model.delete(k);
  }
}

function randomRange(rand: SeededRand): [Buffer | undefined, Buffer | undefined] {
  const a = rand.int(5) === 0 ? undefined : randomKey(rand);
  const b = rand.int(5) === 0 ? undefined : randomKey(rand);
  if (a && b && Buffer.compare(a, b) > 0) return [b, a];
  return [a, b];
}

async function runWorkload(rand: SeededRand, options: EngineOptions, steps: number): Promise<void> {
  let engine = await Engine.open(options);
  const model: Model = new Map();
  const snaps: Array<{ snap: Snapshot; model: Model }> = [];
  try {
    for (let step = 0; step < steps; step++) {
      const r = rand.int(100);
      if (r < 40) {
        const k = randomKey(rand);
        const v = randomValue(rand);
        await engine.put(k, v);
        model.set(hex(k), v);
      } else if (r < 50) {
        const k = randomKey(rand);
        await engine.delete(k);
        model.delete(hex(k));
      } else if (r < 53) {
        const [a, b] = randomRange(rand);
        if (a && b && Buffer.compare(a, b) < 0) {
          await engine.deleteRange(a, b);
          applyRange(model, a, b);
        }
      } else if (r < 60) {
        const batch = new WriteBatch();
        const staged: Array<() => void> = [];
        for (let i = rand.int(20); i >= 0; i--) {
          const k = randomKey(rand);
          if (rand.int(3) === 0) {
            batch.delete(k);
            staged.push(() => model.delete(hex(k)));
          } else {
            const v = randomValue(rand);
            batch.put(k, v);
            staged.push(() => model.set(hex(k), v));
          }
        }
        await engine.write(batch);
        for (const s of staged) s();
      } else if (r < 75) {
        const k = randomKey(rand);
        assert.deepEqual(engine.get(k), model.get(hex(k)), `get ${hex(k)} at step ${step}`);
      } else if (r < 82) {
        const [a, b] = randomRange(rand);
        const reverse = rand.int(2) === 0;
        assert.deepEqual(
          engineScan(engine, a, b, reverse),
          modelScan(model, a, b, reverse),
          `scan at step ${step}`,
        );
      } else if (r < 86) {
        if (snaps.length < 4) snaps.push({ snap: engine.snapshot(), model: new Map(model) });
      } else if (r < 90 && snaps.length > 0) {
        const i = rand.int(snaps.length);
        const { snap, model: old } = snaps[i] as { snap: Snapshot; model: Model };
        const k = randomKey(rand);
        assert.deepEqual(engine.get(k, snap), old.get(hex(k)), `snapshot get at step ${step}`);
        assert.deepEqual(engineScan(engine, undefined, undefined, rand.int(2) === 0, snap).length, old.size);
        if (rand.int(2) === 0) {
          snap.release();
          snaps.splice(i, 1);
        }
      } else if (r < 93) {
        await engine.flush();
      } else if (r < 95) {
        await engine.compactAll();
      } else if (r < 97) {
        for (const s of snaps) s.snap.release();
        snaps.length = 0;
        await engine.close();
        engine = await Engine.open(options);
      } else {
        // Every key of [k‖00, k‖01) begins with the prefix k‖00 (ignored by stores without a rule).
        const prefix = Buffer.concat([randomKey(rand).subarray(0, 4), Buffer.from([0])]);
        const end = Buffer.concat([prefix.subarray(0, 4), Buffer.from([1])]);
        const reverse = rand.int(2) === 0;
        const got: string[] = [];
        for (const [k, v] of engine.scan({ start: prefix, end, reverse, prefix }))
          got.push(`${hex(k)}=${hex(v)}`);
        assert.deepEqual(got, modelScan(model, prefix, end, reverse), `prefix scan at step ${step}`);
      }
    }
    assert.deepEqual(engineScan(engine), modelScan(model), 'final forward scan');
    assert.deepEqual(
      engineScan(engine, undefined, undefined, true),
      modelScan(model, undefined, undefined, true),
    );
  } finally {
    await engine.close();
  }
}

for (const [name, extra] of Object.entries(OPTION_SETS)) {
  test(`engine matches the model: ${name}`, async () => {
    for (const seed of testSeeds(3)) {
      await withSeed(seed, (rand) =>
        runWorkload(rand, { dir: '/store', vfs: new MemVfs(), rand, ...extra }, 1500),
      );
    }
  });
}

test('engine matches the model on a real disk with worker-thread compaction', async () => {
  for (const seed of testSeeds(1)) {
    const dir = mkdtempSync(join(tmpdir(), 'tabula-model-'));
    try {
      await withSeed(seed, (rand) =>
        runWorkload(rand, { dir, rand, executor: 'worker', ...OPTION_SETS.aggressiveCompaction }, 1500),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
