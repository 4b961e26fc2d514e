/**
 * Where the tablets of a tablet host live and how their engines open and close: the layout
 * `<dir>/tables/<table dir>/<tablet dir>`, the engine options every tablet shares (file system,
 * compaction executor, block cache), the GC compaction filter each engine takes from its table's
 * schema, the counting of the SSTable references tablets share after splits and merges, and the
 * closing of tablets a split or merge retired. It also assembles what a split or merge needs from
 * the host (`SplitContext`, src/tablet/tablet-split.ts), whose catalog commit goes to the metadata
 * service (`MetadataCommits`, src/tablet/tablet-host-api.ts).
 *
 * Invariants: a tablet's references are counted in its table's NamespaceFiles before the releases
 * its engine reports are applied (releases before that are already reflected in what is counted);
 * a retired tablet's engine closes only once no scan reads it, and its files are collected after.
 *
 * Every open tablet carries the owner epoch it was opened under, and its engine fences the tablet's
 * directory with it (src/storage/owner-fence.ts): an owner whose epoch is no longer the highest can
 * commit nothing there. The children of a split or merge inherit their parents' epoch.
 *
 * Concurrency: single event-loop thread; closing retired tablets and releasing the files they held
 * run as the host's background tasks.
 */
import type { Clock, Rand } from '../common/clock.js';
import type { CompactionExecutor } from '../storage/compaction-executor.js';
import type { CompactionFilterSpec } from '../storage/compaction-filter.js';
import { Engine, type EngineOptions } from '../storage/engine.js';
import { joinPath, type Vfs } from '../storage/vfs.js';
import type { BackgroundTasks } from './background-tasks.js';
import type { TableRecord, TabletRecord } from './catalog.js';
import { GC_FILTER_MODULE, type GcFilterConfig } from './gc-compaction-filter.js';
import type { OpenTable } from './open-table.js';
import { ROW_FILTER_PREFIX } from './row-reader.js';
import type { TableSchema } from './table-store-api.js';
import { BigtableTablet } from './tablet.js';
import { TabletHandle } from './tablet-handle.js';
import type { MetadataCommits } from './tablet-host-api.js';
import type { SplitContext } from './tablet-split.js';

const MICROS_PER_MS = 1000;

/** Engine options every tablet shares: file system, executor, block cache. */
export type SharedEngineOptions = Omit<EngineOptions, 'dir'> & { vfs: Vfs; executor: CompactionExecutor };

/** The directory holding one directory per table, in the store's directory `dir`. */
export function tablesDirOf(dir: string): string {
  return joinPath(dir, 'tables');
}

/** The directory of a table's tablets, in the store's directory `dir`. */
export function tableDirOf(dir: string, record: TableRecord): string {
  return joinPath(tablesDirOf(dir), record.dirName);
}

/**
 * Fresh, unique tablet directory names: the time, a sequence and a random number. One generator
 * serves a store's table creations and its splits and merges.
 */
export class TabletDirNames {
  private dirSequence = 0;

  constructor(
    private readonly clock: Clock,
    private readonly rand: Rand,
  ) {}

  /** A fresh, unique tablet directory name. */
  next(): string {
    const seq = (this.dirSequence++).toString(36);
    return `t${Math.floor(this.clock.nowMs()).toString(36)}-${seq}-${this.rand.int(0x7fffffff).toString(36)}`;
  }
}

/** Opens and retires the tablets of one tablet host. */
export class TabletLifecycle {
  constructor(
    /** The store's directory. */
    private readonly dir: string,
    readonly shared: SharedEngineOptions,
    private readonly metadata: MetadataCommits,
    private readonly clock: Clock,
    private readonly dirNames: TabletDirNames,
    private readonly background: BackgroundTasks,
  ) {}

  /** The directory of a table's tablets. */
  tableDir(record: TableRecord): string {
    return tableDirOf(this.dir, record);
  }

  /** Engine options for the tablet directory `tabletDir` of `table`. */
  private engineOptions(table: OpenTable, tabletDir: string): EngineOptions {
    return {
      ...this.shared,
      dir: joinPath(this.tableDir(table.record), tabletDir),
      filterPrefix: ROW_FILTER_PREFIX,
    };
  }

  /** Opens the tablet `record` of `table` under `ownerEpoch`: its directory live, its references counted. */
  async openTablet(table: OpenTable, record: TabletRecord, ownerEpoch: number): Promise<TabletHandle> {
    // Releases before the references are counted below are already reflected in what is counted.
    let counted = false;
    const engine = await Engine.open({
      ...this.engineOptions(table, record.tabletDir),
      ownerEpoch,
      compactionFilter: () => this.gcFilter(table.record.schema),
      onSourcesReleased: (sources) => {
        if (counted) this.background.track(table.files.release(sources));
      },
    });
    table.files.markLive(record.tabletDir);
    table.files.addRefs(engine.referencedSources());
    counted = true;
    const tablet = new BigtableTablet(engine, table.record.schema, this.clock, record.timestampFloorMicros);
    return new TabletHandle(record, engine, tablet, ownerEpoch);
  }

  /** Closes a tablet once no scan reads it; with `collect`, deletes what nothing references. */
  private async retire(table: OpenTable, t: TabletHandle, collect: boolean): Promise<void> {
    await t.whenUnread();
    const held = t.engine.referencedSources();
    await t.engine.close();
    if (!collect) return;
    await table.files.retire(t.record.tabletDir);
    await table.files.release(held);
  }

  /** What a split or merge of `table`'s tablets needs; pauses are reported to `pauseObserved`. */
  splitContext(table: OpenTable, pauseObserved: SplitContext['pauseObserved']): SplitContext {
    return {
      commitTablets: (change) => this.metadata.commitTablets(change),
      clock: this.clock,
      storeOptions: (dir) => this.engineOptions(table, dir),
      newTabletDir: () => this.dirNames.next(),
      openTablet: (r, ownerEpoch) => this.openTablet(table, r, ownerEpoch),
      rebind: (t, record) =>
        new TabletHandle(
          record,
          t.engine,
          new BigtableTablet(t.engine, table.record.schema, this.clock, record.timestampFloorMicros),
          t.ownerEpoch,
        ),
      countRefs: (refs) => table.files.addRefs(refs.flatMap((r) => (r.file.source ? [r.file.source] : []))),
      retireTablet: (t) => this.background.track(this.retire(table, t, true)),
      abandonTablet: (t) => this.background.track(this.retire(table, t, false)),
      tablets: () => table.tablets,
      pauseObserved,
    };
  }

  /** The compaction filter that removes what the table's GC rules make eligible. */
  private gcFilter(schema: TableSchema): CompactionFilterSpec | undefined {
    const families = [...schema.families.values()].filter((f) => f.gcRule !== undefined);
    if (families.length === 0) return undefined;
    const config: GcFilterConfig = {
      families: families.map((f) => [f.name, f.gcRule ?? null] as const),
      nowMicros: Math.floor(this.clock.nowMs()) * MICROS_PER_MS,
    };
    return { module: GC_FILTER_MODULE, config };
  }
}
