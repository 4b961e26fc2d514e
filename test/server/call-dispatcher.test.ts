/**
 * The call dispatcher on a fake clock and a manual turn queue: starts at arrival while a
 * connection has nothing waiting, round-robin over connections once some wait, and no more than
 * the turn budget of starting work per turn.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallDispatcher, type DispatcherRuntime } from '../../src/server/call-dispatcher.js';

interface Harness {
  readonly dispatcher: CallDispatcher<string>;
  readonly started: string[];
  /** Runs the next deferred turn; false when none is pending. */
  turn(): boolean;
  /** A start that takes `costMs` on the fake clock. */
  start(name: string, costMs: number, wanted?: () => boolean): { run(): void; wanted(): boolean };
}

function harness(budgetMs: number): Harness {
  let nowMs = 0;
  const deferred: Array<() => void> = [];
  const runtime: DispatcherRuntime = { nowMs: () => nowMs, defer: (fn) => deferred.push(fn) };
  const started: string[] = [];
  return {
    dispatcher: new CallDispatcher<string>(budgetMs, runtime),
    started,
    turn: () => {
      const next = deferred.shift();
      next?.();
      return next !== undefined;
    },
    start: (name, costMs, wanted = () => true) => ({
      run: () => {
        started.push(name);
        nowMs += costMs;
      },
      wanted,
    }),
  };
}

test('a call on a connection with nothing waiting starts at once; the arrival budget bounds that', () => {
  const h = harness(5);
  h.dispatcher.submit('a', h.start('a1', 2));
  h.dispatcher.submit('b', h.start('b1', 2));
  assert.deepEqual(h.started, ['a1', 'b1']);
  // 4 ms used of 5: the next one still starts at arrival, the one after waits for the next turn.
  h.dispatcher.submit('c', h.start('c1', 2));
  h.dispatcher.submit('d', h.start('d1', 2));
  assert.deepEqual(h.started, ['a1', 'b1', 'c1']);
  assert.equal(h.dispatcher.waitingStarts(), 1);
  assert.ok(h.turn());
  assert.deepEqual(h.started, ['a1', 'b1', 'c1', 'd1']);
  assert.equal(h.dispatcher.waitingStarts(), 0);
});

test('waiting starts are taken round-robin over connections, a turn budget at a time', () => {
  const h = harness(5);
  h.dispatcher.submit('flood', h.start('f0', 5)); // spends the arrival budget
  for (let i = 1; i <= 6; i++) h.dispatcher.submit('flood', h.start(`f${i}`, 1));
  h.dispatcher.submit('light', h.start('l1', 1));
  h.dispatcher.submit('light', h.start('l2', 1));
  assert.deepEqual(h.started, ['f0']);
  assert.ok(h.turn());
  // Five 1 ms starts fit the turn: alternating connections while both have some.
  assert.deepEqual(h.started, ['f0', 'f1', 'l1', 'f2', 'l2', 'f3']);
  assert.ok(h.turn());
  assert.deepEqual(h.started.slice(6), ['f4', 'f5', 'f6']);
  assert.equal(h.turn(), false, 'no turn is scheduled once nothing waits');
});

test('a connection that waits behind a flood is served within one round, not after the flood', () => {
  const h = harness(3);
  h.dispatcher.submit('flood', h.start('f0', 3));
  for (let i = 1; i <= 100; i++) h.dispatcher.submit('flood', h.start(`f${i}`, 1));
  h.dispatcher.submit('light', h.start('light', 1));
  h.turn();
  assert.ok(h.started.includes('light'), `started: ${h.started.join(' ')}`);
  assert.ok(h.started.length <= 4, 'the turn budget bounds the work of one turn');
});

test('starts no longer wanted are dropped; a forgotten connection drops its waiting starts', () => {
  const h = harness(1);
  h.dispatcher.submit('a', h.start('a0', 1));
  h.dispatcher.submit(
    'a',
    h.start('a1', 1, () => false),
  );
  h.dispatcher.submit('b', h.start('b1', 1));
  h.dispatcher.submit('c', h.start('c1', 1));
  h.dispatcher.forget('b');
  assert.equal(h.dispatcher.waitingStarts(), 2);
  h.turn();
  h.turn();
  assert.deepEqual(h.started, ['a0', 'c1']);
  assert.equal(h.dispatcher.waitingStarts(), 0);
});

test('a start that throws does not stop the others', () => {
  const h = harness(10);
  h.dispatcher.submit('a', h.start('a0', 10));
  h.dispatcher.submit('a', {
    run: () => {
      throw new Error('boom');
    },
    wanted: () => true,
  });
  h.dispatcher.submit('a', h.start('a2', 1));
  h.turn();
  assert.deepEqual(h.started, ['a0', 'a2']);
});
