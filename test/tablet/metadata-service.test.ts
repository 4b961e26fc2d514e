/**
 * The metadata service on its own, over a real catalog, with a recording stand-in for the tablet
 * host: it reaches the host only through `TabletHostControl` (open under its owner epoch, apply a
 * schema, purge, close), records splits in the catalog and deletes exactly the tablets the catalog
 * holds after them, reopens tables from the catalog, and removes table directories no record names.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, SeededRand } from '../../src/common/clock.js';
import { Engine } from '../../src/storage/engine.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { Catalog, type TableRecord, type TabletRecord } from '../../src/tablet/catalog.js';
import { MetadataService } from '../../src/tablet/metadata-service.js';
import { sharedEngineResources } from '../../src/tablet/tablet-host.js';
import type { TableOpenMode, TabletHostControl } from '../../src/tablet/tablet-host-api.js';
import { TabletDirNames } from '../../src/tablet/tablet-lifecycle.js';

const EPOCH = 3;

/** A tablet host stand-in that records what it is asked, as one line per call. */
function recordingHost(): TabletHostControl & { calls: string[]; opened: Map<string, TabletRecord[]> } {
  const calls: string[] = [];
  const opened = new Map<string, TabletRecord[]>();
  const rows = (t: TabletRecord) => `${t.startRow ?? ''}-${t.endRow ?? ''}`;
  return {
    calls,
    opened,
    async openTable(
      table: TableRecord,
      tablets: readonly TabletRecord[],
      epoch: number,
      mode: TableOpenMode,
    ) {
      calls.push(`open ${table.schema.tableId} ${mode} epoch=${epoch} ${tablets.map(rows).join(',')}`);
      opened.set(table.schema.tableId, [...tablets]);
    },
    async closeTable(tableId) {
      calls.push(`close ${tableId}`);
    },
    applyTableRecord(record) {
      const families = [...record.schema.families.keys()].join(',');
      calls.push(`apply ${record.schema.tableId} families=${families} purging=${record.purgingFamilies}`);
    },
    async purgeFamily(tableId, family) {
      calls.push(`purge ${tableId} ${family}`);
    },
    async dropRowRange(tableId) {
      calls.push(`drop ${tableId}`);
    },
    router: () => assert.fail('the metadata service does not route rows'),
    lastSequence: () => assert.fail('the metadata service does not read sequences'),
  };
}

async function open(vfs: MemVfs, host: TabletHostControl) {
  const clock = new ManualClock();
  const rand = new SeededRand(5);
  const shared = sharedEngineResources({ vfs });
  const catalog = new Catalog(await Engine.open({ ...shared, dir: '/data/catalog' }));
  const dirNames = new TabletDirNames(clock, rand);
  const service = new MetadataService({
    dir: '/data',
    vfs,
    catalog,
    host,
    ownerEpoch: EPOCH,
    dirNames,
    clock,
    rand,
  });
  await service.load();
  return { service, catalog, close: () => service.drain().then(() => service.closeCatalog()) };
}

test('the metadata service drives the host through its interface and keeps the catalog exact', async () => {
  const vfs = new MemVfs();
  const host = recordingHost();
  const first = await open(vfs, host);
  const { service, catalog } = first;
  await service.createTable('t', {
    families: new Map([['f', undefined]]),
    initialSplits: [Buffer.from('m')],
  });
  await service.modifyColumnFamilies('t', [
    { kind: 'drop', family: 'f' },
    { kind: 'create', family: 'g', gcRule: undefined },
  ]);
  assert.deepEqual(host.calls, [
    `open t create epoch=${EPOCH} -m,m-`,
    'apply t families=g purging=f',
    'purge t f',
    'apply t families=g purging=',
  ]);

  // A split of the first tablet, recorded as the host would ask for it.
  const [left] = host.opened.get('t') as TabletRecord[];
  const child = (startRow: string | undefined, endRow: string, dir: string): TabletRecord => ({
    ...(left as TabletRecord),
    tabletDir: dir,
    startRow: startRow === undefined ? undefined : Buffer.from(startRow),
    endRow: Buffer.from(endRow),
  });
  const children = [child(undefined, 'c', 'child-a'), child('c', 'm', 'child-b')];
  await service.commitTablets({ removeTablets: [left as TabletRecord], putTablets: children });
  assert.deepEqual(
    catalog
      .listTablets()
      .map((t) => t.tabletDir)
      .filter((d) => d.startsWith('child')),
    ['child-a', 'child-b'],
  );
  // A table split in this session and deleted in it leaves no tablet record behind.
  await service.createTable('u', { families: new Map(), initialSplits: [] });
  const [whole] = host.opened.get('u') as TabletRecord[];
  const halves = ['x', undefined].map((endRow, i) => ({
    ...(whole as TabletRecord),
    tabletDir: `half-${i}`,
    startRow: i === 0 ? undefined : Buffer.from('x'),
    endRow: endRow === undefined ? undefined : Buffer.from(endRow),
  }));
  await service.commitTablets({ removeTablets: [whole as TabletRecord], putTablets: halves });
  await service.deleteTable('u');
  assert.deepEqual(
    catalog.listTablets().filter((t) => t.tableId === 'u'),
    [],
    'deleting a table removes the tablets its splits made',
  );
  assert.equal(host.calls.at(-1), 'close u');
  await first.close();

  // Reopened: the host is asked to recover the catalog's three tablets; a stray table dir goes.
  await vfs.mkdirp('/data/tables/stray.dir');
  const secondHost = recordingHost();
  const second = await open(vfs, secondHost);
  const reopened = second.service;
  assert.deepEqual(secondHost.calls, [`open t recover epoch=${EPOCH} -c,c-m,m-`]);
  assert.deepEqual(
    reopened.listTables().map((s) => [...s.families.keys()]),
    [['g']],
  );
  assert.ok(!(await vfs.list('/data/tables')).includes('stray.dir'), 'stray table directory removed');
  await reopened.deleteTable('t');
  assert.deepEqual(second.catalog.listTablets(), [], 'deleting a reopened table removes all its tablets');
  assert.deepEqual(second.catalog.list(), []);
  await second.close();
});
