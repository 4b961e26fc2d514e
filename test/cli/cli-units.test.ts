// The pure pieces of the command line: GC rule syntax, CSV records and their byte offsets, the
// Zipfian key chooser, the latency histogram and prefix bounds.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LatencyHistogram, Rand, scramble, ZipfianGenerator } from '../../src/cli/bench-workloads.js';
import { UsageError } from '../../src/cli/cli-output.js';
import { prefixEnd } from '../../src/cli/export-command.js';
import { formatGcRule, parseGcRule } from '../../src/cli/gc-rule-syntax.js';
import { parseCsvRecord, readRecords } from '../../src/cli/record-reader.js';
import { parseRowJson, rowToJson } from '../../src/cli/row-json.js';

test('gc rules parse and print in the cbt syntax', () => {
  assert.equal(parseGcRule('never'), undefined);
  assert.deepEqual(parseGcRule('maxversions=2'), { maxVersions: 2 });
  assert.deepEqual(parseGcRule('maxage=30d'), { maxAgeMs: 30 * 86_400_000 });
  assert.deepEqual(parseGcRule('maxage=1d or maxversions=2'), {
    union: [{ maxAgeMs: 86_400_000 }, { maxVersions: 2 }],
  });
  assert.deepEqual(parseGcRule('maxage=1h and maxversions=2 or maxversions=9'), {
    union: [{ intersection: [{ maxAgeMs: 3_600_000 }, { maxVersions: 2 }] }, { maxVersions: 9 }],
  });
  for (const text of [
    'never',
    'maxversions=3',
    'maxage=90m',
    'maxage=1500ms',
    'maxage=1d or maxversions=2',
    'maxage=1s and maxversions=2 or maxversions=9',
  ]) {
    assert.equal(formatGcRule(parseGcRule(text)), text);
  }
  assert.equal(
    formatGcRule({ intersection: [{ union: [{ maxVersions: 1 }, { maxAgeMs: 1000 }] }, { maxVersions: 2 }] }),
    '(maxversions=1 or maxage=1s) and maxversions=2',
  );
  for (const bad of [
    '',
    'maxversions=0',
    'maxage=5',
    'maxage=1w',
    'keep=1',
    '(maxversions=1)',
    'maxversions=1 or',
  ]) {
    assert.throws(() => parseGcRule(bad), UsageError, bad);
  }
});

test('CSV records keep quoted commas, quotes and newlines, and report where each ends', async () => {
  assert.deepEqual(parseCsvRecord('a,"b,c","d ""e""",'), ['a', 'b,c', 'd "e"', '']);
  const dir = mkdtempSync(join(tmpdir(), 'tabula-records-'));
  try {
    const path = join(dir, 'in.csv');
    const text = 'h1,h2\r\n1,"x\ny"\n2,é\n3,z';
    writeFileSync(path, text);
    const records = [];
    for await (const r of readRecords(path, 0, true)) records.push(r);
    assert.deepEqual(
      records.map((r) => r.text),
      ['h1,h2', '1,"x\ny"', '2,é', '3,z'],
    );
    assert.deepEqual(
      records.map((r) => r.endOffset),
      [7, 15, 20, Buffer.byteLength(text)],
    );
    const resumed = [];
    for await (const r of readRecords(path, 15, true)) resumed.push(r.text);
    assert.deepEqual(resumed, ['2,é', '3,z']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JSON rows keep bytes, versions and a family named __proto__', () => {
  const row = {
    key: Buffer.from([0xff, 0x01]),
    cells: [
      {
        family: '__proto__',
        qualifier: Buffer.from('q'),
        timestampMicros: 2000,
        value: Buffer.from('new'),
        labels: [],
      },
      {
        family: '__proto__',
        qualifier: Buffer.from('q'),
        timestampMicros: 1000,
        value: Buffer.from([0x80]),
        labels: [],
      },
    ],
  };
  const line = rowToJson(row);
  assert.equal(
    line,
    '{"key64":"/wE=","cells":{"__proto__:q":[{"value":"new","ts":2000},{"base64":"gA==","ts":1000}]}}',
  );
  const parsed = parseRowJson(line, 'test');
  assert.deepEqual(parsed.key, row.key);
  assert.deepEqual(
    parsed.cells.map((c) => [c.family, c.qualifier, c.value, c.timestampMicros]),
    [
      ['__proto__', 'q', Buffer.from('new'), 2000],
      ['__proto__', 'q', Buffer.from([0x80]), 1000],
    ],
  );
  assert.throws(() => parseRowJson('{"cells":{}}', 'in.jsonl:1'), /in\.jsonl:1: a row needs "key"/);
});

test('Zipfian keys favour a few items; scrambling spreads them', () => {
  const items = 1000;
  const zipf = new ZipfianGenerator(items, new Rand(42));
  const counts = new Array<number>(items).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const n = zipf.next();
    assert.ok(n >= 0 && n < items);
    counts[n] = (counts[n] as number) + 1;
  }
  // With theta 0.99 over 1000 items, item 0 draws about 13% and the top 10 about 39%.
  const top10 = counts.slice(0, 10).reduce((a, b) => a + b, 0) / 100_000;
  assert.ok(
    (counts[0] as number) / 100_000 > 0.1 && (counts[0] as number) / 100_000 < 0.17,
    String(counts[0]),
  );
  assert.ok(top10 > 0.33 && top10 < 0.45, String(top10));
  assert.ok((counts[0] as number) > (counts[1] as number) && (counts[1] as number) > (counts[10] as number));
  const scrambled = new Set(Array.from({ length: 10 }, (_, i) => scramble(i, items)));
  assert.ok(scrambled.size >= 9);
  assert.ok([...scrambled].some((n) => n > 100));
});

test('latency histogram percentiles are within 2% and memory is bounded', () => {
  const h = new LatencyHistogram();
  for (let us = 1; us <= 10_000; us++) h.record(us);
  const within = (actual: number, expected: number) => Math.abs(actual - expected) / expected <= 0.021;
  assert.ok(within(h.quantileMicros(0.5), 5000), String(h.quantileMicros(0.5)));
  assert.ok(within(h.quantileMicros(0.99), 9900), String(h.quantileMicros(0.99)));
  assert.equal(h.maxMicros, 10_000);
  assert.equal(h.quantileMicros(1), 10_000);
  h.record(5e12);
  assert.equal(h.maxMicros, 5e12);
});

test('prefixEnd is the first key past a prefix', () => {
  assert.deepEqual(prefixEnd(Buffer.from('ab')), Buffer.from('ac'));
  assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from('b'));
  assert.deepEqual(prefixEnd(Buffer.from([0xff, 0xff])), Buffer.alloc(0));
});
