// Errors of the command line are one line, `tabula: <CODE>: <message>`, with the documented exit
// codes (2 usage, 3 not found, 1 server error or unreachable), and `--help` works at every level.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { removeDataDir, type ServerProcess, startTabula } from '../support/server-process.js';
import { runCli, runOk } from './cli-runner.js';

let server: ServerProcess;
before(async () => {
  server = await startTabula();
  await runOk(['tables', 'create', 'people', '--family', 'p'], server.address);
});
after(async () => {
  await server.stop();
  removeDataDir(server.dataDir);
});

test('errors are one line with the documented exit codes', async () => {
  const at = server.address;
  const cases: Array<[string[], number, RegExp]> = [
    [['nope'], 2, /^tabula: USAGE: unknown command 'nope'/],
    [['set', 'people'], 2, /^tabula: USAGE: missing required argument 'row'/],
    [['set', 'people', 'r', 'novalue'], 2, /^tabula: USAGE: expected family:qualifier=value/],
    [['gc', 'people', 'p', 'maxage=soon'], 2, /^tabula: USAGE: maxage must be/],
    [['read', 'people', 'bogus=1'], 2, /^tabula: USAGE: read takes start=/],
    [['bench', '--ops', 'many'], 2, /^tabula: USAGE: option '--ops <n>' argument 'many' is invalid/],
    [['read', 'people', '--family', '('], 2, /^tabula: INVALID_ARGUMENT: /],
    [['tables', 'delete', 'absent'], 3, /^tabula: NOT_FOUND: /],
    [['families', 'list', 'absent'], 3, /^tabula: NOT_FOUND: /],
    [['tables', 'create', 'people'], 1, /^tabula: ALREADY_EXISTS: /],
    [['fsck', '--data', '/nonexistent/tabula'], 3, /^tabula: NOT_FOUND: data directory does not exist/],
  ];
  for (const [args, code, pattern] of cases) {
    const result = await runCli(args, at);
    assert.equal(result.code, code, `tabula ${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, pattern, args.join(' '));
    assert.equal(
      result.stderr.trim().split('\n').length,
      1,
      `one line for ${args.join(' ')}: ${result.stderr}`,
    );
  }
  const down = await runCli(['tables', 'list', '--endpoint', '127.0.0.1:1']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^tabula: UNAVAILABLE: /);
});

test('--help works at every level and exits 0', async () => {
  for (const args of [[], ['tables'], ['families', 'delete'], ['import'], ['fsck']]) {
    const result = await runCli([...args, '--help']);
    assert.equal(result.code, 0, args.join(' '));
    assert.match(result.stdout, /^Usage: tabula/, args.join(' '));
  }
  assert.match((await runCli(['--help'])).stdout, /Exit codes: 0 success, 1 server or store error/);
});
