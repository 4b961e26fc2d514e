/**
 * The embedded Node API (`open()`) against LevelDB (`classic-level`) on the engine benchmark's
 * small-row workload (bench/engine-bench.ts: 16-byte keys, 100-byte values, batches of 1000, each
 * awaited; both durable — Tabula acknowledges after the WAL sync, LevelDB batches use `sync: true`),
 * but through the public API: a batch is one `mutateRows` of 1000 rows, each row one `setCell`
 * (family `f`, qualifier `c`, an explicit timestamp); a get is `readRow`; a scan is `readRows()`.
 * LevelDB reads are its async API (`get`, `iterator().nextv`), the like-for-like counterpart.
 *
 *   fillseq     N rows written in key order
 *   fillrandom  N rows written in a seeded random order
 *   readrandom  N/5 random reads of existing rows (after a fillrandom)
 *   scan        a full forward scan (after a fillrandom), counting rows
 *
 * Each (engine, workload, run) runs in its own child process on a fresh directory; figures are
 * medians. The last stdout line is one JSON object of Tabula/LevelDB ratios (≥ 1 favours Tabula).
 *
 *   npm run bench:embedded                       # 200,000 rows, 3 runs
 *   node dist/bench/embedded-bench.js --quick    # 10x smaller
 *   node dist/bench/embedded-bench.js --rows 1000000 --runs 1
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../src/client/index.js';
import { SeededRand } from '../src/common/clock.js';
import { openLevelDbAnchor } from './leveldb-anchor.js';

const ROWS_DEFAULT = 200_000;
const QUICK_DIVISOR = 10;
const READS_PER_ROW = 0.2;
const BATCH_ROWS = 1000;
const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const RUNS_DEFAULT = 3;
const SEED = 20_240_601;
const TIMESTAMP_MICROS = 1_700_000_000_000_000;
const CHILD_TIMEOUT_MS = 15 * 60 * 1000;

const ENGINES = ['tabula', 'leveldb'] as const;
type EngineName = (typeof ENGINES)[number];
const WORKLOADS = ['fillseq', 'fillrandom', 'readrandom', 'scan'] as const;
type Workload = (typeof WORKLOADS)[number];

/** The few calls the workloads make, on either store. */
interface BenchStore {
  putBatch(keys: Buffer[], values: Buffer[]): Promise<void>;
  get(key: Buffer): Promise<boolean>;
  countAll(): Promise<number>;
  close(): Promise<void>;
}

function keyOf(i: number): Buffer {
  return Buffer.from(String(i).padStart(KEY_BYTES, '0'), 'latin1');
}

function randomValue(rand: SeededRand): Buffer {
  const v = Buffer.allocUnsafe(VALUE_BYTES);
  for (let i = 0; i < VALUE_BYTES; i++) v[i] = i < VALUE_BYTES / 2 ? rand.int(256) : 97;
  return v;
}

function writeOrder(n: number, random: boolean): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (!random) return order;
  const rand = new SeededRand(SEED + 1);
  for (let i = n - 1; i > 0; i--) {
    const j = rand.int(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

async function openTabula(dir: string): Promise<BenchStore> {
  const db = await open(dir);
  await db.createTable('bench', { families: { f: {} } });
  const table = db.table('bench');
  return {
    putBatch: async (keys, values) => {
      const results = await table.mutateRows(
        keys.map((key, i) => ({
          key,
          mutations: [
            {
              setCell: {
                family: 'f',
                qualifier: 'c',
                value: values[i] as Buffer,
                timestampMicros: TIMESTAMP_MICROS,
              },
            },
          ],
        })),
      );
      const failed = results.find((r) => r.error !== undefined);
      if (failed) throw failed.error;
    },
    get: async (key) => (await table.readRow(key)) !== undefined,
    countAll: async () => {
      let n = 0;
      for await (const _ of table.readRows()) n++;
      return n;
    },
    close: () => db.close(),
  };
}

async function openLevelDb(dir: string): Promise<BenchStore> {
  const db = await openLevelDbAnchor(dir);
  return { ...db, get: async (key) => (await db.getAsync(key)) !== undefined };
}

async function fill(store: BenchStore, order: number[]): Promise<number> {
  const rand = new SeededRand(SEED);
  const start = performance.now();
  for (let b = 0; b < order.length; b += BATCH_ROWS) {
    const ids = order.slice(b, b + BATCH_ROWS);
    await store.putBatch(
      ids.map(keyOf),
      ids.map(() => randomValue(rand)),
    );
  }
  return order.length / ((performance.now() - start) / 1000);
}

async function measure(store: BenchStore, workload: Workload, rows: number): Promise<number> {
  if (workload === 'fillseq') return fill(store, writeOrder(rows, false));
  if (workload === 'fillrandom') return fill(store, writeOrder(rows, true));
  await fill(store, writeOrder(rows, true));
  const start = performance.now();
  if (workload === 'scan') {
    const n = await store.countAll();
    if (n !== rows) throw new Error(`scan counted ${n} rows, expected ${rows}`);
    return n / ((performance.now() - start) / 1000);
  }
  const rand = new SeededRand(SEED + 2);
  const reads = Math.floor(rows * READS_PER_ROW);
  for (let i = 0; i < reads; i++) {
    if (!(await store.get(keyOf(rand.int(rows))))) throw new Error('readrandom missed a row');
  }
  return reads / ((performance.now() - start) / 1000);
}

async function child(engine: EngineName, workload: Workload, rows: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `tabula-embedded-bench-${engine}-`));
  try {
    const store = engine === 'tabula' ? await openTabula(dir) : await openLevelDb(dir);
    try {
      process.stdout.write(`${JSON.stringify({ opsPerSec: await measure(store, workload, rows) })}\n`);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function spawnChild(engine: EngineName, workload: Workload, rows: number): number {
  const args = [
    fileURLToPath(import.meta.url),
    '--child',
    engine,
    '--workload',
    workload,
    '--rows',
    String(rows),
  ];
  const res = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  const line = res.stdout?.trim().split('\n').pop() ?? '';
  if (res.status !== 0 || !line.startsWith('{'))
    throw new Error(`child ${engine}/${workload} failed: ${res.stderr}`);
  return (JSON.parse(line) as { opsPerSec: number }).opsPerSec;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function report(rows: number, runs: number): void {
  const ratios: Record<string, number> = {};
  console.log(`embedded API bench: ${fmt(rows)} rows, median of ${runs} runs`);
  console.log('| workload   | tabula ops/s | leveldb ops/s | tabula/leveldb |');
  console.log('|------------|-------------:|--------------:|---------------:|');
  for (const workload of WORKLOADS) {
    const figures: Record<EngineName, number[]> = { tabula: [], leveldb: [] };
    for (let run = 1; run <= runs; run++) {
      const order = run % 2 === 1 ? ENGINES : [...ENGINES].reverse();
      for (const engine of order) figures[engine].push(spawnChild(engine, workload, rows));
    }
    const t = median(figures.tabula);
    const l = median(figures.leveldb);
    ratios[workload] = Number((t / l).toFixed(3));
    console.log(
      `| ${workload.padEnd(10)} | ${fmt(t).padStart(12)} | ${fmt(l).padStart(13)} | ${(t / l).toFixed(3).padStart(14)} |`,
    );
  }
  console.log(JSON.stringify(ratios));
}

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const rows = Number(
    argValue(args, '--rows') ?? ROWS_DEFAULT / (args.includes('--quick') ? QUICK_DIVISOR : 1),
  );
  const engine = argValue(args, '--child');
  if (engine !== undefined) {
    const workload = argValue(args, '--workload') as Workload;
    if (!ENGINES.includes(engine as EngineName) || !WORKLOADS.includes(workload))
      throw new Error('bad --child/--workload');
    await child(engine as EngineName, workload, rows);
    return;
  }
  const runs = Number(argValue(args, '--runs') ?? RUNS_DEFAULT);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(rows) || rows < BATCH_ROWS) {
    throw new Error('--runs needs a positive integer and --rows at least 1000');
  }
  report(rows, runs);
}

await main();
