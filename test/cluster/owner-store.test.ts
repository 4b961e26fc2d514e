/**
 * A tablet server's owner checks, in one process on the embedded coordination driver: it serves
 * only rows of tablets assigned to it under the epoch it opened them with (else UNAVAILABLE with
 * `moved`), and nothing at all once its session is no longer valid. Also: the engine key range of
 * a forwarded read turns back into the same row range (peer-client.ts), for keys with 0x00 bytes.
 */
import '../../src/coord/embedded/embedded-driver.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { assignKey, encodeAssignment, encodeTableRecord, tableKey } from '../../src/cluster/cluster-keys.js';
import { ClusterView } from '../../src/cluster/cluster-view.js';
import { OwnedTablets } from '../../src/cluster/owned-tablets.js';
import { OwnerStore } from '../../src/cluster/owner-store.js';
import { rowRangeOf } from '../../src/cluster/peer-client.js';
import { SeededRand, systemClock } from '../../src/common/clock.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/logger.js';
import { openCoordination } from '../../src/coord/coordination.js';
import { systemTimers } from '../../src/coord/coordination-timers.js';
import { rowRangeToKeyRange } from '../../src/model/cell-key.js';
import type { ValidMutation } from '../../src/model/mutation.js';
import { compileRowFilter } from '../../src/model/row-filter.js';
import { makeSchema, type TableRecord, type TabletRecord } from '../../src/tablet/catalog.js';

const SESSION_TTL_MS = 5_000;

function set(value: string): ValidMutation[] {
  return [
    {
      kind: 'setCell',
      family: 'cf',
      qualifier: Buffer.from('q'),
      timestampMicros: 1000,
      value: Buffer.from(value),
    },
  ];
}

function tablet(tabletDir: string, startRow?: string, endRow?: string): TabletRecord {
  return {
    tableId: 't',
    tabletDir,
    startRow: startRow === undefined ? undefined : Buffer.from(startRow),
    endRow: endRow === undefined ? undefined : Buffer.from(endRow),
    timestampFloorMicros: 0,
    sources: [],
  };
}

test('serves only owned rows under the assigned epoch, and nothing once the session is invalid', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-owner-'));
  const coord = await openCoordination(`embedded:${join(dir, 'coord')}`);
  const view = new ClusterView(coord, systemTimers, (err) => assert.fail(String(err)));
  const session = await coord.openSession(SESSION_TTL_MS);
  const owned = new OwnedTablets({
    dir: join(dir, 'store'),
    engine: { executor: 'inline' },
    clock: systemClock,
    rand: new SeededRand(1),
    timers: systemTimers,
    log: silentLogger(),
    canServe: () => session.isValid(),
  });
  try {
    const schema = makeSchema(
      { tableId: 't', deletionProtection: false, createdAtMs: 0, initialSplits: [Buffer.from('m')] },
      [{ name: 'cf', gcRule: undefined }],
    );
    const table: TableRecord = { schema, dirName: 't.dir', purgingFamilies: [] };
    const mine = tablet('d1', undefined, 'm');
    const theirs = tablet('d2', 'm', undefined);
    await coord.put(tableKey('t'), encodeTableRecord(table));
    await coord.put(assignKey(mine), encodeAssignment({ tablet: mine, server: 'me', ownerEpoch: 5 }));
    await coord.put(assignKey(theirs), encodeAssignment({ tablet: theirs, server: 'other', ownerEpoch: 6 }));
    await view.start();
    assert.ok(await owned.open(table, mine, 5, () => true));
    const rows = new OwnerStore(view, owned, { id: 'me' }).tablet('t');

    await rows.mutateRow(Buffer.from('a'), set('1'));
    await assert.rejects(rows.mutateRow(Buffer.from('x'), set('2')), /moved/);
    const outcomes = await rows.mutateRows([
      { rowKey: Buffer.from('b'), mutations: set('3') },
      { rowKey: Buffer.from('y'), mutations: set('4') },
    ]);
    assert.equal(outcomes[0], undefined);
    assert.match(String(outcomes[1]), /moved/);
    const read = [
      ...rows.readRows({
        selection: {
          rowKeys: [],
          rowRanges: [
            rowRangeToKeyRange({
              startKey: 'startKeyClosed',
              startKeyClosed: Buffer.from('a'),
              endKey: 'endKeyOpen',
              endKeyOpen: Buffer.from('m'),
            }),
          ],
          all: false,
        },
        filter: compileRowFilter(undefined),
        rowsLimit: 0,
        reversed: false,
      }),
    ];
    assert.deepEqual(
      read.map((r) => r.key.toString()),
      ['a', 'b'],
    );

    // A new assignment of the same tablet (a larger epoch) is not the one this server opened.
    await coord.put(assignKey(mine), encodeAssignment({ tablet: mine, server: 'me', ownerEpoch: 9 }));
    await view.refresh();
    await assert.rejects(rows.mutateRow(Buffer.from('a'), set('5')), /moved/);
    await coord.put(assignKey(mine), encodeAssignment({ tablet: mine, server: 'me', ownerEpoch: 5 }));
    await view.refresh();
    await rows.mutateRow(Buffer.from('a'), set('6'));

    await session.close();
    await assert.rejects(rows.mutateRow(Buffer.from('a'), set('7')), (err) => {
      assert.ok(hasCode(err, ErrorCode.Unavailable));
      assert.match((err as Error).message, /session/);
      return true;
    });
  } finally {
    view.close();
    await owned.closeAll();
    await owned.closeWorkers();
    await coord.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a forwarded read range is the row range it came from', () => {
  const key = fc.uint8Array({ minLength: 1, maxLength: 6 }).map((a) => Buffer.from(a.map((b) => b % 3)));
  fc.assert(
    fc.property(key, key, fc.boolean(), fc.boolean(), (a, b, startOpen, endClosed) => {
      const range = {
        ...(startOpen
          ? { startKey: 'startKeyOpen' as const, startKeyOpen: a }
          : { startKey: 'startKeyClosed' as const, startKeyClosed: a }),
        ...(endClosed
          ? { endKey: 'endKeyClosed' as const, endKeyClosed: b }
          : { endKey: 'endKeyOpen' as const, endKeyOpen: b }),
      };
      const keys = rowRangeToKeyRange(range);
      assert.deepEqual(rowRangeToKeyRange(rowRangeOf(keys)), keys);
    }),
  );
});
