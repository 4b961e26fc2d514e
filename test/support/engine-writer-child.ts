/**
 * The victim of the kill -9 test (test/storage/engine-kill9.test.ts): a process that opens an engine
 * on a real directory and writes until it is killed.
 *
 * Protocol. The JOURNAL (the file `config.journal`) is the record the parent verifies against; each
 * line is written with one synchronous write(2) to a regular file, so it is in the kernel (the page
 * cache, which a process kill does not touch) before the next statement runs:
 *
 *   issue w<w>-<c>   written immediately before `engine.write()` is called for batch (w, c), in the
 *                    same synchronous stretch, so the order of issue lines IS the engine's admission
 *                    order (= sequence order = WAL order), and every batch handed to the engine has
 *                    its line
 *   ack w<w>-<c>     written once that write resolved (durable)
 *
 * A kill can cut the last line short (its write(2) never returned): that batch was never handed to
 * the engine, or its ack never counted, so the parent ignores an unterminated last line.
 *
 * stdout only paces the parent: `ready` once the engine is open, then `ack w<w>-<c>` after each
 * journal ack. It must NOT be the record: Node writes stdout asynchronously once the kernel buffer
 * of the pipe (a socketpair here, about 1,800 short lines) is full — lines queue inside this
 * process and die with it on SIGKILL. A parent that fell behind (a loaded machine) then saw fewer
 * `issue` lines than the batches already in the store, and blamed the engine for the difference.
 *
 * Writers: `workers` loops run concurrently, each with one write in flight, so group commit batches
 * several of them into one fsync. Writer w writes batches w<w>-<c> for c = startCounters[w], +1, ...
 *
 * Batch contents are a pure function of (w, c) (`batchOps`), so the parent can replay the exact
 * effect of any prefix of the issued batches. Every batch puts its own "primary" key `w<w>-<c>`, which
 * no later batch touches: its presence tells whether the batch was applied. The other operations
 * put, overwrite or delete "aux" keys `w<w>-<c'>-a` of the same writer.
 *
 * Bounded: the process exits by itself after `lifetimeMs` (in case the parent never kills it).
 *
 *   node dist/test/support/engine-writer-child.js '<WriterConfig JSON>'
 */
import { openSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SeededRand } from '../../src/common/clock.js';
import { Engine, type EngineOptions } from '../../src/storage/engine.js';
import { WriteBatch } from '../../src/storage/write-batch.js';

/** Smallest value of a put, in bytes. */
const VALUE_BYTES_MIN = 64;
/** Spread of value sizes above the minimum, in bytes. */
const VALUE_BYTES_SPREAD = 256;
/** How far back (in counters) an overwrite or delete of an aux key may reach. */
const AUX_REACH_MAX = 16;
/** Probability that a batch overwrites an earlier aux key. */
const OVERWRITE_PROBABILITY = 0.5;
/** Probability that a batch deletes an earlier aux key. */
const DELETE_PROBABILITY = 0.35;

/** What the parent passes as the single argv argument (JSON). */
export interface WriterConfig {
  dir: string;
  /** The journal file (created or truncated at start; see the file comment). */
  journal: string;
  /** Next counter of each writer; its length is the number of concurrent writers. */
  startCounters: number[];
  engineOptions: Omit<EngineOptions, 'dir' | 'vfs' | 'clock' | 'rand'>;
  lifetimeMs: number;
}

/** One operation of a batch; `value` undefined means delete. */
export interface WriterOp {
  key: string;
  value: string | undefined;
}

/** The id of batch (w, c), which is also its primary key. */
export function batchId(worker: number, counter: number): string {
  return `w${worker}-${counter}`;
}

/** The aux key of batch (w, c). */
export function auxKey(worker: number, counter: number): string {
  return `${batchId(worker, counter)}-a`;
}

/** Whether a stored key is a primary key (as opposed to an aux key). */
export function isPrimaryKey(key: string): boolean {
  return !key.endsWith('-a');
}

/** The value batch `counter` writes to `key`: deterministic, verifiable, 64..319 bytes. */
export function valueFor(key: string, counter: number): string {
  const unit = `${key}@${counter};`;
  const length = VALUE_BYTES_MIN + (hash32(unit) % VALUE_BYTES_SPREAD);
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** The operations of batch (w, c), in order. A pure function of (w, c). */
export function batchOps(worker: number, counter: number): WriterOp[] {
  const rand = new SeededRand(hash32(batchId(worker, counter)));
  const primary = batchId(worker, counter);
  const ops: WriterOp[] = [{ key: primary, value: valueFor(primary, counter) }];
  const ownAux = auxKey(worker, counter);
  ops.push({ key: ownAux, value: valueFor(ownAux, counter) });
  if (counter > 0 && rand.next() < OVERWRITE_PROBABILITY) {
    const key = auxKey(worker, counter - 1 - rand.int(Math.min(counter, AUX_REACH_MAX)));
    ops.push({ key, value: valueFor(key, counter) });
  }
  if (counter > 0 && rand.next() < DELETE_PROBABILITY) {
    ops.push({
      key: auxKey(worker, counter - 1 - rand.int(Math.min(counter, AUX_REACH_MAX))),
      value: undefined,
    });
  }
  return ops;
}

/** FNV-1a, 32 bits. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function toWriteBatch(ops: WriterOp[]): WriteBatch {
  const batch = new WriteBatch();
  for (const op of ops) {
    const key = Buffer.from(op.key, 'latin1');
    if (op.value === undefined) batch.delete(key);
    else batch.put(key, Buffer.from(op.value, 'latin1'));
  }
  return batch;
}

/** Appends `line` to the journal with synchronous write(2) calls: in the kernel on return. */
function journalLine(fd: number, line: string): void {
  const bytes = Buffer.from(line, 'latin1');
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}

async function writerLoop(engine: Engine, journal: number, worker: number, start: number): Promise<never> {
  for (let counter = start; ; counter++) {
    const batch = toWriteBatch(batchOps(worker, counter));
    const id = batchId(worker, counter);
    journalLine(journal, `issue ${id}\n`);
    await engine.write(batch);
    journalLine(journal, `ack ${id}\n`);
    process.stdout.write(`ack ${id}\n`);
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as WriterConfig;
  setTimeout(() => process.exit(0), config.lifetimeMs).unref();
  // Before the engine exists: a kill during open leaves an empty journal, not a missing one.
  const journal = openSync(config.journal, 'w');
  const engine = await Engine.open({ ...config.engineOptions, dir: config.dir });
  process.stdout.write('ready\n');
  await Promise.all(config.startCounters.map((start, worker) => writerLoop(engine, journal, worker, start)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`writer child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
