// ReadRows backpressure, cancellation and deadlines. The writer is checked against a stalled
// stream (a grpc-js client keeps reading into its own buffers even when paused, so it cannot
// stall the server); cancellation and deadlines also over gRPC against a fake store whose only
// table is an endless scan: each must close the scan (its generator's `finally` runs).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { credentials } from '@grpc/grpc-js';
import { errors } from '../../src/common/errors.js';
import type { RowCells } from '../../src/model/row-cells.js';
import { loadBigtableProtos } from '../../src/server/protos.js';
import type { RunningServer } from '../../src/server/server.js';
import { startServer } from '../../src/server/server.js';
import { writeWithBackpressure } from '../../src/server/stream-writer.js';
import type { TableStore, Tablet } from '../../src/tablet/table-store-api.js';

const TABLE = 'projects/p/instances/i/tables/endless';
const ROW_VALUE_BYTES = 64 * 1024;
/** Rows the writer may pull while its transport is stalled: the stream's buffer and one in hand. */
const STALLED_PULLS_MAX = 3;

/** An endless table: counts rows pulled and scans closed. */
class EndlessScans {
  pulled = 0;
  open = 0;
  closed = 0;
  *scan(): Generator<RowCells, void, undefined> {
    this.open++;
    try {
      for (let i = 0; ; i++) {
        this.pulled++;
        const key = Buffer.from(`row${String(i).padStart(10, '0')}`);
        yield {
          key,
          cells: [
            {
              family: 'f',
              qualifier: Buffer.from('q'),
              timestampMicros: 0,
              value: Buffer.alloc(ROW_VALUE_BYTES),
              labels: [],
            },
          ],
        };
      }
    } finally {
      this.closed++;
    }
  }
}

function fakeStore(scans: EndlessScans): TableStore {
  const unsupported = () => {
    throw errors.unimplemented('not in this fake');
  };
  const tablet = { readRows: () => scans.scan() } as unknown as Tablet;
  return new Proxy({} as TableStore, {
    get: (_t, prop) => (prop === 'tablet' ? () => tablet : unsupported),
  });
}

let scans: EndlessScans;
let server: RunningServer;
// biome-ignore lint/suspicious/noExplicitAny: generated client stubs are untyped.
let data: Client & Record<string, any>;

before(async () => {
  scans = new EndlessScans();
  server = await startServer({ host: '127.0.0.1', port: 0, store: fakeStore(scans) });
  const pkg = loadBigtableProtos().data as never as {
    google: { bigtable: { v2: { Bigtable: new (...a: unknown[]) => typeof data } } };
  };
  data = new pkg.google.bigtable.v2.Bigtable(server.address, credentials.createInsecure());
});

after(async () => {
  data?.close();
  await server?.close();
});

async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A server stream whose transport accepts nothing until `release()`, then everything. */
class StalledCall extends Writable {
  cancelled = false;
  private pending: (() => void)[] = [];
  constructor(private readonly deadline: number = Number.POSITIVE_INFINITY) {
    super({ objectMode: true, highWaterMark: 2 });
  }
  private flowing = false;
  override _write(_chunk: unknown, _enc: BufferEncoding, done: () => void): void {
    if (this.flowing) setImmediate(done);
    else this.pending.push(done);
  }
  getDeadline(): number {
    return this.deadline;
  }
  release(): void {
    this.flowing = true;
    for (const done of this.pending.splice(0)) done();
  }
  cancel(): void {
    this.cancelled = true;
    this.emit('cancelled', 'cancelled');
  }
}

test('the writer pulls nothing while the transport does not drain, and resumes on drain', async () => {
  const source = new EndlessScans();
  const call = new StalledCall();
  const done = writeWithBackpressure(call as never, source.scan());
  await sleep(100);
  const stalled = source.pulled;
  assert.ok(stalled > 0 && stalled <= STALLED_PULLS_MAX, `pulled ${stalled}`);
  await sleep(100);
  assert.equal(source.pulled, stalled);
  call.release();
  await until(() => source.pulled > stalled, 'pulling to resume after drain');
  call.cancel();
  assert.equal(await done, 'cancelled');
  assert.equal(source.closed, 1);
});

test('the writer stops at the deadline and closes the source', async () => {
  const source = new EndlessScans();
  const call = new StalledCall(Date.now() + 100);
  assert.equal(await writeWithBackpressure(call as never, source.scan()), 'deadline');
  assert.equal(source.closed, 1);
});

test('cancelling a ReadRows call over gRPC closes the scan', async () => {
  const before = scans.closed;
  const call = data.ReadRows({ tableName: TABLE });
  call.on('error', () => {});
  await new Promise((resolve) => call.once('data', resolve));
  call.cancel();
  await until(() => scans.closed === before + 1, 'the scan to close after cancel');
});

test('a passing deadline closes the scan', async () => {
  const before = scans.closed;
  const call = data.ReadRows({ tableName: TABLE }, { deadline: Date.now() + 300 });
  const ended = new Promise<ServiceError>((resolve) => call.on('error', resolve));
  call.pause();
  assert.equal((await ended).code, 4 /* DEADLINE_EXCEEDED */);
  await until(() => scans.closed === before + 1, 'the scan to close after the deadline');
});

test('a reader that keeps reading gets rows until it cancels', async () => {
  const call = data.ReadRows({ tableName: TABLE });
  call.on('error', () => {});
  let rows = 0;
  const enough = 100;
  await new Promise<void>((resolve) => {
    call.on('data', (r: { chunks: { commitRow?: boolean }[] }) => {
      rows += r.chunks.filter((c) => c.commitRow === true).length;
      if (rows >= enough) resolve();
    });
  });
  call.cancel();
  assert.ok(rows >= enough);
});
