/**
 * Scheduling of the engine's background work: when to flush a frozen memtable and when to start a
 * compaction (engine-jobs.ts does the work itself), retrying after ENOSPC, and stopping writes
 * after any other failure.
 *
 * Invariants: at most one flush and one compaction run at a time; nothing starts once the store is
 * closed, writes have stopped, or a retry is pending; compactions start only while not suspended
 * and auto-compaction is on (`compactNow` is the manual exception). A job that hits ENOSPC is
 * retried with exponential backoff (50 ms doubling to 2 s); any other failure becomes the store's
 * `writeFailure`. Every finished job wakes writers stalled for room.
 *
 * Concurrency: single event-loop thread; scheduling never awaits.
 */
import { ErrorCode, errors, hasCode, TabulaError } from '../common/errors.js';
import type { CompactionPick } from './compaction-picker.js';
import type { BackgroundJobs } from './engine-jobs.js';
import type { EngineState } from './engine-state.js';

/** Starts flushes and compactions, and retries them. */
export class BackgroundWork {
  private flushingJob: Promise<void> | undefined;
  private compactingJob: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 0;

  /** @param wakeWriters wakes writers stalled for room; called after every job. */
  constructor(
    private readonly state: EngineState,
    private readonly jobs: BackgroundJobs,
    private readonly wakeWriters: () => void,
  ) {}

  /** The running flush, if any. */
  get flushing(): Promise<void> | undefined {
    return this.flushingJob;
  }

  /** The running compaction, if any. */
  get compacting(): Promise<void> | undefined {
    return this.compactingJob;
  }

  /** Starts a flush and a compaction if one is due and none of its kind runs. */
  schedule(): void {
    const state = this.state;
    if (state.closed || state.writeFailure || this.retryTimer) return;
    if (!this.flushingJob && state.immutables.length > 0) {
      this.flushingJob = this.runBackground(() => this.jobs.flushOldest()).finally(() => {
        this.flushingJob = undefined;
        this.schedule();
      });
    }
    if (!this.compactingJob && state.opts.autoCompact && !state.compactionsSuspended) {
      const pick = this.jobs.pick();
      if (pick) {
        this.compactingJob = this.runBackground(() => this.jobs.runCompaction(pick)).finally(() => {
          this.compactingJob = undefined;
          this.schedule();
        });
      }
    }
  }

  /**
   * Runs `pick` as the compaction (for `Engine.compactAll`, once no other compaction runs) and
   * returns it; schedules nothing when it ends.
   */
  compactNow(pick: CompactionPick): Promise<void> {
    this.compactingJob = this.runBackground(() => this.jobs.runCompaction(pick)).finally(() => {
      this.compactingJob = undefined;
    });
    return this.compactingJob;
  }

  /** Cancels a pending retry (on close). */
  cancelRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private async runBackground(job: () => Promise<void>): Promise<void> {
    try {
      await job();
      this.retryDelayMs = 0;
    } catch (err) {
      if (this.state.closed) return;
      if (hasCode(err, ErrorCode.ResourceExhausted)) {
        this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, 50), 2000);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.schedule();
        }, this.retryDelayMs);
        this.retryTimer.unref();
      } else {
        this.state.writeFailure ??=
          err instanceof TabulaError
            ? err
            : errors.internal('background job failed', {
                cause: String(err),
              });
      }
    } finally {
      this.wakeWriters();
    }
  }
}
