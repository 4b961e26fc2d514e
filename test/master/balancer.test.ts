/**
 * The balancer as a pure function: given servers and tablet loads it plans capped moves that
 * even out count, size and request rate, pays a move penalty (no churn on an even cluster), leaves
 * tablets of dead servers alone, and is deterministic for a seed (printed; TABULA_SEED replays).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRand } from '../../src/common/clock.js';
import { type BalancerTablet, clusterCost, planMoves } from '../../src/master/balancer.js';
import { testSeeds } from '../support/seed.js';

function tablets(placement: Record<string, number>, bytes = () => 1000, rps = () => 10): BalancerTablet[] {
  const out: BalancerTablet[] = [];
  let i = 0;
  for (const [server, n] of Object.entries(placement))
    for (let k = 0; k < n; k++, i++)
      out.push({ key: `t/${String(i).padStart(3, '0')}`, server, bytes: bytes(), requestsPerSec: rps() });
  return out;
}

function counts(ts: readonly BalancerTablet[], moves: ReturnType<typeof planMoves>): Map<string, number> {
  const where = new Map(ts.map((t) => [t.key, t.server]));
  for (const m of moves) where.set(m.key, m.to);
  const out = new Map<string, number>();
  for (const s of where.values()) out.set(s, (out.get(s) ?? 0) + 1);
  return out;
}

test('a joining server gets its share, capped per round, in rounds that converge', () => {
  for (const seed of testSeeds(3)) {
    console.log(`balancer seed ${seed}`);
    const rand = new SeededRand(seed);
    let ts = tablets({ a: 8, b: 8, c: 8 });
    const servers = ['a', 'b', 'c', 'd'];
    const first = planMoves(servers, ts, 4, rand);
    assert.equal(first.length, 4, `seed ${seed}: capped at 4 moves`);
    assert.ok(
      first.every((m) => m.to === 'd'),
      `seed ${seed}: every move goes to the empty server: ${JSON.stringify(first)}`,
    );
    const moved = new Map(first.map((m) => [m.key, m.to]));
    ts = ts.map((t) => ({ ...t, server: moved.get(t.key) ?? t.server }));
    const second = planMoves(servers, ts, 4, rand);
    const final = counts(ts, second);
    assert.deepEqual([...final.values()].sort(), [6, 6, 6, 6], `seed ${seed}: ${JSON.stringify([...final])}`);
    assert.equal(second.length, 2, `seed ${seed}: only the moves needed`);
  }
});

test('an even cluster plans no move (the move penalty)', () => {
  const ts = tablets({ a: 6, b: 6, c: 6, d: 6 });
  assert.deepEqual(planMoves(['a', 'b', 'c', 'd'], ts, 4, new SeededRand(1)), []);
  // One tablet more on one server: moving it would only shift the excess; no move either.
  const odd = tablets({ a: 7, b: 6, c: 6, d: 6 });
  assert.deepEqual(planMoves(['a', 'b', 'c', 'd'], odd, 4, new SeededRand(1)), []);
});

test('with equal counts, size and request rate decide which tablets move', () => {
  // Server a holds the two big, hot tablets; b two small, cold ones: swapping one each way evens it.
  const ts: BalancerTablet[] = [
    { key: 't/0', server: 'a', bytes: 1e9, requestsPerSec: 1000 },
    { key: 't/1', server: 'a', bytes: 1e9, requestsPerSec: 1000 },
    { key: 't/2', server: 'b', bytes: 1e3, requestsPerSec: 1 },
    { key: 't/3', server: 'b', bytes: 1e3, requestsPerSec: 1 },
  ];
  const before = clusterCost(['a', 'b'], ts);
  const moves = planMoves(['a', 'b'], ts, 4, new SeededRand(7));
  assert.ok(moves.length >= 1, 'moves planned');
  assert.equal(moves[0]?.from, 'a', 'a big tablet leaves a first');
  const where = new Map(ts.map((t) => [t.key, t.server]));
  for (const m of moves) where.set(m.key, m.to);
  const after = clusterCost(
    ['a', 'b'],
    ts.map((t) => ({ ...t, server: where.get(t.key) as string })),
  );
  assert.ok(after < before / 2, `cost ${before.toFixed(3)} → ${after.toFixed(3)}`);
});

test('tablets of servers not live are left to failover; one live server: no move', () => {
  const ts = tablets({ gone: 5, a: 1, b: 1 });
  const moves = planMoves(['a', 'b'], ts, 4, new SeededRand(3));
  assert.ok(moves.every((m) => m.from !== 'gone'));
  assert.deepEqual(planMoves(['a'], tablets({ a: 10 }), 4, new SeededRand(3)), []);
});

test('deterministic for a seed, whatever the input order', () => {
  for (const seed of testSeeds(2)) {
    console.log(`balancer seed ${seed}`);
    const r = new SeededRand(seed);
    const ts = tablets(
      { a: 12, b: 3, c: 9, d: 0, e: 5 },
      () => 1000 + r.int(100_000),
      () => r.int(500),
    );
    const servers = ['a', 'b', 'c', 'd', 'e'];
    const one = planMoves(servers, ts, 6, new SeededRand(seed));
    const two = planMoves([...servers].reverse(), [...ts].reverse(), 6, new SeededRand(seed));
    assert.deepEqual(one, two, `seed ${seed}`);
    assert.equal(one.length, 6, `seed ${seed}: a skewed cluster uses the whole cap`);
  }
});

test('pinned tablets count where they are but never move', () => {
  const ts = tablets({ a: 8, b: 0 }).map((t, i) => ({ ...t, pinned: i < 6 }));
  const moves = planMoves(['a', 'b'], ts, 8, new SeededRand(5));
  assert.equal(moves.length, 2, 'only the two unpinned tablets can go');
  assert.ok(moves.every((m) => !ts.find((t) => t.key === m.key)?.pinned));
});

test('the noise of a nearly idle cluster is no imbalance (floors, minimum cost)', () => {
  // Even counts; one server's tablets see 4 requests/s and hold a few MB more: nothing moves.
  const ts = tablets({ a: 4, b: 4 }).map((t) =>
    t.server === 'a' ? { ...t, requestsPerSec: 4, bytes: 4e6 } : { ...t, requestsPerSec: 0, bytes: 1e6 },
  );
  assert.deepEqual(planMoves(['a', 'b'], ts, 4, new SeededRand(2)), []);
  // The same skew at real load does move tablets.
  const hot = ts.map((t) => (t.server === 'a' ? { ...t, requestsPerSec: 4000, bytes: 4e9 } : t));
  assert.ok(planMoves(['a', 'b'], hot, 4, new SeededRand(2)).length > 0);
});
