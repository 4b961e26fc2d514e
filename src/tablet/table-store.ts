/**
 * The tables of one instance on local storage: the METADATA catalog (an engine of its own) and,
 * per table, a directory holding its tablets' stores, `<dir>/tables/<table dir>/<tablet dir>`.
 * A table is an ordered set of tablets (src/tablet/tablet-set.ts); a tablet that grows past the
 * split threshold splits in two, adjacent small tablets merge (src/tablet/tablet-split.ts), both
 * as metadata operations committed in one catalog write.
 *
 * This module opens a store and is the one its users import. The store is made of:
 * - src/tablet/local-table-store.ts: the tables, the admin operations and their crash safety;
 * - src/tablet/tablet-lifecycle.ts: tablet directories, opening and retiring tablet engines;
 * - src/tablet/tablet-maintenance.ts: when tablets split and merge (size, heat, the merge timer);
 * - src/tablet/memtable-budget.ts: the memory budget all memtables share;
 * - src/tablet/row-key-samples.ts: SampleRowKeys over a table's tablets;
 * - src/tablet/table-store-stats.ts: read-only views for metrics, the console and tests
 *   (re-exported here with the other helpers, so importers need only this module).
 *
 * Admin operations, splits and merges are serialized on one chain; data operations go straight to
 * the tablets through each table's router.
 *
 * Memory: all tablets share one block cache and one compaction executor, and their memtables share
 * one budget (the largest is flushed early past it), so memory is bounded by configuration, not by
 * the number of tablets.
 */
import type { Clock, Rand } from '../common/clock.js';
import { errors } from '../common/errors.js';
import * as limits from '../common/limits.js';
import type { Logger } from '../common/logger.js';
import { BlockCache } from '../storage/block-cache.js';
import { type CompactionExecutor, InlineExecutor, WorkerExecutor } from '../storage/compaction-executor.js';
import { Engine, type EngineOptions } from '../storage/engine.js';
import { RealVfs } from '../storage/real-vfs.js';
import { joinPath } from '../storage/vfs.js';
import { LocalTableStore } from './local-table-store.js';
import type { TableStore } from './table-store-api.js';
import type { HotSplitOptions } from './tablet-maintenance.js';

export { DATA_END_KEY } from './local-table-store.js';
export {
  compactionWorkerMemory,
  tabletDetails,
  tabletEngineStats,
  tabletEngines,
  tabletRanges,
  tabletStats,
} from './table-store-stats.js';
export type { TabletStats } from './tablet-maintenance.js';

/** Options of a local table store. */
export interface TableStoreOptions {
  dir: string;
  /** Options passed to every engine (catalog and tablets). */
  engine?: Partial<Omit<EngineOptions, 'dir'>>;
  /** Size past which a tablet splits (SPLIT_THRESHOLD_BYTES_DEFAULT; at least SPLIT_THRESHOLD_BYTES_MIN). */
  splitThresholdBytes?: number;
  /** Memory all memtables may use together (MEMTABLE_BUDGET_BYTES_DEFAULT). */
  memtableBudgetBytes?: number;
  /** Bytes between intra-tablet samples of SampleRowKeys (SAMPLE_INTERVAL_BYTES_DEFAULT). */
  sampleIntervalBytes?: number;
  /**
   * When a tablet counts as hot and splits below the size threshold: sustained write operations
   * per second over a window, for tablets of at least `bytesMin` (HOT_TABLET_* defaults).
   */
  hotSplit?: HotSplitOptions;
  /** Whether tablets split and merge on their own (default true; tests may drive them by hand). */
  autoSplit?: boolean;
  /** Directory of the METADATA catalog inside `dir` (default `catalog`; src/master/metadata-root.ts). */
  catalogDir?: string;
  /** Closed after the store closes (e.g. the coordination service the root came from). */
  closeAfter?: ReadonlyArray<{ close(): Promise<void> }>;
  /** Where background failures are logged (default: nowhere). */
  logger?: Logger;
  clock?: Clock;
  rand?: Rand;
}

/** Opens (creating if needed) the tables under `options.dir`. */
export async function openTableStore(options: TableStoreOptions): Promise<TableStore> {
  const threshold = options.splitThresholdBytes ?? limits.SPLIT_THRESHOLD_BYTES_DEFAULT;
  if (!Number.isSafeInteger(threshold) || threshold < limits.SPLIT_THRESHOLD_BYTES_MIN) {
    throw errors.invalidArgument('split threshold is too small', {
      bytes: threshold,
      bytesMin: limits.SPLIT_THRESHOLD_BYTES_MIN,
    });
  }
  const vfs = options.engine?.vfs ?? new RealVfs();
  const executor: CompactionExecutor =
    (options.engine?.executor ?? (vfs instanceof RealVfs ? 'worker' : 'inline')) === 'worker'
      ? new WorkerExecutor()
      : new InlineExecutor(vfs);
  const blockCache = new BlockCache({
    capacityBytes: options.engine?.blockCacheBytes ?? limits.BLOCK_CACHE_BYTES_DEFAULT,
  });
  const shared = { ...options.engine, vfs, executor, blockCache };
  let catalogEngine: Engine;
  try {
    catalogEngine = await Engine.open({
      ...shared,
      dir: joinPath(options.dir, options.catalogDir ?? 'catalog'),
    });
  } catch (err) {
    await executor.close();
    throw err;
  }
  const store = new LocalTableStore(options, shared, threshold, catalogEngine);
  try {
    await store.load();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/** Runs one split and merge pass over every table now (tests); resolves when they are done. */
export function maintainTablets(store: TableStore): Promise<void> {
  return store.inspection?.maintainAll() ?? Promise.resolve();
}
