/**
 * Compaction filters: a way for the layer above to let compactions drop entries it no longer
 * needs (in Tabula, cells that garbage-collection rules make eligible) without the storage layer
 * knowing why. A filter is named by a module URL plus a structured-clone-able config, so it can be
 * loaded inside a compaction worker thread; the module exports `createCompactionFilter(config,
 * context)`.
 *
 * Contract: `keep` is called in key order, once per user key, for the newest version of the key,
 * only when that version is a value every snapshot sees. Returning false drops the key's value:
 * compaction writes a point tombstone in its place (or nothing at the bottom of the tree), so an
 * older version in a deeper level can never reappear.
 */

/** Names a filter: a module URL and its config. */
export interface CompactionFilterSpec {
  /** Absolute `file:` URL of an ES module exporting `createCompactionFilter`. */
  readonly module: string;
  readonly config: unknown;
}

/** What a filter knows of the compaction it runs in. */
export interface CompactionFilterContext {
  /**
   * True when the compaction sees every version of every key in its range that readers can see:
   * no deeper file overlaps it and no range tombstone outside its inputs touches it. Filters whose
   * decisions depend on other versions of related keys may only drop such keys when this is true.
   */
  readonly versionsComplete: boolean;
}

/** A loaded filter. */
export interface CompactionFilter {
  keep(userKey: Buffer, value: Buffer): boolean;
}

/** The factory a filter module exports. */
export type CreateCompactionFilter = (config: unknown, context: CompactionFilterContext) => CompactionFilter;

/** Loads the filter named by `spec`. */
export async function loadCompactionFilter(
  spec: CompactionFilterSpec,
  context: CompactionFilterContext,
): Promise<CompactionFilter> {
  const mod = (await import(spec.module)) as { createCompactionFilter?: CreateCompactionFilter };
  if (typeof mod.createCompactionFilter !== 'function') {
    throw new TypeError(`compaction filter module exports no createCompactionFilter: ${spec.module}`);
  }
  return mod.createCompactionFilter(spec.config, context);
}
