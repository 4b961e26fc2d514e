/**
 * The coordination service ("Chubby", ARCHITECTURE.md): small versioned keys, prefix watches and
 * leased locks with fencing epochs, behind one interface, plus the registry through which drivers
 * (`embedded`, later `etcd`) plug in by URL scheme. The core names no driver: a driver module
 * registers itself when imported (`src/coord/embedded/embedded-driver.ts`).
 *
 * Concurrency: every method may be called concurrently. A driver applies changes one at a time in
 * a single commit order; each change is durable before its promise resolves and before any watcher
 * hears of it. The registry is process-wide and filled at module load.
 *
 * Invariants every driver keeps (test/coord/coordination-contract.ts asserts them for every driver):
 * - A key's version is the store-wide revision of its last change: every change (a put, a delete,
 *   or a whole `txn`) takes a revision larger than all before it, shared by all keys it touches,
 *   and a revision is never reused, even after a delete and re-create. So versions are never 0 and
 *   a compare-and-set can never be fooled by a delete/re-create (ABA).
 * - Watch events reach each listener in commit order (non-decreasing `version`; events of one txn
 *   share its revision), with no gap and no duplicate, including across a `fromRevision` resume.
 * - A lock has at most one valid lease at a time; each grant of a lock has a fencing `epoch`
 *   larger than every epoch granted before it for that lock, across restarts.
 * - Local-clock leases: a `Session` (and a lock `Lease`) is valid only until
 *   (send time of its last answered keepalive) + ttl − safety margin, measured on the caller's
 *   monotonic clock, never by waiting for the server to say it is gone. The server counts its TTL
 *   from when the keepalive arrived, which is later, so the holder stops trusting its session no
 *   later than the server drops it. Once invalid, a session never becomes valid again.
 */
import type { Clock } from '../common/clock.js';
import { errors } from '../common/errors.js';
import type { Vfs } from '../storage/vfs.js';
import type { CoordinationTimers } from './coordination-timers.js';

/** The current value of a key and the revision that wrote it. */
export interface VersionedValue {
  /** The value (a copy: the caller may keep or modify it). */
  readonly value: Buffer;
  /** Revision of the key's last change; always ≥ 1. */
  readonly version: number;
}

/** One key of a `list` answer. */
export interface CoordinationEntry extends VersionedValue {
  /** The key. */
  readonly key: string;
}

/** Options of `Coordination.put`. */
export interface PutOptions {
  /**
   * Compare-and-set: write only if the key's current version equals this; `0` means the key must
   * not exist. A mismatch fails with FAILED_PRECONDITION and changes nothing.
   */
  expectedVersion?: number;
  /**
   * Makes the key ephemeral: it is deleted (with a watch event) when `session` expires or closes.
   * The session must come from the same coordination instance and be valid, else
   * FAILED_PRECONDITION. A later put without a session makes the key permanent again.
   */
  session?: Session;
}

/** Options of `Coordination.delete`. */
export interface DeleteOptions {
  /**
   * Compare-and-delete: delete only if the key's current version equals this (`0`: the key must be
   * absent, which makes the delete a checked no-op). A mismatch fails with FAILED_PRECONDITION.
   */
  expectedVersion?: number;
}

/** A change seen by a watcher. */
export interface WatchEvent {
  /** The changed key. */
  readonly key: string;
  /** The new value (a copy), or `undefined` when the key was deleted. */
  readonly value: Buffer | undefined;
  /** Revision of this change: for a put the key's new version, for a delete the delete's revision. */
  readonly version: number;
}

/** Options of `Coordination.watch`. */
export interface WatchOptions {
  /**
   * Deliver every change with revision ≥ this first (from the store's history), then live ones,
   * in commit order with no gap. `listWithRevision` at revision R then a watch from R + 1 follows a
   * prefix with no gap and no duplicate. A revision older than the history kept (compacted) calls
   * `onBroken` instead. Without it, the watch starts when the driver registers it.
   */
  fromRevision?: number;
  /**
   * Called once when the watch ends without being unsubscribed: its start revision was compacted,
   * or the connection to the service was lost and the watch could not resume, or the instance
   * failed. No event is delivered after it. The caller re-lists and watches again.
   */
  onBroken?: (reason: string) => void;
}

/** A `list` answer together with the store revision it was read at. */
export interface ListResult {
  /** Keys with the prefix, ascending by UTF-8 bytes. */
  readonly entries: CoordinationEntry[];
  /** Store-wide revision of the snapshot: every change up to it is reflected, none after. */
  readonly revision: number;
}

/** One compare of a `txn`: the key's current version must equal `version` (0: the key is absent). */
export interface TxnCompare {
  readonly key: string;
  readonly version: number;
}

/** One write of a `txn`. A txn may not touch the same key twice (INVALID_ARGUMENT). */
export type TxnOp =
  | { readonly type: 'put'; readonly key: string; readonly value: Uint8Array; readonly session?: Session }
  | { readonly type: 'delete'; readonly key: string };

/** A multi-key transaction: if every compare holds, apply `success`, else `failure`, atomically. */
export interface TxnRequest {
  readonly compares: readonly TxnCompare[];
  readonly success: readonly TxnOp[];
  readonly failure?: readonly TxnOp[];
}

/** Outcome of a `txn`. */
export interface TxnResult {
  /** Whether every compare held (and `success` was applied). */
  readonly succeeded: boolean;
  /** Store revision after the txn: its own if it changed anything, else the revision it read at. */
  readonly revision: number;
}

/**
 * A liveness session: ephemeral keys put with it live as long as it does. The driver keeps it
 * alive in the background (a keepalive every ttl × `COORD_SESSION_KEEPALIVE_FRACTION`); if the
 * keepalives fail past its local deadline it is invalid for good and `onExpired` fires.
 */
export interface Session {
  /** Driver-chosen identifier (for logs and for keys naming their owner). */
  readonly id: string;
  /** The time to live each answered keepalive grants. */
  readonly ttlMs: number;
  /**
   * Whether the session is still alive by the local monotonic clock: true only before (send time of
   * the last answered keepalive) + ttl − `COORD_SESSION_SAFETY_MARGIN_FRACTION` × ttl, and not closed.
   */
  isValid(): boolean;
  /** How long the session stays valid from now if no keepalive is answered meanwhile; 0 once invalid. */
  remainingMs(): number;
  /** Ends the session: its ephemeral keys are deleted. Idempotent. */
  close(): Promise<void>;
}

/** Options of `Coordination.openSession`. */
export interface SessionOptions {
  /** Called once when the session becomes invalid without `close()` (never called for a close). */
  onExpired?: () => void;
}

/** Receives watch events; it must not throw (an error it throws is rethrown as an uncaught exception). */
export type WatchListener = (event: WatchEvent) => void;

/** Stops a watch; calling it again does nothing. */
export type Unsubscribe = () => void;

/**
 * A held lock. Valid from its grant until it is released, expires (its TTL passes without a
 * renewal), is superseded, or the coordination instance closes. Once invalid it never becomes valid
 * again: the holder must acquire the lock anew, and gets a new, larger epoch.
 */
export interface Lease {
  /** The lock's name. */
  readonly name: string;
  /** Who asked for it (informational: a lease, not an owner, holds the lock). */
  readonly owner: string;
  /**
   * The fencing token: larger than every epoch granted before for this lock, across restarts.
   * Every commit point guarded by this lock must carry and check it.
   */
  readonly epoch: number;
  /** Time to live granted by each renewal. */
  readonly ttlMs: number;
  /** Whether the lease still holds the lock now (by the coordination instance's clock). */
  isValid(): boolean;
  /** Extends the lease by `ttlMs` from now; `false` (and no change) if it is no longer valid. */
  renew(): Promise<boolean>;
  /** Gives the lock up, so another owner can take it at once. Idempotent. */
  release(): Promise<void>;
}

/** A coordination service client. Every method rejects with UNAVAILABLE once `close()` has begun. */
export interface Coordination {
  /** The value and version of `key`, or `undefined` if it does not exist. */
  get(key: string): Promise<VersionedValue | undefined>;
  /**
   * Sets `key` to `value`; resolves with the new version once the change is durable. Input over a
   * documented limit is INVALID_ARGUMENT (key length, value size) or RESOURCE_EXHAUSTED (key count,
   * total bytes); a failed compare-and-set is FAILED_PRECONDITION.
   */
  put(key: string, value: Uint8Array, options?: PutOptions): Promise<number>;
  /**
   * Deletes `key`; resolves once the delete is durable with whether the key existed. Deleting an
   * absent key changes nothing and emits no event.
   */
  delete(key: string, options?: DeleteOptions): Promise<boolean>;
  /** Every key starting with `prefix` (all keys for `''`), ascending by UTF-8 bytes, as one snapshot. */
  list(prefix: string): Promise<CoordinationEntry[]>;
  /** Like `list`, with the store revision the snapshot was read at (to watch from revision + 1). */
  listWithRevision(prefix: string): Promise<ListResult>;
  /**
   * Calls `listener` for every durable change to a key starting with `prefix`, in commit order:
   * with `fromRevision`, every change from that revision on (see `WatchOptions`), else every
   * change after the watch is registered. To follow a prefix without gaps, `listWithRevision` then
   * watch from its revision + 1. RESOURCE_EXHAUSTED beyond `COORD_WATCHERS_MAX` watchers.
   */
  watch(prefix: string, listener: WatchListener, options?: WatchOptions): Unsubscribe;
  /**
   * Applies a multi-key transaction atomically at one revision. Compares check versions only; a
   * failed compare is not an error (`succeeded: false`). Limits as for `put`.
   */
  txn(request: TxnRequest): Promise<TxnResult>;
  /** Opens a session with time to live `ttlMs` (at most `COORD_LEASE_TTL_MS_MAX`). */
  openSession(ttlMs: number, options?: SessionOptions): Promise<Session>;
  /**
   * Takes lock `name` for `owner` for `ttlMs` and resolves with the lease once its epoch is
   * durable, or `undefined` if another owner holds a valid lease on it. A lock whose lease expired
   * or was released is free. When `owner` itself holds a valid lease, the lock is re-granted with a
   * new epoch and that older lease stops being valid (a restarted owner reclaims its lock at once).
   */
  acquireLock(name: string, owner: string, ttlMs: number): Promise<Lease | undefined>;
  /** Waits for changes in flight, invalidates every lease and watch, and releases resources. */
  close(): Promise<void>;
}

/** Options a driver may use when opening; each driver documents which it reads. */
export interface CoordinationOptions {
  /** Time source of lease expiry. Default `systemClock`. */
  clock?: Clock;
  /** File system of drivers that persist locally (`embedded`). Default the real file system. */
  vfs?: Vfs;
  /** Timers of session keepalives and deadlines. Default `systemTimers`. */
  timers?: CoordinationTimers;
}

/**
 * Opens a coordination instance of one driver. `target` is the URL after `scheme:` (for
 * `embedded:/var/tabula/coord`, `/var/tabula/coord`).
 */
export type CoordinationDriverFactory = (
  target: string,
  options: CoordinationOptions,
) => Promise<Coordination>;

/** A URL scheme: a letter, then letters, digits, `+`, `-` or `.` (RFC 3986), lowercase here. */
const SCHEME_PATTERN = /^[a-z][a-z0-9+.-]*$/;

/** Registered drivers by scheme; filled when driver modules load. */
const drivers = new Map<string, CoordinationDriverFactory>();

/**
 * Makes `openCoordination` open URLs of `scheme` with `factory`. INVALID_ARGUMENT for a malformed
 * scheme, ALREADY_EXISTS when the scheme is taken.
 */
export function registerCoordinationDriver(scheme: string, factory: CoordinationDriverFactory): void {
  if (!SCHEME_PATTERN.test(scheme)) {
    throw errors.invalidArgument('coordination driver scheme is malformed', { scheme });
  }
  if (drivers.has(scheme)) {
    throw errors.alreadyExists('coordination driver is already registered', { scheme });
  }
  drivers.set(scheme, factory);
}

/** Schemes of the registered drivers, sorted. */
export function coordinationDriverSchemes(): string[] {
  return [...drivers.keys()].sort();
}

/**
 * Opens the coordination service named by `url` (`scheme:target`, e.g. `embedded:./tabula-data/coord`)
 * through its registered driver. INVALID_ARGUMENT for a URL without a scheme or with an unknown one
 * (the driver's module may not have been imported).
 */
export async function openCoordination(
  url: string,
  options: CoordinationOptions = {},
): Promise<Coordination> {
  const colon = url.indexOf(':');
  const scheme = colon < 0 ? '' : url.slice(0, colon);
  if (!SCHEME_PATTERN.test(scheme)) {
    throw errors.invalidArgument('coordination url has no scheme', { url });
  }
  const factory = drivers.get(scheme);
  if (!factory) {
    throw errors.invalidArgument('unknown coordination driver', {
      scheme,
      known: coordinationDriverSchemes().join(','),
    });
  }
  return factory(url.slice(colon + 1), options);
}
