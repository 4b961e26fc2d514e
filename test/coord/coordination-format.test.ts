/**
 * The embedded coordination state file: codec round trip (fast-check, keys in UTF-8 byte order),
 * the golden file (the writer reproduces it byte for byte and the reader reads it), every single
 * byte flip and every truncation of a state file is DATA_LOSS naming the file, and an intact file of
 * another format version is FAILED_PRECONDITION. Regenerate the golden file (only on an intended,
 * versioned format change) with `TABULA_WRITE_FIXTURES=1 node --test dist/test/coord/coordination-format.test.js`.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ManualClock } from '../../src/common/clock.js';
import { crc32c, maskCrc } from '../../src/common/crc32c.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { compareKeys } from '../../src/coord/coordination-input.js';
import {
  COORD_CHECKSUM_OFFSET,
  COORD_HEADER_BYTES,
  COORD_STATE_FILE_NAME,
  COORD_VERSION_OFFSET,
} from '../../src/coord/embedded/coordination-format.js';
import {
  type CoordinationState,
  decodeCoordinationState,
  encodeCoordinationState,
  entryDataBytes,
  type StoredValue,
} from '../../src/coord/embedded/coordination-state.js';
import { EmbeddedCoordination } from '../../src/coord/embedded/embedded-coordination.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { testSeeds } from '../support/seed.js';

const DIR = '/coord';
const PATH = `${DIR}/${COORD_STATE_FILE_NAME}`;
const FIXTURE = fileURLToPath(
  new URL('../../../test/coord/fixtures/coordination-state-v1.bin', import.meta.url),
);

function stateOf(revision: number, lastEpoch: number, pairs: [string, Buffer, number][]): CoordinationState {
  const entries = new Map<string, StoredValue>();
  let dataBytes = 0;
  for (const [key, value, version] of pairs) {
    entries.set(key, { value, version });
    dataBytes += entryDataBytes(key, value);
  }
  return { revision, lastEpoch, entries, dataBytes };
}

/** Well-formed keys with characters from every UTF-8 length class, including a leading BOM. */
const arbKey = fc
  .array(
    fc.constantFrom('a', 'z', '/', '\ufeff', 'é', '\u{e000}', '\u{ffff}', '😀', '\u{10ffff}', '\u0000'),
    {
      minLength: 1,
      maxLength: 6,
    },
  )
  .map((chars) => chars.join(''));

test('state codec round-trips any state, entries in UTF-8 byte order', () => {
  const arbState = fc
    .tuple(
      fc.uniqueArray(fc.tuple(arbKey, fc.uint8Array({ maxLength: 40 })), {
        selector: ([k]) => k,
        maxLength: 12,
      }),
      fc.nat({ max: 1000 }),
      fc.maxSafeNat(),
    )
    .map(([pairs, extra, lastEpoch]) => {
      const revision = pairs.length + extra;
      return stateOf(
        revision,
        lastEpoch,
        pairs.map(([k, v], i) => [k, Buffer.from(v), 1 + ((i * 7919) % Math.max(1, revision))]),
      );
    });
  fc.assert(
    fc.property(arbState, (state) => {
      const decoded = decodeCoordinationState(encodeCoordinationState(state), PATH);
      assert.equal(decoded.revision, state.revision);
      assert.equal(decoded.lastEpoch, state.lastEpoch);
      assert.equal(decoded.dataBytes, state.dataBytes);
      assert.deepEqual(decoded.entries, state.entries);
      const keys = [...decoded.entries.keys()];
      const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.deepEqual(keys, byBytes);
      assert.deepEqual([...keys].sort(compareKeys), byBytes);
    }),
    { seed: testSeeds(1)[0], numRuns: 300 },
  );
});

/** The fixed sequence of operations whose resulting file is the golden file. */
async function writeGoldenStore(vfs: MemVfs): Promise<void> {
  const coord = await EmbeddedCoordination.open({ dir: DIR, vfs, clock: new ManualClock() });
  await coord.put('root/location', Buffer.from('server-1:7000'));
  await coord.put('tablets/😀', Buffer.from([0, 1, 2, 255]));
  await coord.put('tablets/\u{e000}', Buffer.alloc(0));
  await coord.put('gone', Buffer.from('x'));
  await coord.delete('gone');
  await coord.put('root/location', Buffer.from('server-2:7000'), { expectedVersion: 1 });
  const lease = await coord.acquireLock('master', 'server-2', 10_000);
  assert.equal(lease?.epoch, 1);
  await coord.close();
}

test('golden file: the writer reproduces it and the reader reads it', async () => {
  const vfs = new MemVfs();
  await writeGoldenStore(vfs);
  const written = await vfs.readFile(PATH);
  if (process.env.TABULA_WRITE_FIXTURES === '1') writeFileSync(FIXTURE, written);
  const golden = readFileSync(FIXTURE);
  assert.deepEqual(written, golden, 'state file layout changed: bump COORD_STATE_FORMAT_VERSION');

  const fresh = new MemVfs();
  await fresh.mkdirp(DIR);
  const f = await fresh.createWritable(PATH);
  await f.append(golden);
  await f.sync();
  await fresh.syncDir(DIR);
  const coord = await EmbeddedCoordination.open({ dir: DIR, vfs: fresh, clock: new ManualClock() });
  assert.deepEqual(
    (await coord.list('')).map((e) => [e.key, e.value.toString('hex'), e.version]),
    [
      ['root/location', Buffer.from('server-2:7000').toString('hex'), 6],
      ['tablets/\u{e000}', '', 3],
      ['tablets/😀', '000102ff', 2],
    ],
  );
  assert.equal(await coord.put('next', Buffer.from('v')), 7);
  assert.equal((await coord.acquireLock('master', 'server-3', 1_000))?.epoch, 2);
  await coord.close();
});

function assertDataLoss(bytes: Buffer, label: string): void {
  assert.throws(
    () => decodeCoordinationState(bytes, PATH),
    (err: unknown) => hasCode(err, ErrorCode.DataLoss) && err.message.includes(PATH),
    label,
  );
}

test('every byte flip and every truncation of a state file is DATA_LOSS naming the file', () => {
  const state = stateOf(9, 4, [
    ['a', Buffer.from('alpha'), 3],
    ['b/é', Buffer.from([0, 255, 7]), 9],
    ['c', Buffer.alloc(0), 1],
  ]);
  const good = encodeCoordinationState(state);
  for (let offset = 0; offset < good.length; offset++) {
    for (const xor of [0x01, 0x80, 0xff]) {
      const bad = Buffer.from(good);
      bad[offset] = (bad[offset] as number) ^ xor;
      assertDataLoss(bad, `flip 0x${xor.toString(16)} at ${offset}`);
    }
  }
  for (let length = 0; length < good.length; length++) {
    assertDataLoss(good.subarray(0, length), `truncated to ${length}`);
  }
  assertDataLoss(Buffer.concat([good, Buffer.from([0])]), 'one trailing byte');
});

test('a damaged state file fails open with DATA_LOSS naming the file', async () => {
  const vfs = new MemVfs();
  const coord = await EmbeddedCoordination.open({ dir: DIR, vfs });
  await coord.put('k', Buffer.from('v'));
  await coord.close();
  vfs.corrupt(PATH, COORD_HEADER_BYTES + 2, 0x10);
  await assert.rejects(
    EmbeddedCoordination.open({ dir: DIR, vfs }),
    (err: unknown) => hasCode(err, ErrorCode.DataLoss) && err.message.includes(PATH),
  );
  // The directory lock was released: a repaired file opens.
  vfs.corrupt(PATH, COORD_HEADER_BYTES + 2, 0x10);
  const again = await EmbeddedCoordination.open({ dir: DIR, vfs });
  assert.equal((await again.get('k'))?.value.toString(), 'v');
  await again.close();
});

test('an intact file of another format version is FAILED_PRECONDITION', () => {
  const file = encodeCoordinationState(stateOf(1, 0, [['k', Buffer.from('v'), 1]]));
  file.writeUInt32LE(2, COORD_VERSION_OFFSET);
  const crc = crc32c(file.subarray(COORD_HEADER_BYTES), crc32c(file.subarray(0, COORD_CHECKSUM_OFFSET)));
  file.writeUInt32LE(maskCrc(crc), COORD_CHECKSUM_OFFSET);
  assert.throws(
    () => decodeCoordinationState(file, PATH),
    (err: unknown) => hasCode(err, ErrorCode.FailedPrecondition) && err.message.includes(PATH),
  );
});

test('well-formed but inconsistent bodies are DATA_LOSS', () => {
  const cases: [string, CoordinationState][] = [
    ['version above revision', stateOf(2, 0, [['k', Buffer.from('v'), 3]])],
    ['version zero', stateOf(2, 0, [['k', Buffer.from('v'), 0]])],
    ['empty key', stateOf(2, 0, [['', Buffer.from('v'), 1]])],
  ];
  for (const [label, state] of cases) assertDataLoss(encodeCoordinationState(state), label);
});
