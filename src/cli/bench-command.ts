/**
 * `tabula bench`: a load generator after YCSB's core workloads A–F, against any Bigtable endpoint
 * (it uses only the public API). It creates the table when missing and loads `--records` rows
 * (one family `f`, one column `f:field0` of `--value-bytes`), then runs `--concurrency` workers
 * until `--ops` operations are done or `--seconds` have passed, whichever comes first, and prints
 * a latency histogram per operation (p50/p90/p99/max) and the throughput.
 *
 * Choices come from a PRNG seeded by `--seed` (printed), so the operation sequence replays. An
 * operation that fails is counted and the run goes on; any failure makes the exit code 1.
 */

import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { Table, Tabula } from '../client/index.js';
import { ErrorCode, hasCode } from '../common/errors.js';
import {
  type BenchOp,
  LatencyHistogram,
  pickOp,
  Rand,
  recordKey,
  scramble,
  WORKLOADS,
  type Workload,
  ZipfianGenerator,
} from './bench-workloads.js';
import { type ConnectionFlags, integerFlag, usage, withConnectionFlags, withServer } from './cli-output.js';

const FAMILY = 'f';
const QUALIFIER = 'field0';
const LOAD_BATCH_ROWS = 500;
const SCAN_ROWS_MAX_DEFAULT = 100;
const PROGRESS_INTERVAL_MS = 2_000;

interface BenchFlags extends ConnectionFlags {
  table: string;
  workload: string;
  records: number;
  ops: number;
  seconds: number;
  concurrency: number;
  valueBytes: number;
  scanRows: number;
  seed: number;
  load?: boolean;
  progress?: boolean;
}

/** Shared state of one run's workers. */
interface RunState {
  readonly table: Table;
  readonly workload: Workload;
  readonly rand: Rand;
  readonly zipf: ZipfianGenerator;
  readonly value: Buffer;
  readonly deadlineMs: number;
  readonly flags: BenchFlags;
  started: number;
  inserted: number;
  errors: number;
  firstError: unknown;
  readonly histograms: Map<BenchOp, LatencyHistogram>;
}

async function prepareTable(db: Tabula, flags: BenchFlags, value: Buffer): Promise<void> {
  let created = false;
  try {
    await db.getTable(flags.table);
  } catch (err) {
    if (!hasCode(err, ErrorCode.NotFound)) throw err;
    await db.createTable(flags.table, { families: { [FAMILY]: { maxVersions: 1 } } });
    created = true;
  }
  if (!created && flags.load !== true) return;
  const table = db.table(flags.table);
  for (let first = 0; first < flags.records; first += LOAD_BATCH_ROWS) {
    const entries = [];
    for (let n = first; n < Math.min(flags.records, first + LOAD_BATCH_ROWS); n++) {
      entries.push({
        key: recordKey(n),
        mutations: [{ setCell: { family: FAMILY, qualifier: QUALIFIER, value, timestampMicros: 0 } }],
      });
    }
    const failed = (await table.mutateRows(entries)).find((r) => r.error);
    if (failed?.error) throw failed.error;
  }
  process.stderr.write(`bench: loaded ${flags.records} records into ${flags.table}\n`);
}

function chooseKey(state: RunState): string {
  const records = state.flags.records + state.inserted;
  if (state.workload.keyChoice === 'latest')
    return recordKey(Math.max(0, records - 1 - (state.zipf.next() % records)));
  return recordKey(scramble(state.zipf.next(), state.flags.records));
}

async function runOp(state: RunState, op: BenchOp): Promise<void> {
  const write = { setCell: { family: FAMILY, qualifier: QUALIFIER, value: state.value } };
  switch (op) {
    case 'read':
      await state.table.readRow(chooseKey(state));
      return;
    case 'update':
      await state.table.mutateRow(chooseKey(state), [write]);
      return;
    case 'insert':
      await state.table.mutateRow(recordKey(state.flags.records + state.inserted++), [write]);
      return;
    case 'scan': {
      const limit = 1 + state.rand.int(state.flags.scanRows);
      for await (const _row of state.table.readRows({ ranges: [{ start: chooseKey(state) }], limit })) {
        // Rows are consumed, not kept: the cost measured is the scan's.
      }
      return;
    }
    case 'readmodifywrite': {
      const key = chooseKey(state);
      await state.table.readRow(key);
      await state.table.mutateRow(key, [write]);
    }
  }
}

async function worker(state: RunState, onOp: () => void): Promise<void> {
  while (state.started < state.flags.ops && Date.now() < state.deadlineMs) {
    state.started++;
    const op = pickOp(state.workload, state.rand.next());
    const t0 = process.hrtime.bigint();
    try {
      await runOp(state, op);
    } catch (err) {
      state.errors++;
      state.firstError ??= err;
    }
    const micros = Number(process.hrtime.bigint() - t0) / 1000;
    let histogram = state.histograms.get(op);
    if (!histogram) state.histograms.set(op, (histogram = new LatencyHistogram()));
    histogram.record(micros);
    onOp();
  }
}

function progressReporter(flags: BenchFlags): { tick: (done: number) => void; stop: () => void } {
  const plain = flags.progress === false || !process.stderr.isTTY;
  if (plain) {
    let last = Date.now();
    return {
      tick: (done) => {
        if (Date.now() - last < PROGRESS_INTERVAL_MS) return;
        last = Date.now();
        process.stderr.write(`bench: ${done} ops\n`);
      },
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: 'bench [{bar}] {percentage}% | {value}/{total} ops | ETA {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(flags.ops, 0);
  return { tick: (done) => bar.update(done), stop: () => bar.stop() };
}

function printReport(state: RunState, elapsedMs: number): void {
  const total = new LatencyHistogram();
  for (const h of state.histograms.values()) total.merge(h);
  const seconds = elapsedMs / 1000;
  console.log(`workload ${state.workload.name} (${state.workload.description}), seed ${state.flags.seed}`);
  console.log(
    `${total.count} ops in ${seconds.toFixed(2)} s: ${Math.round(total.count / seconds)} ops/s, ${state.errors} errors`,
  );
  const ms = (micros: number) => (micros / 1000).toFixed(2).padStart(9);
  console.log(
    `${'op'.padEnd(16)}${'count'.padStart(9)}${'p50 ms'.padStart(9)}${'p90 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}`,
  );
  const rows = [...state.histograms.entries(), ['all', total] as const];
  for (const [op, h] of rows) {
    const cells = [h.quantileMicros(0.5), h.quantileMicros(0.9), h.quantileMicros(0.99), h.maxMicros].map(ms);
    console.log(`${op.padEnd(16)}${String(h.count).padStart(9)}${cells.join('')}`);
  }
}

async function runBench(flags: BenchFlags): Promise<void> {
  const workload = WORKLOADS.get(flags.workload.toLowerCase());
  if (!workload) usage(`--workload must be one of a, b, c, d, e, f, got ${JSON.stringify(flags.workload)}`);
  const rand = new Rand(flags.seed);
  const value = Buffer.alloc(flags.valueBytes, 'x');
  await withServer(flags, async (db) => {
    await prepareTable(db, flags, value);
    const state: RunState = {
      table: db.table(flags.table),
      workload,
      rand,
      zipf: new ZipfianGenerator(flags.records, rand),
      value,
      deadlineMs: Date.now() + flags.seconds * 1000,
      flags,
      started: 0,
      inserted: 0,
      errors: 0,
      firstError: undefined,
      histograms: new Map(),
    };
    const progress = progressReporter(flags);
    let done = 0;
    const startedMs = Date.now();
    const workers = Array.from({ length: flags.concurrency }, () =>
      worker(state, () => progress.tick(++done)),
    );
    await Promise.all(workers);
    progress.stop();
    printReport(state, Date.now() - startedMs);
    if (state.errors > 0) throw state.firstError;
  });
}

/** Registers `bench` on `program`. */
export function registerBenchCommand(program: Command): void {
  withConnectionFlags(
    program
      .command('bench')
      .description('generate load after YCSB workloads A-F and print latency percentiles')
      .option('--table <table>', 'table to use (created and loaded when missing)', 'bench')
      .option(
        '--workload <letter>',
        'a (50/50 read/update), b (95/5), c (read only), d (read latest), e (scans), f (read-modify-write)',
        'a',
      )
      .option('--records <n>', 'records in the table', integerFlag(1), 1000)
      .option('--ops <n>', 'stop after this many operations', integerFlag(1), 10_000)
      .option('--seconds <n>', 'stop after this many seconds', integerFlag(1), 60)
      .option('--concurrency <n>', 'operations in flight', integerFlag(1), 8)
      .option('--value-bytes <n>', 'bytes of each written value', integerFlag(0), 100)
      .option('--scan-rows <n>', 'longest scan of workload e', integerFlag(1), SCAN_ROWS_MAX_DEFAULT)
      .option('--seed <n>', 'seed of every random choice', integerFlag(0), 1)
      .option('--load', 'load the records even when the table exists')
      .option('--no-progress', 'plain progress lines even on a terminal'),
  ).action((flags: BenchFlags) => runBench(flags));
}
