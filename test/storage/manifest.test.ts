/**
 * Manifest: version-edit codec (fast-check round trip, unknown tags, truncation), file names,
 * ManifestStore round trip, a crash at every persistence point of create()+append() (recovery
 * yields the state before or after the interrupted step, never an error), and a golden fixture.
 * Regenerate the fixture (only on an intended, versioned format change) with
 * `TABULA_WRITE_FIXTURES=1 node scripts/run-tests.mjs manifest.test`.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { SeededRand } from '../../src/common/clock.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { LSM_LEVELS } from '../../src/common/limits.js';
import { manifestFileName, parseFileName, sstFileName, walFileName } from '../../src/storage/file-names.js';
import { EntryKind, encodeInternalKey } from '../../src/storage/internal-key.js';
import { ManifestStore } from '../../src/storage/manifest-store.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { decodeVersionEdit, encodeVersionEdit, type VersionEdit } from '../../src/storage/version-edit.js';

const DIR = '/store';
const SEED = Number(process.env.TABULA_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/manifest-v1.bin', import.meta.url));

function ikey(user: string, sequence: number): Buffer {
  return encodeInternalKey(Buffer.from(user), sequence, EntryKind.Put);
}

function added(level: number, fileNumber: number, lo: string, hi: string) {
  return {
    level,
    file: {
      fileNumber,
      fileSize: fileNumber * 1000,
      smallest: ikey(lo, 9),
      largest: ikey(hi, 1),
      entryCount: 7,
    },
  };
}

/** The state a sequence of edits describes, as a comparable string. */
function stateOf(edits: VersionEdit[]): string {
  const files = new Map<number, number>();
  const s: Record<string, number | undefined> = {};
  for (const e of edits) {
    for (const d of e.deletedFiles) files.delete(d.fileNumber);
    for (const a of e.addedFiles) files.set(a.file.fileNumber, a.level);
    s.logNumber = e.logNumber ?? s.logNumber;
    s.nextFileNumber = e.nextFileNumber ?? s.nextFileNumber;
    s.lastSequence = e.lastSequence ?? s.lastSequence;
  }
  return JSON.stringify({ ...s, files: [...files].sort((a, b) => a[0] - b[0]) });
}

const arbEdit: fc.Arbitrary<VersionEdit> = fc.record({
  logNumber: fc.option(fc.maxSafeNat(), { nil: undefined }),
  nextFileNumber: fc.option(fc.maxSafeNat(), { nil: undefined }),
  lastSequence: fc.option(fc.maxSafeNat(), { nil: undefined }),
  addedFiles: fc.array(
    fc.record({
      level: fc.integer({ min: 0, max: LSM_LEVELS - 1 }),
      file: fc.record({
        fileNumber: fc.maxSafeNat(),
        fileSize: fc.maxSafeNat(),
        smallest: fc.uint8Array({ minLength: 8, maxLength: 40 }).map((b) => Buffer.from(b)),
        largest: fc.uint8Array({ minLength: 8, maxLength: 40 }).map((b) => Buffer.from(b)),
        entryCount: fc.maxSafeNat(),
      }),
    }),
    { maxLength: 5 },
  ),
  deletedFiles: fc.array(
    fc.record({ level: fc.integer({ min: 0, max: LSM_LEVELS - 1 }), fileNumber: fc.maxSafeNat() }),
    { maxLength: 5 },
  ),
});

function withoutUndefined(e: VersionEdit): VersionEdit {
  return JSON.parse(JSON.stringify(e), (_k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data) : v));
}

test(`version edits round-trip and every truncation is DATA_LOSS or a shorter valid edit (seed=${SEED})`, () => {
  fc.assert(
    fc.property(arbEdit, (edit) => {
      const bytes = encodeVersionEdit(edit);
      assert.deepEqual(decodeVersionEdit(bytes), withoutUndefined(edit));
      for (let cut = 0; cut < bytes.length; cut++) {
        try {
          decodeVersionEdit(bytes.subarray(0, cut));
        } catch (e) {
          assert.ok(hasCode(e, ErrorCode.DataLoss), String(e));
        }
      }
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('an unknown tag or a malformed field is DATA_LOSS with the given context', () => {
  const good = encodeVersionEdit({ lastSequence: 5, addedFiles: [added(1, 4, 'a', 'b')], deletedFiles: [] });
  const unknown = Buffer.concat([good, Buffer.from([99, 1])]);
  const ctx = { path: '/store/MANIFEST-000001', offset: 0 };
  for (const bad of [unknown, good.subarray(0, good.length - 3), Buffer.from([3, 1, 3, 2])]) {
    assert.throws(
      () => decodeVersionEdit(bad, ctx),
      (e) => hasCode(e, ErrorCode.DataLoss) && e.details.path === ctx.path,
    );
  }
  const badLevel = encodeVersionEdit({ addedFiles: [], deletedFiles: [{ level: 0, fileNumber: 1 }] });
  badLevel[1] = LSM_LEVELS;
  assert.throws(
    () => decodeVersionEdit(badLevel),
    (e) => hasCode(e, ErrorCode.DataLoss),
  );
});

test('file names format and parse back; other names do not parse', () => {
  assert.equal(manifestFileName(12), 'MANIFEST-000012');
  assert.equal(walFileName(3), '000003.log');
  assert.equal(sstFileName(1234567), '1234567.sst');
  for (const [name, kind, number] of [
    ['MANIFEST-000012', 'manifest', 12],
    ['000003.log', 'wal', 3],
    ['1234567.sst', 'sst', 1234567],
  ] as const) {
    assert.deepEqual(parseFileName(name), { kind, number });
  }
  for (const name of ['CURRENT', 'CURRENT.tmp', '3.log', '0000003.log', 'MANIFEST-', 'x.sst', '00000a.sst']) {
    assert.equal(parseFileName(name), undefined, name);
  }
});

test('create, append, recover; no CURRENT is NOT_FOUND; a missing manifest is DATA_LOSS', async () => {
  const vfs = new MemVfs();
  await vfs.mkdirp(DIR);
  await assert.rejects(ManifestStore.recover(vfs, DIR), (e) => hasCode(e, ErrorCode.NotFound));
  const snap: VersionEdit = {
    logNumber: 1,
    nextFileNumber: 2,
    lastSequence: 0,
    addedFiles: [],
    deletedFiles: [],
  };
  const store = await ManifestStore.create(vfs, DIR, 1, snap);
  const e1: VersionEdit = { lastSequence: 10, addedFiles: [added(0, 5, 'a', 'm')], deletedFiles: [] };
  await store.append(e1);
  const rec = await ManifestStore.recover(vfs.crashImage(), DIR);
  assert.equal(rec.manifestNumber, 1);
  assert.deepEqual(rec.edits, [snap, e1]);
  assert.equal(store.size, await vfs.fileSize(`${DIR}/MANIFEST-000001`));
  await vfs.remove(`${DIR}/MANIFEST-000001`);
  await assert.rejects(ManifestStore.recover(vfs, DIR), (e) => hasCode(e, ErrorCode.DataLoss));
});

test('an append failure fails the store for good', async () => {
  const vfs = new MemVfs();
  await vfs.mkdirp(DIR);
  const store = await ManifestStore.create(vfs, DIR, 1, { addedFiles: [], deletedFiles: [] });
  vfs.injectFault({ op: 'sync', errno: 'EIO', times: 1 });
  await assert.rejects(store.append({ lastSequence: 1, addedFiles: [], deletedFiles: [] }), (e) =>
    hasCode(e, ErrorCode.Io),
  );
  await assert.rejects(
    store.append({ lastSequence: 2, addedFiles: [], deletedFiles: [] }),
    (e) => e === store.failure,
  );
});

test(`a crash at every persistence point recovers the state before or after the step (seed=${SEED})`, async () => {
  const vfs = new MemVfs();
  await vfs.mkdirp(DIR);
  const rand = new SeededRand(SEED);
  const snap: VersionEdit = {
    logNumber: 1,
    nextFileNumber: 10,
    lastSequence: 0,
    addedFiles: [],
    deletedFiles: [],
  };
  const e1: VersionEdit = { lastSequence: 50, addedFiles: [added(0, 4, 'a', 'k')], deletedFiles: [] };
  const e2: VersionEdit = {
    logNumber: 3,
    addedFiles: [added(1, 6, 'a', 'z')],
    deletedFiles: [{ level: 0, fileNumber: 4 }],
  };
  const e3: VersionEdit = { lastSequence: 90, addedFiles: [added(0, 8, 'b', 'c')], deletedFiles: [] };
  const rewrite: VersionEdit = { ...snap, ...e1, ...e2, addedFiles: e2.addedFiles, deletedFiles: [] };
  // states[k] is the state once step k finished; 'none' means no store exists yet.
  const states = ['none', stateOf([snap]), stateOf([snap, e1]), stateOf([snap, e1, e2])];
  states.push(states[3] as string, states[3] as string, stateOf([rewrite, e3]));
  assert.equal(stateOf([rewrite]), states[3]);
  let step = 1;
  const images: { image: MemVfs; step: number; after: boolean }[] = [];
  const take = (after: boolean) => {
    for (const tornTail of ['none', 'random'] as const) {
      images.push({ image: vfs.crashImage({ tornTail, rand }), step, after });
    }
  };
  vfs.onPersistencePoint = () => take(false);
  const steps: (() => Promise<unknown>)[] = [];
  let first: ManifestStore | undefined;
  let second: ManifestStore | undefined;
  steps.push(async () => (first = await ManifestStore.create(vfs, DIR, 1, snap)));
  steps.push(() => first!.append(e1));
  steps.push(() => first!.append(e2));
  steps.push(async () => (second = await ManifestStore.create(vfs, DIR, 2, rewrite)));
  steps.push(async () => {
    await vfs.remove(`${DIR}/${manifestFileName(1)}`);
    await vfs.syncDir(DIR);
  });
  steps.push(() => second!.append(e3));
  for (const run of steps) {
    await run();
    take(true);
    step++;
  }
  assert.ok(images.length > 30, `persistence points seen: ${images.length / 2}`);
  for (const { image, step: k, after } of images) {
    const got = await ManifestStore.recover(image, DIR).then(
      (r) => stateOf(r.edits),
      (e: unknown) => {
        assert.ok(hasCode(e, ErrorCode.NotFound) && k === 1, `seed=${SEED} step=${k}: ${String(e)}`);
        return 'none';
      },
    );
    const allowed = after ? [states[k]] : [states[k - 1], states[k]];
    assert.ok(allowed.includes(got), `seed=${SEED} step=${k} after=${after}: got ${got}`);
  }
});

/** The edits of the golden manifest. */
function fixtureEdits(): VersionEdit[] {
  return [
    { logNumber: 2, nextFileNumber: 3, lastSequence: 0, addedFiles: [], deletedFiles: [] },
    {
      lastSequence: 1234,
      addedFiles: [added(0, 7, 'apple', 'melon'), added(2, 300, 'a', 'zz')],
      deletedFiles: [],
    },
    { logNumber: 9, nextFileNumber: 2 ** 40, addedFiles: [], deletedFiles: [{ level: 0, fileNumber: 7 }] },
  ];
}

test('golden file manifest-v1.bin pins the format', async () => {
  const vfs = new MemVfs();
  await vfs.mkdirp(DIR);
  const [snap, ...rest] = fixtureEdits();
  const store = await ManifestStore.create(vfs, DIR, 1, snap as VersionEdit);
  for (const e of rest) await store.append(e);
  const written = await vfs.readFile(`${DIR}/${manifestFileName(1)}`);
  if (process.env.TABULA_WRITE_FIXTURES === '1') writeFileSync(FIXTURE, written);
  const golden = readFileSync(FIXTURE);
  const fresh = new MemVfs();
  await fresh.mkdirp(DIR);
  for (const [name, bytes] of [
    [manifestFileName(5), golden],
    ['CURRENT', Buffer.from(`${manifestFileName(5)}\n`)],
  ] as const) {
    const f = await fresh.createWritable(`${DIR}/${name}`);
    await f.append(bytes);
  }
  const rec = await ManifestStore.recover(fresh, DIR);
  assert.equal(rec.manifestNumber, 5);
  assert.deepEqual(rec.edits, fixtureEdits());
  assert.ok(written.equals(golden), 'the encoder must produce the golden bytes exactly');
});
