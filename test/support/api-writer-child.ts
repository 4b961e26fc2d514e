/**
 * The client of the API-level kill -9 test (test/server/api-kill9.test.ts): a process that writes
 * through the Bigtable data API (raw @grpc/grpc-js, MutateRow and MutateRows) until it is killed.
 * The parent SIGKILLs the SERVER, then this process.
 *
 * It starts, loads the protos, and waits for one stdin line `go <host:port>` so its start-up overlaps
 * the server's. Protocol on stdout, one line per event, each written with one synchronous
 * `process.stdout.write` (atomic on a pipe and in the kernel before any SIGKILL lands):
 *
 *   issue w<w>-<c>          printed immediately before the RPC of operation (w, c) is started
 *   ack w<w>-<c>            the RPC succeeded (for MutateRows: every entry's status is OK)
 *   fail w<w>-<c> <CODE>    the RPC (or an entry) failed; writer w stops
 *
 * Writers: `startCounters.length` loops, each with one operation in flight; operations are
 * `opFor(w, c)` (test/support/api-kill9-model.ts). Bounded: exits by itself after `lifetimeMs`.
 *
 *   node dist/test/support/api-writer-child.js '<WriterChildConfig JSON>'
 */
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

async function writerLoop(client: Client, table: string, worker: number, start: number): Promise<void> {
  for (let counter = start; ; counter++) {
    const op = opFor(worker, counter);
    process.stdout.write(`issue ${op.id}\n`);
    const failure = await runOp(client, table, op);
    if (failure !== '') {
      process.stdout.write(`fail ${op.id} ${failure}\n`);
      return;
    }
    process.stdout.write(`ack ${op.id}\n`);
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
  loadBigtableProtos();
  const address = await waitForGo();
  const client = connectData(address);
  const table = tableName(config.tableId);
  await Promise.all(config.startCounters.map((start, worker) => writerLoop(client, table, worker, start)));
  process.stdout.write('done\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`writer child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
