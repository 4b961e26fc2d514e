/**
 * The storage engine against LevelDB (`classic-level`) on the same workloads, in one run, on a real
 * disk, both durable (Tabula: default options, durability 'sync'; LevelDB: `sync: true` batches):
 *
 *   fillseq     1,000,000 puts in key order     (16-byte keys, 100-byte values, batches of 1000,
 *   fillrandom  1,000,000 puts in random order   each batch awaited before the next)
 *   readrandom  200,000 gets of existing keys after a fillrandom (both engines' gets are synchronous:
 *               Tabula `get`, LevelDB `getSync`; LevelDB's async `get` is reported as an extra)
 *   scan        a full forward scan after a fillrandom, counting rows
 *
 * Each (engine, workload, run) executes in its own child process on a fresh directory, so the peak
 * RSS a child reports (`process.resourceUsage().maxRSS`) belongs to one engine alone. The Tabula
 * child measures the event-loop delay (p99) during fillrandom, while flushes and compactions run.
 * Figures are medians over the runs. The last stdout line is one JSON object of Tabula/LevelDB ratios.
 *
 *   npm run bench:engine                      # full size, 3 runs
 *   node dist/bench/engine-bench.js --quick   # 10x smaller smoke run
 *   node dist/bench/engine-bench.js --runs 5
 *   node --cpu-prof dist/bench/engine-bench.js --child tabula --workload fillrandom --run 1
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SeededRand } from '../src/common/clock.js';
import { Engine } from '../src/storage/engine.js';
import { WriteBatch } from '../src/storage/write-batch.js';
import { openLevelDbAnchor } from './leveldb-anchor.js';

const WRITE_COUNT_FULL = 1_000_000;
const READ_COUNT_FULL = 200_000;
const QUICK_DIVISOR = 10;
const BATCH_ENTRIES = 1000;
const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const VALUE_POOL_BYTES = 1024 * 1024;
const RUNS_DEFAULT = 3;
const SEED = 20_240_601;
const CHILD_TIMEOUT_MS_FULL = 15 * 60 * 1000;
const CHILD_TIMEOUT_MS_QUICK = 2 * 60 * 1000;
const LAG_RESOLUTION_MS = 10;
const NS_PER_MS = 1e6;
const KB_PER_MB = 1024;

const ENGINES = ['tabula', 'leveldb'] as const;
type EngineName = (typeof ENGINES)[number];
const WORKLOADS = ['fillseq', 'fillrandom', 'readrandom', 'scan'] as const;
type Workload = (typeof WORKLOADS)[number];

/** What a child prints as its one JSON line. */
interface ChildResult {
  engine: EngineName;
  workload: Workload;
  run: number;
  opsPerSec: number;
  peakRssMb: number;
  lagP99Ms?: number;
  asyncGetOpsPerSec?: number;
}

interface Sizes {
  writes: number;
  reads: number;
}

/** One engine behind the few calls the workloads need. */
interface BenchStore {
  putBatch(keys: Buffer[], values: Buffer[]): Promise<void>;
  getSync(key: Buffer): Buffer | undefined;
  getAsync(key: Buffer): Promise<Buffer | undefined>;
  countAll(): Promise<number>;
  close(): Promise<void>;
}

// ---- data ----------------------------------------------------------------------------------------

function keyOf(i: number): Buffer {
  return Buffer.from(String(i).padStart(KEY_BYTES, '0'), 'latin1');
}

/** Values as in LevelDB's db_bench: half random bytes, half repeated (compressible to about 0.5). */
function makeValuePool(): Buffer {
  const rand = new SeededRand(SEED);
  const pool = Buffer.allocUnsafe(VALUE_POOL_BYTES);
  for (let i = 0; i < pool.length; i++) pool[i] = i % VALUE_BYTES < VALUE_BYTES / 2 ? rand.int(256) : 97;
  return pool;
}

function valueAt(pool: Buffer, i: number): Buffer {
  const off = (i * 97) % (pool.length - VALUE_BYTES);
  return pool.subarray(off, off + VALUE_BYTES);
}

/** Key indices 0..n-1 in write order: ascending, or a seeded permutation (every key written once). */
function writeOrder(n: number, random: boolean): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (!random) return order;
  const rand = new SeededRand(SEED + 1);
  for (let i = n - 1; i > 0; i--) {
    const j = rand.int(i + 1);
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  return order;
}

// ---- engines -------------------------------------------------------------------------------------

async function openTabula(dir: string): Promise<BenchStore> {
  const engine = await Engine.open({ dir });
  return {
    putBatch: (keys, values) => {
      const batch = new WriteBatch();
      for (let i = 0; i < keys.length; i++) batch.put(keys[i] as Buffer, values[i] as Buffer);
      return engine.write(batch);
    },
    getSync: (key) => engine.get(key),
    getAsync: async (key) => engine.get(key),
    countAll: async () => {
      let n = 0;
      for (const _ of engine.scan()) n++;
      return n;
    },
    close: () => engine.close(),
  };
}

async function openLevelDb(dir: string): Promise<BenchStore> {
  return openLevelDbAnchor(dir);
}

// ---- workloads (child side) ----------------------------------------------------------------------

/** Writes every key of `order` in batches, each awaited; returns ops/s. */
async function fill(store: BenchStore, order: Uint32Array, pool: Buffer): Promise<number> {
  const start = performance.now();
  for (let b = 0; b < order.length; b += BATCH_ENTRIES) {
    const keys: Buffer[] = [];
    const values: Buffer[] = [];
    for (let i = b; i < Math.min(order.length, b + BATCH_ENTRIES); i++) {
      const k = order[i] as number;
      keys.push(keyOf(k));
      values.push(valueAt(pool, k));
    }
    await store.putBatch(keys, values);
  }
  return order.length / ((performance.now() - start) / 1000);
}

/** Gets `reads` random existing keys (of `writes`); every one must be found. Returns ops/s. */
async function readRandom(store: BenchStore, sizes: Sizes, useAsync: boolean): Promise<number> {
  const rand = new SeededRand(SEED + 2);
  const keys = Array.from({ length: sizes.reads }, () => keyOf(rand.int(sizes.writes)));
  let found = 0;
  const start = performance.now();
  if (useAsync) {
    for (const k of keys) if ((await store.getAsync(k)) !== undefined) found++;
  } else {
    for (const k of keys) if (store.getSync(k) !== undefined) found++;
  }
  const seconds = (performance.now() - start) / 1000;
  if (found !== keys.length) throw new Error(`readrandom found ${found} of ${keys.length} keys`);
  return keys.length / seconds;
}

async function scanAll(store: BenchStore, sizes: Sizes): Promise<number> {
  const start = performance.now();
  const rows = await store.countAll();
  const seconds = (performance.now() - start) / 1000;
  if (rows !== sizes.writes) throw new Error(`scan counted ${rows} rows, expected ${sizes.writes}`);
  return rows / seconds;
}

async function runWorkload(engine: EngineName, workload: Workload, store: BenchStore, sizes: Sizes) {
  const pool = makeValuePool();
  const out: { opsPerSec: number; lagP99Ms?: number; asyncGetOpsPerSec?: number } = { opsPerSec: 0 };
  if (workload === 'fillseq') {
    out.opsPerSec = await fill(store, writeOrder(sizes.writes, false), pool);
  } else if (workload === 'fillrandom') {
    const order = writeOrder(sizes.writes, true);
    const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    lag.enable();
    out.opsPerSec = await fill(store, order, pool);
    lag.disable();
    out.lagP99Ms = lag.percentile(99) / NS_PER_MS;
  } else {
    await fill(store, writeOrder(sizes.writes, true), pool);
    if (workload === 'scan') {
      out.opsPerSec = await scanAll(store, sizes);
    } else {
      out.opsPerSec = await readRandom(store, sizes, false);
      if (engine === 'leveldb') out.asyncGetOpsPerSec = await readRandom(store, sizes, true);
    }
  }
  return out;
}

async function childMain(engine: EngineName, workload: Workload, run: number, sizes: Sizes, dir?: string) {
  const path = dir ?? mkdtempSync(join(tmpdir(), `tabula-bench-${engine}-`));
  mkdirSync(path, { recursive: true });
  try {
    const store = engine === 'tabula' ? await openTabula(path) : await openLevelDb(path);
    let measured: Awaited<ReturnType<typeof runWorkload>>;
    try {
      measured = await runWorkload(engine, workload, store, sizes);
    } finally {
      await store.close();
    }
    const peakRssMb = process.resourceUsage().maxRSS / KB_PER_MB;
    const result: ChildResult = { engine, workload, run, ...measured, peakRssMb };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}

// ---- parent --------------------------------------------------------------------------------------

function spawnChild(engine: EngineName, workload: Workload, run: number, quick: boolean, dir: string) {
  const args = [
    fileURLToPath(import.meta.url),
    '--child',
    engine,
    '--workload',
    workload,
    '--run',
    String(run),
  ];
  if (quick) args.push('--quick');
  args.push('--dir', dir);
  const res = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    timeout: quick ? CHILD_TIMEOUT_MS_QUICK : CHILD_TIMEOUT_MS_FULL,
    killSignal: 'SIGKILL',
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = res.stdout?.trim().split('\n').pop() ?? '';
  if (res.status !== 0 || !line.startsWith('{')) {
    throw new Error(`child ${engine}/${workload}/${run} failed (${res.status ?? res.signal}): ${res.stderr}`);
  }
  return JSON.parse(line) as ChildResult;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function runAll(runs: number, quick: boolean, base: string): ChildResult[] {
  const results: ChildResult[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const workload of WORKLOADS) {
      // Alternate which engine goes first so page-cache and disk state favour neither.
      const order = run % 2 === 1 ? ENGINES : [...ENGINES].reverse();
      for (const engine of order) {
        const r = spawnChild(engine, workload, run, quick, join(base, `${engine}-${workload}-${run}`));
        process.stderr.write(`run ${run} ${workload} ${engine}: ${Math.round(r.opsPerSec)} ops/s\n`);
        results.push(r);
      }
    }
  }
  return results;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function report(results: ChildResult[], runs: number, sizes: Sizes): void {
  const pick = (e: EngineName, w: Workload) => results.filter((r) => r.engine === e && r.workload === w);
  const ratios: Record<string, number> = {};
  console.log(`engine bench: ${fmt(sizes.writes)} writes, ${fmt(sizes.reads)} reads, median of ${runs} runs`);
  console.log('| workload   | tabula ops/s | leveldb ops/s | tabula/leveldb |');
  console.log('|------------|-------------:|--------------:|---------------:|');
  for (const w of WORKLOADS) {
    const t = median(pick('tabula', w).map((r) => r.opsPerSec));
    const l = median(pick('leveldb', w).map((r) => r.opsPerSec));
    ratios[w] = Number((t / l).toFixed(3));
    console.log(
      `| ${w.padEnd(10)} | ${fmt(t).padStart(12)} | ${fmt(l).padStart(13)} | ${ratios[w]?.toFixed(3).padStart(14)} |`,
    );
  }
  const asyncGet = median(pick('leveldb', 'readrandom').map((r) => r.asyncGetOpsPerSec ?? 0));
  const rss = (e: EngineName) => Math.max(...results.filter((r) => r.engine === e).map((r) => r.peakRssMb));
  const lag = (e: EngineName) => median(pick(e, 'fillrandom').map((r) => r.lagP99Ms ?? 0));
  console.log(`leveldb async get (await db.get): ${fmt(asyncGet)} ops/s`);
  console.log(
    `peak RSS of one child process: tabula ${rss('tabula').toFixed(0)} MB, leveldb ${rss('leveldb').toFixed(0)} MB`,
  );
  console.log(
    `event-loop delay p99 during fillrandom: tabula ${lag('tabula').toFixed(1)} ms, leveldb ${lag('leveldb').toFixed(1)} ms`,
  );
  const summary = {
    ...ratios,
    lagP99Ms: Number(lag('tabula').toFixed(1)),
    tabulaPeakRssMb: Math.round(rss('tabula')),
    leveldbPeakRssMb: Math.round(rss('leveldb')),
  };
  console.log(JSON.stringify(summary));
}

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const divisor = quick ? QUICK_DIVISOR : 1;
  const sizes: Sizes = { writes: WRITE_COUNT_FULL / divisor, reads: READ_COUNT_FULL / divisor };
  const child = argValue(args, '--child');
  if (child !== undefined) {
    const workload = argValue(args, '--workload') as Workload;
    if (!ENGINES.includes(child as EngineName) || !WORKLOADS.includes(workload)) {
      throw new Error(`usage: --child ${ENGINES.join('|')} --workload ${WORKLOADS.join('|')}`);
    }
    await childMain(
      child as EngineName,
      workload,
      Number(argValue(args, '--run') ?? 1),
      sizes,
      argValue(args, '--dir'),
    );
    return;
  }
  const runs = Number(argValue(args, '--runs') ?? RUNS_DEFAULT);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs needs a positive integer');
  const base = mkdtempSync(join(tmpdir(), 'tabula-engine-bench-'));
  try {
    report(runAll(runs, quick, base), runs, sizes);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
