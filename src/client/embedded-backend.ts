/**
 * The embedded backend: requests run on a TableStore in this process — no server, no gRPC. It
 * applies the validated forms the public classes prepared, and adds the few checks the server makes
 * with the store's state (both branches of a check-and-mutate name existing families).
 *
 * Reads pull rows from the tablet's generator one at a time, so a slow loop holds at most one row
 * and never buffers a scan. Ownership: the backend owns the store and closes it.
 */
import type { TabulaError } from '../common/errors.js';
import { errors } from '../common/errors.js';
import type { ValidMutation } from '../model/mutation.js';
import type { TableStore } from '../tablet/table-store-api.js';
import type {
  Backend,
  PreparedCreateTable,
  PreparedDropTarget,
  PreparedEntry,
  PreparedModifications,
} from './backend.js';
import type { Row, RowKeySample, TableInfo } from './client-types.js';
import type { PreparedMutations, PreparedRules } from './mutation-encoding.js';
import type { PreparedFilter, PreparedRead } from './read-request.js';
import { asTabulaError } from './table-client.js';
import { tableInfoOfSchema } from './table-info.js';

/** `Backend` over a TableStore. */
export class EmbeddedBackend implements Backend {
  readonly mode = 'embedded' as const;

  constructor(private readonly store: TableStore) {}

  async createTable(tableId: string, request: PreparedCreateTable): Promise<TableInfo> {
    let schema = await this.store.createTable(tableId, {
      families: request.families,
      initialSplits: request.splitKeys,
    });
    if (request.deletionProtection)
      schema = await this.store.updateTable(tableId, { deletionProtection: true });
    return tableInfoOfSchema(schema);
  }

  async getTable(tableId: string): Promise<TableInfo> {
    return tableInfoOfSchema(this.store.getTable(tableId));
  }

  async listTables(): Promise<TableInfo[]> {
    return this.store.listTables().map(tableInfoOfSchema);
  }

  deleteTable(tableId: string): Promise<void> {
    return this.store.deleteTable(tableId);
  }

  async setDeletionProtection(tableId: string, on: boolean): Promise<TableInfo> {
    return tableInfoOfSchema(await this.store.updateTable(tableId, { deletionProtection: on }));
  }

  async modifyFamilies(tableId: string, modifications: PreparedModifications): Promise<TableInfo> {
    return tableInfoOfSchema(await this.store.modifyColumnFamilies(tableId, modifications.valid));
  }

  dropRowRange(tableId: string, target: PreparedDropTarget): Promise<void> {
    return this.store.dropRowRange(tableId, target);
  }

  mutateRow(tableId: string, rowKey: Buffer, mutations: PreparedMutations): Promise<void> {
    return this.store.tablet(tableId).mutateRow(rowKey, mutations.valid);
  }

  async mutateRows(tableId: string, entries: readonly PreparedEntry[]): Promise<(TabulaError | undefined)[]> {
    const tablet = this.store.tablet(tableId);
    const outcomes = await tablet.mutateRows(
      entries.map((e) => ({ rowKey: e.rowKey, mutations: e.mutations.valid })),
    );
    return outcomes.map((err) => (err === undefined ? undefined : asTabulaError(err)));
  }

  async *readRows(tableId: string, read: PreparedRead): AsyncGenerator<Row, void, undefined> {
    const rows = this.store.tablet(tableId).readRows(read.query);
    try {
      for (;;) {
        const next = rows.next();
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      rows.return();
    }
  }

  checkAndMutate(
    tableId: string,
    rowKey: Buffer,
    predicate: PreparedFilter,
    onMatch: PreparedMutations,
    onNoMatch: PreparedMutations,
  ): Promise<boolean> {
    const tablet = this.store.tablet(tableId);
    requireFamilies(this.store, tableId, [...onMatch.valid, ...onNoMatch.valid]);
    const filter = predicate.proto === undefined ? undefined : predicate.compiled;
    return tablet.checkAndMutateRow(rowKey, filter, onMatch.valid, onNoMatch.valid);
  }

  readModifyWrite(tableId: string, rowKey: Buffer, rules: PreparedRules): Promise<Row> {
    return this.store.tablet(tableId).readModifyWriteRow(rowKey, rules.valid);
  }

  async sampleRowKeys(tableId: string): Promise<RowKeySample[]> {
    return this.store
      .tablet(tableId)
      .sampleRowKeys()
      .map((s) => ({ key: s.rowKey, offsetBytes: s.offsetBytes }));
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/**
 * Checks that every family either branch of a check-and-mutate names exists, so the call fails the
 * same way whichever branch the predicate picks (as the server does).
 */
function requireFamilies(store: TableStore, tableId: string, mutations: readonly ValidMutation[]): void {
  const families = store.getTable(tableId).families;
  for (const m of mutations) {
    if (m.kind !== 'deleteFromRow' && !families.has(m.family)) {
      throw errors.notFound('column family does not exist', { table: tableId, family: m.family });
    }
  }
}
