/**
 * File references between stores (src/storage/file-refs.ts): a store created from another's files
 * restricted to a key range reads exactly that range, in both directions and through range
 * tombstones; its compactions copy nothing outside the range; and it reports a referenced file
 * released only once no version of it needs the file.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Engine } from '../../src/storage/engine.js';
import type { FileSource } from '../../src/storage/file-refs.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { WriteBatch } from '../../src/storage/write-batch.js';

const KEYS = 3000;
const key = (i: number) => Buffer.from(`key${String(i).padStart(5, '0')}`);
const OPTIONS = { memtableBytes: 16 * 1024, targetFileBytes: 8 * 1024, blockBytes: 512 };

async function fill(engine: Engine): Promise<void> {
  for (let i = 0; i < KEYS; i += 100) {
    const b = new WriteBatch();
    for (let j = i; j < i + 100; j++) b.put(key(j), Buffer.from(`v${j}`));
    await engine.write(b);
  }
  // Deletes that straddle the split point, as point and range tombstones.
  await engine.deleteRange(key(1490), key(1510));
  await engine.delete(key(1600));
}

function expected(lo: number, hi: number): string[] {
  const out: string[] = [];
  for (let i = lo; i < hi; i++)
    if (!(i >= 1490 && i < 1510) && i !== 1600) out.push(`key${String(i).padStart(5, '0')}`);
  return out;
}

const keysOf = (e: Engine, reverse = false) => [...e.scan({ reverse })].map(([k]) => k.toString());

test('stores made from a parent’s files restricted to ranges read exactly their ranges', async () => {
  const vfs = new MemVfs();
  const parent = await Engine.open({ ...OPTIONS, vfs, dir: '/ns/parent' });
  await fill(parent);
  await parent.suspendCompactions();
  await parent.flush();
  const mid = key(1500);
  const left = parent.fileRefs(undefined, mid);
  const right = parent.fileRefs(mid, undefined);
  assert.ok(
    left.every((r) => r.file.source?.dir === 'parent'),
    'references name the parent store',
  );
  assert.ok(
    left.some((r) => r.file.bounded) && right.some((r) => r.file.bounded),
    'a file straddles the split',
  );
  const seq = parent.stats().lastSequence;
  await parent.close();
  await Engine.createWithFiles({ vfs, dir: '/ns/left' }, left, seq);
  await Engine.createWithFiles({ vfs, dir: '/ns/right' }, right, seq);
  const released: FileSource[] = [];
  const onSourcesReleased = (s: FileSource[]) => released.push(...s);
  const l = await Engine.open({ ...OPTIONS, vfs, dir: '/ns/left', onSourcesReleased });
  const r = await Engine.open({ ...OPTIONS, vfs, dir: '/ns/right', onSourcesReleased });
  assert.deepEqual(keysOf(l), expected(0, 1500));
  assert.deepEqual(keysOf(r), expected(1500, KEYS));
  assert.deepEqual(keysOf(r, true), expected(1500, KEYS).reverse());
  assert.equal(l.get(key(1700)), undefined, 'a key of the other half is invisible');
  assert.equal(r.get(key(1700))?.toString(), 'v1700');
  assert.equal(r.get(key(1505)), undefined, 'the clipped range tombstone still hides');
  assert.equal(r.stats().lastSequence, seq, 'sequence numbers continue');
  // New writes and a full compaction: outputs hold only the store's own range.
  await r.put(key(1501), Buffer.from('new'));
  await r.compactAll();
  assert.deepEqual(keysOf(r), [...expected(1500, KEYS), 'key01501'].sort());
  const rightBytes = r.stats().levelBytes.reduce((a, b) => a + b, 0);
  assert.ok(released.length > 0, 'references dropped by the compaction are reported');
  assert.ok(released.every((s) => s.dir === 'parent'));
  await l.compactAll();
  const leftBytes = l.stats().levelBytes.reduce((a, b) => a + b, 0);
  const ratio = rightBytes / leftBytes;
  assert.ok(ratio > 0.8 && ratio < 1.25, `halves hold about half each after compaction (ratio=${ratio})`);
  // Merge the halves again by reference: the result reads the whole range.
  await l.suspendCompactions();
  await r.suspendCompactions();
  const merged = [...l.fileRefs(undefined, mid), ...r.fileRefs(mid, undefined)];
  const mseq = Math.max(l.stats().lastSequence, r.stats().lastSequence);
  await l.close();
  await r.close();
  await Engine.createWithFiles({ vfs, dir: '/ns/merged' }, merged, mseq);
  const m = await Engine.open({ ...OPTIONS, vfs, dir: '/ns/merged' });
  assert.deepEqual(keysOf(m), [...expected(0, KEYS), 'key01501'].sort());
  await m.close();
});

test('a split of a split and a merge of unflushed-and-compacted halves keep level-0 order', async () => {
  const vfs = new MemVfs();
  const p = await Engine.open({ ...OPTIONS, vfs, dir: '/ns/p', autoCompact: false });
  // Overwrites across several level-0 files: order among them decides the visible value.
  for (let round = 0; round < 4; round++) {
    const b = new WriteBatch();
    for (let i = 0; i < 400; i++) b.put(key(i), Buffer.from(`r${round}-${i}`));
    await p.write(b);
    await p.flush();
  }
  assert.ok((p.stats().levelFiles[0] as number) >= 4);
  const a = p.fileRefs(undefined, key(200));
  const seq = p.stats().lastSequence;
  await p.close();
  await Engine.createWithFiles({ vfs, dir: '/ns/a' }, a, seq);
  const ea = await Engine.open({ ...OPTIONS, vfs, dir: '/ns/a', autoCompact: false });
  const aa = ea.fileRefs(key(100), undefined);
  await ea.close();
  await Engine.createWithFiles({ vfs, dir: '/ns/aa' }, aa, seq);
  const eaa = await Engine.open({ ...OPTIONS, vfs, dir: '/ns/aa' });
  const rows = [...eaa.scan()].map(([k, v]) => `${k}=${v}`);
  assert.equal(rows.length, 100);
  assert.ok(
    rows.every((r) => r.includes('=r3-')),
    'the newest level-0 file wins',
  );
  assert.ok(
    eaa.fileRefs(undefined, undefined).every((r) => r.file.source?.dir === 'p'),
    'sources stay physical',
  );
  await eaa.close();
});

test('a store made from files and handed the unflushed writes of its range reads what the parent reads', async () => {
  const vfs = new MemVfs();
  const parent = await Engine.open({ ...OPTIONS, vfs, dir: '/ns/parent', autoCompact: false });
  await fill(parent);
  await parent.flush();
  // Unflushed: new keys, overwrites and several versions of one key, point and range deletes of
  // flushed keys (one straddling the split), and a range delete then a put inside it.
  for (let v = 0; v < 3; v++) await parent.put(key(100), Buffer.from(`v100-${v}`));
  await parent.put(key(KEYS + 5), Buffer.from('new'));
  await parent.delete(key(10));
  await parent.deleteRange(key(1400), key(1700));
  await parent.put(key(1450), Buffer.from('after-range'));
  await parent.deleteRange(key(2000), key(2010));
  const mid = key(1500);
  const seq = parent.stats().lastSequence;
  const halves: Array<[Buffer | undefined, Buffer | undefined]> = [
    [undefined, mid],
    [mid, undefined],
  ];
  const parentView = (lo: Buffer | undefined, hi: Buffer | undefined) =>
    [...parent.scan({ start: lo, end: hi })].map(([k, v]) => `${k}=${v}`);
  for (const [i, [lo, hi]] of halves.entries()) {
    const dir = `/ns/child${i}`;
    await Engine.createWithFiles({ vfs, dir }, parent.fileRefs(lo, hi), seq);
    const child = await Engine.open({ ...OPTIONS, vfs, dir });
    try {
      const batches = parent.unflushedBatches(lo, hi);
      assert.ok(batches.length > 0);
      for (const batch of batches) await child.write(batch);
      const view = [...child.scan()].map(([k, v]) => `${k}=${v}`);
      assert.deepEqual(view, parentView(lo, hi));
      // The hand-over is durable in the child's own log.
      await child.close();
      const reopened = await Engine.open({ ...OPTIONS, vfs, dir });
      assert.deepEqual(
        [...reopened.scan()].map(([k, v]) => `${k}=${v}`),
        view,
      );
      await reopened.close();
    } finally {
      await child.close();
    }
  }
  // Nothing of a range the memtables do not touch.
  assert.deepEqual(parent.unflushedBatches(key(2500), key(2600)), []);
  await parent.close();
});
