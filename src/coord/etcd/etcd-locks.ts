/**
 * Leased locks on etcd with fencing epochs.
 *
 * A lock is the key `<prefix>lock/<name>` holding the owner, attached to an etcd lease of the
 * holder's TTL (rounded up to whole seconds). Granting is one txn: "if the key does not exist (or,
 * for a re-grant to the same owner, still has the mod revision we read), put it with our lease".
 * The txn's revision is the grant's epoch: etcd revisions only grow and survive restarts, so every
 * epoch is larger than all epochs granted before it for any lock.
 *
 * Validity is decided on the local clock (coordination.ts): a lease is valid until the send time of
 * the request that last refreshed it (the grant, or a renewal's keepalive) + ttl − safety margin;
 * a renewal also checks that the lock key still carries this grant's epoch. A lease superseded by
 * a grant through the same instance is invalid at once (the instance supersedes it); a superseded
 * holder in another process learns it at its next renewal (or is fenced by the epoch at its commit
 * point).
 *
 * Concurrency: leases are independent; one lease's renew/release may race harmlessly (a release
 * wins: it is final). A renewal that gets no answer rejects with UNAVAILABLE and changes nothing.
 */
import type { Clock } from '../../common/clock.js';
import { COORD_SESSION_SAFETY_MARGIN_FRACTION } from '../../common/limits.js';
import type { Lease } from '../coordination.js';
import type { EtcdClient, EtcdHeader, EtcdKeyValue } from './etcd-client.js';
import { type EtcdKeySpace, leaseSecondsOf, revisionOf } from './etcd-keys.js';

interface TxnResponse {
  readonly header: EtcdHeader;
  readonly succeeded: boolean;
  readonly responses: readonly { response_range?: { kvs: EtcdKeyValue[] } }[];
}

/** Takes lock `name` for `owner` (see the file comment); `undefined` when another owner holds it. */
export async function acquireEtcdLock(
  client: EtcdClient,
  keys: EtcdKeySpace,
  clock: Clock,
  request: { name: string; owner: string; ttlMs: number },
): Promise<EtcdLease | undefined> {
  const lockKey = keys.lockKey(request.name);
  const sentAtMs = clock.monotonicMs();
  const grant = await client.leaseCall<{ ID: string }>('LeaseGrant', { TTL: leaseSecondsOf(request.ttlMs) });
  const put = { request_put: { key: lockKey, value: Buffer.from(request.owner, 'utf8'), lease: grant.ID } };
  const read = { request_range: { key: lockKey } };
  try {
    let answer = await client.kvCall<TxnResponse>('Txn', {
      compare: [{ result: 'EQUAL', target: 'CREATE', key: lockKey, create_revision: '0' }],
      success: [put],
      failure: [read],
    });
    if (!answer.succeeded) {
      const holder = answer.responses[0]?.response_range?.kvs[0];
      if (!holder || holder.value.toString('utf8') !== request.owner) {
        await revokeQuietly(client, grant.ID);
        return undefined;
      }
      // The same owner holds it (a restarted owner): re-grant unless someone changed it meanwhile.
      answer = await client.kvCall<TxnResponse>('Txn', {
        compare: [{ result: 'EQUAL', target: 'MOD', key: lockKey, mod_revision: holder.mod_revision }],
        success: [put],
        failure: [],
      });
      if (!answer.succeeded) {
        await revokeQuietly(client, grant.ID);
        return undefined;
      }
      await revokeQuietly(client, holder.lease);
    }
    const epoch = revisionOf(answer.header.revision);
    return new EtcdLease(client, clock, lockKey, grant.ID, { ...request, epoch, sentAtMs });
  } catch (err) {
    await revokeQuietly(client, grant.ID);
    throw err;
  }
}

async function revokeQuietly(client: EtcdClient, leaseId: string): Promise<void> {
  if (leaseId === '0') return;
  await client.leaseCall('LeaseRevoke', { ID: leaseId }).catch(() => {});
}

/** A granted lock; see the file comment for validity. */
export class EtcdLease implements Lease {
  readonly name: string;
  readonly owner: string;
  readonly epoch: number;
  readonly ttlMs: number;
  private deadlineMs: number;
  private ended = false;
  private released = false;

  constructor(
    private readonly client: EtcdClient,
    private readonly clock: Clock,
    private readonly lockKey: Buffer,
    private readonly leaseId: string,
    grant: { name: string; owner: string; ttlMs: number; epoch: number; sentAtMs: number },
  ) {
    this.name = grant.name;
    this.owner = grant.owner;
    this.epoch = grant.epoch;
    this.ttlMs = grant.ttlMs;
    this.deadlineMs = grant.sentAtMs + this.validForMs();
  }

  isValid(): boolean {
    if (this.ended) return false;
    if (this.clock.monotonicMs() < this.deadlineMs) return true;
    this.ended = true;
    return false;
  }

  async renew(): Promise<boolean> {
    if (!this.isValid()) return false;
    const sentAtMs = this.clock.monotonicMs();
    // A failure here (UNAVAILABLE) changes nothing: the lease stays valid until its deadline.
    const ttlSeconds = await this.client.keepAliveOnce(this.leaseId, this.ttlMs);
    const read = await this.client.kvCall<{ kvs: EtcdKeyValue[] }>('Range', { key: this.lockKey });
    const holder = read.kvs[0];
    if (ttlSeconds <= 0 || !holder || revisionOf(holder.mod_revision) !== this.epoch) {
      this.ended = true;
      return false;
    }
    if (!this.isValid()) return false;
    this.deadlineMs = Math.max(this.deadlineMs, sentAtMs + this.validForMs());
    return true;
  }

  /** Ends validity at once: a newer grant of this lock in this process replaced it, or it closed. */
  supersede(): void {
    this.ended = true;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.ended = true;
    await this.client
      .kvCall('Txn', {
        compare: [{ result: 'EQUAL', target: 'MOD', key: this.lockKey, mod_revision: String(this.epoch) }],
        success: [{ request_delete_range: { key: this.lockKey } }],
        failure: [],
      })
      .catch(() => {});
    await revokeQuietly(this.client, this.leaseId);
  }

  private validForMs(): number {
    return this.ttlMs * (1 - COORD_SESSION_SAFETY_MARGIN_FRACTION);
  }
}
