/**
 * Crash-state test of the embedded coordination driver. A random workload of puts (some
 * compare-and-set), deletes (some compare-and-delete), lock acquires and releases, clock advances
 * and reopens runs on MemVfs against a simple model that predicts every result. At every
 * persistence point (each fsync, directory fsync and rename) the disk image a power loss would
 * leave is taken, also with a torn tail. Every image must open and hold exactly the state after
 * the acknowledged operations, or after those plus the one in flight (a prefix of the operations,
 * holding every acknowledged one). The recovered store must then accept a change, grant an epoch
 * above every epoch granted before the crash, and reopen again.
 *
 * Every workload derives from the printed seed; TABULA_SEED=n replays it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, type SeededRand } from '../../src/common/clock.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import type { Lease } from '../../src/coord/coordination.js';
import { compareKeys } from '../../src/coord/coordination-input.js';
import type { CoordinationState } from '../../src/coord/embedded/coordination-state.js';
import { EmbeddedCoordination } from '../../src/coord/embedded/embedded-coordination.js';
import { readStateFile } from '../../src/coord/embedded/state-file.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { testSeeds, withSeed } from '../support/seed.js';

const WORKLOADS = 12;
const OPS_PER_WORKLOAD = 60;
const DIR = '/coord';
const TTL_MS = 1_000;

/** What the durable state should be: keys with versions, the revision and the last epoch. */
interface Model {
  entries: Map<string, { value: string; version: number }>;
  revision: number;
  lastEpoch: number;
}

function render(m: {
  revision: number;
  lastEpoch: number;
  entries: Iterable<[string, string, number]>;
}): string {
  const entries = [...m.entries].sort(([a], [b]) => compareKeys(a, b));
  return JSON.stringify({ revision: m.revision, lastEpoch: m.lastEpoch, entries });
}

function renderModel(m: Model): string {
  return render({
    revision: m.revision,
    lastEpoch: m.lastEpoch,
    entries: [...m.entries].map(([k, e]) => [k, e.value, e.version] as [string, string, number]),
  });
}

function renderState(s: CoordinationState): string {
  return render({
    revision: s.revision,
    lastEpoch: s.lastEpoch,
    entries: [...s.entries].map(
      ([k, e]) => [k, e.value.toString('utf8'), e.version] as [string, string, number],
    ),
  });
}

interface Env {
  coord: EmbeddedCoordination;
  readonly vfs: MemVfs;
  readonly clock: ManualClock;
  readonly model: Model;
  /** Valid leases held, by lock name (mirrors the driver's holders). */
  readonly leases: Map<string, Lease>;
}

/** Runs one random operation against the driver and the model, checking the driver's answer. */
async function runOp(env: Env, rand: SeededRand, i: number): Promise<void> {
  const { coord, model } = env;
  const key = `k/${rand.int(8)}`;
  const current = model.entries.get(key);
  const r = rand.int(20);
  if (r < 8) {
    const value = `${i}:${'v'.repeat(rand.int(30))}`;
    const cas =
      rand.int(3) === 0
        ? rand.int(2) === 0
          ? (current?.version ?? 0)
          : rand.int(model.revision + 2)
        : undefined;
    if (cas !== undefined && cas !== (current?.version ?? 0)) {
      await assert.rejects(coord.put(key, Buffer.from(value), { expectedVersion: cas }), (err: unknown) =>
        hasCode(err, ErrorCode.FailedPrecondition),
      );
      return;
    }
    const version = await coord.put(key, Buffer.from(value), { expectedVersion: cas });
    assert.equal(version, model.revision + 1);
    model.revision = version;
    model.entries.set(key, { value, version });
  } else if (r < 12) {
    const cas = rand.int(3) === 0 ? rand.int(model.revision + 2) : undefined;
    if (cas !== undefined && cas !== (current?.version ?? 0)) {
      await assert.rejects(coord.delete(key, { expectedVersion: cas }), (err: unknown) =>
        hasCode(err, ErrorCode.FailedPrecondition),
      );
      return;
    }
    assert.equal(await coord.delete(key, { expectedVersion: cas }), current !== undefined);
    if (current) {
      model.revision++;
      model.entries.delete(key);
    }
  } else if (r < 17) {
    const name = `lock/${rand.int(3)}`;
    const owner = `o${rand.int(3)}`;
    const held = env.leases.get(name);
    const lease = await coord.acquireLock(name, owner, TTL_MS);
    if (held && held.owner !== owner) {
      assert.equal(lease, undefined);
      return;
    }
    assert.equal(lease?.epoch, model.lastEpoch + 1);
    model.lastEpoch++;
    env.leases.set(name, lease!);
  } else if (r < 18) {
    const [name, lease] = [...env.leases][rand.int(env.leases.size)] ?? [];
    if (name === undefined || !lease) return;
    await lease.release();
    env.leases.delete(name);
  } else {
    env.clock.advance(rand.int(TTL_MS));
    for (const [name, lease] of env.leases) {
      if (rand.int(2) === 0) assert.equal(await lease.renew(), lease.isValid());
      if (!lease.isValid()) env.leases.delete(name);
    }
  }
}

interface CrashPoint {
  image: MemVfs;
  acked: number;
  label: string;
}

async function checkRecovery(point: CrashPoint, states: string[], ackedEpoch: number): Promise<void> {
  const where = `crash at ${point.label} after ${point.acked} acknowledged operations`;
  const durable = await readStateFile(point.image, DIR);
  const recovered = durable ? renderState(durable) : states[0];
  const allowed = states.slice(point.acked, point.acked + 2);
  assert.ok(
    allowed.includes(recovered ?? ''),
    `${where}: state is not a prefix holding every acknowledged one`,
  );
  const coord = await EmbeddedCoordination.open({ dir: DIR, vfs: point.image, clock: new ManualClock() });
  const revision = durable?.revision ?? 0;
  assert.equal(await coord.put('after-crash', Buffer.from('ok')), revision + 1, where);
  const lease = await coord.acquireLock('lock/0', 'recovery', TTL_MS);
  assert.ok(lease, where);
  assert.equal(lease.epoch, (durable?.lastEpoch ?? 0) + 1, where);
  assert.ok(lease.epoch > ackedEpoch, `${where}: epoch ${lease.epoch} reuses an acknowledged one`);
  await coord.close();
  const again = await EmbeddedCoordination.open({ dir: DIR, vfs: point.image });
  assert.equal((await again.get('after-crash'))?.value.toString(), 'ok', where);
  await again.close();
}

async function runWorkload(rand: SeededRand): Promise<number> {
  const vfs = new MemVfs();
  const clock = new ManualClock();
  const model: Model = { entries: new Map(), revision: 0, lastEpoch: 0 };
  const env: Env = {
    coord: await EmbeddedCoordination.open({ dir: DIR, vfs, clock }),
    vfs,
    clock,
    model,
    leases: new Map(),
  };
  const points: CrashPoint[] = [];
  let acked = 0;
  vfs.onPersistencePoint = (kind, path) => {
    points.push({ image: vfs.crashImage(), acked, label: `${kind} ${path}` });
    if (rand.int(3) === 0) {
      points.push({
        image: vfs.crashImage({ tornTail: 'random', rand }),
        acked,
        label: `torn ${kind} ${path}`,
      });
    }
  };
  // states[p] = the durable state after the first p operations; epochs[p] = last epoch then.
  const states: string[] = [renderModel(model)];
  const epochs: number[] = [0];
  for (let i = 0; i < OPS_PER_WORKLOAD; i++) {
    await runOp(env, rand, i);
    states.push(renderModel(model));
    epochs.push(model.lastEpoch);
    acked = i + 1;
    if (rand.int(25) === 0) {
      await env.coord.close();
      env.coord = await EmbeddedCoordination.open({ dir: DIR, vfs, clock });
      env.leases.clear();
    }
  }
  await env.coord.close();
  vfs.onPersistencePoint = undefined;
  for (const point of points) {
    await checkRecovery(point, states, epochs[point.acked] ?? 0);
  }
  return points.length;
}

test('every crash point of every workload recovers a prefix holding every acknowledged operation', async () => {
  let total = 0;
  const seeds = testSeeds(WORKLOADS);
  for (const seed of seeds) total += await withSeed(seed, (rand) => runWorkload(rand));
  assert.ok(total >= seeds.length * 60, `too few crash points exercised: ${total}`);
  console.log(`coordination crash states checked: ${total} over ${seeds.length} workloads`);
});
