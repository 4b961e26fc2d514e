/**
 * The contract between the tablet layer and the servers above it: a `TableStore` holds the tables
 * of one instance (their schemas in a persistent catalog, their data in tablets), and a `Tablet`
 * serves row operations on one table's rows. One tablet per table for now; the splitting issue
 * makes a table an ordered set of tablets behind the same `TableStore` interface.
 *
 * Every method validates what the model layer does not, and fails with a `TabulaError`:
 * NOT_FOUND for an unknown table, ALREADY_EXISTS, FAILED_PRECONDITION (deletion protection, a
 * family being dropped), INVALID_ARGUMENT/NOT_FOUND for an unknown family in a mutation.
 */

import type { KeyRange } from '../model/cell-key.js';
import type { ValidMutation } from '../model/mutation.js';
import type { GcRule } from '../model/proto-types.js';
import type { ValidReadModifyWriteRule } from '../model/read-modify-write.js';
import type { RowCells } from '../model/row-cells.js';
import type { CompiledFilter } from '../model/row-filter.js';
import type { TabletInspection } from './tablet-inspection.js';

/** A column family of a table and its garbage-collection rule (undefined: keep everything). */
export interface FamilySchema {
  readonly name: string;
  readonly gcRule: GcRule | undefined;
}

/** A table's schema as the catalog holds it. */
export interface TableSchema {
  readonly tableId: string;
  /** Families by name, in name order. */
  readonly families: ReadonlyMap<string, FamilySchema>;
  readonly deletionProtection: boolean;
  readonly createdAtMs: number;
  /** Row keys the table was pre-split at (kept for the splitting issue). */
  readonly initialSplits: readonly Buffer[];
}

/** One change of ModifyColumnFamilies. */
export type FamilyModification =
  | { readonly kind: 'create'; readonly family: string; readonly gcRule: GcRule | undefined }
  | { readonly kind: 'update'; readonly family: string; readonly gcRule: GcRule | undefined }
  | { readonly kind: 'drop'; readonly family: string };

/** A set of rows to read: explicit keys and/or row ranges. */
export interface RowSelection {
  /** Explicit row keys (any order; duplicates allowed). */
  readonly rowKeys: readonly Buffer[];
  /**
   * Row ranges as ENCODED cell-key ranges [start, end), exactly as `rowRangeToKeyRange` of
   * src/model/cell-key.ts returns them (end undefined: unbounded). Empty ranges are allowed.
   */
  readonly rowRanges: readonly KeyRange[];
  /** True when neither keys nor ranges were given: the whole table. */
  readonly all: boolean;
}

/** A ReadRows request, validated. */
export interface ReadRowsQuery {
  readonly selection: RowSelection;
  readonly filter: CompiledFilter;
  /** 0: no limit. */
  readonly rowsLimit: number;
  readonly reversed: boolean;
}

/** A row key sample: a row key and the approximate bytes of the table before it. */
export interface RowKeySample {
  readonly rowKey: Buffer;
  readonly offsetBytes: number;
}

/** One row's mutations in a multi-row write. */
export interface RowMutations {
  readonly rowKey: Buffer;
  readonly mutations: readonly ValidMutation[];
}

/** The row operations of a table. */
export interface Tablet {
  /** Applies `mutations` to one row atomically; durable on resolve. */
  mutateRow(rowKey: Buffer, mutations: readonly ValidMutation[]): Promise<void>;
  /**
   * Applies each entry to its row atomically (entries for one row in order); resolves once every
   * entry is settled with one outcome per entry: `undefined` when applied and durable, else the
   * error that failed that entry alone (e.g. NOT_FOUND for an unknown family). Never rejects.
   */
  mutateRows(entries: readonly RowMutations[]): Promise<unknown[]>;
  /**
   * The rows of a query, in row order (reverse order if `reversed`), each already filtered (rows
   * the filter empties are skipped). A pull iterator: the caller pulls the next row only when it
   * can send it, so nothing is buffered beyond one row. Call `return()` to stop early.
   */
  readRows(query: ReadRowsQuery): Generator<RowCells, void, undefined>;
  /** Reads the row through `predicate`; applies true or false mutations atomically. */
  checkAndMutateRow(
    rowKey: Buffer,
    predicate: CompiledFilter | undefined,
    trueMutations: readonly ValidMutation[],
    falseMutations: readonly ValidMutation[],
  ): Promise<boolean>;
  /** Applies the rules atomically; returns the new cells of the modified columns. */
  readModifyWriteRow(rowKey: Buffer, rules: readonly ValidReadModifyWriteRule[]): Promise<RowCells>;
  /** Row keys splitting the table into pieces of roughly equal size, ending with the last key. */
  sampleRowKeys(): RowKeySample[];
}

/** The tables of one instance. */
export interface TableStore {
  createTable(
    tableId: string,
    options: { families: ReadonlyMap<string, GcRule | undefined>; initialSplits: readonly Buffer[] },
  ): Promise<TableSchema>;
  listTables(): TableSchema[];
  /** NOT_FOUND if absent. */
  getTable(tableId: string): TableSchema;
  /** FAILED_PRECONDITION under deletion protection. */
  deleteTable(tableId: string): Promise<void>;
  updateTable(tableId: string, changes: { deletionProtection?: boolean }): Promise<TableSchema>;
  modifyColumnFamilies(tableId: string, modifications: readonly FamilyModification[]): Promise<TableSchema>;
  /** Deletes the rows with a prefix, or every row. */
  dropRowRange(tableId: string, range: { rowKeyPrefix: Buffer } | { all: true }): Promise<void>;
  /** The tablet serving `tableId`'s rows. NOT_FOUND if absent. */
  tablet(tableId: string): Tablet;
  /** A token covering every write acknowledged so far. */
  generateConsistencyToken(tableId: string): string;
  /** Whether every write acknowledged before `token` was made is durable (replicated). */
  checkConsistency(tableId: string, token: string): boolean;
  close(): Promise<void>;
  /**
   * What metrics, the console and tests read of the tablets behind the tables
   * (src/tablet/tablet-inspection.ts); undefined for a store with no tablets of its own to show.
   */
  readonly inspection?: TabletInspection;
}
