/**
 * Enough of google.bigtable.admin.v2.BigtableInstanceAdmin for clients that check their instance
 * before using it: GetInstance, ListInstances, GetCluster and ListClusters. Tabula serves one
 * instance with one cluster under any project and instance name, so these answer from the request
 * alone. Every other method (creating, updating and deleting instances, clusters, app profiles,
 * views; IAM; hot tablets) answers UNIMPLEMENTED through rpc-handlers.ts.
 *
 * ListInstances reports one instance whose id is the request's project id.
 */

import type { InstanceName } from './request-names.js';
import { parseClusterName, parseInstanceName, parseProjectName } from './request-names.js';
import type { ServiceRpcs } from './rpc-handlers.js';
import { CLUSTER_ID } from './table-views.js';

/** Fully qualified name of the instance admin service. */
export const INSTANCE_ADMIN_SERVICE_NAME = 'google.bigtable.admin.v2.BigtableInstanceAdmin';

/** Location id Tabula reports for its cluster. */
export const CLUSTER_LOCATION_ID = 'local';

/** Serve nodes Tabula reports for its cluster (one process). */
const SERVE_NODES = 1;

function instanceMessage(instance: InstanceName): object {
  return { name: instance.name, displayName: instance.instance, state: 'READY', type: 'PRODUCTION' };
}

function clusterMessage(instance: InstanceName, clusterId: string): object {
  return {
    name: `${instance.name}/clusters/${clusterId}`,
    location: `projects/${instance.project}/locations/${CLUSTER_LOCATION_ID}`,
    state: 'READY',
    serveNodes: SERVE_NODES,
    defaultStorageType: 'SSD',
  };
}

/** The implemented RPCs of the instance admin service. */
export function instanceAdminRpcs(): ServiceRpcs {
  return {
    unary: {
      GetInstance: (request: { name?: string }) => instanceMessage(parseInstanceName(request.name, 'name')),
      ListInstances: (request: { parent?: string }) => {
        const project = parseProjectName(request.parent, 'parent');
        const instance = parseInstanceName(`projects/${project}/instances/${project}`, 'parent');
        return { instances: [instanceMessage(instance)], failedLocations: [], nextPageToken: '' };
      },
      GetCluster: (request: { name?: string }) => {
        const cluster = parseClusterName(request.name, 'name');
        return clusterMessage(cluster, cluster.clusterId);
      },
      ListClusters: (request: { parent?: string }) => {
        const instance = parseInstanceName(request.parent, 'parent');
        return { clusters: [clusterMessage(instance, CLUSTER_ID)], failedLocations: [], nextPageToken: '' };
      },
    },
    serverStreaming: {},
  };
}
