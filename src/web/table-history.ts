/**
 * The split and merge history the one-process console shows on a table page. The store keeps no
 * per-table history (its catalog holds only the current tablets, and `splitStats()` counts splits
 * and merges store-wide), so the console watches: at every sample it reads each table's tablet
 * boundaries and records each boundary that appeared (a split at that row) or disappeared (a merge
 * across it), with the time it was seen. What happened before the console started is not known;
 * the page says so.
 *
 * Ownership: one per console, fed from the live sampler's tick on the event loop. Bounded: at most
 * CONSOLE_TABLES_LISTED_MAX tables are watched and CONSOLE_TABLE_HISTORY_MAX entries kept per table.
 */
import { CONSOLE_TABLE_HISTORY_MAX, CONSOLE_TABLES_LISTED_MAX } from '../common/limits.js';
import { tabletStats } from '../tablet/table-store.js';
import type { TableStore } from '../tablet/table-store-api.js';

/** One split or merge seen. */
export interface HistoryEntry {
  readonly timeMs: number;
  readonly kind: 'split' | 'merge';
  /** The boundary row, as text (UTF-8, invalid bytes replaced). */
  readonly rowKey: string;
}

/** What a table page says about splits and merges. */
export interface HistoryView {
  /** Newest first. */
  readonly entries: readonly HistoryEntry[];
  /** When this console started watching, in ms since the epoch. */
  readonly sinceMs: number;
  /** Splits and merges of the whole store since it opened, when the store counts them. */
  readonly storeSplits: number | undefined;
  readonly storeMerges: number | undefined;
}

/** Boundaries as base64 (exact bytes), to compare between samples. */
function boundaries(store: TableStore, tableId: string): Set<string> {
  const out = new Set<string>();
  for (const t of store.inspection?.tablets(tableId) ?? [])
    if (t.startRow !== undefined && t.startRow.length > 0) out.add(t.startRow.toString('base64'));
  return out;
}

/** Watches the tablet boundaries of a store's tables. */
export class TableHistory {
  private readonly last = new Map<string, Set<string>>();
  private readonly entries = new Map<string, HistoryEntry[]>();
  private readonly sinceMs: number;

  constructor(
    private readonly store: TableStore,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.sinceMs = nowMs();
    this.observe();
  }

  /** Reads the boundaries now and records what changed since the previous call. */
  observe(): void {
    const now = this.nowMs();
    const ids = this.store
      .listTables()
      .slice(0, CONSOLE_TABLES_LISTED_MAX)
      .map((t) => t.tableId);
    for (const id of [...this.last.keys()]) if (!ids.includes(id)) this.forget(id);
    for (const id of ids) {
      const seen = boundaries(this.store, id);
      const before = this.last.get(id);
      this.last.set(id, seen);
      if (before === undefined) continue;
      for (const b of seen)
        if (!before.has(b)) this.record(id, { timeMs: now, kind: 'split', rowKey: text(b) });
      for (const b of before)
        if (!seen.has(b)) this.record(id, { timeMs: now, kind: 'merge', rowKey: text(b) });
    }
  }

  /** The history of one table. */
  view(tableId: string): HistoryView {
    const stats = tabletStats(this.store);
    return {
      entries: [...(this.entries.get(tableId) ?? [])].reverse(),
      sinceMs: this.sinceMs,
      storeSplits: stats?.splits,
      storeMerges: stats?.merges,
    };
  }

  private forget(tableId: string): void {
    this.last.delete(tableId);
    this.entries.delete(tableId);
  }

  private record(tableId: string, entry: HistoryEntry): void {
    const list = this.entries.get(tableId) ?? [];
    list.push(entry);
    if (list.length > CONSOLE_TABLE_HISTORY_MAX) list.shift();
    this.entries.set(tableId, list);
  }
}

function text(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}
