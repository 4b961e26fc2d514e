/**
 * `--config FILE` of `tabula master` and `tabula tablet-server`, as real processes: a bad file
 * (unreadable, not JSON, not an object, an unknown key, a bad value) or a missing --coord/--store
 * is a usage error (exit 2) naming the problem, before anything starts; a good file starts the
 * process, and a flag given on the command line wins over the file's value for the same key.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EtcdCluster } from '../support/etcd-cluster.js';
import { freePort } from '../support/server-process.js';

const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
/** Longest a process may take to fail on a bad file, or to say it serves. */
const PROCESS_WAIT_MS = 30_000;
const EXIT_USAGE = 2;

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tabula-cluster-config-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function configFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function run(args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return { child, stderr: () => err };
}

/** Resolves with the exit code and standard error of `tabula ...args`. */
async function exitOf(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const { child, stderr } = run(args);
  const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_WAIT_MS);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stderr: stderr() };
}

/** Resolves once stderr matches `ready` (the process stays up); rejects if it exits first. */
async function started(
  args: string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const { child, stderr } = run(args);
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start: ${stderr()}`)), PROCESS_WAIT_MS);
    child.stderr?.on('data', () => {
      const m = ready.exec(stderr());
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${stderr()}`));
    });
  });
  return { child, match };
}

const BAD_FILES: ReadonlyArray<[string, string, RegExp]> = [
  ['not JSON', '{"port": ', /cannot read config file .*not-json\.json/],
  ['an array', '[1, 2]', /must hold a JSON object/],
  ['an unknown key', '{"dataDir": "x"}', /unknown key "dataDir"/],
  ['a port out of range', '{"port": 70000}', /port must be a port from 0 to 65535/],
  ['a port as text', '{"httpPort": "8080"}', /httpPort must be a number/],
  ['a bad coordination url', '{"coord": "127.0.0.1:2379"}', /coord must be a coordination url/],
];

for (const command of ['master', 'tablet-server']) {
  for (const [what, text, message] of BAD_FILES) {
    test(`${command} --config with ${what}: usage error, exit 2`, async () => {
      const name = what === 'not JSON' ? 'not-json.json' : `${command}-${what.replace(/ /g, '-')}.json`;
      const { code, stderr } = await exitOf([command, '--config', configFile(name, text)]);
      assert.equal(code, EXIT_USAGE, stderr);
      assert.match(stderr, /^tabula: USAGE: /);
      assert.match(stderr, message);
    });
  }

  test(`${command} --config of a missing file, or without --coord anywhere: usage error, exit 2`, async () => {
    const missing = await exitOf([command, '--config', join(dir, 'absent.json')]);
    assert.equal(missing.code, EXIT_USAGE, missing.stderr);
    assert.match(missing.stderr, /cannot read config file .*absent\.json/);
    const file = configFile(`${command}-store-only.json`, JSON.stringify({ store: dir }));
    const noCoord = await exitOf([command, '--config', file]);
    assert.equal(noCoord.code, EXIT_USAGE, noCoord.stderr);
    assert.match(noCoord.stderr, /--coord is required/);
  });
}

test('a good file starts master and tablet server; command-line flags override its values', {
  timeout: 3 * PROCESS_WAIT_MS,
}, async () => {
  const etcd = await EtcdCluster.start(1);
  const children: ChildProcess[] = [];
  try {
    const store = join(dir, 'store');
    const [filePort, fileHttp, flagHttp] = await Promise.all([1, 2, 3].map(() => freePort()));
    const masterFile = configFile(
      'master.json',
      JSON.stringify({
        coord: etcd.url('cfg'),
        store,
        host: '127.0.0.1',
        port: filePort,
        httpPort: fileHttp,
      }),
    );
    const master = await started(
      ['master', '--config', masterFile, '--http-port', String(flagHttp)],
      /master elected \(epoch \d+\): admin API at (\S+)/,
    );
    children.push(master.child);
    assert.equal(master.match[1], `127.0.0.1:${filePort}`, 'the file gives the port');
    const masterMetrics = await fetch(`http://127.0.0.1:${flagHttp}/metrics`);
    assert.match(
      await masterMetrics.text(),
      /tabula_cluster_info\{role="master"/,
      'the flag gives the HTTP port',
    );

    const [serverFilePort, serverFlagPort, serverHttp] = await Promise.all([1, 2, 3].map(() => freePort()));
    const serverFile = configFile(
      'server.json',
      JSON.stringify({ coord: etcd.url('cfg'), store, port: serverFilePort, httpPort: serverHttp }),
    );
    const server = await started(
      ['tablet-server', '--config', serverFile, '--port', String(serverFlagPort)],
      /tablet server \S+ serving the Cloud Bigtable API at (\S+)/,
    );
    children.push(server.child);
    assert.equal(server.match[1], `127.0.0.1:${serverFlagPort}`, 'the flag gives the port');
    const serverMetrics = await fetch(`http://127.0.0.1:${serverHttp}/metrics`);
    assert.match(
      await serverMetrics.text(),
      /tabula_cluster_info\{role="tablet_server"/,
      'the file gives the HTTP port',
    );
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(
      children.map((c) =>
        c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null,
      ),
    );
    await etcd.destroy();
  }
});
