// The README's TypeScript API examples cannot rot: each ```ts block of that section must equal a
// file of test/client/examples/ (type-checked by the build), and every example runs — embedded in
// a temporary directory, and the one that reads TABULA_ADDRESS also against `tabula serve`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { removeDataDir, startTabula } from '../support/server-process.js';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..', '..');
const SOURCES = join(ROOT, 'test', 'client', 'examples');
const COMPILED = join(HERE, 'examples');
const SECTION = '## TypeScript API';

function readmeBlocks(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${SECTION}\n`);
  assert.ok(start >= 0, 'README has a TypeScript API section');
  const next = readme.indexOf('\n## ', start + SECTION.length + 2);
  const section = readme.slice(start, next === -1 ? undefined : next);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

function examples(): { name: string; source: string }[] {
  return readdirSync(SOURCES)
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => ({ name: f.replace(/\.ts$/, ''), source: readFileSync(join(SOURCES, f), 'utf8') }));
}

async function runExample(name: string, env: Record<string, string> = {}): Promise<string> {
  const cwd = mkdtempSync(join(tmpdir(), `tabula-example-${name}-`));
  try {
    const { stdout } = await run(process.execPath, [join(COMPILED, `${name}.js`)], {
      cwd,
      env: { ...process.env, ...env },
    });
    return stdout;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

test('every README TypeScript block is an example file, verbatim, and every example is shown', () => {
  const blocks = readmeBlocks();
  const files = examples();
  assert.ok(blocks.length >= 2);
  for (const block of blocks)
    assert.ok(
      files.some((f) => f.source === block),
      `README block not in examples:\n${block}`,
    );
  for (const f of files) assert.ok(blocks.includes(f.source), `example ${f.name} is not shown in the README`);
});

test('the quick start runs embedded and prints the row', async () => {
  const out = await runExample('quick-start');
  assert.match(out, /<Buffer 75 73 65 72 23 30 30 31>/);
  assert.match(out, /family: 'info'/);
});

test('the larger example runs embedded and remote with the same output', async () => {
  const embedded = await runExample('filters-and-counters');
  assert.match(
    embedded,
    /click#2024-06-01 ok\nclick#2024-06-02 NOT_FOUND\nclick#2024-06-01 \/home\nclicks 1n\nclaimed true\nINVALID_ARGUMENT false/,
  );
  const server = await startTabula();
  try {
    assert.equal(await runExample('filters-and-counters', { TABULA_ADDRESS: server.address }), embedded);
  } finally {
    await server.stop();
    removeDataDir(server.dataDir);
  }
});
