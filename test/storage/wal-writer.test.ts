/**
 * WalWriter: group commit (few syncs, call order kept, bounded groups), fail-stop on sync and
 * append errors, relaxed durability, and a seeded crash test: at every persistence point the
 * recovered log is a prefix of the appends that contains every acknowledged one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRand } from '../../src/common/clock.js';
import { ErrorCode, hasCode, type TabulaError } from '../../src/common/errors.js';
import { GROUP_COMMIT_BYTES_MAX } from '../../src/common/limits.js';
import { readLogRecords } from '../../src/storage/log-reader.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { WalWriter } from '../../src/storage/wal-writer.js';

const PATH = '/wal/000007.log';
const SEED = Number(process.env.TABULA_SEED ?? Math.floor(Math.random() * 2 ** 31));

async function setup() {
  const vfs = new MemVfs();
  await vfs.mkdirp('/wal');
  const wal = await WalWriter.create(vfs, PATH);
  return { vfs, wal };
}

async function records(vfs: MemVfs): Promise<string[]> {
  const out: string[] = [];
  await readLogRecords(vfs, PATH, (r) => out.push(r.toString()));
  return out;
}

/** Settles every promise; returns which resolved and the errors of the others. */
async function settle(ps: Promise<void>[]) {
  const results = await Promise.allSettled(ps);
  const ok = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
  const errs = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as TabulaError] : []));
  return { ok, errs };
}

test('create makes the directory entry durable', async () => {
  const { vfs } = await setup();
  assert.deepEqual(vfs.crashImage().allPaths(), ['wal/000007.log']);
});

test('concurrent appends share syncs and land in call order', async () => {
  const { vfs, wal } = await setup();
  const n = 200;
  const before = vfs.stats.syncs;
  await Promise.all(Array.from({ length: n }, (_, i) => wal.append(Buffer.from(`r${i}`))));
  const syncs = vfs.stats.syncs - before;
  assert.ok(syncs <= 3, `expected few syncs for ${n} appends, got ${syncs}`);
  assert.deepEqual(
    await records(vfs.crashImage()),
    Array.from({ length: n }, (_, i) => `r${i}`),
  );
  assert.equal(wal.size, await vfs.fileSize(PATH));
  await wal.close();
});

test('a group never exceeds GROUP_COMMIT_BYTES_MAX of records (but one big record goes alone)', async () => {
  const { vfs, wal } = await setup();
  const half = Buffer.alloc(GROUP_COMMIT_BYTES_MAX / 2 + 1, 0x61);
  const quarter = Buffer.alloc(GROUP_COMMIT_BYTES_MAX / 4, 0x62);
  const big = Buffer.alloc(GROUP_COMMIT_BYTES_MAX + 1, 0x63);
  const appendsBefore = vfs.stats.appends;
  await Promise.all(
    [half, half, half, big, quarter, quarter, quarter, quarter, quarter].map((r) => wal.append(r)),
  );
  // Groups: [half] [half] [half] [big] [quarter×4] [quarter].
  assert.equal(vfs.stats.appends - appendsBefore, 6);
  assert.equal((await records(vfs)).length, 9);
});

test('a sync failure fails the writer: pending and later appends reject, nothing acked after', async () => {
  const { vfs, wal } = await setup();
  await wal.append(Buffer.from('durable'));
  vfs.injectFault({ op: 'sync', errno: 'EIO', times: 1 });
  const pending = Array.from({ length: 50 }, (_, i) => wal.append(Buffer.from(`lost${i}`)));
  const { ok, errs } = await settle(pending);
  assert.deepEqual(ok, [], 'no append may resolve after its group failed to sync');
  assert.equal(errs.length, 50);
  for (const e of errs) assert.ok(hasCode(e, ErrorCode.Io), String(e));
  assert.ok(new Set(errs).size === 1, 'every pending append rejects with the one failure');
  assert.equal(wal.failure, errs[0]);
  // The fault was one-shot: a retry would now succeed, so a rejection proves fail-stop.
  await assert.rejects(wal.append(Buffer.from('later')), (e) => e === wal.failure);
  await assert.rejects(wal.sync(), (e) => e === wal.failure);
  assert.deepEqual(await records(vfs.crashImage()), ['durable']);
  await wal.close();
});

test('ENOSPC on append is RESOURCE_EXHAUSTED and fails the writer', async () => {
  const { vfs, wal } = await setup();
  await wal.append(Buffer.from('fits'));
  vfs.capacityBytes = vfs.storedBytes + 100;
  const { ok, errs } = await settle([wal.append(Buffer.alloc(200)), wal.append(Buffer.from('queued'))]);
  assert.deepEqual(ok, []);
  for (const e of errs) assert.ok(hasCode(e, ErrorCode.ResourceExhausted), String(e));
  assert.ok(hasCode(wal.failure, ErrorCode.ResourceExhausted));
  vfs.capacityBytes = Number.POSITIVE_INFINITY;
  await assert.rejects(wal.append(Buffer.from('after')), (e) => e === wal.failure);
  assert.deepEqual(await records(vfs), ['fits']);
});

test('relaxed appends are not synced until sync()', async () => {
  const { vfs, wal } = await setup();
  const syncsBefore = vfs.stats.syncs;
  await wal.append(Buffer.from('a'), false);
  await wal.append(Buffer.from('b'), false);
  assert.equal(vfs.stats.syncs, syncsBefore);
  assert.deepEqual(await records(vfs.crashImage()), []);
  await wal.sync();
  assert.equal(vfs.stats.syncs, syncsBefore + 1);
  assert.deepEqual(await records(vfs.crashImage()), ['a', 'b']);
  await wal.sync();
  assert.equal(vfs.stats.syncs, syncsBefore + 1, 'nothing to sync: no sync');
});

test('close waits for queued appends; later appends are UNAVAILABLE', async () => {
  const { vfs, wal } = await setup();
  const p = wal.append(Buffer.from('x'));
  await wal.close();
  await p;
  assert.deepEqual(await records(vfs.crashImage()), ['x']);
  await assert.rejects(wal.append(Buffer.from('y')), (e) => hasCode(e, ErrorCode.Unavailable));
});

test(`every crash point recovers a prefix holding every acked record (seed=${SEED})`, async () => {
  const rand = new SeededRand(SEED);
  for (let round = 0; round < 20; round++) {
    const { vfs, wal } = await setup();
    const expected: string[] = [];
    let acked = 0;
    const images: { image: MemVfs; acked: number }[] = [];
    vfs.onPersistencePoint = () =>
      images.push({ image: vfs.crashImage({ tornTail: 'random', rand }), acked });
    const all: Promise<void>[] = [];
    for (let burst = 0; burst < 10; burst++) {
      for (let i = rand.int(20); i >= 0; i--) {
        const rec = `${round}.${expected.length}.${'z'.repeat(rand.int(3000))}`;
        expected.push(rec);
        const index = expected.length;
        all.push(wal.append(Buffer.from(rec)).then(() => void (acked = Math.max(acked, index))));
      }
      await Promise.resolve();
      images.push({ image: vfs.crashImage({ tornTail: 'random', rand }), acked });
    }
    await Promise.all(all);
    images.push({ image: vfs.crashImage({ tornTail: 'random', rand }), acked });
    for (const { image, acked: ackedThen } of images) {
      const got = await records(image);
      assert.deepEqual(got, expected.slice(0, got.length), `seed=${SEED} round=${round}: not a prefix`);
      assert.ok(got.length >= ackedThen, `seed=${SEED} round=${round}: lost an acked record`);
    }
  }
});
