/**
 * Starts servers for tests and benchmarks as child processes on 127.0.0.1 with a free port:
 * `tabula serve` (from dist/) on a temporary data directory, and the official emulator
 * `cbtemulator`. Each returns its address and a `stop()`; `kill()` sends SIGKILL.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const START_TIMEOUT_MS = 20_000;
const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

/** A running server. */
export interface ServerProcess {
  /** host:port, the value for BIGTABLE_EMULATOR_HOST. */
  readonly address: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Data directory (tabula only). */
  readonly dataDir: string | undefined;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
}

/** A port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function waitForOutput(child: ChildProcess, pattern: RegExp, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${seen}`)), START_TIMEOUT_MS);
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before starting: ${seen}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function handle(child: ChildProcess, port: number, dataDir: string | undefined): ServerProcess {
  return {
    address: `127.0.0.1:${port}`,
    port,
    child,
    dataDir,
    stop: async () => {
      child.kill('SIGTERM');
      await exited(child);
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited(child);
    },
  };
}

/** Starts `tabula serve` on `dataDir` (a new temporary directory when omitted). */
export async function startTabula(
  options: { dataDir?: string; args?: string[] } = {},
): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tabula-serve-'));
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      CLI_PATH,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--http-port',
      '0',
      '--data',
      dataDir,
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitForOutput(child, /BIGTABLE_EMULATOR_HOST=/, 'tabula serve');
  return handle(child, port, dataDir);
}

/** Removes a data directory made by `startTabula`. */
export function removeDataDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** The path of the official emulator, or an error saying how to get it. */
export function emulatorPath(): string {
  try {
    const listed = execFileSync('dpkg', ['-L', 'google-cloud-cli-bigtable-emulator'], { encoding: 'utf8' });
    const path = listed.split('\n').find((l) => l.endsWith('/cbtemulator'));
    if (path && existsSync(path)) return path;
  } catch {
    // fall through to the error below
  }
  throw new Error(
    'the official Bigtable emulator (cbtemulator) is missing: install the Debian package google-cloud-cli-bigtable-emulator',
  );
}

/** Starts the official emulator. */
export async function startEmulator(): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(emulatorPath(), ['-host', '127.0.0.1', '-port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForOutput(child, /running on|listening/i, 'cbtemulator');
  return handle(child, port, undefined);
}
