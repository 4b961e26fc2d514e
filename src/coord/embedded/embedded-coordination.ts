/**
 * The embedded coordination driver: an in-process, single-node `Coordination` persisted in one
 * directory of a `Vfs` (docs/format/coordination.md). The default of `tabula serve`, where the
 * master and the tablet server run in the same process as it.
 *
 * Persistence: every change writes the whole state (small, bounded by `COORD_STATE_BYTES_MAX`) to
 * `state.tmp`, syncs it, renames it over `state` and syncs the directory (state-file.ts) before it
 * is applied in memory, acknowledged and announced to watchers. The directory is locked against a
 * second opener (StoreLock).
 *
 * Ephemeral keys (put with a session) and the watch history live in memory only (embedded-changes.ts,
 * watch-history.ts); sessions are kept alive in-process and end with their `close()`, with the
 * instance, or when the local clock passes their deadline (session-keeper.ts).
 *
 * Concurrency: changes (put, delete, txn, lock grants, session ends) run one at a time in call order through a queue
 * bounded by `COORD_PENDING_MUTATIONS_MAX`; each one's checks (compare-and-set, limits, lock holder)
 * run when its turn comes, against the state all earlier changes left. Reads answer from the
 * in-memory state at once; it only ever holds durable changes.
 *
 * Failure: if writing `state.tmp` fails, that change is rejected and nothing else happens. If the
 * rename or directory sync fails, whether the change is durable is unknown, so the instance fails
 * stop: that and every later call reject with the error, leases become invalid and watchers are
 * dropped; reopening recovers whichever state won.
 *
 * Invariants: `state.revision` and `state.lastEpoch` never decrease, in memory or on disk; the
 * in-memory state equals the last durable state written by this instance.
 */
import { type Clock, systemClock } from '../../common/clock.js';
import { errors, TabulaError } from '../../common/errors.js';
import { COORD_PENDING_MUTATIONS_MAX, COORD_SESSIONS_MAX } from '../../common/limits.js';
import { RealVfs } from '../../storage/real-vfs.js';
import { StoreLock } from '../../storage/store-lock.js';
import type { Vfs } from '../../storage/vfs.js';
import type {
  Coordination,
  CoordinationEntry,
  DeleteOptions,
  Lease,
  ListResult,
  PutOptions,
  Session,
  SessionOptions,
  TxnOp,
  TxnRequest,
  TxnResult,
  Unsubscribe,
  VersionedValue,
  WatchListener,
  WatchOptions,
} from '../coordination.js';
import {
  checkExpectedVersion,
  checkKey,
  checkLockRequest,
  checkPrefix,
  checkValue,
  compareKeys,
} from '../coordination-input.js';
import { type CoordinationTimers, systemTimers } from '../coordination-timers.js';
import { checkSessionTtl, checkWatchOptions } from '../session-input.js';
import { SessionKeeper } from '../session-keeper.js';
import { checkTxnRequest } from '../txn-input.js';
import {
  type CoordinationState,
  emptyCoordinationState,
  encodeCoordinationState,
} from './coordination-state.js';
import {
  type EmbeddedView,
  type KeyChange,
  lookup,
  planChanges,
  sessionKeyDeletes,
} from './embedded-changes.js';
import { LockTable } from './lock-table.js';
import { installTempStateFile, readStateFile, writeTempStateFile } from './state-file.js';
import { WatchHistory } from './watch-history.js';
import { WatcherSet } from './watcher-set.js';

/** Options of `EmbeddedCoordination.open`. */
export interface EmbeddedCoordinationOptions {
  /** Directory holding the state file; created if absent. */
  dir: string;
  /** File system. Default the real one. */
  vfs?: Vfs;
  /** Time source of lease and session expiry. Default `systemClock`. */
  clock?: Clock;
  /** Timers of session keepalives. Default `systemTimers`. */
  timers?: CoordinationTimers;
}

/** The embedded, persisted, single-node coordination service. */
export class EmbeddedCoordination implements Coordination {
  /** Tail of the change queue; each change starts after the previous one settled. */
  private tail: Promise<void> = Promise.resolve();
  private pendingChanges = 0;
  private closePromise: Promise<void> | undefined;
  private failure: TabulaError | undefined;
  private readonly watchers = new WatcherSet();
  private readonly locks: LockTable;
  private readonly history: WatchHistory;
  /** Open sessions by id. */
  private readonly sessions = new Map<string, SessionKeeper>();
  private sessionsOpened = 0;
  /** The last durable state and the ephemeral keys; replaced (never mutated) by each change. */
  private view: EmbeddedView;

  private constructor(
    private readonly vfs: Vfs,
    /** The directory holding the state file. */
    readonly dir: string,
    private readonly storeLock: StoreLock,
    state: CoordinationState,
    private readonly clock: Clock,
    private readonly timers: CoordinationTimers,
  ) {
    this.locks = new LockTable(clock);
    this.view = { state, ephemeral: new Map() };
    this.history = new WatchHistory(state.revision + 1);
  }

  /**
   * Opens (creating if needed) the store in `options.dir`. DATA_LOSS when the state file is damaged;
   * FAILED_PRECONDITION when the directory is already open.
   */
  static async open(options: EmbeddedCoordinationOptions): Promise<EmbeddedCoordination> {
    if (typeof options.dir !== 'string' || options.dir === '') {
      throw errors.invalidArgument('embedded coordination needs a directory');
    }
    const vfs = options.vfs ?? new RealVfs();
    await vfs.mkdirp(options.dir);
    const storeLock = await StoreLock.acquire(vfs, options.dir);
    try {
      const state = (await readStateFile(vfs, options.dir)) ?? emptyCoordinationState();
      const clock = options.clock ?? systemClock;
      return new EmbeddedCoordination(
        vfs,
        options.dir,
        storeLock,
        state,
        clock,
        options.timers ?? systemTimers,
      );
    } catch (err) {
      await storeLock.release();
      throw err;
    }
  }

  async get(key: string): Promise<VersionedValue | undefined> {
    this.checkUsable();
    checkKey(key);
    const entry = lookup(this.view, key);
    return entry && { value: Buffer.from(entry.value), version: entry.version };
  }

  async list(prefix: string): Promise<CoordinationEntry[]> {
    return (await this.listWithRevision(prefix)).entries;
  }

  async listWithRevision(prefix: string): Promise<ListResult> {
    this.checkUsable();
    checkPrefix(prefix);
    const entries: CoordinationEntry[] = [];
    for (const map of [this.view.state.entries, this.view.ephemeral]) {
      for (const [key, entry] of map) {
        if (key.startsWith(prefix))
          entries.push({ key, value: Buffer.from(entry.value), version: entry.version });
      }
    }
    entries.sort((a, b) => compareKeys(a.key, b.key));
    return { entries, revision: this.view.state.revision };
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<number> {
    checkKey(key);
    checkValue(key, value);
    checkExpectedVersion(key, options.expectedVersion);
    const op: TxnOp = { type: 'put', key, value: Buffer.from(value), session: options.session };
    return this.enqueue(async () => {
      checkVersion(key, lookup(this.view, key)?.version ?? 0, options.expectedVersion);
      return this.apply([op]);
    });
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<boolean> {
    checkKey(key);
    checkExpectedVersion(key, options.expectedVersion);
    return this.enqueue(async () => {
      const current = lookup(this.view, key);
      checkVersion(key, current?.version ?? 0, options.expectedVersion);
      if (!current) return false;
      await this.apply([{ type: 'delete', key }]);
      return true;
    });
  }

  async txn(request: TxnRequest): Promise<TxnResult> {
    checkTxnRequest(request);
    const copy = (ops: readonly TxnOp[]) =>
      ops.map((op): TxnOp => (op.type === 'put' ? { ...op, value: Buffer.from(op.value) } : { ...op }));
    const compares = request.compares.map((c) => ({ key: c.key, version: c.version }));
    const success = copy(request.success);
    const failure = copy(request.failure ?? []);
    return this.enqueue(async () => {
      const succeeded = compares.every((c) => (lookup(this.view, c.key)?.version ?? 0) === c.version);
      const revision = await this.apply(succeeded ? success : failure);
      return { succeeded, revision };
    });
  }

  watch(prefix: string, listener: WatchListener, options: WatchOptions = {}): Unsubscribe {
    this.checkUsable();
    checkPrefix(prefix);
    if (typeof listener !== 'function') throw errors.invalidArgument('watch listener is not a function');
    checkWatchOptions(options);
    const { fromRevision, onBroken } = options;
    if (fromRevision === undefined) return this.watchers.add(prefix, listener, undefined, onBroken);
    const replay = this.history.since(fromRevision);
    if (replay) return this.watchers.add(prefix, listener, replay, onBroken, fromRevision);
    const reason = `revision ${fromRevision} is compacted (oldest kept: ${this.history.oldestRevision})`;
    if (onBroken) queueMicrotask(() => onBroken(reason));
    return () => {};
  }

  async openSession(ttlMs: number, options: SessionOptions = {}): Promise<Session> {
    this.checkUsable();
    checkSessionTtl(ttlMs);
    if (this.sessions.size >= COORD_SESSIONS_MAX) {
      throw errors.resourceExhausted('too many coordination sessions', { max: COORD_SESSIONS_MAX });
    }
    const id = `embedded-${++this.sessionsOpened}`;
    const keeper: SessionKeeper = new SessionKeeper({
      id,
      ttlMs,
      clock: this.clock,
      timers: this.timers,
      grantSentAtMs: this.clock.monotonicMs(),
      transport: {
        keepAlive: async (): Promise<boolean> => this.sessions.get(id) === keeper,
        revoke: () => this.endSessionKeys(id),
      },
      onExpired: options.onExpired,
      onEnded: () => this.sessions.delete(id),
    });
    this.sessions.set(id, keeper);
    return keeper;
  }

  async acquireLock(name: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    checkLockRequest(name, owner, ttlMs);
    return this.enqueue(async () => {
      const holder = this.locks.liveOwner(name);
      if (holder !== undefined && holder !== owner) return undefined;
      this.locks.prepareGrant(name);
      const state = this.view.state;
      const epoch = state.lastEpoch + 1;
      await this.commit({ state: { ...state, lastEpoch: epoch }, ephemeral: this.view.ephemeral }, []);
      return this.locks.grant(name, owner, epoch, ttlMs);
    });
  }

  close(): Promise<void> {
    this.closePromise ??= (async () => {
      await this.tail;
      for (const session of [...this.sessions.values()]) session.abandon();
      this.watchers.clear();
      this.locks.close();
      await this.storeLock.release();
    })();
    return this.closePromise;
  }

  /** Deletes the ephemeral keys of an ended session (nothing once the instance is closing). */
  private async endSessionKeys(sessionId: string): Promise<void> {
    if (this.closePromise || this.failure) return;
    await this.enqueue(async () => {
      await this.apply(sessionKeyDeletes(this.view, sessionId));
    });
  }

  /** Plans and commits `ops` at the next revision; resolves with the revision after them. */
  private async apply(ops: readonly TxnOp[]): Promise<number> {
    const revision = this.view.state.revision + 1;
    const plan = planChanges(this.view, ops, revision, (op) => this.sessionIdOf(op.session));
    if (plan.changes.length === 0) return this.view.state.revision;
    await this.commit(plan, plan.changes);
    return revision;
  }

  /** The id of a valid session of this instance; FAILED_PRECONDITION for any other. */
  private sessionIdOf(session: Session | undefined): string | undefined {
    if (session === undefined) return undefined;
    if (this.sessions.get(session.id) !== session || !session.isValid()) {
      throw errors.failedPrecondition('coordination session is not valid', { session: String(session.id) });
    }
    return session.id;
  }

  /** Runs `change` after every earlier change settled. */
  private enqueue<T>(change: () => Promise<T>): Promise<T> {
    this.checkUsable();
    if (this.pendingChanges >= COORD_PENDING_MUTATIONS_MAX) {
      throw errors.resourceExhausted('too many coordination changes are queued', {
        max: COORD_PENDING_MUTATIONS_MAX,
      });
    }
    this.pendingChanges++;
    const run = this.tail.then(async () => {
      try {
        if (this.failure) throw this.failure;
        return await change();
      } finally {
        this.pendingChanges--;
      }
    });
    this.tail = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /**
   * Makes `next.state` durable, then makes `next` the current view and records and announces
   * `changes`. See the file comment for what a failure at each step means.
   */
  private async commit(next: EmbeddedView, changes: readonly KeyChange[]): Promise<void> {
    await writeTempStateFile(this.vfs, this.dir, encodeCoordinationState(next.state));
    try {
      await installTempStateFile(this.vfs, this.dir);
    } catch (err) {
      this.failStop(err);
      throw err;
    }
    this.view = next;
    const version = next.state.revision;
    for (const change of changes) this.history.record({ ...change, version });
    for (const change of changes) this.watchers.dispatch(change.key, change.value, version);
  }

  private failStop(err: unknown): void {
    this.failure =
      err instanceof TabulaError
        ? err
        : errors.internal('coordination state install failed', { dir: this.dir, reason: String(err) });
    for (const session of [...this.sessions.values()]) session.abandon();
    this.watchers.breakAll(`coordination failed: ${this.failure.message}`);
    this.locks.close();
  }

  /** Throws when the instance is closing or has failed. */
  private checkUsable(): void {
    if (this.closePromise) throw errors.unavailable('coordination is closed', { dir: this.dir });
    if (this.failure) throw this.failure;
  }
}

/** Compare-and-set check: FAILED_PRECONDITION unless `expected` is absent or equals `actual`. */
function checkVersion(key: string, actual: number, expected: number | undefined): void {
  if (expected === undefined || actual === expected) return;
  throw errors.failedPrecondition('coordination key version does not match', {
    key,
    expectedVersion: expected,
    actualVersion: actual,
  });
}
