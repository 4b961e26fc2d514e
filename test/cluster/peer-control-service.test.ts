/**
 * The peer control handlers of a tablet server (src/cluster/peer-control-service.ts) on a fake view
 * and fake tablets: a view sync refreshes only a view behind the asked revision and gives every
 * table's schema to the tablets; a range drop touches only a tablet owned under its current
 * assignment, clipped to it; a purge waits for a schema without the family; malformed requests are
 * INVALID_ARGUMENT.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Assignment } from '../../src/cluster/cluster-keys.js';
import { isMoved } from '../../src/cluster/owned-tablets.js';
import { type PeerControlContext, peerControlRpcs } from '../../src/cluster/peer-control-service.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { rowStartKey } from '../../src/model/cell-key.js';
import type { TableRecord, TabletRecord } from '../../src/tablet/catalog.js';
import { DATA_END_KEY, DATA_START_KEY } from '../../src/tablet/row-reader.js';
import type { TabletHandle } from '../../src/tablet/tablet-handle.js';

const TABLE = 't';
const SELF = 'me';

function record(families: string[]): TableRecord {
  return {
    schema: { tableId: TABLE, families: new Map(families.map((f) => [f, { name: f, gcRule: undefined }])) },
  } as unknown as TableRecord;
}

/** A context with one tablet `d` covering rows [g, p), open here under epoch 2. */
function fixture(options: { assignedTo?: string; assignedEpoch?: number; families?: string[] } = {}) {
  const deleted: [Buffer, Buffer][] = [];
  const applied: TableRecord[] = [];
  const tabletRecord = {
    tableId: TABLE,
    tabletDir: 'd',
    startRow: Buffer.from('g'),
    endRow: Buffer.from('p'),
  };
  const handle = {
    record: tabletRecord,
    ownerEpoch: 2,
    startKey: rowStartKey(Buffer.from('g')),
    endKey: rowStartKey(Buffer.from('p')),
    engine: {
      deleteRange: async (lo: Buffer, hi: Buffer) => {
        deleted.push([lo, hi]);
      },
      // Rows remain after the drop: the tablet is not compacted.
      scan: () => [[Buffer.from('row'), Buffer.alloc(0)]],
    },
  } as unknown as TabletHandle;
  const assignment: Assignment = {
    tablet: tabletRecord as unknown as TabletRecord,
    server: options.assignedTo ?? SELF,
    ownerEpoch: options.assignedEpoch ?? 2,
  };
  let refreshes = 0;
  const view = {
    assignments: new Map([[TABLE, new Map([['d', assignment]])]]),
    tables: new Map([[TABLE, record(options.families ?? ['a'])]]),
    revision: 5,
    async refresh() {
      refreshes++;
      view.revision = 9;
    },
  };
  const ctx: PeerControlContext = {
    view,
    self: { id: SELF },
    tablets: {
      get: (tableId: string, dir: string) => (tableId === TABLE && dir === 'd' ? handle : undefined),
      all: () => [handle],
      withTablet: <T>(h: TabletHandle, op: (h: TabletHandle) => Promise<T>) => op(h),
      requireServing: () => undefined,
      applyTableRecord: (r: TableRecord) => void applied.push(r),
    },
  };
  return { rpcs: peerControlRpcs(ctx), deleted, applied, refreshes: () => refreshes };
}

const b64 = (b: Buffer) => b.toString('base64');

test('SyncView refreshes only a view behind the revision, and applies every schema', async () => {
  const f = fixture();
  assert.deepEqual(await f.rpcs.SyncView({ revision: 3 }), { revision: 5 });
  assert.equal(f.refreshes(), 0);
  assert.deepEqual(await f.rpcs.SyncView({ revision: 7 }), { revision: 9 });
  assert.equal(f.refreshes(), 1);
  assert.equal(f.applied.length, 2, 'the schemas are given to the tablets on every sync');
  await assert.rejects(
    async () => f.rpcs.SyncView({ revision: 'x' }),
    (e) => hasCode(e, ErrorCode.InvalidArgument),
  );
});

test('DropTabletRange deletes inside an owned tablet only, clipped to it', async () => {
  const f = fixture();
  await f.rpcs.DropTabletRange({
    tableId: TABLE,
    tabletDir: 'd',
    start: b64(DATA_START_KEY),
    end: b64(DATA_END_KEY),
  });
  assert.deepEqual(f.deleted, [[rowStartKey(Buffer.from('g')), rowStartKey(Buffer.from('p'))]]);
  for (const moved of [fixture({ assignedTo: 'other' }), fixture({ assignedEpoch: 3 })]) {
    await assert.rejects(
      async () =>
        moved.rpcs.DropTabletRange({
          tableId: TABLE,
          tabletDir: 'd',
          start: b64(DATA_START_KEY),
          end: b64(DATA_END_KEY),
        }),
      (e) => isMoved(e),
    );
    assert.deepEqual(moved.deleted, []);
  }
  await assert.rejects(
    async () => f.rpcs.DropTabletRange({ tableId: TABLE, tabletDir: 'x', start: '', end: '' }),
    (e) => isMoved(e),
  );
  await assert.rejects(
    async () => f.rpcs.DropTabletRange({ tabletDir: 'd' }),
    (e) => hasCode(e, ErrorCode.InvalidArgument),
  );
});

test('PurgeTabletFamily refuses while this server still sees the family', async () => {
  const f = fixture({ families: ['a', 'gone'] });
  await assert.rejects(
    async () => f.rpcs.PurgeTabletFamily({ tableId: TABLE, tabletDir: 'd', family: 'gone' }),
    (e) => hasCode(e, ErrorCode.Unavailable) && !isMoved(e),
  );
  assert.equal(f.refreshes(), 1, 'the view is refreshed once before refusing');
  assert.deepEqual(f.applied, [], 'no schema is applied and nothing is purged');
});
