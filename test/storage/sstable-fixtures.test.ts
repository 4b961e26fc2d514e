/**
 * Golden fixtures: the committed test/fixtures/sstable-v1-*.sst files must open and hold exactly
 * the entries of make-sstable-fixtures.ts. If this fails after a format change, bump
 * FORMAT_VERSION and add new fixtures; never regenerate the v1 files.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EntryKind, encodeInternalKey, kindOf } from '../../src/storage/internal-key.js';
import { RealVfs } from '../../src/storage/real-vfs.js';
import { SstableReader } from '../../src/storage/sstable-reader.js';
import { fixtureEntries, fixtureTombstones, writeFixture } from '../fixtures/make-sstable-fixtures.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));
const vfs = new RealVfs();

for (const compression of ['none', 'lz4'] as const) {
  test(`sstable-v1-${compression}.sst holds exactly the fixture contents`, async () => {
    const path = `${fixtures}sstable-v1-${compression}.sst`;
    const reader = SstableReader.open(await vfs.openReadable(path), 1);
    try {
      reader.verifyChecksums();
      const expected = fixtureEntries();
      const it = reader.newIterator();
      const actual: { key: Buffer; value: Buffer }[] = [];
      for (it.seekToFirst(); it.valid(); it.next()) actual.push({ key: it.key(), value: it.value() });
      assert.deepEqual(actual, expected);
      assert.deepEqual(reader.rangeTombstones, fixtureTombstones());
      const p = reader.properties;
      assert.deepEqual(
        [p.entryCount, p.rangeTombstoneCount, p.dataBlockCount, p.rawKeyBytes, p.rawValueBytes],
        [79, 2, 7, 1185, 2537],
      );
      assert.deepEqual(
        [p.smallestSequence, p.largestSequence, p.smallestKey, p.largestKey],
        [90, 555, expected[0]?.key, expected.at(-1)?.key],
      );
      // Spot checks that do not depend on the generator.
      const got = reader.get(Buffer.from('row0003'), 10_000);
      assert.ok(got !== undefined && kindOf(got.key) === EntryKind.Delete);
      assert.equal(
        reader.get(Buffer.from('row0005'), 10_000)?.value.toString(),
        `value-5-3-${'tabula'.repeat(4)}`,
      );
      assert.equal(
        reader.get(Buffer.from('row0005'), 152)?.value.toString(),
        `value-5-2-${'tabula'.repeat(4)}`,
      );
      assert.equal(reader.get(Buffer.from('row0005'), 150), undefined);
      assert.deepEqual(
        reader.get(Buffer.from('row0039'), 491)?.key,
        encodeInternalKey(Buffer.from('row0039'), 491, 1),
      );
      assert.equal(reader.mayContain(Buffer.from('row0017')), true);
    } finally {
      await reader.close();
    }
  });
}

test('the writer still produces the uncompressed fixture byte for byte', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-fixture-'));
  try {
    const path = join(dir, 'none.sst');
    await writeFixture(path, 'none');
    assert.ok(readFileSync(path).equals(readFileSync(`${fixtures}sstable-v1-none.sst`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
