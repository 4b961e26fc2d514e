/**
 * Where a remote client sends each row operation: straight to the public address of the row's
 * tablet owner when its location cache (tablet-location-cache.ts) names one, else to the entry
 * server (the address given to `connect()`), which forwards to the owner itself (one hop). Against
 * a server without the location service (`tabula serve`, Cloud Bigtable) every call goes to the
 * entry server, as before routing existed.
 *
 * - A row (MutateRow, CheckAndMutateRow, ReadModifyWriteRow) goes to its tablet's owner.
 * - A read goes to the owner when every row it selects lies in one tablet (a point read, a range
 *   inside a tablet); a read spanning tablets goes to the entry server, which walks the tablets in
 *   key order (src/cluster/routing-tablet.ts) — see docs/cluster.md for why.
 * - MutateRows entries are grouped by owner (`groupRows`), one request per group.
 *
 * An owner is used only while the client's channel to it is connected: until it is (the first
 * calls to a new owner) and while it cannot be (an owner that died), rows go through the entry
 * server, so routing never makes a call fail that the entry server would have served. A
 * channel that failed to connect has the table's locations fetched again within
 * CLIENT_LOCATION_INCOMPLETE_TTL_MS. Waiting for locations is bounded by the call's deadline
 * (past it the call goes to the entry server).
 *
 * Failures: a direct call that fails with UNAVAILABLE (a dead owner, a tablet that moved and whose
 * old owner could not forward it, a server whose session lapsed) invalidates the table's cached
 * locations and closes the idle channel to that owner; the retry policy decides whether the call
 * is tried again, and its next attempt is routed from fresh locations. Nothing here retries.
 *
 * Ownership: the router owns the owner channels (closed by `close()`), not the entry channel.
 * Concurrency: single event-loop thread.
 */
import { Metadata } from '@grpc/grpc-js';
import {
  decodeLocationMessage,
  decodeLocations,
  encodeLocationMessage,
  LOCATE_TABLETS_PATH,
  type TabletLocation,
} from '../cluster/tablet-location-protocol.js';
import { ErrorCode, type TabulaError } from '../common/errors.js';
import { CLIENT_LOCATION_DEADLINE_MS } from '../common/limits.js';
import type { RowRange, RowSet } from '../model/proto-types.js';
import type { GrpcChannel } from './grpc-channel.js';
import { errorOfCall } from './grpc-errors.js';
import { OwnerChannels } from './owner-channels.js';
import type { RetryEffects } from './retry-policy.js';
import { findTablet, type LocationFetch, type TabletLocationCache } from './tablet-location-cache.js';

/** Where one call (or one MutateRows group) goes. */
export interface Route<C = GrpcChannel> {
  readonly channel: C;
  /** The owner's address; undefined: the entry server. */
  readonly address: string | undefined;
  /** Ends the call's hold on the channel (idempotent). */
  release(): void;
}

/** Asks the entry server's location service over the entry channel's connection. */
export function fetchThrough(entry: GrpcChannel): LocationFetch {
  return (tableId) =>
    new Promise((resolve, reject) => {
      entry.data.makeUnaryRequest(
        LOCATE_TABLETS_PATH,
        encodeLocationMessage,
        decodeLocationMessage,
        { tableId },
        new Metadata(),
        { deadline: new Date(Date.now() + CLIENT_LOCATION_DEADLINE_MS) },
        (err, res) => {
          if (err) reject(errorOfCall(err));
          else {
            try {
              resolve(decodeLocations(res as Record<string, unknown>));
            } catch (e) {
              reject(e);
            }
          }
        },
      );
    });
}

/** The last row key a row set can select, or 'unbounded'. */
type RowSetEnd = { readonly key: Buffer; readonly inclusive: boolean } | 'unbounded';

function rangeStart(r: RowRange): Buffer {
  const key = r.startKey === 'startKeyOpen' ? r.startKeyOpen : r.startKeyClosed;
  return key ?? Buffer.alloc(0);
}

function rangeEnd(r: RowRange): RowSetEnd {
  const key = r.endKey === 'endKeyClosed' ? r.endKeyClosed : r.endKeyOpen;
  if (key === undefined || key.length === 0) return 'unbounded';
  return { key, inclusive: r.endKey === 'endKeyClosed' };
}

/** Whether every row `rows` selects lies in `t`'s range (`rows` absent: the whole table). */
export function rowSetWithin(rows: RowSet | undefined, t: TabletLocation): boolean {
  const keys = rows?.rowKeys ?? [];
  const ranges = rows?.rowRanges ?? [];
  if (keys.length === 0 && ranges.length === 0) return t.startRow.length === 0 && t.endRow === undefined;
  const below = (end: RowSetEnd) =>
    t.endRow === undefined ||
    (end !== 'unbounded' && (end.inclusive ? end.key.compare(t.endRow) < 0 : end.key.compare(t.endRow) <= 0));
  for (const k of keys) if (k.compare(t.startRow) < 0 || !below({ key: k, inclusive: true })) return false;
  for (const r of ranges) if (rangeStart(r).compare(t.startRow) < 0 || !below(rangeEnd(r))) return false;
  return true;
}

/** The smallest row key `rows` can select (empty: the table's start). */
function rowSetStart(rows: RowSet | undefined): Buffer {
  const starts = [...(rows?.rowKeys ?? []), ...(rows?.rowRanges ?? []).map(rangeStart)];
  return starts.reduce((a, b) => (b.compare(a) < 0 ? b : a), starts[0] ?? Buffer.alloc(0));
}

/** What the router needs of a channel (GrpcChannel; tests use fakes). */
export interface RouterChannel {
  connectivity(): 'ready' | 'connecting' | 'failed';
  close(): void;
}

/** One group of a MutateRows: the entries (indices) and where they go. */
export interface RouteGroup<C> {
  readonly route: Route<C>;
  readonly indices: number[];
}

/** Routes row operations (see the file comment). */
export class TabletRouter<C extends RouterChannel = GrpcChannel> {
  private readonly owners: OwnerChannels<C>;

  constructor(
    private readonly entry: C,
    private readonly entryAddress: string,
    private readonly cache: TabletLocationCache,
    openChannel: (address: string) => C,
    private readonly effects: Pick<RetryEffects, 'timer'>,
  ) {
    this.owners = new OwnerChannels(openChannel);
  }

  /** The entry server's route. */
  entryRoute(): Route<C> {
    return { channel: this.entry, address: undefined, release: () => {} };
  }

  /**
   * The route to the owner at `address` if its channel is connected; else the entry's (a
   * connection is started meanwhile, and a channel that failed to connect has the table's
   * locations fetched again soon: its owner may be gone).
   */
  private ownerRoute(tableId: string, address: string | undefined): Route<C> {
    if (address === undefined || address === this.entryAddress) return this.entryRoute();
    const lease = this.owners.acquire(address);
    if (lease === undefined) return this.entryRoute();
    const state = lease.channel.connectivity();
    if (state === 'ready') return { channel: lease.channel, address, release: lease.release };
    lease.release();
    if (state === 'failed') this.cache.expireSoon(tableId);
    return this.entryRoute();
  }

  /** The table's locations, or none if they do not come within `waitMs` (the call's deadline). */
  private async locations(tableId: string, waitMs: number): Promise<readonly TabletLocation[]> {
    if (!this.cache.enabled) return [];
    let stop = () => {};
    const late = new Promise<readonly TabletLocation[]>((resolve) => {
      stop = this.effects.timer(Math.max(0, waitMs), () => resolve([]));
    });
    try {
      return await Promise.race([this.cache.locations(tableId), late]);
    } finally {
      stop();
    }
  }

  /** The route of one row of `tableId`, waiting at most `waitMs` for its locations. */
  async routeRow(tableId: string, rowKey: Buffer, waitMs: number): Promise<Route<C>> {
    const tablets = await this.locations(tableId, waitMs);
    return this.ownerRoute(tableId, findTablet(tablets, rowKey)?.address);
  }

  /** The route of a read of `rows`: its tablet's owner if it stays in one tablet, else the entry. */
  async routeRead(tableId: string, rows: RowSet | undefined, waitMs: number): Promise<Route<C>> {
    const t = findTablet(await this.locations(tableId, waitMs), rowSetStart(rows));
    return t !== undefined && rowSetWithin(rows, t) ? this.ownerRoute(tableId, t.address) : this.entryRoute();
  }

  /**
   * `rowKeys` (by index) grouped by route, one group per owner reachable now plus one for the
   * entry server; everything in one entry group when routing is off. Each group's route must be
   * released.
   */
  async groupRows(tableId: string, rowKeys: readonly Buffer[], waitMs: number): Promise<RouteGroup<C>[]> {
    const tablets = await this.locations(tableId, waitMs);
    const byAddress = new Map<string, number[]>();
    rowKeys.forEach((key, i) => {
      const address = findTablet(tablets, key)?.address ?? '';
      const group = byAddress.get(address);
      if (group) group.push(i);
      else byAddress.set(address, [i]);
    });
    const groups = new Map<string, RouteGroup<C>>();
    for (const [address, indices] of byAddress) {
      const route = this.ownerRoute(tableId, address === '' ? undefined : address);
      const k = route.address ?? '';
      const group = groups.get(k);
      if (group === undefined) groups.set(k, { route, indices });
      else {
        route.release();
        group.indices.push(...indices);
      }
    }
    return [...groups.values()];
  }

  /** Notes that a call on `route` failed; call after `route.release()`. */
  noteFailure(tableId: string, route: Route<C>, error: TabulaError): void {
    if (route.address === undefined || error.code !== ErrorCode.Unavailable) return;
    this.cache.invalidate(tableId);
    this.owners.drop(route.address);
  }

  /** Forgets a table's locations (after it was created or deleted through this client). */
  forget(tableId: string): void {
    this.cache.invalidate(tableId);
  }

  /** Closes the owner channels. */
  close(): void {
    this.owners.close();
  }
}
