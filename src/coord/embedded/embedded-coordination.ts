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
 * Concurrency: changes (put, delete, lock grants) run one at a time in call order through a queue
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
import { COORD_KEYS_MAX, COORD_PENDING_MUTATIONS_MAX, COORD_STATE_BYTES_MAX } from '../../common/limits.js';
import { RealVfs } from '../../storage/real-vfs.js';
import { StoreLock } from '../../storage/store-lock.js';
import type { Vfs } from '../../storage/vfs.js';
import type {
  Coordination,
  CoordinationEntry,
  DeleteOptions,
  Lease,
  PutOptions,
  Unsubscribe,
  VersionedValue,
  WatchListener,
} from '../coordination.js';
import {
  checkExpectedVersion,
  checkKey,
  checkLockRequest,
  checkPrefix,
  checkValue,
  compareKeys,
} from '../coordination-input.js';
import {
  type CoordinationState,
  emptyCoordinationState,
  encodeCoordinationState,
  entryDataBytes,
  type StoredValue,
} from './coordination-state.js';
import { LockTable } from './lock-table.js';
import { installTempStateFile, readStateFile, writeTempStateFile } from './state-file.js';
import { WatcherSet } from './watcher-set.js';

/** Options of `EmbeddedCoordination.open`. */
export interface EmbeddedCoordinationOptions {
  /** Directory holding the state file; created if absent. */
  dir: string;
  /** File system. Default the real one. */
  vfs?: Vfs;
  /** Time source of lease expiry. Default `systemClock`. */
  clock?: Clock;
}

/** A change's effect on one key, for watchers. */
interface KeyChange {
  readonly key: string;
  readonly value: Buffer | undefined;
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

  private constructor(
    private readonly vfs: Vfs,
    /** The directory holding the state file. */
    readonly dir: string,
    private readonly storeLock: StoreLock,
    /** The last durable state; replaced (never mutated) by each change. */
    private state: CoordinationState,
    clock: Clock,
  ) {
    this.locks = new LockTable(clock);
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
      return new EmbeddedCoordination(vfs, options.dir, storeLock, state, options.clock ?? systemClock);
    } catch (err) {
      await storeLock.release();
      throw err;
    }
  }

  async get(key: string): Promise<VersionedValue | undefined> {
    this.checkUsable();
    checkKey(key);
    const entry = this.state.entries.get(key);
    return entry && { value: Buffer.from(entry.value), version: entry.version };
  }

  async list(prefix: string): Promise<CoordinationEntry[]> {
    this.checkUsable();
    checkPrefix(prefix);
    const out: CoordinationEntry[] = [];
    for (const [key, entry] of this.state.entries) {
      if (key.startsWith(prefix)) out.push({ key, value: Buffer.from(entry.value), version: entry.version });
    }
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<number> {
    checkKey(key);
    checkValue(key, value);
    checkExpectedVersion(key, options.expectedVersion);
    const copy = Buffer.from(value);
    return this.enqueue(async () => {
      const current = this.state.entries.get(key);
      checkVersion(key, current, options.expectedVersion);
      const dataBytes =
        this.state.dataBytes - (current ? entryDataBytes(key, current.value) : 0) + entryDataBytes(key, copy);
      if (!current && this.state.entries.size >= COORD_KEYS_MAX) {
        throw errors.resourceExhausted('too many coordination keys', { key, max: COORD_KEYS_MAX });
      }
      if (dataBytes > COORD_STATE_BYTES_MAX) {
        throw errors.resourceExhausted('coordination state is full', {
          key,
          bytes: dataBytes,
          max: COORD_STATE_BYTES_MAX,
        });
      }
      const revision = this.state.revision + 1;
      const entries = new Map(this.state.entries);
      entries.set(key, { value: copy, version: revision });
      await this.commit({ ...this.state, revision, entries, dataBytes }, { key, value: copy });
      return revision;
    });
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<boolean> {
    checkKey(key);
    checkExpectedVersion(key, options.expectedVersion);
    return this.enqueue(async () => {
      const current = this.state.entries.get(key);
      checkVersion(key, current, options.expectedVersion);
      if (!current) return false;
      const entries = new Map(this.state.entries);
      entries.delete(key);
      const dataBytes = this.state.dataBytes - entryDataBytes(key, current.value);
      const revision = this.state.revision + 1;
      await this.commit({ ...this.state, revision, entries, dataBytes }, { key, value: undefined });
      return true;
    });
  }

  watch(prefix: string, listener: WatchListener): Unsubscribe {
    this.checkUsable();
    checkPrefix(prefix);
    if (typeof listener !== 'function') throw errors.invalidArgument('watch listener is not a function');
    return this.watchers.add(prefix, listener);
  }

  async acquireLock(name: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    checkLockRequest(name, owner, ttlMs);
    return this.enqueue(async () => {
      const holder = this.locks.liveOwner(name);
      if (holder !== undefined && holder !== owner) return undefined;
      this.locks.prepareGrant(name);
      const epoch = this.state.lastEpoch + 1;
      await this.commit({ ...this.state, lastEpoch: epoch }, undefined);
      return this.locks.grant(name, owner, epoch, ttlMs);
    });
  }

  close(): Promise<void> {
    this.closePromise ??= (async () => {
      await this.tail;
      this.watchers.clear();
      this.locks.close();
      await this.storeLock.release();
    })();
    return this.closePromise;
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
   * Makes `next` durable, then makes it the current state and tells watchers of `change`. See the
   * file comment for what a failure at each step means.
   */
  private async commit(next: CoordinationState, change: KeyChange | undefined): Promise<void> {
    await writeTempStateFile(this.vfs, this.dir, encodeCoordinationState(next));
    try {
      await installTempStateFile(this.vfs, this.dir);
    } catch (err) {
      this.failStop(err);
      throw err;
    }
    this.state = next;
    if (change) this.watchers.dispatch(change.key, change.value, next.revision);
  }

  private failStop(err: unknown): void {
    this.failure =
      err instanceof TabulaError
        ? err
        : errors.internal('coordination state install failed', { dir: this.dir, reason: String(err) });
    this.watchers.clear();
    this.locks.close();
  }

  /** Throws when the instance is closing or has failed. */
  private checkUsable(): void {
    if (this.closePromise) throw errors.unavailable('coordination is closed', { dir: this.dir });
    if (this.failure) throw this.failure;
  }
}

/** Compare-and-set check: FAILED_PRECONDITION unless `expected` is absent or matches `current`. */
function checkVersion(key: string, current: StoredValue | undefined, expected: number | undefined): void {
  if (expected === undefined) return;
  const actual = current?.version ?? 0;
  if (actual !== expected) {
    throw errors.failedPrecondition('coordination key version does not match', {
      key,
      expectedVersion: expected,
      actualVersion: actual,
    });
  }
}
