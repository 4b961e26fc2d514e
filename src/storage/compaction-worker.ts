/**
 * Entry point of a compaction worker thread: runs flush and compaction jobs on the real file
 * system, one at a time, and answers each request with its result or its error (and a memory
 * request with this thread's own heap figures).
 */
import { parentPort } from 'node:worker_threads';
import { TabulaError } from '../common/errors.js';
import { compactFiles, type WorkerRequest, type WorkerResponse } from './compaction-executor.js';
import { runCompactionJob } from './compaction-job.js';
import { ChunkSource } from './entry-chunks.js';
import type { RangeTombstone } from './internal-key.js';
import { RealVfs } from './real-vfs.js';

const vfs = new RealVfs();
const toBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

function reviveTombstones(ts: RangeTombstone[]): RangeTombstone[] {
  return ts.map((t) => ({ start: toBuffer(t.start), end: toBuffer(t.end), sequence: t.sequence }));
}

async function handle(req: WorkerRequest): Promise<WorkerResponse> {
  if (req.kind === 'memory') {
    const { heapUsed, heapTotal, arrayBuffers, external } = process.memoryUsage();
    return { id: req.id, ok: true, memory: { heapUsed, heapTotal, arrayBuffers, external } };
  }
  try {
    const result =
      req.kind === 'flush'
        ? await runCompactionJob(vfs, req.spec, new ChunkSource(req.chunks), reviveTombstones(req.tombstones))
        : await compactFiles(vfs, req.spec, req.inputs);
    return { id: req.id, ok: true, result };
  } catch (err) {
    const code = err instanceof TabulaError ? err.code : undefined;
    return { id: req.id, ok: false, code, message: err instanceof Error ? err.message : String(err) };
  }
}

let queue = Promise.resolve();
parentPort?.on('message', (req: WorkerRequest) => {
  queue = queue.then(async () => parentPort?.postMessage(await handle(req)));
});
