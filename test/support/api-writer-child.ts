/**
 * The client of the API-level kill -9 test (test/server/api-kill9.test.ts): a process that writes
 * through the Bigtable data API (raw @grpc/grpc-js, MutateRow and MutateRows) until it is killed.
 * The parent SIGKILLs the SERVER, then this process.
 *
 * It starts, opens its journal, loads the protos, and waits for one stdin line `go <host:port>` so
 * its start-up overlaps the server's.
 *
 * Protocol. The JOURNAL (the file `config.journal`, created or truncated before anything else) is
 * the record the parent verifies against; each line is written with synchronous write(2) calls (one,
 * in practice) to a regular file, so it is in the kernel (the page cache, which a process kill does
 * not touch) before the next statement runs:
 *
 *   issue w<w>-<c>          written immediately before the RPC of operation (w, c) is started, in the
 *                           same synchronous stretch, so every request that may reach the server has
 *                           its line
 *   ack w<w>-<c>            the RPC succeeded (for MutateRows: every entry's status is OK)
 *   fail w<w>-<c> <CODE>    the RPC (or an entry) failed; writer w stops. CODE has no whitespace.
 *
 * A kill can cut the last line short (its write(2) never returned): a cut `issue` line means the RPC
 * was never started, a cut `ack` or `fail` line means the outcome was never counted, so the parent
 * ignores an unterminated last line.
 *
 * stdout only paces the parent: `ack w<w>-<c>` and `fail w<w>-<c> <CODE>`, each written after the
 * same journal line, and `done` if every writer stopped. It must NOT be the record: Node writes
 * stdout asynchronously once the kernel buffer of the pipe (a socketpair here; with what a paused
 * parent's stream holds, about 20 KB, some 1,800 short lines) is full — lines queue inside this
 * process and die with it on SIGKILL. When the record was kept on stdout, a parent that fell behind
 * reading (a loaded machine) missed `issue` lines of requests the server had already applied, and
 * blamed the server for rows "nobody wrote" or for an aux row's "wrong" value.
 *
 * Writers: `startCounters.length` loops, each with one operation in flight; operations are
 * `opFor(w, c)` (test/support/api-kill9-model.ts). Bounded: exits by itself after `lifetimeMs`.
 *
 *   node dist/test/support/api-writer-child.js '<WriterChildConfig JSON>'
 */
import { openSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Client } from '@grpc/grpc-js';
import { loadBigtableProtos } from '../../src/server/protos.js';
import { connectData, type Message, serverStream, statusName, tableName, unary } from './api-client.js';
import { type ModelOp, opFor, toProtoMutation } from './api-kill9-model.js';

/** Deadline of one write; far above any healthy latency, so a hang shows as a failure. */
const WRITE_DEADLINE_MS = 20_000;

/** What the parent passes as the single argv argument (JSON). */
export interface WriterChildConfig {
  tableId: string;
  /** The journal file (created or truncated at start; see the file comment). */
  journal: string;
  /** Next counter of each writer; its length is the number of concurrent writers. */
  startCounters: number[];
  lifetimeMs: number;
}

function protoEntries(op: ModelOp): Message[] {
  return op.entries.map((e) => ({
    rowKey: Buffer.from(e.rowKey, 'latin1'),
    mutations: e.mutations.map(toProtoMutation),
  }));
}

/** Runs one operation; resolves with '' on success or the failure's status name. */
async function runOp(client: Client, table: string, op: ModelOp): Promise<string> {
  const [first] = protoEntries(op);
  try {
    if (op.rpc === 'MutateRow') {
      await unary(client, 'MutateRow', { tableName: table, ...first }, WRITE_DEADLINE_MS);
      return '';
    }
    const entries = protoEntries(op);
    const responses = await serverStream(
      client,
      'MutateRows',
      { tableName: table, entries },
      WRITE_DEADLINE_MS,
    );
    const ok = new Set<number>();
    for (const r of responses) {
      for (const e of r.entries ?? []) {
        const code = Number(e.status?.code ?? 0);
        if (code !== 0) return `ENTRY_${statusName({ code })}`;
        ok.add(Number(e.index ?? 0));
      }
    }
    return ok.size === entries.length ? '' : 'ENTRY_STATUS_MISSING';
  } catch (err) {
    return statusName(err);
  }
}

/** Appends `line` to the journal with synchronous write(2) calls: in the kernel on return. */
function journalLine(fd: number, line: string): void {
  const bytes = Buffer.from(line, 'latin1');
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** Journals, then prints, one outcome line (see the file comment). */
function outcomeLine(journal: number, line: string): void {
  journalLine(journal, line);
  process.stdout.write(line);
}

async function writerLoop(
  client: Client,
  table: string,
  journal: number,
  worker: number,
  start: number,
): Promise<void> {
  for (let counter = start; ; counter++) {
    const op = opFor(worker, counter);
    // No await between this line and the start of the RPC inside runOp.
    journalLine(journal, `issue ${op.id}\n`);
    const failure = await runOp(client, table, op);
    if (failure !== '') {
      outcomeLine(journal, `fail ${op.id} ${failure.replace(/\s+/g, '_')}\n`);
      return;
    }
    outcomeLine(journal, `ack ${op.id}\n`);
  }
}

function waitForGo(): Promise<string> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin });
    lines.once('line', (line) => {
      lines.close();
      resolve(line.replace(/^go /, '').trim());
    });
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as WriterChildConfig;
  setTimeout(() => process.exit(0), config.lifetimeMs).unref();
  // Before anything else: a kill during start-up leaves an empty journal, not a missing one.
  const journal = openSync(config.journal, 'w');
  loadBigtableProtos();
  const address = await waitForGo();
  const client = connectData(address);
  const table = tableName(config.tableId);
  await Promise.all(
    config.startCounters.map((start, worker) => writerLoop(client, table, journal, worker, start)),
  );
  process.stdout.write('done\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`writer child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
