/**
 * Corruption test: build a closed store whose data is spread over the WAL, several SSTables (tiny
 * blocks, compressed and not) and the manifest, then, many times, flip one random byte of one random
 * file (WAL, SSTable, MANIFEST, CURRENT) in a fresh copy, open it and read everything: a get of every
 * key and full forward and reverse scans.
 *
 * Every outcome must be one of:
 * - the exact data that was written ("intact": e.g. the flip hit a block trailer that carries none);
 * - a TabulaError with code DATA_LOSS whose message names the damaged file's path, at open or at a
 *   read, every other read returning exactly the written data (scans a prefix of it);
 * - the one documented exception: a flip inside the LAST record of the newest WAL. A torn tail (an
 *   unsynced write cut short by a crash) looks the same as a damaged final record, so recovery ends
 *   the log before it and the last write may vanish without error. Then the data must be exactly the
 *   state before that last write — one record, never more, and never from anywhere else.
 * Wrong data, another error code or type, a DATA_LOSS naming some other file, a crash or a hang
 * fails the test. The outcome classes are counted per file kind and printed.
 *
 * Every store and every flip derives from the printed seed; TABULA_SEED=n replays it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SeededRand } from '../../src/common/clock.js';
import { ErrorCode, TabulaError } from '../../src/common/errors.js';
import { WAL_BLOCK_BYTES } from '../../src/common/limits.js';
import { Engine, type EngineOptions } from '../../src/storage/engine.js';
import { parseFileName } from '../../src/storage/file-names.js';
import { readLogRecords } from '../../src/storage/log-reader.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { decodeBatch, WriteBatch } from '../../src/storage/write-batch.js';
import { testSeeds, withSeed } from '../support/seed.js';

const DIR = '/store';
/** Stores built per shape; each gets FLIPS_PER_STORE flips. 3 shapes × 2 × 60 = 360 flips. */
const SEEDS_PER_SHAPE = 2;
const FLIPS_PER_STORE = 60;
/** Distinct random keys; plus LAST_KEY, written by the very last write. */
const KEY_SPACE = 300;
const LAST_KEY = Buffer.from('zz-last-write', 'latin1');
const FIRST_PHASE_WRITES = 250;
const SECOND_PHASE_WRITES = 120;
const FIRST_PHASE_FLUSH_EVERY = 60;
const SECOND_PHASE_FLUSH_EVERY = 40;
const VALUE_BYTES_MAX = 600;
/** A flip that takes longer than this to open and read counts as a hang. */
const FLIP_TIMEOUT_MS = 5_000;
/** A scan yielding more than this many entries beyond the expected count is running away. */
const SCAN_SLACK_ENTRIES = 16;
/** How often each kind of file is chosen as the flip target (weights, summed). */
const KIND_WEIGHTS: ReadonlyArray<[FileKind, number]> = [
  ['sst', 40],
  ['wal', 30],
  ['manifest', 20],
  ['current', 10],
];
const WHOLE_TEST_MS_MAX = 20_000;

type FileKind = 'wal' | 'sst' | 'manifest' | 'current';
type Model = Map<string, Buffer>;

interface StoreShape {
  name: string;
  options: Partial<EngineOptions>;
  /** Random writes left in the WAL at close (before the final LAST_KEY put). */
  tailWrites: number;
  /** Least size of the newest WAL at close: checks that the shape puts the tail where intended. */
  walBytesMin: number;
}

const STORE_SHAPES: readonly StoreShape[] = [
  {
    // A big memtable: the tail stays in one WAL spanning several 32 KiB blocks.
    name: 'lz4, 64-byte blocks, multi-block WAL',
    options: { compression: 'lz4', blockBytes: 64, restartInterval: 2, memtableBytes: 256 * 1024 },
    tailWrites: 600,
    walBytesMin: 2 * WAL_BLOCK_BYTES,
  },
  {
    // A small memtable: background flushes during the build, possibly more than one WAL at close.
    name: 'uncompressed, 128-byte blocks, small memtable',
    options: { compression: 'none', blockBytes: 128, restartInterval: 4, memtableBytes: 8 * 1024 },
    tailWrites: 40,
    walBytesMin: 1,
  },
  {
    name: 'snappy, 256-byte blocks, no bloom filter, short WAL',
    options: { compression: 'snappy', blockBytes: 256, bloomBitsPerKey: 0, memtableBytes: 64 * 1024 },
    tailWrites: 12,
    walBytesMin: 1,
  },
];

/** A closed store and what it must hold. */
interface BuiltStore {
  /** The closed store's disk; every flip corrupts a fresh copy of it. */
  image: MemVfs;
  options: Omit<EngineOptions, 'vfs'>;
  model: Model;
  /** The state before the final write: what losing the WAL's last record leaves. */
  modelBeforeLast: Model;
  /** Byte range of the last record of the newest WAL: where a flip may lose that record. */
  lastRecord: { path: string; start: number; end: number };
  files: Map<FileKind, string[]>;
  /** Size of every file in `files`. */
  sizes: Map<string, number>;
}

interface FlipTarget {
  kind: FileKind;
  path: string;
  offset: number;
  xor: number;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ALL_KEYS: readonly Buffer[] = [...Array.from({ length: KEY_SPACE }, (_, i) => keyAt(i)), LAST_KEY];

function keyAt(i: number): Buffer {
  return Buffer.from(`k${String(i).padStart(4, '0')}`, 'latin1');
}

function randomValue(rand: SeededRand): Buffer {
  const len = rand.int(6) === 0 ? rand.int(VALUE_BYTES_MAX) : rand.int(48);
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = rand.int(3) === 0 ? rand.int(256) : 97 + rand.int(4);
  return b;
}

/** One random write (put, delete, range delete or a mixed batch), applied to `model` once acknowledged. */
async function randomWrite(engine: Engine, rand: SeededRand, model: Model): Promise<void> {
  const batch = new WriteBatch();
  const staged: Array<() => void> = [];
  const entries = rand.int(5) === 0 ? 2 + rand.int(12) : 1;
  for (let i = 0; i < entries; i++) {
    const r = rand.int(100);
    const k = keyAt(rand.int(KEY_SPACE));
    if (r < 70) {
      const v = randomValue(rand);
      batch.put(k, v);
      staged.push(() => model.set(hex(k), v));
    } else if (r < 93) {
      batch.delete(k);
      staged.push(() => model.delete(hex(k)));
    } else {
      const end = keyAt(Math.min(KEY_SPACE, rand.int(KEY_SPACE) + 1 + rand.int(8)));
      const [lo, hi] = Buffer.compare(k, end) < 0 ? [k, end] : [end, k];
      if (Buffer.compare(lo, hi) === 0) continue;
      batch.deleteRange(lo, hi);
      staged.push(() => {
        for (const mk of [...model.keys()]) {
          const kb = Buffer.from(mk, 'hex');
          if (Buffer.compare(kb, lo) >= 0 && Buffer.compare(kb, hi) < 0) model.delete(mk);
        }
      });
    }
  }
  if (batch.count === 0) return;
  await engine.write(batch);
  for (const s of staged) s();
}

function kindOfName(name: string): FileKind | undefined {
  if (name === 'CURRENT') return 'current';
  return parseFileName(name)?.kind;
}

/** Writes, flushes and compacts so data lies in L1+, L0, the WAL and the manifest; then closes. */
async function buildStore(rand: SeededRand, shape: StoreShape): Promise<BuiltStore> {
  const vfs = new MemVfs();
  const options = { dir: DIR, rand, l0CompactionTrigger: 8, ...shape.options };
  const engine = await Engine.open({ ...options, vfs });
  const model: Model = new Map();
  for (let i = 1; i <= FIRST_PHASE_WRITES; i++) {
    await randomWrite(engine, rand, model);
    if (i % FIRST_PHASE_FLUSH_EVERY === 0) await engine.flush();
  }
  await engine.compactAll();
  for (let i = 1; i <= SECOND_PHASE_WRITES; i++) {
    await randomWrite(engine, rand, model);
    if (i % SECOND_PHASE_FLUSH_EVERY === 0) await engine.flush();
  }
  await engine.flush();
  for (let i = 0; i < shape.tailWrites; i++) await randomWrite(engine, rand, model);
  const modelBeforeLast = new Map(model);
  const lastValue = randomValue(rand);
  await engine.put(LAST_KEY, lastValue);
  model.set(hex(LAST_KEY), lastValue);
  await engine.close();

  // Closing syncs everything, so the crash image holds the whole store. It may also hold files the
  // engine removed without a directory sync; a real file system soon commits those removals, and
  // leaving them would hide damage (a manifest that lost an edit could fall back on them), so the
  // image keeps exactly the live files.
  const image = vfs.crashImage();
  const live = new Set(vfs.allPaths());
  const missing = [...live].filter((p) => !image.allPaths().includes(p));
  assert.deepEqual(missing, [], 'a closed store left files that are not durable');
  for (const p of image.allPaths()) if (!live.has(p)) await image.remove(`/${p}`);
  await image.syncDir(DIR);
  const files = new Map<FileKind, string[]>();
  const sizes = new Map<string, number>();
  for (const p of image.allPaths()) {
    const kind = kindOfName(p.slice(p.lastIndexOf('/') + 1));
    if (!kind) continue;
    files.set(kind, [...(files.get(kind) ?? []), `/${p}`]);
    sizes.set(`/${p}`, await image.fileSize(`/${p}`));
  }
  const wals = files.get('wal') ?? [];
  assert.ok((files.get('sst')?.length ?? 0) >= 2, `too few sstables: ${image.allPaths().join(' ')}`);
  assert.ok(
    wals.length >= 1 && files.get('manifest')?.length === 1,
    `odd store: ${image.allPaths().join(' ')}`,
  );
  const lastRecord = await lastRecordOf(image, wals[wals.length - 1] as string);
  assert.ok(
    lastRecord.end >= shape.walBytesMin,
    `the newest WAL holds ${lastRecord.end} bytes, want ${shape.walBytesMin}`,
  );
  return { image, options, model, modelBeforeLast, lastRecord, files, sizes };
}

/** The byte range of the last record of the WAL at `path`; it must be the final LAST_KEY put. */
async function lastRecordOf(vfs: MemVfs, path: string): Promise<BuiltStore['lastRecord']> {
  let start = -1;
  let last: Buffer | undefined;
  await readLogRecords(vfs, path, (record, offset) => {
    start = offset;
    last = record;
  });
  const entry = last && decodeBatch(last)?.entries[0];
  assert.ok(entry?.key.equals(LAST_KEY), `the newest WAL ${path} does not end with the last write`);
  return { path, start, end: await vfs.fileSize(path) };
}

function pickTarget(rand: SeededRand, store: BuiltStore): FlipTarget {
  const total = KIND_WEIGHTS.reduce((n, [, w]) => n + w, 0);
  let r = rand.int(total);
  let kind: FileKind = 'sst';
  for (const [k, w] of KIND_WEIGHTS) {
    if (r < w) {
      kind = k;
      break;
    }
    r -= w;
  }
  const candidates = store.files.get(kind) ?? [];
  const path = candidates[rand.int(candidates.length)] as string;
  const size = store.sizes.get(path) as number;
  return { kind, path, offset: rand.int(size), xor: 1 + rand.int(255) };
}

// ---- observing and judging one corrupted store ------------------------------------------------------

type ReadResult = { value: Buffer | undefined } | { error: unknown };

interface ScanResult {
  entries: Array<[Buffer, Buffer]>;
  error?: unknown;
  runaway: boolean;
}

type Observation =
  | { openError: unknown }
  | { gets: ReadResult[]; forward: ScanResult; reverse: ScanResult; closeError?: unknown };

function collectScan(engine: Engine, reverse: boolean, entriesMax: number): ScanResult {
  const entries: Array<[Buffer, Buffer]> = [];
  try {
    for (const entry of engine.scan({ reverse })) {
      entries.push(entry);
      if (entries.length > entriesMax) return { entries, runaway: true };
    }
    return { entries, runaway: false };
  } catch (error) {
    return { entries, error, runaway: false };
  }
}

async function observe(
  vfs: MemVfs,
  options: BuiltStore['options'],
  entriesMax: number,
): Promise<Observation> {
  let engine: Engine;
  try {
    engine = await Engine.open({ ...options, vfs });
  } catch (openError) {
    return { openError };
  }
  const gets: ReadResult[] = ALL_KEYS.map((k) => {
    try {
      return { value: engine.get(k) };
    } catch (error) {
      return { error };
    }
  });
  const forward = collectScan(engine, false, entriesMax);
  const reverse = collectScan(engine, true, entriesMax);
  try {
    await engine.close();
    return { gets, forward, reverse };
  } catch (closeError) {
    return { gets, forward, reverse, closeError };
  }
}

/** Outcome classes; the first four are allowed. */
type Outcome =
  | 'intact'
  | 'lost-last-wal-record'
  | 'data-loss-on-open'
  | 'data-loss-on-read'
  | 'wrong-data'
  | 'data-loss-naming-another-file'
  | 'wrong-error'
  | 'hang';

const ALLOWED: ReadonlySet<Outcome> = new Set<Outcome>([
  'intact',
  'lost-last-wal-record',
  'data-loss-on-open',
  'data-loss-on-read',
]);

interface Verdict {
  outcome: Outcome;
  detail: string;
}

function describeError(err: unknown): string {
  if (err instanceof TabulaError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
}

/** Undefined when `err` is an allowed report of damage to `path`; else the violation. */
function errorViolation(err: unknown, path: string): Verdict | undefined {
  if (!(err instanceof TabulaError) || err.code !== ErrorCode.DataLoss) {
    return { outcome: 'wrong-error', detail: describeError(err) };
  }
  if (!err.message.includes(`\`${path}\``)) {
    return { outcome: 'data-loss-naming-another-file', detail: describeError(err) };
  }
  return undefined;
}

function renderPair([k, v]: [Uint8Array, Uint8Array]): string {
  return `${hex(k)}=${hex(v)}`;
}

function expectedScan(model: Model, reverse: boolean): string[] {
  const keys = [...model.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'hex'), Buffer.from(b, 'hex')));
  if (reverse) keys.reverse();
  return keys.map((k) => `${k}=${hex(model.get(k) as Buffer)}`);
}

function scanViolation(
  scan: ScanResult,
  expected: string[],
  path: string,
  label: string,
): Verdict | undefined {
  if (scan.runaway)
    return { outcome: 'hang', detail: `${label} scan yielded more than ${expected.length} entries` };
  const got = scan.entries.map(renderPair);
  const prefixOk = got.every((g, i) => g === expected[i]);
  if (!prefixOk || (scan.error === undefined && got.length !== expected.length)) {
    const at = got.findIndex((g, i) => g !== expected[i]);
    const shown =
      at < 0 ? `length ${got.length} vs ${expected.length}` : `entry ${at}: ${got[at]} vs ${expected[at]}`;
    return { outcome: 'wrong-data', detail: `${label} scan: ${shown}` };
  }
  return scan.error === undefined ? undefined : errorViolation(scan.error, path);
}

/** Judges an observation against the data `model` should hold. */
function judge(obs: Observation, model: Model, path: string): Verdict {
  if ('openError' in obs) {
    return (
      errorViolation(obs.openError, path) ?? {
        outcome: 'data-loss-on-open',
        detail: describeError(obs.openError),
      }
    );
  }
  if (obs.closeError !== undefined)
    return { outcome: 'wrong-error', detail: `close: ${describeError(obs.closeError)}` };
  let detected: string | undefined;
  for (let i = 0; i < ALL_KEYS.length; i++) {
    const key = ALL_KEYS[i] as Buffer;
    const got = obs.gets[i] as ReadResult;
    if ('error' in got) {
      const bad = errorViolation(got.error, path);
      if (bad) return { outcome: bad.outcome, detail: `get ${key.toString('latin1')}: ${bad.detail}` };
      detected ??= describeError(got.error);
    } else if (
      hex(got.value ?? Buffer.alloc(0)) !== hex(model.get(hex(key)) ?? Buffer.alloc(0)) ||
      (got.value === undefined) !== !model.has(hex(key))
    ) {
      return {
        outcome: 'wrong-data',
        detail: `get ${key.toString('latin1')}: ${got.value && hex(got.value)}`,
      };
    }
  }
  for (const [scan, reverse] of [
    [obs.forward, false],
    [obs.reverse, true],
  ] as const) {
    const bad = scanViolation(scan, expectedScan(model, reverse), path, reverse ? 'reverse' : 'forward');
    if (bad) return bad;
    if (scan.error !== undefined) detected ??= describeError(scan.error);
  }
  return detected === undefined
    ? { outcome: 'intact', detail: '' }
    : { outcome: 'data-loss-on-read', detail: detected };
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Flips one byte of a fresh copy of `store` and judges what opening and reading it gives. */
async function flipOnce(store: BuiltStore, target: FlipTarget): Promise<Verdict> {
  const vfs = store.image.crashImage();
  vfs.corrupt(target.path, target.offset, target.xor);
  const entriesMax = store.model.size + SCAN_SLACK_ENTRIES;
  const obs = await withTimeout(observe(vfs, store.options, entriesMax), FLIP_TIMEOUT_MS);
  if (obs === 'timeout') return { outcome: 'hang', detail: `no answer within ${FLIP_TIMEOUT_MS} ms` };
  const verdict = judge(obs, store.model, target.path);
  const { lastRecord } = store;
  const inLastRecord =
    target.path === lastRecord.path && target.offset >= lastRecord.start && target.offset < lastRecord.end;
  if (ALLOWED.has(verdict.outcome) || !inLastRecord) return verdict;
  // The documented exception: a damaged final WAL record reads as a torn tail.
  const withoutLast = judge(obs, store.modelBeforeLast, target.path);
  return withoutLast.outcome === 'intact' ? { outcome: 'lost-last-wal-record', detail: '' } : verdict;
}

test('a flipped byte anywhere in the store is returned correctly or reported as DATA_LOSS naming the file', async () => {
  const startedMs = performance.now();
  const counts = new Map<string, number>();
  const violations: string[] = [];
  let flips = 0;
  for (const shape of STORE_SHAPES) {
    for (const seed of testSeeds(SEEDS_PER_SHAPE)) {
      await withSeed(seed, async (rand) => {
        const store = await buildStore(rand, shape);
        const pristine = judge(
          await observe(store.image.crashImage(), store.options, store.model.size + SCAN_SLACK_ENTRIES),
          store.model,
          '',
        );
        assert.equal(pristine.outcome, 'intact', `the undamaged store reads wrong: ${pristine.detail}`);
        for (let i = 0; i < FLIPS_PER_STORE; i++) {
          const target = pickTarget(rand, store);
          const verdict = await flipOnce(store, target);
          flips++;
          const key = `${target.kind.padEnd(8)} ${verdict.outcome}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
          if (!ALLOWED.has(verdict.outcome)) {
            violations.push(
              `[TABULA_SEED=${seed} shape="${shape.name}" flip=${i}] ${verdict.outcome}: xor 0x${target.xor.toString(16)} ` +
                `at ${target.path}+${target.offset}: ${verdict.detail}`,
            );
          }
        }
      });
    }
  }
  const elapsedMs = Math.round(performance.now() - startedMs);
  console.log(`corruption: ${flips} flips in ${elapsedMs} ms; outcomes by file kind:`);
  for (const [key, n] of [...counts].sort()) console.log(`  ${key} ${n}`);
  assert.deepEqual(
    violations.slice(0, 20),
    [],
    `${violations.length} of ${flips} flips violated the contract`,
  );
  assert.ok(elapsedMs < WHOLE_TEST_MS_MAX, `corruption test took ${elapsedMs} ms`);
});
