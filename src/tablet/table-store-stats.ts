/**
 * Read-only views of a store's tablets for /metrics, the web console, benchmarks and tests:
 * per-table storage counters (the sum over the table's tablets), each tablet's range, size,
 * counters and engine, the split and merge counters, and the compaction workers' memory. They read
 * the store's `inspection` (src/tablet/tablet-inspection.ts); each answers empty (or undefined) for
 * a store without one, and fails with NOT_FOUND for an unknown table like the store's own
 * operations.
 *
 * Concurrency: synchronous snapshots on the event-loop thread; the engines returned by
 * `tabletEngines` stay the store's (a caller must not close them).
 */
import type { WorkerMemory } from '../storage/compaction-executor.js';
import type { Engine, EngineStats } from '../storage/engine.js';
import type { TableStore } from './table-store-api.js';
import type { TabletStats } from './tablet-maintenance.js';

/**
 * The storage counters of each table, in table order: read-only, for /metrics and the web
 * console. Empty for a store without an inspection.
 */
export function tabletEngineStats(store: TableStore): Array<{ tableId: string; stats: EngineStats }> {
  const inspection = store.inspection;
  if (inspection === undefined) return [];
  return store.listTables().map((s) => ({
    tableId: s.tableId,
    stats: sumStats(inspection.tablets(s.tableId).map((t) => t.engine.stats())),
  }));
}

/** Each live tablet of a table with its range and counters, in range order (the console). */
export function tabletDetails(
  store: TableStore,
  tableId: string,
): Array<{ startRow: Buffer | undefined; endRow: Buffer | undefined; stats: EngineStats }> {
  const tablets = store.inspection?.tablets(tableId) ?? [];
  return tablets.map((t) => ({ startRow: t.startRow, endRow: t.endRow, stats: t.engine.stats() }));
}

/** The row ranges of a table's live tablets, in order (for tests and the console). */
export function tabletRanges(
  store: TableStore,
  tableId: string,
): Array<{ startRow: Buffer | undefined; endRow: Buffer | undefined; bytes: number }> {
  const tablets = store.inspection?.tablets(tableId) ?? [];
  return tablets.map((t) => ({ startRow: t.startRow, endRow: t.endRow, bytes: t.engine.approximateBytes() }));
}

/** The engines of a table's tablets in range order (tests and tools: compactions, raw scans). */
export function tabletEngines(store: TableStore, tableId: string): Engine[] {
  return (store.inspection?.tablets(tableId) ?? []).map((t) => t.engine);
}

/** Memory of the compaction worker threads every tablet shares (diagnostics, benchmarks). */
export function compactionWorkerMemory(store: TableStore): Promise<WorkerMemory[]> {
  return store.inspection?.workerMemory() ?? Promise.resolve([]);
}

/** Split and merge counters of a store with an inspection. */
export function tabletStats(store: TableStore): TabletStats | undefined {
  return store.inspection?.splitStats();
}

/** One table's counters: the sum over its tablets. */
function sumStats(list: readonly EngineStats[]): EngineStats {
  const first = list[0] as EngineStats;
  const add = (a: number[], b: number[]) => a.map((x, i) => x + (b[i] ?? 0));
  return list.slice(1).reduce(
    (acc, s) => ({
      levelFiles: add(acc.levelFiles, s.levelFiles),
      levelBytes: add(acc.levelBytes, s.levelBytes),
      memtableBytes: acc.memtableBytes + s.memtableBytes,
      memtableEntries: acc.memtableEntries + s.memtableEntries,
      immutableMemtables: acc.immutableMemtables + s.immutableMemtables,
      flushes: acc.flushes + s.flushes,
      compactions: acc.compactions + s.compactions,
      compactionBytesWritten: acc.compactionBytesWritten + s.compactionBytesWritten,
      flushBytesWritten: acc.flushBytesWritten + s.flushBytesWritten,
      flushMsTotal: acc.flushMsTotal + s.flushMsTotal,
      compactionMsTotal: acc.compactionMsTotal + s.compactionMsTotal,
      walSyncs: {
        count: acc.walSyncs.count + s.walSyncs.count,
        totalMs: acc.walSyncs.totalMs + s.walSyncs.totalMs,
        maxMs: Math.max(acc.walSyncs.maxMs, s.walSyncs.maxMs),
      },
      lastSequence: acc.lastSequence + s.lastSequence,
      // One cache serves every tablet: its counters are not summed.
      blockCache: acc.blockCache,
      prefixFilterSkips: acc.prefixFilterSkips + s.prefixFilterSkips,
    }),
    first,
  );
}
