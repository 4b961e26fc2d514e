/**
 * Validation of table admin requests (google.bigtable.admin.v2) into TableStore arguments: column
 * families and their GC rules, ModifyColumnFamilies modifications, UpdateTable field masks, and
 * DropRowRange targets. Pure. Every violation is a TabulaError naming the field: INVALID_ARGUMENT
 * for malformed input, UNIMPLEMENTED for features Tabula does not have (aggregate value types,
 * change streams, automated backups).
 */
import { errors } from '../common/errors.js';
import { compileGcRule } from '../model/gc-rule.js';
import { validateFamilyName, validateRowKey } from '../model/mutation.js';
import type { GcRule } from '../model/proto-types.js';
import type { FamilyModification } from '../tablet/table-store-api.js';

/** google.bigtable.admin.v2.ColumnFamily as decoded. */
export interface ColumnFamilyMessage {
  gcRule?: GcRule;
  valueType?: unknown;
}

/** The parts of google.bigtable.admin.v2.Table a request may set. */
export interface TableInput {
  name?: string;
  columnFamilies?: Record<string, ColumnFamilyMessage>;
  granularity?: string;
  deletionProtection?: boolean;
  changeStreamConfig?: unknown;
  automatedBackupPolicy?: unknown;
}

/** One ModifyColumnFamiliesRequest.Modification as decoded. */
export interface ModificationMessage {
  id?: string;
  mod?: 'create' | 'update' | 'drop';
  create?: ColumnFamilyMessage;
  update?: ColumnFamilyMessage;
  drop?: boolean;
  updateMask?: { paths?: string[] };
}

/** Most modifications in one ModifyColumnFamilies request (Tabula: a table's families are few). */
export const FAMILY_MODIFICATIONS_MAX = 1_000;

/** Validates a ColumnFamily's GC rule; returns the rule to store (undefined: keep everything). */
export function validateColumnFamily(
  family: ColumnFamilyMessage | undefined,
  field: string,
): GcRule | undefined {
  if (family?.valueType !== undefined && family.valueType !== null) {
    throw errors.unimplemented('aggregate column families are not supported', {
      field: `${field}.value_type`,
    });
  }
  const rule = family?.gcRule;
  compileGcRule(rule ?? undefined, `${field}.gc_rule`);
  return rule === undefined || rule === null || rule.rule === undefined ? undefined : rule;
}

/** The families of a CreateTable request's `table`, by name. */
export function validateCreateFamilies(table: TableInput | undefined): Map<string, GcRule | undefined> {
  if (table?.changeStreamConfig !== undefined && table.changeStreamConfig !== null) {
    throw errors.unimplemented('change streams are not supported', { field: 'table.change_stream_config' });
  }
  if (table?.automatedBackupPolicy !== undefined && table.automatedBackupPolicy !== null) {
    throw errors.unimplemented('automated backups are not supported', {
      field: 'table.automated_backup_policy',
    });
  }
  const families = new Map<string, GcRule | undefined>();
  for (const name of Object.keys(table?.columnFamilies ?? {})) {
    const field = `table.column_families[${name}]`;
    validateFamilyName(name, field);
    families.set(name, validateColumnFamily(table?.columnFamilies?.[name], field));
  }
  return families;
}

/** The split keys of a CreateTable request, validated as row keys, sorted and deduplicated. */
export function validateInitialSplits(splits: readonly { key?: Buffer }[] | undefined): Buffer[] {
  const keys = (splits ?? []).map((s, i) => validateRowKey(s?.key, `initial_splits[${i}].key`));
  keys.sort(Buffer.compare);
  return keys.filter((k, i) => i === 0 || !k.equals(keys[i - 1] as Buffer));
}

function validateUpdateMask(mask: { paths?: string[] } | undefined, field: string): void {
  for (const path of mask?.paths ?? []) {
    if (path === 'gc_rule' || path === 'gcRule') continue;
    if (path === 'value_type' || path === 'valueType') {
      throw errors.unimplemented('aggregate column families are not supported', { field, path });
    }
    throw errors.invalidArgument('unknown column family field in update_mask', { field, path });
  }
}

/** Validates the modifications of a ModifyColumnFamilies request, in request order. */
export function validateModifications(
  mods: readonly ModificationMessage[] | undefined,
): FamilyModification[] {
  const list = mods ?? [];
  if (list.length === 0)
    throw errors.invalidArgument('no modifications provided', { field: 'modifications' });
  if (list.length > FAMILY_MODIFICATIONS_MAX) {
    throw errors.invalidArgument('too many modifications', {
      field: 'modifications',
      count: list.length,
      countMax: FAMILY_MODIFICATIONS_MAX,
    });
  }
  return list.map((m, i): FamilyModification => {
    const field = `modifications[${i}]`;
    const family = validateFamilyName(m?.id, `${field}.id`);
    switch (m.mod) {
      case 'create':
        return { kind: 'create', family, gcRule: validateColumnFamily(m.create, `${field}.create`) };
      case 'update':
        validateUpdateMask(m.updateMask, `${field}.update_mask`);
        return { kind: 'update', family, gcRule: validateColumnFamily(m.update, `${field}.update`) };
      case 'drop':
        if (m.drop !== true) throw errors.invalidArgument('drop must be true', { field: `${field}.drop` });
        return { kind: 'drop', family };
      default:
        throw errors.invalidArgument('modification has no create, update or drop set', { field });
    }
  });
}

/** What an UpdateTable request changes. */
export interface TableUpdate {
  deletionProtection?: boolean;
}

const DELETION_PROTECTION_PATHS: ReadonlySet<string> = new Set(['deletion_protection', 'deletionProtection']);
const UNSUPPORTED_TABLE_PATHS: ReadonlySet<string> = new Set([
  'change_stream_config',
  'change_stream_config.retention_period',
  'automated_backup_policy',
  'automated_backup_policy.retention_period',
  'automated_backup_policy.frequency',
  'row_key_schema',
  'column_families',
  'tiered_storage_config',
]);

/** Validates an UpdateTable field mask against `table`; only deletion protection is supported. */
export function validateTableUpdate(
  table: TableInput | undefined,
  mask: { paths?: string[] } | undefined,
): TableUpdate {
  const paths = mask?.paths ?? [];
  if (paths.length === 0)
    throw errors.invalidArgument('update_mask must name at least one field', { field: 'update_mask' });
  const update: TableUpdate = {};
  for (const path of paths) {
    if (DELETION_PROTECTION_PATHS.has(path)) {
      update.deletionProtection = table?.deletionProtection === true;
    } else if (UNSUPPORTED_TABLE_PATHS.has(path)) {
      throw errors.unimplemented('updating this table field is not supported', {
        field: 'update_mask',
        path,
      });
    } else {
      throw errors.invalidArgument('unknown table field in update_mask', { field: 'update_mask', path });
    }
  }
  return update;
}

/** google.bigtable.admin.v2.DropRowRangeRequest's target, as decoded. */
export interface DropRowRangeTarget {
  target?: 'rowKeyPrefix' | 'deleteAllDataFromTable';
  rowKeyPrefix?: Buffer;
  deleteAllDataFromTable?: boolean;
}

/** Validates a DropRowRange target: a non-empty prefix, or every row. */
export function validateDropTarget(request: DropRowRangeTarget): { rowKeyPrefix: Buffer } | { all: true } {
  if (request.target === 'rowKeyPrefix') {
    return { rowKeyPrefix: validateRowKey(request.rowKeyPrefix, 'row_key_prefix') };
  }
  if (request.target === 'deleteAllDataFromTable' && request.deleteAllDataFromTable === true) {
    return { all: true };
  }
  throw errors.invalidArgument('set row_key_prefix or delete_all_data_from_table', { field: 'target' });
}
