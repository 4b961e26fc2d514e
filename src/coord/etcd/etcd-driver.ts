/**
 * Registers the etcd driver under the URL scheme `etcd` (`etcd://host:port[,host:port…][/prefix]`),
 * so that `openCoordination('etcd://127.0.0.1:2379/tabula-a')` opens an `EtcdCoordination`.
 * Importing this module is what makes the scheme known.
 *
 * Concurrency: registration happens once, when the module is first evaluated. Opening does not
 * contact etcd: the first call does (and is UNAVAILABLE if no member answers).
 */
import { registerCoordinationDriver } from '../coordination.js';
import { EtcdCoordination } from './etcd-coordination.js';
import { ETCD_COORDINATION_SCHEME, parseEtcdTarget } from './etcd-url.js';

registerCoordinationDriver(ETCD_COORDINATION_SCHEME, async (target, options) => {
  return new EtcdCoordination(parseEtcdTarget(target), options.clock, options.timers);
});
