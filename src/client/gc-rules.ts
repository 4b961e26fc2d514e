/**
 * GC rules between the API's typed form (`{ maxVersions }`, `{ maxAgeMs }`, `{ union }`,
 * `{ intersection }`) and the proto form (google.bigtable.admin.v2.GcRule). Encoding validates
 * through the model's `compileGcRule`, so a rule the server would refuse is refused here first.
 * Recursion is bounded by GC_RULE_DEPTH_MAX, checked before descending.
 */
import { errors } from '../common/errors.js';
import { GC_RULE_DEPTH_MAX } from '../common/limits.js';
import { compileGcRule } from '../model/gc-rule.js';
import type { GcRule as ProtoGcRule } from '../model/proto-types.js';
import { oneKeyOf } from './bytes-input.js';
import type { FamilyOptions, GcRule } from './client-types.js';

const MS_PER_SECOND = 1000;
const NANOS_PER_MS = 1_000_000;
const GC_RULE_KINDS = ['maxVersions', 'maxAgeMs', 'union', 'intersection'] as const;

function encodeNode(rule: GcRule, field: string, depth: number): ProtoGcRule {
  if (depth > GC_RULE_DEPTH_MAX) {
    throw errors.invalidArgument('gc rule nested too deeply', { field, depthMax: GC_RULE_DEPTH_MAX });
  }
  const kind = oneKeyOf(rule, GC_RULE_KINDS, field);
  const r = rule as Record<string, unknown>;
  switch (kind) {
    case 'maxVersions':
      return { rule: 'maxNumVersions', maxNumVersions: r.maxVersions as number };
    case 'maxAgeMs': {
      const ms = r.maxAgeMs;
      if (typeof ms !== 'number' || !Number.isSafeInteger(ms)) {
        throw errors.invalidArgument('maxAgeMs must be a whole number of milliseconds', {
          field: `${field}.maxAgeMs`,
        });
      }
      const seconds = Math.trunc(ms / MS_PER_SECOND);
      return {
        rule: 'maxAge',
        maxAge: { seconds: String(seconds), nanos: (ms % MS_PER_SECOND) * NANOS_PER_MS },
      };
    }
    case 'union':
    case 'intersection': {
      const list = r[kind];
      if (!Array.isArray(list))
        throw errors.invalidArgument(`${kind} must be a list`, { field: `${field}.${kind}` });
      const rules = list.map((sub: GcRule, i: number) =>
        encodeNode(sub, `${field}.${kind}[${i}]`, depth + 1),
      );
      return kind === 'union'
        ? { rule: 'union', union: { rules } }
        : { rule: 'intersection', intersection: { rules } };
    }
  }
}

/**
 * The proto form of a family's GC rule, validated; undefined (keep everything) for an absent
 * rule or `{}`.
 */
export function encodeGcRule(rule: FamilyOptions | undefined, field: string): ProtoGcRule | undefined {
  if (rule === undefined || (typeof rule === 'object' && rule !== null && Object.keys(rule).length === 0)) {
    return undefined;
  }
  const proto = encodeNode(rule as GcRule, field, 1);
  compileGcRule(proto, field);
  return proto;
}

function durationMs(duration: { seconds?: string | number; nanos?: number } | undefined): number {
  return Number(duration?.seconds ?? 0) * MS_PER_SECOND + Math.trunc((duration?.nanos ?? 0) / NANOS_PER_MS);
}

/** The typed form of a stored proto GC rule; undefined when it keeps everything. */
export function decodeGcRule(rule: ProtoGcRule | undefined | null, depth = 1): GcRule | undefined {
  if (rule === undefined || rule === null || depth > GC_RULE_DEPTH_MAX) return undefined;
  const kind = rule.rule ?? GC_PROTO_KINDS.find((k) => rule[k] !== undefined && rule[k] !== null);
  const subRules = (list: ProtoGcRule[] | undefined): GcRule[] =>
    (list ?? []).map((r) => decodeGcRule(r, depth + 1)).filter((r): r is GcRule => r !== undefined);
  switch (kind) {
    case 'maxNumVersions':
      return { maxVersions: Number(rule.maxNumVersions) };
    case 'maxAge':
      return { maxAgeMs: durationMs(rule.maxAge) };
    case 'union':
      return { union: subRules(rule.union?.rules) };
    case 'intersection':
      return { intersection: subRules(rule.intersection?.rules) };
    default:
      return undefined;
  }
}

const GC_PROTO_KINDS = ['maxNumVersions', 'maxAge', 'union', 'intersection'] as const;
