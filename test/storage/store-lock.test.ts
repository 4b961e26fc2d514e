/**
 * StoreLock: the in-process registry, the owner epoch (in memory and on disk), and the OS lock
 * between real processes: several children try the same directory at the same instant, round after
 * round, and exactly one wins each round, with an epoch one above the last round's.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { RealVfs } from '../../src/storage/real-vfs.js';
import { StoreLock } from '../../src/storage/store-lock.js';
import { isStoreLockHeld, largestEpoch } from '../../src/storage/store-lock-disk.js';

const CHILD_PATH = join(dirname(fileURLToPath(import.meta.url)), 'store-lock-child.js');
const RACE_ROUNDS = 8;
const RACERS = 3;
/** Once every racer is loaded, they start together this long after (time to read the instant). */
const RACE_START_DELAY_MS = 100;
const RACE_TIMEOUT_MS = 60_000;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tabula-store-lock-'));
}

function epochFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith('LOCK-EPOCH-'));
}

test('a second opener in the same process is refused until the first releases', async () => {
  for (const vfs of [new MemVfs(), new RealVfs()]) {
    const dir = vfs instanceof RealVfs ? tempDir() : '/store';
    try {
      const first = await StoreLock.acquire(vfs, dir);
      await assert.rejects(StoreLock.acquire(vfs, dir), (err) => {
        assert.ok(hasCode(err, ErrorCode.FailedPrecondition));
        assert.ok(err.message.includes(dir), err.message);
        return true;
      });
      await first.release();
      await first.release();
      const second = await StoreLock.acquire(vfs, dir);
      assert.equal(second.epoch, first.epoch + 1);
      await second.release();
    } finally {
      if (vfs instanceof RealVfs) rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('two concurrent acquisitions in one process: exactly one wins', async () => {
  const dir = tempDir();
  try {
    const vfs = new RealVfs();
    const results = await Promise.allSettled([StoreLock.acquire(vfs, dir), StoreLock.acquire(vfs, dir)]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'fulfilled') await r.value.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the disk epoch starts at 1, grows at each opening, and only the largest file is kept', async () => {
  const dir = tempDir();
  try {
    const vfs = new RealVfs();
    for (let expected = 1; expected <= 3; expected++) {
      const lock = await StoreLock.acquire(vfs, dir);
      assert.equal(lock.epoch, expected);
      assert.deepEqual(epochFiles(dir), [`LOCK-EPOCH-${expected}`]);
      assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8'), `${process.pid}\n`, 'LOCK names the holder');
      await lock.release();
      assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8'), '', 'a released LOCK names nobody');
    }
    // A crash between creating an epoch file and removing the older ones leaves both: the largest counts.
    writeFileSync(join(dir, 'LOCK-EPOCH-7'), '');
    writeFileSync(join(dir, 'LOCK-EPOCH-junk'), '');
    const lock = await StoreLock.acquire(vfs, dir);
    assert.equal(lock.epoch, 8);
    assert.deepEqual(epochFiles(dir).sort(), ['LOCK-EPOCH-8', 'LOCK-EPOCH-junk']);
    await lock.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a LOCK naming a live pid decides nothing', async () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'LOCK'), `${process.ppid}\n`);
    const lock = await StoreLock.acquire(new RealVfs(), dir);
    assert.equal(lock.epoch, 1);
    await lock.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('isStoreLockHeld sees a holder and nothing else', async () => {
  const dir = tempDir();
  try {
    assert.equal(isStoreLockHeld(dir), false, 'no LOCK file');
    const lock = await StoreLock.acquire(new RealVfs(), dir);
    assert.equal(isStoreLockHeld(dir), true);
    await lock.release();
    assert.equal(isStoreLockHeld(dir), false);
    const again = await StoreLock.acquire(new RealVfs(), dir);
    assert.equal(again.epoch, 2, 'the probe took no epoch');
    await again.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('largestEpoch reads only well-formed epoch names', () => {
  assert.equal(largestEpoch([]), 0);
  assert.equal(largestEpoch(['LOCK', 'LOCK-EPOCH-2', 'LOCK-EPOCH-10', 'LOCK-EPOCH-03', 'LOCK-EPOCH-x']), 10);
});

/** A racer: resolves `ready` once loaded; `start(at)` sends the instant; `result` is its verdict. */
function spawnRacer(dir: string): { ready: Promise<void>; start(at: number): void; result: Promise<string> } {
  const child = spawn(process.execPath, [CHILD_PATH, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('ready\n')) onReady();
  });
  const result = new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', () => resolve(out.replace(/^ready\n/, '').trim()));
  });
  return { ready, start: (at) => child.stdin.end(`${at}\n`), result };
}

async function raceRound(dir: string): Promise<string[]> {
  const racers = Array.from({ length: RACERS }, () => spawnRacer(dir));
  await Promise.all(racers.map((r) => r.ready));
  const startAt = Date.now() + RACE_START_DELAY_MS;
  for (const r of racers) r.start(startAt);
  return Promise.all(racers.map((r) => r.result));
}

test('processes that try one directory at the same instant: exactly one wins each round', {
  timeout: RACE_TIMEOUT_MS,
}, async () => {
  const dir = tempDir();
  try {
    let epoch = 0;
    let raced = 0;
    for (let round = 1; round <= RACE_ROUNDS; round++) {
      const lines = await raceRound(dir);
      const tried = lines.filter((l) => l !== 'late');
      if (tried.length === 0) continue;
      if (tried.length >= 2) raced++;
      const won = tried.filter((l) => l.startsWith('won '));
      assert.deepEqual(won, [`won ${epoch + 1}`], `round ${round}: ${lines.join(' | ')}`);
      epoch++;
      for (const l of tried) {
        if (l.startsWith('won ')) continue;
        assert.ok(l.startsWith('refused FAILED_PRECONDITION'), `round ${round}: ${l}`);
        assert.ok(l.includes(dir), `round ${round}: the refusal names the directory: ${l}`);
      }
    }
    assert.ok(raced >= RACE_ROUNDS / 2, `only ${raced} of ${RACE_ROUNDS} rounds had two or more contenders`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
