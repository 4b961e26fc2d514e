/**
 * Compaction removes what deletes cover: point tombstones, range tombstones and the versions they
 * hide disappear physically once no snapshot needs them, and a held snapshot keeps them alive.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { Engine } from '../../src/storage/engine.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { WriteBatch } from '../../src/storage/write-batch.js';

const KEYS = 2000;
const key = (i: number) => Buffer.from(`key${String(i).padStart(5, '0')}`);
const OPTIONS = { dir: '/s', memtableBytes: 16 * 1024, targetFileBytes: 8 * 1024, blockBytes: 512 };

async function fill(engine: Engine): Promise<void> {
  for (let i = 0; i < KEYS; i += 100) {
    const b = new WriteBatch();
    for (let j = i; j < i + 100; j++) b.put(key(j), Buffer.alloc(64, j % 251));
    await engine.write(b);
  }
  await engine.flush();
}

function totalFiles(engine: Engine): number {
  return engine.stats().levelFiles.reduce((a, b) => a + b, 0);
}

test('compaction drops deleted data and tombstones once no snapshot needs them', async () => {
  const engine = await Engine.open({ ...OPTIONS, vfs: new MemVfs() });
  await fill(engine);
  await engine.compactAll();
  const fullBytes = engine.stats().levelBytes.reduce((a, b) => a + b, 0);
  const stats = engine.stats();
  assert.ok(stats.flushes > 0 && stats.flushBytesWritten > 0, 'flushes are counted with their bytes');
  assert.ok(stats.compactions > 0 && stats.compactionMsTotal >= 0 && stats.walSyncs.count > 0);
  assert.ok(fullBytes > KEYS * 10, 'data was written to sstables');
  for (let i = 0; i < KEYS / 2; i++) await engine.delete(key(i));
  await engine.deleteRange(key(KEYS / 2), key(KEYS));
  await engine.compactAll();
  assert.equal(totalFiles(engine), 0, 'no sstable survives once every key is deleted');
  assert.deepEqual([...engine.scan()], []);
  await engine.close();
});

test('a held snapshot keeps deleted versions until it is released', async () => {
  const engine = await Engine.open({ ...OPTIONS, vfs: new MemVfs() });
  await fill(engine);
  const snap = engine.snapshot();
  await engine.deleteRange(key(0), key(KEYS));
  await engine.compactAll();
  assert.equal(engine.get(key(7)), undefined);
  assert.deepEqual(engine.get(key(7), snap), Buffer.alloc(64, 7));
  assert.equal([...engine.scan({}, snap)].length, KEYS);
  assert.ok(totalFiles(engine) > 0, 'the snapshot pins the deleted data');
  snap.release();
  await engine.compactAll();
  assert.equal(totalFiles(engine), 0, 'released snapshot lets compaction drop everything');
  await engine.close();
});

test('overwrites keep only the newest version after compaction', async () => {
  const engine = await Engine.open({ ...OPTIONS, vfs: new MemVfs() });
  for (let round = 0; round < 5; round++) await fill(engine);
  await engine.compactAll();
  const bytes = engine.stats().levelBytes.reduce((a, b) => a + b, 0);
  await engine.close();
  const once = await Engine.open({ ...OPTIONS, vfs: new MemVfs() });
  await fill(once);
  await once.compactAll();
  const onceBytes = once.stats().levelBytes.reduce((a, b) => a + b, 0);
  await once.close();
  assert.ok(bytes < onceBytes * 1.2, `five overwrites compact to about one copy: ${bytes} vs ${onceBytes}`);
});

test('a flush still waiting when the store closes fails with UNAVAILABLE instead of waiting forever', async () => {
  const vfs = new MemVfs();
  const engine = await Engine.open({ dir: '/db', vfs, autoCompact: false });
  await engine.put(Buffer.from('a'), Buffer.from('1'));
  const first = engine.flush();
  await engine.put(Buffer.from('b'), Buffer.from('2'));
  // Freezes a second memtable, whose flush can only start after the first one's.
  const second = engine.flush();
  const closed = engine.close();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    Promise.allSettled([first, second]).then((all) =>
      all.map((r) =>
        r.status === 'fulfilled'
          ? 'flushed'
          : hasCode(r.reason, ErrorCode.Unavailable)
            ? 'unavailable'
            : String(r.reason),
      ),
    ),
    new Promise<string[]>((resolve) => {
      timer = setTimeout(() => resolve(['still waiting']), 2_000);
    }),
  ]);
  clearTimeout(timer);
  await closed;
  assert.ok(!outcome.includes('still waiting'), 'a flush waited past close');
  assert.ok(
    outcome.every((o) => o === 'flushed' || o === 'unavailable'),
    outcome.join(),
  );
  assert.ok(engine.isClosed);
  // Nothing acknowledged is lost: the log keeps what the unflushed memtable held.
  const reopened = await Engine.open({ dir: '/db', vfs, autoCompact: false });
  assert.equal(reopened.get(Buffer.from('a'))?.toString(), '1');
  assert.equal(reopened.get(Buffer.from('b'))?.toString(), '2');
  await reopened.close();
});
