/**
 * The JSON the console's pages draw: an overview of the instance and the detail of one table
 * (families with their GC rules, tablets with their row ranges, sizes, request rates and LSM
 * levels). Built on demand from the store's schemas and the engines' counters; nothing here
 * writes. Tablet boundaries are row keys as text (UTF-8, invalid bytes replaced), '' at either end
 * of the table. Every tablet shares one block cache, so its counters are the instance's.
 */

import { CONSOLE_TABLES_LISTED_MAX } from '../common/limits.js';
import type { GcRule } from '../model/proto-types.js';
import type { EngineStats } from '../storage/engine.js';
import { tabletDetails, tabletEngineStats } from '../tablet/table-store.js';
import type { TableSchema, TableStore } from '../tablet/table-store-api.js';
import type { LiveSampler } from './live-sampler.js';
import type { HistoryView, TableHistory } from './table-history.js';

export { CONSOLE_TABLES_LISTED_MAX };

/** Deepest GC rule rendered as text; deeper parts show as `…`. */
const GC_RULE_TEXT_DEPTH_MAX = 16;
const NANOS_PER_SECOND = 1e9;

/** One LSM level of a tablet. */
export interface LevelView {
  readonly level: number;
  readonly files: number;
  readonly bytes: number;
}

/** One tablet of a table. */
export interface TabletView {
  /** First row key of the tablet ('' : the start of the table). */
  readonly startKey: string;
  /** Row key after the tablet ('' : the end of the table). */
  readonly endKey: string;
  readonly dataBytes: number;
  readonly requestsPerSecond: number;
  readonly levels: readonly LevelView[];
  readonly memtableBytes: number;
  readonly memtableEntries: number;
  readonly immutableMemtables: number;
  readonly flushes: number;
  readonly compactions: number;
  readonly compactionBytesWritten: number;
  readonly blockCache: EngineStats['blockCache'];
}

/** One table, in detail. */
export interface TableView {
  readonly tableId: string;
  readonly createdAtMs: number;
  readonly deletionProtection: boolean;
  readonly families: ReadonlyArray<{ readonly name: string; readonly gcRule: string }>;
  readonly tablets: readonly TabletView[];
  /** Splits and merges seen since the console started, newest first, with the store's counters. */
  readonly history: HistoryView;
}

/** The overview. */
export interface OverviewView {
  readonly tableCount: number;
  readonly tabletCount: number;
  readonly dataBytes: number;
  readonly memtableBytes: number;
  readonly blockCache: {
    readonly usedBytes: number;
    readonly capacityBytes: number;
    readonly hitRatio: number;
  };
  readonly tables: ReadonlyArray<{
    readonly tableId: string;
    readonly families: number;
    readonly tablets: number;
    readonly dataBytes: number;
    readonly requestsPerSecond: number;
  }>;
}

function durationText(d: { seconds?: string | number; nanos?: number } | undefined): string {
  const seconds = Number(d?.seconds ?? 0) + (d?.nanos ?? 0) / NANOS_PER_SECOND;
  if (seconds % 86_400 === 0 && seconds > 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0 && seconds > 0) return `${seconds / 3600}h`;
  return `${seconds}s`;
}

/** A GC rule as text, e.g. `maxVersions=3 OR maxAge=7d`; `keep all` when none. */
export function gcRuleText(rule: GcRule | undefined, depth = 0): string {
  if (rule === undefined || rule.rule === undefined) return depth === 0 ? 'keep all' : '(none)';
  if (depth >= GC_RULE_TEXT_DEPTH_MAX) return '…';
  switch (rule.rule) {
    case 'maxNumVersions':
      return `maxVersions=${rule.maxNumVersions ?? 0}`;
    case 'maxAge':
      return `maxAge=${durationText(rule.maxAge)}`;
    case 'union':
    case 'intersection': {
      const parts = (rule[rule.rule]?.rules ?? []).map((r) => gcRuleText(r, depth + 1));
      const joined = parts.join(rule.rule === 'union' ? ' OR ' : ' AND ');
      return depth === 0 ? joined : `(${joined})`;
    }
  }
}

function dataBytes(stats: EngineStats): number {
  return stats.levelBytes.reduce((a, b) => a + b, 0) + stats.memtableBytes;
}

function tabletView(
  range: { startRow: Buffer | undefined; endRow: Buffer | undefined },
  stats: EngineStats,
  requestsPerSecond: number,
): TabletView {
  return {
    startKey: range.startRow?.toString('utf8') ?? '',
    endKey: range.endRow?.toString('utf8') ?? '',
    dataBytes: dataBytes(stats),
    requestsPerSecond,
    levels: stats.levelFiles.map((files, level) => ({ level, files, bytes: stats.levelBytes[level] ?? 0 })),
    memtableBytes: stats.memtableBytes,
    memtableEntries: stats.memtableEntries,
    immutableMemtables: stats.immutableMemtables,
    flushes: stats.flushes,
    compactions: stats.compactions,
    compactionBytesWritten: stats.compactionBytesWritten,
    blockCache: stats.blockCache,
  };
}

function statsByTable(store: TableStore): Map<string, EngineStats> {
  return new Map(tabletEngineStats(store).map(({ tableId, stats }) => [tableId, stats]));
}

/** The overview of `store`. */
export function overviewView(store: TableStore, sampler: LiveSampler): OverviewView {
  const schemas = store.listTables();
  const stats = statsByTable(store);
  let bytes = 0;
  let memtableBytes = 0;
  let tabletCount = 0;
  const tabletsOf = new Map(schemas.map((t) => [t.tableId, tabletDetails(store, t.tableId).length]));
  for (const n of tabletsOf.values()) tabletCount += n;
  // One block cache serves every tablet: any table's counters are the cache's.
  const shared = stats.values().next().value?.blockCache;
  const cache = {
    usedBytes: shared?.usedBytes ?? 0,
    capacityBytes: shared?.capacityBytes ?? 0,
    hits: shared?.hits ?? 0,
    lookups: (shared?.hits ?? 0) + (shared?.misses ?? 0),
  };
  for (const s of stats.values()) {
    bytes += dataBytes(s);
    memtableBytes += s.memtableBytes;
  }
  const tables = schemas.slice(0, CONSOLE_TABLES_LISTED_MAX).map((schema) => {
    const s = stats.get(schema.tableId);
    return {
      tableId: schema.tableId,
      families: schema.families.size,
      tablets: tabletsOf.get(schema.tableId) ?? 0,
      dataBytes: s === undefined ? 0 : dataBytes(s),
      requestsPerSecond: sampler.tableRate(schema.tableId),
    };
  });
  return {
    tableCount: schemas.length,
    tabletCount,
    dataBytes: bytes,
    memtableBytes,
    blockCache: {
      usedBytes: cache.usedBytes,
      capacityBytes: cache.capacityBytes,
      hitRatio: cache.lookups === 0 ? 0 : cache.hits / cache.lookups,
    },
    tables,
  };
}

/** The detail of one table, or undefined when it does not exist. */
export function tableView(
  store: TableStore,
  sampler: LiveSampler,
  tableId: string,
  history: TableHistory,
): TableView | undefined {
  const schema: TableSchema | undefined = store.listTables().find((t) => t.tableId === tableId);
  if (schema === undefined) return undefined;
  const tablets = tabletDetails(store, tableId);
  const rate = sampler.tableRate(tableId) / Math.max(1, tablets.length);
  return {
    tableId,
    createdAtMs: schema.createdAtMs,
    deletionProtection: schema.deletionProtection,
    families: [...schema.families.values()].map((f) => ({ name: f.name, gcRule: gcRuleText(f.gcRule) })),
    // Request rates are counted per table; each tablet shows an even share of it.
    tablets: tablets.map((t) => tabletView(t, t.stats, rate)),
    history: history.view(tableId),
  };
}
