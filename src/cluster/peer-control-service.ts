/**
 * The server side of the peer control service (src/cluster/peer-control-protocol.ts) on a tablet
 * server's peer port: each call acts only on tablets this server has open under their current
 * assignment, inside `OwnedTablets.withTablet` (so the session is checked before and after, and a
 * tablet closing meanwhile answers `moved`).
 *
 * Invariants:
 * - A range drop or purge acknowledged here is durable in the tablet's WAL under this server's
 *   owner epoch; if a newer owner fenced the directory first, the write fails instead
 *   (FAILED_PRECONDITION `owner epoch is stale`), never silently lost.
 * - A purge runs only once this server's view holds the table's schema without the family (it
 *   refreshes the view once if not; otherwise UNAVAILABLE, and the master tries again), and its
 *   tablets have taken that schema first: from then on nothing shows or accepts the family here.
 *
 * Concurrency: single event-loop thread; calls may interleave with row operations, as a
 * DeleteRange and a purge do in one process.
 */
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { errors } from '../common/errors.js';
import { SAMPLE_INTERVAL_BYTES_DEFAULT } from '../common/limits.js';
import type { ServiceBinding } from '../server/grpc-transport.js';
import { buildService } from '../server/rpc-handlers.js';
import { logInternalError } from '../server/status-map.js';
import type { TableRecord } from '../tablet/catalog.js';
import { sampleRowKeys } from '../tablet/row-key-samples.js';
import { DATA_END_KEY } from '../tablet/row-reader.js';
import type { TabletHandle } from '../tablet/tablet-handle.js';
import { purgeFamilyFromTablet } from '../tablet/tablet-host.js';
import type { ClusterView } from './cluster-view.js';
import type { OwnedTablets } from './owned-tablets.js';
import { movedError } from './owned-tablets.js';
import {
  bytesField,
  PEER_CONTROL_SERVICE_NAME,
  type PeerControlMethod,
  peerControlDefinition,
  stringField,
  type TabletSampleSet,
  type TabletSamplesResponse,
  toBase64,
} from './peer-control-protocol.js';

type Request = Record<string, unknown>;

/** What the service acts on. */
export interface PeerControlContext {
  readonly view: Pick<ClusterView, 'assignments' | 'tables' | 'revision' | 'refresh'>;
  readonly tablets: Pick<OwnedTablets, 'get' | 'all' | 'withTablet' | 'requireServing' | 'applyTableRecord'>;
  readonly self: { readonly id: string };
}

/** The open tablet `tableId/tabletDir` if this server owns it under its current assignment. */
function ownedHandle(ctx: PeerControlContext, tableId: string, tabletDir: string): TabletHandle {
  ctx.tablets.requireServing();
  const a = ctx.view.assignments.get(tableId)?.get(tabletDir);
  const h = ctx.tablets.get(tableId, tabletDir);
  if (!h || !a || a.server !== ctx.self.id || a.ownerEpoch !== h.ownerEpoch)
    throw movedError({ tableId, tabletDir });
  return h;
}

async function dropTabletRange(ctx: PeerControlContext, request: Request): Promise<object> {
  const tableId = stringField(request, 'tableId');
  const h = ownedHandle(ctx, tableId, stringField(request, 'tabletDir'));
  const start = bytesField(request, 'start');
  const end = bytesField(request, 'end');
  const emptied = await ctx.tablets.withTablet(h, async (t) => {
    const lo = Buffer.compare(start, t.startKey) > 0 ? start : t.startKey;
    const hi = t.endKey !== undefined && Buffer.compare(t.endKey, end) < 0 ? t.endKey : end;
    if (Buffer.compare(lo, hi) < 0) await t.engine.deleteRange(lo, hi);
    for (const _ of t.engine.scan({ start: t.startKey, end: t.endKey ?? DATA_END_KEY })) return false;
    return true;
  });
  // A tablet left empty is rewritten at once (in the background): its space, and its references
  // to SSTables of retired tablets, are released, and it can merge with a small neighbour.
  if (emptied) void h.engine.compactAll().catch(() => undefined);
  return {};
}

/** The table's record once this server's view no longer has `family` in it. */
async function recordWithout(ctx: PeerControlContext, tableId: string, family: string): Promise<TableRecord> {
  for (let attempt = 0; ; attempt++) {
    const record = ctx.view.tables.get(tableId);
    if (!record) throw errors.notFound('table does not exist', { table: tableId });
    if (!record.schema.families.has(family)) return record;
    if (attempt > 0)
      throw errors.unavailable('the drop of this column family is not yet visible on this server', {
        table: tableId,
        family,
      });
    await ctx.view.refresh();
  }
}

async function purgeTabletFamily(ctx: PeerControlContext, request: Request): Promise<object> {
  const tableId = stringField(request, 'tableId');
  const tabletDir = stringField(request, 'tabletDir');
  const family = stringField(request, 'family');
  const record = await recordWithout(ctx, tableId, family);
  const h = ownedHandle(ctx, tableId, tabletDir);
  ctx.tablets.applyTableRecord(record);
  await ctx.tablets.withTablet(h, (t) => purgeFamilyFromTablet(t, family));
  return {};
}

async function syncView(ctx: PeerControlContext, request: Request): Promise<object> {
  const revision = Number(request.revision);
  if (!Number.isSafeInteger(revision) || revision < 0)
    throw errors.invalidArgument('peer control field must be a revision', { field: 'revision' });
  if (ctx.view.revision < revision) await ctx.view.refresh();
  for (const record of ctx.view.tables.values()) ctx.tablets.applyTableRecord(record);
  return { revision: ctx.view.revision };
}

function tabletSamples(ctx: PeerControlContext, request: Request): TabletSamplesResponse {
  const tableId = stringField(request, 'tableId');
  ctx.tablets.requireServing();
  const tablets: TabletSampleSet[] = [];
  for (const h of ctx.tablets.all()) {
    if (h.record.tableId !== tableId) continue;
    const bytes = h.engine.approximateBytes();
    // Samples inside the tablet only: its end row and the table's end are the caller's to add.
    const inner = sampleRowKeys([h], SAMPLE_INTERVAL_BYTES_DEFAULT).filter(
      (s) => s.rowKey.length > 0 && (h.record.endRow === undefined || !s.rowKey.equals(h.record.endRow)),
    );
    tablets.push({
      tabletDir: h.record.tabletDir,
      bytes,
      samples: inner.map((s) => ({ rowKey: toBase64(s.rowKey), offsetBytes: s.offsetBytes })),
    });
  }
  return { tablets };
}

/** The service's handlers by method name (exported for tests). */
export function peerControlRpcs(ctx: PeerControlContext): Record<PeerControlMethod, (r: Request) => unknown> {
  return {
    DropTabletRange: (r) => dropTabletRange(ctx, r),
    PurgeTabletFamily: (r) => purgeTabletFamily(ctx, r),
    SyncView: (r) => syncView(ctx, r),
    TabletSamples: (r) => tabletSamples(ctx, r),
  };
}

/** The service's binding for the peer port's transport. */
export function peerControlBinding(ctx: PeerControlContext): ServiceBinding {
  const built: { definition: ServiceDefinition; implementation: UntypedServiceImplementation } = buildService(
    PEER_CONTROL_SERVICE_NAME,
    peerControlDefinition(),
    { unary: peerControlRpcs(ctx), serverStreaming: {} },
    logInternalError,
  );
  return { name: PEER_CONTROL_SERVICE_NAME, ...built };
}
