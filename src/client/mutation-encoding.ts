/**
 * Mutations and read-modify-write rules from the API's typed form to the proto form, validated by
 * the model (`validateMutations`, `validateReadModifyWriteRules`) so the embedded store and a
 * server see exactly the same checks. A prepared list carries both forms: the embedded backend
 * applies the validated one, the remote backend sends the proto one.
 */
import { errors } from '../common/errors.js';
import type { ValidMutation } from '../model/mutation.js';
import { SERVER_TIMESTAMP_MICROS, validateMutations } from '../model/mutation.js';
import type { Mutation as ProtoMutation, ReadModifyWriteRule as ProtoRule } from '../model/proto-types.js';
import type { ValidReadModifyWriteRule } from '../model/read-modify-write.js';
import { validateReadModifyWriteRules } from '../model/read-modify-write.js';
import { oneKeyOf, toBuffer, typeName } from './bytes-input.js';
import type { Mutation, ReadModifyWriteRule } from './client-types.js';

/** A validated mutation list in both forms. */
export interface PreparedMutations {
  /** As sent to a server. */
  readonly proto: ProtoMutation[];
  /** As applied by the embedded store. */
  readonly valid: ValidMutation[];
  /**
   * Whether applying the list twice equals applying it once: false when a SetCell takes the
   * server's time (each attempt would write a new version).
   */
  readonly idempotent: boolean;
}

/** Validated read-modify-write rules in both forms. */
export interface PreparedRules {
  /** As sent to a server. */
  readonly proto: ProtoRule[];
  /** As applied by the embedded store. */
  readonly valid: ValidReadModifyWriteRule[];
}

const MUTATION_KINDS = ['setCell', 'deleteFromColumn', 'deleteFromFamily', 'deleteFromRow'] as const;
const RULE_KINDS = ['append', 'increment'] as const;

function optionalMicros(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw errors.invalidArgument('timestamp must be a whole number of microseconds', { field });
  }
  return String(value);
}

function member(m: unknown, key: string, field: string): Record<string, unknown> {
  const v = (m as Record<string, unknown>)[key];
  if (typeof v !== 'object' || v === null) {
    throw errors.invalidArgument('expected an object', { field: `${field}.${key}`, type: typeName(v) });
  }
  return v as Record<string, unknown>;
}

/** The proto form of one mutation (shape only; `validateMutations` checks values). */
export function encodeMutation(m: Mutation, field: string): ProtoMutation {
  const kind = oneKeyOf(m, MUTATION_KINDS, field);
  const f = `${field}.${kind}`;
  switch (kind) {
    case 'setCell': {
      const s = member(m, kind, field);
      return {
        mutation: 'setCell',
        setCell: {
          familyName: s.family as string,
          columnQualifier: toBuffer(s.qualifier as string, `${f}.qualifier`),
          value: toBuffer(s.value as string, `${f}.value`),
          timestampMicros:
            optionalMicros(s.timestampMicros, `${f}.timestampMicros`) ?? String(SERVER_TIMESTAMP_MICROS),
        },
      };
    }
    case 'deleteFromColumn': {
      const d = member(m, kind, field);
      const start = optionalMicros(d.startMicros, `${f}.startMicros`);
      const end = optionalMicros(d.endMicros, `${f}.endMicros`);
      return {
        mutation: 'deleteFromColumn',
        deleteFromColumn: {
          familyName: d.family as string,
          columnQualifier: toBuffer(d.qualifier as string, `${f}.qualifier`),
          ...(start === undefined && end === undefined
            ? {}
            : { timeRange: { startTimestampMicros: start, endTimestampMicros: end } }),
        },
      };
    }
    case 'deleteFromFamily':
      return {
        mutation: 'deleteFromFamily',
        deleteFromFamily: { familyName: member(m, kind, field).family as string },
      };
    case 'deleteFromRow':
      if ((m as { deleteFromRow: unknown }).deleteFromRow !== true) {
        throw errors.invalidArgument('deleteFromRow must be true', { field: f });
      }
      return { mutation: 'deleteFromRow', deleteFromRow: {} };
  }
}

/** Encodes and validates one row's mutations. `allowEmpty` for one branch of a check-and-mutate. */
export function prepareMutations(
  mutations: readonly Mutation[] | undefined,
  field: string,
  allowEmpty = false,
): PreparedMutations {
  if (mutations !== undefined && !Array.isArray(mutations)) {
    throw errors.invalidArgument('mutations must be a list', { field });
  }
  const proto = (mutations ?? []).map((m, i) => encodeMutation(m, `${field}[${i}]`));
  const valid = validateMutations(proto, { field, allowEmpty });
  const idempotent = valid.every(
    (m) => m.kind !== 'setCell' || m.timestampMicros !== SERVER_TIMESTAMP_MICROS,
  );
  return { proto, valid, idempotent };
}

/** Encodes and validates the rules of one read-modify-write. */
export function prepareRules(rules: readonly ReadModifyWriteRule[], field = 'rules'): PreparedRules {
  if (!Array.isArray(rules)) throw errors.invalidArgument('rules must be a list', { field });
  const proto = rules.map((rule, i): ProtoRule => {
    const f = `${field}[${i}]`;
    const kind = oneKeyOf(rule, RULE_KINDS, f);
    const r = member(rule, kind, f);
    const base = {
      familyName: r.family as string,
      columnQualifier: toBuffer(r.qualifier as string, `${f}.${kind}.qualifier`),
    };
    if (kind === 'append')
      return { ...base, rule: 'appendValue', appendValue: toBuffer(r.value as string, `${f}.append.value`) };
    const amount = r.amount;
    if (typeof amount !== 'bigint' && typeof amount !== 'number') {
      throw errors.invalidArgument('increment amount must be a number or a bigint', {
        field: `${f}.increment.amount`,
      });
    }
    if (typeof amount === 'number' && !Number.isSafeInteger(amount)) {
      throw errors.invalidArgument('increment amount must be a whole number', {
        field: `${f}.increment.amount`,
      });
    }
    return { ...base, rule: 'incrementAmount', incrementAmount: String(amount) };
  });
  return { proto, valid: validateReadModifyWriteRules(proto, field) };
}
