/**
 * Garbage collection is physical: after compaction, cells that GC rules make eligible are gone
 * from storage, not only hidden from reads — and cells reads still return are never dropped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import type { ValidMutation } from '../../src/model/mutation.js';
import { compileRowFilter } from '../../src/model/row-filter.js';
import type { Engine } from '../../src/storage/engine.js';
import { openTableStore, tabletEngines } from '../../src/tablet/table-store.js';
import type { ReadRowsQuery, Tablet } from '../../src/tablet/table-store-api.js';

const ROWS = 200;
const VERSIONS = 4;
const ALL: ReadRowsQuery = {
  selection: { rowKeys: [], rowRanges: [], all: true },
  filter: compileRowFilter(undefined),
  rowsLimit: 0,
  reversed: false,
};
const set = (family: string, ts: number, value: string): ValidMutation => ({
  kind: 'setCell',
  family,
  qualifier: Buffer.from('q'),
  timestampMicros: ts,
  value: Buffer.from(value),
});

function storedCells(engines: Engine[]): number {
  let n = 0;
  for (const engine of engines) for (const _ of engine.scan({ start: Buffer.from([0x00, 0x02]) })) n++;
  return n;
}

function readCells(tablet: Tablet): string[] {
  const out: string[] = [];
  for (const row of tablet.readRows(ALL))
    for (const c of row.cells) out.push(`${row.key}/${c.family}@${c.timestampMicros}`);
  return out;
}

test('compaction removes what max-versions and max-age rules make eligible, and nothing else', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-gc-'));
  const clock = new ManualClock(1_700_000_000_000);
  try {
    const store = await openTableStore({ dir, clock, engine: { memtableBytes: 32 * 1024 } });
    await store.createTable('t', {
      families: new Map([
        ['versions', { rule: 'maxNumVersions', maxNumVersions: 1 }],
        ['age', { rule: 'maxAge', maxAge: { seconds: '60', nanos: 0 } }],
        ['keep', undefined],
      ]),
      initialSplits: [],
    });
    const tablet = store.tablet('t');
    const engines = tabletEngines(store, 't');
    const nowMicros = clock.nowMs() * 1000;
    for (let r = 0; r < ROWS; r++) {
      const row = Buffer.from(`row${String(r).padStart(4, '0')}`);
      for (let v = 0; v < VERSIONS; v++) {
        const ts = nowMicros - v * 1000;
        await tablet.mutateRow(row, [set('versions', ts, 'v'), set('keep', ts, 'k')]);
      }
      // One fresh and one old cell in the age family.
      await tablet.mutateRow(row, [
        set('age', nowMicros, 'fresh'),
        set('age', nowMicros - 120_000_000, 'old'),
      ]);
    }
    const visibleBefore = readCells(tablet);
    assert.equal(
      visibleBefore.length,
      ROWS * (1 + VERSIONS + 1),
      'reads hide eligible cells before compaction',
    );
    assert.equal(storedCells(engines), ROWS * (VERSIONS * 2 + 2), 'all cells are stored before compaction');
    for (const engine of engines) await engine.compactAll();
    assert.deepEqual(readCells(tablet), visibleBefore, 'compaction changes no read result');
    assert.equal(storedCells(engines), ROWS * (1 + VERSIONS + 1), 'eligible cells are physically gone');
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
