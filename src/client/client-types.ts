/**
 * The public shapes of the Tabula Node API: rows and cells as a read returns them, the mutations,
 * read-modify-write rules and GC rules a caller writes, and the options of each call. Plain data
 * only; the `Tabula` and `Table` interfaces that take them live in tabula-api.ts.
 *
 * Bytes are bytes: keys, qualifiers and values come back as `Buffer`s. Wherever a caller passes
 * bytes, a `string` is also accepted and encoded as UTF-8 (see `Bytes`); family names, table names
 * and labels are always strings, as in Bigtable.
 */
import type { TabulaError } from '../common/errors.js';
import type { Filter } from './row-filter-builder.js';

/** Bytes as a caller may pass them: a `Uint8Array` (or `Buffer`), or a string encoded as UTF-8. */
export type Bytes = Uint8Array | string;

/** One version of one column of a row, as a read returns it. */
export interface Cell {
  /** Column family name. */
  readonly family: string;
  /** Column qualifier. */
  readonly qualifier: Buffer;
  /** Timestamp in microseconds since the Unix epoch (a whole millisecond). */
  readonly timestampMicros: number;
  /** Value (empty when a `Filter.stripValue()` removed it). */
  readonly value: Buffer;
  /** Labels added by `Filter.label()`; empty for stored cells. */
  readonly labels: readonly string[];
}

/** A row: its key and its cells in Bigtable order (family, qualifier ascending; newest first). */
export interface Row {
  /** Row key. */
  readonly key: Buffer;
  /** Cells in Bigtable order. */
  readonly cells: readonly Cell[];
}

/**
 * A change to one row. Exactly one member is set. Bigtable's own names:
 * - `setCell` writes a value; without `timestampMicros` the server assigns the current time
 *   (such a write is not idempotent, so a remote client never retries it);
 * - `deleteFromColumn` deletes a column's versions, optionally only those in `[startMicros, endMicros)`;
 * - `deleteFromFamily` deletes every column of a family in the row;
 * - `deleteFromRow` deletes the whole row.
 */
export type Mutation =
  | {
      /** Writes a value. */
      readonly setCell: {
        /** Column family (declared on the table). */
        readonly family: string;
        /** Column qualifier. */
        readonly qualifier: Bytes;
        /** Value. */
        readonly value: Bytes;
        /** Microseconds, a multiple of 1000; omitted: server time. */
        readonly timestampMicros?: number;
      };
    }
  | {
      /** Deletes versions of one column. */
      readonly deleteFromColumn: {
        /** Column family. */
        readonly family: string;
        /** Column qualifier. */
        readonly qualifier: Bytes;
        /** First timestamp deleted, inclusive (microseconds); omitted: 0. */
        readonly startMicros?: number;
        /** Timestamp where deletion stops, exclusive (microseconds); omitted: no bound. */
        readonly endMicros?: number;
      };
    }
  | {
      /** Deletes every column of a family in the row. */
      readonly deleteFromFamily: {
        /** Column family. */
        readonly family: string;
      };
    }
  | {
      /** Deletes the whole row. */
      readonly deleteFromRow: true;
    };

/** One rule of `Table.readModifyWrite`: exactly one member is set. */
export type ReadModifyWriteRule =
  | {
      /** Appends bytes to the latest value. */
      readonly append: {
        /** Column family. */
        readonly family: string;
        /** Column qualifier. */
        readonly qualifier: Bytes;
        /** Bytes appended to the latest value (a missing cell counts as empty). */
        readonly value: Bytes;
      };
    }
  | {
      /** Adds to the latest value. */
      readonly increment: {
        /** Column family. */
        readonly family: string;
        /** Column qualifier. */
        readonly qualifier: Bytes;
        /** Added to the latest value, a 64-bit big-endian signed integer (missing counts as 0). */
        readonly amount: number | bigint;
      };
    };

/**
 * A column family's garbage-collection rule; exactly one member is set. Cells the rule makes
 * eligible disappear from reads at once and from disk at the next compaction.
 */
export type GcRule =
  | {
      /** Keep only the newest N versions of each column (N ≥ 1). */
      readonly maxVersions: number;
    }
  | {
      /** Drop versions older than this many milliseconds (≥ 1). */
      readonly maxAgeMs: number;
    }
  | {
      /** Drop a version if ANY of the rules would. */
      readonly union: readonly GcRule[];
    }
  | {
      /** Drop a version only if EVERY rule would. */
      readonly intersection: readonly GcRule[];
    };

/** A family's settings at creation: its GC rule, or `{}` to keep every version. */
export type FamilyOptions = GcRule | Readonly<Record<string, never>>;

/** A column family as the table's schema holds it. */
export interface FamilyInfo {
  /** Family name. */
  readonly name: string;
  /** GC rule; undefined keeps every version. */
  readonly gcRule: GcRule | undefined;
}

/** A table's schema. */
export interface TableInfo {
  /** Table name (the table id, without project and instance). */
  readonly name: string;
  /** Families by name, in name order. */
  readonly families: ReadonlyMap<string, FamilyInfo>;
  /** Whether `deleteTable` is refused. */
  readonly deletionProtection: boolean;
}

/** Options of `Tabula.createTable`. */
export interface CreateTableOptions {
  /**
   * Families by name with their GC rules. A `Map` is needed for a family named `__proto__`,
   * which an object literal cannot hold as an own key.
   */
  readonly families?: Readonly<Record<string, FamilyOptions>> | ReadonlyMap<string, FamilyOptions>;
  /** Row keys to pre-split the table at. */
  readonly splitKeys?: readonly Bytes[];
  /** Refuse `deleteTable` until turned off. Default false. */
  readonly deletionProtection?: boolean;
}

/** One change of `Tabula.modifyFamilies`; exactly one of `create`, `update`, `drop` is set. */
export type FamilyChange =
  | {
      /** Family to add. */
      readonly create: string;
      /** Its GC rule; omitted keeps every version. */
      readonly gcRule?: GcRule;
    }
  | {
      /** Family whose GC rule changes. */
      readonly update: string;
      /** The new rule; omitted keeps every version. */
      readonly gcRule?: GcRule;
    }
  | {
      /** Family to delete with all its cells. */
      readonly drop: string;
    };

/**
 * A range of row keys. Defaults: `start` inclusive, `end` exclusive; an omitted bound is
 * unbounded (an empty `end` also means unbounded, as in Bigtable).
 */
export interface RowRange {
  /** Lower bound; omitted: the first row. */
  readonly start?: Bytes;
  /** Upper bound; omitted: past the last row. */
  readonly end?: Bytes;
  /** Whether `start` itself is included. Default true. */
  readonly startInclusive?: boolean;
  /** Whether `end` itself is included. Default false. */
  readonly endInclusive?: boolean;
}

/** Options of `Table.readRow`. */
export interface ReadRowOptions {
  /** Filter applied to the row's cells. */
  readonly filter?: Filter;
}

/**
 * Options of `Table.readRows`. `keys`, `ranges` and `prefix` combine as a union; none of them
 * selects every row.
 */
export interface ReadRowsOptions {
  /** Row keys to read. */
  readonly keys?: readonly Bytes[];
  /** Row ranges to read. */
  readonly ranges?: readonly RowRange[];
  /** Read the rows whose key starts with this (non-empty) prefix. */
  readonly prefix?: Bytes;
  /** Filter applied to each row; rows it empties are skipped. */
  readonly filter?: Filter;
  /** Most rows returned; omitted or 0: no limit. */
  readonly limit?: number;
  /** Return rows in descending key order. Default false. */
  readonly reverse?: boolean;
}

/** Options of `Table.checkAndMutate`. At least one of `onMatch` and `onNoMatch` is non-empty. */
export interface CheckAndMutateOptions {
  /** Test applied to the row; omitted: "the row has any cell". */
  readonly predicate?: Filter;
  /** Applied atomically when the predicate yields any cell. */
  readonly onMatch?: readonly Mutation[];
  /** Applied atomically otherwise. */
  readonly onNoMatch?: readonly Mutation[];
}

/** One entry of `Table.mutateRows`. */
export interface MutateRowsEntry {
  /** Row key. */
  readonly key: Bytes;
  /** Mutations applied to the row atomically. */
  readonly mutations: readonly Mutation[];
}

/** The outcome of one `MutateRowsEntry`, at the entry's index. */
export interface MutateRowsResult {
  /** Index of the entry in the request. */
  readonly index: number;
  /** Row key of the entry. */
  readonly key: Buffer;
  /** Undefined when the entry was applied; else why it alone failed. */
  readonly error: TabulaError | undefined;
}

/** One sample of `Table.sampleRowKeys`. */
export interface RowKeySample {
  /** A row key (the last sample's key may be empty: the end of the table). */
  readonly key: Buffer;
  /** Approximate bytes of the table before `key`. */
  readonly offsetBytes: number;
}

/** What `Table.dropRowRange` deletes: rows with a key prefix, or every row. */
export type DropRowRangeTarget =
  | {
      /** Delete the rows whose key starts with this (non-empty) prefix. */
      readonly prefix: Bytes;
    }
  | {
      /** Delete every row of the table. */
      readonly all: true;
    };
