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
import { findTablet, type LocationFetch, type TabletLocationCache } from './tablet-location-cache.js';

/** Where one call (or one MutateRows group) goes. */
export interface Route {
  readonly channel: GrpcChannel;
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

/** Routes row operations (see the file comment). */
export class TabletRouter {
  private readonly owners: OwnerChannels<GrpcChannel>;

  constructor(
    private readonly entry: GrpcChannel,
    private readonly entryAddress: string,
    private readonly cache: TabletLocationCache,
    openChannel: (address: string) => GrpcChannel,
  ) {
    this.owners = new OwnerChannels(openChannel);
  }

  /** The entry server's route. */
  entryRoute(): Route {
    return { channel: this.entry, address: undefined, release: () => {} };
  }

  /** The route to `location`'s owner, or the entry's when it has none or no channel is free. */
  private routeTo(location: TabletLocation | undefined): Route {
    const address = location?.address;
    return address === undefined || address === this.entryAddress
      ? this.entryRoute()
      : this.routeGroup(address);
  }

  /** The route of one row of `tableId`. */
  async routeRow(tableId: string, rowKey: Buffer): Promise<Route> {
    if (!this.cache.enabled) return this.entryRoute();
    return this.routeTo(findTablet(await this.cache.locations(tableId), rowKey));
  }

  /** The route of a read of `rows`: its tablet's owner if it stays in one tablet, else the entry. */
  async routeRead(tableId: string, rows: RowSet | undefined): Promise<Route> {
    if (!this.cache.enabled) return this.entryRoute();
    const t = findTablet(await this.cache.locations(tableId), rowSetStart(rows));
    return t !== undefined && rowSetWithin(rows, t) ? this.routeTo(t) : this.entryRoute();
  }

  /**
   * The indices of `rowKeys` grouped by owner address ('' for the entry server), in first-seen
   * order; one group holding everything when routing is off.
   */
  async groupRows(tableId: string, rowKeys: readonly Buffer[]): Promise<Map<string, number[]>> {
    const groups = new Map<string, number[]>();
    const tablets = this.cache.enabled ? await this.cache.locations(tableId) : [];
    rowKeys.forEach((key, i) => {
      const owner = findTablet(tablets, key)?.address ?? '';
      const address = owner === this.entryAddress ? '' : owner;
      const group = groups.get(address);
      if (group) group.push(i);
      else groups.set(address, [i]);
    });
    return groups;
  }

  /** The route of a group from `groupRows`. */
  routeGroup(address: string): Route {
    if (address === '') return this.entryRoute();
    const lease = this.owners.acquire(address);
    return lease === undefined
      ? this.entryRoute()
      : { channel: lease.channel, address, release: lease.release };
  }

  /** Notes that a call on `route` failed; call after `route.release()`. */
  noteFailure(tableId: string, route: Route, error: TabulaError): void {
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
