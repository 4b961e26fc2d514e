/**
 * The coordination keys of a cluster and their values (JSON, PERSISTED: bump `CLUSTER_KEY_VERSION`
 * on any change). Everything the processes of a cluster tell each other goes through these keys;
 * docs/cluster.md draws them.
 *
 * - `cluster/servers/<server id>` (ephemeral, the tablet server's session): `ServerInfo`, where its
 *   data API listens for clients and for calls forwarded by other servers.
 * - `cluster/master` (ephemeral, the master's session): `MasterInfo`, where the admin API listens.
 *   The master lock itself is the coordination lock `CLUSTER_MASTER_LOCK`.
 * - `cluster/tables/<table id>`: `TableRecord` (schema and directory), written by the master.
 * - `cluster/assign/<table id>/<tablet dir>`: `Assignment`, the tablet's record, its server and the
 *   owner epoch it is served under; written by the master only, one txn per change.
 * - `cluster/loaded/<table id>/<tablet dir>` (ephemeral, the server's session): `LoadedTablet`, a
 *   server saying it serves the tablet under an epoch (the master waits on it in CreateTable), or,
 *   with `released`, that it has let go of it for a planned move (flushed and closed).
 * - `cluster-stats/<server id>` (ephemeral, the server's session): `ServerStats`, the size, request
 *   rate and write rate of each tablet a server holds, rewritten every
 *   CLUSTER_STATS_PUBLISH_INTERVAL_MS (src/cluster/tablet-stats-publisher.ts), for the master's
 *   balancer and the consoles. It lies outside `cluster/` on purpose: the cluster views watch
 *   `cluster/`, and must not be woken by every report.
 * - `cluster/move/<table id>/<tablet dir>`: `MoveRequest`, an operator's (or a test's) request to
 *   move a tablet to a server; the master deletes it when it starts the move (or finds it void).
 *
 * A planned move (docs/cluster.md): the master sets `moveTo` on the assignment (same server and
 * epoch); the owner stops admitting writes, flushes, closes the tablet and reports `released`; the
 * master then assigns the tablet to `moveTo` under a larger owner epoch.
 *
 * Invariant: for one tablet, each new assignment has an owner epoch larger than every earlier one
 * (the master takes it as the store revision it read the old one at, plus one, and writes under a
 * compare on that version).
 */
import { errors } from '../common/errors.js';
import {
  type TableRecord,
  type TableRecordFields,
  type TabletRecord,
  tableRecordFields,
  tableRecordOf,
} from '../tablet/catalog.js';

/**
 * Version of every value below. PERSISTED. 2 added `moveTo`, `released`, the stats and move keys;
 * values of version 1 (which lack them) are still read.
 */
export const CLUSTER_KEY_VERSION = 2;
/** Oldest version of a value this build reads. */
const CLUSTER_KEY_VERSION_READ_MIN = 1;
/** Prefix of every key of the cluster. */
export const CLUSTER_PREFIX = 'cluster/';
export const SERVERS_PREFIX = 'cluster/servers/';
export const TABLES_PREFIX = 'cluster/tables/';
export const ASSIGN_PREFIX = 'cluster/assign/';
export const LOADED_PREFIX = 'cluster/loaded/';
export const MOVE_PREFIX = 'cluster/move/';
export const MASTER_KEY = 'cluster/master';
/** Prefix of the tablet servers' statistics reports (outside CLUSTER_PREFIX: see above). */
export const STATS_PREFIX = 'cluster-stats/';
/** Name of the coordination lock the active master holds. */
export const CLUSTER_MASTER_LOCK = 'cluster/master-lock';

/** A live tablet server. */
export interface ServerInfo {
  readonly id: string;
  /** host:port of its public API (clients). */
  readonly address: string;
  /** host:port of its owner-only data API (calls forwarded by other servers). */
  readonly peerAddress: string;
}

/** The active master. */
export interface MasterInfo {
  readonly address: string;
  readonly epoch: number;
}

/** Where a tablet is served. */
export interface Assignment {
  readonly tablet: TabletRecord;
  readonly server: string;
  readonly ownerEpoch: number;
  /** Set while a planned move to this server is under way (`server` still owns the tablet). */
  readonly moveTo?: string;
}

/** A server's report that it serves a tablet. */
export interface LoadedTablet {
  readonly server: string;
  readonly ownerEpoch: number;
  /** The server has flushed and closed the tablet for a planned move: it serves it no more. */
  readonly released?: boolean;
}

/** One tablet's load as its server last measured it. */
export interface TabletStatsReport {
  readonly tableId: string;
  readonly tabletDir: string;
  /** Approximate bytes of its memtables and SSTables. */
  readonly dataBytes: number;
  /** Row operations per second served from it (reads and writes) over the last report interval. */
  readonly requestsPerSecond: number;
  /** Writes per second (its sequence numbers' advance) over the last report interval. */
  readonly writesPerSecond: number;
}

/** A tablet server's statistics report. */
export interface ServerStats {
  readonly server: string;
  /** When it was taken, in ms since the epoch (the server's clock). */
  readonly timeMs: number;
  /** Successful calls per second naming a table, over the last report interval. */
  readonly callsPerSecond: number;
  readonly tablets: readonly TabletStatsReport[];
}

/** A request to move a tablet to server `to`. */
export interface MoveRequest {
  readonly to: string;
}

export function serverKey(id: string): string {
  return SERVERS_PREFIX + id;
}

export function tableKey(tableId: string): string {
  return TABLES_PREFIX + tableId;
}

export function assignKey(t: { tableId: string; tabletDir: string }): string {
  return `${ASSIGN_PREFIX}${t.tableId}/${t.tabletDir}`;
}

export function loadedKey(t: { tableId: string; tabletDir: string }): string {
  return `${LOADED_PREFIX}${t.tableId}/${t.tabletDir}`;
}

export function statsKey(serverId: string): string {
  return STATS_PREFIX + serverId;
}

export function moveKey(t: { tableId: string; tabletDir: string }): string {
  return `${MOVE_PREFIX}${t.tableId}/${t.tabletDir}`;
}

/** `{ tableId, tabletDir }` of an assign/ or loaded/ key after its prefix. */
export function tabletOfKey(rest: string): { tableId: string; tabletDir: string } {
  const slash = rest.indexOf('/');
  return { tableId: rest.slice(0, slash), tabletDir: rest.slice(slash + 1) };
}

/** JSON of `value` with the version, as bytes. */
export function encodeValue(value: object): Buffer {
  return Buffer.from(JSON.stringify({ version: CLUSTER_KEY_VERSION, ...value }), 'utf8');
}

/** The object of a value written by `encodeValue`; DATA_LOSS when it is not one. */
export function decodeValue<T>(key: string, bytes: Buffer): T {
  let parsed: { version?: unknown };
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as { version?: unknown };
  } catch {
    throw errors.dataLoss('cluster key holds no valid JSON', { key });
  }
  const v = parsed.version;
  if (typeof v !== 'number' || v < CLUSTER_KEY_VERSION_READ_MIN || v > CLUSTER_KEY_VERSION) {
    throw errors.failedPrecondition('cluster key has a version this build does not read', {
      key,
      version: String(parsed.version),
    });
  }
  return parsed as T;
}

const b64 = (b: Buffer | undefined) => (b === undefined ? null : b.toString('base64'));
const unb64 = (s: string | null) => (s === null ? undefined : Buffer.from(s, 'base64'));

/** A table record as a cluster value (the catalog's persisted fields). */
export function encodeTableRecord(r: TableRecord): Buffer {
  return encodeValue(tableRecordFields(r));
}

/** The table record of a cluster value written by `encodeTableRecord`. */
export function decodeTableRecord(key: string, bytes: Buffer): TableRecord {
  return tableRecordOf(decodeValue<TableRecordFields>(key, bytes));
}

/** An assignment as a cluster value. */
export function encodeAssignment(a: Assignment): Buffer {
  const t = a.tablet;
  return encodeValue({
    server: a.server,
    ownerEpoch: a.ownerEpoch,
    ...(a.moveTo !== undefined ? { moveTo: a.moveTo } : {}),
    tablet: {
      tableId: t.tableId,
      tabletDir: t.tabletDir,
      startRow: b64(t.startRow),
      endRow: b64(t.endRow),
      timestampFloorMicros: t.timestampFloorMicros,
      sources: [...t.sources],
    },
  });
}

export function decodeAssignment(key: string, bytes: Buffer): Assignment {
  const s = decodeValue<{
    server: string;
    ownerEpoch: number;
    moveTo?: string;
    tablet: {
      tableId: string;
      tabletDir: string;
      startRow: string | null;
      endRow: string | null;
      timestampFloorMicros: number;
      sources: string[];
    };
  }>(key, bytes);
  const t = s.tablet;
  return {
    server: s.server,
    ownerEpoch: s.ownerEpoch,
    ...(typeof s.moveTo === 'string' ? { moveTo: s.moveTo } : {}),
    tablet: {
      tableId: t.tableId,
      tabletDir: t.tabletDir,
      startRow: unb64(t.startRow),
      endRow: unb64(t.endRow),
      timestampFloorMicros: t.timestampFloorMicros,
      sources: t.sources,
    },
  };
}
