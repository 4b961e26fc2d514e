// A ReadRows that lets go of its engine iterator while its reader is paused must, once resumed,
// return exactly the rows an uninterrupted read returns (none twice, none skipped), in both
// directions and for keys, ranges and whole-table reads, over a table split into several tablets.
// And a stalled stream does let go after READ_ROWS_STALL_RELEASE_MS.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { readRowsQuery } from '../../src/server/data-requests.js';
import { ResumableRows } from '../../src/server/resumable-rows.js';
import { writeWithBackpressure } from '../../src/server/stream-writer.js';
import { openTableStore } from '../../src/tablet/table-store.js';

const ROWS = 300;
const key = (i: number) => Buffer.from(`r${String(i).padStart(4, '0')}`);

const REQUESTS = {
  all: {},
  keys: { rows: { rowKeys: [key(5), key(77), key(78), key(150), key(299), Buffer.from('absent')] } },
  ranges: {
    rows: {
      rowRanges: [
        { startKeyClosed: key(10), endKeyOpen: key(40) },
        { startKeyOpen: key(100), endKeyClosed: key(130) },
        { startKeyClosed: key(290) },
      ],
    },
  },
  mixed: {
    rows: { rowKeys: [key(3), key(200)], rowRanges: [{ startKeyClosed: key(50), endKeyOpen: key(60) }] },
  },
  limited: { rowsLimit: '25' },
} as const;

test('a resumed read returns exactly the rows of an uninterrupted one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-resume-'));
  const store = await openTableStore({ dir });
  try {
    await store.createTable('t', {
      families: new Map([['f', undefined]]),
      initialSplits: [key(100), key(200)],
    });
    const tablet = store.tablet('t');
    for (let i = 0; i < ROWS; i++) {
      await tablet.mutateRow(key(i), [
        {
          kind: 'setCell',
          family: 'f',
          qualifier: Buffer.from('q'),
          timestampMicros: 1000,
          value: Buffer.from(`v${i}`),
        },
      ]);
    }
    for (const [name, request] of Object.entries(REQUESTS)) {
      for (const reversed of [false, true]) {
        const query = readRowsQuery({
          tableName: 'projects/p/instances/i/tables/t',
          ...request,
          reversed,
        } as never);
        const expected = [...tablet.readRows(query)].map((r) => r.key.toString());
        for (const every of [1, 3, 17]) {
          const rows = new ResumableRows(query, (q) => tablet.readRows(q));
          const got: string[] = [];
          for (let r = rows.next(); r.done !== true; r = rows.next()) {
            got.push(r.value.key.toString());
            if (got.length % every === 0) rows.release();
          }
          const limit = Number((request as { rowsLimit?: string }).rowsLimit ?? 0);
          // The chunker enforces rows_limit; the source may run past it after a release.
          assert.deepEqual(
            limit > 0 ? got.slice(0, limit) : got,
            expected,
            `${name} reversed=${reversed} release every ${every}`,
          );
          if (got.length > every) assert.ok(rows.releases > 0);
        }
      }
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stream whose reader stalls lets go of its source after the stall bound', async () => {
  // A call that never drains: every write reports a full buffer.
  const call = Object.assign(new Writable({ objectMode: true, highWaterMark: 1, write: () => {} }), {
    cancelled: false,
    getDeadline: () => Number.POSITIVE_INFINITY,
  });
  let stalls = 0;
  const source = [1, 2, 3][Symbol.iterator]();
  const writing = writeWithBackpressure(call as never, source, { afterMs: 50, onStall: () => stalls++ });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(stalls, 1, 'the stall hook ran once while the reader was stalled');
  call.emit('cancelled');
  assert.equal(await writing, 'cancelled');
});
