// `import` and `export` against a real `tabula serve`: CSV (quotes, commas, newlines, column
// mapping) and JSON Lines import, export round trip byte for byte, and resuming both after an
// interruption (`--limit`, and a child killed mid-import) without duplicate rows or versions.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { removeDataDir, type ServerProcess, startTabula } from '../support/server-process.js';
import { CLI_PATH, runOk } from './cli-runner.js';

let server: ServerProcess;
let work: string;
before(async () => {
  server = await startTabula();
  work = mkdtempSync(join(tmpdir(), 'tabula-cli-transfer-'));
});
after(async () => {
  await server.stop();
  removeDataDir(server.dataDir);
  rmSync(work, { recursive: true, force: true });
});

function parseLines(text: string): Array<{ key: string; cells: Record<string, unknown> }> {
  return text
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
}

/** Every row with every version: a duplicate version would show as an array. */
async function dump(table: string): Promise<string> {
  return (await runOk(['read', table, '--format', 'json'], server.address)).stdout;
}

test('CSV import with mapping, export, JSON Lines import, export again: identical', async () => {
  const at = server.address;
  const csv = join(work, 'people.csv');
  writeFileSync(csv, 'id,name,city\r\n1,Ada,"London, UK"\r\n2,"Bob ""B""","two\nlines"\r\n3,,Paris\r\n');
  await runOk(['tables', 'create', 'people', '--family', 'p', '--family', 'q'], at);
  const out = await runOk(
    ['import', 'people', csv, '--family', 'p', '--column', 'city=q:town', '--timestamp', '5000'],
    at,
  );
  assert.match(out.stdout, /imported 3 rows into people/);
  assert.match(out.stderr, /import: 3 rows, .* done in/);
  const rows = parseLines(await dump('people'));
  assert.deepEqual(rows, [
    {
      key: '1',
      cells: { 'p:name': { value: 'Ada', ts: 5000 }, 'q:town': { value: 'London, UK', ts: 5000 } },
    },
    {
      key: '2',
      cells: { 'p:name': { value: 'Bob "B"', ts: 5000 }, 'q:town': { value: 'two\nlines', ts: 5000 } },
    },
    { key: '3', cells: { 'q:town': { value: 'Paris', ts: 5000 } } },
  ]);
  const exported = join(work, 'people.jsonl');
  await runOk(['export', 'people', exported], at);
  await runOk(['tables', 'create', 'copy', '--family', 'p', '--family', 'q'], at);
  await runOk(['import', 'copy', exported], at);
  const again = join(work, 'copy.jsonl');
  await runOk(['export', 'copy', again], at);
  assert.equal(readFileSync(again, 'utf8'), readFileSync(exported, 'utf8'));
  // Importing the same file again rewrites the same cells: nothing changes.
  await runOk(['import', 'copy', exported], at);
  assert.equal(await dump('copy'), await dump('people'));
});

test('JSON Lines with bytes that are not UTF-8 round trip', async () => {
  const at = server.address;
  const input = join(work, 'bytes.jsonl');
  const key64 = Buffer.from([0xff, 0x00, 0x41]).toString('base64');
  writeFileSync(
    input,
    `${JSON.stringify({ key64, cells: { 'f:v': { base64: Buffer.from([0xc3, 0x28]).toString('base64'), ts: 7000 }, 'f:t': 'text' } })}\n\n`,
  );
  await runOk(['tables', 'create', 'bytes', '--family', 'f'], at);
  await runOk(['import', 'bytes', input, '--timestamp', '9000'], at);
  const output = join(work, 'bytes-out.jsonl');
  await runOk(['export', 'bytes', output], at);
  assert.deepEqual(parseLines(readFileSync(output, 'utf8')), [
    { key64, cells: { 'f:t': { value: 'text', ts: 9000 }, 'f:v': { base64: 'wyg=', ts: 7000 } } },
  ]);
});

function bigCsv(rows: number): string {
  const lines = ['key,a,b'];
  for (let i = 0; i < rows; i++) lines.push(`row${String(i).padStart(5, '0')},${i},${'x'.repeat(40)}`);
  return `${lines.join('\n')}\n`;
}

test('an import stopped by --limit resumes from its checkpoint without duplicates', async () => {
  const at = server.address;
  const csv = join(work, 'big.csv');
  writeFileSync(csv, bigCsv(1000));
  const checkpoint = join(work, 'big.ckpt');
  await runOk(['tables', 'create', 'big', '--family', 'f'], at);
  const first = await runOk(
    ['import', 'big', csv, '--family', 'f', '--resume', checkpoint, '--batch-rows', '100', '--limit', '350'],
    at,
  );
  assert.match(first.stdout, /imported 350 rows .*stopped by --limit/);
  assert.equal((await runOk(['count', 'big'], at)).stdout, '350\n');
  const saved = JSON.parse(readFileSync(checkpoint, 'utf8'));
  assert.equal(saved.rows, 350);
  assert.equal(saved.done, false);
  const second = await runOk(
    ['import', 'big', csv, '--family', 'f', '--resume', checkpoint, '--batch-rows', '100'],
    at,
  );
  assert.match(second.stdout, /imported 650 rows/);
  assert.equal((await runOk(['count', 'big'], at)).stdout, '1000\n');
  const rows = parseLines(await dump('big'));
  assert.equal(rows.length, 1000);
  for (const row of rows)
    for (const cell of Object.values(row.cells)) assert.ok(!Array.isArray(cell), `one version in ${row.key}`);
  assert.match(
    (await runOk(['import', 'big', csv, '--family', 'f', '--resume', checkpoint], at)).stdout,
    /already complete/,
  );
});

test('an import killed mid-way resumes without duplicates', async () => {
  const at = server.address;
  const input = join(work, 'killed.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < 20_000; i++)
    lines.push(JSON.stringify({ key: `k${String(i).padStart(6, '0')}`, cells: { 'f:v': `value ${i}` } }));
  writeFileSync(input, `${lines.join('\n')}\n`);
  const checkpoint = join(work, 'killed.ckpt');
  await runOk(['tables', 'create', 'killed', '--family', 'f'], at);
  const args = ['import', 'killed', input, '--resume', checkpoint, '--batch-rows', '50'];
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { ...process.env, BIGTABLE_EMULATOR_HOST: at },
    stdio: 'ignore',
  });
  for (let i = 0; i < 400 && !existsSync(checkpoint); i++) await new Promise((r) => setTimeout(r, 25));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  await runOk(args, at);
  const rows = parseLines(await dump('killed'));
  assert.equal(rows.length, 20_000);
  for (const row of rows) assert.ok(!Array.isArray(row.cells['f:v']), `one version in ${row.key}`);
});

test('an export stopped by --limit resumes after the last exported key', async () => {
  const at = server.address;
  const output = join(work, 'big-export.jsonl');
  const checkpoint = join(work, 'big-export.ckpt');
  const first = await runOk(['export', 'big', output, '--resume', checkpoint, '--limit', '123'], at);
  assert.match(first.stdout, /exported 123 rows .*stopped by --limit/);
  // Bytes written after the checkpoint (a crash mid-chunk) are cut off on resume.
  writeFileSync(output, '{"key":"torn', { flag: 'a' });
  await runOk(['export', 'big', output, '--resume', checkpoint], at);
  const rows = parseLines(readFileSync(output, 'utf8'));
  assert.equal(rows.length, 1000);
  assert.deepEqual(
    rows.map((r) => r.key),
    [...rows.map((r) => r.key)].sort(),
  );
  assert.equal(new Set(rows.map((r) => r.key)).size, 1000);
});
