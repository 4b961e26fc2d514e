/**
 * Prefix filters in the engine: a scan given a `prefix` reads only the tables whose filter may
 * hold it, and returns exactly what the same scan without the hint returns — with deletes in
 * skipped tables, after compactions, over tables written without a rule or under another rule,
 * and for point gets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Engine, type EngineOptions } from '../../src/storage/engine.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';

/** Keys are `row ‖ 00 ‖ column`; the rule makes `row ‖ 00` a key's prefix. */
const RULE = { delimiter: Buffer.from([0x00]) };
const ROWS = 100;
const FILES = 10;

const rowPrefix = (row: number) => Buffer.from(`r${String(row).padStart(3, '0')}\x00`, 'latin1');
const cellKey = (row: number, column: string) => Buffer.concat([rowPrefix(row), Buffer.from(column)]);
const rowEnd = (row: number) => {
  const end = Buffer.from(rowPrefix(row));
  end[end.length - 1] = 0x01;
  return end;
};

function options(vfs: MemVfs, extra: Partial<EngineOptions> = {}): EngineOptions {
  return { dir: '/store', vfs, autoCompact: false, filterPrefix: RULE, ...extra };
}

/** Rows spread so every level-0 file spans the whole key range: row r goes to file r % FILES. */
async function writeInterleaved(engine: Engine, tag: string): Promise<void> {
  for (let f = 0; f < FILES; f++) {
    for (let row = f; row < ROWS; row += FILES) {
      await engine.put(cellKey(row, 'a'), Buffer.from(`${tag}-${row}-a`));
      await engine.put(cellKey(row, 'b'), Buffer.from(`${tag}-${row}-b`));
    }
    await engine.flush();
  }
}

function readRow(engine: Engine, row: number, hint: boolean, reverse = false): string[] {
  const out: string[] = [];
  const scan = {
    start: rowPrefix(row),
    end: rowEnd(row),
    reverse,
    ...(hint ? { prefix: rowPrefix(row) } : {}),
  };
  for (const [k, v] of engine.scan(scan)) out.push(`${k.toString('latin1')}=${v.toString()}`);
  return out;
}

test('a prefix scan skips level-0 tables without the row and returns the same cells', async () => {
  const engine = await Engine.open(options(new MemVfs()));
  try {
    await writeInterleaved(engine, 'v1');
    assert.equal(engine.stats().levelFiles[0], FILES);
    // Rows 9..90 lie inside every table's key range: only the filter can leave a table out.
    for (const row of [10, 55, 90]) {
      const before = engine.stats().prefixFilterSkips;
      const hinted = readRow(engine, row, true);
      // Nine of the ten tables hold no cell of the row; a false positive may let one through.
      assert.ok(engine.stats().prefixFilterSkips - before >= FILES - 2, `row ${row}: too few skips`);
      assert.deepEqual(hinted, readRow(engine, row, false));
      assert.deepEqual(hinted, [
        `r${String(row).padStart(3, '0')}\x00a=v1-${row}-a`,
        `r${String(row).padStart(3, '0')}\x00b=v1-${row}-b`,
      ]);
      assert.deepEqual(readRow(engine, row, true, true), [...hinted].reverse());
    }
    // A row no table holds: every table is skipped or read, and nothing comes back.
    assert.deepEqual(readRow(engine, 500, true), []);
    // Point gets consult the same filters.
    assert.equal(engine.get(cellKey(42, 'b'))?.toString(), 'v1-42-b');
    assert.equal(engine.get(cellKey(42, 'c')), undefined);
    assert.equal(engine.get(cellKey(700, 'a')), undefined);
  } finally {
    await engine.close();
  }
});

test('a range delete in a table the filter skips still hides the cells it covers', async () => {
  const engine = await Engine.open(options(new MemVfs()));
  try {
    await writeInterleaved(engine, 'v1');
    // A table holding only the tombstone of row 55: its filter has no prefix, so it is skipped.
    await engine.deleteRange(rowPrefix(55), rowEnd(55));
    await engine.flush();
    const before = engine.stats().prefixFilterSkips;
    assert.deepEqual(readRow(engine, 55, true), []);
    assert.ok(engine.stats().prefixFilterSkips > before);
    // A newer cell above the tombstone is seen.
    await engine.put(cellKey(55, 'c'), Buffer.from('after'));
    await engine.flush();
    assert.deepEqual(readRow(engine, 55, true), ['r055\x00c=after']);
    assert.deepEqual(readRow(engine, 54, true), readRow(engine, 54, false));
  } finally {
    await engine.close();
  }
});

test('compaction output keeps prefix filters; deeper levels are filtered per table', async () => {
  const engine = await Engine.open(options(new MemVfs(), { targetFileBytes: 1024 }));
  try {
    await writeInterleaved(engine, 'v1');
    await engine.compactAll();
    const files = engine.stats().levelFiles;
    assert.equal(files[0], 0);
    assert.ok(files.reduce((a, b) => a + b, 0) > 1, 'compaction wrote a single table');
    for (let row = 0; row < ROWS; row += 7)
      assert.deepEqual(readRow(engine, row, true), readRow(engine, row, false));
    // Absent rows between present ones fall inside some table's key range: its filter decides.
    const before = engine.stats().prefixFilterSkips;
    for (let row = 0; row < ROWS; row++) {
      const absent = Buffer.concat([rowPrefix(row).subarray(0, 4), Buffer.from('x\x00')]);
      const end = Buffer.from(absent);
      end[end.length - 1] = 1;
      assert.deepEqual([...engine.scan({ start: absent, end, prefix: absent })], []);
    }
    assert.ok(engine.stats().prefixFilterSkips - before >= ROWS * 0.9, 'absent rows were not filtered');
  } finally {
    await engine.close();
  }
});

test('tables written without the rule, or under another rule, are read, never skipped', async () => {
  const vfs = new MemVfs();
  let engine = await Engine.open(options(vfs, { filterPrefix: undefined }));
  await writeInterleaved(engine, 'plain');
  await engine.close();
  engine = await Engine.open(options(vfs, { filterPrefix: { delimiter: Buffer.from('\x00\x00') } }));
  await engine.put(cellKey(3, 'z'), Buffer.from('other-rule'));
  await engine.flush();
  await engine.close();
  engine = await Engine.open(options(vfs));
  try {
    const before = engine.stats().prefixFilterSkips;
    assert.deepEqual(readRow(engine, 3, true), [
      'r003\x00a=plain-3-a',
      'r003\x00b=plain-3-b',
      'r003\x00z=other-rule',
    ]);
    assert.deepEqual(readRow(engine, 77, true), readRow(engine, 77, false));
    assert.equal(engine.stats().prefixFilterSkips, before, 'a table without this rule was skipped');
    assert.equal(engine.get(cellKey(3, 'z'))?.toString(), 'other-rule');
    // A store without a rule ignores the hint.
    await engine.close();
    engine = await Engine.open(options(vfs, { filterPrefix: undefined }));
    assert.deepEqual(readRow(engine, 3, true), readRow(engine, 3, false));
    assert.equal(engine.stats().prefixFilterSkips, 0);
  } finally {
    await engine.close();
  }
});

test('a prefix that is not whole, or a range beyond it, is refused', async () => {
  const engine = await Engine.open(options(new MemVfs()));
  try {
    await engine.put(cellKey(1, 'a'), Buffer.from('x'));
    const consume = (scan: Parameters<Engine['scan']>[0]) => [...engine.scan(scan)];
    assert.throws(() =>
      consume({ start: Buffer.from('r001'), end: Buffer.from('r002'), prefix: Buffer.from('r001') }),
    );
    assert.throws(() => consume({ start: rowPrefix(1), end: rowPrefix(2), prefix: rowPrefix(1) }));
    assert.throws(() => consume({ start: rowPrefix(1), prefix: rowPrefix(1) }));
  } finally {
    await engine.close();
  }
});
