/**
 * The row operations of one table on a tablet server's public API: each row goes to the server its
 * tablet is assigned to in the cluster view — this server's own tablets directly (through the
 * owner checks of src/cluster/owner-store.ts), other servers' over their peer port
 * (src/cluster/peer-client.ts), one hop. An answer that the tablet is changing hands (`moved`,
 * opening, its server gone) makes the router refresh the view and try again, with growing pauses,
 * for at most CLUSTER_HAND_OVER_WAIT_MS_MAX (src/cluster/hand-over-wait.ts): a move is a slower
 * call, not an error. Other errors, and hand-overs that take longer, go to the client.
 *
 * - MutateRows is split by owner; each group is one call, each entry keeps its own outcome.
 * - ReadRows walks the table's tablets in key order (reverse order when reversed), one at a time,
 *   clipping the request's ranges to each; a forwarded segment comes back unfiltered and is
 *   filtered here (`readRowsAsync`). A segment cut by a `moved` answer resumes after its last row.
 * - CheckAndMutateRow on a row another server owns is forwarded whole: its predicate goes in the
 *   proto form the client sent (`withPredicateProto`), so the owner checks and mutates atomically.
 * - SampleRowKeys asks every owner for its tablets' sizes and samples (`sampleRowKeysAsync`).
 *
 * - While this server's session cannot be proven (`requireServing`), every row operation is
 *   refused with UNAVAILABLE before it is routed, forwarded ones included (the server "serves
 *   nothing": a woken zombie would otherwise keep answering OK through its public port).
 *
 * Concurrency: single event-loop thread; nothing is cached here beyond the view.
 */
import { errors } from '../common/errors.js';
import type { CoordinationTimers } from '../coord/coordination-timers.js';
import { type KeyRange, rowEndKey, rowStartKey } from '../model/cell-key.js';
import type { ValidMutation } from '../model/mutation.js';
import type { RowFilter } from '../model/proto-types.js';
import type { ValidReadModifyWriteRule } from '../model/read-modify-write.js';
import type { RowCells } from '../model/row-cells.js';
import type { CompiledFilter } from '../model/row-filter.js';
import { selectionRanges } from '../tablet/row-reader.js';
import type { ReadRowsQuery, RowKeySample, RowMutations, Tablet } from '../tablet/table-store-api.js';
import type { ClusterView, RoutedTablet } from './cluster-view.js';
import { HAND_OVER, HandOverWait, isHandOver } from './hand-over-wait.js';
import { movedError } from './owned-tablets.js';
import type { PeerClients } from './peer-client.js';

/** Where a row operation can go. */
export interface RoutingContext {
  readonly view: ClusterView;
  readonly peers: PeerClients;
  /** This server's id (it changes when the server registers again). */
  readonly self: { readonly id: string };
  /** The owner-only row operations of `tableId` on this server's tablets. */
  local(tableId: string): Tablet;
  /**
   * Throws UNAVAILABLE when this server may not serve now (its session cannot be proven): it then
   * neither serves nor forwards, so a woken zombie relays nothing with a view it cannot trust.
   */
  requireServing(): void;
  /** Timers for the pauses between tries of a tablet changing hands. */
  readonly timers: CoordinationTimers;
}

/** `ranges` (sorted, disjoint) intersected with [lo, hi). */
function clip(ranges: readonly KeyRange[], lo: Buffer, hi: Buffer | undefined): KeyRange[] {
  const out: KeyRange[] = [];
  for (const r of ranges) {
    const start = Buffer.compare(r.start, lo) >= 0 ? r.start : lo;
    const end = r.end === undefined ? hi : hi === undefined || Buffer.compare(r.end, hi) <= 0 ? r.end : hi;
    if (end === undefined || Buffer.compare(start, end) < 0) out.push({ start, end });
  }
  return out;
}

/** A table's row operations on the cluster (see the file comment). */
export class RoutingTablet implements Tablet {
  constructor(
    private readonly ctx: RoutingContext,
    private readonly tableId: string,
    /** The predicate filter of the CheckAndMutateRow call this tablet serves, as the client sent it. */
    private readonly predicateProto?: RowFilter,
  ) {}

  /** This table's routing for one CheckAndMutateRow call whose predicate proto is `filter`. */
  withPredicateProto(filter: RowFilter): RoutingTablet {
    return new RoutingTablet(this.ctx, this.tableId, filter);
  }

  private handOverWait(): HandOverWait {
    return new HandOverWait(this.ctx.timers, this.ctx.view);
  }

  /** The peer address of a tablet's owner, or undefined when the owner is this server. */
  private ownerAddress(t: RoutedTablet): string | undefined {
    if (t.assignment.server === this.ctx.self.id) return undefined;
    return this.peerAddressOf(t);
  }

  private find(key: Buffer): RoutedTablet {
    const t = this.ctx.view.findTablet(this.tableId, key);
    if (!t)
      throw errors.unavailable(HAND_OVER.unassigned, {
        table: this.tableId,
      });
    return t;
  }

  /** Runs a row operation at the row's owner, refreshing the view after `moved` answers. */
  private async onRow<T>(
    rowKey: Buffer,
    local: (t: Tablet) => Promise<T>,
    remote: (address: string) => Promise<T>,
  ): Promise<T> {
    const key = rowStartKey(rowKey);
    this.ctx.requireServing();
    const wait = this.handOverWait();
    for (;;) {
      try {
        const address = this.ownerAddress(this.find(key));
        return await (address === undefined ? local(this.ctx.local(this.tableId)) : remote(address));
      } catch (err) {
        if (!(await wait.again(err))) throw err;
      }
    }
  }

  mutateRow(rowKey: Buffer, mutations: readonly ValidMutation[]): Promise<void> {
    return this.onRow(
      rowKey,
      (t) => t.mutateRow(rowKey, mutations),
      (a) => this.ctx.peers.mutateRow(a, this.tableId, rowKey, mutations),
    );
  }

  async mutateRows(entries: readonly RowMutations[]): Promise<unknown[]> {
    const outcomes: unknown[] = new Array(entries.length).fill(undefined);
    this.ctx.requireServing();
    let pending = entries.map((_, i) => i);
    const wait = this.handOverWait();
    while (pending.length > 0) {
      await this.mutateGroups(entries, pending, outcomes);
      pending = pending.filter((i) => isHandOver(outcomes[i]));
      const first = pending[0];
      if (first === undefined || !(await wait.again(outcomes[first]))) break;
    }
    return outcomes;
  }

  /** Writes `entries[i]` for i in `indices`, one call per owner. */
  private async mutateGroups(
    entries: readonly RowMutations[],
    indices: number[],
    outcomes: unknown[],
  ): Promise<void> {
    const groups = new Map<string, number[]>();
    for (const i of indices) {
      try {
        const address = this.ownerAddress(this.find(rowStartKey((entries[i] as RowMutations).rowKey)));
        const owner = address ?? '';
        const group = groups.get(owner);
        if (group) group.push(i);
        else groups.set(owner, [i]);
      } catch (err) {
        outcomes[i] = err;
      }
    }
    await Promise.all(
      [...groups].map(async ([address, group]) => {
        const batch = group.map((i) => entries[i] as RowMutations);
        try {
          const results =
            address === ''
              ? await this.ctx.local(this.tableId).mutateRows(batch)
              : await this.ctx.peers.mutateRows(address, this.tableId, batch);
          results.forEach((r, k) => {
            outcomes[group[k] as number] = r;
          });
        } catch (err) {
          for (const i of group) outcomes[i] = err;
        }
      }),
    );
  }

  checkAndMutateRow(
    rowKey: Buffer,
    predicate: CompiledFilter | undefined,
    trueMutations: readonly ValidMutation[],
    falseMutations: readonly ValidMutation[],
  ): Promise<boolean> {
    return this.onRow(
      rowKey,
      (t) => t.checkAndMutateRow(rowKey, predicate, trueMutations, falseMutations),
      (a) => {
        // The compiled predicate has no wire form: the owner compiles the client's proto again.
        if (predicate !== undefined && this.predicateProto === undefined) {
          throw errors.internal('CheckAndMutateRow predicate reached the router without its proto', {
            table: this.tableId,
          });
        }
        return this.ctx.peers.checkAndMutateRow(
          a,
          this.tableId,
          rowKey,
          trueMutations,
          falseMutations,
          predicate === undefined ? undefined : this.predicateProto,
        );
      },
    );
  }

  readModifyWriteRow(rowKey: Buffer, rules: readonly ValidReadModifyWriteRule[]): Promise<RowCells> {
    return this.onRow(
      rowKey,
      (t) => t.readModifyWriteRow(rowKey, rules),
      (a) => this.ctx.peers.readModifyWriteRow(a, this.tableId, rowKey, rules),
    );
  }

  /** Not served: the cluster's public API samples through `sampleRowKeysAsync`. */
  sampleRowKeys(): RowKeySample[] {
    throw errors.unimplemented('synchronous sampling is not routed in a cluster');
  }

  /**
   * The row key samples of the whole table with byte offsets: each owner reports the size and
   * inner samples of its tablets (peer control `TabletSamples`), which are laid end to end in
   * key order; every tablet boundary is a sample, the last one is the empty key at the table's
   * approximate size (as `tabula serve` answers).
   */
  async sampleRowKeysAsync(): Promise<RowKeySample[]> {
    this.ctx.requireServing();
    const wait = this.handOverWait();
    for (;;) {
      try {
        return await this.samplesOnce();
      } catch (err) {
        if (!(await wait.again(err))) throw err;
      }
    }
  }

  private async samplesOnce(): Promise<RowKeySample[]> {
    const tablets = this.ctx.view.tabletsOf(this.tableId);
    const addresses = new Set<string>();
    for (const t of tablets) addresses.add(this.peerAddressOf(t));
    const reports = new Map<string, { bytes: number; samples: RowKeySample[] }>();
    await Promise.all(
      [...addresses].map(async (address) => {
        for (const [dir, r] of await this.ctx.peers.control.tabletSamples(address, this.tableId))
          reports.set(dir, r);
      }),
    );
    const out: RowKeySample[] = [];
    let offset = 0;
    for (const t of tablets) {
      const r = reports.get(t.assignment.tablet.tabletDir);
      if (!r) throw movedError(t.assignment.tablet);
      for (const s of r.samples) out.push({ rowKey: s.rowKey, offsetBytes: offset + s.offsetBytes });
      offset += r.bytes;
      if (t.assignment.tablet.endRow) out.push({ rowKey: t.assignment.tablet.endRow, offsetBytes: offset });
    }
    out.push({ rowKey: Buffer.alloc(0), offsetBytes: offset });
    return out;
  }

  /** The peer address of a tablet's owner, this server's own included. */
  private peerAddressOf(t: RoutedTablet): string {
    const server = this.ctx.view.servers.get(t.assignment.server);
    if (!server) {
      throw errors.unavailable(HAND_OVER.serverGone, {
        table: this.tableId,
        tablet: t.assignment.tablet.tabletDir,
      });
    }
    return server.peerAddress;
  }

  /** Not served: the cluster's public API reads through `readRowsAsync`. */
  // biome-ignore lint/correctness/useYield: it only refuses.
  *readRows(_query: ReadRowsQuery): Generator<RowCells, void, undefined> {
    throw errors.unimplemented('synchronous reads are not routed in a cluster');
  }

  /** The rows of a query over every tablet of the table, in order (see the file comment). */
  async *readRowsAsync(query: ReadRowsQuery): AsyncGenerator<RowCells, void, undefined> {
    this.ctx.requireServing();
    const ranges = selectionRanges(query.selection);
    if (ranges.length === 0) return;
    let tablets = this.ctx.view.tabletsOf(this.tableId);
    if (tablets.length === 0) {
      await this.ctx.view.refresh();
      tablets = this.ctx.view.tabletsOf(this.tableId);
      if (tablets.length === 0) throw errors.unavailable(HAND_OVER.unassigned, { table: this.tableId });
    }
    let remaining = query.rowsLimit;
    for (const t of query.reversed ? [...tablets].reverse() : tablets) {
      let sub = clip(ranges, t.startKey, t.endKey);
      const wait = this.handOverWait();
      while (sub.length > 0) {
        let last: Buffer | undefined;
        try {
          for await (const row of this.segment(t.assignment.tablet.tabletDir, sub, query, remaining)) {
            last = row.key;
            yield row;
            if (remaining > 0 && --remaining === 0) return;
          }
          break;
        } catch (err) {
          if (!(await wait.again(err))) throw err;
          if (last !== undefined) {
            sub = query.reversed
              ? clip(sub, sub[0]?.start as Buffer, rowStartKey(last))
              : clip(sub, rowEndKey(last), undefined);
          }
        }
      }
    }
  }

  /** The rows of `ranges` (inside one tablet) from its current owner, filtered. */
  private async *segment(
    tabletDir: string,
    ranges: KeyRange[],
    query: ReadRowsQuery,
    rowsLimit: number,
  ): AsyncGenerator<RowCells, void, undefined> {
    const t = this.ctx.view.tabletsOf(this.tableId).find((x) => x.assignment.tablet.tabletDir === tabletDir);
    if (!t)
      throw errors.unavailable('tablet is no longer assigned', { table: this.tableId, tablet: tabletDir });
    const address = this.ownerAddress(t);
    const selection = { rowKeys: [], rowRanges: ranges, all: false };
    if (address === undefined) {
      yield* this.ctx.local(this.tableId).readRows({ ...query, selection, rowsLimit });
      return;
    }
    for await (const row of this.ctx.peers.readRows(address, this.tableId, ranges, query.reversed)) {
      const out = query.filter.apply(row);
      if (out) yield out;
    }
  }
}
