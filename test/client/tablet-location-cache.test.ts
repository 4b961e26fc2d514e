// The client's routing pieces without a network: the location cache (lazy fetch, one fetch for
// concurrent lookups, TTL, invalidation — also during a fetch —, failures, UNIMPLEMENTED turning
// routing off, the table bound), the tablet lookup against a linear model over random splits
// (seeded), which reads stay in one tablet, the bounded owner channels, the answer's decoding,
// and the server's answer from a cluster view.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OwnerChannels } from '../../src/client/owner-channels.js';
import {
  findTablet,
  type LocationFetch,
  TabletLocationCache,
} from '../../src/client/tablet-location-cache.js';
import { rowSetWithin, TabletRouter } from '../../src/client/tablet-router.js';
import { decodeLocations, type TabletLocation } from '../../src/cluster/tablet-location-protocol.js';
import { locateTablets } from '../../src/cluster/tablet-location-service.js';
import { errors } from '../../src/common/errors.js';
import type { RowSet } from '../../src/model/proto-types.js';
import { testSeeds, withSeed } from '../support/seed.js';

const b = (s: string) => Buffer.from(s);

/** Tablets split at `splits` (sorted), owner `s<i>` each. */
function tabletsAt(splits: readonly string[]): TabletLocation[] {
  const bounds = [undefined, ...splits.map(b), undefined];
  return bounds.slice(0, -1).map((start, i) => ({
    startRow: start ?? Buffer.alloc(0),
    endRow: bounds[i + 1],
    address: `s${i}`,
    ownerEpoch: i + 1,
  }));
}

function fakeFetch(answer: () => TabletLocation[] | Error) {
  const calls: string[] = [];
  let gate: Promise<void> = Promise.resolve();
  const fetch: LocationFetch = async (tableId) => {
    calls.push(tableId);
    await gate;
    const a = answer();
    if (a instanceof Error) throw a;
    return { tablets: a, truncated: false };
  };
  return {
    fetch,
    calls,
    hold: () => {
      let open!: () => void;
      gate = new Promise((r) => {
        open = r;
      });
      return () => open();
    },
  };
}

test('the cache fetches lazily, once for concurrent lookups, again after its TTL or an invalidation', async () => {
  let now = 0;
  const f = fakeFetch(() => tabletsAt(['m']));
  const cache = new TabletLocationCache(f.fetch, { nowMs: () => now, ttlMs: 100 });
  assert.equal(f.calls.length, 0, 'nothing fetched before the first lookup');
  const [x, y] = await Promise.all([cache.locations('t'), cache.locations('t')]);
  assert.equal(f.calls.length, 1, 'concurrent lookups share one fetch');
  assert.equal(x, y);
  await cache.locations('t');
  assert.equal(f.calls.length, 1, 'served from the cache');
  now = 100;
  await cache.locations('t');
  assert.equal(f.calls.length, 2, 'fetched again at the TTL');
  cache.invalidate('t');
  assert.equal(findTablet(await cache.locations('t'), b('z'))?.address, 's1');
  assert.equal(f.calls.length, 3, 'fetched again after an invalidation');
});

test('an invalidation during a fetch wins: the answer is used but not kept', async () => {
  const f = fakeFetch(() => tabletsAt([]));
  const cache = new TabletLocationCache(f.fetch, { nowMs: () => 0 });
  const open = f.hold();
  const pending = cache.locations('t');
  cache.invalidate('t');
  open();
  assert.equal((await pending).length, 1);
  assert.equal(cache.size, 0, 'the pre-invalidation answer is not stored');
  await cache.locations('t');
  assert.equal(f.calls.length, 2);
});

test('a failed fetch or an owner-less tablet is fetched again soon; UNIMPLEMENTED turns routing off', async () => {
  let now = 0;
  let answer: TabletLocation[] | Error = errors.unavailable('down');
  const f = fakeFetch(() => answer);
  const cache = new TabletLocationCache(f.fetch, { nowMs: () => now, ttlMs: 500, incompleteTtlMs: 50 });
  assert.deepEqual(await cache.locations('t'), []);
  assert.deepEqual(await cache.locations('t'), []);
  assert.equal(f.calls.length, 1, 'a failure is remembered for the short TTL');
  now = 50;
  answer = tabletsAt(['m']).map((t, i) => (i === 0 ? { ...t, address: undefined } : t));
  assert.equal((await cache.locations('t')).length, 2);
  assert.equal(f.calls.length, 2);
  now = 99;
  await cache.locations('t');
  assert.equal(f.calls.length, 2);
  now = 100;
  await cache.locations('t');
  assert.equal(f.calls.length, 3, 'a tablet without a live owner: fetched again after the short TTL');
  now = 150;
  answer = errors.unimplemented('no such service');
  assert.deepEqual(await cache.locations('t'), []);
  assert.equal(cache.enabled, false);
  answer = tabletsAt([]);
  assert.deepEqual(await cache.locations('u'), []);
  assert.equal(f.calls.length, 4, 'no fetch once routing is off');
  const off = new TabletLocationCache(f.fetch, { nowMs: () => 0 }, false);
  assert.deepEqual(await off.locations('t'), []);
  assert.equal(f.calls.length, 4, 'routing: false never fetches');
});

test('the cache keeps at most tablesMax tables, dropping the least recently used', async () => {
  const f = fakeFetch(() => tabletsAt([]));
  const cache = new TabletLocationCache(f.fetch, { nowMs: () => 0, tablesMax: 2 });
  await cache.locations('a');
  await cache.locations('b');
  await cache.locations('a');
  await cache.locations('c');
  assert.equal(cache.size, 2);
  await cache.locations('a');
  assert.equal(f.calls.length, 3, 'a was recently used and kept');
  await cache.locations('b');
  assert.equal(f.calls.length, 4, 'b was dropped');
});

test('findTablet agrees with a linear scan over random splits', async () => {
  for (const seed of testSeeds(3)) {
    await withSeed(seed, async (rand) => {
      const key = () =>
        Buffer.from(
          Array.from({ length: 1 + Math.floor(rand.next() * 3) }, () => Math.floor(rand.next() * 4)),
        );
      // Bytes 0..3 only, so a split's string form (for tabletsAt) has the same bytes and order.
      const splits = [
        ...new Set(Array.from({ length: Math.floor(rand.next() * 8) }, () => key().toString())),
      ].sort((x, y) => Buffer.compare(b(x), b(y)));
      const tablets = tabletsAt(splits);
      // Keep only a random subset (the cache may know part of a table: truncated answers).
      const known = tablets.filter(() => rand.next() < 0.8);
      for (let i = 0; i < 200; i++) {
        const k = key();
        const model = known.find(
          (t) => t.startRow.compare(k) <= 0 && (t.endRow === undefined || k.compare(t.endRow) < 0),
        );
        assert.equal(findTablet(known, k), model, `key ${k.toString('hex')}`);
      }
    });
  }
});

test('a read stays in one tablet only when every key and range does', () => {
  const [first, second] = tabletsAt(['m']) as [TabletLocation, TabletLocation];
  const rows = (r: Partial<RowSet>): RowSet => ({ rowKeys: [], rowRanges: [], ...r });
  assert.ok(rowSetWithin(rows({ rowKeys: [b('a'), b('l')] }), first));
  assert.ok(!rowSetWithin(rows({ rowKeys: [b('a'), b('m')] }), first));
  assert.ok(
    rowSetWithin(
      rows({
        rowRanges: [
          { startKey: 'startKeyClosed', startKeyClosed: b('b'), endKey: 'endKeyOpen', endKeyOpen: b('m') },
        ],
      }),
      first,
    ),
  );
  assert.ok(
    !rowSetWithin(
      rows({
        rowRanges: [
          {
            startKey: 'startKeyClosed',
            startKeyClosed: b('b'),
            endKey: 'endKeyClosed',
            endKeyClosed: b('m'),
          },
        ],
      }),
      first,
    ),
  );
  assert.ok(
    !rowSetWithin(rows({ rowRanges: [{ startKey: 'startKeyClosed', startKeyClosed: b('b') }] }), first),
  );
  assert.ok(
    rowSetWithin(rows({ rowRanges: [{ startKey: 'startKeyClosed', startKeyClosed: b('m') }] }), second),
  );
  assert.ok(!rowSetWithin(rows({ rowKeys: [b('a')] }), second));
  assert.ok(!rowSetWithin(undefined, first), 'a whole-table read spans tablets');
  assert.ok(rowSetWithin(undefined, tabletsAt([])[0] as TabletLocation), 'unless the table has one');
});

test('owner channels are bounded: idle ones are evicted, busy ones never', () => {
  const closed: string[] = [];
  const pool = new OwnerChannels((address) => ({ address, close: () => closed.push(address) }), 2);
  const a = pool.acquire('a');
  const bLease = pool.acquire('b');
  assert.equal(pool.acquire('c'), undefined, 'full of busy channels: none');
  a?.release();
  a?.release();
  const c = pool.acquire('c');
  assert.equal(c?.channel.address, 'c');
  assert.deepEqual(closed, ['a'], 'the idle one was closed');
  assert.equal(pool.acquire('b')?.channel, bLease?.channel, 'one channel per address');
  pool.drop('b');
  assert.deepEqual(closed, ['a'], 'a channel with calls in flight is not dropped');
  pool.close();
  assert.deepEqual(closed.sort(), ['a', 'b', 'c']);
  assert.equal(pool.acquire('d'), undefined);
});

test('an answer that is not sorted and disjoint is refused', () => {
  const enc = (s: string) => b(s).toString('base64');
  const ok = decodeLocations({ tablets: [{ endRow: enc('m'), address: 'x' }, { startRow: enc('m') }] });
  assert.equal(ok.tablets.length, 2);
  assert.equal(ok.tablets[1]?.address, undefined);
  assert.throws(() => decodeLocations({ tablets: [{ endRow: enc('m') }, { startRow: enc('l') }] }));
  assert.throws(() => decodeLocations({ tablets: [{}, { startRow: enc('a') }] }));
  assert.throws(() => decodeLocations({ tablets: [{ startRow: enc('b'), endRow: enc('a') }] }));
  assert.throws(() => decodeLocations({}));
});

test('the location service answers from the view: ranges, live owners, epochs', () => {
  const tablet = (
    startRow: string | undefined,
    endRow: string | undefined,
    server: string,
    ownerEpoch: number,
  ) => ({
    assignment: {
      tablet: {
        tableId: 't',
        tabletDir: `d${ownerEpoch}`,
        startRow: startRow && b(startRow),
        endRow: endRow && b(endRow),
        timestampFloorMicros: 0,
        sources: [],
      },
      server,
      ownerEpoch,
    },
    startKey: Buffer.alloc(0),
    endKey: undefined,
  });
  let serving = true;
  const ctx = {
    view: {
      tables: new Map([['t', {}]]),
      servers: new Map([['s1', { id: 's1', address: '127.0.0.1:1', peerAddress: '127.0.0.1:2' }]]),
      revision: 7,
      tabletsOf: () => [tablet(undefined, 'm', 's1', 3), tablet('m', undefined, 'gone', 4)],
    },
    requireServing: () => {
      if (!serving) throw errors.unavailable('session lost');
    },
  } as unknown as Parameters<typeof locateTablets>[0];
  const res = locateTablets(ctx, { tableId: 't' });
  const back = decodeLocations(res as unknown as Record<string, unknown>);
  assert.deepEqual(
    back.tablets.map((t) => [t.startRow.toString(), t.endRow?.toString(), t.address, t.ownerEpoch]),
    [
      ['', 'm', '127.0.0.1:1', 3],
      ['m', undefined, undefined, 4],
    ],
  );
  assert.equal(res.revision, 7);
  assert.throws(() => locateTablets(ctx, { tableId: 'nope' }), /does not exist/);
  assert.throws(() => locateTablets(ctx, {}), /tableId/);
  serving = false;
  assert.throws(() => locateTablets(ctx, { tableId: 't' }), /session lost/);
});

/** A fake channel whose connection state the test sets. */
class FakeChannel {
  state: 'ready' | 'connecting' | 'failed' = 'ready';
  closed = false;
  constructor(readonly address: string) {}
  connectivity() {
    return this.state;
  }
  close() {
    this.closed = true;
  }
}

function fakeRouter(answer: () => TabletLocation[] | Error, nowMs = () => 0) {
  const f = fakeFetch(answer);
  const cache = new TabletLocationCache(f.fetch, { nowMs, incompleteTtlMs: 10 });
  const opened = new Map<string, FakeChannel>();
  const open = (address: string) => {
    const c = new FakeChannel(address);
    opened.set(address, c);
    return c;
  };
  const timer = (ms: number, fire: () => void) => {
    const h = setTimeout(fire, ms);
    return () => clearTimeout(h);
  };
  const router = new TabletRouter(new FakeChannel('entry'), 's0', cache, open, { timer });
  return { router, opened, f, cache };
}

test('the router uses an owner only while its channel is connected', async () => {
  let now = 0;
  const { router, opened, f } = fakeRouter(
    () => tabletsAt(['m']),
    () => now,
  );
  const first = await router.routeRow('t', b('a'), 1000);
  assert.equal(first.address, undefined, "the entry server's own tablet goes to the entry channel");
  const r1 = await router.routeRow('t', b('x'), 1000);
  assert.equal(r1.address, 's1');
  r1.release();
  const s1 = opened.get('s1') as FakeChannel;
  s1.state = 'connecting';
  assert.equal((await router.routeRow('t', b('x'), 1000)).address, undefined, 'not connected yet: entry');
  s1.state = 'failed';
  assert.equal((await router.routeRow('t', b('x'), 1000)).address, undefined, 'cannot connect: entry');
  assert.equal(f.calls.length, 1);
  now = 10;
  await router.routeRow('t', b('x'), 1000);
  assert.equal(f.calls.length, 2, 'a failed channel has the locations fetched again soon');
  s1.state = 'ready';
  const r2 = await router.routeRow('t', b('x'), 1000);
  assert.equal(r2.address, 's1');
  r2.release();
  router.noteFailure('t', r2, errors.unavailable('tablet moved'));
  assert.ok(s1.closed, 'the idle channel to a failed owner is closed');
  await router.routeRow('t', b('x'), 1000);
  assert.equal(f.calls.length, 3, 'UNAVAILABLE from an owner refreshes the locations');
  router.noteFailure('t', router.entryRoute(), errors.unavailable('x'));
  router.noteFailure('t', r2, errors.notFound('x'));
  await router.routeRow('t', b('x'), 1000);
  assert.equal(f.calls.length, 3, 'other failures leave the locations alone');
  router.close();
});

test('the router groups MutateRows by owner and bounds its wait for locations', async () => {
  const { router, opened } = fakeRouter(() => tabletsAt(['g', 'p']));
  await router.routeRow('t', b('a'), 1000);
  const groups = await router.groupRows('t', ['a', 'h', 'q', 'b', 'z'].map(b), 1000);
  assert.deepEqual(
    groups.map((g) => [g.route.address, g.indices]),
    [
      [undefined, [0, 3]],
      ['s1', [1]],
      ['s2', [2, 4]],
    ],
  );
  for (const g of groups) g.route.release();
  (opened.get('s2') as FakeChannel).state = 'connecting';
  const merged = await router.groupRows('t', ['a', 'q', 'h'].map(b), 1000);
  assert.deepEqual(
    merged.map((g) => [g.route.address, g.indices]),
    [
      [undefined, [0, 1]],
      ['s1', [2]],
    ],
    'rows of an unconnected owner join the entry group',
  );
  const hung = fakeRouter(() => tabletsAt(['m']));
  hung.f.hold();
  const t0 = performance.now();
  assert.equal(
    (await hung.router.routeRow('t', b('x'), 30)).address,
    undefined,
    'no locations in time: entry',
  );
  assert.ok(performance.now() - t0 < 1000);
});
