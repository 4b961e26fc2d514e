/**
 * The one interface of the Tabula Node API. `open(dir)` runs the store in this process and
 * `connect(address)` talks to a server over gRPC; both return a `Tabula`, and every method behaves
 * the same way on both (test/client/ runs one behavioural suite against each).
 *
 * Every call validates its arguments completely before anything is sent or stored, and fails with
 * a `TabulaError` (INVALID_ARGUMENT for bad input). Row operations are atomic per row.
 */
import type {
  Bytes,
  CheckAndMutateOptions,
  CreateTableOptions,
  DropRowRangeTarget,
  FamilyChange,
  MutateRowsEntry,
  MutateRowsResult,
  Mutation,
  ReadModifyWriteRule,
  ReadRowOptions,
  ReadRowsOptions,
  Row,
  RowKeySample,
  TableInfo,
} from './client-types.js';

/** An open Tabula: the tables of one instance, embedded or remote. */
export interface Tabula {
  /** `'embedded'` for `open()`, `'remote'` for `connect()`. */
  readonly mode: 'embedded' | 'remote';

  /** Creates a table with its families. ALREADY_EXISTS if the name is taken. */
  createTable(name: string, options?: CreateTableOptions): Promise<TableInfo>;

  /** A table's schema. NOT_FOUND if absent. */
  getTable(name: string): Promise<TableInfo>;

  /** Every table's schema, in name order. */
  listTables(): Promise<TableInfo[]>;

  /** Deletes a table and its data. FAILED_PRECONDITION under deletion protection. */
  deleteTable(name: string): Promise<void>;

  /** Turns deletion protection on or off. */
  setDeletionProtection(name: string, on: boolean): Promise<TableInfo>;

  /**
   * Adds, updates (GC rule) and drops families, in order, as one schema change. Dropping a family
   * deletes its cells.
   */
  modifyFamilies(name: string, changes: readonly FamilyChange[]): Promise<TableInfo>;

  /** The data operations of table `name` (nothing is checked until a call is made). */
  table(name: string): Table;

  /**
   * Closes the store or the connection after calls in flight settle. Later calls fail with
   * FAILED_PRECONDITION. Idempotent.
   */
  close(): Promise<void>;
}

/** The row operations of one table. */
export interface Table {
  /** Table name. */
  readonly name: string;

  /** Applies `mutations` to one row atomically; durable when the promise resolves. */
  mutateRow(key: Bytes, mutations: readonly Mutation[]): Promise<void>;

  /**
   * Applies each entry to its row atomically (entries are independent; entries for one row apply in
   * order). Resolves with one result per entry; rejects only when the whole call fails (e.g. an
   * unknown table). An invalid entry fails alone and is never sent.
   */
  mutateRows(entries: readonly MutateRowsEntry[]): Promise<MutateRowsResult[]>;

  /** One row, or undefined when it has no cells (after the filter). */
  readRow(key: Bytes, options?: ReadRowOptions): Promise<Row | undefined>;

  /**
   * The selected rows in key order (descending with `reverse`), each filtered. An async iterable
   * with backpressure: the next rows are read only as the loop asks for them; leaving the loop
   * early stops the read. Invalid options throw at once, before anything is read.
   */
  readRows(options?: ReadRowsOptions): AsyncIterable<Row>;

  /**
   * Tests the row with `predicate`, then applies `onMatch` or `onNoMatch`, atomically. Resolves
   * with whether the predicate matched. Never retried (a retry could apply twice).
   */
  checkAndMutate(key: Bytes, options: CheckAndMutateOptions): Promise<boolean>;

  /**
   * Appends to or increments the latest values of columns atomically; resolves with the new
   * cells of the modified columns. Never retried (a retry could apply twice).
   */
  readModifyWrite(key: Bytes, rules: readonly ReadModifyWriteRule[]): Promise<Row>;

  /** Row keys splitting the table into pieces of roughly equal size, the last ending the table. */
  sampleRowKeys(): Promise<RowKeySample[]>;

  /** Deletes the rows with a key prefix, or every row. */
  dropRowRange(target: DropRowRangeTarget): Promise<void>;
}
