/**
 * How cost grows with data: writes 2,000,000 rows of 1 KB (≈ 2 GB) into one table of the embedded
 * table store (no gRPC) with a 64 MiB split threshold, so the table splits into dozens of tablets,
 * and reports
 *
 *   - the number of tablets and splits, and the longest writer pause a split caused;
 *   - write throughput (batches of 1000 random-key rows, 4 in flight; durable: WAL fsync);
 *   - single-row read throughput and p50/p99 latency at 1/10 of the rows and at all of them —
 *     a point read should cost no more than the log of the data: p99 ratio ≤ log(N)/log(N/10);
 *   - peak RSS at both sizes, which should be bounded by configuration (memtable budget, block
 *     cache), not by the data.
 *
 * The workload (bench/scale-workload.ts) runs in a child process on a fresh directory, so the
 * peak RSS is the store's own; the directory is deleted at the end. Before starting, the bench
 * checks the free disk space and fails when it is short: it never shrinks the run on its own.
 * The last stdout line is one JSON object of the figures (the `200k`/`2M` names are the two
 * phases, whatever `--rows` is; `rowsPhase1` says what the first one was).
 *
 *   npm run bench:scale                               # 2,000,000 rows, 64 MiB threshold
 *   node dist/bench/scale-bench.js --quick            # 300,000 rows, 8 MiB threshold
 *   node dist/bench/scale-bench.js --rows 500000 --dir /mnt/big
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PhaseFigures, runScaleWorkload, type ScaleResult } from './scale-workload.js';

const ROWS_DEFAULT = 2_000_000;
const ROWS_QUICK = 300_000;
const ROWS_MIN = 10_000;
const PHASE1_DIVISOR = 10;
const MIB = 1024 * 1024;
const SPLIT_THRESHOLD_BYTES_DEFAULT = 64 * MIB;
const SPLIT_THRESHOLD_BYTES_QUICK = 8 * MIB;
/** Disk per row to ask for: a 1 KB value and its key, times WAL + flush + compaction copies. */
const DISK_BYTES_PER_ROW = 1100 * 3;
const DISK_SLACK_BYTES = 512 * MIB;
/** The child is killed past this (rows × per-row budget, at least the floor). */
const CHILD_TIMEOUT_MS_PER_ROW = 2;
const CHILD_TIMEOUT_MS_MIN = 10 * 60 * 1000;
const GB = 1024 * MIB;

interface Args {
  rows: number;
  splitThresholdBytes: number;
  dir: string | undefined;
  child: boolean;
}

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function parseArgs(args: string[]): Args {
  const quick = args.includes('--quick');
  const rows = Number(argValue(args, '--rows') ?? (quick ? ROWS_QUICK : ROWS_DEFAULT));
  const splitThresholdBytes = Number(
    argValue(args, '--split-threshold-bytes') ??
      (quick ? SPLIT_THRESHOLD_BYTES_QUICK : SPLIT_THRESHOLD_BYTES_DEFAULT),
  );
  if (!Number.isSafeInteger(rows) || rows < ROWS_MIN || rows > 0xffff_ffff)
    throw new Error(`--rows needs an integer in [${ROWS_MIN}, 2^32)`);
  if (!Number.isSafeInteger(splitThresholdBytes) || splitThresholdBytes <= 0)
    throw new Error('--split-threshold-bytes needs a positive integer');
  return { rows, splitThresholdBytes, dir: argValue(args, '--dir'), child: args.includes('--child') };
}

/** Fails unless `dir`'s file system has room for `rows` rows (never shrinks the run). */
function checkFreeSpace(dir: string, rows: number): void {
  const fs = statfsSync(dir);
  const freeBytes = fs.bavail * fs.bsize;
  const neededBytes = rows * DISK_BYTES_PER_ROW + DISK_SLACK_BYTES;
  if (freeBytes < neededBytes) {
    throw new Error(
      `not enough free disk space in ${dir}: ${rows} rows need about ${(neededBytes / GB).toFixed(1)} GB, ` +
        `${(freeBytes / GB).toFixed(1)} GB are free; free some space, pass --dir on a larger disk, ` +
        'or ask for fewer rows with --rows',
    );
  }
  console.log(
    `disk: ${(freeBytes / GB).toFixed(1)} GB free, about ${(neededBytes / GB).toFixed(1)} GB needed`,
  );
}

/** Runs the workload in a child process; resolves with its result. Progress passes through. */
function runChild(args: Args, dir: string): Promise<ScaleResult> {
  const argv = [
    '--expose-gc',
    fileURLToPath(import.meta.url),
    '--child',
    '--rows',
    String(args.rows),
    '--split-threshold-bytes',
    String(args.splitThresholdBytes),
    '--dir',
    dir,
  ];
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const timeoutMs = Math.max(CHILD_TIMEOUT_MS_MIN, args.rows * CHILD_TIMEOUT_MS_PER_ROW);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const onSignal = () => child.kill('SIGKILL');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as ScaleResult);
      else
        reject(new Error(`workload child failed (code ${code}, signal ${signal}; timeout ${timeoutMs} ms)`));
    });
  });
}

function fmt(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

function printTable(result: ScaleResult): void {
  const [a, b] = result.phases;
  const rows: Array<[string, (p: PhaseFigures) => number | string]> = [
    ['tablets when writes ended (largest MB)', (p) => `${p.tabletsAtWriteEnd} (${p.tabletMbMaxAtWriteEnd})`],
    [
      'splits settled after (s)',
      (p) => `${(p.settleMs / 1000).toFixed(1)}${p.settled ? '' : ' (NOT settled)'}`,
    ],
    ['tablets (settled)', (p) => p.tablets],
    ['splits / merges so far', (p) => `${p.splits} / ${p.merges}`],
    ['longest split pause (ms)', (p) => p.pauseMsMax],
    [
      '  of it: drain / hand-over / adopt / commit (ms)',
      (p) =>
        `${p.longestPause.drainMs} / ${p.longestPause.handOverMs} / ${p.longestPause.adoptMs} / ${p.longestPause.commitMs}`,
    ],
    ['longest mutateRows call (ms)', (p) => p.batchMsMax],
    ['write rows/s (this phase)', (p) => p.writeRowsPerSec],
    ['single-row reads/s', (p) => p.readsPerSec],
    ['SSTables left out per read (row filters)', (p) => p.filterSkipsPerRead],
    ['read p50 / p99 / max (ms)', (p) => `${fmt(p.readP50Ms)} / ${fmt(p.readP99Ms)} / ${fmt(p.readMaxMs)}`],
    ['anchor p50 / p99 (ms; machine noise)', (p) => `${fmt(p.anchorP50Ms)} / ${fmt(p.anchorP99Ms)}`],
    ['GC pauses in read loop (n / ms)', (p) => `${p.gcCountDuringReads} / ${p.gcMsDuringReads}`],
    ['peak RSS so far (MB)', (p) => p.peakRssMb],
    ['RSS now / JS heap / ArrayBuffers (MB)', (p) => `${p.rssMb} / ${p.heapUsedMb} / ${p.arrayBuffersMb}`],
    ['after a full GC: RSS / ArrayBuffers (MB)', (p) => `${p.rssAfterGcMb} / ${p.arrayBuffersAfterGcMb}`],
    [
      'compaction workers: JS heap / ArrayBuffers (MB)',
      (p) => `${p.workerHeapMb} / ${p.workerArrayBuffersMb}`,
    ],
    ['of RSS now: anonymous / file (MB)', (p) => `${p.rssAnonMb} / ${p.rssFileMb}`],
    ['memtables / block cache (MB)', (p) => `${p.memtableMb} / ${p.blockCacheMb}`],
    ['tablet bytes / disk (MB)', (p) => `${p.tabletMb} / ${p.diskMb}`],
    ['SSTables per level', (p) => p.levelFiles.join(' ')],
  ];
  const head = ['', `${fmt(a.rows)} rows`, `${fmt(b.rows)} rows`];
  console.log(`| ${head.join(' | ')} |`);
  console.log('|---|---:|---:|');
  for (const [name, get] of rows) {
    const cell = (p: PhaseFigures) => {
      const v = get(p);
      return typeof v === 'number' ? fmt(v) : v;
    };
    console.log(`| ${name} | ${cell(a)} | ${cell(b)} |`);
  }
}

function summary(args: Args, result: ScaleResult): Record<string, number | boolean> {
  const [a, b] = result.phases;
  return {
    rows: b.rows,
    rowsPhase1: a.rows,
    splitThresholdBytes: args.splitThresholdBytes,
    tablets: b.tablets,
    tabletsAtWriteEnd: b.tabletsAtWriteEnd,
    settleMs: b.settleMs,
    settled: a.settled && b.settled,
    splits: b.splits,
    merges: b.merges,
    pauseMsMax: b.pauseMsMax,
    batchMsMax: Math.max(a.batchMsMax, b.batchMsMax),
    writeRowsPerSec: result.writeRowsPerSec,
    readsPerSec200k: a.readsPerSec,
    readP99Ms200k: a.readP99Ms,
    readsPerSec2M: b.readsPerSec,
    readP99Ms2M: b.readP99Ms,
    readCostRatio: Number((b.readP99Ms / a.readP99Ms).toFixed(3)),
    anchorP99Ms200k: a.anchorP99Ms,
    anchorP99Ms2M: b.anchorP99Ms,
    logBound: Number((Math.log(b.rows) / Math.log(a.rows)).toFixed(3)),
    peakRssMb200k: a.peakRssMb,
    peakRssMb2M: b.peakRssMb,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const rowsPhase1 = Math.floor(args.rows / PHASE1_DIVISOR);
  if (args.child) {
    if (args.dir === undefined) throw new Error('--child needs --dir');
    await runScaleWorkload({ ...args, dir: args.dir, rowsPhase1 });
    return;
  }
  const dir = mkdtempSync(join(args.dir ?? tmpdir(), 'tabula-scale-bench-'));
  try {
    checkFreeSpace(dir, args.rows);
    console.log(
      `scale bench: ${fmt(args.rows)} rows of 1 KB (first measured at ${fmt(rowsPhase1)}), ` +
        `split threshold ${args.splitThresholdBytes / MIB} MiB, in ${dir}`,
    );
    const start = performance.now();
    const result = await runChild(args, dir);
    console.log(`done in ${((performance.now() - start) / 1000).toFixed(0)} s`);
    printTable(result);
    console.log(JSON.stringify(summary(args, result)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
