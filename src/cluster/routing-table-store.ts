/**
 * The `TableStore` a tablet server's public API serves: the tables as the cluster view knows them
 * (listTables and getTable answer from it), row operations routed to each row's owner
 * (src/cluster/routing-tablet.ts), and schema admin forwarded to the active master's admin API
 * (the address in `cluster/master`). After a forwarded admin call succeeds, the view is refreshed
 * from coordination, and every other live server is asked to see the keys up to that revision too
 * (peer control `SyncView`), before the answer: a client that changed a schema through this server
 * sees the change through any server at once (the master writes the table's key before it
 * answers). DropRowRange and family drops are forwarded like any admin call; the master fans
 * their data half out to the tablets' owners (src/cluster/tablet-fanout.ts).
 *
 * Consistency tokens: every acknowledged write is already durable on its tablet's WAL, so a
 * token is always consistent, as in one process.
 *
 * Ownership: the store owns the admin client; `close()` closes it (the servers close first).
 */
import type { Client } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { errorOfCall } from '../client/grpc-errors.js';
import type { Clock } from '../common/clock.js';
import { errors } from '../common/errors.js';
import { CLUSTER_FORWARD_DEADLINE_MS, CLUSTER_VIEW_SYNC_DEADLINE_MS } from '../common/limits.js';
import type { GcRule, RowFilter } from '../model/proto-types.js';
import { loadBigtableProtos } from '../server/protos.js';
import type { FamilyModification, TableSchema, TableStore, Tablet } from '../tablet/table-store-api.js';
import type { ClusterView } from './cluster-view.js';
import { serviceClient } from './peer-client.js';
import { type RoutingContext, RoutingTablet } from './routing-tablet.js';

/** Instance name of forwarded admin requests. */
const FORWARD_INSTANCE = 'projects/tabula/instances/cluster';

type Message = Record<string, unknown>;

/** A map field of a request message keyed by user input (never a plain assignment: `__proto__`). */
function mapField(entries: Iterable<[string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true });
  return out;
}

function gcRuleField(gcRule: GcRule | undefined): Message {
  return gcRule === undefined ? {} : { gcRule };
}

/** A tablet server's tables (see the file comment). */
export class RoutingTableStore implements TableStore {
  private admin: { address: string; client: Client } | undefined;

  constructor(
    private readonly ctx: RoutingContext,
    private readonly clock: Clock,
  ) {}

  private get view(): ClusterView {
    return this.ctx.view;
  }

  getTable(tableId: string): TableSchema {
    const r = this.view.tables.get(tableId);
    if (!r) throw errors.notFound('table does not exist', { table: tableId });
    return r.schema;
  }

  listTables(): TableSchema[] {
    return [...this.view.tables.values()]
      .map((r) => r.schema)
      .sort((a, b) => (a.tableId < b.tableId ? -1 : 1));
  }

  tablet(tableId: string): Tablet {
    return this.routingTablet(tableId);
  }

  /**
   * This store as seen by one CheckAndMutateRow call whose predicate proto is `filter`: its
   * tablets forward that proto with the call to a row's owner (src/cluster/routing-tablet.ts).
   */
  withPredicateProto(filter: RowFilter): TableStore {
    const tablet = (tableId: string): Tablet => this.routingTablet(tableId).withPredicateProto(filter);
    return Object.create(this, { tablet: { value: tablet } }) as TableStore;
  }

  /** The routed row operations of a table; NOT_FOUND for a table the view does not know. */
  routingTablet(tableId: string): RoutingTablet {
    this.getTable(tableId);
    return new RoutingTablet(this.ctx, tableId);
  }

  async createTable(
    tableId: string,
    options: { families: ReadonlyMap<string, GcRule | undefined>; initialSplits: readonly Buffer[] },
  ): Promise<TableSchema> {
    await this.forward('CreateTable', {
      parent: FORWARD_INSTANCE,
      tableId,
      table: { columnFamilies: mapField([...options.families].map(([f, rule]) => [f, gcRuleField(rule)])) },
      initialSplits: options.initialSplits.map((key) => ({ key })),
    });
    return this.getTable(tableId);
  }

  async deleteTable(tableId: string): Promise<void> {
    await this.forward('DeleteTable', { name: this.name(tableId) });
  }

  async updateTable(tableId: string, changes: { deletionProtection?: boolean }): Promise<TableSchema> {
    if (changes.deletionProtection === undefined) return this.getTable(tableId);
    await this.forward('UpdateTable', {
      table: { name: this.name(tableId), deletionProtection: changes.deletionProtection },
      updateMask: { paths: ['deletion_protection'] },
    });
    return this.getTable(tableId);
  }

  async modifyColumnFamilies(
    tableId: string,
    modifications: readonly FamilyModification[],
  ): Promise<TableSchema> {
    await this.forward('ModifyColumnFamilies', {
      name: this.name(tableId),
      modifications: modifications.map((m) =>
        m.kind === 'drop' ? { id: m.family, drop: true } : { id: m.family, [m.kind]: gcRuleField(m.gcRule) },
      ),
    });
    return this.getTable(tableId);
  }

  async dropRowRange(tableId: string, range: { rowKeyPrefix: Buffer } | { all: true }): Promise<void> {
    await this.forward('DropRowRange', {
      name: this.name(tableId),
      ...('all' in range ? { deleteAllDataFromTable: true } : { rowKeyPrefix: range.rowKeyPrefix }),
    });
  }

  generateConsistencyToken(tableId: string): string {
    this.getTable(tableId);
    return `${tableId}/0`;
  }

  checkConsistency(tableId: string, token: string): boolean {
    this.getTable(tableId);
    if (!token.startsWith(`${tableId}/`))
      throw errors.invalidArgument('consistency token is not for this table', { table: tableId });
    return true;
  }

  async close(): Promise<void> {
    this.admin?.client.close();
    this.admin = undefined;
  }

  private name(tableId: string): string {
    return `${FORWARD_INSTANCE}/tables/${tableId}`;
  }

  /** Calls the master's admin API, then refreshes the view so the change is visible here. */
  private async forward(method: string, request: Message): Promise<void> {
    const master = this.view.master;
    if (!master) throw errors.unavailable('no master is active; admin calls cannot be served now');
    if (this.admin?.address !== master.address) {
      this.admin?.client.close();
      const client = serviceClient(
        loadBigtableProtos().admin,
        'google.bigtable.admin.v2.BigtableTableAdmin',
        master.address,
      );
      this.admin = { address: master.address, client };
    }
    const client = this.admin.client;
    const fn = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
    await new Promise<void>((resolve, reject) => {
      fn?.call(
        client,
        request,
        new Metadata(),
        { deadline: this.clock.nowMs() + CLUSTER_FORWARD_DEADLINE_MS },
        (err: unknown) => (err ? reject(errorOfCall(err)) : resolve()),
      );
    });
    await this.view.refresh();
    await this.syncOthers(this.view.revision);
  }

  /**
   * Has every other live server see the cluster keys up to `revision` (so the change just made is
   * visible through each of them). A server that does not answer within
   * CLUSTER_VIEW_SYNC_DEADLINE_MS is not waited for: it is dead or cut off, and serves nothing
   * once its session lapses; otherwise its watch brings it the change.
   */
  private async syncOthers(revision: number): Promise<void> {
    const others = [...this.view.servers.values()].filter((s) => s.id !== this.ctx.self.id);
    await Promise.all(
      others.map((s) =>
        this.ctx.peers.control
          .syncView(s.peerAddress, revision, CLUSTER_VIEW_SYNC_DEADLINE_MS)
          .catch(() => undefined),
      ),
    );
  }
}
