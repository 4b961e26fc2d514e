/**
 * Locks and leases of the embedded coordination driver, on a ManualClock: exclusivity, expiry and
 * renewal, takeover of an expired lease with a larger epoch, release, re-acquire by the same owner,
 * concurrent acquires, input checks, and fencing epochs that strictly increase across reopen.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { COORD_LEASE_TTL_MS_MAX, COORD_OWNER_BYTES_MAX } from '../../src/common/limits.js';
import type { Lease } from '../../src/coord/coordination.js';
import { EmbeddedCoordination } from '../../src/coord/embedded/embedded-coordination.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';

const DIR = '/coord';
const TTL_MS = 10_000;

async function open(vfs = new MemVfs(), clock = new ManualClock()) {
  return { coord: await EmbeddedCoordination.open({ dir: DIR, vfs, clock }), vfs, clock };
}

function mustHold(lease: Lease | undefined): Lease {
  assert.ok(lease, 'expected the lock to be granted');
  assert.ok(lease.isValid());
  return lease;
}

test('a lock held by a live lease is refused to other owners', async () => {
  const { coord, clock } = await open();
  const lease = mustHold(await coord.acquireLock('master', 'a', TTL_MS));
  assert.deepEqual([lease.name, lease.owner, lease.epoch, lease.ttlMs], ['master', 'a', 1, TTL_MS]);
  assert.equal(await coord.acquireLock('master', 'b', TTL_MS), undefined);
  clock.advance(TTL_MS - 1);
  assert.equal(await coord.acquireLock('master', 'b', TTL_MS), undefined);
  assert.ok(lease.isValid());
  // Other lock names are independent.
  const other = mustHold(await coord.acquireLock('tablet/1', 'b', TTL_MS));
  assert.equal(other.epoch, 2);
  await coord.close();
});

test('a lease expires after its ttl unless renewed; renewal extends it from now', async () => {
  const { coord, clock } = await open();
  const lease = mustHold(await coord.acquireLock('l', 'a', TTL_MS));
  clock.advance(TTL_MS / 2);
  assert.equal(await lease.renew(), true);
  clock.advance(TTL_MS - 1);
  assert.ok(lease.isValid(), 'renewal counted the ttl from the renewal');
  clock.advance(1);
  assert.equal(lease.isValid(), false, 'valid only while now < expiry');
  assert.equal(await lease.renew(), false, 'an expired lease is not revived');
  assert.equal(lease.isValid(), false);
  await coord.close();
});

test('an expired lease is taken over with a larger epoch; the old holder cannot renew', async () => {
  const { coord, clock } = await open();
  const old = mustHold(await coord.acquireLock('l', 'a', TTL_MS));
  clock.advance(TTL_MS);
  const taken = mustHold(await coord.acquireLock('l', 'b', TTL_MS));
  assert.ok(taken.epoch > old.epoch);
  assert.equal(old.isValid(), false);
  assert.equal(await old.renew(), false);
  await old.release();
  assert.ok(taken.isValid(), "a stale holder's release does not free the new holder's lock");
  assert.equal(await coord.acquireLock('l', 'a', TTL_MS), undefined);
  await coord.close();
});

test('release frees the lock at once and is idempotent', async () => {
  const { coord } = await open();
  const lease = mustHold(await coord.acquireLock('l', 'a', TTL_MS));
  await lease.release();
  await lease.release();
  assert.equal(lease.isValid(), false);
  assert.equal(await lease.renew(), false);
  const next = mustHold(await coord.acquireLock('l', 'b', TTL_MS));
  assert.equal(next.epoch, lease.epoch + 1);
  await coord.close();
});

test('the same owner re-acquiring gets a new epoch and supersedes its older lease', async () => {
  const { coord } = await open();
  const first = mustHold(await coord.acquireLock('l', 'a', TTL_MS));
  const second = mustHold(await coord.acquireLock('l', 'a', TTL_MS));
  assert.ok(second.epoch > first.epoch);
  assert.equal(first.isValid(), false);
  assert.equal(await first.renew(), false);
  await first.release();
  assert.ok(second.isValid());
  await coord.close();
});

test('concurrent acquires of a free lock: exactly one owner wins', async () => {
  const { coord } = await open();
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => coord.acquireLock('l', `owner-${i}`, TTL_MS)),
  );
  const winners = results.filter((r) => r !== undefined);
  assert.equal(winners.length, 1);
  assert.equal(winners[0]?.owner, 'owner-0', 'grants go in call order');
  await coord.close();
});

test('lock requests are checked: name, owner and ttl bounds are INVALID_ARGUMENT', async () => {
  const { coord } = await open();
  const bad: [string, string, number][] = [
    ['', 'a', TTL_MS],
    ['l', '', TTL_MS],
    ['l', 'o'.repeat(COORD_OWNER_BYTES_MAX + 1), TTL_MS],
    ['l', 'a', 0],
    ['l', 'a', -5],
    ['l', 'a', 1.5],
    ['l', 'a', COORD_LEASE_TTL_MS_MAX + 1],
    ['l', 'a', Number.POSITIVE_INFINITY],
  ];
  for (const [name, owner, ttlMs] of bad) {
    await assert.rejects(coord.acquireLock(name, owner, ttlMs), (err: unknown) =>
      hasCode(err, ErrorCode.InvalidArgument),
    );
  }
  mustHold(await coord.acquireLock('l', 'a', COORD_LEASE_TTL_MS_MAX));
  await coord.close();
});

test('close invalidates every lease', async () => {
  const { coord } = await open();
  const lease = mustHold(await coord.acquireLock('l', 'a', TTL_MS));
  await coord.close();
  assert.equal(lease.isValid(), false);
  assert.equal(await lease.renew(), false);
  await lease.release();
});

test('epochs strictly increase across reopen, per lock name and across names', async () => {
  const vfs = new MemVfs();
  const clock = new ManualClock();
  const granted: number[] = [];
  for (let round = 0; round < 5; round++) {
    const { coord } = await open(vfs, clock);
    // After a restart every lock is free (its holders lived in the old process).
    for (const name of ['master', 'tablet/1', 'master']) {
      const lease = mustHold(await coord.acquireLock(name, `server-${round}`, TTL_MS));
      granted.push(lease.epoch);
      await lease.release();
    }
    await coord.put(`round/${round}`, Buffer.from('x'));
    await coord.close();
  }
  assert.deepEqual(
    granted,
    Array.from({ length: 15 }, (_, i) => i + 1),
  );
});
