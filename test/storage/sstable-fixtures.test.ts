/**
 * Golden fixtures: the committed test/fixtures/sstable-v1-*.sst files must open and hold exactly
 * the entries of make-sstable-fixtures.ts (one of them with a Bloom filter over key prefixes). If this fails after a format change, bump
 * FORMAT_VERSION and add new fixtures; never regenerate the v1 files.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { prefixLength, prefixRuleName } from '../../src/storage/filter-prefix.js';
import { EntryKind, encodeInternalKey, kindOf, userKeyOf } from '../../src/storage/internal-key.js';
import { RealVfs } from '../../src/storage/real-vfs.js';
import { SstableReader } from '../../src/storage/sstable-reader.js';
import {
  FIXTURE_PREFIX_RULE,
  fixtureEntries,
  fixtureTombstones,
  writeFixture,
} from '../fixtures/make-sstable-fixtures.js';

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

test('sstable-v1-prefix-filter.sst holds the fixture contents and a filter over key prefixes', async () => {
  const path = `${fixtures}sstable-v1-prefix-filter.sst`;
  const reader = SstableReader.open(await vfs.openReadable(path), 1);
  try {
    reader.verifyChecksums();
    const it = reader.newIterator();
    const actual: { key: Buffer; value: Buffer }[] = [];
    for (it.seekToFirst(); it.valid(); it.next()) actual.push({ key: it.key(), value: it.value() });
    assert.deepEqual(actual, fixtureEntries());
    const ruleName = prefixRuleName(FIXTURE_PREFIX_RULE);
    assert.equal(ruleName, 'delimited-33');
    // Every key's prefix: "row0003" ends at its '3', "row0030" at "row003", "row0000" is whole.
    for (const e of actual) {
      const user = userKeyOf(e.key);
      const prefix = user.subarray(0, prefixLength(FIXTURE_PREFIX_RULE, user));
      assert.equal(reader.mayContainPrefix(ruleName, prefix), true, prefix.toString());
    }
    assert.equal(prefixLength(FIXTURE_PREFIX_RULE, Buffer.from('row0030')), 'row003'.length);
    // Prefixes no key has: a filter of 10 bits per prefix rules out nearly all of them.
    let passed = 0;
    for (let i = 0; i < 200; i++) if (reader.mayContainPrefix(ruleName, Buffer.from(`absent${i}3`))) passed++;
    assert.ok(passed < 20, `${passed} of 200 absent prefixes passed the filter`);
    // Another rule's prefixes are never ruled out, nor whole keys (the table has no whole-key filter).
    assert.equal(reader.mayContainPrefix('delimited-00', Buffer.from('absent')), true);
    assert.equal(reader.mayContain(Buffer.from('absent')), true);
  } finally {
    await reader.close();
  }
});

test('the writer still produces the prefix-filter fixture byte for byte', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-fixture-'));
  try {
    const path = join(dir, 'prefix.sst');
    await writeFixture(path, 'none', true);
    assert.ok(readFileSync(path).equals(readFileSync(`${fixtures}sstable-v1-prefix-filter.sst`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
