#!/usr/bin/env node
/**
 * The `tabula` command. `serve` opens the tables under `--data` (recovering from any crash) and
 * serves the Cloud Bigtable v2 API on `--host:--port` until SIGINT/SIGTERM, then stops the server
 * gracefully, closes the store and exits 0 (a second signal exits at once with 1). `status` prints
 * the tables of a store and exits. Options may also come from `--config FILE`, a JSON object with
 * the same keys (`host`, `port`, `httpPort`, `data`, `logLevel`); flags given on the command line
 * win over the file. The other commands (admin, data, import/export, bench, fsck) live one group
 * per file beside this one; docs/cli.md describes them all. Exit codes (cli-output.ts): 0 success,
 * 1 a store or server error, 2 a usage error, 3 not found. Every error is one line on standard
 * error: `tabula: <CODE>: <message>`.
 *
 * `serve` writes its log as JSON lines (pino) on standard output, at `--log-level`; the lines
 * meant for a person (how to point clients at the server) go to standard error. It also serves
 * the web console and `/metrics` on `--host:--http-port`; when the default HTTP port is taken the
 * server runs without them (with a warning), while an explicit `--http-port` must bind.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { SPLIT_THRESHOLD_BYTES_DEFAULT } from '../common/limits.js';
import {
  createLogger,
  isLogLevel,
  LOG_LEVEL_DEFAULT,
  LOG_LEVELS,
  type Logger,
  type LogLevel,
} from '../common/logger.js';
import { createMetricsRegistry } from '../common/metrics.js';
import { openInstanceStore } from '../master/metadata-root.js';
import { RpcObserver, setProcessRpcObserver } from '../server/observability.js';
import { startServer } from '../server/server.js';
import { type RunningConsole, startConsole } from '../web/console-server.js';
import { registerAdminCommands } from './admin-commands.js';
import { registerBenchCommand } from './bench-command.js';
import { errorLine, exitCodeOfAny } from './cli-output.js';
import { registerClusterCommands, splitThreshold } from './cluster-commands.js';
import { registerDataCommands } from './data-commands.js';
import { registerExportCommand } from './export-command.js';
import { registerFsckCommand } from './fsck-command.js';
import { registerImportCommand } from './import-command.js';

const DATA_DIR_DEFAULT = './tabula-data';
const HOST_DEFAULT = '127.0.0.1';
const PORT_DEFAULT = 8086;
const HTTP_PORT_DEFAULT = 8087;
const PORT_MAX = 65_535;
const EXIT_OK = 0;
const EXIT_STORE_ERROR = 1;
const EXIT_USAGE = 2;

/** Options of `tabula serve`, after merging the config file. */
interface ServeOptions {
  host: string;
  port: number;
  httpPort: number;
  data: string;
  logLevel: LogLevel;
  splitThresholdBytes: number;
  config?: string;
}

type ConfigKey = 'host' | 'port' | 'httpPort' | 'data' | 'logLevel' | 'splitThresholdBytes';
const CONFIG_KEYS: ReadonlySet<string> = new Set<ConfigKey>([
  'host',
  'port',
  'httpPort',
  'data',
  'logLevel',
  'splitThresholdBytes',
]);

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

function logLevel(value: string): LogLevel {
  if (!isLogLevel(value)) throw new InvalidArgumentError(`must be one of ${LOG_LEVELS.join(', ')}`);
  return value;
}

const EXIT_CODES_HELP = `
Exit codes: 0 success, 1 server or store error (fsck: damage found), 2 usage error, 3 not found.
Commands that talk to a server take --endpoint (default $BIGTABLE_EMULATOR_HOST, else 127.0.0.1:8086).
See docs/cli.md.`;

/** commander's error text (`error: ...`) as the one line `tabula: USAGE: ...`. */
function usageLine(text: string): string {
  return `tabula: USAGE: ${text
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')} (see --help)\n`;
}

function usageError(message: string): never {
  console.error(`tabula: USAGE: ${message}`);
  process.exit(EXIT_USAGE);
}

/** Reads `--config FILE`: a JSON object with only the keys of CONFIG_KEYS. */
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
      if (key === 'port' || key === 'httpPort') out[key] = portNumber(value as number);
      else if (key === 'splitThresholdBytes') out.splitThresholdBytes = splitThreshold(value as number);
      else if (typeof value !== 'string') throw new InvalidArgumentError('must be a string');
      else if (key === 'logLevel') out.logLevel = logLevel(value);
      else out[key as 'host' | 'data'] = nonEmpty(value);
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
  const pick = <K extends ConfigKey>(key: K): ServeOptions[K] =>
    command.getOptionValueSource(key) === 'cli' ? flags[key] : (config[key] ?? flags[key]);
  return {
    host: pick('host'),
    port: pick('port'),
    httpPort: pick('httpPort'),
    data: pick('data'),
    logLevel: pick('logLevel'),
    splitThresholdBytes: pick('splitThresholdBytes'),
    config: flags.config,
  };
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

/**
 * Starts the console, unless the HTTP port is the default and taken: then the server runs
 * without it (logged), since the default was not the user's choice.
 */
async function startConsoleIfFree(
  options: ServeOptions,
  command: Command,
  start: (port: number) => Promise<RunningConsole>,
  log: Logger,
): Promise<RunningConsole | undefined> {
  try {
    return await start(options.httpPort);
  } catch (err) {
    const explicit =
      command.getOptionValueSource('httpPort') === 'cli' || options.httpPort !== HTTP_PORT_DEFAULT;
    if (explicit || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    log.warn(
      { httpPort: options.httpPort, err },
      'http port in use; serving without the web console and /metrics',
    );
    return undefined;
  }
}

async function serve(flags: ServeOptions, command: Command): Promise<void> {
  const options = mergeOptions(flags, command);
  process.title = `tabula serve --data ${options.data}`;
  const log = createLogger({ level: options.logLevel, base: { service: 'tabula' } });
  // The effective configuration, field by field: it holds no secrets today; keep new ones out.
  const { host, port, httpPort, data, logLevel: level, splitThresholdBytes, config } = options;
  log.info(
    {
      config: {
        host,
        port,
        httpPort,
        data,
        logLevel: level,
        splitThresholdBytes,
        configFile: config ?? null,
      },
    },
    'starting',
  );
  const observer = new RpcObserver({ logger: log, registry: createMetricsRegistry() });
  setProcessRpcObserver(observer);
  const store = await openInstanceStore({ dir: options.data, splitThresholdBytes, logger: log });
  let server: Awaited<ReturnType<typeof startServer>>;
  let web: RunningConsole | undefined;
  try {
    const onInternalError = (err: unknown, method: string) =>
      log.error({ component: 'rpc', method, err }, 'internal error in rpc handler');
    server = await startServer({ host, port, store, onInternalError });
    const start = (p: number) => startConsole({ host, port: p, store, observer, logger: log });
    web = await startConsoleIfFree(options, command, start, log).catch(async (err) => {
      await server.close();
      throw err;
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  // Listen for signals before announcing the address: whoever reacts to the announcement by
  // stopping the server must find the handler in place, not the default action (instant death).
  const signalReceived = waitForSignal();
  log.info({ address: server.address, consoleUrl: web?.url ?? null, data }, 'serving the Cloud Bigtable API');
  console.error('point clients at it with:');
  console.error(`export BIGTABLE_EMULATOR_HOST=${server.address}`);
  if (web) console.error(`web console: ${web.url}/`);
  const signal = await signalReceived;
  log.info({ signal }, 'shutting down');
  await web?.close();
  await server.close();
  await store.close();
  log.info({}, 'closed cleanly');
  process.exit(EXIT_OK);
}

async function status(options: { data: string }): Promise<void> {
  const store = await openInstanceStore({ dir: options.data });
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
  .configureOutput({ outputError: (text, write) => write(usageLine(text)) })
  .addHelpText('after', EXIT_CODES_HELP)
  .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT_OK : EXIT_USAGE));
program
  .command('serve')
  .description('serve the Cloud Bigtable API on the store until interrupted')
  .option('--host <host>', 'interface to listen on', nonEmpty, HOST_DEFAULT)
  .option('--port <port>', 'port to listen on (0: any free port)', portNumber, PORT_DEFAULT)
  .option(
    '--http-port <port>',
    'port of the web console and /metrics, on --host',
    portNumber,
    HTTP_PORT_DEFAULT,
  )
  .option('--data <dir>', 'data directory', nonEmpty, DATA_DIR_DEFAULT)
  .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, logLevel, LOG_LEVEL_DEFAULT)
  .option(
    '--split-threshold-bytes <size>',
    'size past which a tablet splits in two (bytes, or with KiB/MiB/GiB)',
    splitThreshold,
    SPLIT_THRESHOLD_BYTES_DEFAULT,
  )
  .option(
    '--config <file>',
    'JSON file with host, port, httpPort, data, logLevel and splitThresholdBytes; flags override it',
  )
  .action(serve);
program
  .command('status')
  .description('print the tables of a store and exit')
  .option('--data <dir>', 'data directory', nonEmpty, DATA_DIR_DEFAULT)
  .action(status);

registerAdminCommands(program);
registerDataCommands(program);
registerImportCommand(program);
registerExportCommand(program);
registerBenchCommand(program);
registerFsckCommand(program);
registerClusterCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(errorLine(err));
  process.exit(exitCodeOfAny(err));
});
