/**
 * The compaction filter that removes cells garbage-collection rules make eligible, so they go
 * physically, not only from reads. Loaded by the storage engine inside its compaction worker (see
 * src/storage/compaction-filter.ts): it sees the newest version of each cell key in key order, so
 * the versions of one column arrive newest first, one after another.
 *
 * Soundness: a cell may be dropped only if reads would hide it too. Age is a property of the cell
 * alone. A version's position in its column is known only as a lower bound (newer versions may sit
 * outside the compaction), so version-count rules drop cells only when the compaction sees every
 * readable version of its range (`versionsComplete`); otherwise they keep them, and reads hide them.
 */

import { decodeCellKey, KEY_TIMESTAMP_BYTES } from '../model/cell-key.js';
import { compileGcRule, type GcPolicy } from '../model/gc-rule.js';
import type { GcRule } from '../model/proto-types.js';
import type { CompactionFilter, CompactionFilterContext } from '../storage/compaction-filter.js';
import { DATA_START_KEY } from './row-reader.js';

/** The filter's config: the table's families and their rules, and the time of the compaction. */
export interface GcFilterConfig {
  readonly families: ReadonlyArray<readonly [string, GcRule | null]>;
  readonly nowMicros: number;
}

/** The URL the engine loads this module from. */
export const GC_FILTER_MODULE = import.meta.url;

function eligible(
  policy: GcPolicy,
  index: number,
  tsMicros: number,
  nowMicros: number,
  complete: boolean,
): boolean {
  switch (policy.kind) {
    case 'keepAll':
      return false;
    case 'maxVersions':
      return complete && index >= policy.versions;
    case 'maxAge':
      return nowMicros - tsMicros > policy.ageMicros;
    case 'union':
      return policy.rules.some((r) => eligible(r, index, tsMicros, nowMicros, complete));
    case 'intersection':
      return policy.rules.every((r) => eligible(r, index, tsMicros, nowMicros, complete));
  }
}

/** Creates the filter (the engine calls this by name). */
export function createCompactionFilter(config: unknown, context: CompactionFilterContext): CompactionFilter {
  const { families, nowMicros } = config as GcFilterConfig;
  const policies = new Map<string, GcPolicy>();
  for (const [name, rule] of families) policies.set(name, compileGcRule(rule ?? undefined));
  let columnPrefix: Buffer | undefined;
  let index = 0;
  return {
    keep(userKey: Buffer): boolean {
      if (Buffer.compare(userKey, DATA_START_KEY) < 0) return true;
      const cell = decodeCellKey(userKey);
      const policy = policies.get(cell.family);
      if (!policy) return true;
      // The key without its timestamp identifies the column.
      const prefix = userKey.subarray(0, userKey.length - KEY_TIMESTAMP_BYTES);
      if (columnPrefix?.equals(prefix)) index++;
      else {
        columnPrefix = Buffer.from(prefix);
        index = 0;
      }
      return !eligible(policy, index, cell.timestampMicros, nowMicros, context.versionsComplete);
    },
  };
}
