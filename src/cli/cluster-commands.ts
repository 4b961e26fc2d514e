/**
 * The cluster commands of `tabula` (docs/cluster.md):
 *
 *   tabula master --coord etcd://H:P[,H:P…][/prefix] --store DIR [--host H] [--port P] [--http-port Q]
 *   tabula tablet-server --coord etcd://… --store DIR [--host H] [--port P] [--http-port Q]
 *   tabula cluster up --servers N [--store DIR] [--base-port P]   (src/cli/cluster-up.ts)
 *
 * Both take `--config FILE` (src/cli/cluster-config.ts): the options as a JSON object; flags on
 * the command line override it. With `--http-port`, a process serves `/metrics` and the cluster
 * console on `--host` (src/web/cluster-console-server.ts); it says where on standard error before
 * its ready line.
 *
 * `--store` is the directory every process of the cluster shares. A master waits until it wins
 * the master lock, then serves the table admin API; it exits (code 1) if it loses the lock. A
 * tablet server serves the Bigtable API for every table, routing rows to their owners. Both write
 * JSON log lines on standard output and one line for a person on standard error once serving, and
 * stop cleanly on SIGINT/SIGTERM. `tabula serve` is not affected by anything here: the cluster
 * modules and the coordination drivers are loaded only when one of these commands runs.
 */

/** Opens the coordination service of `url`, loading the drivers and the cluster code first. */
async function openClusterCoordination(url: string): Promise<Coordination> {
  await import('../coord/embedded/embedded-driver.js');
  await import('../coord/etcd/etcd-driver.js');
  const { openCoordination } = await import('../coord/coordination.js');
  return openCoordination(url);
}

import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { ClusterView } from '../cluster/cluster-view.js';
import { systemClock } from '../common/clock.js';
import {
  CLUSTER_MASTER_LOCK_RETRY_MS,
  CLUSTER_MASTER_STEP_DOWN_MS_MAX,
  CLUSTER_UP_SERVERS_MAX,
  SPLIT_THRESHOLD_BYTES_MIN,
} from '../common/limits.js';
import { createLogger, type Logger } from '../common/logger.js';
import { createMetricsRegistry } from '../common/metrics.js';
import type { Coordination } from '../coord/coordination.js';
import { RpcObserver, setProcessRpcObserver } from '../server/observability.js';
import type { ClusterMetricsSource } from '../web/cluster-metrics.js';
import type { RunningConsole } from '../web/console-server.js';
import { errorLine } from './cli-output.js';
import {
  type ClusterFileOptions,
  ConfigFileError,
  mergeClusterConfig,
  type ValueParser,
} from './cluster-config.js';

const HOST_DEFAULT = '127.0.0.1';
const MASTER_PORT_DEFAULT = 8090;
const TABLET_SERVER_PORT_DEFAULT = 8086;
const PORT_MAX = 65_535;
/** Default store directory and base port of `tabula cluster up` (etcd's own default client port). */
const CLUSTER_UP_STORE_DEFAULT = './tabula-cluster';
const CLUSTER_UP_BASE_PORT_DEFAULT = 2379;
const EXIT_LOST = 1;
const EXIT_USAGE = 2;
/** Period of the timer that keeps a waiting standby master's process alive. */
const KEEP_ALIVE_INTERVAL_MS = 60_000;

interface ClusterFlags extends ClusterFileOptions {
  config?: string;
  /** tablet-server only. */
  splitThresholdBytes?: number;
  /** master only. */
  fileGcGraceMs?: number;
  fileGcIntervalMs?: number;
}

/** Flags after merging `--config`, with the required ones present. */
interface ClusterOptions extends ClusterFlags {
  coord: string;
  store: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > PORT_MAX)
    throw new InvalidArgumentError(`must be a port from 0 to ${PORT_MAX}`);
  return n;
}

function serverCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > CLUSTER_UP_SERVERS_MAX)
    throw new InvalidArgumentError(`must be an integer from 1 to ${CLUSTER_UP_SERVERS_MAX}`);
  return n;
}

function coordUrl(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:/.test(value))
    throw new InvalidArgumentError('must be a coordination url, e.g. etcd://127.0.0.1:2379');
  return value;
}

const SIZE_UNITS: ReadonlyMap<string, number> = new Map([
  ['', 1],
  ['KiB', 1024],
  ['MiB', 1024 ** 2],
  ['GiB', 1024 ** 3],
]);

/**
 * A split threshold (`--split-threshold-bytes` of `tabula serve` and `tabula tablet-server`): an
 * integer with an optional KiB/MiB/GiB suffix, at least SPLIT_THRESHOLD_BYTES_MIN.
 */
export function splitThreshold(value: string | number): number {
  const match = /^([0-9]+)(KiB|MiB|GiB)?$/.exec(String(value));
  const bytes = match ? Number(match[1]) * (SIZE_UNITS.get(match[2] ?? '') ?? 1) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < SPLIT_THRESHOLD_BYTES_MIN) {
    throw new InvalidArgumentError(
      `must be a size of at least ${SPLIT_THRESHOLD_BYTES_MIN} bytes, e.g. 65536, 64KiB or 256MiB`,
    );
  }
  return bytes;
}

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be a number of milliseconds');
  return n;
}

function nonEmpty(value: string): string {
  if (value.length === 0) throw new InvalidArgumentError('must not be empty');
  return value;
}

/** Each config key's check: the parser of its flag. */
const CONFIG_PARSERS: ReadonlyMap<keyof ClusterFileOptions, ValueParser> = new Map<
  keyof ClusterFileOptions,
  ValueParser
>([
  ['coord', coordUrl],
  ['store', nonEmpty],
  ['host', nonEmpty],
  ['port', port],
  ['httpPort', port],
]);

function usageError(message: string): never {
  console.error(`tabula: USAGE: ${message}`);
  process.exit(EXIT_USAGE);
}

/** The flags over `--config`; a bad file or a missing --coord/--store is a usage error. */
function clusterOptions(flags: ClusterFlags, command: Command): ClusterOptions {
  let merged: ClusterFlags;
  try {
    merged = mergeClusterConfig(flags, command, CONFIG_PARSERS);
  } catch (err) {
    if (err instanceof ConfigFileError) usageError(err.message);
    throw err;
  }
  for (const key of ['coord', 'store'] as const)
    if (merged[key] === undefined) usageError(`--${key} is required (on the command line or in --config)`);
  return merged as ClusterOptions;
}

/** A registry and RPC observer for the process, set before any gRPC server is built. */
function processObserver(log: Logger): RpcObserver {
  const observer = new RpcObserver({ logger: log, registry: createMetricsRegistry() });
  setProcessRpcObserver(observer);
  return observer;
}

/** Starts `/metrics` and the cluster console when `--http-port` was given, and says where. */
async function startHttp(
  flags: ClusterOptions,
  parts: { coord: Coordination; view: ClusterView; observer: RpcObserver; log: Logger },
  metrics: Omit<ClusterMetricsSource, 'view' | 'events'>,
): Promise<RunningConsole | undefined> {
  if (flags.httpPort === undefined) return undefined;
  const { startClusterConsole } = await import('../web/cluster-console-server.js');
  const web = await startClusterConsole({
    host: flags.host,
    port: flags.httpPort,
    clock: systemClock,
    logger: parts.log,
    coord: parts.coord,
    view: parts.view,
    observer: parts.observer,
    metrics,
  });
  console.error(`web console and /metrics at ${web.url}/`);
  return web;
}

/** Resolves on the first SIGINT/SIGTERM. */
function signalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

async function runMaster(flags: ClusterOptions): Promise<void> {
  process.title = `tabula master --store ${flags.store}`;
  const log = createLogger({ level: 'info', base: { service: 'tabula-master' } });
  const observer = processObserver(log);
  const coord = await openClusterCoordination(flags.coord);
  const { startMaster } = await import('../master/cluster-master.js');
  const stop = signalled().then((signal) => ({ signal }));
  // Coordination timers do not keep a process alive; a standby waiting for the lock has nothing
  // else that does until it is elected.
  setInterval(() => undefined, KEEP_ALIVE_INTERVAL_MS);
  // Each term: campaign, serve until the lock is lost or a signal comes; after a loss, step down
  // and campaign again (coordination may come back: a lone master must serve again then).
  for (;;) {
    console.error('waiting to become the master');
    let lose: (reason: string) => void = () => undefined;
    const lost = new Promise<{ reason: string }>((resolve) => {
      lose = (reason) => resolve({ reason });
    });
    const starting = startMaster({
      coord,
      dir: flags.store,
      host: flags.host,
      port: flags.port,
      log,
      ...(flags.fileGcGraceMs !== undefined ? { fileGcGraceMs: flags.fileGcGraceMs } : {}),
      ...(flags.fileGcIntervalMs !== undefined ? { fileGcIntervalMs: flags.fileGcIntervalMs } : {}),
      onLost: (reason) => lose(reason),
    }).then(
      (master) => ({ master }),
      (err: unknown) => ({ err }),
    );
    const elected = await Promise.race([starting, stop]);
    if ('signal' in elected) {
      log.info({ signal: elected.signal }, 'shutting down before being elected');
      process.exit(0);
    }
    if ('err' in elected) {
      log.error({ err: elected.err }, 'starting as the master failed; campaigning again');
      await new Promise((resolve) => setTimeout(resolve, CLUSTER_MASTER_LOCK_RETRY_MS));
      continue;
    }
    const master = elected.master;
    const web = await startHttp(
      flags,
      { coord, view: master.view, observer, log },
      { role: 'master', serverId: () => 'master', masterEpoch: () => master.epoch },
    );
    console.error(`master elected (epoch ${master.epoch}): admin API at ${master.address}`);
    const end = await Promise.race([stop, lost]);
    await web?.close();
    if ('signal' in end) {
      log.info({ signal: end.signal }, 'shutting down');
      await master.close();
      await coord.close();
      process.exit(0);
    }
    log.error({ reason: end.reason, epoch: master.epoch }, 'master lock lost; stepping down');
    // Stepping down waits on no coordination; one that hangs on anything else ends the process.
    const closed = await Promise.race([
      master.stepDown().then(
        () => true,
        (err: unknown) => {
          log.warn({ err }, 'stepping down failed');
          return true;
        },
      ),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), CLUSTER_MASTER_STEP_DOWN_MS_MAX)),
    ]);
    if (!closed) {
      log.error({ waitedMs: CLUSTER_MASTER_STEP_DOWN_MS_MAX }, 'stepping down did not finish; exiting');
      process.exit(EXIT_LOST);
    }
  }
}

async function runTabletServer(flags: ClusterOptions, log: Logger, coord: Coordination): Promise<void> {
  process.title = `tabula tablet-server --port ${flags.port}`;
  const observer = processObserver(log);
  const { TabletServer } = await import('../cluster/tablet-server.js');
  const stop = signalled();
  const server = await TabletServer.start({
    coord,
    dir: flags.store,
    host: flags.host,
    port: flags.port,
    log,
    ...(flags.splitThresholdBytes !== undefined ? { splitThresholdBytes: flags.splitThresholdBytes } : {}),
  });
  const state = server.state;
  const web = await startHttp(
    flags,
    { coord, view: state.view, observer, log },
    {
      role: 'tablet_server',
      serverId: () => state.current().serverId,
      masterEpoch: () => state.view.master?.epoch,
      session: () => state.current().session,
      tabletsHeld: () => state.tablets(),
      forwardedCalls: state.forwardedCalls,
      stats: () => state.stats.latest(),
    },
  );
  console.error(`tablet server ${server.self.id} serving the Cloud Bigtable API at ${server.address}`);
  log.info({ signal: await stop }, 'shutting down');
  await web?.close();
  await server.close();
  await coord.close();
  process.exit(0);
}

function clusterFlags(command: Command, portDefault: number): Command {
  return command
    .option(
      '--coord <url>',
      'coordination service, e.g. etcd://127.0.0.1:2379[,host:port…][/prefix] (required)',
      coordUrl,
    )
    .option('--store <dir>', 'the store directory every process of the cluster shares (required)', nonEmpty)
    .option('--host <host>', 'interface to listen on', nonEmpty, HOST_DEFAULT)
    .option('--port <port>', 'port to listen on (0: any free port)', port, portDefault)
    .option('--http-port <port>', 'port of the web console and /metrics, on --host (default: none)', port)
    .option('--config <file>', 'JSON file with coord, store, host, port and httpPort; flags override it');
}

interface ClusterUpFlags {
  servers: number;
  store: string;
  basePort: number;
}

/** Adds `cluster up`: a local development cluster of child processes. */
function registerClusterUp(program: Command, fail: (err: unknown) => void): void {
  program
    .command('cluster')
    .description('manage a local development cluster')
    .command('up')
    .description('start etcd, a master and N tablet servers on 127.0.0.1 until SIGINT/SIGTERM')
    .requiredOption('--servers <n>', 'number of tablet servers', serverCount)
    .option(
      '--store <dir>',
      'directory of the etcd data, the shared store and the logs',
      CLUSTER_UP_STORE_DEFAULT,
    )
    .option(
      '--base-port <port>',
      'etcd client port; etcd peer, master and servers take the next ones (0: any free ports)',
      port,
      CLUSTER_UP_BASE_PORT_DEFAULT,
    )
    .action(async (flags: ClusterUpFlags) => {
      const { runClusterUp } = await import('./cluster-up.js');
      const code = await runClusterUp(flags).catch(fail);
      process.exit(code ?? EXIT_LOST);
    });
}

/** Adds `master`, `tablet-server` and `cluster up` to the program. */
export function registerClusterCommands(program: Command): void {
  const fail = (err: unknown) => {
    console.error(errorLine(err));
    process.exit(EXIT_LOST);
  };
  clusterFlags(program.command('master'), MASTER_PORT_DEFAULT)
    .description('run the master of a cluster: catalog, schema admin, tablet assignment')
    .option(
      '--file-gc-grace-ms <ms>',
      'how long a shared file stays unreferenced before the master deletes it',
      milliseconds,
    )
    .option('--file-gc-interval-ms <ms>', 'period of the shared-file garbage collection', milliseconds)
    .action((flags: ClusterFlags, command: Command) => runMaster(clusterOptions(flags, command)).catch(fail));
  clusterFlags(program.command('tablet-server'), TABLET_SERVER_PORT_DEFAULT)
    .description('run a tablet server of a cluster: serves the Bigtable API, routes rows to their owners')
    .option(
      '--split-threshold-bytes <size>',
      'size past which a tablet splits in two (bytes, or with KiB/MiB/GiB)',
      splitThreshold,
    )
    .action(async (flags: ClusterFlags, command: Command) => {
      const options = clusterOptions(flags, command);
      const log = createLogger({ level: 'info', base: { service: 'tabula-tablet-server' } });
      const coord = await openClusterCoordination(options.coord).catch(fail);
      await runTabletServer(options, log, coord as Coordination).catch(fail);
    });
  registerClusterUp(program, fail);
}
