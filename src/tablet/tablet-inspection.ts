/**
 * What metrics, the web console, benchmarks and tests read of the tablets behind a `TableStore`:
 * the open tablets of a table with their ranges, engines and owner epochs, the compaction workers' memory, the
 * split and merge counters, and a split and merge pass on demand. A store offers it as its
 * optional `inspection` member (src/tablet/table-store-api.ts), so readers never downcast to the
 * class behind the interface; a store with no tablets of its own to show leaves it undefined.
 *
 * In one process the tablet host (src/tablet/tablet-host.ts) answers it; a cluster's console will
 * answer it from the tablet servers' reports.
 *
 * Concurrency: synchronous snapshots on the event-loop thread, except the two promises. The engines
 * returned stay the host's: a caller must not close them.
 */
import type { WorkerMemory } from '../storage/compaction-executor.js';
import type { Engine } from '../storage/engine.js';
import type { TabletStats } from './tablet-maintenance.js';

/** One open tablet as the inspection shows it. */
export interface InspectedTablet {
  /** First row (inclusive); undefined: the table's start. */
  readonly startRow: Buffer | undefined;
  /** Row the range ends before; undefined: the table's end. */
  readonly endRow: Buffer | undefined;
  /** The tablet's engine (read its counters; never close it). */
  readonly engine: Engine;
  /** The owner epoch the tablet was opened under (src/tablet/tablet-host.ts). */
  readonly ownerEpoch: number;
}

/** The read-only view of a store's tablets, plus the maintenance pass tests drive by hand. */
export interface TabletInspection {
  /** A table's live tablets in range order; NOT_FOUND for an unknown table. */
  tablets(tableId: string): readonly InspectedTablet[];
  /** Memory of the compaction worker threads every tablet shares. */
  workerMemory(): Promise<WorkerMemory[]>;
  /** A copy of the split and merge counters. */
  splitStats(): TabletStats;
  /** Runs one split and merge pass over every table now; resolves when it is done. */
  maintainAll(): Promise<void>;
}
