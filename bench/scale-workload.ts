/**
 * The workload of `bench:scale` (bench/scale-bench.ts), run in a child process of its own so that
 * the peak RSS it reports belongs to the table store alone.
 *
 * The rows of bench/scale-rows.ts (1 KB values, uniformly spread keys) are written through the
 * embedded table store (no gRPC) in batches of BATCH_ROWS rows, WRITERS batches in flight; each
 * batch is durable (WAL fsync) when it resolves. Two phases:
 *
 *   phase 1  write rows 0 .. rowsPhase1, let splits settle, then single-row reads of random
 *            existing rows;
 *   phase 2  write the rest up to `rows`, let splits settle, then the same reads over all rows.
 *
 * Splits run one at a time and can fall behind a fast writer, so tablets may be several times the
 * threshold when the writes end. "Settled" means no tablet is above the split threshold, no split
 * happened for SETTLE_QUIET_MS, and no tablet has L0_COMPACTION_TRIGGER level-0 files or more
 * (compactions caught up), so both phases read a store in the same steady state. It is waited
 * for at most SETTLE_MS_MAX; the figures say whether it settled and how long it took.
 *
 * Reads: bench/scale-reads.ts.
 *
 * The result is one JSON line on stdout (`ScaleResult`); progress goes to stderr.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { L0_COMPACTION_TRIGGER } from '../src/common/limits.js';
import type { ValidMutation } from '../src/model/mutation.js';
import {
  compactionWorkerMemory,
  openTableStore,
  tabletEngineStats,
  tabletEngines,
  tabletRanges,
  tabletStats,
} from '../src/tablet/table-store.js';
import type { RowMutations, TableStore } from '../src/tablet/table-store-api.js';
import type { PausePhases } from '../src/tablet/tablet-split.js';
import { measureReads, READS_PER_MEASUREMENT } from './scale-reads.js';
import { FAMILY, QUALIFIER, RowValues, rowKeyOf, TABLE_ID } from './scale-rows.js';

const BATCH_ROWS = 1000;
const WRITERS = 4;
const READ_SEED = 20_250_102;
const TIMESTAMP_MICROS = 1_700_000_000_000_000;
const PROGRESS_EVERY_ROWS = 100_000;
const SETTLE_POLL_MS = 250;
const SETTLE_QUIET_MS = 2_000;
const SETTLE_MS_MAX = 5 * 60 * 1000;
const KIB_PER_MB = 1024;
const BYTES_PER_MB = 1024 * 1024;

/** What the parent asks for. */
export interface ScaleOptions {
  dir: string;
  rows: number;
  rowsPhase1: number;
  splitThresholdBytes: number;
}

/** Figures of one phase, taken after its writes and reads. */
export interface PhaseFigures {
  rows: number;
  /** Tablets when the writes of this phase ended, before splits settled. */
  tabletsAtWriteEnd: number;
  /** Largest tablet when the writes ended. */
  tabletMbMaxAtWriteEnd: number;
  /** Time from the end of the writes until splits settled (or SETTLE_MS_MAX). */
  settleMs: number;
  settled: boolean;
  tablets: number;
  splits: number;
  merges: number;
  pauseMsMax: number;
  /** Where the longest pause's time went (ms): drain, hand-over, adopt, commit. */
  longestPause: PausePhases;
  pauseMsTotal: number;
  /** SSTables the row Bloom filters let the reads of this phase leave out, per read. */
  filterSkipsPerRead: number;
  /** Rows written in this phase over the time they took. */
  writeRowsPerSec: number;
  /** Longest single mutateRows call of this phase as the writer saw it (splits, stalls, syncs). */
  batchMsMax: number;
  readsPerSec: number;
  readP50Ms: number;
  readP99Ms: number;
  readMaxMs: number;
  /** p50 and p99 of a fixed computation timed beside each read: the machine's share of the tail. */
  anchorP50Ms: number;
  anchorP99Ms: number;
  /** GC pauses during the read loop. */
  gcCountDuringReads: number;
  gcMsDuringReads: number;
  /** process.resourceUsage().maxRSS so far (peak since the process started). */
  peakRssMb: number;
  rssMb: number;
  /** Of the RSS now: anonymous memory and mapped files (Linux /proc/self/status; else NaN). */
  rssAnonMb: number;
  rssFileMb: number;
  heapUsedMb: number;
  /** Memory of ArrayBuffers and Buffers (memtables, blocks, flush chunks) of the main thread. */
  arrayBuffersMb: number;
  /** RSS and ArrayBuffers right after a full garbage collection: what is still referenced. */
  rssAfterGcMb: number;
  arrayBuffersAfterGcMb: number;
  /** The compaction worker threads' own JS heaps and ArrayBuffers, summed. */
  workerHeapMb: number;
  workerArrayBuffersMb: number;
  /** Memory of every memtable (active and frozen) of every tablet. */
  memtableMb: number;
  blockCacheMb: number;
  /** Sum of the tablets' approximate sizes (SSTables + memtables). */
  tabletMb: number;
  /** Bytes of every file under the store's directory. */
  diskMb: number;
  /** SSTables per level, summed over tablets. */
  levelFiles: number[];
}

/** The child's answer. */
export interface ScaleResult {
  phases: [PhaseFigures, PhaseFigures];
  /** All rows over all write time. */
  writeRowsPerSec: number;
}

function mb(bytes: number): number {
  return Number((bytes / BYTES_PER_MB).toFixed(1));
}

/** A `kB` field of /proc/self/status in MB, or NaN where there is none. */
function statusMb(field: string): number {
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return Number.NaN;
  }
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return Number((kb / KIB_PER_MB).toFixed(1));
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : e.isFile() ? statSync(p).size : 0;
  }
  return n;
}

/** Writes rows [from, to) with WRITERS batches in flight; returns rows/s and the longest batch. */
async function writeRows(
  store: TableStore,
  values: RowValues,
  from: number,
  to: number,
): Promise<{ rowsPerSec: number; batchMsMax: number }> {
  const tablet = store.tablet(TABLE_ID);
  let next = from;
  let batchMsMax = 0;
  let reported = from;
  const start = performance.now();
  const writer = async () => {
    while (next < to) {
      const first = next;
      const last = Math.min(to, first + BATCH_ROWS);
      next = last;
      const entries: RowMutations[] = [];
      for (let row = first; row < last; row++) {
        const mutation: ValidMutation = {
          kind: 'setCell',
          family: FAMILY,
          qualifier: QUALIFIER,
          timestampMicros: TIMESTAMP_MICROS,
          value: values.of(row),
        };
        entries.push({ rowKey: rowKeyOf(row), mutations: [mutation] });
      }
      const batchStart = performance.now();
      const outcomes = await tablet.mutateRows(entries);
      batchMsMax = Math.max(batchMsMax, performance.now() - batchStart);
      const failed = outcomes.findIndex((o) => o !== undefined);
      if (failed >= 0) throw new Error(`row ${first + failed} was not written: ${String(outcomes[failed])}`);
      if (last - reported >= PROGRESS_EVERY_ROWS) {
        reported = last;
        const s = (performance.now() - start) / 1000;
        const tablets = tabletRanges(store, TABLE_ID).length;
        const rssMb = process.memoryUsage().rss / BYTES_PER_MB;
        process.stderr.write(
          `  ~${last.toLocaleString('en-US')} rows, ${Math.round((last - from) / s)} rows/s, ` +
            `${tablets} tablets, rss ${rssMb.toFixed(0)} MB\n`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  return { rowsPerSec: (to - from) / ((performance.now() - start) / 1000), batchMsMax };
}

/** Waits until splits and compactions have caught up (see the file comment), at most SETTLE_MS_MAX. */
async function settleSplits(
  store: TableStore,
  splitThresholdBytes: number,
): Promise<{ settleMs: number; settled: boolean }> {
  const start = performance.now();
  let splits = tabletStats(store)?.splits ?? 0;
  let quietSinceMs = start;
  for (;;) {
    const now = performance.now();
    const current = tabletStats(store)?.splits ?? 0;
    if (current !== splits) {
      splits = current;
      quietSinceMs = now;
    }
    const over = tabletRanges(store, TABLE_ID).some((r) => r.bytes > splitThresholdBytes);
    const behind = tabletEngines(store, TABLE_ID).some(
      (e) => (e.stats().levelFiles[0] ?? 0) >= L0_COMPACTION_TRIGGER,
    );
    if (!over && !behind && now - quietSinceMs >= SETTLE_QUIET_MS)
      return { settleMs: now - start, settled: true };
    if (now - start >= SETTLE_MS_MAX) return { settleMs: now - start, settled: false };
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }
}

/** Writes rows [from, to), lets splits settle; returns the write figures of the phase. */
async function writePhase(
  store: TableStore,
  options: ScaleOptions,
  values: RowValues,
  from: number,
  to: number,
): Promise<WriteFigures> {
  const write = await writeRows(store, values, from, to);
  const ranges = tabletRanges(store, TABLE_ID);
  const tabletMbMaxAtWriteEnd = mb(Math.max(...ranges.map((r) => r.bytes)));
  process.stderr.write(`  ${ranges.length} tablets when the writes ended; waiting for splits to settle\n`);
  const settle = await settleSplits(store, options.splitThresholdBytes);
  return { ...write, tabletsAtWriteEnd: ranges.length, tabletMbMaxAtWriteEnd, ...settle };
}

interface WriteFigures {
  rowsPerSec: number;
  batchMsMax: number;
  tabletsAtWriteEnd: number;
  tabletMbMaxAtWriteEnd: number;
  settleMs: number;
  settled: boolean;
}

/** SSTables the row Bloom filters have let reads of the table leave out so far. */
function filterSkips(store: TableStore): number {
  return tabletEngineStats(store).find((s) => s.tableId === TABLE_ID)?.stats.prefixFilterSkips ?? 0;
}

async function measurePhase(
  store: TableStore,
  options: ScaleOptions,
  values: RowValues,
  rows: number,
  write: WriteFigures,
): Promise<PhaseFigures> {
  const skipsBefore = filterSkips(store);
  const reads = await measureReads(store, values, rows, READ_SEED + rows);
  const filterSkipsPerRead = (filterSkips(store) - skipsBefore) / READS_PER_MEASUREMENT;
  const split = tabletStats(store) ?? {
    splits: 0,
    merges: 0,
    pauseMsMax: 0,
    longestPause: { drainMs: 0, handOverMs: 0, adoptMs: 0, commitMs: 0 },
    pauseMsTotal: 0,
  };
  const ranges = tabletRanges(store, TABLE_ID);
  const engines = tabletEngines(store, TABLE_ID);
  const stats = tabletEngineStats(store).find((s) => s.tableId === TABLE_ID)?.stats;
  const memory = process.memoryUsage();
  const workers = await compactionWorkerMemory(store);
  return {
    rows,
    tabletsAtWriteEnd: write.tabletsAtWriteEnd,
    tabletMbMaxAtWriteEnd: write.tabletMbMaxAtWriteEnd,
    settleMs: Math.round(write.settleMs),
    settled: write.settled,
    tablets: ranges.length,
    ...split,
    pauseMsMax: Number(split.pauseMsMax.toFixed(1)),
    pauseMsTotal: Number(split.pauseMsTotal.toFixed(1)),
    longestPause: {
      drainMs: Number(split.longestPause.drainMs.toFixed(1)),
      handOverMs: Number(split.longestPause.handOverMs.toFixed(1)),
      adoptMs: Number(split.longestPause.adoptMs.toFixed(1)),
      commitMs: Number(split.longestPause.commitMs.toFixed(1)),
    },
    filterSkipsPerRead: Number(filterSkipsPerRead.toFixed(2)),
    writeRowsPerSec: Math.round(write.rowsPerSec),
    batchMsMax: Number(write.batchMsMax.toFixed(1)),
    readsPerSec: Math.round(reads.readsPerSec),
    readP50Ms: Number(reads.p50Ms.toFixed(4)),
    readP99Ms: Number(reads.p99Ms.toFixed(4)),
    readMaxMs: Number(reads.maxMs.toFixed(3)),
    anchorP50Ms: Number(reads.anchorP50Ms.toFixed(4)),
    anchorP99Ms: Number(reads.anchorP99Ms.toFixed(4)),
    gcCountDuringReads: reads.gcCount,
    gcMsDuringReads: Number(reads.gcMsTotal.toFixed(1)),
    peakRssMb: Number((process.resourceUsage().maxRSS / KIB_PER_MB).toFixed(1)),
    rssMb: mb(memory.rss),
    rssAnonMb: statusMb('RssAnon'),
    rssFileMb: statusMb('RssFile'),
    heapUsedMb: mb(memory.heapUsed),
    arrayBuffersMb: mb(memory.arrayBuffers),
    memtableMb: mb(engines.reduce((n, e) => n + e.memtableBytes(), 0)),
    blockCacheMb: mb(stats?.blockCache.usedBytes ?? 0),
    tabletMb: mb(ranges.reduce((n, r) => n + r.bytes, 0)),
    diskMb: mb(dirBytes(options.dir)),
    levelFiles: stats?.levelFiles ?? [],
    ...afterFullGc(),
    workerHeapMb: mb(workers.reduce((n, w) => n + w.heapUsed, 0)),
    workerArrayBuffersMb: mb(workers.reduce((n, w) => n + w.arrayBuffers, 0)),
  };
}

/** Memory right after a full collection (the child runs with --expose-gc). */
function afterFullGc(): { rssAfterGcMb: number; arrayBuffersAfterGcMb: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the scale workload must run with --expose-gc');
  gc();
  const memory = process.memoryUsage();
  return { rssAfterGcMb: mb(memory.rss), arrayBuffersAfterGcMb: mb(memory.arrayBuffers) };
}

/** Runs both phases in this process; prints the `ScaleResult` as the last stdout line. */
export async function runScaleWorkload(options: ScaleOptions): Promise<void> {
  const values = new RowValues();
  const store = await openTableStore({ dir: options.dir, splitThresholdBytes: options.splitThresholdBytes });
  try {
    await store.createTable(TABLE_ID, { families: new Map([[FAMILY, undefined]]), initialSplits: [] });
    process.stderr.write(`phase 1: writing ${options.rowsPhase1.toLocaleString('en-US')} rows\n`);
    const write1 = await writePhase(store, options, values, 0, options.rowsPhase1);
    process.stderr.write('phase 1: reading\n');
    const phase1 = await measurePhase(store, options, values, options.rowsPhase1, write1);
    process.stderr.write(`phase 2: writing up to ${options.rows.toLocaleString('en-US')} rows\n`);
    const write2 = await writePhase(store, options, values, options.rowsPhase1, options.rows);
    process.stderr.write('phase 2: reading\n');
    const phase2 = await measurePhase(store, options, values, options.rows, write2);
    const writeSeconds =
      options.rowsPhase1 / write1.rowsPerSec + (options.rows - options.rowsPhase1) / write2.rowsPerSec;
    const result: ScaleResult = {
      phases: [phase1, phase2],
      writeRowsPerSec: Math.round(options.rows / writeSeconds),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await store.close();
  }
}
