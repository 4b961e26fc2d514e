/**
 * Starts etcd clusters for tests: 1 or 3 members as child processes on 127.0.0.1, each with a temp
 * data directory and free client and peer ports, with fast election settings (heartbeat 100 ms,
 * election timeout 1 s) so start-up and failover are quick. Members are stopped by PID only; the
 * leader is found through each member's maintenance status (etcd's JSON gateway on the client port).
 *
 * When the `etcd` binary is missing, `startEtcdCluster` throws a clear error (tests fail, they do
 * not skip): run `bash scripts/setup-etcd.sh` as root, or install Debian's `etcd-server`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server-process.js';

/** Longest wait for every member to report healthy. */
const ETCD_START_TIMEOUT_MS = 20_000;
/** Pause between two health probes. */
const ETCD_PROBE_INTERVAL_MS = 50;
/** Heartbeat and election timeout of test clusters (etcd defaults: 100 and 1000). */
const ETCD_HEARTBEAT_MS = 100;
const ETCD_ELECTION_TIMEOUT_MS = 1_000;

/** One etcd member. */
export interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  child: ChildProcess;
  /** Whether it was killed (and not restarted). */
  dead: boolean;
}

/** Fails with instructions when etcd is not installed. */
export function requireEtcd(): void {
  const probe = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'etcd is not installed (no `etcd` on PATH): run `bash scripts/setup-etcd.sh` as root ' +
        '(it installs the Debian package etcd-server), or install etcd 3.4+ yourself',
    );
  }
}

/** A running test cluster. */
export class EtcdCluster {
  private constructor(readonly members: EtcdMember[]) {}

  /** Starts `size` members and waits until each is healthy. */
  static async start(size: number): Promise<EtcdCluster> {
    requireEtcd();
    const token = `tabula-test-${process.pid}-${Date.now()}`;
    const specs = [];
    for (let i = 0; i < size; i++) {
      specs.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort() });
    }
    const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
    const members = specs.map((spec) => {
      const dataDir = mkdtempSync(join(tmpdir(), `tabula-etcd-${spec.name}-`));
      const member: EtcdMember = {
        ...spec,
        dataDir,
        child: undefined as unknown as ChildProcess,
        dead: false,
      };
      member.child = launch(member, initialCluster, token);
      return member;
    });
    const cluster = new EtcdCluster(members);
    try {
      await Promise.all(members.map((m) => waitHealthy(m)));
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  /** `host:port,…` of every member's client URL. */
  get endpoints(): string {
    return this.members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
  }

  /**
   * A coordination URL for this cluster under namespace `prefix`, listing member `firstIndex`
   * first (the client connects to the first reachable endpoint).
   */
  url(prefix: string, firstIndex = 0): string {
    const order = [firstIndex, ...this.members.keys()].filter((i, at, all) => all.indexOf(i) === at);
    const endpoints = order.map((i) => `127.0.0.1:${this.members[i]!.clientPort}`).join(',');
    return `etcd://${endpoints}/${prefix}`;
  }

  /** Index of the current leader among live members (asks each live member in turn). */
  async leaderIndex(): Promise<number> {
    for (const member of this.members) {
      if (member.dead) continue;
      const status = await memberStatus(member).catch(() => undefined);
      if (!status || status.leader === '0') continue;
      const index = await this.indexOfMemberId(status.leader);
      if (index >= 0) return index;
    }
    throw new Error('no etcd member knows a leader');
  }

  /** SIGKILLs member `index` by PID and waits for it to exit. */
  async kill(index: number): Promise<void> {
    const member = this.members[index]!;
    member.dead = true;
    await signalAndWait(member.child, 'SIGKILL');
  }

  /** Sends SIGSTOP / SIGCONT to member `index` by PID. */
  pause(index: number): void {
    process.kill(this.members[index]!.child.pid!, 'SIGSTOP');
  }
  resume(index: number): void {
    process.kill(this.members[index]!.child.pid!, 'SIGCONT');
  }

  /** Kills every member still running and removes the data directories. */
  async destroy(): Promise<void> {
    for (const member of this.members) {
      if (member.child.exitCode === null && member.child.signalCode === null) {
        try {
          process.kill(member.child.pid!, 'SIGCONT');
        } catch {}
        await signalAndWait(member.child, 'SIGKILL');
      }
      rmSync(member.dataDir, { recursive: true, force: true });
    }
  }

  private async indexOfMemberId(id: string): Promise<number> {
    for (let i = 0; i < this.members.length; i++) {
      const member = this.members[i]!;
      if (member.dead) continue;
      const status = await memberStatus(member).catch(() => undefined);
      if (status?.header.member_id === id) return i;
    }
    return -1;
  }
}

function launch(member: EtcdMember, initialCluster: string, token: string): ChildProcess {
  const client = `http://127.0.0.1:${member.clientPort}`;
  const peer = `http://127.0.0.1:${member.peerPort}`;
  const child = spawn(
    'etcd',
    [
      `--name=${member.name}`,
      `--data-dir=${member.dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-token=${token}`,
      '--initial-cluster-state=new',
      `--heartbeat-interval=${ETCD_HEARTBEAT_MS}`,
      `--election-timeout=${ETCD_ELECTION_TIMEOUT_MS}`,
      '--logger=zap',
      '--log-level=error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 8192) stderr += chunk.toString('utf8');
  });
  child.on('exit', (code, signal) => {
    if (!member.dead && code !== 0 && signal === null)
      process.stderr.write(`etcd ${member.name} exited ${code}: ${stderr}\n`);
  });
  return child;
}

interface MemberStatus {
  readonly header: { member_id: string };
  readonly leader: string;
}

async function memberStatus(member: EtcdMember): Promise<MemberStatus> {
  const response = await fetch(`http://127.0.0.1:${member.clientPort}/v3/maintenance/status`, {
    method: 'POST',
    body: '{}',
    signal: AbortSignal.timeout(1_000),
  });
  return (await response.json()) as MemberStatus;
}

async function waitHealthy(member: EtcdMember): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < ETCD_START_TIMEOUT_MS) {
    if (member.child.exitCode !== null) throw new Error(`etcd ${member.name} exited during start-up`);
    try {
      const response = await fetch(`http://127.0.0.1:${member.clientPort}/health`, {
        signal: AbortSignal.timeout(1_000),
      });
      const body = (await response.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, ETCD_PROBE_INTERVAL_MS));
  }
  throw new Error(`etcd ${member.name} was not healthy within ${ETCD_START_TIMEOUT_MS} ms`);
}

async function signalAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}
