/**
 * The two ways in: `open(dir)` runs Tabula inside this process on a data directory (the same
 * layout `tabula serve --data` uses, so one may open what the other wrote — never both at once:
 * the store holds a lock), and `connect(address)` talks to a server over gRPC. Both resolve to
 * the same `Tabula` interface. Against a Tabula cluster, `connect` routes row operations to each
 * tablet's owner (tablet-router.ts).
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import { errors } from '../common/errors.js';
import { openInstanceStore } from '../master/metadata-root.js';
import { CONNECT_TIMEOUT_MS_DEFAULT, INSTANCE_DEFAULT, PROJECT_DEFAULT } from './client-limits.js';
import { EmbeddedBackend } from './embedded-backend.js';
import { channelCredentials, GrpcChannel } from './grpc-channel.js';
import { RemoteBackend } from './remote-backend.js';
import type { RetryOptions } from './retry-policy.js';
import { RetryPolicy } from './retry-policy.js';
import { TabletLocationCache } from './tablet-location-cache.js';
import { fetchThrough, TabletRouter } from './tablet-router.js';
import type { Tabula } from './tabula-api.js';
import { TabulaClient } from './tabula-client.js';

/** Options of `connect()`. */
export interface ConnectOptions {
  /** Project of the instance. Default `tabula` (a Tabula server accepts any). */
  readonly project?: string;
  /** Instance id. Default `tabula` (a Tabula server accepts any). */
  readonly instance?: string;
  /**
   * Address of the table admin service when it differs from the data service (Cloud Bigtable:
   * `bigtableadmin.googleapis.com:443`). Default: the same address.
   */
  readonly adminAddress?: string;
  /**
   * gRPC channel credentials (e.g. TLS combined with call credentials for Cloud Bigtable).
   * Default: plaintext for a loopback address, TLS otherwise.
   */
  readonly credentials?: ChannelCredentials;
  /** Force plaintext (true) or TLS (false) when `credentials` is not given. */
  readonly insecure?: boolean;
  /** How long to wait for the connection. Default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /** Retries of idempotent calls, the deadline of unary calls and the idle bound of reads. */
  readonly retry?: RetryOptions;
  /**
   * Against a Tabula cluster, send row operations straight to each tablet's owner (learnt from
   * the server's tablet location service) instead of through `address`. Default true; a server
   * without the service (`tabula serve`, Cloud Bigtable) is detected on first use and everything
   * then goes to `address`.
   */
  readonly routing?: boolean;
}

/**
 * Opens (creating if needed) the Tabula store in directory `dir`, in this process: no server and
 * no network. Close it with `close()`.
 *
 * @example
 * ```ts
 * const db = await open('./data');
 * ```
 */
export async function open(dir: string): Promise<Tabula> {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw errors.invalidArgument('open needs a directory path', { field: 'dir' });
  }
  const store = await openInstanceStore({ dir });
  return new TabulaClient(new EmbeddedBackend(store));
}

/**
 * Connects to a Tabula server or a Cloud Bigtable endpoint at `address` (`host:port`) and waits
 * until the connection is up (UNAVAILABLE otherwise). Close it with `close()`.
 *
 * @example
 * ```ts
 * const db = await connect('127.0.0.1:8086');
 * ```
 */
export async function connect(address: string, options: ConnectOptions = {}): Promise<Tabula> {
  if (typeof address !== 'string' || !/^(\[[^\]]+\]|[^:/\s]+):\d+$/.test(address)) {
    throw errors.invalidArgument('address must be host:port', { field: 'address', address: String(address) });
  }
  const adminAddress = options.adminAddress ?? address;
  const channel = new GrpcChannel({
    address,
    adminAddress,
    credentials: channelCredentials(address, options.credentials, options.insecure),
  });
  try {
    await channel.waitForReady(
      new Date(Date.now() + (options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT)),
    );
  } catch (err) {
    channel.close();
    throw err;
  }
  const instance = {
    project: options.project ?? PROJECT_DEFAULT,
    instance: options.instance ?? INSTANCE_DEFAULT,
  };
  const retry = new RetryPolicy(options.retry);
  const cache = new TabletLocationCache(
    fetchThrough(channel),
    { nowMs: retry.effects.nowMs },
    options.routing !== false,
  );
  const openOwner = (owner: string) => {
    const credentials = channelCredentials(owner, options.credentials, options.insecure);
    return new GrpcChannel({ address: owner, adminAddress: owner, credentials });
  };
  const router = new TabletRouter(channel, address, cache, openOwner, retry.effects);
  return new TabulaClient(new RemoteBackend(channel, instance, retry, router));
}
