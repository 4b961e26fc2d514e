// The web console in a real browser: Debian's chromium driven by playwright-core (installed by
// scripts/setup-browser.sh when missing) against `tabula serve`. A table created through the gRPC
// admin API must show on the overview, its table page (families, GC rules, tablet map) and its
// storage page; the live charts must gain points pushed by the server; the browser must log no
// errors (Content-Security-Policy violations included). Screenshots go to test-output/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Client } from '@grpc/grpc-js';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
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
import { freePort, removeDataDir, type ServerProcess, startTabula } from '../support/server-process.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOT_DIR = join(REPO_ROOT, 'test-output');
const TABLE = 'console-demo';
const ROWS = 300;
const LOAD_INTERVAL_MS = 50;
const WAIT_MS = 15_000;

let server: ServerProcess;
let consoleUrl: string;
let data: Client;
let admin: Client;
let context: BrowserContext;
let userDataDir: string;
let load: NodeJS.Timeout | undefined;
const browserErrors: string[] = [];

/** Installs chromium through the project's setup script when it is missing. */
function ensureChromium(): void {
  if (existsSync(CHROMIUM_PATH)) return;
  const run = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'setup-browser.sh')], { stdio: 'inherit' });
  assert.equal(run.status, 0, 'scripts/setup-browser.sh failed');
  assert.ok(existsSync(CHROMIUM_PATH), `${CHROMIUM_PATH} is still missing`);
}

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

async function openPage(path: string): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning')
      browserErrors.push(`${path}: ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => browserErrors.push(`${path}: ${e.message}`));
  await page.goto(`${consoleUrl}${path}`, { waitUntil: 'load' });
  return page;
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
  ensureChromium();
  const httpPort = await freePort();
  server = await startTabula({ args: ['--http-port', String(httpPort)] });
  consoleUrl = `http://127.0.0.1:${httpPort}`;
  data = connectData(server.address);
  admin = connectTableAdmin(server.address);
  await createDemoTable();
  startLoad();
  userDataDir = mkdtempSync(join(tmpdir(), 'tabula-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
});

after(async () => {
  if (load) clearInterval(load);
  await context?.close();
  data?.close();
  admin?.close();
  await server?.stop();
  removeDataDir(server?.dataDir);
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
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
  assert.deepEqual(browserErrors, []);
});
