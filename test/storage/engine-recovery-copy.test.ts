/**
 * An open that replays little copies the replayed records into its new WAL instead of flushing
 * them (src/storage/engine-recovery.ts): it makes no SSTable, serves them from the memtable, and a
 * crash at any point of that open — between the copy and the manifest commit above all, where two
 * WALs hold the same records — loses nothing and opens again. Replays above
 * RECOVERY_LOG_COPY_BYTES_MAX are flushed as before.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RECOVERY_LOG_COPY_BYTES_MAX } from '../../src/common/limits.js';
import { Engine, type EngineOptions } from '../../src/storage/engine.js';
import { parseFileName } from '../../src/storage/file-names.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';

const DIR = '/store';
const KEYS = 200;

const key = (i: number) => Buffer.from(`k${String(i).padStart(5, '0')}`);
const value = (i: number, bytes = 40) => Buffer.from(`v${i}-`.padEnd(bytes, 'x'));

function options(vfs: MemVfs, ownerEpoch?: number): EngineOptions {
  return {
    dir: DIR,
    vfs,
    executor: 'inline',
    autoCompact: false,
    ...(ownerEpoch === undefined ? {} : { ownerEpoch }),
  };
}

async function tableFiles(vfs: MemVfs): Promise<number> {
  return (await vfs.list(DIR)).filter((n) => parseFileName(n)?.kind === 'sst').length;
}

async function assertHolds(engine: Engine, n: number, where: string, bytes = 40): Promise<void> {
  for (let i = 0; i < n; i++)
    assert.deepEqual(engine.get(key(i)), value(i, bytes), `${where}: write ${i} is missing`);
}

test('a small replay is copied into the new WAL: no SSTable, nothing lost across two reopens', async () => {
  for (const ownerEpoch of [undefined, 1]) {
    const vfs = new MemVfs();
    const a = await Engine.open(options(vfs, ownerEpoch));
    for (let i = 0; i < KEYS; i++) await a.put(key(i), value(i));
    // A crash, not a close: what the open replays is only in the WAL.
    const image = vfs.crashImage();
    await a.close();

    const b = await Engine.open(options(image, ownerEpoch === undefined ? undefined : 2));
    assert.equal(await tableFiles(image), 0, 'the open flushed what it replayed');
    assert.equal(b.stats().memtableEntries, KEYS, 'the replayed writes are not in the memtable');
    await assertHolds(b, KEYS, 'after the copying open');
    await b.put(key(KEYS), value(KEYS));
    const second = image.crashImage();
    await b.close();

    const c = await Engine.open(options(second, ownerEpoch === undefined ? undefined : 3));
    await assertHolds(c, KEYS + 1, 'after a crash of the copying owner');
    await c.flush();
    await c.close();
    const d = await Engine.open(options(second, ownerEpoch === undefined ? undefined : 4));
    await assertHolds(d, KEYS + 1, 'after the flush');
    await d.close();
  }
});

test('every crash point of a copying open keeps every write, and the store opens again', async () => {
  const vfs = new MemVfs();
  const a = await Engine.open(options(vfs, 1));
  for (let i = 0; i < KEYS; i++) await a.put(key(i), value(i));
  const start = vfs.crashImage();
  await a.close();

  const images: Array<{ image: MemVfs; label: string }> = [];
  start.onPersistencePoint = (kind, path) => {
    images.push({ image: start.crashImage(), label: `${kind} ${path}` });
  };
  const b = await Engine.open(options(start, 2));
  start.onPersistencePoint = undefined;
  await b.close();
  // The copy's sync and the pointer's rename are both among them: the window with two WALs holding
  // the same records is crossed.
  assert.ok(
    images.some((p) => p.label.startsWith('sync') && p.label.endsWith('.log')),
    'no copy sync seen',
  );
  assert.ok(
    images.some((p) => p.label.startsWith('rename')),
    'no manifest commit seen',
  );
  for (const { image, label } of images) {
    const again = await Engine.open(options(image, 3)).catch((err: unknown) => {
      throw new Error(`crash at ${label}: the store does not open: ${String(err)}`);
    });
    await assertHolds(again, KEYS, `crash at ${label}`);
    await again.close();
    const twice = await Engine.open(options(image, 4));
    await assertHolds(twice, KEYS, `crash at ${label}, then a reopen`);
    await twice.close();
  }
});

test('a replay above the copy bound is flushed into an SSTable', async () => {
  const vfs = new MemVfs();
  const a = await Engine.open({ ...options(vfs), memtableBytes: 64 * 1024 * 1024 });
  const bytes = 4096;
  const n = Math.ceil(RECOVERY_LOG_COPY_BYTES_MAX / bytes) + 16;
  for (let i = 0; i < n; i++) await a.put(key(i), value(i, bytes));
  const image = vfs.crashImage();
  await a.close();
  const b = await Engine.open(options(image));
  assert.ok((await tableFiles(image)) > 0, 'a large replay was not flushed');
  assert.equal(b.stats().memtableEntries, 0);
  await assertHolds(b, n, 'after the flushing open', bytes);
  await b.close();
});
