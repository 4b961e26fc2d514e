// The web console in a real browser: Debian's chromium driven by playwright-core (installed by
// scripts/setup-browser.sh when missing) against `tabula serve`. A table created through the gRPC
// admin API must show on the overview, its table page (families, GC rules, tablet map) and its
// storage page; the live charts must gain points pushed by the server; the browser must log no
// errors (Content-Security-Policy violations included). Screenshots go to test-output/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Client } from '@grpc/grpc-js';
import type { Page } from 'playwright-core';
import {
  connectData,
  connectTableAdmin,
  INSTANCE_NAME,
  readRows,
  serverStream,
  setCell,
  tableName,
  unary,
} from '../support/api-client.js';
import { type Browser, SCREENSHOT_DIR, startBrowser } from '../support/chromium.js';
import { freePort, removeDataDir, type ServerProcess, startTabula } from '../support/server-process.js';

const TABLE = 'console-demo';
const ROWS = 300;
const LOAD_INTERVAL_MS = 50;
const WAIT_MS = 15_000;

let server: ServerProcess;
let consoleUrl: string;
let data: Client;
let admin: Client;
let browser: Browser;
let load: NodeJS.Timeout | undefined;

async function createDemoTable(): Promise<void> {
  const columnFamilies = {
    events: { gcRule: { maxNumVersions: 3 } },
    profile: {
      gcRule: { union: { rules: [{ maxAge: { seconds: '604800' } }, { maxNumVersions: 1 }] } },
    },
  };
  await unary(admin, 'CreateTable', { parent: INSTANCE_NAME, tableId: TABLE, table: { columnFamilies } });
  const entries = Array.from({ length: ROWS }, (_, i) => ({
    rowKey: Buffer.from(`user#${String(i).padStart(5, '0')}`),
    mutations: [setCell('events', 'click', 1000, Buffer.alloc(200, i % 251))],
  }));
  await serverStream(data, 'MutateRows', { tableName: tableName(TABLE), entries });
}

/** A light, steady load, so the live charts have calls to show. */
function startLoad(): void {
  let i = 0;
  load = setInterval(() => {
    const rowKey = Buffer.from(`user#${String(i++ % ROWS).padStart(5, '0')}`);
    const mutations = [setCell('events', 'view', 1000 * (i + 1), Buffer.from('x'))];
    unary(data, 'MutateRow', { tableName: tableName(TABLE), rowKey, mutations }).catch(() => undefined);
    readRows(data, TABLE, { rows: { rowKeys: [rowKey] } }).catch(() => undefined);
  }, LOAD_INTERVAL_MS);
}

function openPage(path: string): Promise<Page> {
  return browser.openPage(`${consoleUrl}${path}`);
}

async function chartPoints(page: Page, selector: string): Promise<number> {
  return Number(await page.locator(selector).getAttribute('data-points'));
}

/** Waits until the chart in `selector` draws at least `points` points. */
async function waitForPoints(page: Page, selector: string, points: number): Promise<void> {
  // Runs in the page; the test's tsconfig has no DOM types, hence the loose lookup.
  const drawn = ([sel, n]: [string, number]) => {
    const doc = (
      globalThis as { document?: { querySelector(s: string): { dataset: { points?: string } } | null } }
    ).document;
    return Number(doc?.querySelector(sel)?.dataset.points) >= n;
  };
  await page.waitForFunction(drawn, [selector, points] as [string, number], { timeout: WAIT_MS });
}

before(async () => {
  const httpPort = await freePort();
  server = await startTabula({ args: ['--http-port', String(httpPort)] });
  consoleUrl = `http://127.0.0.1:${httpPort}`;
  data = connectData(server.address);
  admin = connectTableAdmin(server.address);
  await createDemoTable();
  startLoad();
  browser = await startBrowser();
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
});

after(async () => {
  if (load) clearInterval(load);
  await browser?.close();
  data?.close();
  admin?.close();
  await server?.stop();
  removeDataDir(server?.dataDir);
});

test('the overview lists the table and its charts update live', { timeout: 60_000 }, async () => {
  const page = await openPage('/');
  await page.getByRole('link', { name: TABLE }).waitFor({ timeout: WAIT_MS });
  assert.equal(await page.locator('[data-stat="tables"]').textContent(), '1');
  assert.equal(await page.locator('[data-stat="tablets"]').textContent(), '1');
  await page.locator('#chart-ops canvas').waitFor({ timeout: WAIT_MS });
  const first = await chartPoints(page, '#chart-ops');
  await waitForPoints(page, '#chart-ops', first + 2);
  assert.ok((await chartPoints(page, '#chart-latency')) >= first + 2);
  await page.locator('.live.on').waitFor({ timeout: WAIT_MS });
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'console-overview.png'), fullPage: true });
  await page.close();
});

test('the table page shows families, GC rules and the tablet map', { timeout: 60_000 }, async () => {
  const page = await openPage('/');
  await page.getByRole('link', { name: TABLE }).click();
  await page.waitForURL(`${consoleUrl}/tables/${TABLE}`);
  await page.locator('#tablet-map .tablet').first().waitFor({ timeout: WAIT_MS });
  assert.equal(await page.locator('#tablet-map .tablet').count(), 1);
  const families = await page.locator('table.list').textContent();
  assert.match(families ?? '', /events.*maxVersions=3/);
  assert.match(families ?? '', /profile.*maxAge=7d OR maxVersions=1/);
  // The history panel says what is true: how many tablets serve the table, what splits were seen.
  await page.getByText(/^1 tablet serves this table\. No split or merge of this table seen since /).waitFor({
    timeout: WAIT_MS,
  });
  assert.doesNotMatch((await page.locator('main').textContent()) ?? '', /do not split yet/);
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'console-table.png'), fullPage: true });
  await page.close();
});

test('the storage page shows the tablet levels and compaction activity', { timeout: 60_000 }, async () => {
  const page = await openPage(`/tables/${TABLE}/storage`);
  await page.getByRole('cell', { name: 'L0', exact: true }).waitFor({ timeout: WAIT_MS });
  await page.getByText('Block cache').first().waitFor({ timeout: WAIT_MS });
  await waitForPoints(page, '#chart-compaction', 2);
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'console-storage.png'), fullPage: true });
  await page.close();
});

test('a page for a missing table says so; /metrics serves Prometheus text', { timeout: 60_000 }, async () => {
  const page = await openPage('/tables/no-such-table');
  await page.getByText('This table does not exist.').waitFor({ timeout: WAIT_MS });
  await page.close();
  const metrics = await fetch(`${consoleUrl}/metrics`);
  assert.equal(metrics.status, 200);
  const text = await metrics.text();
  assert.match(text, /^tabula_tablets 1$/m);
  assert.match(text, /^tabula_tablet_memtable_bytes\{table="console-demo",tablet=""\} \d+/m);
  assert.match(text, /^process_resident_memory_bytes \d+/m);
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  const post = await fetch(`${consoleUrl}/`, { method: 'POST' });
  assert.equal(post.status, 405);
});

test('the browser logged no errors', () => {
  assert.deepEqual(browser.errors, []);
});
