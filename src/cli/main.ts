#!/usr/bin/env node
/**
 * The `tabula` command. `serve` opens the tables under `--data` (recovering from any crash) and
 * serves the Cloud Bigtable v2 API on `--host:--port` until SIGINT/SIGTERM, then stops the server
 * gracefully, closes the store and exits 0 (a second signal exits at once with 1). `status` prints
 * the tables of a store and exits. Options may also come from `--config FILE`, a JSON object with
 * the same keys (`host`, `port`, `data`); flags given on the command line win over the file.
 * Exit codes: 0 success, 1 a store or server error, 2 a usage error.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { TabulaError } from '../common/errors.js';
import { startServer } from '../server/server.js';
import { openTableStore } from '../tablet/table-store.js';

const DATA_DIR_DEFAULT = './tabula-data';
const HOST_DEFAULT = '127.0.0.1';
const PORT_DEFAULT = 8086;
const PORT_MAX = 65_535;
const EXIT_OK = 0;
const EXIT_STORE_ERROR = 1;
const EXIT_USAGE = 2;

/** Options of `tabula serve`, after merging the config file. */
interface ServeOptions {
  host: string;
  port: number;
  data: string;
  config?: string;
}

const CONFIG_KEYS: ReadonlySet<string> = new Set(['host', 'port', 'data']);

function nonEmpty(value: string): string {
  if (value.length === 0) throw new InvalidArgumentError('must not be empty');
  return value;
}

function portNumber(value: string | number): number {
  const port = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(port) || port < 0 || port > PORT_MAX) {
    throw new InvalidArgumentError(`must be an integer port from 0 to ${PORT_MAX}`);
  }
  return port;
}

function usageError(message: string): never {
  console.error(`tabula: ${message}`);
  process.exit(EXIT_USAGE);
}

/** Reads `--config FILE`: a JSON object with only the keys host, port and data. */
function readConfig(path: string): Partial<ServeOptions> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    usageError(`cannot read config file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    usageError(`config file ${path} must hold a JSON object`);
  }
  const out: Partial<ServeOptions> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!CONFIG_KEYS.has(key)) usageError(`config file ${path}: unknown key ${JSON.stringify(key)}`);
    try {
      if (key === 'port') out.port = portNumber(value as number);
      else if (typeof value === 'string') out[key as 'host' | 'data'] = nonEmpty(value);
      else throw new InvalidArgumentError('must be a string');
    } catch (err) {
      usageError(`config file ${path}: ${key} ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}

/** Merges flags over the config file over defaults: a flag counts only when given on the command line. */
function mergeOptions(flags: ServeOptions, command: Command): ServeOptions {
  if (flags.config === undefined) return flags;
  const config = readConfig(flags.config);
  const pick = <K extends 'host' | 'port' | 'data'>(key: K): ServeOptions[K] =>
    command.getOptionValueSource(key) === 'cli' ? flags[key] : (config[key] ?? flags[key]);
  return { host: pick('host'), port: pick('port'), data: pick('data') };
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) {
        console.error(`tabula: ${signal} again; exiting without a clean shutdown`);
        process.exit(EXIT_STORE_ERROR);
      }
      received = true;
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function serve(flags: ServeOptions, command: Command): Promise<void> {
  const options = mergeOptions(flags, command);
  process.title = `tabula serve --data ${options.data}`;
  const store = await openTableStore({ dir: options.data });
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({ host: options.host, port: options.port, store });
  } catch (err) {
    await store.close();
    throw err;
  }
  console.log(`tabula serving the Cloud Bigtable API on ${server.address} (data: ${options.data})`);
  console.log('point clients at it with:');
  console.log(`export BIGTABLE_EMULATOR_HOST=${server.address}`);
  const signal = await waitForSignal();
  console.log(`${signal} received; shutting down`);
  await server.close();
  await store.close();
  console.log('closed cleanly');
  process.exit(EXIT_OK);
}

async function status(options: { data: string }): Promise<void> {
  const store = await openTableStore({ dir: options.data });
  try {
    const tables = store.listTables();
    console.log(`store: ${options.data}`);
    console.log(`tables: ${tables.length}`);
    for (const t of tables) {
      const flags = t.deletionProtection ? ' (deletion protected)' : '';
      console.log(`  ${t.tableId}: ${t.families.size} families${flags}`);
    }
  } finally {
    await store.close();
  }
}

const program = new Command('tabula')
  .description('Tabula: an open-source Bigtable')
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT_OK : EXIT_USAGE));
program
  .command('serve')
  .description('serve the Cloud Bigtable API on the store until interrupted')
  .option('--host <host>', 'interface to listen on', nonEmpty, HOST_DEFAULT)
  .option('--port <port>', 'port to listen on (0: any free port)', portNumber, PORT_DEFAULT)
  .option('--data <dir>', 'data directory', nonEmpty, DATA_DIR_DEFAULT)
  .option('--config <file>', 'JSON file with host, port and data; flags override it')
  .action(serve);
program
  .command('status')
  .description('print the tables of a store and exit')
  .option('--data <dir>', 'data directory', nonEmpty, DATA_DIR_DEFAULT)
  .action(status);

program.parseAsync(process.argv).catch((err: unknown) => {
  const message = err instanceof TabulaError ? `${err.code}: ${err.message}` : String(err);
  console.error(`tabula: ${message}`);
  process.exit(EXIT_STORE_ERROR);
});
