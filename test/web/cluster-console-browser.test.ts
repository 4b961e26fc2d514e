// The cluster console in a real browser (test/support/chromium.ts): etcd, a master and two tablet
// servers as real processes, each with --http-port, and a table of six tablets. The master's page
// must list both servers with the tablets each holds; the table page must draw the heat map with
// one row per tablet and list each tablet's range and owner; the browser must log no errors
// (Content-Security-Policy violations included). Screenshots go to test-output/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createLoadTable, LOAD_TABLE, PROBES } from '../cluster/cluster-load.js';
import { type ClusterProcess, LocalCluster } from '../cluster/cluster-processes.js';
import { type Browser, SCREENSHOT_DIR, startBrowser } from '../support/chromium.js';

const WAIT_MS = 20_000;

let cluster: LocalCluster;
let browser: Browser;
let consoleUrl: string;

before(async () => {
  cluster = await LocalCluster.start(2, 1, true);
  consoleUrl = cluster.master.consoleUrl() as string;
  await createLoadTable(cluster.servers[0] as ClusterProcess);
  browser = await startBrowser();
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
});

after(async () => {
  await browser?.close();
  await cluster?.destroy();
});

test('the cluster page lists the servers and the tablets each holds', { timeout: 60_000 }, async () => {
  const page = await browser.openPage(`${consoleUrl}/`);
  const byServer = await cluster.tabletsByServer();
  for (const s of cluster.servers) {
    const row = page.getByRole('row').filter({ hasText: s.address });
    await row
      .getByText(`${byServer.get(s.serverId)}/${byServer.get(s.serverId)}`)
      .waitFor({ timeout: WAIT_MS });
    assert.match((await row.textContent()) ?? '', /serving/);
  }
  assert.equal(await page.locator('[data-stat="tablets"]').textContent(), String(PROBES.length));
  await page.getByRole('link', { name: LOAD_TABLE }).click();
  await page.waitForURL(`${consoleUrl}/tables/${LOAD_TABLE}`);
  await page.locator(`#heatmap[data-tablets="${PROBES.length}"]`).waitFor({ timeout: WAIT_MS });
  const rows = page.locator('.scroll table.list').first().locator('tbody tr');
  assert.equal(await rows.count(), PROBES.length);
  assert.match((await rows.first().textContent()) ?? '', /^\(start\)b/);
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'cluster-console-table.png'), fullPage: true });
  await page.close();
  assert.deepEqual(browser.errors, []);
});
