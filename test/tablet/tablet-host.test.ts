/**
 * The tablet host on its own, with a recording stand-in for the metadata service: it opens a
 * table's tablets under the owner epoch it is given, its split children inherit that epoch, and
 * it records a split only by asking `MetadataCommits` (it has no catalog to write).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, SeededRand } from '../../src/common/clock.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { makeSchema, type TableRecord, type TabletRecord } from '../../src/tablet/catalog.js';
import { sharedEngineResources, TabletHost } from '../../src/tablet/tablet-host.js';
import type { MetadataCommits, TabletChange } from '../../src/tablet/tablet-host-api.js';
import { TabletDirNames } from '../../src/tablet/tablet-lifecycle.js';
import { checkCoverage } from '../../src/tablet/tablet-set.js';

const EPOCH = 7;

/** A metadata service stand-in: one chain, and a list of the split and merge commits asked for. */
function recordingCommits(): MetadataCommits & { changes: TabletChange[] } {
  let chain: Promise<unknown> = Promise.resolve();
  const changes: TabletChange[] = [];
  return {
    changes,
    serialized<T>(op: () => Promise<T>): Promise<T> {
      const run = chain.then(op);
      chain = run.catch(() => undefined);
      return run;
    },
    async commitTablets(change) {
      changes.push(change);
    },
    isClosed: () => false,
  };
}

test('a host serves tablets under its owner epoch and records splits only through MetadataCommits', async () => {
  const vfs = new MemVfs();
  const clock = new ManualClock();
  const commits = recordingCommits();
  const dirNames = new TabletDirNames(clock, new SeededRand(11));
  const host = new TabletHost({
    dir: '/data',
    shared: sharedEngineResources({ vfs }),
    metadata: commits,
    dirNames,
    clock,
    log: silentLogger(),
    memtableBudgetBytes: 64 * 1024 * 1024,
    sampleIntervalBytes: 64 * 1024,
    splitThresholdBytes: 16 * 1024,
    autoSplit: false,
    hotSplit: { opsPerSec: 1e9, windowMs: 1e9, bytesMin: 1e9 },
  });
  const schema = makeSchema(
    { tableId: 't', deletionProtection: false, createdAtMs: clock.nowMs(), initialSplits: [] },
    [{ name: 'f', gcRule: undefined }],
  );
  const table: TableRecord = { schema, dirName: 't.dir', purgingFamilies: [] };
  const first: TabletRecord = {
    tableId: 't',
    tabletDir: dirNames.next(),
    startRow: undefined,
    endRow: undefined,
    timestampFloorMicros: 0,
    sources: [],
  };
  await host.openTable(table, [first], EPOCH, 'create');
  // Values that do not compress, so the table grows past the split threshold.
  const rand = new SeededRand(12);
  for (let i = 0; i < 200; i++) {
    const value = Buffer.from(Array.from({ length: 512 }, () => rand.int(256)));
    const row = Buffer.from(`row${String(i).padStart(4, '0')}`);
    await host
      .router('t')
      .mutateRow(row, [
        { kind: 'setCell', family: 'f', qualifier: Buffer.from('q'), timestampMicros: 1, value },
      ]);
  }
  for (const t of host.inspection.tablets('t')) await t.engine.flush();
  await host.inspection.maintainAll();

  const tablets = host.inspection.tablets('t');
  assert.ok(tablets.length >= 2, `the table split (${tablets.length} tablets)`);
  checkCoverage(tablets);
  assert.deepEqual(
    tablets.map((t) => t.ownerEpoch),
    tablets.map(() => EPOCH),
    'split children inherit the owner epoch',
  );
  assert.equal(host.inspection.splitStats().splits, commits.changes.length, 'one commit per split');
  assert.deepEqual(
    commits.changes[0]?.removeTablets.map((r) => r.tabletDir),
    [first.tabletDir],
    'the first commit retires the first tablet',
  );
  assert.equal(commits.changes[0]?.putTablets.length, 2);
  assert.deepEqual(await vfs.list('/data'), ['tables'], 'the host writes no catalog of its own');

  await host.closeTable('t');
  assert.throws(
    () => host.router('t'),
    (err: unknown) => hasCode(err, ErrorCode.NotFound),
  );
  await host.closeTablets();
  await host.closeWorkers();
});
