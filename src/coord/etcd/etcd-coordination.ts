/**
 * The etcd coordination driver: `Coordination` on an etcd 3.4+ cluster (etcd in Chubby's role),
 * through the thin gRPC client in etcd-client.ts. Key layout and version mapping in etcd-keys.ts:
 * a key's version is its etcd `mod_revision`, which is the store-wide revision of its last change,
 * so the contract's "versions are revisions, never reused" holds as etcd guarantees it.
 *
 * - Compare-and-set and txn: etcd Txn with `mod_revision` compares (0 matches an absent key).
 * - Sessions: an etcd lease per session, kept alive by SessionKeeper with the local-clock deadline;
 *   keys put with a session carry its lease and vanish with it.
 * - Watches: one Watch stream each, resumed from the next revision after a lost stream
 *   (etcd-watch.ts). Locks: etcd-locks.ts.
 *
 * Concurrency: every method may be called concurrently; etcd orders the changes. Failure: a call
 * that cannot reach a quorum is UNAVAILABLE (it may have been applied); a failed compare of `put`
 * or `delete` is FAILED_PRECONDITION; nothing is ever UNKNOWN.
 */
import type { Clock } from '../../common/clock.js';
import { systemClock } from '../../common/clock.js';
import { ErrorCode, errors, hasCode } from '../../common/errors.js';
import {
  COORD_KEYS_MAX,
  COORD_LOCKS_MAX,
  COORD_SESSIONS_MAX,
  COORD_WATCHERS_MAX,
} from '../../common/limits.js';
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
} from '../coordination-input.js';
import { type CoordinationTimers, systemTimers } from '../coordination-timers.js';
import { checkSessionTtl, checkWatchOptions } from '../session-input.js';
import { SessionKeeper } from '../session-keeper.js';
import { checkTxnRequest } from '../txn-input.js';
import { EtcdClient, type EtcdHeader, type EtcdKeyValue } from './etcd-client.js';
import { EtcdKeySpace, leaseSecondsOf, revisionOf } from './etcd-keys.js';
import { acquireEtcdLock, type EtcdLease } from './etcd-locks.js';
import type { EtcdTarget } from './etcd-url.js';
import { EtcdWatch } from './etcd-watch.js';

interface RangeResponse {
  readonly header: EtcdHeader;
  readonly kvs: EtcdKeyValue[];
  readonly more: boolean;
}

interface TxnResponse {
  readonly header: EtcdHeader;
  readonly succeeded: boolean;
  readonly responses: readonly {
    response_range?: RangeResponse;
    response_delete_range?: { deleted: string };
  }[];
}

/** `Coordination` on etcd. */
export class EtcdCoordination implements Coordination {
  private readonly client: EtcdClient;
  private readonly keys: EtcdKeySpace;
  private readonly sessions = new Map<string, SessionKeeper>();
  private readonly watches = new Set<EtcdWatch>();
  /** The latest lease granted through this instance, by lock name. */
  private readonly leases = new Map<string, EtcdLease>();
  private closePromise: Promise<void> | undefined;

  constructor(
    /** The parsed URL. */
    readonly target: EtcdTarget,
    private readonly clock: Clock = systemClock,
    private readonly timers: CoordinationTimers = systemTimers,
  ) {
    this.client = new EtcdClient(target.grpcTarget);
    this.keys = new EtcdKeySpace(target.keyPrefix);
  }

  async get(key: string): Promise<VersionedValue | undefined> {
    this.checkUsable();
    checkKey(key);
    const answer = await this.client.kvCall<RangeResponse>('Range', { key: this.keys.kvKey(key) });
    const kv = answer.kvs[0];
    return kv && { value: Buffer.from(kv.value), version: revisionOf(kv.mod_revision) };
  }

  async list(prefix: string): Promise<CoordinationEntry[]> {
    return (await this.listWithRevision(prefix)).entries;
  }

  async listWithRevision(prefix: string): Promise<ListResult> {
    this.checkUsable();
    checkPrefix(prefix);
    const answer = await this.client.kvCall<RangeResponse>('Range', {
      ...this.keys.kvRange(prefix),
      limit: String(COORD_KEYS_MAX),
    });
    if (answer.more) {
      throw errors.resourceExhausted('too many coordination keys to list', { prefix, max: COORD_KEYS_MAX });
    }
    const entries = answer.kvs.map((kv) => ({
      key: this.keys.keyOf(kv.key),
      value: Buffer.from(kv.value),
      version: revisionOf(kv.mod_revision),
    }));
    return { entries, revision: revisionOf(answer.header.revision) };
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<number> {
    this.checkUsable();
    checkKey(key);
    checkValue(key, value);
    checkExpectedVersion(key, options.expectedVersion);
    const op = this.requestOp({ type: 'put', key, value, session: options.session });
    const answer = await this.guarded(key, options.expectedVersion, op);
    return revisionOf(answer.header.revision);
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<boolean> {
    this.checkUsable();
    checkKey(key);
    checkExpectedVersion(key, options.expectedVersion);
    const answer = await this.guarded(key, options.expectedVersion, this.requestOp({ type: 'delete', key }));
    return revisionOf(answer.responses[0]?.response_delete_range?.deleted) > 0;
  }

  async txn(request: TxnRequest): Promise<TxnResult> {
    this.checkUsable();
    checkTxnRequest(request);
    const answer = await this.sessionTxn({
      compare: request.compares.map((c) => this.compareVersion(c.key, c.version)),
      success: request.success.map((op) => this.requestOp(op)),
      failure: (request.failure ?? []).map((op) => this.requestOp(op)),
    });
    return { succeeded: answer.succeeded, revision: revisionOf(answer.header.revision) };
  }

  watch(prefix: string, listener: WatchListener, options: WatchOptions = {}): Unsubscribe {
    this.checkUsable();
    checkPrefix(prefix);
    if (typeof listener !== 'function') throw errors.invalidArgument('watch listener is not a function');
    checkWatchOptions(options);
    if (this.watches.size >= COORD_WATCHERS_MAX) {
      throw errors.resourceExhausted('too many coordination watchers', { max: COORD_WATCHERS_MAX });
    }
    const watch = new EtcdWatch({
      client: this.client,
      keys: this.keys,
      prefix,
      listener,
      fromRevision: options.fromRevision,
      onBroken: options.onBroken,
      clock: this.clock,
      timers: this.timers,
      onEnded: (ended) => this.watches.delete(ended),
    });
    this.watches.add(watch);
    return () => watch.stop();
  }

  async openSession(ttlMs: number, options: SessionOptions = {}): Promise<Session> {
    this.checkUsable();
    checkSessionTtl(ttlMs);
    if (this.sessions.size >= COORD_SESSIONS_MAX) {
      throw errors.resourceExhausted('too many coordination sessions', { max: COORD_SESSIONS_MAX });
    }
    const grantSentAtMs = this.clock.monotonicMs();
    const grant = await this.client.leaseCall<{ ID: string }>('LeaseGrant', { TTL: leaseSecondsOf(ttlMs) });
    const id = grant.ID;
    const keeper = new SessionKeeper({
      id,
      ttlMs,
      clock: this.clock,
      timers: this.timers,
      grantSentAtMs,
      transport: {
        keepAlive: async (timeoutMs) => (await this.client.keepAliveOnce(id, timeoutMs)) > 0,
        revoke: () => this.revokeLease(id),
      },
      onExpired: options.onExpired,
      onEnded: () => this.sessions.delete(id),
    });
    this.sessions.set(id, keeper);
    return keeper;
  }

  async acquireLock(name: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    this.checkUsable();
    checkLockRequest(name, owner, ttlMs);
    const lease = await acquireEtcdLock(this.client, this.keys, this.clock, { name, owner, ttlMs });
    if (!lease) return undefined;
    this.leases.get(name)?.supersede();
    if (this.leases.size >= COORD_LOCKS_MAX) {
      for (const [held, old] of this.leases) if (!old.isValid()) this.leases.delete(held);
    }
    this.leases.set(name, lease);
    return lease;
  }

  close(): Promise<void> {
    this.closePromise ??= (async () => {
      for (const watch of [...this.watches]) watch.stop();
      for (const lease of this.leases.values()) lease.supersede();
      this.leases.clear();
      // Closing revokes each session's lease, so its ephemeral keys go now rather than at expiry.
      await Promise.all([...this.sessions.values()].map((session) => session.close().catch(() => {})));
      this.client.close();
    })();
    return this.closePromise;
  }

  /** Runs `op` on `key` under an optional version compare; FAILED_PRECONDITION when it fails. */
  private async guarded(key: string, expectedVersion: number | undefined, op: object): Promise<TxnResponse> {
    const etcdKey = this.keys.kvKey(key);
    const answer = await this.sessionTxn({
      compare: expectedVersion === undefined ? [] : [this.compareVersion(key, expectedVersion)],
      success: [op],
      failure: [{ request_range: { key: etcdKey } }],
    });
    if (answer.succeeded) return answer;
    const actual = answer.responses[0]?.response_range?.kvs[0];
    throw errors.failedPrecondition('coordination key version does not match', {
      key,
      expectedVersion: expectedVersion ?? 0,
      actualVersion: revisionOf(actual?.mod_revision),
    });
  }

  /** A Txn call where a missing lease (an expired session) is FAILED_PRECONDITION. */
  private async sessionTxn(request: object): Promise<TxnResponse> {
    try {
      return await this.client.kvCall<TxnResponse>('Txn', request);
    } catch (err) {
      if (hasCode(err, ErrorCode.NotFound)) {
        throw errors.failedPrecondition('coordination session is not valid', { reason: err.message });
      }
      throw err;
    }
  }

  private compareVersion(key: string, version: number): object {
    return { result: 'EQUAL', target: 'MOD', key: this.keys.kvKey(key), mod_revision: String(version) };
  }

  /** The etcd RequestOp of a txn operation; a put's session must be a valid one of ours. */
  private requestOp(op: TxnOp): object {
    const key = this.keys.kvKey(op.key);
    if (op.type === 'delete') return { request_delete_range: { key } };
    return { request_put: { key, value: Buffer.from(op.value), lease: this.leaseOf(op.session) } };
  }

  private leaseOf(session: Session | undefined): string {
    if (session === undefined) return '0';
    if (this.sessions.get(session.id) !== session || !session.isValid()) {
      throw errors.failedPrecondition('coordination session is not valid', { session: String(session.id) });
    }
    return session.id;
  }

  private async revokeLease(id: string): Promise<void> {
    try {
      await this.client.leaseCall('LeaseRevoke', { ID: id });
    } catch (err) {
      if (!hasCode(err, ErrorCode.NotFound)) throw err;
    }
  }

  private checkUsable(): void {
    if (this.closePromise)
      throw errors.unavailable('coordination is closed', { url: this.target.endpoints.join(',') });
  }
}
