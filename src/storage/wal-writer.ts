/**
 * The write-ahead log writer, with group commit. Each record (an encoded write batch) is framed in
 * the log format (log-writer.ts) and is durable once its `append()` resolves (with `sync = true`).
 *
 * Group commit: at most one write (+ sync) is in flight. Records appended meanwhile queue; when the
 * in-flight group finishes, everything queued (up to GROUP_COMMIT_BYTES_MAX of records) is framed
 * into one buffer and written with ONE append and, if any of them asked for it, ONE sync.
 *
 * Ordering: records land in the file in `append()` call order, and promises resolve in that order.
 *
 * Fail-stop: the first append or sync error fails the writer for good. The failing group, every
 * queued record and every later call reject with that same error; nothing is retried, so nothing is
 * acknowledged after a failure (the bytes of a failed sync may or may not be on disk: the caller
 * must treat the log as suspect and recover from it).
 *
 * Concurrency: any number of concurrent `append()` callers; the writer owns its file exclusively.
 * Invariants: `queue` holds records in call order; `queuedBytes` is the sum of their lengths;
 * `queue.length <= WRITE_QUEUE_DEPTH_MAX`.
 */
import { assert } from '../common/assert.js';
import { errors, fromFsError, type TabulaError } from '../common/errors.js';
import { GROUP_COMMIT_BYTES_MAX, WRITE_QUEUE_DEPTH_MAX } from '../common/limits.js';
import { LOG_RECORD_BYTES_MAX } from './log-format.js';
import { LogWriter } from './log-writer.js';
import { dirName, type Vfs, type WritableFile } from './vfs.js';

interface Pending {
  /** `undefined` for a sync marker from `sync()`. */
  record: Uint8Array | undefined;
  sync: boolean;
  resolve: () => void;
  reject: (err: TabulaError) => void;
}

/** A WAL file being written, with group commit and fail-stop error handling. */
export class WalWriter {
  /** fdatasync calls of this log: how many, their total and longest duration (for metrics). */
  readonly syncStats = { count: 0, totalMs: 0, maxMs: 0 };
  private readonly log: LogWriter;
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private draining: Promise<void> | undefined;
  private failureError: TabulaError | undefined;
  private closed = false;
  /** Whether bytes were appended since the last completed sync. */
  private unsynced = false;

  private constructor(
    private readonly file: WritableFile,
    readonly path: string,
  ) {
    this.log = new LogWriter(file);
  }

  /**
   * Creates the log at `path` holding `records` (an open copying what it replayed,
   * engine-recovery.ts) and makes them and its directory entry durable before returning.
   */
  static async create(vfs: Vfs, path: string, records: readonly Uint8Array[] = []): Promise<WalWriter> {
    const file = await vfs.createWritable(path);
    const wal = new WalWriter(file, path);
    try {
      if (records.length > 0) await file.append(wal.log.frame(records));
      await Promise.all([vfs.syncDir(dirName(path)), records.length > 0 ? file.sync() : undefined]);
    } catch (err) {
      await file.close().catch(() => {});
      throw err;
    }
    return wal;
  }

  /** The error that failed this writer, if any. Once set, every call rejects with it. */
  get failure(): TabulaError | undefined {
    return this.failureError;
  }

  /** Bytes written to the file (framing included). */
  get size(): number {
    return this.log.size;
  }

  /**
   * Appends `record`; resolves once it is written and, if `sync`, fdatasynced. Rejects with
   * INVALID_ARGUMENT for an oversized record, RESOURCE_EXHAUSTED when the queue is full (neither
   * fails the writer), UNAVAILABLE after `close()`, or the writer's failure.
   */
  append(record: Uint8Array, sync = true): Promise<void> {
    if (record.length > LOG_RECORD_BYTES_MAX) {
      return Promise.reject(
        errors.invalidArgument('wal record too large', {
          bytes: record.length,
          maxBytes: LOG_RECORD_BYTES_MAX,
        }),
      );
    }
    return this.enqueue(record, sync);
  }

  /** Makes every record appended so far durable (for records appended with `sync = false`). */
  sync(): Promise<void> {
    if (!this.failureError && !this.closed && this.queue.length === 0 && !this.draining && !this.unsynced) {
      return Promise.resolve();
    }
    return this.enqueue(undefined, true);
  }

  /** Waits for queued work, then closes the file. Later calls reject with UNAVAILABLE. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.draining) await this.draining;
    await this.file.close();
  }

  private enqueue(record: Uint8Array | undefined, sync: boolean): Promise<void> {
    if (this.failureError) return Promise.reject(this.failureError);
    if (this.closed) return Promise.reject(errors.unavailable('wal writer is closed', { path: this.path }));
    if (this.queue.length >= WRITE_QUEUE_DEPTH_MAX) {
      return Promise.reject(
        errors.resourceExhausted('wal queue is full', { path: this.path, maxDepth: WRITE_QUEUE_DEPTH_MAX }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, sync, resolve, reject });
      this.queuedBytes += record?.length ?? 0;
      this.draining ??= this.drain();
    });
  }

  /** Writes groups until the queue is empty or the writer fails. */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.failureError) {
        const group = this.takeGroup();
        try {
          await this.commit(group);
        } catch (err) {
          this.fail(err, group);
          return;
        }
        for (const p of group) p.resolve();
      }
    } finally {
      this.draining = undefined;
    }
  }

  /** Removes the next group from the queue: at least one entry, then up to the byte bound. */
  private takeGroup(): Pending[] {
    let bytes = 0;
    let n = 0;
    for (const p of this.queue) {
      const len = p.record?.length ?? 0;
      if (n > 0 && bytes + len > GROUP_COMMIT_BYTES_MAX) break;
      bytes += len;
      n++;
    }
    const group = this.queue.splice(0, n);
    this.queuedBytes -= bytes;
    assert(this.queuedBytes >= 0, 'queued bytes underflow');
    return group;
  }

  private async commit(group: Pending[]): Promise<void> {
    const records = group.flatMap((p) => (p.record ? [p.record] : []));
    if (records.length > 0) {
      const framed = this.log.frame(records);
      this.unsynced = true;
      await this.file.append(framed);
    }
    if (group.some((p) => p.sync) && this.unsynced) {
      const startMs = performance.now();
      await this.file.sync();
      const ms = performance.now() - startMs;
      this.syncStats.count++;
      this.syncStats.totalMs += ms;
      if (ms > this.syncStats.maxMs) this.syncStats.maxMs = ms;
      this.unsynced = false;
    }
  }

  private fail(err: unknown, group: Pending[]): void {
    const failure = fromFsError(err, 'wal', this.path);
    this.failureError = failure;
    const rejected = [...group, ...this.queue];
    this.queue = [];
    this.queuedBytes = 0;
    for (const p of rejected) p.reject(failure);
  }
}
