/**
 * HandOverWait on fake timers and a fake view: only hand-over answers are retried, the first retry
 * refreshes at once, later ones follow a view change or a pause, and the pauses are bounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HandOverWait, isHandOver } from '../../src/cluster/hand-over-wait.js';
import { movedError } from '../../src/cluster/owned-tablets.js';
import { errors } from '../../src/common/errors.js';
import { CLUSTER_HAND_OVER_WAIT_MS_MAX } from '../../src/common/limits.js';

function fakes() {
  const timers: Array<{ delayMs: number; fire: () => void }> = [];
  const listeners = new Set<() => void>();
  let refreshes = 0;
  const view = {
    refresh: async () => {
      refreshes++;
    },
    onChange: (l: () => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  const wait = new HandOverWait(
    {
      setTimer: (delayMs, callback) => {
        const remove = () => {
          const at = timers.indexOf(t);
          if (at >= 0) timers.splice(at, 1);
        };
        const t = {
          delayMs,
          fire: () => {
            remove();
            callback();
          },
        };
        timers.push(t);
        return remove;
      },
    },
    view,
  );
  return { wait, timers, listeners, refreshes: () => refreshes };
}

const opening = errors.unavailable('tablet is opening on its owner', { table: 't' });

test('only answers given before anything was applied count as hand-overs', () => {
  assert.ok(isHandOver(movedError({ tableId: 't' })));
  assert.ok(isHandOver(opening));
  assert.ok(!isHandOver(errors.unavailable('connection to the peer was lost', {})));
  assert.ok(!isHandOver(errors.invalidArgument('bad', {})));
});

test('the first retry refreshes at once; later ones wait for a view change or a pause', async () => {
  const f = fakes();
  assert.equal(await f.wait.again(opening), true);
  assert.equal(f.refreshes(), 1);
  assert.equal(f.timers.length, 0, 'no pause before the first retry');
  const second = f.wait.again(opening);
  await Promise.resolve();
  assert.equal(f.timers.length, 1);
  for (const l of [...f.listeners]) l(); // the view changed: retry now, no refresh needed
  assert.equal(await second, true);
  assert.equal(f.refreshes(), 1);
  assert.equal(f.timers.length, 0, 'the pause was cancelled');
  const third = f.wait.again(opening);
  await Promise.resolve();
  (f.timers[0] as { fire: () => void }).fire(); // the pause passed without a change: refresh
  assert.equal(await third, true);
  assert.equal(f.refreshes(), 2);
  assert.equal(f.listeners.size, 0, 'no listener left behind');
});

test('other errors are not retried, and the pauses are bounded', async () => {
  const f = fakes();
  assert.equal(await f.wait.again(errors.internal('boom', {})), false);
  let tries = 0;
  for (;;) {
    const next = f.wait.again(opening);
    await Promise.resolve();
    f.timers[0]?.fire();
    if (!(await next)) break;
    tries++;
    assert.ok(tries < 1000, 'the wait ends');
  }
  assert.ok(tries > 3, `retried ${tries} times before giving up`);
  assert.ok(CLUSTER_HAND_OVER_WAIT_MS_MAX > 0);
});
