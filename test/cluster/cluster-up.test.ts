/**
 * `tabula cluster up` from outside, as real processes on 127.0.0.1: it starts etcd, a master and
 * two tablet servers, prints one line per process (with its PID, and for the master and servers
 * the URL of their console, whose /metrics answers) and the emulator export line; a
 * raw client creates a table and writes and reads a row through the printed address; SIGTERM stops
 * every child (each PID is gone afterwards) and the command exits 0. Without `etcd` on PATH it
 * prints how to install it and exits 2. Each run is bounded by the test timeouts below.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  connectData,
  connectTableAdmin,
  createTable,
  readRows,
  setCell,
  tableName,
  unary,
} from '../support/api-client.js';

const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
/** Bound of the whole start–use–stop test (the brief's bound: under 60 s). */
const UP_TEST_TIMEOUT_MS = 55_000;
/** Longest wait for the export line. */
const READY_TIMEOUT_MS = 40_000;
/** Pause between two checks that a PID is gone (a child is reaped just after its exit). */
const PID_CHECK_PAUSE_MS = 50;
const PID_CHECKS_MAX = 40;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Resolves with stdout once it holds the export line. */
function waitReady(child: ChildProcess, stderr: () => string): Promise<string> {
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`cluster up did not start: ${stderr()}`)),
      READY_TIMEOUT_MS,
    );
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (/export BIGTABLE_EMULATOR_HOST=\S+\n/.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cluster up exited ${code}: ${stderr()}`));
    });
  });
}

async function writeAndRead(address: string): Promise<void> {
  const admin = connectTableAdmin(address);
  const data = connectData(address);
  try {
    await createTable(admin, 'up', ['cf']);
    await unary(data, 'MutateRow', {
      tableName: tableName('up'),
      rowKey: Buffer.from('r1'),
      mutations: [setCell('cf', 'q', 1000, Buffer.from('v1'))],
    });
    const rows = await readRows(data, 'up');
    assert.deepEqual(
      rows.map((r) => [r.key.toString(), r.cells[0]?.value.toString()]),
      [['r1', 'v1']],
    );
  } finally {
    admin.close();
    data.close();
  }
}

test('cluster up --servers 2: serves through the printed address; SIGTERM stops every child', {
  timeout: UP_TEST_TIMEOUT_MS,
}, async () => {
  const store = mkdtempSync(join(tmpdir(), 'tabula-up-'));
  const up = spawn(
    process.execPath,
    [CLI_PATH, 'cluster', 'up', '--servers', '2', '--store', store, '--base-port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  up.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const pids: number[] = [];
  try {
    const out = await waitReady(up, () => err);
    for (const m of out.matchAll(/ pid (\d+)/g)) pids.push(Number(m[1]));
    assert.equal(pids.length, 4, `etcd, master and 2 servers:\n${out}`);
    assert.match(out, /^ts1 /m);
    // Every tabula child serves /metrics and a console on its own HTTP port, printed with it.
    const consoles = [...out.matchAll(/^(master|ts\d) .* console (http:\/\/\S+?)\/?$/gm)];
    assert.equal(consoles.length, 3, `a console per master and server:\n${out}`);
    for (const [, name, url] of consoles) {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const role = name === 'master' ? 'master' : 'tablet_server';
      assert.match(metrics, new RegExp(`tabula_cluster_info\\{role="${role}"`), `${name} /metrics`);
    }
    const address = /export BIGTABLE_EMULATOR_HOST=(\S+)/.exec(out)?.[1] as string;
    await writeAndRead(address);
    up.kill('SIGTERM');
    assert.equal(await exitOf(up), 0, err);
    for (let i = 0; i < PID_CHECKS_MAX && pids.some(pidAlive); i++)
      await new Promise((r) => setTimeout(r, PID_CHECK_PAUSE_MS));
    assert.deepEqual(pids.filter(pidAlive), [], 'no child left running');
    assert.doesNotMatch(err, /exited \(/, 'no child died while the cluster ran');
  } finally {
    if (up.exitCode === null) up.kill('SIGKILL');
    for (const pid of pids.filter(pidAlive)) process.kill(pid, 'SIGKILL');
    rmSync(store, { recursive: true, force: true });
  }
});

test('cluster up without etcd on PATH: says how to install it, exit code 2', {
  timeout: 20_000,
}, async () => {
  const store = mkdtempSync(join(tmpdir(), 'tabula-up-'));
  try {
    const up = spawn(process.execPath, [CLI_PATH, 'cluster', 'up', '--servers', '1', '--store', store], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: join(store, 'no-bin') },
    });
    let err = '';
    up.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    assert.equal(await exitOf(up), 2);
    assert.match(err, /scripts\/setup-etcd\.sh/);
    assert.match(err, /etcd-server/);
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});
