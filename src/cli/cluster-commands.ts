/**
 * The cluster commands of `tabula` (docs/cluster.md):
 *
 *   tabula master --coord etcd://H:P[,H:P…][/prefix] --store DIR [--host H] [--port P]
 *   tabula tablet-server --coord etcd://… --store DIR [--host H] [--port P]
 *   tabula cluster up --servers N [--store DIR] [--base-port P]   (src/cli/cluster-up.ts)
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
import { CLUSTER_UP_SERVERS_MAX } from '../common/limits.js';
import { createLogger, type Logger } from '../common/logger.js';
import type { Coordination } from '../coord/coordination.js';
import { errorLine } from './cli-output.js';

const HOST_DEFAULT = '127.0.0.1';
const MASTER_PORT_DEFAULT = 8090;
const TABLET_SERVER_PORT_DEFAULT = 8086;
const PORT_MAX = 65_535;
/** Default store directory and base port of `tabula cluster up` (etcd's own default client port). */
const CLUSTER_UP_STORE_DEFAULT = './tabula-cluster';
const CLUSTER_UP_BASE_PORT_DEFAULT = 2379;
const EXIT_LOST = 1;
/** Period of the timer that keeps a waiting standby master's process alive. */
const KEEP_ALIVE_INTERVAL_MS = 60_000;

interface ClusterFlags {
  coord: string;
  store: string;
  host: string;
  port: number;
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

/** Resolves on the first SIGINT/SIGTERM. */
function signalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

async function runMaster(flags: ClusterFlags): Promise<void> {
  process.title = `tabula master --store ${flags.store}`;
  const log = createLogger({ level: 'info', base: { service: 'tabula-master' } });
  const coord = await openClusterCoordination(flags.coord);
  const { startMaster } = await import('../master/cluster-master.js');
  const stop = signalled();
  // Coordination timers do not keep a process alive; a standby waiting for the lock has nothing
  // else that does until it is elected.
  const alive = setInterval(() => undefined, KEEP_ALIVE_INTERVAL_MS);
  console.error('waiting to become the master');
  const master = await startMaster({
    coord,
    dir: flags.store,
    host: flags.host,
    port: flags.port,
    log,
    onLost: (reason) => {
      log.error({ reason }, 'master lock lost; exiting');
      process.exit(EXIT_LOST);
    },
  });
  console.error(`master elected (epoch ${master.epoch}): admin API at ${master.address}`);
  log.info({ signal: await stop }, 'shutting down');
  clearInterval(alive);
  await master.close();
  await coord.close();
  process.exit(0);
}

async function runTabletServer(flags: ClusterFlags, log: Logger, coord: Coordination): Promise<void> {
  process.title = `tabula tablet-server --port ${flags.port}`;
  const { TabletServer } = await import('../cluster/tablet-server.js');
  const stop = signalled();
  const server = await TabletServer.start({
    coord,
    dir: flags.store,
    host: flags.host,
    port: flags.port,
    log,
  });
  console.error(`tablet server ${server.self.id} serving the Cloud Bigtable API at ${server.address}`);
  log.info({ signal: await stop }, 'shutting down');
  await server.close();
  await coord.close();
  process.exit(0);
}

function clusterOptions(command: Command, portDefault: number): Command {
  return command
    .requiredOption(
      '--coord <url>',
      'coordination service, e.g. etcd://127.0.0.1:2379[,host:port…][/prefix]',
      coordUrl,
    )
    .requiredOption('--store <dir>', 'the store directory every process of the cluster shares')
    .option('--host <host>', 'interface to listen on', HOST_DEFAULT)
    .option('--port <port>', 'port to listen on (0: any free port)', port, portDefault);
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
  clusterOptions(program.command('master'), MASTER_PORT_DEFAULT)
    .description('run the master of a cluster: catalog, schema admin, tablet assignment')
    .action((flags: ClusterFlags) => runMaster(flags).catch(fail));
  clusterOptions(program.command('tablet-server'), TABLET_SERVER_PORT_DEFAULT)
    .description('run a tablet server of a cluster: serves the Bigtable API, routes rows to their owners')
    .action(async (flags: ClusterFlags) => {
      const log = createLogger({ level: 'info', base: { service: 'tabula-tablet-server' } });
      const coord = await openClusterCoordination(flags.coord).catch(fail);
      await runTabletServer(flags, log, coord as Coordination).catch(fail);
    });
  registerClusterUp(program, fail);
}
