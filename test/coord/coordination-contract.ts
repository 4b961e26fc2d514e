/**
 * The contract every coordination driver keeps (src/coord/coordination.ts), as ONE test body run
 * by coordination-contract.test.ts against embedded, a single etcd member and a 3-member etcd
 * cluster. A fixture opens instances of its driver and offers the faults it can inject; tests of a
 * fault a driver cannot have (pausing an in-process store) are registered only where it applies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clock } from '../../src/common/clock.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { ETCD_WATCH_RESUME_MS_MAX } from '../../src/common/limits.js';
import type { Coordination, WatchEvent } from '../../src/coord/coordination.js';

/** `systemClock` plus an offset a test can push forward (a local clock running ahead). */
export class OffsetClock implements Clock {
  offsetMs = 0;
  nowMs(): number {
    return Date.now() + this.offsetMs;
  }
  monotonicMs(): number {
    return performance.now() + this.offsetMs;
  }
}

/** What a driver's test setup provides. */
export interface ContractFixture {
  /** Opens an instance on a fresh namespace per `space` (same `space`: same data). */
  open(space: string, clock?: Clock): Promise<Coordination>;
  /**
   * Makes revisions ≤ `revision` unavailable to watches (etcd compaction; embedded: restart, which
   * keeps no history). Returns the instance to go on with.
   */
  compact(coord: Coordination, space: string, revision: number): Promise<Coordination>;
  /** Freezes the (single) server so no keepalive is answered, and thaws it. */
  pauseServer?(): void;
  resumeServer?(): void;
  /** Kills the leader of a multi-member cluster. */
  killLeader?(): Promise<void>;
  /** Kills the (single) server for good; registered last, since nothing works after it. */
  killServer?(): Promise<void>;
}

let spaceCounter = 0;
const nextSpace = () => `c${process.pid}-${Date.now()}-${++spaceCounter}`;
const isCode = (code: ErrorCode) => (err: unknown) => hasCode(err, code);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const buf = (text: string) => Buffer.from(text, 'utf8');

/** Polls `probe` every 50 ms until it returns true, failing after `timeoutMs`. */
async function eventually(
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean> | boolean,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Collects watch events. */
function collector(): { events: WatchEvent[]; listener: (e: WatchEvent) => void; broken: string[] } {
  const events: WatchEvent[] = [];
  const broken: string[] = [];
  return { events, broken, listener: (e) => events.push(e) };
}

const summary = (events: WatchEvent[]) =>
  events.map((e) => `${e.key}=${e.value?.toString() ?? '∅'}@${e.version}`);

/** Registers the contract tests for one driver. */
export function coordinationContract(driver: string, fixture: () => ContractFixture): void {
  keyContract(driver, fixture);
  watchContract(driver, fixture);
  sessionAndLockContract(driver, fixture);
  faultContract(driver, fixture);
}

/** Compare-and-set and transactions. */
function keyContract(driver: string, fixture: () => ContractFixture): void {
  test(`${driver}: compare-and-set by version, no ABA across delete and re-create`, async () => {
    const coord = await fixture().open(nextSpace());
    try {
      const v1 = await coord.put('k', buf('a'), { expectedVersion: 0 });
      await assert.rejects(
        coord.put('k', buf('b'), { expectedVersion: 0 }),
        isCode(ErrorCode.FailedPrecondition),
      );
      assert.equal(await coord.delete('k', { expectedVersion: v1 }), true);
      const v2 = await coord.put('k', buf('c'), { expectedVersion: 0 });
      assert.ok(v2 > v1, 'a re-created key has a newer version');
      await assert.rejects(coord.put('k', buf('stale'), { expectedVersion: v1 }), (err: unknown) => {
        return hasCode(err, ErrorCode.FailedPrecondition) && err.details.actualVersion === v2;
      });
      await assert.rejects(coord.delete('k', { expectedVersion: v1 }), isCode(ErrorCode.FailedPrecondition));
      assert.deepEqual(await coord.get('k'), { value: buf('c'), version: v2 });
      assert.equal(await coord.delete('absent'), false);
    } finally {
      await coord.close();
    }
  });

  test(`${driver}: txn applies all of a branch at one revision, or nothing`, async () => {
    const coord = await fixture().open(nextSpace());
    try {
      const va = await coord.put('a', buf('1'));
      const ok = await coord.txn({
        compares: [
          { key: 'a', version: va },
          { key: 'b', version: 0 },
        ],
        success: [
          { type: 'put', key: 'a', value: buf('2') },
          { type: 'put', key: 'b', value: buf('2') },
        ],
        failure: [{ type: 'put', key: 'f', value: buf('failed') }],
      });
      assert.equal(ok.succeeded, true);
      const listed = await coord.listWithRevision('');
      assert.deepEqual(
        listed.entries.map((e) => [e.key, e.value.toString(), e.version]),
        [
          ['a', '2', ok.revision],
          ['b', '2', ok.revision],
        ],
      );
      assert.equal(listed.revision, ok.revision);
      // A stale compare takes the failure branch; the success branch leaves no trace.
      const stale = await coord.txn({
        compares: [{ key: 'a', version: va }],
        success: [{ type: 'delete', key: 'b' }],
        failure: [{ type: 'put', key: 'f', value: buf('failed') }],
      });
      assert.equal(stale.succeeded, false);
      assert.equal((await coord.get('b'))?.version, ok.revision);
      assert.deepEqual(await coord.get('f'), { value: buf('failed'), version: stale.revision });
      // An invalid txn (a key twice) is rejected whole.
      await assert.rejects(
        coord.txn({
          compares: [],
          success: [
            { type: 'put', key: 'x', value: buf('1') },
            { type: 'delete', key: 'x' },
          ],
        }),
        isCode(ErrorCode.InvalidArgument),
      );
      assert.equal(await coord.get('x'), undefined);
      const none = await coord.txn({ compares: [{ key: 'zz', version: 5 }], success: [] });
      assert.deepEqual(none, { succeeded: false, revision: stale.revision });
    } finally {
      await coord.close();
    }
  });
}

/** Watch order, resume from a revision, compaction. */
function watchContract(driver: string, fixture: () => ContractFixture): void {
  test(`${driver}: watches deliver in commit order and resume from a revision with no gap or duplicate`, async () => {
    const coord = await fixture().open(nextSpace());
    try {
      await coord.put('w/0', buf('before'));
      const { revision } = await coord.listWithRevision('w/');
      const live = collector();
      const stopLive = coord.watch('w/', live.listener, { fromRevision: revision + 1 });
      const written: string[] = [];
      let middle = 0;
      for (let i = 1; i <= 6; i++) {
        const v = await coord.put(`w/${i % 3}`, buf(`v${i}`));
        if (i === 3) middle = v;
        written.push(`w/${i % 3}=v${i}@${v}`);
      }
      const vd = (await coord.txn({ compares: [], success: [{ type: 'delete', key: 'w/0' }] })).revision;
      written.push(`w/0=∅@${vd}`);
      await coord.put('other/1', buf('not watched'));
      await eventually('all events', 5_000, () => live.events.length >= written.length);
      assert.deepEqual(summary(live.events), written);
      // A second watch from the middle gets exactly the suffix, then live events.
      const resumed = collector();
      const stopResumed = coord.watch('w/', resumed.listener, { fromRevision: middle });
      const vLast = await coord.put('w/9', buf('last'));
      written.push(`w/9=last@${vLast}`);
      await eventually('resumed events', 5_000, () => resumed.events.length >= 5);
      await eventually('live tail', 5_000, () => live.events.length >= written.length);
      assert.deepEqual(summary(resumed.events), written.slice(2));
      assert.deepEqual(summary(live.events), written);
      // A start revision in the future delivers nothing below it.
      const future = collector();
      const stopFuture = coord.watch('w/', future.listener, { fromRevision: vLast + 2 });
      await coord.put('w/skipped', buf('s'));
      const vSeen = await coord.put('w/seen', buf('t'));
      written.push(`w/skipped=s@${vLast + 1}`, `w/seen=t@${vSeen}`);
      await eventually('future watch', 5_000, () => future.events.length >= 1);
      assert.deepEqual(summary(future.events), [`w/seen=t@${vSeen}`]);
      await eventually('live tail', 5_000, () => live.events.length >= written.length);
      stopFuture();
      stopLive();
      stopResumed();
      await coord.put('w/after', buf('x'));
      await sleep(100);
      assert.equal(live.events.length, written.length, 'no event after unsubscribe');
      assert.deepEqual(live.broken, []);
    } finally {
      await coord.close();
    }
  });

  test(`${driver}: a watch from a compacted revision calls onBroken`, async () => {
    const space = nextSpace();
    let coord = await fixture().open(space);
    try {
      const v1 = await coord.put('c/1', buf('a'));
      const v2 = await coord.put('c/1', buf('b'));
      coord = await fixture().compact(coord, space, v2);
      const w = collector();
      coord.watch('c/', w.listener, { fromRevision: v1, onBroken: (reason) => w.broken.push(reason) });
      await eventually('onBroken', 5_000, () => w.broken.length > 0);
      assert.match(w.broken[0]!, /compacted/);
      assert.deepEqual(w.events, []);
    } finally {
      await coord.close();
    }
  });
}

/** Sessions, ephemeral keys and lock epochs. */
function sessionAndLockContract(driver: string, fixture: () => ContractFixture): void {
  test(`${driver}: ephemeral keys vanish when their session closes or expires on the local clock`, async () => {
    const clock = new OffsetClock();
    const coord = await fixture().open(nextSpace(), clock);
    try {
      const closing = await coord.openSession(3_000);
      let expiredCalls = 0;
      const expiring = await coord.openSession(3_000, { onExpired: () => expiredCalls++ });
      await coord.put('s/closing', buf('1'), { session: closing });
      await coord.txn({
        compares: [],
        success: [{ type: 'put', key: 's/expiring', value: buf('2'), session: expiring }],
      });
      await coord.put('s/permanent', buf('3'));
      assert.deepEqual(
        (await coord.list('s/')).map((e) => e.key),
        ['s/closing', 's/expiring', 's/permanent'],
      );
      const w = collector();
      const { revision } = await coord.listWithRevision('s/');
      const stop = coord.watch('s/', w.listener, { fromRevision: revision + 1 });
      await closing.close();
      assert.equal(closing.isValid(), false);
      await eventually(
        'closed session key gone',
        5_000,
        async () => (await coord.get('s/closing')) === undefined,
      );
      // The local clock runs past the session's deadline: invalid at once, for good.
      assert.equal(expiring.isValid(), true);
      clock.offsetMs += 3_000;
      assert.equal(expiring.isValid(), false);
      await eventually(
        'expired session key gone',
        10_000,
        async () => (await coord.get('s/expiring')) === undefined,
      );
      assert.equal(expiredCalls, 1);
      clock.offsetMs -= 3_000;
      assert.equal(expiring.isValid(), false, 'an expired session never becomes valid again');
      await assert.rejects(
        coord.put('s/late', buf('x'), { session: expiring }),
        isCode(ErrorCode.FailedPrecondition),
      );
      assert.deepEqual(
        (await coord.list('s/')).map((e) => e.key),
        ['s/permanent'],
      );
      await eventually('delete events', 5_000, () => w.events.length >= 2);
      assert.deepEqual(w.events.map((e) => [e.key, e.value]).sort(), [
        ['s/closing', undefined],
        ['s/expiring', undefined],
      ]);
      stop();
    } finally {
      await coord.close();
    }
  });

  test(`${driver}: lock epochs grow with every grant, across instances`, async () => {
    const space = nextSpace();
    let coord = await fixture().open(space);
    const epochs: number[] = [];
    try {
      const first = await coord.acquireLock('master', 'a', 5_000);
      assert.ok(first?.isValid());
      epochs.push(first!.epoch);
      assert.equal(await coord.acquireLock('master', 'b', 5_000), undefined, 'held by another owner');
      const regrant = await coord.acquireLock('master', 'a', 5_000);
      epochs.push(regrant!.epoch);
      assert.equal(
        first!.isValid(),
        false,
        'a lease superseded through the same instance is invalid at once',
      );
      assert.equal(await first!.renew(), false);
      assert.equal(await regrant!.renew(), true);
      await regrant!.release();
      assert.equal(regrant!.isValid(), false);
      const other = await coord.acquireLock('master', 'b', 5_000);
      epochs.push(other!.epoch);
      await other!.release();
      await coord.close();
      coord = await fixture().open(space);
      const afterRestart = await coord.acquireLock('master', 'c', 5_000);
      epochs.push(afterRestart!.epoch);
      for (let i = 1; i < epochs.length; i++) assert.ok(epochs[i]! > epochs[i - 1]!, `epochs ${epochs}`);
    } finally {
      await coord.close();
    }
  });
}

/** Faults: a paused server, a killed leader, a server gone for good. */
function faultContract(driver: string, fixture: () => ContractFixture): void {
  const f = fixture;
  test(`${driver}: a session turns invalid on the local clock when its server stops answering`, async (t) => {
    if (!f().pauseServer) {
      t.diagnostic('not applicable: this fixture cannot pause its server');
      return;
    }
    const coord = await f().open(nextSpace());
    try {
      let expired = false;
      const ttlMs = 2_000;
      const session = await coord.openSession(ttlMs, { onExpired: () => (expired = true) });
      await coord.put('p/eph', buf('1'), { session });
      await sleep(ttlMs); // Several keepalives are answered meanwhile.
      assert.equal(session.isValid(), true, 'keepalives keep the session valid');
      const pausedAt = performance.now();
      f().pauseServer!();
      try {
        const tookMs = await eventually('local invalidation', ttlMs * 2, () => !session.isValid());
        // Invalid no later than the last answered keepalive's send time + ttl − margin ≤ pause + ttl.
        assert.ok(performance.now() - pausedAt <= ttlMs + 100, `invalid after ${tookMs} ms`);
        await eventually('onExpired', 1_000, () => expired);
      } finally {
        f().resumeServer!();
      }
      await eventually(
        'ephemeral key gone after resume',
        10_000,
        async () => (await coord.get('p/eph')) === undefined,
      );
    } finally {
      await coord.close();
    }
  });

  test(`${driver}: the service continues after its leader dies; a longer session survives`, async (t) => {
    if (!f().killLeader) {
      t.diagnostic('not applicable: this fixture has no leader to kill');
      return;
    }
    const coord = await f().open(nextSpace());
    try {
      const session = await coord.openSession(10_000);
      await coord.put('l/eph', buf('alive'), { session });
      const { revision } = await coord.listWithRevision('l/');
      const w = collector();
      coord.watch('l/', w.listener, { fromRevision: revision + 1, onBroken: (r) => w.broken.push(r) });
      const before = await coord.put('l/before', buf('1'));
      await f().killLeader!();
      let after = 0;
      const failoverMs = await eventually('a put after the leader died', 8_000, async () => {
        try {
          after = await coord.put('l/after', buf('2'));
          return true;
        } catch (err) {
          assert.ok(hasCode(err, ErrorCode.Unavailable), `unexpected ${String(err)}`);
          return false;
        }
      });
      t.diagnostic(`first successful put ${failoverMs} ms after the leader was killed`);
      assert.ok(after > before);
      await sleep(2_000);
      assert.equal(session.isValid(), true, 'the session outlived the election');
      assert.equal((await coord.get('l/eph'))?.value.toString(), 'alive');
      await eventually('watch saw both puts', 10_000, () => w.events.length >= 2);
      assert.deepEqual(summary(w.events), [`l/before=1@${before}`, `l/after=2@${after}`]);
      assert.deepEqual(w.broken, []);
      await session.close();
    } finally {
      await coord.close();
    }
  });

  test(`${driver}: a watch whose server is gone for good reports onBroken`, async (t) => {
    if (!f().killServer) {
      t.diagnostic('not applicable: this fixture cannot kill its server');
      return;
    }
    const coord = await f().open(nextSpace());
    try {
      const w = collector();
      const { revision } = await coord.listWithRevision('g/');
      coord.watch('g/', w.listener, { fromRevision: revision + 1, onBroken: (r) => w.broken.push(r) });
      const v = await coord.put('g/1', buf('x'));
      await eventually('the event', 5_000, () => w.events.length === 1);
      await f().killServer!();
      const brokenMs = await eventually(
        'onBroken',
        ETCD_WATCH_RESUME_MS_MAX + 5_000,
        () => w.broken.length > 0,
      );
      t.diagnostic(`onBroken ${brokenMs} ms after the server died: ${w.broken[0]}`);
      assert.match(w.broken[0]!, /lost/);
      assert.deepEqual(summary(w.events), [`g/1=x@${v}`]);
      await assert.rejects(coord.get('g/1'), isCode(ErrorCode.Unavailable));
    } finally {
      await coord.close();
    }
  });
}
