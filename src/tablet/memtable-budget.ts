/**
 * The one memory budget every tablet's memtables share, so that the memory a store holds is bounded
 * by configuration and not by its number of tablets. Every MEMTABLE_BUDGET_CHECK_WRITES writes the
 * memtables are summed; past the budget, the largest are flushed early until what remains is at
 * most half the budget.
 *
 * Invariant: an engine is in `flushRequested` exactly while the early flush this budget started on
 * it runs; its memtable then no longer counts against the budget (its bytes are on their way out).
 *
 * Concurrency: single event-loop thread; a check runs synchronously and only starts flushes, which
 * run as background tasks of the store.
 */
import { MEMTABLE_BUDGET_CHECK_WRITES } from '../common/limits.js';
import type { Engine } from '../storage/engine.js';
import type { BackgroundTasks } from './background-tasks.js';

/** The memtable budget of one table store. */
export class MemtableBudget {
  private writesSinceBudgetCheck = 0;
  private readonly flushRequested = new Set<Engine>();

  constructor(
    /** Memory all memtables may use together. */
    private readonly memtableBudgetBytes: number,
    /** The engine of every live tablet of the store, read at each check. */
    private readonly engines: () => Iterable<Engine>,
    private readonly background: BackgroundTasks,
  ) {}

  /** Counts one write; every MEMTABLE_BUDGET_CHECK_WRITES writes, enforces the budget. */
  noteWrite(): void {
    if (++this.writesSinceBudgetCheck >= MEMTABLE_BUDGET_CHECK_WRITES) {
      this.writesSinceBudgetCheck = 0;
      this.checkMemtableBudget();
    }
  }

  /**
   * Past the memtable budget, flushes the largest memtables early, until what remains (not counting
   * memtables already being flushed) is at most half the budget.
   */
  private checkMemtableBudget(): void {
    let total = 0;
    const candidates: Array<{ engine: Engine; bytes: number }> = [];
    for (const engine of this.engines()) {
      const bytes = engine.memtableBytes();
      total += bytes;
      if (this.flushRequested.has(engine)) total -= bytes;
      else if (bytes > 0) candidates.push({ engine, bytes });
    }
    if (total <= this.memtableBudgetBytes) return;
    candidates.sort((a, b) => b.bytes - a.bytes);
    for (const { engine, bytes } of candidates) {
      if (total <= this.memtableBudgetBytes / 2) break;
      total -= bytes;
      this.flushRequested.add(engine);
      // A tablet a split or merge retired may close first: its memory goes with it, nothing failed.
      const flushed = engine.flush().catch((err: unknown) => {
        if (!engine.isClosed) throw err;
      });
      this.background.track(flushed.finally(() => this.flushRequested.delete(engine)));
    }
  }
}
