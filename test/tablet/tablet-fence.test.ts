/**
 * Tablets under owner-epoch fencing (docs/rfcs/0003-epoch-fencing.md): a host opens each tablet's
 * engine under its owner epoch, so once a host of a higher epoch opens the same tablet (a
 * reassignment), the first host acknowledges no more writes there and the second never sees them;
 * and a store opened in one process fences every tablet with its catalog's epoch, one more at
 * each opening.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, SeededRand } from '../../src/common/clock.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { makeSchema, type TableRecord, type TabletRecord } from '../../src/tablet/catalog.js';
import { openTableStore, tabletEngines } from '../../src/tablet/table-store.js';
import { sharedEngineResources, TabletHost } from '../../src/tablet/tablet-host.js';
import type { MetadataCommits } from '../../src/tablet/tablet-host-api.js';
import { TabletDirNames } from '../../src/tablet/tablet-lifecycle.js';

const commits: MetadataCommits = {
  serialized: (op) => op(),
  commitTablets: async () => undefined,
  isClosed: () => false,
};

function host(vfs: MemVfs, clock: ManualClock): TabletHost {
  return new TabletHost({
    dir: '/data',
    shared: sharedEngineResources({ vfs }),
    metadata: commits,
    dirNames: new TabletDirNames(clock, new SeededRand(3)),
    clock,
    log: silentLogger(),
    memtableBudgetBytes: 64 * 1024 * 1024,
    sampleIntervalBytes: 64 * 1024,
    splitThresholdBytes: 1024 * 1024,
    autoSplit: false,
    hotSplit: { opsPerSec: 1e9, windowMs: 1e9, bytesMin: 1e9 },
  });
}

const setCell = (value: string) => [
  {
    kind: 'setCell' as const,
    family: 'f',
    qualifier: Buffer.from('q'),
    timestampMicros: 1,
    value: Buffer.from(value),
  },
];

test('a tablet reopened under a higher epoch fences the first host out', async () => {
  const vfs = new MemVfs();
  const clock = new ManualClock();
  const schema = makeSchema({ tableId: 't', deletionProtection: false, createdAtMs: 0, initialSplits: [] }, [
    { name: 'f', gcRule: undefined },
  ]);
  const table: TableRecord = { schema, dirName: 't.dir', purgingFamilies: [] };
  const tablet: TabletRecord = {
    tableId: 't',
    tabletDir: 'tablet-1',
    startRow: undefined,
    endRow: undefined,
    timestampFloorMicros: 0,
    sources: [],
  };
  const a = host(vfs, clock);
  await a.openTable(table, [tablet], 7, 'create');
  await a.router('t').mutateRow(Buffer.from('before'), setCell('a'));
  assert.equal(a.inspection.tablets('t')[0]?.engine.ownerEpoch, 7);

  const b = host(vfs, clock);
  await b.openTable(table, [tablet], 8, 'recover');
  await assert.rejects(a.router('t').mutateRow(Buffer.from('late'), setCell('zombie')), (e) =>
    hasCode(e, ErrorCode.FailedPrecondition),
  );
  const engineB = b.inspection.tablets('t')[0]?.engine;
  assert.equal(engineB?.ownerEpoch, 8);
  const rows = [...(engineB?.scan() ?? [])].map(([k]) => k.toString('latin1'));
  assert.ok(
    rows.some((k) => k.includes('before')),
    'the pre-fence write is there',
  );
  assert.ok(!rows.some((k) => k.includes('late')), 'the fenced host made a write visible');
  await assert.rejects(host(vfs, clock).openTable(table, [tablet], 7, 'recover'), (e) =>
    hasCode(e, ErrorCode.FailedPrecondition),
  );
  for (const h of [a, b]) {
    await h.closeTablets();
    await h.closeWorkers();
  }
});

test('a store fences its tablets with its catalog epoch, one more at each opening', async () => {
  const vfs = new MemVfs();
  const epochs: number[] = [];
  for (let round = 0; round < 2; round++) {
    const store = await openTableStore({ dir: '/data', engine: { vfs }, autoSplit: false });
    if (round === 0)
      await store.createTable('t', { families: new Map([['f', undefined]]), initialSplits: [] });
    for (const e of tabletEngines(store, 't')) epochs.push(e.ownerEpoch ?? 0);
    await store.close();
  }
  assert.deepEqual(epochs, [1, 2]);
});
