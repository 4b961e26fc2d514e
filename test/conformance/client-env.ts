/**
 * The server the conformance tests talk to, and official clients pointed at it.
 *
 * By default each test file starts its own `tabula serve` on a temporary data directory.
 * `TABULA_CONFORMANCE_TARGET=emulator` runs the same scenarios against the official emulator
 * (`cbtemulator`) instead, which is how the expectations themselves are validated: a test that
 * only holds on Tabula (the emulator is wrong, or keeps nothing across restarts) checks `onEmulator`
 * and says why in a comment.
 *
 * Ownership: whoever calls `startTarget()` must call `stopTarget()` in a `finally`, which kills the
 * child and removes its data directory even when the test failed.
 */
import assert from 'node:assert/strict';
import { Bigtable, type Row } from '@google-cloud/bigtable';
import { removeDataDir, type ServerProcess, startEmulator, startTabula } from '../support/server-process.js';

/** Which server the conformance tests run against. */
export type ConformanceTarget = 'tabula' | 'emulator';

const TARGET_ENV = 'TABULA_CONFORMANCE_TARGET';

/** The project and instance every client uses; the servers accept any names. */
export const PROJECT_ID = 'conformance-project';
export const INSTANCE_ID = 'conformance-instance';

function readTarget(): ConformanceTarget {
  const value = process.env[TARGET_ENV] ?? 'tabula';
  if (value !== 'tabula' && value !== 'emulator') {
    throw new Error(`${TARGET_ENV} must be 'tabula' or 'emulator', not ${JSON.stringify(value)}`);
  }
  return value;
}

/** The target of this run. */
export const TARGET: ConformanceTarget = readTarget();

/** True when this run validates the scenarios against the official emulator. */
export const onEmulator = TARGET === 'emulator';

/**
 * Starts the target server. For Tabula, `dataDir` reuses a data directory (to test restarts);
 * otherwise a fresh temporary one is made.
 */
export async function startTarget(options: { dataDir?: string } = {}): Promise<ServerProcess> {
  if (onEmulator) return startEmulator();
  return startTabula(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
}

/**
 * Kills the server if it still runs and removes its data directory. Never throws, so it can run in
 * a `finally` without hiding the test's own failure.
 */
export async function stopTarget(server: ServerProcess | undefined): Promise<void> {
  if (server === undefined) return;
  try {
    await server.kill();
  } finally {
    removeDataDir(server.dataDir);
  }
}

/** The universe every Google client assumes; naming it stops the library asking credentials for it. */
const DEFAULT_UNIVERSE_DOMAIN = 'googleapis.com';

/**
 * The official Node client aimed at `address`, never touching real Google auth:
 *   - `apiEndpoint` makes the library use plaintext gRPC with no credentials, exactly as
 *     BIGTABLE_EMULATOR_HOST does;
 *   - `universeDomain` is given because otherwise the transport asks Application Default
 *     Credentials for it, which probes the GCE metadata server;
 *   - client-side metrics are off because they export to Cloud Monitoring with real credentials;
 *   - METADATA_SERVER_DETECTION=none makes any probe left over fail locally instead of on the network.
 */
export function nodeClient(address: string): Bigtable {
  process.env.METADATA_SERVER_DETECTION = 'none';
  return new Bigtable({
    projectId: PROJECT_ID,
    apiEndpoint: address,
    universeDomain: DEFAULT_UNIVERSE_DOMAIN,
    metricsEnabled: false,
  });
}

/** A cell as the Node client decodes it. */
interface DecodedCell {
  value: unknown;
  labels?: string[];
  timestamp: string | number;
}

/** A value as text: strings as they are, 8-byte values the client decoded as counters as `#n`. */
function valueText(value: unknown): string {
  if (typeof value === 'number') return `#${value}`;
  if (Buffer.isBuffer(value)) return `0x${value.toString('hex')}`;
  return String(value);
}

/**
 * Rows as one line per cell, `rowKey family:qualifier @timestampMicros value [labels]`, in the
 * order the server sent them except for families, which are sorted by name: Cloud Bigtable does not
 * promise an order of families within a row. Row keys given as Buffers (decode: false) print as hex.
 */
export function cellLines(rows: readonly Pick<Row, 'id' | 'data'>[]): string[] {
  const lines: string[] = [];
  for (const row of rows) {
    const key = Buffer.isBuffer(row.id) ? `0x${(row.id as Buffer).toString('hex')}` : row.id;
    const families = row.data as Record<string, Record<string, DecodedCell[]>>;
    for (const family of Object.keys(families).sort()) {
      for (const [qualifier, cells] of Object.entries(families[family] ?? {})) {
        for (const cell of cells) {
          const labels = cell.labels && cell.labels.length > 0 ? ` [${cell.labels.join(',')}]` : '';
          lines.push(`${key} ${family}:${qualifier} @${cell.timestamp} ${valueText(cell.value)}${labels}`);
        }
      }
    }
  }
  return lines;
}

/** The gRPC status code of an error from the client (`undefined` when it has none). */
export function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail(`${what} should have failed`);
}
