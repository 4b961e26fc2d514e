/**
 * The in-memory state of one table a tablet host (src/tablet/tablet-host.ts) serves: its catalog
 * record, its live tablets, the files of its directory and the router requests go through. The
 * host, its tablet maintenance and the tablet lifecycle all work on it.
 *
 * Invariants: `record` is the table's record as last committed to the catalog (applied by the
 * metadata service); `tablets` covers the whole row space (src/tablet/tablet-set.ts). A table the
 * host no longer maps to by its id (deleted) is neither split nor merged any more.
 *
 * Concurrency: single event-loop thread; `record` and the tablet set change only while the store
 * opens and in admin operations, splits and merges, which run one at a time on the metadata
 * service's admin chain.
 */
import type { TableRecord } from './catalog.js';
import type { TableRouter } from './table-router.js';
import type { NamespaceFiles } from './tablet-files.js';
import type { TabletHandle } from './tablet-handle.js';
import type { TabletSet } from './tablet-set.js';

/** One table: its catalog record, its tablets and the files of its directory. */
export interface OpenTable {
  record: TableRecord;
  tablets: TabletSet;
  files: NamespaceFiles;
  router: TableRouter;
  /** Tablets with a split or merge queued, so one is not queued twice. */
  queued: Set<TabletHandle>;
}
