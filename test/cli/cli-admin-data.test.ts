// The admin and data commands against a real `tabula serve`: tables, families and GC rules round
// trip; set / lookup / read / count / delete print what was written; errors are one line with
// the documented exit codes (2 usage, 3 not found, 1 server unreachable); the server's process
// title names it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { removeDataDir, type ServerProcess, startTabula } from '../support/server-process.js';
import { runCli, runOk } from './cli-runner.js';

let server: ServerProcess;
before(async () => {
  server = await startTabula();
});
after(async () => {
  await server.stop();
  removeDataDir(server.dataDir);
});

test('tables, families and gc round trip', async () => {
  const at = server.address;
  assert.match(
    (
      await runOk(
        [
          'tables',
          'create',
          'users',
          '--family',
          'profile',
          '--family',
          'events=maxage=30d or maxversions=2',
        ],
        at,
      )
    ).stdout,
    /created table users/,
  );
  assert.equal((await runOk(['tables', 'list'], at)).stdout, 'users\n');
  await runOk(['gc', 'users', 'profile', 'maxversions=1'], at);
  await runOk(['families', 'create', 'users', 'tmp', 'maxage=1d', 'and', 'maxversions=3'], at);
  assert.equal(
    (await runOk(['families', 'list', 'users'], at)).stdout,
    'events\tmaxage=30d or maxversions=2\nprofile\tmaxversions=1\ntmp\tmaxage=1d and maxversions=3\n',
  );
  await runOk(['families', 'delete', 'users', 'tmp'], at);
  await runOk(['gc', 'users', 'events', 'never'], at);
  assert.equal(
    (await runOk(['families', 'list', 'users'], at)).stdout,
    'events\tnever\nprofile\tmaxversions=1\n',
  );
  await runOk(['tables', 'create', 'scratch'], at);
  await runOk(['tables', 'delete', 'scratch'], at);
  assert.equal((await runOk(['tables', 'list'], at)).stdout, 'users\n');
});

test('set, lookup, read, count and delete', async () => {
  const at = server.address;
  await runOk(['tables', 'create', 'people', '--family', 'p'], at);
  await runOk(['set', 'people', 'ada', 'p:name=Ada', 'p:eq=a=b', '--timestamp', '1000000'], at);
  await runOk(['set', 'people', 'bob', 'p:name=Bob', '--timestamp', '2000000'], at);
  await runOk(['set', 'people', 'cy', 'p:name=Cy'], at);
  const text = (await runOk(['lookup', 'people', 'ada'], at)).stdout;
  assert.match(
    text,
    /^-+\nada\n {2}p:eq @ 1970-01-01T00:00:01\.000Z\n {4}"a=b"\n {2}p:name @ 1970-01-01T00:00:01\.000Z\n {4}"Ada"\n$/,
  );
  const json = (await runOk(['read', 'people', '--format', 'json', 'start=ada', 'end=cy'], at)).stdout;
  assert.deepEqual(
    json
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
    [
      {
        key: 'ada',
        cells: { 'p:eq': { value: 'a=b', ts: 1000000 }, 'p:name': { value: 'Ada', ts: 1000000 } },
      },
      { key: 'bob', cells: { 'p:name': { value: 'Bob', ts: 2000000 } } },
    ],
  );
  const filtered = (await runOk(['read', 'people', 'prefix=b', '--column', 'p:na.*', '--format', 'json'], at))
    .stdout;
  assert.equal(filtered.trim().split('\n').length, 1);
  assert.equal(
    (await runOk(['read', 'people', 'count=2', '--value', 'B.*', '--format', 'json'], at)).stdout
      .trim()
      .split('\n').length,
    1,
  );
  assert.equal((await runOk(['count', 'people'], at)).stdout, '3\n');
  await runOk(['delete', 'people', 'ada', 'p:eq'], at);
  assert.doesNotMatch((await runOk(['lookup', 'people', 'ada'], at)).stdout, /p:eq/);
  await runOk(['delete', 'people', 'ada'], at);
  assert.equal((await runOk(['count', 'people'], at)).stdout, '2\n');
  const missing = await runCli(['lookup', 'people', 'ada'], at);
  assert.equal(missing.code, 3);
  assert.equal(missing.stderr, 'tabula: NOT_FOUND: row not found: table=`people` row=`ada`\n');
});

test('the server process title says tabula serve', () => {
  const cmdline = readFileSync(`/proc/${server.child.pid}/cmdline`, 'utf8').replace(/\0+/g, ' ').trim();
  assert.match(cmdline, /^tabula serve --data /);
});
