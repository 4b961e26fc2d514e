/**
 * The seam between the two halves of a table store: the tablet host (src/tablet/tablet-host.ts),
 * which opens, serves and closes tablets, and the metadata service
 * (src/tablet/metadata-service.ts), which owns the catalog. Each half reaches the other only
 * through the interface here, so that in a cluster the same calls can go over RPC: the master
 * runs the metadata service, each tablet server a host.
 *
 * - `TabletHostControl`: what the metadata service asks of a host — open a table's tablets from
 *   their catalog records under an owner epoch, close them, apply a committed schema, and the
 *   data-side work of admin operations (purging a dropped family, dropping a row range).
 * - `MetadataCommits`: what a host asks of the metadata service — run a split or merge on the
 *   admin chain, and record it in the catalog. A host never writes the catalog itself.
 *
 * Every call keeps the contract of the local calls it replaces: it resolves once its effect is
 * done (durable where it writes), and fails with a `TabulaError`.
 */
import type { TableRecord, TabletRecord } from './catalog.js';
import type { Tablet } from './table-store-api.js';

/** How a host opens a table's tablets. */
export type TableOpenMode =
  /**
   * The tablets exist (the store opens): the table's directory may hold what a crash left, which
   * is collected once every tablet is open and has counted the files it references.
   */
  | 'recover'
  /** The tablets are new (a table being created): their directories do not exist yet. */
  | 'create';

/** What the metadata service asks of a tablet host. */
export interface TabletHostControl {
  /**
   * Opens the tablets `tablets` (covering the whole row space) of table `table` under the owner
   * epoch `ownerEpoch` and starts serving them; on failure closes what it opened and rejects
   * (DATA_LOSS when the records do not cover the table exactly).
   */
  openTable(
    table: TableRecord,
    tablets: readonly TabletRecord[],
    ownerEpoch: number,
    mode: TableOpenMode,
  ): Promise<void>;
  /** Stops serving a table, waits for its background work, and closes its tablets. */
  closeTable(tableId: string): Promise<void>;
  /** The table's catalog record changed (its schema): every tablet takes it from now on. */
  applyTableRecord(record: TableRecord): void;
  /** Deletes every cell of `family` in every tablet of the table (the data half of a purge). */
  purgeFamily(tableId: string, family: string): Promise<void>;
  /** Deletes the rows with a prefix, or every row, in every tablet of the table. */
  dropRowRange(tableId: string, range: { rowKeyPrefix: Buffer } | { all: true }): Promise<void>;
  /** The row operations of a table the host serves. */
  router(tableId: string): Tablet;
  /** The sum of the last sequence numbers of the table's tablets (for consistency tokens). */
  lastSequence(tableId: string): number;
}

/** One split or merge as the catalog records it. */
export interface TabletChange {
  /** The tablets retired (the parents). */
  readonly removeTablets: readonly TabletRecord[];
  /** The tablets made live (the children). */
  readonly putTablets: readonly TabletRecord[];
}

/** What a tablet host asks of the metadata service. */
export interface MetadataCommits {
  /** Runs `op` on the admin chain, after every admin operation, split and merge queued before it. */
  serialized<T>(op: () => Promise<T>): Promise<T>;
  /** Records a split or merge as one atomic, durable catalog write (the commit point). */
  commitTablets(change: TabletChange): Promise<void>;
  /** Whether the store is closed: no split or merge may start any more. */
  isClosed(): boolean;
}
