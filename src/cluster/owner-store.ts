/**
 * The owner-only data API of a tablet server: the `TableStore` served on its peer port, where
 * other servers forward the row operations of tablets this server owns. It answers only from the
 * tablets open here and never forwards again (one hop): a row this server does not own is answered
 * UNAVAILABLE with `moved`, so the caller refreshes its assignments and retries.
 *
 * A ReadRows request here covers one tablet (the router clips it to the tablet's range); ranges
 * reaching beyond the tablet that holds their start are answered `moved`.
 *
 * Concurrency: single event-loop thread; every operation checks ownership and the session through
 * `OwnedTablets.withTablet` or `requireServing`.
 */
import { errors } from '../common/errors.js';
import { CLUSTER_OWNER_OPENING_WAIT_MS_MAX } from '../common/limits.js';
import { rowStartKey } from '../model/cell-key.js';
import type { ValidMutation } from '../model/mutation.js';
import type { ValidReadModifyWriteRule } from '../model/read-modify-write.js';
import type { RowCells } from '../model/row-cells.js';
import type { CompiledFilter } from '../model/row-filter.js';
import { selectionRanges } from '../tablet/row-reader.js';
import type {
  ReadRowsQuery,
  RowKeySample,
  RowMutations,
  TableSchema,
  TableStore,
  Tablet,
} from '../tablet/table-store-api.js';
import type { TabletHandle } from '../tablet/tablet-handle.js';
import type { ClusterView } from './cluster-view.js';
import { HAND_OVER } from './hand-over-wait.js';
import { movedError, type OwnedTablets } from './owned-tablets.js';

/** Admin calls are not served on the peer port. */
function notHere(): never {
  throw errors.unimplemented('the peer port of a tablet server serves row operations only');
}

/** The open tablet of this server holding `rowKey`'s table row, or a `moved` error. */
export function ownedTablet(
  view: ClusterView,
  tablets: OwnedTablets,
  selfId: string,
  tableId: string,
  key: Buffer,
): TabletHandle {
  const routed = view.findTablet(tableId, key);
  if (!routed || routed.assignment.server !== selfId) throw movedError({ tableId });
  const handle = tablets.get(tableId, routed.assignment.tablet.tabletDir);
  if (!handle) {
    throw errors.unavailable(HAND_OVER.opening, {
      table: tableId,
      tablet: routed.assignment.tablet.tabletDir,
    });
  }
  if (handle.ownerEpoch !== routed.assignment.ownerEpoch) throw movedError(routed.assignment.tablet);
  return handle;
}

/**
 * `ownedTablet`, except that a tablet this server is opening is waited for (at most
 * CLUSTER_OWNER_OPENING_WAIT_MS_MAX) rather than answered "opening".
 */
async function ownedTabletOnceOpen(
  view: ClusterView,
  tablets: OwnedTablets,
  selfId: string,
  tableId: string,
  key: Buffer,
): Promise<TabletHandle> {
  try {
    return ownedTablet(view, tablets, selfId, tableId, key);
  } catch (err) {
    const routed = view.findTablet(tableId, key);
    const tabletDir = routed?.assignment.tablet.tabletDir;
    if (!isOpening(err) || tabletDir === undefined) throw err;
    if (!(await tablets.whenOpened(tableId, tabletDir, CLUSTER_OWNER_OPENING_WAIT_MS_MAX))) throw err;
    return ownedTablet(view, tablets, selfId, tableId, key);
  }
}

const isOpening = (err: unknown) => err instanceof Error && err.message.includes(HAND_OVER.opening);

/** Row operations on the tablets of one table this server owns. */
class OwnerTablet implements Tablet {
  constructor(
    private readonly view: ClusterView,
    private readonly tablets: OwnedTablets,
    private readonly self: { readonly id: string },
    private readonly tableId: string,
  ) {}

  private async onRow<T>(rowKey: Buffer, op: (h: TabletHandle) => Promise<T>): Promise<T> {
    const key = rowStartKey(rowKey);
    const h = await ownedTabletOnceOpen(this.view, this.tablets, this.self.id, this.tableId, key);
    return this.tablets.withTablet(h, op);
  }

  mutateRow(rowKey: Buffer, mutations: readonly ValidMutation[]): Promise<void> {
    return this.onRow(rowKey, (h) => h.tablet.mutateRow(rowKey, mutations));
  }

  async mutateRows(entries: readonly RowMutations[]): Promise<unknown[]> {
    const outcomes: unknown[] = new Array(entries.length).fill(undefined);
    const groups = new Map<TabletHandle, number[]>();
    const waited: number[] = [];
    const group = (i: number, h: TabletHandle) => {
      const indices = groups.get(h);
      if (indices) indices.push(i);
      else groups.set(h, [i]);
    };
    entries.forEach((e, i) => {
      try {
        group(i, ownedTablet(this.view, this.tablets, this.self.id, this.tableId, rowStartKey(e.rowKey)));
      } catch (err) {
        if (isOpening(err)) waited.push(i);
        else outcomes[i] = err;
      }
    });
    // Entries of tablets opening here wait for their opens, side by side.
    await Promise.all(
      waited.map(async (i) => {
        const rowKey = (entries[i] as RowMutations).rowKey;
        try {
          const key = rowStartKey(rowKey);
          group(i, await ownedTabletOnceOpen(this.view, this.tablets, this.self.id, this.tableId, key));
        } catch (err) {
          outcomes[i] = err;
        }
      }),
    );
    for (const indices of groups.values()) indices.sort((a, b) => a - b);
    await Promise.all(
      [...groups].map(async ([h, group]) => {
        try {
          const results = await this.tablets.withTablet(h, (t) =>
            t.tablet.mutateRows(group.map((i) => entries[i] as RowMutations)),
          );
          results.forEach((r, k) => {
            outcomes[group[k] as number] = r;
          });
        } catch (err) {
          for (const i of group) outcomes[i] = err;
        }
      }),
    );
    return outcomes;
  }

  *readRows(query: ReadRowsQuery): Generator<RowCells, void, undefined> {
    this.tablets.requireServing();
    const ranges = selectionRanges(query.selection);
    if (ranges.length === 0) return;
    const first = ranges[0]?.start as Buffer;
    const h = ownedTablet(this.view, this.tablets, this.self.id, this.tableId, first);
    const last = ranges[ranges.length - 1];
    if (h.endKey !== undefined && (last?.end === undefined || Buffer.compare(last.end, h.endKey) > 0))
      throw movedError(h.record);
    h.acquireReader();
    try {
      yield* h.tablet.readRows(query);
    } finally {
      h.releaseReader();
    }
    this.tablets.requireServing();
  }

  checkAndMutateRow(
    rowKey: Buffer,
    predicate: CompiledFilter | undefined,
    trueMutations: readonly ValidMutation[],
    falseMutations: readonly ValidMutation[],
  ): Promise<boolean> {
    return this.onRow(rowKey, (h) =>
      h.tablet.checkAndMutateRow(rowKey, predicate, trueMutations, falseMutations),
    );
  }

  readModifyWriteRow(rowKey: Buffer, rules: readonly ValidReadModifyWriteRule[]): Promise<RowCells> {
    return this.onRow(rowKey, (h) => h.tablet.readModifyWriteRow(rowKey, rules));
  }

  sampleRowKeys(): RowKeySample[] {
    return notHere();
  }
}

/** The peer port's store (see the file comment). */
export class OwnerStore implements TableStore {
  constructor(
    private readonly view: ClusterView,
    private readonly tablets: OwnedTablets,
    private readonly self: { readonly id: string },
  ) {}

  getTable(tableId: string): TableSchema {
    const r = this.view.tables.get(tableId);
    if (!r) throw errors.notFound('table does not exist', { table: tableId });
    return r.schema;
  }

  listTables(): TableSchema[] {
    return [...this.view.tables.values()].map((r) => r.schema);
  }

  tablet(tableId: string): Tablet {
    this.getTable(tableId);
    return new OwnerTablet(this.view, this.tablets, this.self, tableId);
  }

  createTable(): Promise<TableSchema> {
    return notHere();
  }
  deleteTable(): Promise<void> {
    return notHere();
  }
  updateTable(): Promise<TableSchema> {
    return notHere();
  }
  modifyColumnFamilies(): Promise<TableSchema> {
    return notHere();
  }
  dropRowRange(): Promise<void> {
    return notHere();
  }
  generateConsistencyToken(): string {
    return notHere();
  }
  checkConsistency(): boolean {
    return notHere();
  }
  async close(): Promise<void> {}
}
