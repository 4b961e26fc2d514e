/**
 * Where flushes and compactions run. `InlineExecutor` runs jobs on the caller's thread against the
 * engine's own VFS (required for the in-memory VFS, and deterministic for tests). `WorkerExecutor`
 * runs them in worker threads against the real file system, so the event loop stays responsive:
 * one worker for flushes and one for compactions, so a long compaction never delays a flush.
 */
import { Worker } from 'node:worker_threads';
import { assert } from '../common/assert.js';
import { type ErrorCode, TabulaError } from '../common/errors.js';
import { type CompactionResult, type CompactionSpec, runCompactionJob } from './compaction-job.js';
import { ChunkSource } from './entry-chunks.js';
import { BoundedIterator, clipTombstones } from './file-refs.js';
import type { RangeTombstone } from './internal-key.js';
import { MergingIterator } from './merging-iterator.js';
import { SstableReader } from './sstable-reader.js';
import type { FileMeta } from './version-edit.js';
import type { Vfs } from './vfs.js';

/** An input SSTable of a compaction. */
export interface CompactionInputFile {
  fileNumber: number;
  path: string;
  /** Internal-key bounds of a bounded reference: entries outside them are not the store's. */
  bounds?: { smallest: Uint8Array; largest: Uint8Array };
}

/** Runs flush and compaction jobs. */
export interface CompactionExecutor {
  flush(spec: CompactionSpec, chunks: Buffer[], tombstones: RangeTombstone[]): Promise<CompactionResult>;
  compact(spec: CompactionSpec, inputs: CompactionInputFile[]): Promise<CompactionResult>;
  /** Memory of each worker thread's JavaScript heap (none for an executor without workers). */
  workerMemory(): Promise<WorkerMemory[]>;
  close(): Promise<void>;
}

/** One worker thread's memory, as its own `process.memoryUsage()` reports it (bytes). */
export interface WorkerMemory {
  heapUsed: number;
  heapTotal: number;
  arrayBuffers: number;
  external: number;
}

/** Runs a compaction of `inputs` on `vfs` (shared by both executors). */
export async function compactFiles(
  vfs: Vfs,
  spec: CompactionSpec,
  inputs: CompactionInputFile[],
): Promise<CompactionResult> {
  const readers: SstableReader[] = [];
  try {
    const views: FileMeta[] = [];
    for (const input of inputs) {
      readers.push(SstableReader.open(await vfs.openReadable(input.path), input.fileNumber));
      views.push(inputView(input));
    }
    const tombstones = readers.flatMap((r, i) => clipTombstones(views[i] as FileMeta, r.rangeTombstones));
    const source = new MergingIterator(
      readers.map((r, i) => BoundedIterator.forFile(views[i] as FileMeta, r.newIterator())),
    );
    return await runCompactionJob(vfs, spec, source, tombstones);
  } finally {
    for (const r of readers) await r.close();
  }
}

/** The bounds of an input as a FileMeta (what the clipping helpers take); sizes are unused. */
function inputView(input: CompactionInputFile): FileMeta {
  const toBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  const b = input.bounds;
  const empty = Buffer.alloc(0);
  return b
    ? {
        fileNumber: input.fileNumber,
        fileSize: 0,
        entryCount: 0,
        smallest: toBuffer(b.smallest),
        largest: toBuffer(b.largest),
        bounded: true,
      }
    : { fileNumber: input.fileNumber, fileSize: 0, entryCount: 0, smallest: empty, largest: empty };
}

/** Runs jobs on the calling thread. */
export class InlineExecutor implements CompactionExecutor {
  constructor(private readonly vfs: Vfs) {}
  flush(spec: CompactionSpec, chunks: Buffer[], tombstones: RangeTombstone[]): Promise<CompactionResult> {
    return runCompactionJob(this.vfs, spec, new ChunkSource(chunks), tombstones);
  }
  compact(spec: CompactionSpec, inputs: CompactionInputFile[]): Promise<CompactionResult> {
    return compactFiles(this.vfs, spec, inputs);
  }
  async workerMemory(): Promise<WorkerMemory[]> {
    return [];
  }
  async close(): Promise<void> {}
}

/** A message to a compaction worker. */
export type WorkerRequest =
  | { id: number; kind: 'flush'; spec: CompactionSpec; chunks: Buffer[]; tombstones: RangeTombstone[] }
  | { id: number; kind: 'compact'; spec: CompactionSpec; inputs: CompactionInputFile[] }
  | { id: number; kind: 'memory' };

/** A request without its id. */
type WorkerRequestBody = WorkerRequest extends infer R
  ? R extends { id: number }
    ? Omit<R, 'id'>
    : never
  : never;

/** A worker's answer. */
export type WorkerResponse =
  | { id: number; ok: true; result: CompactionResult }
  | { id: number; ok: true; memory: WorkerMemory }
  | { id: number; ok: false; code: ErrorCode | undefined; message: string };

/** A successful answer. */
type Answer = Extract<WorkerResponse, { ok: true }>;

class JobWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: Answer) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  /** Set once the worker failed or exited: later requests fail with it instead of waiting forever. */
  private failure: Error | undefined;

  constructor() {
    this.worker = new Worker(new URL('./compaction-worker.js', import.meta.url));
    this.worker.on('message', (msg: WorkerResponse) => this.settle(msg));
    this.worker.on('error', (err) => this.failAll(err));
    this.worker.on('exit', (code) => this.failAll(new Error(`compaction worker exited with code ${code}`)));
    // After the listeners: adding a 'message' listener refs the worker again.
    this.worker.unref();
  }

  async run(request: WorkerRequestBody, transfer: ArrayBuffer[] = []): Promise<CompactionResult> {
    const answer = await this.ask(request, transfer);
    assert('result' in answer, 'a job answered without a result');
    return reviveResult(answer.result);
  }

  /** The worker's own memory figures (answered between jobs, so it may wait for one). */
  async memory(): Promise<WorkerMemory> {
    const answer = await this.ask({ kind: 'memory' });
    assert('memory' in answer, 'a memory request answered without figures');
    return answer.memory;
  }

  private ask(request: WorkerRequestBody, transfer: ArrayBuffer[] = []): Promise<Answer> {
    // A message to a worker that is gone is dropped without a word: fail now instead.
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    // A job in flight keeps the process alive; an idle worker does not.
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id }, transfer);
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private settle(msg: WorkerResponse): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (this.pending.size === 0) this.worker.unref();
    if (msg.ok) p.resolve(msg);
    else p.reject(msg.code ? new TabulaError(msg.code, msg.message) : new Error(msg.message));
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/** Buffers arrive from a worker as plain Uint8Arrays: make them Buffers again. */
function reviveResult(result: CompactionResult): CompactionResult {
  const toBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  const outputs: FileMeta[] = result.outputs.map((f) => ({
    ...f,
    smallest: toBuffer(f.smallest),
    largest: toBuffer(f.largest),
  }));
  return { ...result, outputs };
}

/** Runs jobs in worker threads on the real file system. */
export class WorkerExecutor implements CompactionExecutor {
  private readonly flushWorker = new JobWorker();
  private readonly compactWorker = new JobWorker();

  flush(spec: CompactionSpec, chunks: Buffer[], tombstones: RangeTombstone[]): Promise<CompactionResult> {
    // Hand over the chunks' memory instead of cloning it: a frozen memtable's packed copy can be
    // tens of MiB. Only a chunk that owns its whole ArrayBuffer is moved (never a pooled one).
    const owned = chunks
      .filter((c) => c.byteOffset === 0 && c.byteLength === c.buffer.byteLength)
      .map((c) => c.buffer as ArrayBuffer);
    return this.flushWorker.run({ kind: 'flush', spec, chunks, tombstones }, owned);
  }

  compact(spec: CompactionSpec, inputs: CompactionInputFile[]): Promise<CompactionResult> {
    return this.compactWorker.run({ kind: 'compact', spec, inputs });
  }

  workerMemory(): Promise<WorkerMemory[]> {
    return Promise.all([this.flushWorker.memory(), this.compactWorker.memory()]);
  }

  async close(): Promise<void> {
    await this.flushWorker.terminate();
    await this.compactWorker.terminate();
  }
}
