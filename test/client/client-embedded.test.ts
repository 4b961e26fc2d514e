// The behavioural suite against `open()`: the store runs in this process on a temporary directory.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Tabula } from '../../src/client/index.js';
import { open } from '../../src/client/index.js';
import { TabulaError } from '../../src/common/errors.js';
import { behaviourSuite } from './behaviour-suite.js';

let dir: string;
let db: Tabula;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tabula-client-embedded-'));
  db = await open(dir);
});

after(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

behaviourSuite('embedded', () => db);

test('embedded: mode, reopening keeps data, closed clients refuse calls', async () => {
  const d = mkdtempSync(join(tmpdir(), 'tabula-client-reopen-'));
  try {
    const first = await open(d);
    assert.equal(first.mode, 'embedded');
    await first.createTable('t', { families: { f: {} } });
    await first.table('t').mutateRow('k', [{ setCell: { family: 'f', qualifier: 'q', value: 'v' } }]);
    await first.close();
    await first.close();
    await assert.rejects(first.listTables(), (e: TabulaError) => e.code === 'FAILED_PRECONDITION');
    const second = await open(d);
    assert.equal((await second.table('t').readRow('k'))?.cells[0]?.value.toString(), 'v');
    await second.close();
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
  await assert.rejects(open(''), TabulaError);
});
