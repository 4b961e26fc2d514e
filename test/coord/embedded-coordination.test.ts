/**
 * The embedded coordination driver's keys and watches: versions, compare-and-set and
 * compare-and-delete (no ABA after delete and re-create), list order and copies, watch ordering,
 * durability before events, prefix filtering and unsubscribe, input limits, the driver registry,
 * persistence across reopen (MemVfs and the real file system), the directory lock, close, and
 * failure handling under injected I/O faults.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import {
  COORD_KEY_BYTES_MAX,
  COORD_KEYS_MAX,
  COORD_STATE_BYTES_MAX,
  COORD_VALUE_BYTES_MAX,
  COORD_WATCHERS_MAX,
} from '../../src/common/limits.js';
import {
  type Coordination,
  coordinationDriverSchemes,
  openCoordination,
  registerCoordinationDriver,
  type WatchEvent,
} from '../../src/coord/coordination.js';
import { COORD_STATE_FILE_NAME } from '../../src/coord/embedded/coordination-format.js';
import {
  encodeCoordinationState,
  entryDataBytes,
  type StoredValue,
} from '../../src/coord/embedded/coordination-state.js';
import { EmbeddedCoordination } from '../../src/coord/embedded/embedded-coordination.js';
import { EMBEDDED_COORDINATION_SCHEME } from '../../src/coord/embedded/embedded-driver.js';
import { readStateFile } from '../../src/coord/embedded/state-file.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { RealVfs } from '../../src/storage/real-vfs.js';

const DIR = '/coord';

async function openMem(vfs = new MemVfs()): Promise<{ coord: EmbeddedCoordination; vfs: MemVfs }> {
  return { coord: await EmbeddedCoordination.open({ dir: DIR, vfs, clock: new ManualClock() }), vfs };
}

function isCode(code: ErrorCode) {
  return (err: unknown) => hasCode(err, code);
}

const text = (b: Buffer | undefined) => b?.toString('utf8');

test('put assigns strictly increasing versions; get returns a copy', async () => {
  const { coord } = await openMem();
  assert.equal(await coord.get('a'), undefined);
  const v1 = await coord.put('a', Buffer.from('one'));
  const v2 = await coord.put('b', Buffer.from('two'));
  const v3 = await coord.put('a', Buffer.from('three'));
  assert.deepEqual([v1, v2, v3], [1, 2, 3]);
  const got = await coord.get('a');
  assert.deepEqual({ value: text(got?.value), version: got?.version }, { value: 'three', version: 3 });
  got?.value.fill(0);
  assert.equal(text((await coord.get('a'))?.value), 'three');
  const input = Buffer.from('mutable');
  await coord.put('c', input);
  input.fill(0x21);
  assert.equal(text((await coord.get('c'))?.value), 'mutable');
  await coord.close();
});

test('compare-and-set: 0 creates only; a stale version is FAILED_PRECONDITION and changes nothing', async () => {
  const { coord } = await openMem();
  const v1 = await coord.put('k', Buffer.from('first'), { expectedVersion: 0 });
  await assert.rejects(coord.put('k', Buffer.from('again'), { expectedVersion: 0 }), (err: unknown) => {
    return hasCode(err, ErrorCode.FailedPrecondition) && err.details.actualVersion === v1;
  });
  const v2 = await coord.put('k', Buffer.from('second'), { expectedVersion: v1 });
  await assert.rejects(
    coord.put('k', Buffer.from('stale'), { expectedVersion: v1 }),
    isCode(ErrorCode.FailedPrecondition),
  );
  await assert.rejects(
    coord.put('absent', Buffer.from('x'), { expectedVersion: 5 }),
    isCode(ErrorCode.FailedPrecondition),
  );
  assert.deepEqual(await coord.get('k'), { value: Buffer.from('second'), version: v2 });
  assert.equal(await coord.get('absent'), undefined);
  // Failed compare-and-sets take no revision.
  assert.equal(await coord.put('other', Buffer.from('x')), v2 + 1);
  for (const bad of [-1, 1.5, Number.NaN]) {
    await assert.rejects(
      coord.put('k', Buffer.from('x'), { expectedVersion: bad }),
      isCode(ErrorCode.InvalidArgument),
    );
  }
  await coord.close();
});

test('delete reports existence, checks versions, and a re-created key never reuses a version', async () => {
  const { coord } = await openMem();
  assert.equal(await coord.delete('none'), false);
  assert.equal(await coord.delete('none', { expectedVersion: 0 }), false);
  const v1 = await coord.put('k', Buffer.from('a'));
  await assert.rejects(coord.delete('k', { expectedVersion: 0 }), isCode(ErrorCode.FailedPrecondition));
  await assert.rejects(coord.delete('k', { expectedVersion: v1 + 1 }), isCode(ErrorCode.FailedPrecondition));
  assert.equal(await coord.delete('k', { expectedVersion: v1 }), true);
  assert.equal(await coord.get('k'), undefined);
  const again = await coord.put('k', Buffer.from('b'), { expectedVersion: 0 });
  assert.ok(again > v1 + 1, 'the delete took a revision and the re-create a newer one');
  // A holder of the old version cannot overwrite the re-created key (no ABA).
  await assert.rejects(
    coord.put('k', Buffer.from('stale'), { expectedVersion: v1 }),
    isCode(ErrorCode.FailedPrecondition),
  );
  await coord.close();
});

test('list returns one prefix in UTF-8 byte order, as copies', async () => {
  const { coord } = await openMem();
  // UTF-16 order would put '😀' (surrogates) before '\ue000'; UTF-8 byte order puts it after.
  for (const key of ['t/😀', 't/\ue000', 't/b', 't/a', 't', 'u/a', 's'])
    await coord.put(key, Buffer.from(key));
  assert.deepEqual(
    (await coord.list('t/')).map((e) => e.key),
    ['t/a', 't/b', 't/\ue000', 't/😀'],
  );
  assert.deepEqual(
    (await coord.list('')).map((e) => e.key),
    ['s', 't', 't/a', 't/b', 't/\ue000', 't/😀', 'u/a'],
  );
  assert.deepEqual(await coord.list('v'), []);
  const [first] = await coord.list('s');
  assert.deepEqual(
    { key: first?.key, value: text(first?.value), version: first?.version },
    {
      key: 's',
      value: 's',
      version: 7,
    },
  );
  first?.value.fill(0);
  assert.equal(text((await coord.get('s'))?.value), 's');
  await coord.close();
});

test('watch: durable events in commit order, filtered by prefix, until unsubscribed', async () => {
  const { coord, vfs } = await openMem();
  const seen: WatchEvent[] = [];
  const imagesAtEvents: MemVfs[] = [];
  const stop = coord.watch('t/', (event) => {
    seen.push(event);
    imagesAtEvents.push(vfs.crashImage());
  });
  const all: number[] = [];
  coord.watch('', (event) => all.push(event.version));
  const versions = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      coord.put(`${i % 3 === 0 ? 'u' : 't'}/${i % 5}`, Buffer.from(String(i))),
    ),
  );
  assert.deepEqual(
    versions,
    Array.from({ length: 40 }, (_, i) => i + 1),
    'changes commit in call order',
  );
  await coord.delete('t/1');
  assert.deepEqual(
    all,
    Array.from({ length: 41 }, (_, i) => i + 1),
  );
  const expected = versions
    .map((version, i) => ({ key: `${i % 3 === 0 ? 'u' : 't'}/${i % 5}`, value: String(i), version }))
    .filter((e) => e.key.startsWith('t/'));
  expected.push({ key: 't/1', value: undefined as unknown as string, version: 41 });
  assert.deepEqual(
    seen.map((e) => ({ key: e.key, value: text(e.value), version: e.version })),
    expected,
  );
  // Each change was already durable (in a crash image) when its event fired.
  for (const [i, image] of imagesAtEvents.entries()) {
    const event = seen[i]!;
    const durable = await readStateFile(image, DIR);
    assert.equal(durable?.revision, event.version);
    assert.equal(
      durable?.entries.get(event.key)?.version,
      event.value === undefined ? undefined : event.version,
    );
  }
  stop();
  stop();
  await coord.put('t/late', Buffer.from('x'));
  assert.equal(seen.length, expected.length, 'no events after unsubscribe');
  await coord.close();
});

test('watch: a listener may unsubscribe another during dispatch; events are per-listener copies', async () => {
  const { coord } = await openMem();
  const got: string[] = [];
  let stopSecond = () => {};
  coord.watch('', (e) => {
    got.push(`first ${e.key}`);
    e.value?.fill(0);
    stopSecond();
  });
  stopSecond = coord.watch('', (e) => got.push(`second ${e.key}`));
  const third: string[] = [];
  coord.watch('', (e) => third.push(text(e.value) ?? ''));
  await coord.put('k', Buffer.from('value'));
  assert.deepEqual(got, ['first k']);
  assert.deepEqual(third, ['value']);
  assert.equal(text((await coord.get('k'))?.value), 'value');
  await coord.close();
});

test('input over the limits: INVALID_ARGUMENT per request, RESOURCE_EXHAUSTED for the whole state', async () => {
  const { coord } = await openMem();
  const tooLongKey = 'k'.repeat(COORD_KEY_BYTES_MAX + 1);
  await assert.rejects(coord.put('', Buffer.from('x')), isCode(ErrorCode.InvalidArgument));
  await assert.rejects(coord.put(tooLongKey, Buffer.from('x')), isCode(ErrorCode.InvalidArgument));
  await assert.rejects(
    coord.put('é'.repeat(COORD_KEY_BYTES_MAX / 2 + 1), Buffer.from('x')),
    isCode(ErrorCode.InvalidArgument),
  );
  await assert.rejects(coord.put('lone\ud800', Buffer.from('x')), isCode(ErrorCode.InvalidArgument));
  await assert.rejects(coord.get(tooLongKey), isCode(ErrorCode.InvalidArgument));
  await assert.rejects(coord.list(tooLongKey), isCode(ErrorCode.InvalidArgument));
  assert.throws(() => coord.watch('\udc00', () => {}), isCode(ErrorCode.InvalidArgument));
  await assert.rejects(
    coord.put('big', Buffer.alloc(COORD_VALUE_BYTES_MAX + 1)),
    isCode(ErrorCode.InvalidArgument),
  );
  await coord.put('k'.repeat(COORD_KEY_BYTES_MAX), Buffer.alloc(COORD_VALUE_BYTES_MAX));
  // Fill the state to its byte bound with maximal values; the next one does not fit.
  const perEntry = entryDataBytes('v/00', Buffer.alloc(COORD_VALUE_BYTES_MAX));
  const fits = Math.floor((COORD_STATE_BYTES_MAX - COORD_KEY_BYTES_MAX - COORD_VALUE_BYTES_MAX) / perEntry);
  for (let i = 0; i < fits; i++)
    await coord.put(`v/${String(i).padStart(2, '0')}`, Buffer.alloc(COORD_VALUE_BYTES_MAX));
  await assert.rejects(
    coord.put('v/xx', Buffer.alloc(COORD_VALUE_BYTES_MAX)),
    isCode(ErrorCode.ResourceExhausted),
  );
  // Replacing a value with a smaller one still works, and frees room.
  await coord.put('v/00', Buffer.alloc(1));
  await coord.put('v/xx', Buffer.alloc(COORD_VALUE_BYTES_MAX / 2));
  const stops = Array.from({ length: COORD_WATCHERS_MAX }, () => coord.watch('', () => {}));
  assert.throws(() => coord.watch('', () => {}), isCode(ErrorCode.ResourceExhausted));
  stops[0]?.();
  coord.watch('', () => {});
  await coord.close();
});

test('at COORD_KEYS_MAX keys a new key is RESOURCE_EXHAUSTED; existing keys still change', async () => {
  const vfs = new MemVfs();
  await vfs.mkdirp(DIR);
  const entries = new Map<string, StoredValue>();
  let dataBytes = 0;
  for (let i = 0; i < COORD_KEYS_MAX; i++) {
    const key = `k${i}`;
    entries.set(key, { value: Buffer.from('v'), version: i + 1 });
    dataBytes += entryDataBytes(key, Buffer.from('v'));
  }
  const file = await vfs.createWritable(`${DIR}/${COORD_STATE_FILE_NAME}`);
  await file.append(encodeCoordinationState({ revision: COORD_KEYS_MAX, lastEpoch: 0, entries, dataBytes }));
  await file.sync();
  await vfs.syncDir(DIR);
  const { coord } = await openMem(vfs);
  await assert.rejects(coord.put('new', Buffer.from('v')), isCode(ErrorCode.ResourceExhausted));
  assert.equal(await coord.put('k7', Buffer.from('w')), COORD_KEYS_MAX + 1);
  assert.equal(await coord.delete('k8'), true);
  await coord.put('new', Buffer.from('v'));
  await coord.close();
});

test('openCoordination: embedded:<dir> opens the embedded driver; bad urls are INVALID_ARGUMENT', async () => {
  assert.ok(coordinationDriverSchemes().includes(EMBEDDED_COORDINATION_SCHEME));
  const vfs = new MemVfs();
  const coord: Coordination = await openCoordination(`embedded:${DIR}`, { vfs, clock: new ManualClock() });
  await coord.put('k', Buffer.from('v'));
  await coord.close();
  assert.equal((await readStateFile(vfs, DIR))?.entries.size, 1);
  await assert.rejects(openCoordination('embedded:', { vfs }), isCode(ErrorCode.InvalidArgument));
  await assert.rejects(openCoordination('/no/scheme', { vfs }), isCode(ErrorCode.InvalidArgument));
  await assert.rejects(openCoordination('etcd://localhost:2379', { vfs }), isCode(ErrorCode.InvalidArgument));
  assert.throws(
    () => registerCoordinationDriver(EMBEDDED_COORDINATION_SCHEME, async () => coord),
    isCode(ErrorCode.AlreadyExists),
  );
  assert.throws(
    () => registerCoordinationDriver('Bad Scheme', async () => coord),
    isCode(ErrorCode.InvalidArgument),
  );
});

test('state persists across reopen and versions continue from the last revision', async () => {
  const { coord, vfs } = await openMem();
  await coord.put('a', Buffer.from('1'));
  await coord.put('b', Buffer.from('2'));
  await coord.delete('a');
  await coord.close();
  const { coord: reopened } = await openMem(vfs);
  assert.equal(await reopened.get('a'), undefined);
  assert.deepEqual(await reopened.get('b'), { value: Buffer.from('2'), version: 2 });
  assert.equal(await reopened.put('c', Buffer.from('3')), 4);
  await reopened.close();
});

test('state persists on the real file system', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tabula-coord-'));
  try {
    const url = `embedded:${dir}/coord`;
    const first = await openCoordination(url, { vfs: new RealVfs() });
    await first.put('root', Buffer.from('tablet-server-1'));
    const lease = await first.acquireLock('master', 'a', 1000);
    assert.equal(lease?.epoch, 1);
    await first.close();
    const second = await openCoordination(url);
    assert.deepEqual(await second.get('root'), { value: Buffer.from('tablet-server-1'), version: 1 });
    assert.equal((await second.acquireLock('master', 'b', 1000))?.epoch, 2);
    await second.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a directory is opened once at a time; after close every call is UNAVAILABLE', async () => {
  const { coord, vfs } = await openMem();
  await assert.rejects(openMem(vfs), isCode(ErrorCode.FailedPrecondition));
  const pending = coord.put('k', Buffer.from('v'));
  const closed = coord.close();
  assert.equal(await pending, 1, 'a change queued before close completes');
  await closed;
  await coord.close();
  await assert.rejects(coord.get('k'), isCode(ErrorCode.Unavailable));
  await assert.rejects(coord.put('k', Buffer.from('v')), isCode(ErrorCode.Unavailable));
  await assert.rejects(coord.acquireLock('l', 'o', 10), isCode(ErrorCode.Unavailable));
  assert.throws(() => coord.watch('', () => {}), isCode(ErrorCode.Unavailable));
  const { coord: again } = await openMem(vfs);
  assert.equal((await again.get('k'))?.version, 1);
  await again.close();
});

test('a failed temp-file write rejects only that change; a failed install fails stop', async () => {
  const { coord, vfs } = await openMem();
  await coord.put('a', Buffer.from('1'));
  const events: number[] = [];
  coord.watch('', (e) => events.push(e.version));
  vfs.injectFault({ op: 'sync', pathIncludes: 'state.tmp', errno: 'ENOSPC', times: 1 });
  await assert.rejects(coord.put('b', Buffer.from('2')), isCode(ErrorCode.ResourceExhausted));
  assert.equal(await coord.get('b'), undefined);
  assert.equal(await coord.put('b', Buffer.from('2')), 2, 'the failed change took no revision');
  const lease = await coord.acquireLock('l', 'o', 1000);
  assert.ok(lease?.isValid());

  vfs.injectFault({ op: 'syncDir', errno: 'EIO', times: 1 });
  await assert.rejects(coord.put('c', Buffer.from('3')), isCode(ErrorCode.Io));
  assert.equal(lease?.isValid(), false, 'a failed instance vouches for no lease');
  await assert.rejects(coord.get('a'), isCode(ErrorCode.Io));
  await assert.rejects(coord.put('d', Buffer.from('4')), isCode(ErrorCode.Io));
  assert.deepEqual(events, [2]);
  await coord.close();
  // The rename happened, so on this disk the unacknowledged change won; either outcome is allowed.
  const { coord: reopened } = await openMem(vfs);
  assert.equal((await reopened.get('b'))?.version, 2);
  assert.ok([undefined, 3].includes((await reopened.get('c'))?.version));
  await reopened.close();
});
