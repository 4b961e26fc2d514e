/**
 * The local-clock session rule (src/coord/session-keeper.ts) under a manual clock and manual
 * timers: validity ends at (send time of the last answered keepalive) + ttl − margin, a late answer
 * never revives a session, failed keepalives are retried until the deadline, a "lease gone" answer
 * expires at once, and `onExpired` fires once, never for a close; `remainingMs()` counts down to
 * that deadline. Also the etcd URL parser.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import {
  COORD_SESSION_KEEPALIVE_FRACTION,
  COORD_SESSION_SAFETY_MARGIN_FRACTION,
} from '../../src/common/limits.js';
import type { CoordinationTimers } from '../../src/coord/coordination-timers.js';
import { parseEtcdTarget } from '../../src/coord/etcd/etcd-url.js';
import { SessionKeeper } from '../../src/coord/session-keeper.js';

/** Timers that fire only when the test advances time. */
class ManualTimers implements CoordinationTimers {
  private timers: { atMs: number; callback: () => void }[] = [];
  constructor(private readonly clock: ManualClock) {}
  setTimer(delayMs: number, callback: () => void) {
    const timer = { atMs: this.clock.monotonicMs() + delayMs, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }
  /** Advances the clock by `ms`, firing due timers in order (and letting promises settle). */
  async advance(ms: number): Promise<void> {
    const endMs = this.clock.monotonicMs() + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.atMs <= endMs).sort((a, b) => a.atMs - b.atMs)[0];
      if (!due) break;
      this.clock.advance(Math.max(0, due.atMs - this.clock.monotonicMs()));
      this.timers = this.timers.filter((t) => t !== due);
      due.callback();
      await settle();
    }
    this.clock.advance(endMs - this.clock.monotonicMs());
    await settle();
  }
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

const TTL_MS = 1_000;
const PERIOD_MS = TTL_MS * COORD_SESSION_KEEPALIVE_FRACTION;
const VALID_MS = TTL_MS * (1 - COORD_SESSION_SAFETY_MARGIN_FRACTION);

function keeper(answer: () => Promise<boolean>) {
  const clock = new ManualClock(0);
  const timers = new ManualTimers(clock);
  const log = { expired: 0, ended: 0, revoked: 0, sent: [] as number[] };
  const session = new SessionKeeper({
    id: 's',
    ttlMs: TTL_MS,
    clock,
    timers,
    grantSentAtMs: 0,
    transport: {
      keepAlive: () => {
        log.sent.push(clock.monotonicMs());
        return answer();
      },
      revoke: async () => {
        log.revoked++;
      },
    },
    onExpired: () => log.expired++,
    onEnded: () => log.ended++,
  });
  return { clock, timers, session, log };
}

test('answered keepalives extend validity from their send time', async () => {
  const { timers, session, log } = keeper(async () => true);
  await timers.advance(10 * TTL_MS);
  assert.equal(session.isValid(), true);
  assert.equal(log.sent.length, 10 / COORD_SESSION_KEEPALIVE_FRACTION);
  await session.close();
  assert.equal(session.isValid(), false);
  assert.deepEqual([log.expired, log.ended, log.revoked], [0, 1, 1]);
});

test('unanswered keepalives: invalid exactly at last answered send time + ttl − margin, for good', async () => {
  let online = true;
  const pending: ((alive: boolean) => void)[] = [];
  const { clock, timers, session, log } = keeper(() =>
    online ? Promise.resolve(true) : new Promise<boolean>((resolve) => pending.push(resolve)),
  );
  await timers.advance(PERIOD_MS); // One answered keepalive, sent at PERIOD_MS.
  online = false;
  const lastAnsweredSendMs = log.sent.at(-1)!;
  await timers.advance(lastAnsweredSendMs + VALID_MS - 1 - clock.monotonicMs());
  assert.equal(session.isValid(), true);
  assert.equal(session.remainingMs(), 1, 'validity left counts down to the deadline');
  await timers.advance(1);
  assert.equal(session.isValid(), false);
  assert.equal(session.remainingMs(), 0);
  assert.equal(log.expired, 1);
  // The answers that were in flight arrive late: they must not revive the session.
  for (const resolve of pending) resolve(true);
  await settle();
  assert.equal(session.isValid(), false);
  await timers.advance(10 * TTL_MS);
  assert.deepEqual([log.expired, log.ended, log.revoked], [1, 1, 1]);
});

test('failed keepalives are retried until the deadline; a "gone" answer expires at once', async () => {
  let mode: 'fail' | 'ok' | 'gone' = 'fail';
  const { timers, session, log } = keeper(async () => {
    if (mode === 'fail') throw new Error('unreachable');
    return mode === 'ok';
  });
  await timers.advance(2 * PERIOD_MS);
  assert.equal(log.sent.length, 2, 'retried on the next period');
  mode = 'ok';
  await timers.advance(PERIOD_MS);
  assert.equal(session.isValid(), true);
  mode = 'gone';
  await timers.advance(PERIOD_MS);
  assert.equal(session.isValid(), false);
  assert.equal(log.expired, 1);
});

test('etcd urls: endpoints, namespace and malformed input', () => {
  assert.deepEqual(parseEtcdTarget('//127.0.0.1:2379,127.0.0.1:22379/tabula-a/'), {
    endpoints: ['127.0.0.1:2379', '127.0.0.1:22379'],
    grpcTarget: 'ipv4:127.0.0.1:2379,127.0.0.1:22379',
    keyPrefix: 'tabula-a/',
  });
  assert.equal(parseEtcdTarget('//etcd.internal:2379').grpcTarget, 'dns:etcd.internal:2379');
  assert.equal(parseEtcdTarget('//etcd.internal:2379').keyPrefix, '');
  assert.equal(parseEtcdTarget('//[::1]:2379/x').grpcTarget, 'ipv6:[::1]:2379');
  for (const bad of ['127.0.0.1:2379', '//', '//host', '//host:0', '//a:1,b:2', '//h:1/a//b', '//h:99999']) {
    assert.throws(
      () => parseEtcdTarget(bad),
      (err: unknown) => hasCode(err, ErrorCode.InvalidArgument),
      bad,
    );
  }
});
