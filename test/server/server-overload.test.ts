// Grace under load, from outside: a real `tabula serve` process with readers that stop reading
// and a flood of large writes (its resident memory read from /proc), and an in-process server
// with small limits for the admission bounds, cancelling clients, deadlines and idle connections.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { Metadata, status } from '@grpc/grpc-js';
import { GRPC_STREAM_UNFLUSHED_BYTES_MAX, READ_ROWS_RESPONSE_BYTES_TARGET } from '../../src/common/limits.js';
import { startServer, type TransportServer } from '../../src/server/server.js';
import { openTableStore } from '../../src/tablet/table-store.js';
import type { TableStore } from '../../src/tablet/table-store-api.js';
import { connectData, connectTableAdmin, readRows, statusName, tableName } from '../support/api-client.js';
import {
  fillTable,
  pausedScan,
  quantile,
  rawCall,
  rawSession,
  requestSerializer,
  rssMb,
  timedReads,
} from '../support/overload-clients.js';
import { removeDataDir, startTabula } from '../support/server-process.js';

const MIB = 1024 * 1024;
const TABLE = 'big';
const ROWS = 24_000;
const VALUE_BYTES = 2048;
const PAUSED_SCANS = 48;
/** What one paused scan may hold: the unflushed bound, one response, and the peer's window. */
const PER_PAUSED_SCAN_MB = (GRPC_STREAM_UNFLUSHED_BYTES_MAX + READ_ROWS_RESPONSE_BYTES_TARGET) / MIB + 0.1;
/** Allocator and heap noise a process shows with no client doing anything wrong. */
const RSS_SLACK_MB = 96;

function closeAll(sessions: ClientHttp2Session[]): void {
  for (const s of sessions) s.destroy();
}

test('paused scans hold bounded memory and other clients keep their latency', async () => {
  const server = await startTabula();
  const data = connectData(server.address);
  const admin = connectTableAdmin(server.address);
  const sessions: ClientHttp2Session[] = [];
  try {
    await fillTable(data, admin, TABLE, ROWS, VALUE_BYTES);
    const unloaded = await timedReads(data, TABLE, 300, ROWS);
    const pid = server.child.pid as number;
    const before = rssMb(pid);
    for (let i = 0; i < PAUSED_SCANS / 16; i++) sessions.push(rawSession(server.address));
    const scans = await Promise.all(
      Array.from({ length: PAUSED_SCANS }, (_, i) =>
        pausedScan(sessions[i % sessions.length] as ClientHttp2Session, TABLE),
      ),
    );
    assert.ok(
      scans.every((s) => !s.ended),
      'every scan is still open, paused',
    );
    await sleep(1500);
    const after = rssMb(pid);
    const loaded = await timedReads(data, TABLE, 300, ROWS);
    const growthMb = after - before;
    const boundMb = PAUSED_SCANS * PER_PAUSED_SCAN_MB + RSS_SLACK_MB;
    console.log(
      `# ${PAUSED_SCANS} paused scans over ${(ROWS * VALUE_BYTES) / MIB} MiB: rss ${before.toFixed(0)} -> ${after.toFixed(0)} MiB ` +
        `(+${growthMb.toFixed(0)}, bound ${boundMb.toFixed(0)}); read p99 ${quantile(unloaded, 0.99).toFixed(2)} -> ${quantile(loaded, 0.99).toFixed(2)} ms`,
    );
    assert.ok(
      growthMb <= boundMb,
      `rss grew ${growthMb.toFixed(0)} MiB with ${PAUSED_SCANS} paused scans (bound ${boundMb.toFixed(0)})`,
    );
    assert.ok(
      quantile(loaded, 0.99) < 250,
      `single-row read p99 ${quantile(loaded, 0.99).toFixed(1)} ms beside paused scans`,
    );
    closeAll(sessions);
    const rows = await readRows(data, TABLE, { rowsLimit: 3 });
    assert.equal(rows.length, 3, 'the server serves scans after the paused readers left');
  } finally {
    closeAll(sessions);
    data.close();
    admin.close();
    await server.stop();
    removeDataDir(server.dataDir);
  }
});

test('a flood of 1 MiB MutateRows is refused fast, bounded, and loses no acknowledged write', async () => {
  const server = await startTabula();
  const data = connectData(server.address);
  const admin = connectTableAdmin(server.address);
  const sessions = Array.from({ length: 8 }, () => rawSession(server.address));
  try {
    await fillTable(data, admin, 'flood', 1, 16);
    const pid = server.child.pid as number;
    const before = rssMb(pid);
    const serialize = requestSerializer('MutateRows');
    const outcomes = new Map<string, number>();
    const acked: string[] = [];
    let peakMb = before;
    const sampler = setInterval(() => {
      peakMb = Math.max(peakMb, rssMb(pid));
    }, 50);
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 8 * 64; i++) {
      const key = `flood${String(i).padStart(5, '0')}`;
      const body = serialize({
        tableName: tableName('flood'),
        entries: [
          {
            rowKey: Buffer.from(key),
            mutations: [
              {
                setCell: {
                  familyName: 'f',
                  columnQualifier: Buffer.from('q'),
                  timestampMicros: '1000',
                  value: Buffer.alloc(MIB, 1),
                },
              },
            ],
          },
        ],
      });
      const stream = rawCall(sessions[i % sessions.length] as ClientHttp2Session, 'MutateRows', body);
      calls.push(
        new Promise((resolve) => {
          let code = 'none';
          stream.on('response', (h) => {
            if (h['grpc-status'] !== undefined) code = String(h['grpc-status']);
          });
          stream.on('trailers', (t) => {
            code = String(t['grpc-status']);
          });
          stream.on('data', () => {});
          stream.on('close', () => {
            outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
            if (code === '0') acked.push(key);
            resolve();
          });
        }),
      );
    }
    await Promise.all(calls);
    clearInterval(sampler);
    console.log(
      `# flood: outcomes ${JSON.stringify(Object.fromEntries(outcomes))}; rss ${before.toFixed(0)} -> peak ${peakMb.toFixed(0)} MiB`,
    );
    const unexpected = [...outcomes.keys()].filter((c) => c !== '0' && c !== String(status.UNAVAILABLE));
    assert.deepEqual(unexpected, [], 'every call is applied or refused as UNAVAILABLE');
    assert.ok((outcomes.get(String(status.UNAVAILABLE)) ?? 0) > 0, 'some of the flood is refused');
    assert.ok(
      peakMb - before < 1024,
      `rss peak grew ${(peakMb - before).toFixed(0)} MiB under 512 MiB offered at once`,
    );
    const rows = await readRows(data, 'flood', { filter: { stripValueTransformer: true } });
    const stored = new Set(rows.map((r) => r.key.toString()));
    const lost = acked.filter((k) => !stored.has(k));
    assert.deepEqual(lost, [], 'every acknowledged write is readable');
  } finally {
    closeAll(sessions);
    data.close();
    admin.close();
    await server.stop();
    removeDataDir(server.dataDir);
  }
});

/** An in-process server on a fresh store with `limits`, and a filled table. */
async function smallServer(
  limits: Parameters<typeof startServer>[0]['transportLimits'],
  rows = 2_000,
): Promise<{ server: TransportServer; store: TableStore; dir: string; data: Client; admin: Client }> {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-overload-'));
  const store = await openTableStore({ dir });
  const server = await startServer({ host: '127.0.0.1', port: 0, store, transportLimits: limits });
  const data = connectData(server.address);
  const admin = connectTableAdmin(server.address);
  await fillTable(data, admin, TABLE, rows, 4096);
  return { server, store, dir, data, admin };
}

async function stopSmall(s: Awaited<ReturnType<typeof smallServer>>): Promise<void> {
  s.data.close();
  s.admin.close();
  await s.server.close();
  await s.store.close();
  rmSync(s.dir, { recursive: true, force: true });
}

test('calls beyond the in-flight bound are refused at once with UNAVAILABLE, and a deadline frees a paused call', async () => {
  const s = await smallServer({ callsInFlightMax: 6 });
  const session = rawSession(s.server.address);
  try {
    const scans = await Promise.all(Array.from({ length: 6 }, () => pausedScan(session, TABLE)));
    assert.ok(scans.every((x) => !x.ended));
    assert.equal(s.server.transportStats().callsInFlight, 6);
    const started = performance.now();
    const refused = await readRows(s.data, TABLE, { rowsLimit: 1 }).then(
      () => 'OK',
      (err: ServiceError) => statusName(err),
    );
    const refusedMs = performance.now() - started;
    assert.equal(refused, 'UNAVAILABLE');
    assert.ok(refusedMs < 1000, `refused in ${refusedMs.toFixed(0)} ms`);
    for (const x of scans) x.stream.close();
    await sleep(100);
    assert.equal((await readRows(s.data, TABLE, { rowsLimit: 1 })).length, 1);
    // A paused call with a deadline gives its slot back when the deadline passes.
    const timed = await pausedScanWithTimeout(session, '300m');
    assert.equal(timed.ended, false);
    await sleep(900);
    assert.equal(s.server.transportStats().callsInFlight, 0, 'the paused call was reset at its deadline');
  } finally {
    session.destroy();
    await stopSmall(s);
  }
});

function pausedScanWithTimeout(session: ClientHttp2Session, timeout: string) {
  const body = requestSerializer('ReadRows')({ tableName: tableName(TABLE) });
  const stream = rawCall(session, 'ReadRows', body, { 'grpc-timeout': timeout });
  return new Promise<{ ended: boolean }>((resolve) => {
    stream.once('data', () => {
      stream.pause();
      resolve({ ended: false });
    });
    stream.on('close', () => resolve({ ended: true }));
  });
}

/**
 * Scans the cancelling client makes: 20,000 in the suite (about 30 s here); `npm run soak:cancel`
 * runs this test with TABULA_CANCEL_CALLS=100000.
 */
const CANCELLED_CALLS = Number(process.env.TABULA_CANCEL_CALLS ?? 20_000);

test('a client that cancels every scan after its first message keeps working', async () => {
  const s = await smallServer({});
  const calls = CANCELLED_CALLS;
  const concurrency = 8;
  const failures = new Map<string, number>();
  try {
    let next = 0;
    const worker = async () => {
      while (next < calls) {
        next++;
        const code = await cancelAfterFirst(s.data);
        if (code !== 'CANCELLED') failures.set(code, (failures.get(code) ?? 0) + 1);
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    const stats = s.server.transportStats();
    console.log(
      `# ${calls} cancelled scans in ${seconds.toFixed(1)} s; graceful GOAWAYs for resets: ${stats.resetGoaways}; failures ${JSON.stringify(Object.fromEntries(failures))}`,
    );
    assert.deepEqual(Object.fromEntries(failures), {}, 'no call failed other than by its own cancel');
    assert.ok(stats.resetGoaways >= 1, 'the reset budget was reached and handled gracefully');
    assert.equal((await readRows(s.data, TABLE, { rowsLimit: 2 })).length, 2);
  } finally {
    await stopSmall(s);
  }
});

function cancelAfterFirst(data: Client): Promise<string> {
  const fn = (
    data as unknown as Record<string, (...a: unknown[]) => NodeJS.ReadableStream & { cancel(): void }>
  ).readRows;
  return new Promise((resolve) => {
    const call = (fn as (...a: unknown[]) => NodeJS.ReadableStream & { cancel(): void }).call(
      data,
      { tableName: tableName(TABLE) },
      new Metadata(),
      { deadline: Date.now() + 30_000 },
    );
    call.once('data', () => call.cancel());
    call.on('error', (err: ServiceError) => resolve(statusName(err)));
    call.on('end', () => resolve('OK'));
  });
}

test('an idle connection is closed gracefully after the idle bound', async () => {
  const s = await smallServer({ idleMs: 300 }, 10);
  const session = rawSession(s.server.address);
  try {
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
    const body = requestSerializer('ReadRows')({ tableName: tableName(TABLE), rowsLimit: '1' });
    await new Promise<void>((resolve) => {
      const stream = rawCall(session, 'ReadRows', body);
      stream.on('data', () => {});
      stream.on('close', () => resolve());
    });
    const code = await Promise.race([goaway, sleep(3000).then(() => -1)]);
    assert.equal(code, 0, 'GOAWAY with NO_ERROR within 3 s of idling');
    assert.ok(s.server.transportStats().idleCloses >= 1);
  } finally {
    session.destroy();
    await stopSmall(s);
  }
});
