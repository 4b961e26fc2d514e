// `tabula serve` logs: JSON lines on standard output (every line parses), the effective
// configuration at start, the gRPC address, console URL and data directory once serving, and a
// clean shutdown; `--log-level` is validated.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SPLIT_THRESHOLD_BYTES_DEFAULT } from '../../src/common/limits.js';

const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const START_TIMEOUT_MS = 20_000;

type LogRecord = Record<string, unknown>;

/** Every JSON record of a child's standard output, read as it comes. */
class LogReader {
  readonly records: LogRecord[] = [];
  private readonly waiters: Array<() => void> = [];

  constructor(child: ChildProcess) {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      this.records.push(JSON.parse(line) as LogRecord);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** The first record with message `msg`, once it has been written. */
  async waitFor(msg: string): Promise<LogRecord> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const found = this.records.find((r) => r.msg === msg);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no "${msg}" line: ${JSON.stringify(this.records)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }
}

test('serve logs its configuration, address and data directory as JSON fields', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tabula-serve-logs-'));
  const args = ['serve', '--port', '0', '--http-port', '0', '--data', dataDir, '--log-level', 'debug'];
  const child = spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const log = new LogReader(child);
    const serving = await log.waitFor('serving the Cloud Bigtable API');
    const starting = log.records.find((r) => r.msg === 'starting');
    assert.deepEqual(starting?.config, {
      host: '127.0.0.1',
      port: 0,
      httpPort: 0,
      data: dataDir,
      logLevel: 'debug',
      splitThresholdBytes: SPLIT_THRESHOLD_BYTES_DEFAULT,
      configFile: null,
    });
    assert.match(String(serving.address), /^127\.0\.0\.1:\d+$/);
    assert.match(String(serving.consoleUrl), /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(serving.data, dataDir);
    assert.equal(serving.level, 30);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    await log.waitFor('closed cleanly');
    assert.equal(await exited, 0);
    assert.ok(log.records.some((r) => r.msg === 'shutting down' && r.signal === 'SIGTERM'));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('an unknown log level is a usage error', () => {
  const run = spawnSync(process.execPath, [CLI_PATH, 'serve', '--log-level', 'loud'], { encoding: 'utf8' });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /--log-level <level>' argument 'loud' is invalid\. must be one of fatal, error/);
});
