/**
 * Parsing of etcd coordination URLs: `etcd://host:port[,host:port…][/prefix]`. The prefix is a
 * namespace inside etcd, so several Tabula clusters can share one etcd; every key the driver
 * writes starts with it.
 *
 * The endpoints become one gRPC target with pick-first load balancing: all IPv4 literals
 * (`ipv4:a:p,b:p`), all IPv6 literals (`ipv6:[a]:p,…`), or one host name (`dns:host:port`).
 * grpc-js fails over to the next address when the connected member goes away.
 *
 * Concurrency: pure functions. Invariant: an accepted URL has 1..ETCD_ENDPOINTS_MAX endpoints, each
 * with a port in 1..65535, and a prefix of at most ETCD_KEY_PREFIX_BYTES_MAX bytes with no empty
 * segment.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { errors } from '../../common/errors.js';
import { ETCD_ENDPOINTS_MAX, ETCD_KEY_PREFIX_BYTES_MAX } from '../../common/limits.js';

/** The URL scheme of the etcd driver. */
export const ETCD_COORDINATION_SCHEME = 'etcd';

/** A parsed etcd coordination URL. */
export interface EtcdTarget {
  /** `host:port` of each member, as given. */
  readonly endpoints: readonly string[];
  /** The gRPC target naming all of them. */
  readonly grpcTarget: string;
  /** Namespace every key starts with: `''` or the URL's path followed by `/`. */
  readonly keyPrefix: string;
}

/** Parses the part of the URL after `etcd:` (`//host:port,…/prefix`). INVALID_ARGUMENT if malformed. */
export function parseEtcdTarget(target: string): EtcdTarget {
  const url = `${ETCD_COORDINATION_SCHEME}:${target}`;
  if (!target.startsWith('//'))
    throw errors.invalidArgument('etcd coordination url has no endpoints', { url });
  const rest = target.slice(2);
  const slash = rest.indexOf('/');
  const hostList = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  const endpoints = hostList.split(',');
  if (hostList === '' || endpoints.length > ETCD_ENDPOINTS_MAX) {
    throw errors.invalidArgument('etcd coordination url needs 1 to 16 endpoints', {
      url,
      max: ETCD_ENDPOINTS_MAX,
    });
  }
  const hosts = endpoints.map((endpoint) => splitEndpoint(endpoint, url));
  if (
    Buffer.byteLength(path, 'utf8') > ETCD_KEY_PREFIX_BYTES_MAX ||
    path.split('/').includes('') !== (path === '')
  ) {
    throw errors.invalidArgument('etcd coordination key prefix is malformed or too long', {
      url,
      max: ETCD_KEY_PREFIX_BYTES_MAX,
    });
  }
  return { endpoints, grpcTarget: grpcTargetOf(hosts, url), keyPrefix: path === '' ? '' : `${path}/` };
}

function splitEndpoint(endpoint: string, url: string): { host: string; port: number } {
  const colon = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(endpoint.slice(colon + 1));
  if (colon <= 0 || host === '' || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw errors.invalidArgument('etcd endpoint is not host:port', { url, endpoint });
  }
  return { host, port };
}

function grpcTargetOf(hosts: { host: string; port: number }[], url: string): string {
  if (hosts.every((h) => isIPv4(h.host))) return `ipv4:${hosts.map((h) => `${h.host}:${h.port}`).join(',')}`;
  if (hosts.every((h) => isIPv6(h.host)))
    return `ipv6:${hosts.map((h) => `[${h.host}]:${h.port}`).join(',')}`;
  if (hosts.length === 1) return `dns:${hosts[0]!.host}:${hosts[0]!.port}`;
  throw errors.invalidArgument('several etcd endpoints must all be ip addresses of one family', { url });
}
