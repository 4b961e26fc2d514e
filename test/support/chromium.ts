/**
 * Headless chromium for the console tests: Debian's /usr/bin/chromium driven by playwright-core,
 * installed by scripts/setup-browser.sh when missing. Pages opened through `openPage` report every
 * console error or warning and every uncaught page error (Content-Security-Policy violations
 * included) into the list the test checks at the end.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where the console tests write their screenshots. */
export const SCREENSHOT_DIR = join(REPO_ROOT, 'test-output');
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

/** Installs chromium through the project's setup script when it is missing. */
function ensureChromium(): void {
  if (existsSync(CHROMIUM_PATH)) return;
  const run = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'setup-browser.sh')], { stdio: 'inherit' });
  assert.equal(run.status, 0, 'scripts/setup-browser.sh failed');
  assert.ok(existsSync(CHROMIUM_PATH), `${CHROMIUM_PATH} is still missing`);
}

/** A running headless browser with its own profile directory. */
export interface Browser {
  readonly context: BrowserContext;
  /** Errors and warnings the pages logged, as `path: text`. */
  readonly errors: string[];
  /** Opens `url` (whose path names it in `errors`) and waits for its load. */
  openPage(url: string): Promise<Page>;
  close(): Promise<void>;
}

/** Starts chromium (installing it first when missing). */
export async function startBrowser(): Promise<Browser> {
  ensureChromium();
  const userDataDir = mkdtempSync(join(tmpdir(), 'tabula-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  const errors: string[] = [];
  return {
    context,
    errors,
    async openPage(url) {
      const page = await context.newPage();
      const path = new URL(url).pathname;
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') errors.push(`${path}: ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`${path}: ${e.message}`));
      await page.goto(url, { waitUntil: 'load' });
      return page;
    },
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
