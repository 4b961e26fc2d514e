/**
 * ReadModifyWriteRow as a pure function: validate the rules, then compute each touched column's
 * new latest value from its current latest value. Reading and writing the row atomically is the
 * tablet's job.
 *
 * Semantics (data.proto, ReadModifyWriteRule): `append_value` concatenates (a missing cell counts
 * as empty); `increment_amount` adds to a 64-bit big-endian signed integer with two's-complement
 * wrap-around (a missing cell counts as 0; a value that is not exactly 8 bytes fails the whole
 * request with FAILED_PRECONDITION). Several rules on one column apply in request order, each
 * seeing the previous one's result. The new cell's timestamp is the greater of the existing
 * latest timestamp and `nowMicros` (the Cloud Bigtable RPC reference).
 */
import { errors } from '../common/errors.js';
import { CELL_VALUE_BYTES_MAX, READ_MODIFY_WRITE_RULES_MAX } from '../common/limits.js';
import { validateFamilyName, validateQualifier } from './mutation.js';
import { bytesOf, parseInt64 } from './proto-scalars.js';
import type { ReadModifyWriteRule } from './proto-types.js';

/** Width of an incrementable cell value. */
export const INCREMENT_VALUE_BYTES = 8;

/** A validated rule. */
export type ValidReadModifyWriteRule =
  | { readonly kind: 'append'; readonly family: string; readonly qualifier: Buffer; readonly value: Buffer }
  | {
      readonly kind: 'increment';
      readonly family: string;
      readonly qualifier: Buffer;
      readonly amount: bigint;
    };

/** The latest version of a column, as read from the row. */
export interface LatestCell {
  readonly value: Buffer;
  readonly timestampMicros: number;
}

/** The new latest version of one modified column. */
export interface ReadModifyWriteResult {
  readonly family: string;
  readonly qualifier: Buffer;
  readonly value: Buffer;
  readonly timestampMicros: number;
}

/** Validates the rules of one ReadModifyWriteRow request (at least one, at most the limit). */
export function validateReadModifyWriteRules(
  rules: readonly ReadModifyWriteRule[] | undefined,
  field = 'rules',
): ValidReadModifyWriteRule[] {
  const list = rules ?? [];
  if (list.length === 0) throw errors.invalidArgument('no read-modify-write rules provided', { field });
  if (list.length > READ_MODIFY_WRITE_RULES_MAX) {
    throw errors.invalidArgument('too many read-modify-write rules', {
      field,
      count: list.length,
      countMax: READ_MODIFY_WRITE_RULES_MAX,
    });
  }
  return list.map((rule, i) => {
    const f = `${field}[${i}]`;
    const family = validateFamilyName(rule?.familyName, `${f}.family_name`);
    const qualifier = validateQualifier(rule.columnQualifier, `${f}.column_qualifier`);
    switch (rule.rule) {
      case 'appendValue':
        return { kind: 'append', family, qualifier, value: bytesOf(rule.appendValue) };
      case 'incrementAmount':
        return {
          kind: 'increment',
          family,
          qualifier,
          amount: parseInt64(rule.incrementAmount, `${f}.increment_amount`),
        };
      case undefined:
        throw errors.invalidArgument('read-modify-write rule has no rule set', { field: f });
      default:
        throw errors.invalidArgument('unknown read-modify-write rule', { field: f, rule: String(rule.rule) });
    }
  });
}

/** Adds `amount` to an 8-byte big-endian signed value, wrapping around like int64 arithmetic. */
export function incrementInt64(current: Buffer | undefined, amount: bigint, field = 'rule'): Buffer {
  let base = 0n;
  if (current !== undefined) {
    if (current.length !== INCREMENT_VALUE_BYTES) {
      throw errors.failedPrecondition('cannot increment a value that is not a 64-bit big-endian integer', {
        field,
        valueBytes: current.length,
      });
    }
    base = current.readBigInt64BE(0);
  }
  const out = Buffer.alloc(INCREMENT_VALUE_BYTES);
  out.writeBigInt64BE(BigInt.asIntN(64, base + amount), 0);
  return out;
}

interface ColumnState {
  family: string;
  qualifier: Buffer;
  value: Buffer | undefined;
  existingMicros: number | undefined;
}

/**
 * Applies `rules` to the latest values `latest(family, qualifier)` returns and yields the new
 * latest value of each touched column, in order of first mention. Validates the rules first.
 * `nowMicros` is the server time at the table's granularity.
 */
export function applyReadModifyWrite(
  rules: readonly ReadModifyWriteRule[] | undefined,
  latest: (family: string, qualifier: Buffer) => LatestCell | undefined,
  nowMicros: number,
): ReadModifyWriteResult[] {
  const valid = validateReadModifyWriteRules(rules);
  // Keyed by family and qualifier; family names cannot contain NUL, so the key is unambiguous.
  const columns = new Map<string, ColumnState>();
  valid.forEach((rule, i) => {
    const key = `${rule.family}\u0000${rule.qualifier.toString('latin1')}`;
    let state = columns.get(key);
    if (state === undefined) {
      const cell = latest(rule.family, rule.qualifier);
      state = {
        family: rule.family,
        qualifier: rule.qualifier,
        value: cell?.value,
        existingMicros: cell?.timestampMicros,
      };
      columns.set(key, state);
    }
    if (rule.kind === 'append') {
      const size = (state.value?.length ?? 0) + rule.value.length;
      if (size > CELL_VALUE_BYTES_MAX) {
        throw errors.failedPrecondition('appended value would exceed the value size limit', {
          field: `rules[${i}]`,
          bytes: size,
          bytesMax: CELL_VALUE_BYTES_MAX,
        });
      }
      state.value =
        state.value === undefined ? Buffer.from(rule.value) : Buffer.concat([state.value, rule.value]);
    } else {
      state.value = incrementInt64(state.value, rule.amount, `rules[${i}]`);
    }
  });
  return [...columns.values()].map((s) => ({
    family: s.family,
    qualifier: s.qualifier,
    value: s.value as Buffer,
    timestampMicros: Math.max(s.existingMicros ?? nowMicros, nowMicros),
  }));
}
