/**
 * Tabula (`tabula serve`, durable: WAL fsync before every ack) against the official emulator
 * (`cbtemulator`, in memory, no durability) under the same load, in one run, everything on
 * 127.0.0.1. For each server: create a table, preload ROWS rows of 1 KB (MutateRows batches through
 * @grpc/grpc-js), then
 *
 *   mutateRows  MutateRows of 100 rows (1 KB values, random existing keys)   h2load, 8 streams
 *   mutateRow   single-row MutateRow (1 KB value, random existing key)       h2load, 32 streams
 *   readRow     single-row ReadRows (random existing key)                    h2load, 32 streams
 *   scan        ReadRows of the whole table, in a separate Node process that reads raw HTTP/2 and
 *               only counts committed rows (so the client is not the bottleneck)
 *
 * h2load posts one prebuilt body per invocation, so each h2load workload runs one invocation per
 * body over BODIES distinct bodies (distinct random keys), back to back; see
 * test/support/api-h2load.ts. Reads therefore cycle over BODIES random keys, not a fresh key per
 * request. After each write workload the bench reads back the rows of its last body and fails
 * unless they hold the values written (h2load cannot see a MutateRows entry's status). Each server
 * runs alone (one is stopped before the other starts). Tabula's peak RSS is
 * VmHWM of its process. Figures are medians over `--runs` runs (default 1; PERFORMANCE.md wants ≥ 3
 * for quoted figures). The last stdout line is one JSON object of Tabula/emulator ratios.
 *
 *   npm run bench:server                              # full size (100,000 rows), 1 run
 *   node dist/bench/server-bench.js --quick           # 10x smaller smoke run
 *   node dist/bench/server-bench.js --runs 3
 *   node dist/bench/server-bench.js --only tabula     # one server (no ratios)
 *   scripts/setup-bench.sh                            # installs h2load when missing
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SeededRand } from '../src/common/clock.js';
import { loadBigtableProtos } from '../src/server/protos.js';
import {
  connectData,
  connectTableAdmin,
  createTable,
  type Message,
  readRows,
  tableName,
} from '../test/support/api-client.js';
import { grpcCall, H2LOAD_PATH, type H2loadResult, runH2load } from '../test/support/api-h2load.js';
import { scanChildMain } from '../test/support/api-scan-child.js';
import {
  removeDataDir,
  type ServerProcess,
  startEmulator,
  startTabula,
} from '../test/support/server-process.js';

const ROWS_FULL = 100_000;
const QUICK_DIVISOR = 10;
const VALUE_BYTES = 1024;
const BATCH_ROWS = 100;
const PRELOAD_IN_FLIGHT = 8;
const TABLE_ID = 'bench';
const FAMILY = 'cf';
const QUALIFIER = Buffer.from('v');
const SEED = 20_240_601;
const BODIES_FULL = 200;
const BODIES_QUICK = 20;
const SINGLE_REQUESTS_PER_BODY = 250;
const BATCH_REQUESTS_PER_BODY = 10;
const BATCH_BODIES_DIVISOR = 4;
const SINGLE_STREAMS = 32;
const BATCH_STREAMS = 8;
/** A read response carries the 1 KB value; a write response at least an empty message frame. */
const READ_RESPONSE_BYTES_MIN = VALUE_BYTES;
const WRITE_RESPONSE_BYTES_MIN = 5;
const SCAN_TIMEOUT_MS = 5 * 60 * 1000;
const KB_PER_MB = 1024;
const SERVICE = 'google.bigtable.v2.Bigtable';
const WORKLOADS = ['mutateRows', 'mutateRow', 'readRow', 'scan'] as const;
type Workload = (typeof WORKLOADS)[number];
const TARGETS = ['tabula', 'emulator'] as const;
type Target = (typeof TARGETS)[number];

/** One workload's figures on one server. */
interface Figure {
  rowsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

type TargetFigures = Record<Workload, Figure> & { peakRssMb: number };

interface Options {
  rows: number;
  bodies: number;
  runs: number;
  targets: Target[];
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const runsAt = argv.indexOf('--runs');
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? (argv[onlyAt + 1] as Target) : undefined;
  return {
    rows: quick ? ROWS_FULL / QUICK_DIVISOR : ROWS_FULL,
    bodies: quick ? BODIES_QUICK : BODIES_FULL,
    runs: runsAt >= 0 ? Number(argv[runsAt + 1]) : 1,
    targets: only ? [only] : [...TARGETS],
  };
}

function rowKey(i: number): Buffer {
  return Buffer.from(`row${String(i).padStart(8, '0')}`);
}

function serializer(method: string): (m: Message) => Buffer {
  const service = loadBigtableProtos().dataDefinition[SERVICE] as unknown as Record<
    string,
    { requestSerialize: (m: Message) => Buffer }
  >;
  return (service[method] as { requestSerialize: (m: Message) => Buffer }).requestSerialize;
}

function setCellMutation(value: Buffer): Message {
  return { setCell: { familyName: FAMILY, columnQualifier: QUALIFIER, timestampMicros: '1000', value } };
}

function randomValue(rand: SeededRand): Buffer {
  const value = Buffer.alloc(VALUE_BYTES);
  for (let i = 0; i < VALUE_BYTES; i += 4) value.writeUInt32LE((rand.next() * 0x1_0000_0000) >>> 0, i);
  return value;
}

/** One row write of a workload: its key and the 1 KB value it sets. */
interface RowWrite {
  rowKey: Buffer;
  value: Buffer;
}

/**
 * The request bodies of the h2load workloads: the same on both servers. `lastWrites` are the rows
 * the last body of each write workload sets; since bodies run in order, each row must hold its
 * value once the workload is done (checked by `verifyWrites`).
 */
function buildBodies(options: Options) {
  const rand = new SeededRand(SEED);
  const name = tableName(TABLE_ID);
  const randomKey = () => rowKey(rand.int(options.rows));
  const batchCount = Math.max(1, options.bodies / BATCH_BODIES_DIVISOR);
  const batches: RowWrite[][] = Array.from({ length: batchCount }, () =>
    Array.from({ length: BATCH_ROWS }, () => ({ rowKey: randomKey(), value: randomValue(rand) })),
  );
  const singles: RowWrite[] = Array.from({ length: options.bodies }, () => ({
    rowKey: randomKey(),
    value: randomValue(rand),
  }));
  const mutateRows = batches.map((batch) =>
    serializer('MutateRows')({
      tableName: name,
      entries: batch.map((w) => ({ rowKey: w.rowKey, mutations: [setCellMutation(w.value)] })),
    }),
  );
  const mutateRow = singles.map((w) =>
    serializer('MutateRow')({ tableName: name, rowKey: w.rowKey, mutations: [setCellMutation(w.value)] }),
  );
  const readRow = Array.from({ length: options.bodies }, () =>
    serializer('ReadRows')({ tableName: name, rows: { rowKeys: [randomKey()] }, rowsLimit: '1' }),
  );
  const lastBatch = batches[batches.length - 1] as RowWrite[];
  // A row the batch sets twice holds its later value.
  const lastWrites = new Map(lastBatch.map((w) => [w.rowKey.toString('latin1'), w]));
  return {
    mutateRows,
    mutateRow,
    readRow,
    lastWrites: {
      mutateRows: [...lastWrites.values()],
      mutateRow: [singles[singles.length - 1] as RowWrite],
    },
  };
}

/**
 * Reads back `writes` and fails the bench unless each row holds the value written: h2load sees
 * only HTTP status and response sizes, and a MutateRows response reports a failed entry inside an
 * OK call, so this proves the writes the figures count were applied.
 */
async function verifyWrites(address: string, workload: string, writes: RowWrite[]): Promise<void> {
  const data = connectData(address);
  try {
    const rows = await readRows(data, TABLE_ID, { rows: { rowKeys: writes.map((w) => w.rowKey) } });
    const byKey = new Map(rows.map((r) => [r.key.toString('latin1'), r]));
    for (const w of writes) {
      const cell = byKey.get(w.rowKey.toString('latin1'))?.cells[0];
      if (cell === undefined || !cell.value.equals(w.value)) {
        throw new Error(`${workload}: row ${w.rowKey.toString('latin1')} does not hold the value written`);
      }
    }
  } finally {
    data.close();
  }
}

/** Creates the table and writes `rows` rows of 1 KB in MutateRows batches, several in flight. */
async function preload(address: string, rows: number): Promise<void> {
  const admin = connectTableAdmin(address);
  const data = connectData(address);
  const rand = new SeededRand(SEED + 1);
  try {
    await createTable(admin, TABLE_ID, [FAMILY]);
    let next = 0;
    const worker = async () => {
      while (next < rows) {
        const start = next;
        next = Math.min(rows, next + BATCH_ROWS);
        const entries = [];
        for (let i = start; i < next; i++)
          entries.push({ rowKey: rowKey(i), mutations: [setCellMutation(randomValue(rand))] });
        await mutateRowsChecked(data, entries);
      }
    };
    await Promise.all(Array.from({ length: PRELOAD_IN_FLIGHT }, worker));
  } finally {
    admin.close();
    data.close();
  }
}

async function mutateRowsChecked(client: ReturnType<typeof connectData>, entries: Message[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const call = (
      client as unknown as Record<string, (r: Message) => NodeJS.ReadableStream>
    ).MutateRows?.call(client, { tableName: tableName(TABLE_ID), entries });
    if (!call) throw new Error('no MutateRows');
    call.on('data', (r: Message) => {
      for (const e of r.entries ?? [])
        if (Number(e.status?.code ?? 0) !== 0) reject(new Error(e.status.message));
    });
    call.on('error', reject);
    call.on('end', () => resolve());
  });
}

function h2loadFigure(result: H2loadResult, rowsPerRequest: number): Figure {
  return {
    rowsPerSecond: result.requestsPerSecond * rowsPerRequest,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
  };
}

/** Runs the scan in a separate process; resolves with rows/s and the time to the first row. */
function scanInChild(address: string, rows: number): Figure {
  const child = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--scan-child', address, TABLE_ID],
    {
      encoding: 'utf8',
      timeout: SCAN_TIMEOUT_MS,
    },
  );
  const last = child.stdout.trim().split('\n').pop() ?? '';
  if (child.status !== 0) throw new Error(`scan child failed: ${child.stderr}${child.stdout}`);
  const scan = JSON.parse(last) as { rows: number; seconds: number; firstRowMs: number };
  if (scan.rows !== rows) throw new Error(`scan returned ${scan.rows} rows, expected ${rows}`);
  return { rowsPerSecond: scan.rows / scan.seconds, p50Ms: scan.firstRowMs, p99Ms: Number.NaN };
}

function peakRssMb(server: ServerProcess): number {
  const statusText = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(statusText)?.[1] ?? Number.NaN);
  return kb / KB_PER_MB;
}

/** One server through every workload. */
async function benchTarget(target: Target, options: Options, bodies: ReturnType<typeof buildBodies>) {
  const server = target === 'tabula' ? await startTabula() : await startEmulator();
  try {
    await preload(server.address, options.rows);
    const job = (method: string, list: Buffer[], perBody: number, streams: number, minBytes: number) => ({
      address: server.address,
      path: `/${SERVICE}/${method}`,
      bodies: list,
      requestsPerBody: perBody,
      streams,
      minResponseBytes: minBytes,
    });
    await grpcCall(server.address, `/${SERVICE}/MutateRow`, bodies.mutateRow[0] as Buffer);
    await grpcCall(server.address, `/${SERVICE}/ReadRows`, bodies.readRow[0] as Buffer);
    await grpcCall(server.address, `/${SERVICE}/MutateRows`, bodies.mutateRows[0] as Buffer);
    const mutateRowsFigure = h2loadFigure(
      runH2load(
        job(
          'MutateRows',
          bodies.mutateRows,
          BATCH_REQUESTS_PER_BODY,
          BATCH_STREAMS,
          WRITE_RESPONSE_BYTES_MIN,
        ),
      ),
      BATCH_ROWS,
    );
    await verifyWrites(server.address, 'mutateRows', bodies.lastWrites.mutateRows);
    const mutateRowFigure = h2loadFigure(
      runH2load(
        job(
          'MutateRow',
          bodies.mutateRow,
          SINGLE_REQUESTS_PER_BODY,
          SINGLE_STREAMS,
          WRITE_RESPONSE_BYTES_MIN,
        ),
      ),
      1,
    );
    await verifyWrites(server.address, 'mutateRow', bodies.lastWrites.mutateRow);
    const figures = {
      mutateRows: mutateRowsFigure,
      mutateRow: mutateRowFigure,
      readRow: h2loadFigure(
        runH2load(
          job('ReadRows', bodies.readRow, SINGLE_REQUESTS_PER_BODY, SINGLE_STREAMS, READ_RESPONSE_BYTES_MIN),
        ),
        1,
      ),
      scan: scanInChild(server.address, options.rows),
      peakRssMb: peakRssMb(server),
    };
    return figures;
  } finally {
    await server.stop();
    removeDataDir(server.dataDir);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function medianFigures(runs: TargetFigures[]): TargetFigures {
  const pick = (w: Workload): Figure => ({
    rowsPerSecond: median(runs.map((r) => r[w].rowsPerSecond)),
    p50Ms: median(runs.map((r) => r[w].p50Ms)),
    p99Ms: median(runs.map((r) => r[w].p99Ms)),
  });
  return {
    mutateRows: pick('mutateRows'),
    mutateRow: pick('mutateRow'),
    readRow: pick('readRow'),
    scan: pick('scan'),
    peakRssMb: median(runs.map((r) => r.peakRssMb)),
  };
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function report(options: Options, results: Partial<Record<Target, TargetFigures>>): void {
  const { tabula, emulator } = results;
  console.log(`\n${options.rows} rows of ${VALUE_BYTES} B; medians of ${options.runs} run(s)`);
  console.log('workload      tabula rows/s   p50 ms   p99 ms   emulator rows/s   p50 ms   p99 ms   ratio');
  for (const w of WORKLOADS) {
    const t = tabula?.[w];
    const e = emulator?.[w];
    const ratio = t && e ? t.rowsPerSecond / e.rowsPerSecond : Number.NaN;
    console.log(
      `${w.padEnd(12)} ${fmt(t?.rowsPerSecond ?? Number.NaN).padStart(14)} ${fmt(t?.p50Ms ?? Number.NaN, 2).padStart(8)} ` +
        `${fmt(t?.p99Ms ?? Number.NaN, 2).padStart(8)} ${fmt(e?.rowsPerSecond ?? Number.NaN).padStart(17)} ` +
        `${fmt(e?.p50Ms ?? Number.NaN, 2).padStart(8)} ${fmt(e?.p99Ms ?? Number.NaN, 2).padStart(8)} ${fmt(ratio, 2).padStart(7)}`,
    );
  }
  console.log('(scan: p50 column = time to the first row)');
  console.log(
    `peak RSS: tabula ${fmt(tabula?.peakRssMb ?? Number.NaN)} MB, emulator ${fmt(emulator?.peakRssMb ?? Number.NaN)} MB`,
  );
  const ratio = (w: Workload) =>
    tabula && emulator ? Number((tabula[w].rowsPerSecond / emulator[w].rowsPerSecond).toFixed(3)) : null;
  console.log(
    JSON.stringify({
      mutateRows: ratio('mutateRows'),
      mutateRow: ratio('mutateRow'),
      readRow: ratio('readRow'),
      scan: ratio('scan'),
      tabulaPeakRssMb: tabula ? Number(tabula.peakRssMb.toFixed(1)) : null,
    }),
  );
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(H2LOAD_PATH)) throw new Error(`${H2LOAD_PATH} is missing: run scripts/setup-bench.sh`);
  const bodies = buildBodies(options);
  const runs: Record<Target, TargetFigures[]> = { tabula: [], emulator: [] };
  for (let run = 0; run < options.runs; run++) {
    for (const target of options.targets) {
      console.error(`run ${run + 1}/${options.runs}: ${target}...`);
      runs[target].push(await benchTarget(target, options, bodies));
    }
  }
  const results: Partial<Record<Target, TargetFigures>> = {};
  for (const target of options.targets) results[target] = medianFigures(runs[target]);
  report(options, results);
}

if (process.argv[2] === '--scan-child') {
  scanChildMain(process.argv[3] ?? '', process.argv[4] ?? '').catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
