/**
 * The master's fan-out of DropRowRange and family purges (src/cluster/tablet-fanout.ts) on a fake
 * view and fake peer calls: each overlapping tablet is asked once, clipped to its range; a tablet
 * whose owner answers `moved` (or is unreachable, or not yet assigned) is asked again at its owner
 * as the view then shows it; the call resolves only once every tablet acknowledged; an error that
 * is not UNAVAILABLE fails it at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Assignment, ServerInfo } from '../../src/cluster/cluster-keys.js';
import { movedError } from '../../src/cluster/owned-tablets.js';
import { type FanoutControl, TabletFanout } from '../../src/cluster/tablet-fanout.js';
import { systemClock } from '../../src/common/clock.js';
import { ErrorCode, errors, hasCode } from '../../src/common/errors.js';
import type { CoordinationTimers } from '../../src/coord/coordination-timers.js';
import { rowStartKey } from '../../src/model/cell-key.js';
import type { TabletRecord } from '../../src/tablet/catalog.js';

const TABLE = 't';
/** Timers that fire at once: the retry pause is not what is tested. */
const immediate: CoordinationTimers = {
  setTimer(_ms, callback) {
    queueMicrotask(callback);
    return () => undefined;
  },
};

function tablet(dir: string, start?: string, end?: string): TabletRecord {
  return {
    tableId: TABLE,
    tabletDir: dir,
    startRow: start === undefined ? undefined : Buffer.from(start),
    endRow: end === undefined ? undefined : Buffer.from(end),
    timestampFloorMicros: 0,
    files: [],
  } as unknown as TabletRecord;
}

const TABLETS = [tablet('a', undefined, 'g'), tablet('b', 'g', 'p'), tablet('c', 'p')];

/** A view whose owners can be moved by the test, counting refreshes. */
function fakeView(owner: Map<string, string>) {
  const view = {
    servers: new Map<string, ServerInfo>(
      ['s1', 's2', 's3'].map((id) => [id, { id, address: `${id}:1`, peerAddress: `${id}:2` }]),
    ),
    assignments: new Map<string, Map<string, Assignment>>(),
    refreshes: 0,
    sync() {
      const m = new Map<string, Assignment>();
      for (const t of TABLETS) {
        const server = owner.get(t.tabletDir);
        if (server !== undefined) m.set(t.tabletDir, { tablet: t, server, ownerEpoch: 1 });
      }
      view.assignments.set(TABLE, m);
    },
    async refresh() {
      view.refreshes++;
      view.sync();
    },
  };
  view.sync();
  return view;
}

type Call = { address: string; tabletDir: string; start?: Buffer; end?: Buffer };

function fakeControl(answer: (c: Call) => Promise<void>): FanoutControl & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    dropTabletRange: (address, r) => {
      const c = { address, tabletDir: r.tabletDir, start: r.start, end: r.end };
      calls.push(c);
      return answer(c);
    },
    purgeTabletFamily: (address, r) => {
      const c = { address, tabletDir: r.tabletDir };
      calls.push(c);
      return answer(c);
    },
    close: () => undefined,
  };
}

test('a prefix drop asks only the overlapping tablets, clipped to each', async () => {
  const view = fakeView(
    new Map([
      ['a', 's1'],
      ['b', 's2'],
      ['c', 's3'],
    ]),
  );
  const control = fakeControl(async () => undefined);
  const fanout = new TabletFanout(view, systemClock, immediate, control);
  // Prefix "g" lies inside tablet b only; prefix "" (all rows) in every tablet.
  await fanout.dropRowRange(TABLE, TABLETS, { rowKeyPrefix: Buffer.from('g') });
  assert.deepEqual(
    control.calls.map((c) => `${c.address} ${c.tabletDir}`),
    ['s2:2 b'],
  );
  assert.deepEqual(control.calls[0]?.start, rowStartKey(Buffer.from('g')));
  control.calls.length = 0;
  await fanout.dropRowRange(TABLE, TABLETS, { all: true });
  assert.deepEqual(control.calls.map((c) => c.tabletDir).sort(), ['a', 'b', 'c']);
  const b = control.calls.find((c) => c.tabletDir === 'b');
  assert.deepEqual(b?.start, rowStartKey(Buffer.from('g')), 'clipped to the tablet start');
  assert.deepEqual(b?.end, rowStartKey(Buffer.from('p')), 'clipped to the tablet end');
});

test('a moved, unreachable or unassigned tablet is retried on its new owner', async () => {
  const owner = new Map([
    ['a', 's1'],
    ['b', 's2'],
  ]); // c not assigned yet
  const view = fakeView(owner);
  const control = fakeControl(async (c) => {
    if (c.tabletDir === 'a' && c.address === 's1:2') {
      owner.set('a', 's3');
      throw movedError({ tableId: TABLE, tabletDir: 'a' });
    }
    if (c.tabletDir === 'b' && control.calls.filter((x) => x.tabletDir === 'b').length < 3) {
      throw errors.unavailable('connection lost');
    }
    if (c.tabletDir === 'b') {
      owner.set('c', 's1');
      view.sync();
    }
  });
  // Tablet c gets an owner (as the watch would show it) only once b went through.
  const fanout = new TabletFanout(view, systemClock, immediate, control);
  await fanout.purgeFamily(TABLE, TABLETS, 'f');
  const done = control.calls.map((c) => `${c.address} ${c.tabletDir}`);
  assert.ok(done.includes('s3:2 a'), `a retried on its new owner: ${done}`);
  assert.equal(done.filter((d) => d === 's2:2 b').length, 3, `b retried until it answered: ${done}`);
  assert.ok(done.includes('s1:2 c'), `c asked once assigned: ${done}`);
  assert.ok(view.refreshes >= 1, 'a moved answer refreshes the view');
});

test('an error other than UNAVAILABLE fails the fan-out at once', async () => {
  const view = fakeView(
    new Map([
      ['a', 's1'],
      ['b', 's2'],
      ['c', 's3'],
    ]),
  );
  const control = fakeControl(async (c) => {
    if (c.tabletDir === 'b') throw errors.failedPrecondition('owner epoch is stale');
  });
  const fanout = new TabletFanout(view, systemClock, immediate, control);
  await assert.rejects(fanout.purgeFamily(TABLE, TABLETS, 'f'), (err) =>
    hasCode(err, ErrorCode.FailedPrecondition),
  );
  assert.equal(control.calls.filter((c) => c.tabletDir === 'b').length, 1);
});
