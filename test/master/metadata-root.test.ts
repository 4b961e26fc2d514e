/**
 * The METADATA root lives in the coordination service: the first open creates it, later opens
 * follow it (also to a catalog directory other than the default), and a damaged root is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { EmbeddedCoordination } from '../../src/coord/embedded/embedded-coordination.js';
import { METADATA_ROOT_KEY, openInstanceStore } from '../../src/master/metadata-root.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';

const families = new Map([['f', undefined]]);

test('the root is created on first open and followed afterwards', async () => {
  const vfs = new MemVfs();
  let store = await openInstanceStore({ dir: '/data', engine: { vfs } });
  await store.createTable('t', { families, initialSplits: [] });
  await store.close();
  const coord = await EmbeddedCoordination.open({ dir: '/data/coord', vfs });
  const root = await coord.get(METADATA_ROOT_KEY);
  assert.deepEqual(JSON.parse(String(root?.value)), { version: 1, catalogDir: 'catalog' });
  // Point the root at an empty catalog elsewhere: the instance now has no tables.
  await coord.put(METADATA_ROOT_KEY, Buffer.from(JSON.stringify({ version: 1, catalogDir: 'catalog2' })));
  await coord.close();
  store = await openInstanceStore({ dir: '/data', engine: { vfs } });
  assert.deepEqual(store.listTables(), []);
  await store.close();
});

test('a damaged root is DATA_LOSS and a newer one FAILED_PRECONDITION', async () => {
  const vfs = new MemVfs();
  const coord = await EmbeddedCoordination.open({ dir: '/data/coord', vfs });
  await coord.put(METADATA_ROOT_KEY, Buffer.from('{not json'));
  await coord.close();
  await assert.rejects(openInstanceStore({ dir: '/data', engine: { vfs } }), (e) =>
    hasCode(e, ErrorCode.DataLoss),
  );
  const again = await EmbeddedCoordination.open({ dir: '/data/coord', vfs });
  await again.put(METADATA_ROOT_KEY, Buffer.from(JSON.stringify({ version: 9, catalogDir: 'catalog' })));
  await again.put('other', Buffer.from('x'));
  await again.close();
  await assert.rejects(openInstanceStore({ dir: '/data', engine: { vfs } }), (e) =>
    hasCode(e, ErrorCode.FailedPrecondition),
  );
  // The failed opens released the coordination service's lock.
  const last = await EmbeddedCoordination.open({ dir: '/data/coord', vfs });
  await last.close();
});
