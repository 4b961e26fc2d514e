/**
 * A deterministic, in-memory twin of the kill -9 loop (engine-kill9.test.ts): several concurrent
 * writers (group commit), tiny memtables so rotations, flushes and compactions happen every few
 * batches, keys SHARED between writers (so the order of batches matters, not only which ones
 * landed), and a "kill" at a seeded random moment — after some acknowledgements, or at any file
 * system call the engine makes (optionally tearing an append in two, as a kill in the middle of a
 * pwrite would). A kill takes the disk as a SIGKILL leaves it: every directory entry and every byte
 * written so far, synced or not (the page cache survives a process death).
 *
 * After each kill the image is reopened and checked exactly, as the kill -9 test does:
 *   - the batches that landed are a PREFIX of the issue order (issue order is admission order
 *     here: `Engine.write` queues admissions in call order), and every acknowledged batch is in it;
 *   - the whole store equals the model: the previous cycle's state plus that prefix replayed in
 *     issue order.
 * The data accumulates over cycles and each cycle's writer starts on the previous recovered image,
 * so recovery, sequence continuity and compaction across many reopenings are all exercised.
 *
 * Every file system call also waits a seeded number of event-loop turns, standing in for I/O
 * latency, so flushes, compactions, group commits and admissions interleave in many ways.
 *
 * Everything runs on the event loop against MemVfs with inline jobs, so a seed replays the same run
 * (only a write stall, which polls on a timer, lets real time in): TABULA_SEED=<seed>.
 * TABULA_CONCURRENT_KILL_CYCLES sets the cycles per seed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SeededRand } from '../../src/common/clock.js';
import { Engine, type EngineOptions } from '../../src/storage/engine.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import type { ReadableFile, Vfs, WritableFile } from '../../src/storage/vfs.js';
import { WriteBatch } from '../../src/storage/write-batch.js';
import { testSeeds, withSeed } from '../support/seed.js';

const SEEDS = 3;
const CYCLES_DEFAULT = 40;
const WRITERS = 4;
const DIR = '/store';
/** Shared keys every writer overwrites and deletes. */
const SHARED_KEYS = 24;
/** Most shared-key operations in one batch (a key may repeat within a batch). */
const SHARED_OPS_MAX = 4;
const DELETE_PROBABILITY = 0.3;
const VALUE_PAD_MAX = 120;
/** Most acknowledgements before an ack-triggered kill. */
const KILL_ACKS_MAX = 120;
/** Share of cycles killed at a file system call instead of after an acknowledgement. */
const CALL_KILL_PROBABILITY = 0.6;
/** Chance that a given file system call is the kill, in call-kill cycles. */
const CALL_KILL_CHANCE = 1 / 150;
/** Chance that a kill at an append lands in the middle of it (a torn write). */
const TORN_APPEND_PROBABILITY = 0.5;
/** Most event-loop turns a file system call waits (seeded), standing in for I/O latency. */
const IO_TURNS_MAX = 3;
/** Keeps every unsynced byte in a crash image: a process kill, not a power loss. */
const ALL_UNSYNCED_BYTES = Number.MAX_SAFE_INTEGER;

type Model = Map<string, string>;

interface Op {
  key: string;
  value: string | undefined;
}

/** The id of batch `counter` of writer `writer`; also its primary key, written by it alone. */
function batchId(writer: number, counter: number): string {
  return `p${writer}-${counter}`;
}

/** A batch: its own primary key, then shared-key puts and deletes (drawn from `rand`). */
function randomBatch(rand: SeededRand, id: string): Op[] {
  const ops: Op[] = [{ key: id, value: `${id}!` }];
  const n = 1 + rand.int(SHARED_OPS_MAX);
  for (let i = 0; i < n; i++) {
    const key = `k${String(rand.int(SHARED_KEYS)).padStart(2, '0')}`;
    const value =
      rand.next() < DELETE_PROBABILITY
        ? undefined
        : `${key}@${id}#${i}:${'v'.repeat(rand.int(VALUE_PAD_MAX))}`;
    ops.push({ key, value });
  }
  return ops;
}

function toWriteBatch(ops: Op[]): WriteBatch {
  const batch = new WriteBatch();
  for (const op of ops) {
    if (op.value === undefined) batch.delete(Buffer.from(op.key));
    else batch.put(Buffer.from(op.key), Buffer.from(op.value));
  }
  return batch;
}

/**
 * A `Vfs` over a `MemVfs` that calls `beforeCall` at the start of every call the engine makes, so a
 * test can kill there. `beforeCall` may return a split point for an append: the first part is
 * appended, the hook runs again with `'append-torn'` (the kill lands between the two parts), then
 * the rest is appended.
 */
class KillPointVfs implements Vfs {
  beforeCall: ((call: string, path: string, bytes?: number) => number | undefined) | undefined;
  constructor(
    readonly inner: MemVfs,
    private readonly rand: SeededRand,
  ) {}

  private hook(call: string, path: string, bytes?: number): number | undefined {
    return this.beforeCall?.(call, path, bytes);
  }
  /** Latency: a seeded number of event-loop turns, so jobs and writers interleave variously. */
  private async latency(): Promise<void> {
    for (let turns = this.rand.int(IO_TURNS_MAX + 1); turns > 0; turns--) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  private wrap(file: WritableFile): WritableFile {
    return {
      path: file.path,
      get size() {
        return file.size;
      },
      append: async (data: Uint8Array): Promise<void> => {
        await this.latency();
        const split = this.hook('append', file.path, data.length);
        if (split === undefined) return file.append(data);
        await file.append(data.subarray(0, split));
        this.hook('append-torn', file.path);
        await file.append(data.subarray(split));
      },
      sync: async () => {
        await this.latency();
        this.hook('sync', file.path);
        return file.sync();
      },
      close: () => file.close(),
    };
  }
  async createWritable(path: string): Promise<WritableFile> {
    await this.latency();
    this.hook('create', path);
    return this.wrap(await this.inner.createWritable(path));
  }
  async openAppendable(path: string): Promise<WritableFile> {
    await this.latency();
    this.hook('openAppendable', path);
    return this.wrap(await this.inner.openAppendable(path));
  }
  openReadable(path: string): Promise<ReadableFile> {
    return this.inner.openReadable(path);
  }
  link(existing: string, newPath: string): Promise<void> {
    return this.inner.link(existing, newPath);
  }
  readFile(path: string): Promise<Buffer> {
    return this.inner.readFile(path);
  }
  async rename(from: string, to: string): Promise<void> {
    await this.latency();
    this.hook('rename', from);
    return this.inner.rename(from, to);
  }
  async remove(path: string): Promise<void> {
    await this.latency();
    this.hook('remove', path);
    return this.inner.remove(path);
  }
  async removeDir(dir: string): Promise<void> {
    await this.latency();
    this.hook('removeDir', dir);
    return this.inner.removeDir(dir);
  }
  list(dir: string): Promise<string[]> {
    return this.inner.list(dir);
  }
  mkdirp(dir: string): Promise<void> {
    return this.inner.mkdirp(dir);
  }
  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }
  async syncDir(dir: string): Promise<void> {
    await this.latency();
    this.hook('syncDir', dir);
    return this.inner.syncDir(dir);
  }
  fileSize(path: string): Promise<number> {
    return this.inner.fileSize(path);
  }
}

/** The disk as a process kill leaves it now: every live entry and every written byte. */
function killImage(vfs: MemVfs): MemVfs {
  // Makes the live directory entries durable (MemVfs does its work synchronously), so the power-loss
  // image below is the live state; the killed engine's disk is never looked at again.
  void vfs.syncDir(DIR);
  return vfs.crashImage({ tornTail: ALL_UNSYNCED_BYTES });
}

function options(vfs: Vfs, rand: SeededRand): EngineOptions {
  return {
    dir: DIR,
    vfs,
    rand,
    memtableBytes: 2048,
    targetFileBytes: 2048,
    level1Bytes: 8192,
    blockBytes: 256,
    l0CompactionTrigger: 2,
  };
}

async function readStore(vfs: MemVfs, rand: SeededRand): Promise<Model> {
  const engine = await Engine.open(options(vfs, rand));
  try {
    const out: Model = new Map();
    for (const [k, v] of engine.scan()) out.set(k.toString(), v.toString());
    return out;
  } finally {
    await engine.close();
  }
}

/** What one cycle's writers did before the kill. */
interface CycleLog {
  issued: { id: string; ops: Op[] }[];
  acked: Set<string>;
  image: MemVfs;
  killedAt: string;
}

/** Runs WRITERS concurrent writers on `vfs` until the kill; returns the kill image and the log. */
async function runCycle(vfs: MemVfs, rand: SeededRand, counters: number[]): Promise<CycleLog> {
  const killable = new KillPointVfs(vfs, rand);
  const issued: CycleLog['issued'] = [];
  const acked = new Set<string>();
  const killAcks = 1 + rand.int(KILL_ACKS_MAX);
  const atCall = rand.next() < CALL_KILL_PROBABILITY;
  let killed: CycleLog | undefined;
  const kill = (where: string) => {
    if (killed) return;
    killed = { issued: [...issued], acked: new Set(acked), image: killImage(vfs), killedAt: where };
  };
  killable.beforeCall = (call, path, bytes) => {
    if (killed) return undefined;
    if (call === 'append-torn') {
      kill(`inside an append to ${path}`);
      return undefined;
    }
    if (!atCall || rand.next() >= CALL_KILL_CHANCE) return undefined;
    if (call === 'append' && bytes !== undefined && bytes > 1 && rand.next() < TORN_APPEND_PROBABILITY)
      return 1 + rand.int(bytes - 1);
    kill(`before ${call} ${path}`);
    return undefined;
  };
  // The kill may land inside recovery, before any write, as in the kill -9 test.
  const engine = await Engine.open(options(killable, rand));
  const writer = async (w: number) => {
    while (!killed) {
      const id = batchId(w, counters[w] as number);
      counters[w] = (counters[w] as number) + 1;
      const ops = randomBatch(rand, id);
      issued.push({ id, ops });
      await engine.write(toWriteBatch(ops));
      acked.add(id);
      if (acked.size >= killAcks) kill(`after ${acked.size} acks`);
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  killable.beforeCall = undefined;
  // The "killed" engine finishes on the old disk, which nobody looks at again.
  await engine.close();
  return killed as CycleLog;
}

/** Checks one cycle (see the file comment); returns the new model. */
function verifyCycle(prev: Model, log: CycleLog, actual: Model): Model {
  const present = log.issued.map((b) => actual.has(b.id));
  const firstAbsent = present.indexOf(false);
  const applied = firstAbsent === -1 ? present.length : firstAbsent;
  const hole = present.indexOf(true, applied);
  assert.equal(
    hole,
    -1,
    `hole: ${log.issued[hole]?.id} landed but earlier ${log.issued[applied]?.id} did not`,
  );
  for (const id of log.acked) assert.ok(actual.has(id), `acknowledged batch ${id} lost`);
  const model = new Map(prev);
  for (const b of log.issued.slice(0, applied)) {
    for (const op of b.ops) {
      if (op.value === undefined) model.delete(op.key);
      else model.set(op.key, op.value);
    }
  }
  const explain = (key: string) => {
    const touching = log.issued
      .map((b, i) => ({ b, i }))
      .filter(({ b }) => b.ops.some((op) => op.key === key))
      .map(({ b, i }) => `[${i}${i < applied ? '' : ' not applied'}] ${b.id}`);
    return `; before: ${prev.get(key)?.slice(0, 12) ?? 'absent'}; expected ${model.get(key)?.slice(0, 12) ?? 'absent'}, found ${actual.get(key)?.slice(0, 12) ?? 'absent'}; ${applied} of ${log.issued.length} landed; batches touching it: ${touching.join(', ')}`;
  };
  for (const key of new Set([...model.keys(), ...actual.keys()])) {
    // The explanation is built only for a failure: it walks every batch of the cycle.
    if (actual.get(key) !== model.get(key)) assert.fail(`key ${key} differs from the model${explain(key)}`);
  }
  return model;
}

test('concurrent writers, killed at random moments: each recovery is an exact prefix', async (t) => {
  const cycles = Number(process.env.TABULA_CONCURRENT_KILL_CYCLES ?? CYCLES_DEFAULT);
  let batches = 0;
  for (const seed of testSeeds(SEEDS)) {
    t.diagnostic(`seed ${seed} (replay with TABULA_SEED=${seed}), ${cycles} cycles`);
    await withSeed(seed, async (rand) => {
      let vfs = new MemVfs();
      let model: Model = new Map();
      const counters = Array.from({ length: WRITERS }, () => 0);
      for (let cycle = 0; cycle < cycles; cycle++) {
        const log = await runCycle(vfs, rand, counters);
        const actual = await readStore(log.image, rand);
        try {
          model = verifyCycle(model, log, actual);
        } catch (err) {
          if (err instanceof Error)
            err.message = `cycle ${cycle} (killed at ${log.killedAt}): ${err.message}`;
          throw err;
        }
        batches += log.issued.length;
        vfs = log.image;
      }
    });
  }
  assert.ok(batches > 0, 'no batch was ever issued');
  t.diagnostic(`${batches} batches issued`);
});
