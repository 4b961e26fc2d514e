/**
 * Prefix filters: an SSTable's Bloom filter may be keyed on a PREFIX of each user key instead of
 * the whole key, so a scan whose keys all share one prefix (a layer above: every cell of one row)
 * skips the tables that hold no key with that prefix without reading their index or data blocks.
 *
 * The prefix of a key is the key up to and including the first occurrence of a delimiter byte
 * string; a key without the delimiter is its own prefix. The rule is generic (the engine knows
 * nothing of what the delimiter means to the layer above) and plain data, so it crosses into the
 * compaction workers as part of the writer options.
 *
 * Contract that makes a prefix probe sound: if `p` is a prefix (`isWholePrefix(spec, p)`), every
 * key that begins with `p` has prefix `p` — its first delimiter occurrence is the one `p` ends
 * with, because an occurrence that started inside `p` earlier would already be in `p`. So a scan
 * of keys that all begin with `p` may skip any table whose prefix filter rules `p` out.
 *
 * PERSISTED: the filter block of a table written with a prefix rule is named
 * `PREFIX_FILTER_BLOCK_PREFIX + prefixRuleName(rule)` (docs/format/sstable.md, "Filter block").
 */
import { assert } from '../common/assert.js';
import { FILTER_PREFIX_DELIMITER_BYTES_MAX } from '../common/limits.js';

/** Meta block names of prefix filters begin with this; the rule's name follows. PERSISTED. */
export const PREFIX_FILTER_BLOCK_PREFIX = 'tabula.filter.bloom.prefix:';
/** Rule names: `delimited-` and the delimiter in lowercase hex. PERSISTED. */
const RULE_NAME_PREFIX = 'delimited-';

/** How keys map to their filter prefix: up to and including the first `delimiter`. */
export interface PrefixRule {
  readonly delimiter: Uint8Array;
}

/** The rule's persisted name, e.g. `delimited-0001`. */
export function prefixRuleName(rule: PrefixRule): string {
  return RULE_NAME_PREFIX + Buffer.from(rule.delimiter).toString('hex');
}

/** The rule a persisted name stands for, or undefined when the name is not one this code knows. */
export function parsePrefixRuleName(name: string): PrefixRule | undefined {
  if (!name.startsWith(RULE_NAME_PREFIX)) return undefined;
  const hex = name.slice(RULE_NAME_PREFIX.length);
  if (!/^(?:[0-9a-f]{2})+$/.test(hex) || hex.length / 2 > FILTER_PREFIX_DELIMITER_BYTES_MAX) return undefined;
  return { delimiter: Buffer.from(hex, 'hex') };
}

/** Checks a rule given in options. */
export function validPrefixRule(rule: PrefixRule): boolean {
  return rule.delimiter.length > 0 && rule.delimiter.length <= FILTER_PREFIX_DELIMITER_BYTES_MAX;
}

/** Length of the prefix of `key` under `rule`. */
export function prefixLength(rule: PrefixRule, key: Uint8Array): number {
  const d = rule.delimiter;
  const first = d[0] as number;
  const last = key.length - d.length;
  outer: for (let i = 0; i <= last; i++) {
    if (key[i] !== first) continue;
    for (let j = 1; j < d.length; j++) if (key[i + j] !== d[j]) continue outer;
    return i + d.length;
  }
  return key.length;
}

/** Whether `p` is its own prefix and ends with the delimiter: every key beginning with it has prefix `p`. */
export function isWholePrefix(rule: PrefixRule, p: Uint8Array): boolean {
  // A key without the delimiter is its own prefix, but a longer key beginning with it is not.
  const d = rule.delimiter;
  if (p.length < d.length) return false;
  for (let j = 0; j < d.length; j++) if (p[p.length - d.length + j] !== d[j]) return false;
  return prefixLength(rule, p) === p.length;
}

/**
 * Whether every key in [start, end) begins with `p`: `start` begins with `p` and `end` is at most
 * the least key above every key beginning with `p`.
 */
export function rangeWithinPrefix(p: Uint8Array, start: Uint8Array, end: Uint8Array | undefined): boolean {
  if (end === undefined || start.length < p.length) return false;
  if (Buffer.compare(Buffer.from(start.buffer, start.byteOffset, p.length), p) !== 0) return false;
  const above = prefixSuccessor(p);
  return above !== undefined && Buffer.compare(end, above) <= 0;
}

/** The least key above every key beginning with `p`; undefined when `p` is all 0xff bytes. */
function prefixSuccessor(p: Uint8Array): Buffer | undefined {
  for (let i = p.length - 1; i >= 0; i--) {
    const b = p[i] as number;
    if (b !== 0xff) {
      const out = Buffer.from(p.subarray(0, i + 1));
      out[i] = b + 1;
      return out;
    }
  }
  return undefined;
}

/** Asserts the form of a rule passed in options. */
export function checkPrefixRule(rule: PrefixRule | undefined): void {
  if (rule !== undefined)
    assert(
      validPrefixRule(rule),
      `filter prefix delimiter must be 1..${FILTER_PREFIX_DELIMITER_BYTES_MAX} bytes`,
    );
}
