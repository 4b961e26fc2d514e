/**
 * `npm run bench:overload`: how a well-behaved client fares while others misbehave. One
 * `tabula serve` process with a table of 25,000 rows of 2 KiB; the well-behaved client is h2load
 * sending single-row ReadRows (random existing keys, 4 streams on one connection), measured:
 *
 *   unloaded        nothing else runs
 *   slow64/slow256  64 / 256 full-table scans that read their first message and then never read
 *   overload        a second h2load floods single-row reads at 8 connections × 64 streams (about
 *                   twice what saturates the server here) while the client is measured
 *
 * Printed per phase: the client's calls/s, p50 and p99 (ms), the p99 ratio to the unloaded p99,
 * and the server's RSS (MiB) at the end of the phase and its peak so far (VmHWM). Last line: one
 * JSON object of these figures. h2load is installed by scripts/setup-bench.sh when missing.
 *
 *   node dist/bench/overload-bench.js [--quick]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import type { ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectData, connectTableAdmin, tableName } from '../test/support/api-client.js';
import { grpcFrame, H2LOAD_PATH, type H2loadResult, runH2load } from '../test/support/api-h2load.js';
import {
  fillTable,
  pausedScan,
  rawSession,
  requestSerializer,
  rssMb,
} from '../test/support/overload-clients.js';
import { freePort, removeDataDir, startTabula } from '../test/support/server-process.js';

const TABLE = 'overload';
const ROWS = 25_000;
const VALUE_BYTES = 2048;
const STREAMS_PER_SESSION = 64;
const CLIENT_STREAMS = 4;
const FLOOD_CONNECTIONS = 8;
const FLOOD_STREAMS = 64;
const FLOOD_SECONDS = 600;
const KEY_BODIES = 20;

interface Phase {
  readonly name: string;
  readonly callsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p99Ratio: number;
  readonly rssMb: number;
  readonly peakRssMb: number;
  /** The server's event-loop delay over the phase (prom-client's monitor, reset at each scrape). */
  readonly eventLoopLagP99Ms: number;
  /** ReadRows the server answered OK per second over the phase, every client's together. */
  readonly serverReadsPerSecond: number;
}

/** One scrape of the server's /metrics: what the phases report. */
interface Scrape {
  /** Event-loop lag p99 (ms) since the previous scrape (a scrape resets prom-client's monitor). */
  readonly lagP99Ms: number;
  /** ReadRows calls the server has answered OK so far. */
  readonly okReads: number;
  readonly atMs: number;
}

/** Scrapes the server's /metrics. */
async function scrape(httpPort: number): Promise<Scrape> {
  // A new connection each time: a kept-alive one may have been closed by the server meanwhile.
  const text = await new Promise<string>((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port: httpPort, path: '/metrics', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve(body));
      res.on('error', reject);
    }).on('error', reject);
  });
  const match = /^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text);
  if (match === null) throw new Error("the server's /metrics has no nodejs_eventloop_lag_p99_seconds");
  let okReads = 0;
  for (const m of text.matchAll(/^tabula_rpc_calls_total\{([^}]*)\} (\S+)$/gm)) {
    if (/method="ReadRows"/.test(m[1] as string) && /code="OK"/.test(m[1] as string)) okReads += Number(m[2]);
  }
  return { lagP99Ms: Number(match[1]) * 1000, okReads, atMs: performance.now() };
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

function readBodies(): Buffer[] {
  const serialize = requestSerializer('ReadRows');
  return Array.from({ length: KEY_BODIES }, (_, i) =>
    serialize({
      tableName: tableName(TABLE),
      rows: { rowKeys: [Buffer.from(`row${String((i * 7919) % ROWS).padStart(8, '0')}`)] },
      rowsLimit: '1',
    }),
  );
}

function measure(address: string, bodies: Buffer[], requestsPerBody: number): H2loadResult {
  return runH2load({
    address,
    path: '/google.bigtable.v2.Bigtable/ReadRows',
    bodies,
    requestsPerBody,
    streams: CLIENT_STREAMS,
    // Refused calls (UNAVAILABLE) carry no data: the client's latency counts them, as it sees them.
    minResponseBytes: 0,
  });
}

/** Starts the flood in the background; returns a stop function. */
function startFlood(address: string, body: Buffer): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-flood-'));
  const bodyPath = join(dir, 'body');
  writeFileSync(bodyPath, grpcFrame(body));
  const child = spawn(
    H2LOAD_PATH,
    [
      '-D',
      String(FLOOD_SECONDS),
      '-c',
      String(FLOOD_CONNECTIONS),
      '-t',
      '1',
      '-m',
      String(FLOOD_STREAMS),
      '-d',
      bodyPath,
      '-H',
      'content-type: application/grpc',
      '-H',
      'te: trailers',
      `http://${address}/google.bigtable.v2.Bigtable/ReadRows`,
    ],
    { stdio: 'ignore' },
  );
  return () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
}

async function openPausedScans(
  address: string,
  count: number,
  sessions: ClientHttp2Session[],
): Promise<void> {
  const scans = [];
  for (let i = 0; i < count; i++) {
    if (i % STREAMS_PER_SESSION === 0) sessions.push(rawSession(address));
    scans.push(pausedScan(sessions[sessions.length - 1] as ClientHttp2Session, TABLE));
  }
  const opened = await Promise.all(scans);
  const ended = opened.filter((s) => s.ended).length;
  if (ended > 0) console.log(`  note: ${ended} of ${count} scans ended before pausing (refused or finished)`);
}

async function main(): Promise<void> {
  if (!existsSync(H2LOAD_PATH)) throw new Error(`h2load is missing: run scripts/setup-bench.sh`);
  const quick = process.argv.includes('--quick');
  const requestsPerBody = quick ? 100 : 500;
  const httpPort = await freePort();
  const server = await startTabula({ args: ['--http-port', String(httpPort)] });
  const pid = server.child.pid as number;
  let serverTail = '';
  const keepTail = (d: Buffer) => {
    serverTail = (serverTail + d.toString()).slice(-4096);
  };
  server.child.stdout?.on('data', keepTail);
  server.child.stderr?.on('data', keepTail);
  const data = connectData(server.address);
  const admin = connectTableAdmin(server.address);
  const sessions: ClientHttp2Session[] = [];
  const phases: Phase[] = [];
  let unloadedP99 = Number.NaN;
  let before: Scrape | undefined;
  const startPhase = async () => {
    before = await scrape(httpPort);
  };
  const record = async (name: string, r: H2loadResult) => {
    const after = await scrape(httpPort);
    const lagP99 = after.lagP99Ms;
    const seconds = before === undefined ? 0 : (after.atMs - before.atMs) / 1000;
    const served = before === undefined || seconds <= 0 ? 0 : (after.okReads - before.okReads) / seconds;
    if (name === 'unloaded') unloadedP99 = r.p99Ms;
    const phase = {
      name,
      callsPerSecond: Math.round(r.requestsPerSecond),
      p50Ms: Number(r.p50Ms.toFixed(3)),
      p99Ms: Number(r.p99Ms.toFixed(3)),
      p99Ratio: Number((r.p99Ms / unloadedP99).toFixed(2)),
      rssMb: Math.round(rssMb(pid)),
      peakRssMb: Math.round(peakRssMb(pid)),
      eventLoopLagP99Ms: Number(lagP99.toFixed(1)),
      serverReadsPerSecond: Math.round(served),
    };
    phases.push(phase);
    console.log(
      `${name.padEnd(10)} ${String(phase.callsPerSecond).padStart(7)} calls/s  p50 ${phase.p50Ms.toFixed(2)} ms  p99 ${phase.p99Ms.toFixed(2)} ms (${phase.p99Ratio}× unloaded)  rss ${phase.rssMb} MiB  peak ${phase.peakRssMb} MiB  loop lag p99 ${phase.eventLoopLagP99Ms} ms  server ${phase.serverReadsPerSecond} reads/s`,
    );
  };
  try {
    await fillTable(data, admin, TABLE, ROWS, VALUE_BYTES);
    const bodies = readBodies();
    measure(server.address, bodies.slice(0, 2), 100); // warm-up
    await startPhase(); // resets the lag monitor
    await record('unloaded', measure(server.address, bodies, requestsPerBody));
    await openPausedScans(server.address, 64, sessions);
    await startPhase();
    await record('slow64', measure(server.address, bodies, requestsPerBody));
    await openPausedScans(server.address, 192, sessions);
    await startPhase();
    await record('slow256', measure(server.address, bodies, requestsPerBody));
    for (const s of sessions.splice(0)) s.destroy();
    const stopFlood = startFlood(server.address, bodies[0] as Buffer);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      await startPhase();
      await record('overload', measure(server.address, bodies, requestsPerBody));
    } finally {
      stopFlood();
    }
    console.log(JSON.stringify(Object.fromEntries(phases.map((p) => [p.name, p]))));
  } catch (error) {
    const state = server.child.exitCode ?? server.child.signalCode ?? 'running';
    console.error(`the server (${state}) last printed:\n${serverTail}`);
    throw error;
  } finally {
    for (const s of sessions) s.destroy();
    data.close();
    admin.close();
    await server.stop();
    removeDataDir(server.dataDir);
  }
}

await main();
