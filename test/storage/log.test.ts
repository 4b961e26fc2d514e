/**
 * The log format: round trips (fast-check), the torn-tail vs corruption rule, and a golden fixture
 * that pins the bytes. Regenerate the fixture (only on an intended, versioned format change) with
 * `TABULA_WRITE_FIXTURES=1 node scripts/run-tests.mjs log.test`.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { crc32c, maskCrc } from '../../src/common/crc32c.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { LOG_BLOCK_BYTES, LOG_FORMAT_VERSION, LOG_HEADER_BYTES } from '../../src/storage/log-format.js';
import { type LogReadResult, readLogRecords } from '../../src/storage/log-reader.js';
import { LogWriter } from '../../src/storage/log-writer.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';

const PATH = '/db/000001.log';
const SEED = Number(process.env.TABULA_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FIXTURE = fileURLToPath(
  new URL(`../../../test/fixtures/log-v${LOG_FORMAT_VERSION}.bin`, import.meta.url),
);

/** Writes `groups` of records (one append per group) and returns the vfs and the synced log. */
async function writeLog(groups: Uint8Array[][], opts: { syncLastGroup?: boolean } = {}) {
  const vfs = new MemVfs();
  await vfs.mkdirp('/db');
  const file = await vfs.createWritable(PATH);
  await vfs.syncDir('/db');
  const writer = new LogWriter(file);
  for (const [i, g] of groups.entries()) {
    await file.append(writer.frame(g));
    if (i < groups.length - 1 || (opts.syncLastGroup ?? true)) await file.sync();
  }
  return { vfs, writer };
}

async function readAll(vfs: MemVfs, path = PATH) {
  const records: Buffer[] = [];
  const offsets: number[] = [];
  const result: LogReadResult = await readLogRecords(vfs, path, (r, o) => {
    records.push(Buffer.from(r));
    offsets.push(o);
  });
  return { records, offsets, ...result };
}

async function vfsWith(bytes: Uint8Array): Promise<MemVfs> {
  const vfs = new MemVfs();
  await vfs.mkdirp('/db');
  const f = await vfs.createWritable(PATH);
  await f.append(bytes);
  return vfs;
}

function pattern(length: number, salt: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + salt * 7) & 0xff;
  return b;
}

test(`log round-trips random records, including empty and multi-block ones (seed=${SEED})`, async () => {
  const record = fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 * LOG_BLOCK_BYTES + 50 }).map((n) => pattern(n, n)) },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(record, { maxLength: 8 }), { maxLength: 8 }), async (groups) => {
      const { vfs, writer } = await writeLog(groups);
      const got = await readAll(vfs);
      assert.deepEqual(
        got.records.map((r) => r.toString('hex')),
        groups.flat().map((r) => Buffer.from(r).toString('hex')),
      );
      assert.equal(got.tornTail, false);
      assert.equal(writer.size, await vfs.fileSize(PATH));
      assert.ok(got.validBytes <= writer.size && got.validBytes > writer.size - LOG_HEADER_BYTES - 1);
    }),
    { seed: SEED, numRuns: 60 },
  );
});

test('a tear at every byte of the last record keeps the earlier records and reports tornTail', async () => {
  // First record ends 57 bytes before the block end; the last record straddles the block boundary.
  const early = [pattern(LOG_BLOCK_BYTES - 2 * LOG_HEADER_BYTES - 50, 1), pattern(20, 2)];
  for (const lastBytes of [300, 2 * LOG_BLOCK_BYTES + 10]) {
    const { vfs } = await writeLog([early, [pattern(lastBytes, 3)]], { syncLastGroup: false });
    const whole = await readAll(vfs);
    const lastStart = whole.offsets[2] as number;
    const fileBytes = await vfs.fileSize(PATH);
    assert.equal(await earlySyncedBytes(vfs), lastStart, 'only the last record is unsynced');
    const step = lastBytes > LOG_BLOCK_BYTES ? 61 : 1; // sample the big one, every byte of the small
    for (let kept = 0; kept < fileBytes - lastStart; kept += step) {
      const image = vfs.crashImage({ tornTail: kept });
      const got = await readAll(image);
      assert.equal(got.records.length, 2, `kept=${kept}`);
      assert.deepEqual(got.records, early);
      assert.equal(got.tornTail, kept > 0, `kept=${kept}`);
      assert.equal(got.validBytes, lastStart);
    }
  }
});

/** Bytes made durable before the unsynced last group (the crash image's synced length). */
async function earlySyncedBytes(vfs: MemVfs): Promise<number> {
  return vfs.crashImage().fileSize(PATH);
}

test('a flipped byte in an early record with valid records after is DATA_LOSS naming the path', async () => {
  const records = Array.from({ length: 200 }, (_, i) => pattern(500, i));
  const { vfs } = await writeLog([records]);
  const rand = fc.sample(fc.integer({ min: 0, max: 506 }), { numRuns: 40, seed: SEED });
  for (const at of [0, 4, 5, 6, 7, 506, ...rand]) {
    const image = vfs.crashImage();
    image.corrupt(PATH, at, 0x40);
    await assert.rejects(readAll(image), (e) => {
      assert.ok(hasCode(e, ErrorCode.DataLoss), `seed=${SEED} at=${at}: ${String(e)}`);
      assert.equal(e.details.path, PATH);
      assert.equal(e.details.offset, 0);
      return true;
    });
  }
});

test('a damaged complete last record is DATA_LOSS, never mistaken for a torn tail', async () => {
  const { vfs } = await writeLog([[pattern(100, 1), pattern(100, 2), pattern(100, 3)]]);
  vfs.corrupt(PATH, 2 * (LOG_HEADER_BYTES + 100) + 50, 0x01);
  await assert.rejects(readAll(vfs), (e) => hasCode(e, ErrorCode.DataLoss));
});

test('a damaged length field cannot hide the records after it', async () => {
  const { vfs } = await writeLog([[pattern(100, 1), pattern(100, 2), pattern(100, 3)]]);
  // Make the second fragment claim more bytes than the file holds: the third record is still there.
  vfs.corrupt(PATH, LOG_HEADER_BYTES + 100 + 5, 0x01);
  await assert.rejects(readAll(vfs), (e) => hasCode(e, ErrorCode.DataLoss));
});

test('zero padding after the last record is not a torn tail', async () => {
  const { vfs } = await writeLog([[pattern(10, 1), Buffer.alloc(0)]]);
  const f = await vfs.openAppendable(PATH);
  await f.append(Buffer.alloc(LOG_BLOCK_BYTES + 100));
  const got = await readAll(vfs);
  assert.equal(got.records.length, 2);
  assert.equal(got.tornTail, false);
  assert.equal(got.validBytes, 2 * LOG_HEADER_BYTES + 10);
});

test('a well-formed fragment of an unknown type is DATA_LOSS, not a torn tail', async () => {
  const payload = Buffer.from('from the future');
  const frag = Buffer.alloc(LOG_HEADER_BYTES + payload.length);
  const futureType = 9;
  frag.writeUInt32LE(maskCrc(crc32c(payload, crc32c(Uint8Array.of(futureType)))), 0);
  frag.writeUInt16LE(payload.length, 4);
  frag[6] = futureType;
  payload.copy(frag, LOG_HEADER_BYTES);
  await assert.rejects(readAll(await vfsWith(frag)), (e) => hasCode(e, ErrorCode.DataLoss));
});

/** The records of the golden file: empty, small, a 3-block record, one leaving a 3-byte trailer. */
function fixtureRecords(): Buffer[] {
  return [
    Buffer.alloc(0),
    Buffer.from('hello'),
    pattern(2 * LOG_BLOCK_BYTES + 100, 1),
    pattern(32_618, 2),
    Buffer.from('after the trailer'),
    ...Array.from({ length: 5 }, (_, i) => pattern(i * 13, i)),
  ];
}

test(`golden file log-v${LOG_FORMAT_VERSION}.bin pins the format`, async () => {
  const { vfs } = await writeLog([fixtureRecords().slice(0, 3), fixtureRecords().slice(3)]);
  const written = await vfs.readFile(PATH);
  if (process.env.TABULA_WRITE_FIXTURES === '1') writeFileSync(FIXTURE, written);
  const golden = readFileSync(FIXTURE);
  const got = await readAll(await vfsWith(golden));
  assert.deepEqual(got.records, fixtureRecords());
  assert.equal(got.offsets[4], 3 * LOG_BLOCK_BYTES, 'the fourth record leaves a trailer');
  assert.equal(got.tornTail, false);
  assert.ok(written.equals(golden), 'the writer must produce the golden bytes exactly');
});
