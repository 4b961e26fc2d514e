/**
 * The commit log of a tablet server, two ways, on this machine's disk, through the real WAL writer
 * (src/storage/wal-writer.ts: group commit, fdatasync before the ack) on the real VFS:
 *
 *   per-tablet  one WalWriter per tablet (Tabula today): one fsync stream per tablet;
 *   shared      one WalWriter for the whole server (Bigtable's choice): every tablet's records go
 *               into one log, tagged with the tablet, and one group commit spans all tablets.
 *
 * For 1, 10 and 100 busy tablets, WRITERS_PER_TABLET writers per tablet each append 1 KiB records
 * (sync) one after another for RUN_MS. Printed per configuration: acked writes/s, fdatasyncs/s,
 * ack latency p50/p99 (from a bounded log-scale histogram, ±HISTOGRAM_RATIO), and CPU ms per
 * second of wall time.
 *
 * Recovery cost: a shared log holding RECOVERY_LOG_BYTES of records of RECOVERY_TABLETS tablets,
 * interleaved (the unflushed data a dead server leaves), is read back with the real log reader and
 * split by tablet; beside it, the same records in per-tablet logs: the time to read ONE tablet's
 * log (what a new owner of one tablet reads today) and all of them. The reads come from the page
 * cache (the logs were just written): add the disk's sequential read time for a cold start.
 *
 * The last stdout line is one JSON object with every figure.
 *
 *   npm run bench:wal
 *   node dist/bench/wal-fsync-bench.js --run-ms 2000 --dir /path/on/the/disk/to/measure
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLogRecords } from '../src/storage/log-reader.js';
import { RealVfs } from '../src/storage/real-vfs.js';
import { joinPath } from '../src/storage/vfs.js';
import { WalWriter } from '../src/storage/wal-writer.js';

const TABLET_COUNTS = [1, 10, 100] as const;
const WRITERS_PER_TABLET = 4;
const RECORD_BYTES = 1024;
const RUN_MS_DEFAULT = 5_000;
const RECOVERY_LOG_BYTES = 64 * 1024 * 1024;
const RECOVERY_TABLETS = 100;
/** Records appended (unsynced) at once while the recovery logs are written; below the queue bound. */
const RECOVERY_CHUNK_RECORDS = 4096;
/** Bytes of the tablet tag in front of each record of the shared log. */
const TAG_BYTES = 4;
const HISTOGRAM_MIN_US = 10;
const HISTOGRAM_RATIO = 1.05;
const HISTOGRAM_BUCKETS = 450;
const US_PER_MS = 1000;
const BYTES_PER_MIB = 1024 * 1024;

const MODES = ['per-tablet', 'shared'] as const;
type Mode = (typeof MODES)[number];

/** Latencies in a log-scale histogram: bounded memory whatever the run length. */
class LatencyHistogram {
  private readonly counts = new Float64Array(HISTOGRAM_BUCKETS);
  private total = 0;

  add(us: number): void {
    const raw = Math.floor(
      Math.log(Math.max(us, HISTOGRAM_MIN_US) / HISTOGRAM_MIN_US) / Math.log(HISTOGRAM_RATIO),
    );
    const bucket = Math.min(raw, HISTOGRAM_BUCKETS - 1);
    this.counts[bucket] = (this.counts[bucket] ?? 0) + 1;
    this.total++;
  }

  /** The upper bound of the bucket holding quantile `q`, in milliseconds. */
  quantileMs(q: number): number {
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= q * this.total) return (HISTOGRAM_MIN_US * HISTOGRAM_RATIO ** (i + 1)) / US_PER_MS;
    }
    return Number.NaN;
  }
}

/** One configuration's figures. */
interface ConfigResult {
  mode: Mode;
  tablets: number;
  writesPerSec: number;
  syncsPerSec: number;
  writesPerSync: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerSec: number;
}

function record(tablet: number, mode: Mode, seq: number): Buffer {
  const buf = Buffer.alloc(RECORD_BYTES, seq & 0xff);
  if (mode === 'shared') buf.writeUInt32LE(tablet, 0);
  return buf;
}

async function openLogs(vfs: RealVfs, dir: string, mode: Mode, tablets: number): Promise<WalWriter[]> {
  const count = mode === 'shared' ? 1 : tablets;
  const logs: WalWriter[] = [];
  for (let i = 0; i < count; i++) logs.push(await WalWriter.create(vfs, joinPath(dir, `${i}.log`)));
  return logs;
}

async function runConfig(mode: Mode, tablets: number, runMs: number, root: string): Promise<ConfigResult> {
  const dir = mkdtempSync(join(root, `${mode}-${tablets}-`));
  const vfs = new RealVfs();
  const logs = await openLogs(vfs, dir, mode, tablets);
  const histogram = new LatencyHistogram();
  let writes = 0;
  const cpuStart = process.cpuUsage();
  const startMs = performance.now();
  const deadlineMs = startMs + runMs;
  const writer = async (tablet: number): Promise<void> => {
    const log = logs[mode === 'shared' ? 0 : tablet] as WalWriter;
    for (let seq = 0; performance.now() < deadlineMs; seq++) {
      const t0 = performance.now();
      await log.append(record(tablet, mode, seq), true);
      histogram.add((performance.now() - t0) * US_PER_MS);
      writes++;
    }
  };
  const writers: Promise<void>[] = [];
  for (let t = 0; t < tablets; t++) for (let w = 0; w < WRITERS_PER_TABLET; w++) writers.push(writer(t));
  await Promise.all(writers);
  const elapsedSec = (performance.now() - startMs) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const syncs = logs.reduce((sum, l) => sum + l.syncStats.count, 0);
  for (const l of logs) await l.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    mode,
    tablets,
    writesPerSec: writes / elapsedSec,
    syncsPerSec: syncs / elapsedSec,
    writesPerSync: writes / Math.max(syncs, 1),
    p50Ms: histogram.quantileMs(0.5),
    p99Ms: histogram.quantileMs(0.99),
    cpuMsPerSec: (cpu.user + cpu.system) / US_PER_MS / elapsedSec,
  };
}

/** Recovery figures, in milliseconds. */
interface RecoveryResult {
  logMiB: number;
  tablets: number;
  records: number;
  sharedReadSplitMs: number;
  perTabletReadOneMs: number;
  perTabletReadAllMs: number;
}

async function writeRecoveryLogs(vfs: RealVfs, dir: string, records: number): Promise<void> {
  const shared = await WalWriter.create(vfs, joinPath(dir, 'shared.log'));
  const own = await openLogs(vfs, dir, 'per-tablet', RECOVERY_TABLETS);
  for (let first = 0; first < records; first += RECOVERY_CHUNK_RECORDS) {
    const pending: Promise<void>[] = [];
    for (let seq = first; seq < Math.min(first + RECOVERY_CHUNK_RECORDS, records); seq++) {
      const tablet = seq % RECOVERY_TABLETS;
      pending.push(shared.append(record(tablet, 'shared', seq), false));
      pending.push((own[tablet] as WalWriter).append(record(tablet, 'per-tablet', seq), false));
    }
    await Promise.all(pending);
  }
  for (const l of [shared, ...own]) {
    await l.sync();
    await l.close();
  }
}

async function timeMs(body: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await body();
  return performance.now() - t0;
}

async function measureRecovery(root: string): Promise<RecoveryResult> {
  const dir = mkdtempSync(join(root, 'recovery-'));
  const vfs = new RealVfs();
  const records = Math.floor(RECOVERY_LOG_BYTES / RECORD_BYTES);
  await writeRecoveryLogs(vfs, dir, records);
  // Read everything once so both variants start from the page cache.
  await readLogRecords(vfs, joinPath(dir, 'shared.log'), () => {});
  let split = 0;
  const sharedReadSplitMs = await timeMs(async () => {
    const byTablet = new Map<number, Buffer[]>();
    await readLogRecords(vfs, joinPath(dir, 'shared.log'), (r) => {
      const tablet = r.readUInt32LE(0);
      const list = byTablet.get(tablet) ?? [];
      list.push(r.subarray(TAG_BYTES));
      byTablet.set(tablet, list);
    });
    for (const list of byTablet.values()) split += list.length;
  });
  if (split !== records) throw new Error(`the shared log gave back ${split} of ${records} records`);
  const readOne = (i: number) => readLogRecords(vfs, joinPath(dir, `${i}.log`), () => {}).then(() => {});
  const perTabletReadOneMs = await timeMs(() => readOne(0));
  const perTabletReadAllMs = await timeMs(async () => {
    for (let i = 0; i < RECOVERY_TABLETS; i++) await readOne(i);
  });
  rmSync(dir, { recursive: true, force: true });
  return {
    logMiB: RECOVERY_LOG_BYTES / BYTES_PER_MIB,
    tablets: RECOVERY_TABLETS,
    records,
    sharedReadSplitMs,
    perTabletReadOneMs,
    perTabletReadAllMs,
  };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function printTable(results: ConfigResult[], recovery: RecoveryResult): void {
  console.log('mode        tablets  writes/s  fdatasync/s  writes/sync  p50 ms  p99 ms  cpu ms/s');
  for (const r of results) {
    console.log(
      `${r.mode.padEnd(11)} ${String(r.tablets).padStart(7)} ${fmt(r.writesPerSec).padStart(9)} ` +
        `${fmt(r.syncsPerSec).padStart(12)} ${fmt(r.writesPerSync, 1).padStart(12)} ` +
        `${fmt(r.p50Ms, 2).padStart(7)} ${fmt(r.p99Ms, 2).padStart(7)} ${fmt(r.cpuMsPerSec).padStart(9)}`,
    );
  }
  console.log(
    `recovery of ${recovery.logMiB} MiB (${fmt(recovery.records)} records, ${recovery.tablets} tablets, page cache): ` +
      `shared log read+split ${fmt(recovery.sharedReadSplitMs)} ms; per-tablet logs: one tablet ` +
      `${fmt(recovery.perTabletReadOneMs, 1)} ms, all ${fmt(recovery.perTabletReadAllMs)} ms`,
  );
}

function parseArgs(argv: string[]): { runMs: number; dir: string } {
  let runMs = RUN_MS_DEFAULT;
  let dir = tmpdir();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--run-ms') runMs = Number(argv[++i]);
    else if (argv[i] === '--dir') dir = String(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!Number.isInteger(runMs) || runMs <= 0) throw new Error('--run-ms takes a positive integer');
  return { runMs, dir };
}

async function main(): Promise<void> {
  const { runMs, dir } = parseArgs(process.argv.slice(2));
  const root = mkdtempSync(join(dir, 'tabula-wal-bench-'));
  try {
    const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
    const results: ConfigResult[] = [];
    for (const tablets of TABLET_COUNTS) {
      for (const mode of MODES) results.push(await runConfig(mode, tablets, runMs, root));
    }
    const recovery = await measureRecovery(root);
    printTable(results, recovery);
    const loadAfter = readFileSync('/proc/loadavg', 'utf8').trim();
    console.log(`loadavg before: ${loadBefore}; after: ${loadAfter}`);
    console.log(
      JSON.stringify({
        runMs,
        recordBytes: RECORD_BYTES,
        writersPerTablet: WRITERS_PER_TABLET,
        loadBefore,
        loadAfter,
        results,
        recovery,
      }),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
