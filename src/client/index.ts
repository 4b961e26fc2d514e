/**
 * The Tabula Node API: `open()` (embedded) and `connect()` (remote), the `Tabula` and `Table`
 * interfaces they return, the `Filter` builder, and the shapes of rows, mutations and options.
 */
export type {
  Bytes,
  Cell,
  CheckAndMutateOptions,
  CreateTableOptions,
  DropRowRangeTarget,
  FamilyChange,
  FamilyInfo,
  FamilyOptions,
  GcRule,
  MutateRowsEntry,
  MutateRowsResult,
  Mutation,
  ReadModifyWriteRule,
  ReadRowOptions,
  ReadRowsOptions,
  Row,
  RowKeySample,
  RowRange,
  TableInfo,
} from './client-types.js';
export { type ConnectOptions, connect, open } from './open-connect.js';
export type { RetryOptions } from './retry-policy.js';
export {
  type ByteRangeBounds,
  type ColumnRangeBounds,
  type ConditionBranches,
  Filter,
  type TimestampRangeBounds,
} from './row-filter-builder.js';
export type { Table, Tabula } from './tabula-api.js';
