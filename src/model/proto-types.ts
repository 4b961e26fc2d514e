/**
 * TypeScript shapes of the Bigtable messages the model consumes, exactly as `@grpc/proto-loader`
 * yields them with `PROTO_LOADER_OPTIONS` (src/server/protos.ts): field names in camelCase; int64 as
 * decimal strings; bytes as Buffers; no defaults filled in (an unset scalar, message or repeated
 * field is `undefined`); each oneof adds a virtual string field naming the chosen member in
 * camelCase (e.g. `filter: 'chain'`). test/model/proto-types.test.ts decodes real messages to keep
 * these in step with the protos.
 *
 * Every field is optional because proto3 cannot tell "unset" from "default"; the validators decide
 * what is required. int64 fields are also accepted as numbers for in-process callers.
 */

/** An int64 as proto-loader yields it (`longs: String`), or a number from in-process callers. */
export type Int64 = string | number;

/** google.protobuf.Duration. */
export interface Duration {
  seconds?: Int64;
  nanos?: number;
}

/** google.bigtable.v2.RowRange. Bound oneofs: `startKey`, `endKey`. */
export interface RowRange {
  startKey?: 'startKeyClosed' | 'startKeyOpen';
  startKeyClosed?: Buffer;
  startKeyOpen?: Buffer;
  endKey?: 'endKeyOpen' | 'endKeyClosed';
  endKeyOpen?: Buffer;
  endKeyClosed?: Buffer;
}

/** google.bigtable.v2.RowSet. */
export interface RowSet {
  rowKeys?: Buffer[];
  rowRanges?: RowRange[];
}

/** google.bigtable.v2.ColumnRange. Bound oneofs: `startQualifier`, `endQualifier`. */
export interface ColumnRange {
  familyName?: string;
  startQualifier?: 'startQualifierClosed' | 'startQualifierOpen';
  startQualifierClosed?: Buffer;
  startQualifierOpen?: Buffer;
  endQualifier?: 'endQualifierClosed' | 'endQualifierOpen';
  endQualifierClosed?: Buffer;
  endQualifierOpen?: Buffer;
}

/** google.bigtable.v2.TimestampRange: [start, end) in microseconds; end 0/unset = infinity. */
export interface TimestampRange {
  startTimestampMicros?: Int64;
  endTimestampMicros?: Int64;
}

/** google.bigtable.v2.ValueRange. Bound oneofs: `startValue`, `endValue`. */
export interface ValueRange {
  startValue?: 'startValueClosed' | 'startValueOpen';
  startValueClosed?: Buffer;
  startValueOpen?: Buffer;
  endValue?: 'endValueClosed' | 'endValueOpen';
  endValueClosed?: Buffer;
  endValueOpen?: Buffer;
}

/** google.bigtable.v2.ValueBitmask. */
export interface ValueBitmask {
  mask?: Buffer;
}

/** The members of the RowFilter `filter` oneof, in camelCase. */
export type RowFilterKind =
  | 'chain'
  | 'interleave'
  | 'condition'
  | 'sink'
  | 'passAllFilter'
  | 'blockAllFilter'
  | 'rowKeyRegexFilter'
  | 'rowSampleFilter'
  | 'familyNameRegexFilter'
  | 'columnQualifierRegexFilter'
  | 'columnRangeFilter'
  | 'timestampRangeFilter'
  | 'valueRegexFilter'
  | 'valueRangeFilter'
  | 'cellsPerRowOffsetFilter'
  | 'cellsPerRowLimitFilter'
  | 'cellsPerColumnLimitFilter'
  | 'stripValueTransformer'
  | 'applyLabelTransformer'
  | 'valueBitmaskFilter';

/** google.bigtable.v2.RowFilter. `filter` names the member that is set. */
export interface RowFilter {
  filter?: RowFilterKind;
  chain?: { filters?: RowFilter[] };
  interleave?: { filters?: RowFilter[] };
  condition?: { predicateFilter?: RowFilter; trueFilter?: RowFilter; falseFilter?: RowFilter };
  sink?: boolean;
  passAllFilter?: boolean;
  blockAllFilter?: boolean;
  rowKeyRegexFilter?: Buffer;
  rowSampleFilter?: number;
  familyNameRegexFilter?: string;
  columnQualifierRegexFilter?: Buffer;
  columnRangeFilter?: ColumnRange;
  timestampRangeFilter?: TimestampRange;
  valueRegexFilter?: Buffer;
  valueRangeFilter?: ValueRange;
  cellsPerRowOffsetFilter?: number;
  cellsPerRowLimitFilter?: number;
  cellsPerColumnLimitFilter?: number;
  stripValueTransformer?: boolean;
  applyLabelTransformer?: string;
  valueBitmaskFilter?: ValueBitmask;
}

/** google.bigtable.v2.Mutation.SetCell. */
export interface SetCell {
  familyName?: string;
  columnQualifier?: Buffer;
  timestampMicros?: Int64;
  value?: Buffer;
}

/** google.bigtable.v2.Mutation.DeleteFromColumn. */
export interface DeleteFromColumn {
  familyName?: string;
  columnQualifier?: Buffer;
  timeRange?: TimestampRange;
}

/** The members of the Mutation `mutation` oneof, in camelCase. */
export type MutationKind =
  | 'setCell'
  | 'addToCell'
  | 'mergeToCell'
  | 'deleteFromColumn'
  | 'deleteFromFamily'
  | 'deleteFromRow';

/** google.bigtable.v2.Mutation. Aggregate members are typed loosely: Tabula rejects them. */
export interface Mutation {
  mutation?: MutationKind;
  setCell?: SetCell;
  addToCell?: Record<string, unknown>;
  mergeToCell?: Record<string, unknown>;
  deleteFromColumn?: DeleteFromColumn;
  deleteFromFamily?: { familyName?: string };
  deleteFromRow?: Record<string, never>;
}

/** google.bigtable.v2.ReadModifyWriteRule. `rule` names the member that is set. */
export interface ReadModifyWriteRule {
  familyName?: string;
  columnQualifier?: Buffer;
  rule?: 'appendValue' | 'incrementAmount';
  appendValue?: Buffer;
  incrementAmount?: Int64;
}

/** google.bigtable.admin.v2.GcRule. `rule` names the member that is set; none set = keep all. */
export interface GcRule {
  rule?: 'maxNumVersions' | 'maxAge' | 'intersection' | 'union';
  maxNumVersions?: number;
  maxAge?: Duration;
  intersection?: { rules?: GcRule[] };
  union?: { rules?: GcRule[] };
}
