/**
 * The in-memory state of one open table of a local table store (src/tablet/local-table-store.ts):
 * its catalog record, its live tablets, the files of its directory and the router requests go
 * through. The store, its tablet maintenance and the tablet lifecycle all work on it.
 *
 * Invariants: `record` is the table's record as last committed to the catalog; `tablets` covers
 * the whole row space (src/tablet/tablet-set.ts). A table the store no longer maps to by its id
 * (deleted) is neither split nor merged any more.
 *
 * Concurrency: single event-loop thread; `record` and the tablet set change only while the store
 * opens and in admin operations, splits and merges, which the store runs one at a time.
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
