/**
 * Runs the coordination contract (coordination-contract.ts) against every driver: embedded (on a
 * temp directory), one etcd member, and a 3-member etcd cluster on loopback ports. The etcd
 * clusters are started here and killed by PID at the end; without an `etcd` binary the etcd
 * suites fail with instructions (they do not skip).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Clock } from '../../src/common/clock.js';
import '../../src/coord/embedded/embedded-driver.js';
import '../../src/coord/etcd/etcd-driver.js';
import { type Coordination, openCoordination } from '../../src/coord/coordination.js';
import { EtcdClient } from '../../src/coord/etcd/etcd-client.js';
import { parseEtcdTarget } from '../../src/coord/etcd/etcd-url.js';
import { EtcdCluster } from '../support/etcd-cluster.js';
import { type ContractFixture, coordinationContract } from './coordination-contract.js';

describe('embedded', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tabula-contract-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const open = (space: string, clock?: Clock) => openCoordination(`embedded:${join(root, space)}`, { clock });
  coordinationContract('embedded', () => ({
    open,
    // The embedded driver keeps no history across a restart: everything before it is compacted.
    compact: async (coord: Coordination, space: string) => {
      await coord.close();
      return open(space);
    },
  }));
});

/** The fixture of a test etcd cluster. */
function etcdFixture(cluster: () => EtcdCluster): ContractFixture {
  return {
    // The leader is listed first, so killing it also cuts this client's connection and watches.
    open: async (space, clock) => {
      const first = cluster().members.length > 1 ? await cluster().leaderIndex() : 0;
      return openCoordination(cluster().url(space, first), { clock });
    },
    compact: async (coord, _space, revision) => {
      const client = new EtcdClient(parseEtcdTarget(`//${cluster().endpoints}`).grpcTarget);
      try {
        await client.kvCall('Compact', { revision: String(revision), physical: true });
      } finally {
        client.close();
      }
      return coord;
    },
    pauseServer: cluster().members.length === 1 ? () => cluster().pause(0) : undefined,
    resumeServer: cluster().members.length === 1 ? () => cluster().resume(0) : undefined,
    killServer: cluster().members.length === 1 ? () => cluster().kill(0) : undefined,
    killLeader:
      cluster().members.length > 1 ? async () => cluster().kill(await cluster().leaderIndex()) : undefined,
  };
}

for (const size of [1, 3]) {
  const name = size === 1 ? 'etcd (1 member)' : 'etcd (3 members)';
  describe(name, () => {
    let cluster: EtcdCluster | undefined;
    before(async () => {
      cluster = await EtcdCluster.start(size);
    });
    after(async () => {
      await cluster?.destroy();
    });
    coordinationContract(name, () => etcdFixture(() => cluster!));
  });
}
