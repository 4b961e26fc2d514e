/**
 * Decides whether the emulator's and the candidate's outcomes of one operation agree, and if not,
 * whether an intended difference (intended-differences.ts) explains it. Pure; no I/O.
 *
 * Order: identical views agree; a candidate answering a never-excused code is unexplained; then
 * the applicable normalizing rules rewrite the views (the emulator's, or both) in order until the
 * views are identical — only rules that changed a view are credited; then the applicable
 * accepting rules are tried in order.
 */

import { ACCEPTING_RULES, NEVER_EXPLAINED_CODES, NORMALIZING_RULES } from './intended-differences.js';
import type { OutcomeView } from './outcome-view.js';
import { sameView } from './outcome-view.js';
import type { Operation } from './workload.js';

/** The verdict on one operation. */
export type Verdict =
  | { readonly kind: 'same' }
  | { readonly kind: 'explained'; readonly rules: readonly string[] }
  | {
      readonly kind: 'unexplained';
      /** The views after every applicable normalization. */
      readonly emulator: OutcomeView;
      readonly candidate: OutcomeView;
    };

/**
 * Compares `emulator` (the reference) with `candidate`. When the candidate is itself an emulator
 * (the self-check mode), emulator-side normalizations apply to it too.
 */
export function compareOutcomes(
  op: Operation,
  emulator: OutcomeView,
  candidate: OutcomeView,
  candidateIsEmulator: boolean,
): Verdict {
  if (sameView(emulator, candidate)) return { kind: 'same' };
  if (!candidateIsEmulator && NEVER_EXPLAINED_CODES.has(candidate.code)) {
    return { kind: 'unexplained', emulator, candidate };
  }
  const rules: string[] = [];
  let e = emulator;
  let c = candidate;
  for (const rule of NORMALIZING_RULES) {
    if (sameView(e, c)) break;
    if (!rule.applies(op)) continue;
    const e2 = rule.normalize(e, op);
    const c2 = rule.sides === 'both' || candidateIsEmulator ? rule.normalize(c, op) : c;
    if (!sameView(e2, e) || !sameView(c2, c)) rules.push(rule.id);
    e = e2;
    c = c2;
  }
  if (sameView(e, c)) return { kind: 'explained', rules };
  for (const rule of ACCEPTING_RULES) {
    if (rule.applies(op) && rule.accepts(e, c, op)) return { kind: 'explained', rules: [...rules, rule.id] };
  }
  return { kind: 'unexplained', emulator: e, candidate: c };
}
