/**
 * MemVfs: the crash model (unsynced data and un-dir-synced entries are lost), torn tails, fault
 * injection and capacity. Everything else in the storage tests relies on these properties.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRand } from '../../src/common/clock.js';
import { ErrorCode, hasCode, TabulaError } from '../../src/common/errors.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';

async function writeFile(vfs: MemVfs, path: string, text: string, opts: { sync?: boolean } = {}) {
  const f = await vfs.createWritable(path);
  await f.append(Buffer.from(text));
  if (opts.sync ?? true) await f.sync();
  return f;
}

async function text(vfs: MemVfs, path: string): Promise<string> {
  return (await vfs.readFile(path)).toString();
}

test('crash drops unsynced bytes and keeps the synced prefix', async () => {
  const vfs = new MemVfs();
  await vfs.mkdirp('/db');
  const f = await writeFile(vfs, '/db/a', 'abc');
  await vfs.syncDir('/db');
  await f.append(Buffer.from('def'));
  assert.equal(await text(vfs, '/db/a'), 'abcdef', 'live view sees unsynced bytes');
  const image = vfs.crashImage();
  assert.equal(await text(image, '/db/a'), 'abc');
  await f.sync();
  assert.equal(await text(vfs.crashImage(), '/db/a'), 'abcdef');
  assert.equal(await text(image, '/db/a'), 'abc', 'an image is independent of later changes');
});

test('crash drops entries whose directory was not synced, even with synced contents', async () => {
  const vfs = new MemVfs();
  await vfs.mkdirp('db');
  await writeFile(vfs, 'db/a', 'abc');
  assert.deepEqual(vfs.crashImage().allPaths(), []);
  await vfs.syncDir('db');
  assert.deepEqual(vfs.crashImage().allPaths(), ['db/a']);
  await vfs.remove('db/a');
  assert.deepEqual(vfs.allPaths(), []);
  assert.deepEqual(vfs.crashImage().allPaths(), ['db/a'], 'a remove is durable only after syncDir');
  await vfs.syncDir('db');
  assert.deepEqual(vfs.crashImage().allPaths(), []);
});

test('rename is durable only after syncDir; both directories count', async () => {
  const vfs = new MemVfs();
  await vfs.mkdirp('/d');
  await writeFile(vfs, '/d/tmp', 'new');
  await vfs.syncDir('/d');
  await vfs.rename('/d/tmp', '/d/final');
  assert.deepEqual(vfs.allPaths(), ['d/final']);
  const before = vfs.crashImage();
  assert.deepEqual(before.allPaths(), ['d/tmp']);
  assert.equal(await text(before, '/d/tmp'), 'new');
  await vfs.syncDir('/d');
  const after = vfs.crashImage();
  assert.deepEqual(after.allPaths(), ['d/final']);
  assert.equal(await text(after, '/d/final'), 'new');
});

test('rename over an existing file keeps the old file until syncDir', async () => {
  const vfs = new MemVfs();
  await vfs.mkdirp('/d');
  await writeFile(vfs, '/d/CURRENT', 'old');
  await writeFile(vfs, '/d/tmp', 'new');
  await vfs.syncDir('/d');
  await vfs.rename('/d/tmp', '/d/CURRENT');
  assert.equal(await text(vfs, '/d/CURRENT'), 'new');
  assert.equal(await text(vfs.crashImage(), '/d/CURRENT'), 'old');
});

test('a crash image works as a file system and crashes again', async () => {
  const vfs = new MemVfs();
  await vfs.mkdirp('/d');
  await writeFile(vfs, '/d/a', 'abc');
  await vfs.syncDir('/d');
  const image = vfs.crashImage();
  const g = await image.openAppendable('/d/a');
  await g.append(Buffer.from('xyz'));
  assert.equal(await text(image, '/d/a'), 'abcxyz');
  assert.equal(await text(vfs, '/d/a'), 'abc', 'the original is untouched');
  assert.equal(await text(image.crashImage(), '/d/a'), 'abc');
});

test('torn tail keeps a prefix of the unsynced suffix', async () => {
  const vfs = new MemVfs();
  await vfs.mkdirp('/d');
  const f = await writeFile(vfs, '/d/a', 'abc');
  await vfs.syncDir('/d');
  await f.append(Buffer.from('defgh'));
  assert.equal(await text(vfs.crashImage({ tornTail: 2 }), '/d/a'), 'abcde');
  assert.equal(await text(vfs.crashImage({ tornTail: 99 }), '/d/a'), 'abcdefgh');
  const seed = 42;
  const rand = new SeededRand(seed);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const got = await text(vfs.crashImage({ tornTail: 'random', rand }), '/d/a');
    assert.ok('abcdefgh'.startsWith(got) && got.startsWith('abc'), `seed=${seed} got=${got}`);
    seen.add(got);
  }
  assert.equal(seen.size, 6, `seed=${seed}: every torn length appears`);
});

test('persistence points are reported after sync, syncDir and rename', async () => {
  const vfs = new MemVfs();
  const points: string[] = [];
  vfs.onPersistencePoint = (kind, path) => points.push(`${kind} ${path}`);
  await vfs.mkdirp('/d');
  await writeFile(vfs, '/d/a', 'x');
  await vfs.syncDir('/d');
  await vfs.rename('/d/a', '/d/b');
  assert.deepEqual(points, ['sync /d/a', 'syncDir /d', 'rename /d/b']);
  assert.equal(vfs.stats.syncs, 1);
  assert.equal(vfs.stats.syncDirs, 1);
});

test('injected faults fail matching operations after afterCount, times times, changing nothing', async () => {
  const vfs = new MemVfs();
  await vfs.mkdirp('/d');
  const f = await vfs.createWritable('/d/000001.log');
  vfs.injectFault({ op: 'append', pathIncludes: '.log', afterCount: 1, errno: 'EIO', times: 2 });
  await f.append(Buffer.from('a'));
  for (let i = 0; i < 2; i++) {
    const err = await f.append(Buffer.from('b')).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof TabulaError);
    assert.equal(err.code, ErrorCode.Io);
    assert.equal(err.details.errno, 'EIO');
    assert.equal(err.details.path, '/d/000001.log');
  }
  await f.append(Buffer.from('c'));
  assert.equal(await text(vfs, '/d/000001.log'), 'ac');

  vfs.injectFault({ op: 'sync', errno: 'ENOSPC' });
  await assert.rejects(f.sync(), (e) => hasCode(e, ErrorCode.ResourceExhausted));
  await vfs.syncDir('/d');
  assert.equal(await text(vfs.crashImage(), '/d/000001.log'), '', 'a failed sync makes nothing durable');
  vfs.clearFaults();
  await f.sync();
  assert.equal(await text(vfs.crashImage(), '/d/000001.log'), 'ac');

  vfs.injectFault({ op: 'rename', errno: 'EIO' });
  await assert.rejects(vfs.rename('/d/000001.log', '/d/x'), (e) => hasCode(e, ErrorCode.Io));
  assert.deepEqual(vfs.allPaths(), ['d/000001.log']);
  vfs.injectFault({ op: 'syncDir', errno: 'EIO' });
  await assert.rejects(vfs.syncDir('/d'), (e) => hasCode(e, ErrorCode.Io));
  vfs.injectFault({ op: 'read', pathIncludes: 'log', errno: 'EIO' });
  await assert.rejects(vfs.readFile('/d/000001.log'), (e) => hasCode(e, ErrorCode.Io));
  vfs.injectFault({ op: 'create', errno: 'ENOSPC' });
  await assert.rejects(vfs.createWritable('/d/y'), (e) => hasCode(e, ErrorCode.ResourceExhausted));
  vfs.injectFault({ op: 'remove', errno: 'EIO' });
  await assert.rejects(vfs.remove('/d/000001.log'), (e) => hasCode(e, ErrorCode.Io));
  assert.deepEqual(vfs.allPaths(), ['d/000001.log']);
});

test('an append past capacity fails with RESOURCE_EXHAUSTED and writes nothing', async () => {
  const vfs = new MemVfs();
  await vfs.mkdirp('/d');
  await writeFile(vfs, '/d/a', '12345');
  const f = await vfs.createWritable('/d/b');
  vfs.capacityBytes = 8;
  await f.append(Buffer.from('123'));
  await assert.rejects(f.append(Buffer.from('x')), (e) => hasCode(e, ErrorCode.ResourceExhausted));
  assert.equal(vfs.storedBytes, 8);
  assert.equal(await text(vfs, '/d/b'), '123');
  await vfs.remove('/d/a');
  await f.append(Buffer.from('x'));
  assert.equal(await text(vfs, '/d/b'), '123x');
});

test('missing files are NOT_FOUND and corrupt flips one byte', async () => {
  const vfs = new MemVfs();
  await assert.rejects(vfs.readFile('/nope'), (e) => hasCode(e, ErrorCode.NotFound));
  await assert.rejects(vfs.openReadable('/nope'), (e) => hasCode(e, ErrorCode.NotFound));
  await assert.rejects(vfs.createWritable('/nodir/x'), (e) => hasCode(e, ErrorCode.Io));
  assert.deepEqual(await vfs.list('/nodir'), []);
  await vfs.mkdirp('/d');
  await writeFile(vfs, '/d/a', 'abc');
  vfs.corrupt('/d/a', 1, 0x01);
  assert.equal(await text(vfs, '/d/a'), 'acc');
  const r = await vfs.openReadable('/d/a');
  assert.equal(r.readSync(1, 10).toString(), 'cc');
  assert.equal(await vfs.fileSize('/d/a'), 3);
  assert.deepEqual(await vfs.list('/d'), ['a']);
});
