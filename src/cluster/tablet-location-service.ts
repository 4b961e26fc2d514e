/**
 * The server side of the tablet location service (src/cluster/tablet-location-protocol.ts) on a
 * tablet server's public port: a table's tablets, their owners' public addresses and owner
 * epochs, read from this server's cluster view (src/cluster/cluster-view.ts).
 *
 * The answer is as fresh as the view: after a move or a failover a client may be told the old
 * owner for a moment. That costs it one hop (the old owner's public port forwards) or, for a dead
 * owner, an UNAVAILABLE answer the client retries after asking again; never a wrong answer.
 *
 * Concurrency: single event-loop thread; the answer is built synchronously from one state of the
 * view. While this server's session cannot be proven it answers UNAVAILABLE, like every row
 * operation (its view may be stale then).
 */
import { errors } from '../common/errors.js';
import { CLUSTER_LOCATION_TABLETS_MAX } from '../common/limits.js';
import type { ServiceRpcs } from '../server/rpc-handlers.js';
import type { ClusterView } from './cluster-view.js';
import {
  LOCATE_TABLETS_METHOD,
  type LocateTabletsResponse,
  type TabletLocationMessage,
} from './tablet-location-protocol.js';

/** What the service reads. */
export interface TabletLocationContext {
  readonly view: Pick<ClusterView, 'tables' | 'servers' | 'revision' | 'tabletsOf'>;
  /** Throws UNAVAILABLE while this server may not serve. */
  requireServing(): void;
}

/** The LocateTablets answer for `request` (exported for tests). */
export function locateTablets(
  ctx: TabletLocationContext,
  request: Record<string, unknown>,
): LocateTabletsResponse {
  const tableId = request.tableId;
  if (typeof tableId !== 'string' || tableId.length === 0)
    throw errors.invalidArgument('tableId must be a table id', { field: 'tableId' });
  ctx.requireServing();
  if (!ctx.view.tables.has(tableId)) throw errors.notFound('table does not exist', { table: tableId });
  const all = ctx.view.tabletsOf(tableId);
  const tablets: TabletLocationMessage[] = all.slice(0, CLUSTER_LOCATION_TABLETS_MAX).map((t) => {
    const { startRow, endRow } = t.assignment.tablet;
    const address = ctx.view.servers.get(t.assignment.server)?.address;
    return {
      ...(startRow !== undefined && startRow.length > 0 ? { startRow: startRow.toString('base64') } : {}),
      ...(endRow !== undefined ? { endRow: endRow.toString('base64') } : {}),
      ...(address !== undefined ? { address } : {}),
      ownerEpoch: t.assignment.ownerEpoch,
    };
  });
  return { tablets, truncated: all.length > tablets.length, revision: ctx.view.revision };
}

/** The service's rpcs, for `buildService`. */
export function tabletLocationRpcs(ctx: TabletLocationContext): ServiceRpcs {
  return {
    unary: { [LOCATE_TABLETS_METHOD]: (request: Record<string, unknown>) => locateTablets(ctx, request) },
    serverStreaming: {},
  };
}
