/**
 * The store lock from outside, with real `tabula serve` processes on a real directory:
 *
 *   1. a server killed with SIGKILL whose parent never reaps it (it lingers as a zombie: its pid
 *      stays "alive" to `kill(pid, 0)`) does not stop the next start;
 *   2. a LOCK file and an epoch file left naming a pid that now belongs to another live process do
 *      not stop the next start;
 *   3. two servers started at the same instant on one directory, again and again: exactly one
 *      serves, the other exits with FAILED_PRECONDITION naming the directory;
 *   4. a live server refuses a second one.
 *
 * No randomness: the race of (3) is real scheduling, repeated. Every child is stopped by its pid.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { removeDataDir } from '../support/server-process.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI_PATH = join(HERE, '..', '..', 'src', 'cli', 'main.js');
/** A start takes 1-3 s on a loaded 2-core machine; this only guards against a hang. */
const START_TIMEOUT_MS = 20_000;
/** Rounds of the simultaneous start. */
const RACE_ROUNDS = 10;
const ZOMBIE_WAIT_MS = 5_000;
const POLL_MS = 20;
const TEST_TIMEOUT_MS = 60_000;
const ADDRESS_LINE = /BIGTABLE_EMULATOR_HOST=(\S+)/;

/** How a started server ended its start: serving, or exited (with what it printed). */
type Outcome = { serving: true } | { serving: false; code: number | null; output: string };

function serveArgs(dataDir: string): string[] {
  return [CLI_PATH, 'serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--data', dataDir];
}

/** Resolves once `child` printed its address or exited. */
function startOutcome(child: ChildProcess): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`no start within the bound: ${output}`)),
      START_TIMEOUT_MS,
    );
    const onData = (d: Buffer) => {
      output += d.toString();
      if (ADDRESS_LINE.test(output)) {
        clearTimeout(timer);
        resolve({ serving: true });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ serving: false, code, output });
    });
  });
}

function spawnServe(dataDir: string): ChildProcess {
  return spawn(process.execPath, serveArgs(dataDir), { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

function processState(pid: number): string | undefined {
  try {
    return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + ZOMBIE_WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Every directory of a data directory that holds files: each locked store directory among them. */
function storeDirs(dataDir: string): string[] {
  const entries = readdirSync(dataDir, { recursive: true, withFileTypes: true });
  return [...new Set(entries.filter((e) => e.isFile()).map((e) => e.parentPath))];
}

async function assertStarts(dataDir: string, why: string): Promise<void> {
  const child = spawnServe(dataDir);
  const outcome = await startOutcome(child);
  await stop(child);
  assert.ok(outcome.serving, `${why}: the start was refused: ${outcome.serving ? '' : outcome.output}`);
}

test('a server killed with SIGKILL and left an unreaped zombie does not stop the next start', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tabula-lock-zombie-'));
  // sh starts the server in the background, prints its pid, then becomes `sleep`, which never
  // waits for children: the killed server stays a zombie for as long as `sleep` lives.
  const script = `"$0" "$@" & echo "pid $!"; exec sleep 600`;
  const parent = spawn('sh', ['-c', script, process.execPath, ...serveArgs(dataDir)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const outcome = startOutcome(parent);
    let pidText = '';
    parent.stdout?.on('data', (d: Buffer) => {
      pidText += d.toString();
    });
    assert.ok((await outcome).serving, 'the first server starts');
    const pid = Number(/pid (\d+)/.exec(pidText)?.[1]);
    assert.ok(pid > 0, `the server's pid was printed: ${pidText}`);
    process.kill(pid, 'SIGKILL');
    await until(`pid ${pid} to be a zombie`, () => processState(pid) === 'Z');
    assert.doesNotThrow(() => process.kill(pid, 0), 'a zombie still looks alive to kill(pid, 0)');
    await assertStarts(dataDir, 'after the zombie');
    assert.equal(processState(pid), 'Z', 'the old server was a zombie all along');
  } finally {
    await stop(parent, 'SIGKILL');
    removeDataDir(dataDir);
  }
});

test('a LOCK and epoch left naming a pid now used by another live process do not stop the next start', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tabula-lock-reuse-'));
  const other = spawn('sleep', ['600'], { stdio: 'ignore' });
  try {
    await assertStarts(dataDir, 'a fresh store');
    const dirs = storeDirs(dataDir);
    assert.ok(dirs.length > 0, 'the store has directories');
    // The state a holder with pid `other.pid` leaves when it dies and the pid is handed on.
    for (const dir of dirs) {
      writeFileSync(join(dir, 'LOCK'), `${other.pid}\n`);
      writeFileSync(join(dir, 'LOCK-EPOCH-999'), `epoch=999 pid=${other.pid}\n`);
    }
    await assertStarts(dataDir, 'the pid in LOCK is alive but another program');
    const coordDir = join(dataDir, 'coord');
    assert.ok(dirs.includes(coordDir), `the coordination directory is among ${dirs.join(', ')}`);
    const epochs = readdirSync(coordDir).filter((n) => n.startsWith('LOCK-EPOCH-'));
    assert.deepEqual(epochs, ['LOCK-EPOCH-1000'], 'the epoch went on from the one left behind');
  } finally {
    await stop(other, 'SIGKILL');
    removeDataDir(dataDir);
  }
});

test('two servers started at the same instant: exactly one serves, the other is refused', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tabula-lock-race-'));
  try {
    for (let round = 0; round < RACE_ROUNDS; round++) {
      const pair = [spawnServe(dataDir), spawnServe(dataDir)];
      try {
        const outcomes = await Promise.all(pair.map(startOutcome));
        const serving = outcomes.filter((o) => o.serving).length;
        assert.equal(serving, 1, `round ${round}: ${serving} servers serve one directory`);
        for (const o of outcomes) {
          if (o.serving) continue;
          assert.notEqual(o.code, 0, `round ${round}: the refused server exits with an error`);
          assert.match(o.output, /FAILED_PRECONDITION/, `round ${round}: ${o.output}`);
          assert.ok(o.output.includes(dataDir), `round ${round}: the error names the directory: ${o.output}`);
        }
      } finally {
        await Promise.all(pair.map((c) => stop(c)));
      }
    }
  } finally {
    removeDataDir(dataDir);
  }
});

test('a live server refuses a second one with FAILED_PRECONDITION naming the directory', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tabula-lock-live-'));
  const first = spawnServe(dataDir);
  try {
    assert.ok((await startOutcome(first)).serving, 'the first server starts');
    const second = spawnServe(dataDir);
    const outcome = await startOutcome(second);
    await stop(second);
    assert.equal(outcome.serving, false, 'the second server must not serve');
    if (outcome.serving) return;
    assert.notEqual(outcome.code, 0);
    assert.match(outcome.output, /FAILED_PRECONDITION/);
    assert.ok(outcome.output.includes(dataDir), outcome.output);
  } finally {
    await stop(first);
    removeDataDir(dataDir);
  }
});
