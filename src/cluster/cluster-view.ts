/**
 * A process's view of the cluster keys (src/cluster/cluster-keys.ts): live servers, the master,
 * table records, assignments, loaded reports and move requests, kept current by listing `cluster/` and watching
 * it from the next revision. Tablet servers route and open tablets from it; the master follows the
 * servers and loaded reports through it.
 *
 * `refresh()` restarts the view: it stops the watch, lists again and watches from the listed
 * revision + 1, so no event is lost or applied twice (coordination.ts's list-then-watch rule).
 * A watch that breaks (compaction, lost connection) is restarted the same way, and again every
 * CLUSTER_VIEW_RETRY_MS while coordination cannot be reached (the maps keep their last state).
 *
 * Concurrency: single event-loop thread. Listeners run after each applied change or snapshot;
 * they must not throw. Invariant: the maps reflect every change up to `revision` and none after,
 * except while a restart is in progress (then they hold the previous snapshot plus its events).
 */
import { CLUSTER_VIEW_RETRY_MS } from '../common/limits.js';
import type { Coordination, Unsubscribe } from '../coord/coordination.js';
import type { CoordinationTimers } from '../coord/coordination-timers.js';
import { rowStartKey } from '../model/cell-key.js';
import type { TableRecord } from '../tablet/catalog.js';
import { DATA_START_KEY } from '../tablet/row-reader.js';
import {
  ASSIGN_PREFIX,
  type Assignment,
  CLUSTER_PREFIX,
  decodeAssignment,
  decodeTableRecord,
  decodeValue,
  LOADED_PREFIX,
  type LoadedTablet,
  MASTER_KEY,
  type MasterInfo,
  MOVE_PREFIX,
  type MoveRequest,
  SERVERS_PREFIX,
  type ServerInfo,
  TABLES_PREFIX,
  tabletOfKey,
} from './cluster-keys.js';

/** One assigned tablet with its engine-key bounds, for routing. */
export interface RoutedTablet {
  readonly assignment: Assignment;
  /** First engine key of its range. */
  readonly startKey: Buffer;
  /** Engine key the range ends before; undefined: the table's end. */
  readonly endKey: Buffer | undefined;
}

/** What changed, for listeners. */
export type ViewListener = () => void;

/** The cluster as this process last saw it. */
export class ClusterView {
  readonly servers = new Map<string, ServerInfo>();
  readonly tables = new Map<string, TableRecord>();
  /** By table id, then tablet directory. */
  readonly assignments = new Map<string, Map<string, Assignment>>();
  /** By `<table id>/<tablet dir>`. */
  readonly loaded = new Map<string, LoadedTablet>();
  /** By `<table id>/<tablet dir>`: pending move requests. */
  readonly moveRequests = new Map<string, MoveRequest>();
  master: MasterInfo | undefined;
  revision = 0;
  private readonly sorted = new Map<string, RoutedTablet[]>();
  private readonly listeners = new Set<ViewListener>();
  private unsubscribe: Unsubscribe | undefined;
  private restarting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly coord: Coordination,
    private readonly timers: CoordinationTimers,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Lists and starts watching; resolves once the first snapshot is applied. */
  start(): Promise<void> {
    return this.refresh();
  }

  /** Re-lists and watches again (after a `moved` answer or a broken watch); coalesces callers. */
  refresh(): Promise<void> {
    this.restarting ??= this.restart().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  onChange(listener: ViewListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The assigned tablets of a table in range order (empty if none is known). */
  tabletsOf(tableId: string): readonly RoutedTablet[] {
    let list = this.sorted.get(tableId);
    if (list) return list;
    list = [...(this.assignments.get(tableId)?.values() ?? [])]
      .map((assignment) => ({
        assignment,
        startKey: assignment.tablet.startRow ? rowStartKey(assignment.tablet.startRow) : DATA_START_KEY,
        endKey: assignment.tablet.endRow ? rowStartKey(assignment.tablet.endRow) : undefined,
      }))
      .sort((a, b) => Buffer.compare(a.startKey, b.startKey));
    this.sorted.set(tableId, list);
    return list;
  }

  /** The assigned tablet whose range holds engine key `key`, if the view has one. */
  findTablet(tableId: string, key: Buffer): RoutedTablet | undefined {
    const list = this.tabletsOf(tableId);
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare((list[mid] as RoutedTablet).startKey, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const t = list[lo - 1];
    if (t === undefined) return undefined;
    return t.endKey === undefined || Buffer.compare(key, t.endKey) < 0 ? t : undefined;
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private async restart(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const { entries, revision } = await this.coord.listWithRevision(CLUSTER_PREFIX);
    if (this.closed) return;
    this.servers.clear();
    this.tables.clear();
    this.assignments.clear();
    this.loaded.clear();
    this.moveRequests.clear();
    this.sorted.clear();
    this.master = undefined;
    for (const e of entries) this.apply(e.key, e.value);
    this.revision = revision;
    this.unsubscribe = this.coord.watch(
      CLUSTER_PREFIX,
      (event) => {
        this.apply(event.key, event.value);
        this.revision = Math.max(this.revision, event.version);
        this.notify();
      },
      {
        fromRevision: revision + 1,
        onBroken: () => this.restartUntilDone(),
      },
    );
    this.notify();
  }

  /** Restarts a broken watch, again every CLUSTER_VIEW_RETRY_MS while coordination cannot be reached. */
  private restartUntilDone(): void {
    if (this.closed) return;
    this.refresh().catch((err) => {
      this.onError(err);
      this.timers.setTimer(CLUSTER_VIEW_RETRY_MS, () => this.restartUntilDone());
    });
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  /** Applies one key's new value (undefined: deleted). A value that does not decode is reported. */
  private apply(key: string, value: Buffer | undefined): void {
    try {
      this.applyOrThrow(key, value);
    } catch (err) {
      this.onError(err);
    }
  }

  private applyOrThrow(key: string, value: Buffer | undefined): void {
    if (key.startsWith(SERVERS_PREFIX)) {
      const id = key.slice(SERVERS_PREFIX.length);
      if (value) this.servers.set(id, decodeValue<ServerInfo>(key, value));
      else this.servers.delete(id);
    } else if (key.startsWith(TABLES_PREFIX)) {
      const id = key.slice(TABLES_PREFIX.length);
      if (value) this.tables.set(id, decodeTableRecord(key, value));
      else this.tables.delete(id);
    } else if (key.startsWith(ASSIGN_PREFIX)) {
      const { tableId, tabletDir } = tabletOfKey(key.slice(ASSIGN_PREFIX.length));
      this.sorted.delete(tableId);
      const table = this.assignments.get(tableId) ?? new Map<string, Assignment>();
      if (value) table.set(tabletDir, decodeAssignment(key, value));
      else table.delete(tabletDir);
      if (table.size > 0) this.assignments.set(tableId, table);
      else this.assignments.delete(tableId);
    } else if (key.startsWith(LOADED_PREFIX)) {
      const rest = key.slice(LOADED_PREFIX.length);
      if (value) this.loaded.set(rest, decodeValue<LoadedTablet>(key, value));
      else this.loaded.delete(rest);
    } else if (key.startsWith(MOVE_PREFIX)) {
      const rest = key.slice(MOVE_PREFIX.length);
      if (value) this.moveRequests.set(rest, decodeValue<MoveRequest>(key, value));
      else this.moveRequests.delete(rest);
    } else if (key === MASTER_KEY) {
      this.master = value ? decodeValue<MasterInfo>(key, value) : undefined;
    }
  }
}
