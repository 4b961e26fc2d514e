/**
 * The tables of one instance on local storage: the METADATA catalog (an engine of its own) and,
 * per table, a directory holding its tablets' stores, `<dir>/tables/<table dir>/<tablet dir>`.
 * A table is an ordered set of tablets (src/tablet/tablet-set.ts); a tablet that grows past the
 * split threshold splits in two, adjacent small tablets merge (src/tablet/tablet-split.ts), both
 * as metadata operations committed in one catalog write.
 *
 * This module opens a store and is the one its users import. It wires, in one process, the two
 * halves a cluster will run apart, each reaching the other only through src/tablet/tablet-host-api.ts:
 * - the metadata service, src/tablet/metadata-service.ts: the catalog, the admin operations and
 *   their crash safety, the catalog transaction of splits and merges, stray table directories;
 * - the tablet host, src/tablet/tablet-host.ts: opening, serving and closing tablets under an
 *   owner epoch, with its parts src/tablet/tablet-lifecycle.ts (tablet directories, engines),
 *   src/tablet/tablet-maintenance.ts (when tablets split and merge), src/tablet/memtable-budget.ts
 *   (the memory budget all memtables share), src/tablet/row-key-samples.ts (SampleRowKeys);
 * - src/tablet/local-table-store.ts: both behind the `TableStore` interface;
 * - src/tablet/table-store-stats.ts: read-only views for metrics, the console and tests, through
 *   the store's `inspection` (re-exported here with the other helpers, so importers need only
 *   this module).
 *
 * Admin operations, splits and merges are serialized on the metadata service's chain; data
 * operations go straight to the tablets through each table's router.
 *
 * Memory: all tablets share one block cache and one compaction executor, and their memtables share
 * one budget (the largest is flushed early past it), so memory is bounded by configuration, not by
 * the number of tablets.
 */
import { type Clock, type Rand, systemClock, systemRand } from '../common/clock.js';
import { errors } from '../common/errors.js';
import * as limits from '../common/limits.js';
import { type Logger, silentLogger } from '../common/logger.js';
import { Engine, type EngineOptions } from '../storage/engine.js';
import { joinPath } from '../storage/vfs.js';
import { Catalog } from './catalog.js';
import { LocalTableStore } from './local-table-store.js';
import { MetadataService, SINGLE_HOST_OWNER_EPOCH } from './metadata-service.js';
import type { TableStore } from './table-store-api.js';
import { sharedEngineResources, TabletHost } from './tablet-host.js';
import type { MetadataCommits } from './tablet-host-api.js';
import { type SharedEngineOptions, TabletDirNames } from './tablet-lifecycle.js';
import type { HotSplitOptions } from './tablet-maintenance.js';

export { DATA_END_KEY } from './row-reader.js';
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
  // One process under the catalog's store lock: no other process can write this store, so writes
  // are not fenced one by one (manifest edits and new WAL segments still are).
  const shared = sharedEngineResources({ fenceAcknowledgements: false, ...options.engine });
  let catalogEngine: Engine;
  try {
    // The catalog is fenced with the next epoch of its directory, under its store lock: a number
    // that grows, durably, with every opening of the store. The host opens every tablet under it,
    // so a process that lost the store (an NFS lock lapsed) can commit nothing more anywhere.
    catalogEngine = await Engine.open({
      ...shared,
      dir: joinPath(options.dir, options.catalogDir ?? 'catalog'),
      ownerEpoch: 'next',
    });
  } catch (err) {
    await shared.executor.close();
    throw err;
  }
  const ownerEpoch = catalogEngine.ownerEpoch ?? SINGLE_HOST_OWNER_EPOCH;
  const { host, metadata } = wire(options, shared, threshold, new Catalog(catalogEngine), ownerEpoch);
  const store = new LocalTableStore(metadata, host, options.closeAfter ?? []);
  try {
    await metadata.load();
    host.startMaintenance();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/** The tablet host and the metadata service of one process, each calling the other. */
function wire(
  options: TableStoreOptions,
  shared: SharedEngineOptions,
  splitThresholdBytes: number,
  catalog: Catalog,
  ownerEpoch: number,
): { host: TabletHost; metadata: MetadataService } {
  const clock = options.clock ?? systemClock;
  const rand = options.rand ?? systemRand;
  const dirNames = new TabletDirNames(clock, rand);
  // The host asks the metadata service for commits through this late-bound reference.
  let metadata!: MetadataService;
  const commits: MetadataCommits = {
    serialized: (op) => metadata.serialized(op),
    commitTablets: (change) => metadata.commitTablets(change),
    isClosed: () => metadata.isClosed(),
  };
  const host = new TabletHost({
    dir: options.dir,
    shared,
    metadata: commits,
    dirNames,
    clock,
    log: options.logger ?? silentLogger(),
    memtableBudgetBytes: options.memtableBudgetBytes ?? limits.MEMTABLE_BUDGET_BYTES_DEFAULT,
    sampleIntervalBytes: options.sampleIntervalBytes ?? limits.SAMPLE_INTERVAL_BYTES_DEFAULT,
    splitThresholdBytes,
    autoSplit: options.autoSplit ?? true,
    hotSplit: options.hotSplit ?? {
      opsPerSec: limits.HOT_TABLET_OPS_PER_SEC,
      windowMs: limits.HOT_TABLET_WINDOW_MS,
      bytesMin: limits.HOT_SPLIT_BYTES_MIN,
    },
  });
  metadata = new MetadataService({
    dir: options.dir,
    vfs: shared.vfs,
    catalog,
    host,
    ownerEpoch,
    dirNames,
    clock,
    rand,
  });
  return { host, metadata };
}

/** Runs one split and merge pass over every table now (tests); resolves when they are done. */
export function maintainTablets(store: TableStore): Promise<void> {
  return store.inspection?.maintainAll() ?? Promise.resolve();
}
