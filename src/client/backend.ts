/**
 * The internal contract behind the public `Tabula`: one backend runs requests in this process
 * (embedded-backend.ts), the other sends them to a server (remote-backend.ts). The public classes
 * (tabula-client.ts, table-client.ts) validate every argument and hand each backend prepared
 * requests carrying both the proto form and the validated form, so both backends see identical
 * checks. Backends report failures as TabulaErrors.
 */
import type { TabulaError } from '../common/errors.js';
import type { GcRule as ProtoGcRule } from '../model/proto-types.js';
import type { ModificationMessage } from '../server/table-admin-requests.js';
import type { FamilyModification } from '../tablet/table-store-api.js';
import type { Row, RowKeySample, TableInfo } from './client-types.js';
import type { PreparedMutations, PreparedRules } from './mutation-encoding.js';
import type { PreparedFilter, PreparedRead } from './read-request.js';

/** One validated MutateRows entry. */
export interface PreparedEntry {
  /** Row key, validated. */
  readonly rowKey: Buffer;
  /** The entry's mutations. */
  readonly mutations: PreparedMutations;
}

/** A validated CreateTable. */
export interface PreparedCreateTable {
  /** Families and their proto GC rules (undefined: keep all). */
  readonly families: ReadonlyMap<string, ProtoGcRule | undefined>;
  /** Split keys, validated, sorted, deduplicated. */
  readonly splitKeys: readonly Buffer[];
  /** Whether deletion protection starts on. */
  readonly deletionProtection: boolean;
}

/** Validated family modifications in both forms. */
export interface PreparedModifications {
  /** As sent to a server. */
  readonly proto: readonly ModificationMessage[];
  /** As applied by the embedded store. */
  readonly valid: readonly FamilyModification[];
}

/** The validated target of a DropRowRange. */
export type PreparedDropTarget = { readonly rowKeyPrefix: Buffer } | { readonly all: true };

/** What the public classes need from a store, embedded or remote. Table names are validated ids. */
export interface Backend {
  /** `'embedded'` or `'remote'`. */
  readonly mode: 'embedded' | 'remote';
  createTable(tableId: string, request: PreparedCreateTable): Promise<TableInfo>;
  getTable(tableId: string): Promise<TableInfo>;
  listTables(): Promise<TableInfo[]>;
  deleteTable(tableId: string): Promise<void>;
  setDeletionProtection(tableId: string, on: boolean): Promise<TableInfo>;
  modifyFamilies(tableId: string, modifications: PreparedModifications): Promise<TableInfo>;
  dropRowRange(tableId: string, target: PreparedDropTarget): Promise<void>;
  mutateRow(tableId: string, rowKey: Buffer, mutations: PreparedMutations): Promise<void>;
  /** One outcome per entry (undefined: applied). Rejects only when the whole call fails. */
  mutateRows(tableId: string, entries: readonly PreparedEntry[]): Promise<(TabulaError | undefined)[]>;
  /** Rows pulled one at a time; `return()` stops the read. */
  readRows(tableId: string, read: PreparedRead): AsyncGenerator<Row, void, undefined>;
  checkAndMutate(
    tableId: string,
    rowKey: Buffer,
    predicate: PreparedFilter,
    onMatch: PreparedMutations,
    onNoMatch: PreparedMutations,
  ): Promise<boolean>;
  readModifyWrite(tableId: string, rowKey: Buffer, rules: PreparedRules): Promise<Row>;
  sampleRowKeys(tableId: string): Promise<RowKeySample[]>;
  close(): Promise<void>;
}
