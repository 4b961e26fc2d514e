/**
 * SSTable writer + reader on the real file system (under os.tmpdir()): every option combination
 * against an in-memory model (gets at many snapshots, iterator moves, range tombstones,
 * properties), the block cache path, and corruption: random byte flips anywhere in the file must
 * either raise DATA_LOSS naming the path or return exactly the right data.
 * Replay a failure with TEST_SEED=<seed printed in the failure message>.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SeededRand } from '../../src/common/clock.js';
import { hasCode } from '../../src/common/errors.js';
import { BlockCache } from '../../src/storage/block-cache.js';
import type { CompressionName } from '../../src/storage/compression.js';
import {
  compareInternalKeys,
  compareUserKeyOf,
  encodeInternalKey,
  type RangeTombstone,
  sequenceOf,
} from '../../src/storage/internal-key.js';
import type { InternalIterator } from '../../src/storage/iterator.js';
import { RealVfs } from '../../src/storage/real-vfs.js';
import { SstableReader } from '../../src/storage/sstable-reader.js';
import { SstableWriter, type SstableWriterOptions } from '../../src/storage/sstable-writer.js';

const seed = process.env.TEST_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.TEST_SEED);
const vfs = new RealVfs();
const dir = mkdtempSync(join(tmpdir(), 'tabula-sstable-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Entry {
  key: Buffer;
  value: Buffer;
}

interface Dataset {
  entries: Entry[];
  userKeys: Buffer[];
  tombstones: RangeTombstone[];
  maxSequence: number;
}

function makeDataset(rand: SeededRand, userKeyCount: number): Dataset {
  const entries: Entry[] = [];
  const userKeys: Buffer[] = [];
  let sequence = 1;
  for (let i = 0; i < userKeyCount; i++) {
    const user = Buffer.from(`user${String(i * 7).padStart(6, '0')}${'x'.repeat(rand.int(3))}`);
    userKeys.push(user);
    for (let v = 1 + rand.int(3); v > 0; v--) {
      const kind = rand.int(5) === 0 ? 0 : 1;
      const value = kind === 0 ? Buffer.alloc(0) : Buffer.from(`v${sequence}-${'abcd'.repeat(rand.int(30))}`);
      entries.push({ key: encodeInternalKey(user, (sequence += 1 + rand.int(3)), kind), value });
    }
  }
  entries.sort((a, b) => compareInternalKeys(a.key, b.key));
  const tombstones: RangeTombstone[] = [];
  for (let i = rand.int(4); i > 0; i--) {
    const a = userKeys[rand.int(userKeys.length)] as Buffer;
    tombstones.push({
      start: a,
      end: Buffer.concat([a, Buffer.from([0xff])]),
      sequence: 1 + rand.int(sequence),
    });
  }
  return { entries, userKeys, tombstones, maxSequence: sequence };
}

async function writeTable(path: string, data: Dataset, options: SstableWriterOptions): Promise<void> {
  const file = await vfs.createWritable(path);
  const writer = new SstableWriter(file, options);
  for (const t of data.tombstones) writer.addRangeTombstone(t);
  for (const e of data.entries) await writer.add(e.key, e.value);
  const props = await writer.finish();
  assert.equal(props.entryCount, data.entries.length);
  await file.sync();
  await file.close();
}

function modelGet(data: Dataset, user: Buffer, snapshot: number): Entry | undefined {
  return data.entries.find((e) => compareUserKeyOf(e.key, user) === 0 && sequenceOf(e.key) <= snapshot);
}

function entryAt(it: InternalIterator): Entry | undefined {
  return it.valid() ? { key: it.key(), value: it.value() } : undefined;
}

function sortedTombstones(ts: RangeTombstone[]): RangeTombstone[] {
  return [...ts].sort(
    (a, b) => Buffer.compare(a.start, b.start) || b.sequence - a.sequence || Buffer.compare(a.end, b.end),
  );
}

/** Checks everything readable against the model; throws on the first difference. */
function checkAll(reader: SstableReader, data: Dataset, rand: SeededRand, seekCount: number): void {
  const { entries } = data;
  assert.deepEqual(reader.rangeTombstones, sortedTombstones(data.tombstones));
  for (const user of data.userKeys) {
    for (const snapshot of [0, rand.int(data.maxSequence + 2), data.maxSequence]) {
      assert.deepEqual(reader.get(user, snapshot), modelGet(data, user, snapshot));
    }
    assert.equal(reader.get(Buffer.concat([user, Buffer.from('!')]), data.maxSequence), undefined);
  }
  const it = reader.newIterator();
  const forward: Entry[] = [];
  for (it.seekToFirst(); it.valid(); it.next()) forward.push({ key: it.key(), value: it.value() });
  assert.deepEqual(forward, entries);
  const backward: Entry[] = [];
  for (it.seekToLast(); it.valid(); it.prev()) backward.push({ key: it.key(), value: it.value() });
  assert.deepEqual(backward, [...entries].reverse());
  for (let i = 0; i < seekCount && entries.length > 0; i++) {
    const base = entries[rand.int(entries.length)] as Entry;
    const target = encodeInternalKey(
      base.key.subarray(0, base.key.length - 8),
      rand.int(data.maxSequence + 2),
      1,
    );
    let lb = entries.findIndex((e) => compareInternalKeys(e.key, target) >= 0);
    if (lb < 0) lb = entries.length;
    it.seek(target);
    assert.deepEqual(entryAt(it), entries[lb]);
    if (it.valid() && rand.int(2) === 0) {
      it.prev();
      assert.deepEqual(entryAt(it), entries[lb - 1]);
    }
    const exact = lb < entries.length && compareInternalKeys((entries[lb] as Entry).key, target) === 0;
    it.seekForPrev(target);
    assert.deepEqual(entryAt(it), entries[exact ? lb : lb - 1]);
  }
}

const combos: SstableWriterOptions[] = [];
for (const blockBytes of [48, 4096]) {
  for (const compression of ['none', 'snappy', 'lz4'] as CompressionName[]) {
    for (const bloomBitsPerKey of [0, 10]) {
      combos.push({ blockBytes, restartInterval: blockBytes < 100 ? 2 : 16, bloomBitsPerKey, compression });
    }
  }
}

test('every option combination reads back exactly what was written', async () => {
  for (const [i, options] of combos.entries()) {
    const rand = new SeededRand(seed + i);
    const data = makeDataset(rand, 150);
    const path = join(dir, `combo-${i}.sst`);
    await writeTable(path, data, options);
    const reader = SstableReader.open(await vfs.openReadable(path), i);
    try {
      checkAll(reader, data, rand, 60);
      reader.verifyChecksums();
      assert.equal(reader.properties.entryCount, data.entries.length);
      assert.deepEqual(reader.properties.smallestKey, data.entries[0]?.key);
      assert.deepEqual(reader.properties.largestKey, data.entries.at(-1)?.key);
      assert.equal(reader.properties.rangeTombstoneCount, data.tombstones.length);
      for (const u of data.userKeys) assert.ok(reader.mayContain(u));
    } catch (err) {
      throw new Error(`seed=${seed} options=${JSON.stringify(options)}: ${String(err)}`, { cause: err });
    } finally {
      await reader.close();
    }
  }
});

test('reads through a block cache hit the cache and agree with the model', async () => {
  const rand = new SeededRand(seed);
  const data = makeDataset(rand, 200);
  const path = join(dir, 'cached.sst');
  await writeTable(path, data, {
    blockBytes: 256,
    restartInterval: 4,
    bloomBitsPerKey: 10,
    compression: 'lz4',
  });
  const cache = new BlockCache({ capacityBytes: 4096 });
  const reader = SstableReader.open(await vfs.openReadable(path), 42, cache);
  checkAll(reader, data, rand, 30);
  checkAll(reader, data, rand, 30);
  const stats = cache.stats();
  assert.ok(stats.hits > 0 && stats.usedBytes <= 4096, JSON.stringify(stats));
  const first = data.entries[0] as Entry;
  assert.equal(reader.approximateOffsetOf(first.key), 0);
  assert.ok(reader.approximateOffsetOf(encodeInternalKey(Buffer.from('zzz'), 1, 1)) > 0);
  cache.evictFile(42);
  assert.equal(cache.stats().usedBytes, 0);
  await reader.close();
});

test('a table with only range tombstones, and an empty table, open and read', async () => {
  for (const tombstones of [[{ start: Buffer.from('a'), end: Buffer.from('b'), sequence: 9 }], []]) {
    const data: Dataset = { entries: [], userKeys: [Buffer.from('a')], tombstones, maxSequence: 10 };
    const path = join(dir, `empty-${tombstones.length}.sst`);
    await writeTable(path, data, {
      blockBytes: 4096,
      restartInterval: 16,
      bloomBitsPerKey: 10,
      compression: 'snappy',
    });
    const reader = SstableReader.open(await vfs.openReadable(path), 1);
    checkAll(reader, data, new SeededRand(seed), 5);
    assert.equal(reader.properties.smallestKey, undefined);
    reader.verifyChecksums();
    await reader.close();
  }
});

test('keys out of order are a programmer error', async () => {
  const file = await vfs.createWritable(join(dir, 'order.sst'));
  const writer = new SstableWriter(file, {
    blockBytes: 4096,
    restartInterval: 16,
    bloomBitsPerKey: 0,
    compression: 'none',
  });
  await writer.add(encodeInternalKey(Buffer.from('b'), 1, 1), Buffer.from('x'));
  await assert.rejects(
    writer.add(encodeInternalKey(Buffer.from('a'), 1, 1), Buffer.from('x')),
    /strictly increase/,
  );
  await assert.rejects(
    writer.add(encodeInternalKey(Buffer.from('b'), 1, 1), Buffer.from('x')),
    /strictly increase/,
  );
  await file.close();
});

async function flipAndCheck(source: Buffer, data: Dataset, rand: SeededRand, index: number): Promise<string> {
  const damaged = Buffer.from(source);
  const position = rand.int(damaged.length);
  damaged[position] = (damaged[position] as number) ^ (1 + rand.int(255));
  const path = join(dir, `flip-${index % 4}.sst`);
  writeFileSync(path, damaged);
  const file = await vfs.openReadable(path);
  try {
    const reader = SstableReader.open(file, 1000 + index);
    checkAll(reader, data, rand, 10);
    return 'correct';
  } catch (err) {
    if (!hasCode(err, 'DATA_LOSS') || err.details.path !== path) {
      throw new Error(`seed=${seed} flip ${index} at ${position}: ${String(err)}`, { cause: err });
    }
    return 'detected';
  } finally {
    await file.close();
  }
}

test('random byte flips are detected as DATA_LOSS or read back exactly', async () => {
  const outcomes = new Map<string, number>();
  const rand = new SeededRand(seed);
  for (const compression of ['none', 'lz4'] as CompressionName[]) {
    const data = makeDataset(rand, 60);
    const path = join(dir, `flip-source-${compression}.sst`);
    await writeTable(path, data, { blockBytes: 200, restartInterval: 3, bloomBitsPerKey: 10, compression });
    const source = readFileSync(path);
    for (let i = 0; i < 160; i++) {
      const outcome = await flipAndCheck(source, data, rand, i);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
  }
  assert.ok((outcomes.get('detected') ?? 0) > 0, JSON.stringify([...outcomes]));
});

test('truncated files are DATA_LOSS', async () => {
  const rand = new SeededRand(seed);
  const data = makeDataset(rand, 20);
  const path = join(dir, 'truncate-source.sst');
  await writeTable(path, data, {
    blockBytes: 4096,
    restartInterval: 16,
    bloomBitsPerKey: 10,
    compression: 'none',
  });
  const source = readFileSync(path);
  for (const length of [0, 10, 47, source.length - 1, source.length >> 1]) {
    const cut = join(dir, 'truncated.sst');
    writeFileSync(cut, source.subarray(0, length));
    const file = await vfs.openReadable(cut);
    assert.throws(
      () => SstableReader.open(file, 1),
      (err) => hasCode(err, 'DATA_LOSS') && err.details.path === cut,
    );
    await file.close();
  }
});
