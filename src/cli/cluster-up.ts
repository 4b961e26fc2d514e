/**
 * `tabula cluster up --servers N [--store DIR] [--base-port P]`: a local development cluster on
 * 127.0.0.1 — one etcd member, one `tabula master` and N `tabula tablet-server`s, each a child
 * process of this one (docs/cluster.md).
 *
 * Layout under `--store` (default `./tabula-cluster`): `etcd/` (the etcd member's data), `tabula/`
 * (the store directory the master and servers share), `logs/<name>.log` (each child's standard
 * output and error). Ports: etcd client P, etcd peer P+1, master P+2, tablet server i P+3+i;
 * then the HTTP ports (console and /metrics): master P+3+N, tablet server i P+4+N+i.
 * `--base-port 0` takes any free ports instead. The summary prints each child's console URL.
 *
 * Concurrency: one event loop; children are tracked by PID in `children`, started in order (etcd,
 * then master and servers together) and stopped in reverse (servers and master, then etcd).
 * Invariants: every child started is stopped by its PID before this process exits; a child that
 * exits while the cluster runs is reported on standard error (and not restarted); when `etcd` is
 * not on PATH nothing is started and the exit code is 2.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Clock, systemClock } from '../common/clock.js';
import { errors } from '../common/errors.js';
import {
  CLUSTER_UP_ETCD_PROBE_DEADLINE_MS,
  CLUSTER_UP_ETCD_PROBE_MS,
  CLUSTER_UP_ETCD_START_MS,
  CLUSTER_UP_PROCESS_START_MS,
  CLUSTER_UP_STDERR_TAIL_CHARS,
  CLUSTER_UP_STOP_GRACE_MS,
} from '../common/limits.js';

const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
const LOOPBACK = '127.0.0.1';
/** Exit code when etcd is not installed. */
export const EXIT_NO_ETCD = 2;
/** The coordination namespace of the local cluster inside its etcd. */
const COORD_PREFIX = 'tabula';
const MASTER_READY = /master elected \(epoch \d+\): admin API at (\S+)/;
const SERVER_READY = /tablet server \S+ serving the Cloud Bigtable API at (\S+)/;
/** The line a child prints before its ready line when it serves a console. */
const CONSOLE_LINE = /web console and \/metrics at (\S+)/;

/** Options of `tabula cluster up`. */
export interface ClusterUpOptions {
  servers: number;
  store: string;
  basePort: number;
  clock?: Clock;
}

/** One child process of the local cluster. */
interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly log: WriteStream;
  address: string;
  /** Its console's URL ('' for etcd). */
  consoleUrl: string;
}

/** The message printed when `etcd` is not on PATH. */
export const NO_ETCD_MESSAGE =
  'tabula cluster up: etcd is not installed (no `etcd` on PATH): run `bash scripts/setup-etcd.sh` ' +
  'as root, or install the Debian package etcd-server';

/** Whether an `etcd` binary answers `etcd --version`. */
function etcdInstalled(): boolean {
  const probe = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  return !probe.error && probe.status === 0;
}

function anyFreePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, LOOPBACK, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => done(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function exited(child: ChildProcess): Promise<void> {
  if (!alive(child)) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

/** The local cluster: starts, reports and stops its children. */
class LocalDevCluster {
  readonly children: Child[] = [];
  private stopping = false;
  private readonly clock: Clock;
  private readonly root: string;

  constructor(private readonly options: ClusterUpOptions) {
    this.clock = options.clock ?? systemClock;
    this.root = resolve(options.store);
  }

  /** Spawns `command` as child `name`, its output appended to logs/<name>.log. */
  private spawnChild(name: string, command: string, args: string[]): Child {
    const log = createWriteStream(join(this.root, 'logs', `${name}.log`), { flags: 'a' });
    const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.pipe(log, { end: false });
    proc.stderr?.pipe(log, { end: false });
    const child: Child = { name, process: proc, log, address: '', consoleUrl: '' };
    this.children.push(child);
    proc.once('exit', (code, signal) => {
      log.end();
      if (!this.stopping)
        process.stderr.write(
          `tabula cluster up: ${name} (pid ${proc.pid}) exited (${signal ?? `code ${code}`}); ` +
            `see ${join(this.root, 'logs', `${name}.log`)}\n`,
        );
    });
    proc.once('error', (err) => process.stderr.write(`tabula cluster up: ${name}: ${err.message}\n`));
    return child;
  }

  /** Starts the etcd member and waits until it is healthy; returns its client address. */
  async startEtcd(): Promise<string> {
    const base = this.options.basePort;
    const clientPort = base === 0 ? await anyFreePort() : base;
    const peerPort = base === 0 ? await anyFreePort() : base + 1;
    const client = `http://${LOOPBACK}:${clientPort}`;
    const peer = `http://${LOOPBACK}:${peerPort}`;
    const etcd = this.spawnChild('etcd', 'etcd', [
      '--name=tabula-dev',
      `--data-dir=${join(this.root, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=tabula-dev=${peer}`,
      '--log-level=error',
    ]);
    etcd.address = `${LOOPBACK}:${clientPort}`;
    const startMs = this.clock.monotonicMs();
    while (this.clock.monotonicMs() - startMs < CLUSTER_UP_ETCD_START_MS) {
      if (!alive(etcd.process))
        throw errors.unavailable('etcd exited during start-up', { log: 'logs/etcd.log' });
      try {
        const response = await fetch(`${client}/health`, {
          signal: AbortSignal.timeout(CLUSTER_UP_ETCD_PROBE_DEADLINE_MS),
        });
        if (((await response.json()) as { health?: string }).health === 'true') return etcd.address;
      } catch {}
      await sleep(CLUSTER_UP_ETCD_PROBE_MS);
    }
    throw errors.unavailable('etcd was not healthy in time', { waitedMs: CLUSTER_UP_ETCD_START_MS });
  }

  /** Starts a `tabula <role>` child and resolves with its address once it says it serves. */
  async startTabula(
    name: string,
    role: string,
    ports: { port: number; httpPort: number },
    coord: string,
    ready: RegExp,
  ): Promise<Child> {
    if (this.stopping) throw errors.unavailable(`stopping before ${name} started`);
    const store = join(this.root, 'tabula');
    const args = [CLI_PATH, role, '--coord', coord, '--store', store];
    args.push('--port', String(ports.port), '--http-port', String(ports.httpPort));
    const child = this.spawnChild(name, process.execPath, args);
    let err = '';
    child.address = await new Promise<string>((done, fail) => {
      const timer = setTimeout(
        () => fail(errors.unavailable(`${name} did not start in time`, { stderr: err })),
        CLUSTER_UP_PROCESS_START_MS,
      );
      const onData = (d: Buffer) => {
        err = (err + d.toString()).slice(-CLUSTER_UP_STDERR_TAIL_CHARS);
        const m = ready.exec(err);
        if (!m) return;
        clearTimeout(timer);
        child.process.stderr?.off('data', onData);
        child.consoleUrl = CONSOLE_LINE.exec(err)?.[1] ?? '';
        done(m[1] as string);
      };
      child.process.stderr?.on('data', onData);
      child.process.once('exit', (code) => {
        clearTimeout(timer);
        fail(errors.unavailable(`${name} exited before serving`, { code: code ?? -1, stderr: err }));
      });
    });
    return child;
  }

  /** Starts etcd, the master and every tablet server; resolves once all serve. */
  async start(): Promise<void> {
    for (const sub of ['etcd', 'tabula', 'logs']) mkdirSync(join(this.root, sub), { recursive: true });
    const etcdAddress = await this.startEtcd();
    const coord = `etcd://${etcdAddress}/${COORD_PREFIX}`;
    const base = this.options.basePort;
    const n = this.options.servers;
    const portOf = (offset: number) => (base === 0 ? 0 : base + offset);
    await Promise.all([
      this.startTabula('master', 'master', { port: portOf(2), httpPort: portOf(3 + n) }, coord, MASTER_READY),
      ...Array.from({ length: n }, (_, i) =>
        this.startTabula(
          `ts${i}`,
          'tablet-server',
          { port: portOf(3 + i), httpPort: portOf(4 + n + i) },
          coord,
          SERVER_READY,
        ),
      ),
    ]);
  }

  /** One line per process, then the emulator export line for the first tablet server. */
  summaryLines(): string[] {
    const lines = this.children.map(
      (c) =>
        `${c.name.padEnd(8)} ${c.address.padEnd(21)} pid ${c.process.pid}` +
        (c.consoleUrl === '' ? '' : `  console ${c.consoleUrl}`),
    );
    const first = this.children.find((c) => c.name === 'ts0');
    lines.push(`export BIGTABLE_EMULATOR_HOST=${first?.address ?? ''}`);
    return lines;
  }

  /** Stops every child by PID: tablet servers and master first, then etcd; SIGKILL after a grace. */
  async stop(): Promise<void> {
    this.stopping = true;
    const etcd = this.children.filter((c) => c.name === 'etcd');
    const rest = this.children.filter((c) => c.name !== 'etcd');
    await Promise.all(rest.map((c) => this.stopChild(c)));
    await Promise.all(etcd.map((c) => this.stopChild(c)));
  }

  private async stopChild(child: Child): Promise<void> {
    if (!alive(child.process)) return;
    const done = exited(child.process);
    child.process.kill('SIGTERM');
    const timer = setTimeout(() => child.process.kill('SIGKILL'), CLUSTER_UP_STOP_GRACE_MS);
    await done;
    clearTimeout(timer);
  }
}

/**
 * Runs `tabula cluster up` until SIGINT/SIGTERM; resolves with the exit code (0 after a signal,
 * 2 without etcd, 1 when the cluster did not start).
 */
export async function runClusterUp(options: ClusterUpOptions): Promise<number> {
  if (!etcdInstalled()) {
    console.error(NO_ETCD_MESSAGE);
    return EXIT_NO_ETCD;
  }
  const cluster = new LocalDevCluster(options);
  // `on`, not `once`: a second signal while the children stop must not kill this process and
  // leave them running.
  const signal = new Promise<NodeJS.Signals>((done) => {
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
  const started = cluster.start().then(
    () => true,
    (err: unknown) => {
      console.error(`tabula cluster up: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    },
  );
  const first = await Promise.race([started, signal.then(() => 'signal' as const)]);
  if (first === true) {
    for (const line of cluster.summaryLines()) console.log(line);
    await signal;
  }
  await cluster.stop();
  return first === false ? 1 : 0;
}
