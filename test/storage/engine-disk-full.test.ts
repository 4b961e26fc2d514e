/**
 * Disk-full and I/O-error tests of the engine on the in-memory VFS:
 * (a) a capacity just above current usage: writes are refused with RESOURCE_EXHAUSTED, no
 *     acknowledged write is ever lost, reads keep returning exactly the acknowledged data, and once
 *     space returns writes resume and are durable across a crash;
 * (b) ENOSPC on SSTable output: background flushes and compactions retry, foreground writes either
 *     succeed or are refused with RESOURCE_EXHAUSTED, and once the fault clears everything is
 *     consistent, also after a crash;
 * (c) EIO on a WAL sync is fail-stop: the failing write and every later one are refused (IO or
 *     UNAVAILABLE), reads still work, and recovery from a crash image holds every acknowledged write
 *     and nothing that was refused.
 * Every randomized part derives from the printed seed; TABULA_SEED=n replays it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SeededRand } from '../../src/common/clock.js';
import { ErrorCode, TabulaError } from '../../src/common/errors.js';
import { Engine, type EngineOptions } from '../../src/storage/engine.js';
import { type FaultOp, MemVfs } from '../../src/storage/mem-vfs.js';
import { testSeeds, withSeed } from '../support/seed.js';

const DIR = '/store';
const SEEDS_PER_TEST = 2;
/** Each test must finish well within this. */
const TEST_TIMEOUT_MS = 15_000;
/** Writes before any fault, so the store has SSTables and a WAL. */
const WARMUP_WRITES = 120;
const VALUE_BYTES_MIN = 40;
const VALUE_BYTES_SPREAD = 300;
/** (a) Free space left above current usage when the capacity is set. */
const FREE_BYTES = 6 * 1024;
/** (a) A write must be refused before this many writes into the nearly full disk. */
const WRITES_UNTIL_FULL_MAX = 2_000;
/** (a) Writes tried after the first refusal: each is refused or acknowledged, never lost. */
const WRITES_WHILE_FULL = 8;
/** Writes after the fault clears; all must be acknowledged. */
const WRITES_AFTER_RECOVERY = 60;
/** How long writes may keep being refused after space returns (background retries back off). */
const RESUME_DEADLINE_MS = 6_000;
const RESUME_RETRY_MS = 25;
/** (b) SSTable appends that fail with ENOSPC. */
const SST_ENOSPC_TIMES = 5;
/** (b) Writes issued while SSTable output fails. */
const WRITES_DURING_SST_FAULT = 300;
/** (c) WAL syncs that succeed before the injected EIO: a random count below this. */
const SYNCS_BEFORE_EIO_MAX = 40;
/** (c) Writes issued together when the sync fails, so a whole group commit fails. */
const CONCURRENT_WRITES = 8;
/** (c) Writes tried after the failure: every one must be refused. */
const WRITES_AFTER_EIO = 10;

const BASE_OPTIONS: Partial<EngineOptions> = {
  memtableBytes: 8 * 1024,
  blockBytes: 256,
  targetFileBytes: 8 * 1024,
  l0CompactionTrigger: 2,
  writeStallMsMax: 300,
};

type Model = Map<string, string>;

/** A store under test: the VFS, the open engine and every acknowledged write. */
interface Harness {
  vfs: MemVfs;
  options: EngineOptions;
  engine: Engine;
  model: Model;
  /** Keys of writes that were refused; each key is written once, so none may ever be visible. */
  refused: Set<string>;
  nextKey: number;
  rand: SeededRand;
}

function keyName(i: number): string {
  return `key-${String(i).padStart(6, '0')}`;
}

function valueFor(rand: SeededRand, key: string): string {
  return `${key}:${'v'.repeat(VALUE_BYTES_MIN + rand.int(VALUE_BYTES_SPREAD))}`;
}

async function openHarness(rand: SeededRand, extra: Partial<EngineOptions> = {}): Promise<Harness> {
  const vfs = new MemVfs();
  const options: EngineOptions = { dir: DIR, vfs, rand, ...BASE_OPTIONS, ...extra };
  const engine = await Engine.open(options);
  const h: Harness = { vfs, options, engine, model: new Map(), refused: new Set(), nextKey: 0, rand };
  for (let i = 0; i < WARMUP_WRITES; i++) assert.equal(await tryPut(h), 'acked');
  await engine.flush();
  return h;
}

/** Puts a fresh key; records it as acknowledged or refused. Other errors propagate. */
async function tryPut(h: Harness, refusalCodes: readonly string[] = []): Promise<'acked' | string> {
  const key = keyName(h.nextKey++);
  const value = valueFor(h.rand, key);
  try {
    await h.engine.put(Buffer.from(key), Buffer.from(value));
    h.model.set(key, value);
    return 'acked';
  } catch (err) {
    if (err instanceof TabulaError && refusalCodes.includes(err.code)) {
      h.refused.add(key);
      return err.code;
    }
    throw err;
  }
}

/** Keeps retrying a put refused with RESOURCE_EXHAUSTED until it is acknowledged or time runs out. */
async function putEventually(h: Harness): Promise<void> {
  const deadlineMs = performance.now() + RESUME_DEADLINE_MS;
  const key = keyName(h.nextKey++);
  const value = valueFor(h.rand, key);
  for (;;) {
    try {
      await h.engine.put(Buffer.from(key), Buffer.from(value));
      h.model.set(key, value);
      return;
    } catch (err) {
      const retryable = err instanceof TabulaError && err.code === ErrorCode.ResourceExhausted;
      if (!retryable || performance.now() > deadlineMs) throw err;
      await new Promise((r) => setTimeout(r, RESUME_RETRY_MS));
    }
  }
}

/** Every read the engine offers must show exactly `model`: no refused key, no lost key. */
function checkReads(engine: Engine, h: Pick<Harness, 'model' | 'refused'>, label: string): void {
  for (const [k, v] of h.model) assert.equal(engine.get(Buffer.from(k))?.toString(), v, `${label}: get ${k}`);
  for (const k of h.refused)
    assert.equal(engine.get(Buffer.from(k)), undefined, `${label}: refused ${k} is visible`);
  const expected = [...h.model].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`);
  const forward = [...engine.scan()].map(([k, v]) => `${k}=${v}`);
  assert.deepEqual(forward, expected, `${label}: forward scan`);
  const reverse = [...engine.scan({ reverse: true })].map(([k, v]) => `${k}=${v}`);
  assert.deepEqual(reverse, [...expected].reverse(), `${label}: reverse scan`);
}

/** Closes the engine, crashes the disk, reopens the image and checks it holds exactly the model. */
async function checkAfterCrash(h: Harness, label: string): Promise<void> {
  await h.engine.close();
  const image = h.vfs.crashImage();
  const reopened = await Engine.open({ ...h.options, vfs: image });
  try {
    checkReads(reopened, h, `${label} after crash and reopen`);
  } finally {
    await reopened.close();
  }
}

/** Counts injected faults that fired, by wrapping the VFS's fault check. */
function countInjectedFaults(vfs: MemVfs): { fired: Map<FaultOp, number> } {
  const counter = { fired: new Map<FaultOp, number>() };
  const check = vfs.checkFault.bind(vfs);
  vfs.checkFault = (op, path, errorOp) => {
    try {
      check(op, path, errorOp);
    } catch (err) {
      counter.fired.set(op, (counter.fired.get(op) ?? 0) + 1);
      throw err;
    }
  };
  return counter;
}

/**
 * A seed whose ENOSPC lands on a manifest append: the manifest then refused every later append,
 * and flushes never resumed until edits went to a fresh manifest. Always run besides fresh seeds.
 */
const MANIFEST_ENOSPC_SEED = 214519422;

test('a full disk refuses writes with RESOURCE_EXHAUSTED, keeps reads exact and resumes when space returns', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  for (const seed of [...testSeeds(SEEDS_PER_TEST), MANIFEST_ENOSPC_SEED]) {
    await withSeed(seed, async (rand) => {
      const h = await openHarness(rand);
      h.vfs.capacityBytes = h.vfs.storedBytes + FREE_BYTES;
      let outcome = 'acked';
      for (let i = 0; outcome === 'acked'; i++) {
        assert.ok(i < WRITES_UNTIL_FULL_MAX, `no write refused after ${i} writes into a full disk`);
        outcome = await tryPut(h, [ErrorCode.ResourceExhausted]);
      }
      const ackedWhileFull: string[] = [];
      for (let i = 0; i < WRITES_WHILE_FULL; i++)
        ackedWhileFull.push(await tryPut(h, [ErrorCode.ResourceExhausted]));
      console.log(
        `disk full (seed ${seed}): ${h.model.size} acked, ${h.refused.size} refused; after the first refusal: ` +
          ackedWhileFull.join(','),
      );
      checkReads(h.engine, h, 'while the disk is full');

      h.vfs.capacityBytes = Number.POSITIVE_INFINITY;
      for (let i = 0; i < WRITES_AFTER_RECOVERY; i++) await putEventually(h);
      checkReads(h.engine, h, 'after space returned');
      await checkAfterCrash(h, 'after space returned');
    });
  }
});

test('ENOSPC on SSTable output is retried in the background and leaves the store consistent', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  for (const seed of testSeeds(SEEDS_PER_TEST)) {
    await withSeed(seed, async (rand) => {
      const h = await openHarness(rand);
      const faults = countInjectedFaults(h.vfs);
      h.vfs.injectFault({
        op: 'append',
        pathIncludes: '.sst',
        errno: 'ENOSPC',
        afterCount: rand.int(20),
        times: SST_ENOSPC_TIMES,
      });
      const flushesBefore = h.engine.stats().flushes;
      const outcomes = new Map<string, number>();
      for (let i = 0; i < WRITES_DURING_SST_FAULT; i++) {
        const outcome = await tryPut(h, [ErrorCode.ResourceExhausted]);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (i % 20 === 0) checkReads(h.engine, h, `during the fault, write ${i}`);
      }
      await h.engine.flush();
      await h.engine.compactAll();
      assert.equal(faults.fired.get('append'), SST_ENOSPC_TIMES, 'the injected ENOSPC did not all fire');
      for (let i = 0; i < WRITES_AFTER_RECOVERY; i++) await putEventually(h);
      const stats = h.engine.stats();
      console.log(
        `sstable ENOSPC (seed ${seed}): writes ${JSON.stringify(Object.fromEntries(outcomes))}, ` +
          `flushes ${stats.flushes - flushesBefore}, compactions ${stats.compactions}`,
      );
      assert.ok(stats.flushes > flushesBefore, 'no flush succeeded after the fault cleared');
      checkReads(h.engine, h, 'after the fault cleared');
      await checkAfterCrash(h, 'after the fault cleared');
    });
  }
});

test('EIO on a WAL sync stops writes for good, keeps reads exact and loses no acknowledged write', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const failStopCodes: readonly ErrorCode[] = [ErrorCode.Io, ErrorCode.Unavailable];
  for (const seed of testSeeds(SEEDS_PER_TEST)) {
    await withSeed(seed, async (rand) => {
      const h = await openHarness(rand, { memtableBytes: 64 * 1024 });
      const faults = countInjectedFaults(h.vfs);
      const syncsBefore = rand.int(SYNCS_BEFORE_EIO_MAX);
      h.vfs.injectFault({ op: 'sync', pathIncludes: '.log', errno: 'EIO', afterCount: syncsBefore });
      let firstRefusal = -1;
      for (let round = 0; firstRefusal < 0; round++) {
        assert.ok(round <= SYNCS_BEFORE_EIO_MAX, 'the injected EIO never failed a write');
        // Concurrent writes share group commits: a failing group must fail every write in it.
        const keys = Array.from({ length: CONCURRENT_WRITES }, () => keyName(h.nextKey++));
        const values = keys.map((k) => valueFor(rand, k));
        const settled = await Promise.allSettled(
          keys.map((k, i) => h.engine.put(Buffer.from(k), Buffer.from(values[i] as string))),
        );
        settled.forEach((s, i) => {
          const key = keys[i] as string;
          if (s.status === 'fulfilled') {
            assert.equal(firstRefusal, -1, `write ${key} acknowledged after an earlier write was refused`);
            h.model.set(key, values[i] as string);
            return;
          }
          const err = s.reason;
          assert.ok(
            err instanceof TabulaError && failStopCodes.includes(err.code),
            `write ${key}: ${String(err)}`,
          );
          if (firstRefusal < 0) firstRefusal = h.nextKey;
          h.refused.add(key);
        });
      }
      assert.equal(faults.fired.get('sync'), 1, 'the failed sync was retried');
      for (let i = 0; i < WRITES_AFTER_EIO; i++) {
        const outcome = await tryPut(h, failStopCodes);
        assert.notEqual(outcome, 'acked', 'a write was acknowledged after the WAL failed');
      }
      console.log(
        `wal EIO (seed ${seed}): ${h.model.size} acked before the failure, ${h.refused.size} refused`,
      );
      checkReads(h.engine, h, 'after the WAL failed');
      h.vfs.clearFaults();
      // The crash image keeps only synced bytes, so the failed group is gone: exactly the model.
      await h.engine.close();
      const reopened = await Engine.open({ ...h.options, vfs: h.vfs.crashImage() });
      try {
        checkReads(reopened, h, 'reopened from the crash image');
      } finally {
        await reopened.close();
      }
    });
  }
});
