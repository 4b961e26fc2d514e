/**
 * A local cluster for tests, all real processes on 127.0.0.1: one etcd member
 * (test/support/etcd-cluster.ts), `tabula master` and N `tabula tablet-server` (from dist/) over
 * one temporary store directory. Each process is started and stopped by its PID only; `kill()`
 * sends SIGKILL. The test reads the cluster keys through its own coordination client (`coord`).
 */
import '../../src/coord/etcd/etcd-driver.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ASSIGN_PREFIX,
  decodeAssignment,
  LOADED_PREFIX,
  SERVERS_PREFIX,
} from '../../src/cluster/cluster-keys.js';
import { type Coordination, openCoordination } from '../../src/coord/coordination.js';
import { EtcdCluster } from '../support/etcd-cluster.js';
import { freePort } from '../support/server-process.js';

const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
/** Longest wait for a process to say it serves. */
const START_TIMEOUT_MS = 30_000;
/** Characters of a process's log kept for error messages. */
const LOG_TAIL_CHARS = 4_000;
/** Characters of a process's JSON log kept for `stdout()` (the oldest are dropped beyond). */
const LOG_KEPT_CHARS = 4_000_000;

/** One process of the cluster. */
export interface ClusterProcess {
  readonly name: string;
  /** host:port of its API (tablet server: the public data API; master: the admin API). */
  readonly address: string;
  readonly child: ChildProcess;
  /** Its server id in `cluster/servers/` (tablet servers). */
  readonly serverId: string;
  /** Everything it wrote on stderr so far. */
  stderr(): string;
  /** Its console's URL (`http://host:port`) when it was started with `--http-port`. */
  consoleUrl(): string | undefined;
  /** Its JSON log (stdout) so far, up to LOG_KEPT_CHARS. */
  stdout(): string;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Extra command-line arguments and environment of a process the harness starts. */
export interface LaunchExtras {
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

async function launch(
  name: string,
  args: string[],
  ready: RegExp,
  spawned?: (child: ChildProcess) => void,
  extras: LaunchExtras = {},
): Promise<ClusterProcess> {
  const child = spawn(process.execPath, [CLI_PATH, ...args, ...(extras.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...extras.env },
  });
  spawned?.(child);
  let err = '';
  let log = '';
  // The JSON log on stdout: its tail goes into a start failure's message.
  child.stdout?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-LOG_KEPT_CHARS);
  });
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${err}`)), START_TIMEOUT_MS);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = ready.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before serving: ${err}\n${log.slice(-LOG_TAIL_CHARS)}`));
    });
  });
  return {
    name,
    address: match[2] ?? '',
    serverId: match[1] ?? '',
    child,
    stderr: () => err,
    consoleUrl: () => /web console and \/metrics at (\S+?)\/?\s/.exec(err)?.[1],
    stdout: () => log,
    kill: async () => {
      child.kill('SIGKILL');
      await exited(child);
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}

/** A running local cluster. */
export class LocalCluster {
  readonly servers: ClusterProcess[] = [];
  master!: ClusterProcess;
  coord!: Coordination;
  private serverCount = 0;
  /** Whether processes get an `--http-port`. */
  private console = false;
  private masterCount = 0;
  /** Every master process started (elected or not), for `destroy`. */
  private readonly masters: ChildProcess[] = [];

  private constructor(
    readonly etcd: EtcdCluster,
    readonly coordUrl: string,
    readonly storeDir: string,
  ) {}

  /**
   * etcd (`etcdMembers` members), the master and `servers` tablet servers, each serving; with
   * `console`, each on a free `--http-port` too (`ClusterProcess.consoleUrl()`).
   */
  static async start(
    servers: number,
    etcdMembers = 1,
    console = false,
    extras: { master?: LaunchExtras; server?: LaunchExtras } = {},
  ): Promise<LocalCluster> {
    const etcd = await EtcdCluster.start(etcdMembers);
    const cluster = new LocalCluster(
      etcd,
      etcd.url('tabula-test'),
      mkdtempSync(join(tmpdir(), 'tabula-cluster-')),
    );
    cluster.console = console;
    try {
      cluster.coord = await openCoordination(cluster.coordUrl);
      const [master] = await Promise.all([
        cluster.startMaster(extras.master),
        ...Array.from({ length: servers }, () => cluster.startServer(extras.server)),
      ]);
      cluster.master = master as ClusterProcess;
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  /**
   * Starts a master process; resolves once it is elected (a standby resolves only when the active
   * master is gone). Every master started is stopped by `destroy`.
   */
  async startMaster(extras: LaunchExtras = {}): Promise<ClusterProcess> {
    const p = await launch(
      `master${this.masterCount++}`,
      await this.args('master'),
      /master elected \(epoch ()\d+\): admin API at (\S+)/,
      (child) => this.masters.push(child),
      extras,
    );
    return p;
  }

  /** Starts one more tablet server. */
  async startServer(extras: LaunchExtras = {}): Promise<ClusterProcess> {
    const name = `ts${this.serverCount++}`;
    const p = await launch(
      name,
      await this.args('tablet-server'),
      /tablet server (\S+) serving the Cloud Bigtable API at (\S+)/,
      undefined,
      extras,
    );
    this.servers.push(p);
    return p;
  }

  /** The command line of a `role` process on a free port (and a free HTTP port with `console`). */
  private async args(role: 'master' | 'tablet-server'): Promise<string[]> {
    const out = [
      role,
      '--coord',
      this.coordUrl,
      '--store',
      this.storeDir,
      '--port',
      String(await freePort()),
    ];
    if (this.console) out.push('--http-port', String(await freePort()));
    return out;
  }

  /** Tablets per server id, from the assignment keys. */
  async tabletsByServer(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const e of await this.coord.list(ASSIGN_PREFIX)) {
      const a = decodeAssignment(e.key, e.value);
      out.set(a.server, (out.get(a.server) ?? 0) + 1);
    }
    return out;
  }

  /**
   * Every tablet opening the tablet servers logged ('tablet opened'): which process opened which
   * tablet under which owner epoch, in log order per process.
   */
  tabletOpens(): { server: string; tablet: string; ownerEpoch: number }[] {
    const out: { server: string; tablet: string; ownerEpoch: number }[] = [];
    for (const p of this.servers) {
      for (const line of p.stdout().split('\n')) {
        if (!line.includes('"tablet opened"')) continue;
        const entry = JSON.parse(line) as { table: string; tablet: string; ownerEpoch: number };
        out.push({ server: p.name, tablet: `${entry.table}/${entry.tablet}`, ownerEpoch: entry.ownerEpoch });
      }
    }
    return out;
  }

  /** The (tablet, owner epoch) pairs opened by more than one process: empty when ownership is sound. */
  epochsWithTwoOwners(): string[] {
    const owners = new Map<string, Set<string>>();
    for (const o of this.tabletOpens()) {
      const k = `${o.tablet}@${o.ownerEpoch}`;
      owners.set(k, (owners.get(k) ?? new Set()).add(o.server));
    }
    return [...owners].filter(([, s]) => s.size > 1).map(([k, s]) => `${k}: ${[...s].join(',')}`);
  }

  /**
   * For a failure's message: the servers, assignment and loaded keys, and the last
   * `lines` log lines of each tablet server and of the master.
   */
  async describe(lines = 15): Promise<string> {
    const keys = await Promise.all(
      [SERVERS_PREFIX, ASSIGN_PREFIX, LOADED_PREFIX].map((p) => this.coord.list(p).catch((e) => String(e))),
    );
    const text = keys.map((k) =>
      typeof k === 'string' ? k : k.map((e) => `${e.key} ${e.value.toString()}`).join('\n'),
    );
    const logs = [...this.servers, this.master].map(
      (p) =>
        `--- ${p.name} ${p.serverId} exit ${p.child.exitCode ?? p.child.signalCode}\n${p.stdout().split('\n').slice(-lines).join('\n')}`,
    );
    return [...text, ...logs].join('\n');
  }

  /** Stops every process (SIGKILL), etcd, and removes the store. */
  async destroy(): Promise<void> {
    await this.coord?.close().catch(() => undefined);
    await Promise.all(this.servers.map((p) => p.kill()));
    for (const m of this.masters) m.kill('SIGKILL');
    await Promise.all(this.masters.map((m) => exited(m)));
    await this.etcd.destroy();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
