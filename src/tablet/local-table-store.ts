/**
 * The `TableStore` of one process that `openTableStore` (src/tablet/table-store.ts) returns: the
 * metadata service (src/tablet/metadata-service.ts) and the tablet host (src/tablet/tablet-host.ts)
 * behind the one interface the servers use. Admin operations go to the metadata service, row
 * operations to the host's routers; which tables exist is always the metadata service's answer,
 * so a table is visible from its catalog commit to the commit that drops it, as before the split.
 *
 * Concurrency: single event-loop thread. Closing stops the host's maintenance timer, drains the
 * metadata service's admin chain (later admin operations, splits and merges fail with
 * UNAVAILABLE), closes the tablets, then the catalog, then the compaction workers both share, then
 * what the store was told to close after itself.
 */
import { errors } from '../common/errors.js';
import type { GcRule } from '../model/proto-types.js';
import type { MetadataService } from './metadata-service.js';
import type { FamilyModification, TableSchema, TableStore, Tablet } from './table-store-api.js';
import type { TabletHost } from './tablet-host.js';
import type { TabletInspection } from './tablet-inspection.js';

/** A table store of one process (see the file comment). */
export class LocalTableStore implements TableStore {
  /** The host's inspection, for the tables the metadata service knows. */
  readonly inspection: TabletInspection;

  constructor(
    private readonly metadata: MetadataService,
    private readonly host: TabletHost,
    /** Closed after the store closes (e.g. the coordination service the root came from). */
    private readonly closeAfter: ReadonlyArray<{ close(): Promise<void> }>,
  ) {
    const hosted = host.inspection;
    this.inspection = {
      tablets: (tableId) => {
        metadata.record(tableId);
        return hosted.tablets(tableId);
      },
      workerMemory: () => hosted.workerMemory(),
      splitStats: () => hosted.splitStats(),
      maintainAll: () => hosted.maintainAll(),
    };
  }

  createTable(
    tableId: string,
    options: { families: ReadonlyMap<string, GcRule | undefined>; initialSplits: readonly Buffer[] },
  ): Promise<TableSchema> {
    return this.metadata.createTable(tableId, options);
  }

  listTables(): TableSchema[] {
    return this.metadata.listTables();
  }

  getTable(tableId: string): TableSchema {
    return this.metadata.getTable(tableId);
  }

  deleteTable(tableId: string): Promise<void> {
    return this.metadata.deleteTable(tableId);
  }

  updateTable(tableId: string, changes: { deletionProtection?: boolean }): Promise<TableSchema> {
    return this.metadata.updateTable(tableId, changes);
  }

  modifyColumnFamilies(tableId: string, modifications: readonly FamilyModification[]): Promise<TableSchema> {
    return this.metadata.modifyColumnFamilies(tableId, modifications);
  }

  dropRowRange(tableId: string, range: { rowKeyPrefix: Buffer } | { all: true }): Promise<void> {
    return this.metadata.dropRowRange(tableId, range);
  }

  tablet(tableId: string): Tablet {
    this.metadata.record(tableId);
    return this.host.router(tableId);
  }

  generateConsistencyToken(tableId: string): string {
    this.metadata.record(tableId);
    return `${tableId}/${this.host.lastSequence(tableId)}`;
  }

  checkConsistency(tableId: string, token: string): boolean {
    this.metadata.record(tableId);
    if (!token.startsWith(`${tableId}/`))
      throw errors.invalidArgument('consistency token is not for this table', { table: tableId });
    // Every acknowledged write is durable on this single-replica store.
    return true;
  }

  async close(): Promise<void> {
    this.host.stopMaintenance();
    await this.metadata.drain();
    await this.host.closeTablets();
    await this.metadata.closeCatalog();
    await this.host.closeWorkers();
    for (const r of this.closeAfter) await r.close();
  }
}
