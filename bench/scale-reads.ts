/**
 * Single-row reads of `bench:scale`: READ_ROUNDS rounds of READS reads of random existing rows,
 * one at a time, each timed alone, after WARMUP_READS untimed ones; each figure is the median over
 * the rounds (PERFORMANCE.md: this machine is shared and noisy). Every read checks that it got exactly its row with
 * the value written, so throughput counts correct answers only. Throughput is reads over the time
 * spent inside reads; every READ_CHUNK reads the loop yields once (outside the timed region) so
 * background flushes and compactions can finish their work on the main thread.
 *
 * Two things inflate a tail on this shared 2-core machine that are not the read path: the process
 * being descheduled, and garbage collection. So beside every read the loop also times an anchor —
 * a fixed, allocation-free computation of about a read's median cost — whose p99 shows the
 * scheduler's share of the tail, and it sums the GC pauses observed during the read loop (yields included).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { SeededRand } from '../src/common/clock.js';
import { compileRowFilter } from '../src/model/row-filter.js';
import type { TableStore } from '../src/tablet/table-store-api.js';
import { type RowValues, rowKeyOf, TABLE_ID } from './scale-rows.js';

const READS = 20_000;
const WARMUP_READS = 2_000;
const READ_CHUNK = 1_000;
const READ_ROUNDS = 3;
/** Iterations of the anchor computation (≈ 25 µs here, about a read's median). */
const ANCHOR_ITERATIONS = 5_000;

/** Reads `measureReads` makes in all, warm-up included. */
export const READS_PER_MEASUREMENT = READ_ROUNDS * (READS + WARMUP_READS);

/** Figures of one round of reads. */
export interface ReadFigures {
  readsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** p50 and p99 of the anchor computation timed beside the reads. */
  anchorP50Ms: number;
  anchorP99Ms: number;
  /** GC pauses during the read loop: their count and total. */
  gcCount: number;
  gcMsTotal: number;
}

/** Reads one existing row; throws unless it holds exactly the value written. */
function readOne(store: TableStore, values: RowValues, row: number): void {
  const key = rowKeyOf(row);
  const rows = [
    ...store.tablet(TABLE_ID).readRows({
      selection: { rowKeys: [key], rowRanges: [], all: false },
      filter: compileRowFilter(undefined),
      rowsLimit: 0,
      reversed: false,
    }),
  ];
  const cell = rows[0]?.cells[0];
  if (rows.length !== 1 || !rows[0]?.key.equals(key) || !cell?.value.equals(values.of(row))) {
    throw new Error(`read of row ${row} (key ${key.toString('latin1')}) returned a wrong answer`);
  }
}

/** A fixed computation that allocates nothing: its time varies only with the machine. */
function anchor(seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < ANCHOR_ITERATIONS; i++) h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + i;
  return h;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

/** READ_ROUNDS rounds of reads of random rows in [0, rows); the median of each figure. */
export async function measureReads(
  store: TableStore,
  values: RowValues,
  rows: number,
  seed: number,
): Promise<ReadFigures> {
  const rounds: ReadFigures[] = [];
  for (let r = 0; r < READ_ROUNDS; r++) rounds.push(await readRound(store, values, rows, seed + r));
  const med = (get: (f: ReadFigures) => number) => {
    const sorted = rounds.map(get).sort((a, b) => a - b);
    return sorted[sorted.length >> 1] ?? Number.NaN;
  };
  return {
    readsPerSec: med((f) => f.readsPerSec),
    p50Ms: med((f) => f.p50Ms),
    p99Ms: med((f) => f.p99Ms),
    maxMs: med((f) => f.maxMs),
    anchorP50Ms: med((f) => f.anchorP50Ms),
    anchorP99Ms: med((f) => f.anchorP99Ms),
    gcCount: med((f) => f.gcCount),
    gcMsTotal: med((f) => f.gcMsTotal),
  };
}

/** READS timed single-row reads of random rows in [0, rows). */
async function readRound(
  store: TableStore,
  values: RowValues,
  rows: number,
  seed: number,
): Promise<ReadFigures> {
  const rand = new SeededRand(seed);
  for (let i = 0; i < WARMUP_READS; i++) readOne(store, values, rand.int(rows));
  const gc = { count: 0, ms: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.ms += e.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const latencies: number[] = [];
  const anchors: number[] = [];
  let busyMs = 0;
  let sink = 0;
  try {
    while (latencies.length < READS) {
      await new Promise((resolve) => setImmediate(resolve));
      const end = Math.min(READS, latencies.length + READ_CHUNK);
      while (latencies.length < end) {
        const row = rand.int(rows);
        const start = performance.now();
        readOne(store, values, row);
        const ms = performance.now() - start;
        latencies.push(ms);
        busyMs += ms;
        const anchorStart = performance.now();
        sink ^= anchor(row);
        anchors.push(performance.now() - anchorStart);
      }
    }
    // Entries of the last pauses are delivered asynchronously.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    observer.disconnect();
  }
  if (sink === 0.5) throw new Error('unreachable: keeps the anchor from being optimized away');
  latencies.sort((a, b) => a - b);
  anchors.sort((a, b) => a - b);
  return {
    readsPerSec: READS / (busyMs / 1000),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies[latencies.length - 1] ?? Number.NaN,
    anchorP50Ms: percentile(anchors, 0.5),
    anchorP99Ms: percentile(anchors, 0.99),
    gcCount: gc.count,
    gcMsTotal: gc.ms,
  };
}
