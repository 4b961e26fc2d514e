/**
 * The master's planned moves over an embedded coordination service and a real cluster view, with
 * manual timers: a released tablet is handed over under a larger owner epoch; a move whose owner
 * does not release in time is cancelled; a move to a server that vanished is cancelled at once; a
 * move request key starts a move and is deleted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assignKey,
  decodeAssignment,
  encodeAssignment,
  encodeValue,
  loadedKey,
  moveKey,
  serverKey,
} from '../../src/cluster/cluster-keys.js';
import { ClusterView } from '../../src/cluster/cluster-view.js';
import { ManualClock } from '../../src/common/clock.js';
import { CLUSTER_MOVE_RELEASE_WAIT_MS } from '../../src/common/limits.js';
import { silentLogger } from '../../src/common/logger.js';
import type { CoordinationTimers } from '../../src/coord/coordination-timers.js';
import { EmbeddedCoordination } from '../../src/coord/embedded/embedded-coordination.js';
import { PlannedMoves } from '../../src/master/planned-moves.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';

/** Timers fired only by `fire()`. */
class ManualTimers implements CoordinationTimers {
  private readonly due: (() => void)[] = [];
  setTimer(_delayMs: number, callback: () => void) {
    let live = true;
    this.due.push(() => live && callback());
    return () => {
      live = false;
    };
  }
  fire(): void {
    for (const f of this.due.splice(0)) f();
  }
}

const tablet = {
  tableId: 't',
  tabletDir: 'd1',
  startRow: undefined,
  endRow: undefined,
  timestampFloorMicros: 0,
  sources: [],
};
const K = 't/d1';

async function setup() {
  const clock = new ManualClock();
  const timers = new ManualTimers();
  const coord = await EmbeddedCoordination.open({ dir: '/coord', vfs: new MemVfs(), clock, timers });
  for (const s of ['A', 'B'])
    await coord.put(serverKey(s), encodeValue({ id: s, address: `${s}:1`, peerAddress: `${s}:2` }));
  await coord.put(assignKey(tablet), encodeAssignment({ tablet, server: 'A', ownerEpoch: 5 }));
  const view = new ClusterView(coord, timers, (err) => assert.fail(String(err)));
  await view.start();
  const moves = new PlannedMoves({ coord, view, timers, clock, log: silentLogger() });
  moves.start();
  const assignment = async () => {
    const found = await coord.get(assignKey(tablet));
    return decodeAssignment(assignKey(tablet), found?.value as Buffer);
  };
  const until = async (ok: () => Promise<boolean>) => {
    for (let i = 0; i < 200 && !(await ok()); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(await ok(), 'condition reached');
  };
  return { coord, view, moves, timers, clock, assignment, until };
}

test('a released tablet is handed over to the target under a larger epoch', async () => {
  const { coord, view, moves, assignment, until } = await setup();
  assert.equal(await moves.begin(K, 'B'), true);
  assert.equal(await moves.begin(K, 'B'), false, 'a moving tablet does not start another move');
  await until(async () => (await assignment()).moveTo === 'B');
  assert.equal((await assignment()).server, 'A', 'the owner keeps it until it releases');
  await coord.put(loadedKey(tablet), encodeValue({ server: 'A', ownerEpoch: 5, released: true }));
  await until(async () => (await assignment()).server === 'B');
  const a = await assignment();
  assert.ok(a.ownerEpoch > 5, `epoch ${a.ownerEpoch} > 5`);
  assert.equal(a.moveTo, undefined);
  assert.equal(moves.movedRecently(K), true, 'cooling down after the hand-over');
  moves.close();
  view.close();
});

test('an owner that does not release in time keeps the tablet (the move is cancelled)', async () => {
  const { moves, view, timers, clock, assignment, until } = await setup();
  assert.equal(await moves.begin(K, 'B'), true);
  await until(async () => (await assignment()).moveTo === 'B');
  clock.advance(CLUSTER_MOVE_RELEASE_WAIT_MS);
  timers.fire();
  await until(async () => (await assignment()).moveTo === undefined);
  const a = await assignment();
  assert.deepEqual([a.server, a.ownerEpoch], ['A', 5]);
  moves.close();
  view.close();
});

test('a move to a server that vanished is cancelled; a request key starts a move', async () => {
  const { coord, moves, view, assignment, until } = await setup();
  assert.equal(await moves.begin(K, 'C'), true);
  await until(async () => (await assignment()).moveTo === undefined);
  assert.equal((await assignment()).server, 'A');
  await coord.put(moveKey(tablet), encodeValue({ to: 'B' }));
  await until(async () => (await assignment()).moveTo === 'B');
  assert.equal(await coord.get(moveKey(tablet)), undefined, 'the request is deleted');
  await coord.put(moveKey(tablet), encodeValue({ to: 'nobody' }));
  await coord.put(loadedKey(tablet), encodeValue({ server: 'A', ownerEpoch: 5, released: true }));
  await until(async () => (await assignment()).server === 'B');
  await until(async () => (await coord.get(moveKey(tablet))) === undefined);
  assert.equal((await assignment()).server, 'B', 'a request naming no live server is dropped');
  moves.close();
  view.close();
});
