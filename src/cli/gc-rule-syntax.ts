/**
 * The GC rule syntax of the command line, after cbt's:
 *
 *   never                          keep every version (no rule)
 *   maxversions=2                  keep the newest 2 versions of each column
 *   maxage=30d                     drop versions older than 30 days (units: ms, s, m, h, d)
 *   maxage=1d or maxversions=2     union: drop a version if ANY part would
 *   maxage=1d and maxversions=2    intersection: drop a version only if EVERY part would
 *
 * `and` binds tighter than `or`, so `a or b and c` is `a or (b and c)`; parentheses are not
 * accepted. Words are case-insensitive. Pure functions.
 */
import type { GcRule } from '../client/index.js';
import { usage } from './cli-output.js';

const MS_PER_UNIT: ReadonlyMap<string, number> = new Map([
  ['ms', 1],
  ['s', 1_000],
  ['m', 60_000],
  ['h', 3_600_000],
  ['d', 86_400_000],
]);

function parseDurationMs(text: string): number {
  const match = /^([0-9]+)(ms|s|m|h|d)$/.exec(text);
  const unit = match ? MS_PER_UNIT.get(match[2] as string) : undefined;
  const ms = match && unit ? Number(match[1]) * unit : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 1) {
    usage(
      `maxage must be a positive whole duration like 30d, 12h, 90m, 10s or 500ms, got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

function parseAtom(text: string): GcRule {
  const match = /^(maxversions|maxage)=(\S+)$/i.exec(text.trim());
  if (!match)
    usage(`gc rule part must be maxversions=N or maxage=DURATION, got ${JSON.stringify(text.trim())}`);
  const value = match[2] as string;
  if ((match[1] as string).toLowerCase() === 'maxage') return { maxAgeMs: parseDurationMs(value) };
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    usage(`maxversions must be a whole number ≥ 1, got ${JSON.stringify(value)}`);
  }
  return { maxVersions: n };
}

/** Parses a rule; undefined for `never` (keep everything). Throws a usage error on bad syntax. */
export function parseGcRule(text: string): GcRule | undefined {
  const trimmed = text.trim();
  if (/^never$/i.test(trimmed)) return undefined;
  if (trimmed.length === 0) usage('gc rule is empty (use never to keep every version)');
  if (/[()]/.test(trimmed)) usage('gc rule: parentheses are not supported; and binds tighter than or');
  const union = trimmed.split(/\s+or\s+/i).map((part) => {
    const intersection = part.split(/\s+and\s+/i).map(parseAtom);
    return intersection.length === 1 ? (intersection[0] as GcRule) : { intersection };
  });
  return union.length === 1 ? union[0] : { union };
}

function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = MS_PER_UNIT.get(unit) as number;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** The rule in the same syntax; `never` for none. Nested rules the syntax cannot say are bracketed. */
export function formatGcRule(rule: GcRule | undefined): string {
  if (rule === undefined) return 'never';
  if ('maxVersions' in rule) return `maxversions=${rule.maxVersions}`;
  if ('maxAgeMs' in rule) return `maxage=${formatDuration(rule.maxAgeMs)}`;
  const isUnion = 'union' in rule;
  const parts = isUnion ? rule.union : rule.intersection;
  const shown = parts.map((sub) => {
    const text = formatGcRule(sub);
    const needsBrackets = 'union' in sub || (!isUnion && 'intersection' in sub);
    return needsBrackets ? `(${text})` : text;
  });
  return shown.join(isUnion ? ' or ' : ' and ');
}
