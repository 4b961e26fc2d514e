/**
 * A remote client's cache of where each table's tablets are served: per table, the tablets' row
 * ranges and owners' public addresses as a tablet server's location service last answered
 * (src/cluster/tablet-location-protocol.ts). The router (tablet-router.ts) sends each row to the
 * owner this cache names, or to the entry server when it names none.
 *
 * Filled lazily: a table's locations are fetched on its first routed call, again once they are
 * CLIENT_LOCATION_TTL_MS old, and again after `invalidate` (a direct call failed with UNAVAILABLE,
 * or the table was created or deleted through this client). A stale entry is never wrong, only
 * slower: the old owner's public port forwards the call (one hop), and a dead owner's UNAVAILABLE
 * invalidates the entry before the retry.
 *
 * A fetch that fails leaves an empty entry (every row through the entry server), and an answer
 * with a tablet without a live owner (a failover under way) is used as it is; both are fetched
 * again after CLIENT_LOCATION_INCOMPLETE_TTL_MS, so a failing location service costs one call per
 * table per interval, not one per row operation, and a failed-over tablet is reached directly
 * again soon after its new owner serves it. An
 * UNIMPLEMENTED answer (a server without the service: `tabula serve`, Cloud Bigtable) turns
 * routing off for the client's life.
 *
 * Bounds: CLIENT_LOCATION_TABLES_MAX tables (the least recently used dropped beyond); each
 * table's list is at most what one answer holds (CLUSTER_LOCATION_TABLETS_MAX).
 *
 * Concurrency: single event-loop thread. Concurrent lookups of one table share one fetch. An
 * invalidation during a fetch wins: the fetch's answer may predate it, so it is used by the
 * callers waiting on it but not stored.
 */

import type { TabletLocation } from '../cluster/tablet-location-protocol.js';
import { ErrorCode, TabulaError } from '../common/errors.js';
import {
  CLIENT_LOCATION_INCOMPLETE_TTL_MS,
  CLIENT_LOCATION_TABLES_MAX,
  CLIENT_LOCATION_TTL_MS,
} from '../common/limits.js';

/** Asks a server for a table's tablet locations. */
export type LocationFetch = (tableId: string) => Promise<{ tablets: TabletLocation[]; truncated: boolean }>;

/** Bounds and clock of a cache (tests shrink them). */
export interface LocationCacheOptions {
  readonly nowMs: () => number;
  readonly ttlMs?: number;
  readonly incompleteTtlMs?: number;
  readonly tablesMax?: number;
}

interface TableEntry {
  /** Sorted by start row, disjoint (checked by decodeLocations). */
  readonly tablets: readonly TabletLocation[];
  /** When it goes stale: fetch time + the TTL (the short one for an incomplete answer). */
  readonly expiresMs: number;
}

/** The tablet of `tablets` (sorted, disjoint) whose range holds `rowKey`, if any. */
export function findTablet(tablets: readonly TabletLocation[], rowKey: Buffer): TabletLocation | undefined {
  let lo = 0;
  let hi = tablets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((tablets[mid] as TabletLocation).startRow.compare(rowKey) <= 0) lo = mid + 1;
    else hi = mid;
  }
  const t = tablets[lo - 1];
  if (t === undefined) return undefined;
  return t.endRow === undefined || rowKey.compare(t.endRow) < 0 ? t : undefined;
}

/** Tablet locations by table (see the file comment). */
export class TabletLocationCache {
  private readonly tables = new Map<string, TableEntry>();
  /** In-flight fetches; `stale` is set when the table is invalidated meanwhile. */
  private readonly fetching = new Map<string, { promise: Promise<TableEntry>; stale: boolean }>();
  private off = false;
  private readonly ttlMs: number;
  private readonly incompleteTtlMs: number;
  private readonly tablesMax: number;

  constructor(
    private readonly fetch: LocationFetch,
    private readonly options: LocationCacheOptions,
    enabled = true,
  ) {
    this.off = !enabled;
    this.ttlMs = options.ttlMs ?? CLIENT_LOCATION_TTL_MS;
    this.incompleteTtlMs = options.incompleteTtlMs ?? CLIENT_LOCATION_INCOMPLETE_TTL_MS;
    this.tablesMax = options.tablesMax ?? CLIENT_LOCATION_TABLES_MAX;
  }

  /** Whether routing is on (not turned off, and the server has not said it has no locations). */
  get enabled(): boolean {
    return !this.off;
  }

  /** Tables with an entry (for tests and bounds). */
  get size(): number {
    return this.tables.size;
  }

  /**
   * The table's tablet locations, fetched when missing or older than the TTL; empty when routing
   * is off or the last fetch failed. Never rejects: a failed fetch means "through the entry".
   */
  async locations(tableId: string): Promise<readonly TabletLocation[]> {
    if (this.off) return [];
    const entry = this.tables.get(tableId);
    if (entry !== undefined && this.options.nowMs() < entry.expiresMs) {
      this.tables.delete(tableId);
      this.tables.set(tableId, entry);
      return entry.tablets;
    }
    let pending = this.fetching.get(tableId);
    if (pending === undefined) {
      const fetch = { promise: Promise.resolve<TableEntry>({ tablets: [], expiresMs: 0 }), stale: false };
      fetch.promise = this.load(tableId, fetch).finally(() => {
        if (this.fetching.get(tableId) === fetch) this.fetching.delete(tableId);
      });
      this.fetching.set(tableId, fetch);
      pending = fetch;
    }
    return (await pending.promise).tablets;
  }

  /**
   * Has the table's locations fetched again after at most CLIENT_LOCATION_INCOMPLETE_TTL_MS (an
   * owner they name cannot be reached now: a failover may be under way).
   */
  expireSoon(tableId: string): void {
    const entry = this.tables.get(tableId);
    const soonMs = this.options.nowMs() + this.incompleteTtlMs;
    if (entry !== undefined && entry.expiresMs > soonMs)
      this.tables.set(tableId, { ...entry, expiresMs: soonMs });
  }

  /** Forgets the table's locations: the next lookup fetches them again. */
  invalidate(tableId: string): void {
    this.tables.delete(tableId);
    const fetch = this.fetching.get(tableId);
    if (fetch !== undefined) fetch.stale = true;
    this.fetching.delete(tableId);
  }

  private async load(tableId: string, fetch: { stale: boolean }): Promise<TableEntry> {
    let tablets: readonly TabletLocation[] = [];
    let complete = false;
    try {
      const answer = await this.fetch(tableId);
      tablets = answer.tablets;
      complete = tablets.every((t) => t.address !== undefined);
    } catch (err) {
      if (err instanceof TabulaError && err.code === ErrorCode.Unimplemented) {
        this.off = true;
        this.tables.clear();
      }
    }
    const ttlMs = complete ? this.ttlMs : this.incompleteTtlMs;
    const entry: TableEntry = { tablets, expiresMs: this.options.nowMs() + ttlMs };
    if (!this.off && !fetch.stale) this.store(tableId, entry);
    return entry;
  }

  private store(tableId: string, entry: TableEntry): void {
    this.tables.delete(tableId);
    this.tables.set(tableId, entry);
    while (this.tables.size > this.tablesMax) {
      const oldest = this.tables.keys().next().value as string;
      this.tables.delete(oldest);
    }
  }
}
