/**
 * Prometheus metrics of the tables' storage, read from the engines' counters at scrape time (no
 * timers, no copies between scrapes): tablets, their sizes by LSM level, memtables, block caches,
 * flushes and compactions, and the successful calls per table the RPC observer counted.
 *
 * Labels: `table` (ids of existing tables only), `tablet` (the tablet's start row key as text;
 * empty for the first tablet, which is today each table's only one) and `level`. A deleted
 * table's series vanish with it, since every gauge is reset before it is refilled.
 *
 * Not exported because the engine does not measure them (yet): bytes flushed, flush and
 * compaction durations, and WAL fsync latency.
 */
import { Gauge, type Registry } from 'prom-client';
import type { EngineStats } from '../storage/engine.js';
import { tabletEngineStats, tabletRanges } from '../tablet/table-store.js';
import type { TableStore } from '../tablet/table-store-api.js';

/** The start row key label of a table's only tablet. */
export const FIRST_TABLET_START = '';

type TabletLabels = 'table' | 'tablet';

interface Gauges {
  tablets: Gauge;
  sstables: Gauge<TabletLabels | 'level'>;
  sstableBytes: Gauge<TabletLabels | 'level'>;
  memtableBytes: Gauge<TabletLabels>;
  immutableMemtables: Gauge<TabletLabels>;
  cacheUsedBytes: Gauge<TabletLabels>;
  cacheCapacityBytes: Gauge<TabletLabels>;
  cacheHits: Gauge<TabletLabels>;
  cacheMisses: Gauge<TabletLabels>;
  cacheHitRatio: Gauge;
  flushes: Gauge<TabletLabels>;
  compactions: Gauge<TabletLabels>;
  flushBytes: Gauge<TabletLabels>;
  flushSeconds: Gauge<TabletLabels>;
  compactionSeconds: Gauge<TabletLabels>;
  walSyncs: Gauge<TabletLabels>;
  walSyncSeconds: Gauge<TabletLabels>;
  walSyncSecondsMax: Gauge<TabletLabels>;
  compactionBytes: Gauge<TabletLabels>;
  tableCalls: Gauge<'table'>;
}

/** Makes the gauges; each calls `collect` when scraped, which refills them all once per scrape. */
const MS_PER_SECOND = 1000;

function makeGauges(registry: Registry, collect: () => void): Gauges {
  const registers = [registry];
  const g = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ['table', 'tablet'], registers, collect });
  const level = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ['table', 'tablet', 'level'], registers, collect });
  return {
    tablets: new Gauge({ name: 'tabula_tablets', help: 'Tablets served.', registers, collect }),
    sstables: level('tabula_tablet_sstables', 'SSTables of a tablet by LSM level.'),
    sstableBytes: level('tabula_tablet_sstable_bytes', 'SSTable bytes of a tablet by LSM level.'),
    memtableBytes: g('tabula_tablet_memtable_bytes', 'Approximate bytes in the active memtable.'),
    immutableMemtables: g('tabula_tablet_immutable_memtables', 'Memtables frozen and waiting for a flush.'),
    cacheUsedBytes: g('tabula_block_cache_used_bytes', 'Bytes held by the block cache.'),
    cacheCapacityBytes: g('tabula_block_cache_capacity_bytes', 'Capacity of the block cache.'),
    // Engine counters are monotonic, but exported as gauges: prom-client counters cannot be set.
    cacheHits: g('tabula_block_cache_hits', 'Block cache hits since the tablet opened (monotonic).'),
    cacheMisses: g('tabula_block_cache_misses', 'Block cache misses since the tablet opened (monotonic).'),
    cacheHitRatio: new Gauge({
      name: 'tabula_block_cache_hit_ratio',
      help: 'Block cache hits over lookups, all tablets, since they opened (0 when none).',
      registers,
      collect,
    }),
    flushes: g('tabula_tablet_flushes', 'Memtable flushes since the tablet opened (monotonic).'),
    compactions: g('tabula_tablet_compactions', 'Compactions since the tablet opened (monotonic).'),
    compactionBytes: g('tabula_tablet_compaction_written_bytes', 'Bytes written by compactions (monotonic).'),
    flushBytes: g('tabula_tablet_flush_written_bytes', 'Bytes of SSTables written by flushes (monotonic).'),
    flushSeconds: g('tabula_tablet_flush_seconds_total', 'Time spent in flushes (monotonic).'),
    compactionSeconds: g('tabula_tablet_compaction_seconds_total', 'Time spent in compactions (monotonic).'),
    walSyncs: g('tabula_tablet_wal_syncs', 'WAL fdatasync calls (monotonic).'),
    walSyncSeconds: g('tabula_tablet_wal_sync_seconds_total', 'Time spent in WAL fdatasync (monotonic).'),
    walSyncSecondsMax: g(
      'tabula_tablet_wal_sync_seconds_max',
      'Longest WAL fdatasync since the tablet opened.',
    ),
    tableCalls: new Gauge({
      name: 'tabula_table_rpc_calls',
      help: 'Successful RPCs naming the table since the server started (monotonic).',
      labelNames: ['table'],
      registers,
      collect,
    }),
  };
}

function setTablet(g: Gauges, table: string, stats: EngineStats): void {
  const labels = { table, tablet: FIRST_TABLET_START };
  stats.levelFiles.forEach((files, level) => {
    g.sstables.set({ ...labels, level: String(level) }, files);
    g.sstableBytes.set({ ...labels, level: String(level) }, stats.levelBytes[level] ?? 0);
  });
  g.memtableBytes.set(labels, stats.memtableBytes);
  g.immutableMemtables.set(labels, stats.immutableMemtables);
  g.cacheUsedBytes.set(labels, stats.blockCache.usedBytes);
  g.cacheCapacityBytes.set(labels, stats.blockCache.capacityBytes);
  g.cacheHits.set(labels, stats.blockCache.hits);
  g.cacheMisses.set(labels, stats.blockCache.misses);
  g.flushes.set(labels, stats.flushes);
  g.compactions.set(labels, stats.compactions);
  g.compactionBytes.set(labels, stats.compactionBytesWritten);
  g.flushBytes.set(labels, stats.flushBytesWritten);
  g.flushSeconds.set(labels, stats.flushMsTotal / MS_PER_SECOND);
  g.compactionSeconds.set(labels, stats.compactionMsTotal / MS_PER_SECOND);
  g.walSyncs.set(labels, stats.walSyncs.count);
  g.walSyncSeconds.set(labels, stats.walSyncs.totalMs / MS_PER_SECOND);
  g.walSyncSecondsMax.set(labels, stats.walSyncs.maxMs / MS_PER_SECOND);
}

/**
 * Registers the storage metrics of `store` on `registry`; `tableCalls` gives the successful calls
 * per table id (the RPC observer's counts).
 */
export function registerStorageMetrics(
  registry: Registry,
  store: TableStore,
  tableCalls: () => ReadonlyMap<string, number>,
): void {
  // A scrape reads every gauge in one turn of the event loop: the first read refills them all.
  let fresh = false;
  const gauges: Gauges = makeGauges(registry, () => {
    if (fresh) return;
    fresh = true;
    setImmediate(() => {
      fresh = false;
    });
    for (const gauge of Object.values(gauges)) gauge.reset();
    const tables = tabletEngineStats(store);
    let tabletCount = 0;
    // One block cache serves every tablet: any table's counters are the cache's.
    const cache = tables[0]?.stats.blockCache;
    const hits = cache?.hits ?? 0;
    const lookups = hits + (cache?.misses ?? 0);
    for (const { tableId, stats } of tables) {
      setTablet(gauges, tableId, stats);
      tabletCount += tabletRanges(store, tableId).length;
      gauges.tableCalls.set({ table: tableId }, tableCalls().get(tableId) ?? 0);
    }
    gauges.tablets.set(tabletCount);
    gauges.cacheHitRatio.set(lookups === 0 ? 0 : hits / lookups);
  });
}
