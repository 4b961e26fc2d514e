/**
 * The work a table store starts without awaiting it: early memtable flushes, closing the engines
 * of retired tablets, deleting the files nothing references any more. Each task's promise is kept
 * until it settles, so deleting a table or closing the store can wait for what is still running.
 * A task's failure is logged, never thrown: no caller is waiting to receive it.
 *
 * Concurrency: single event-loop thread; the set of running tasks changes only synchronously.
 */
import type { Logger } from '../common/logger.js';

/** The background tasks of one table store. */
export class BackgroundTasks {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly log: Logger) {}

  /** How many tracked tasks have not settled yet. */
  get size(): number {
    return this.running.size;
  }

  /** Keeps a background task's promise until it settles; logs its failure. */
  track(p: Promise<unknown>): void {
    const run = p.catch((err: unknown) =>
      this.log.warn({ err: String(err) }, 'background tablet task failed'),
    );
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Settles once the tasks running now have settled (not the ones started meanwhile). */
  settled(): Promise<unknown[]> {
    return Promise.all([...this.running]);
  }
}
