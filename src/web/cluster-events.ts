/**
 * The cluster's recent events as one process sees them, for its console and `/metrics`: servers
 * joining and leaving, tablets assigned, moved (the old server still registered), failed over
 * (the old server gone) and unassigned (split, merged or deleted). They are not stored anywhere:
 * each process works them out by comparing successive states of its cluster view
 * (src/cluster/cluster-view.ts), so a process knows only what happened while it watched, and a
 * change undone between two notifications is not seen.
 *
 * The first state seen (at start, and after each re-listing) is the baseline; only later
 * differences are events. A server whose key is deleted "left": the key goes when its session
 * expires (it died or was cut off) or when it shuts down cleanly; both look the same here.
 *
 * Ownership: one log per process, on the event-loop thread, fed by the view's change listener.
 * Bounded: the last CLUSTER_CONSOLE_EVENTS_MAX events are kept; the counters only grow.
 */
import type { ClusterView } from '../cluster/cluster-view.js';
import type { Clock } from '../common/clock.js';
import { CLUSTER_CONSOLE_EVENTS_MAX } from '../common/limits.js';

/** Kinds of events; also the `kind` label of `tabula_cluster_events_total`. */
export const CLUSTER_EVENT_KINDS = [
  'server_joined',
  'server_left',
  'tablet_assigned',
  'tablet_moved',
  'tablet_failed_over',
  'tablet_unassigned',
] as const;

/** One kind of event. */
export type ClusterEventKind = (typeof CLUSTER_EVENT_KINDS)[number];

/** One event. */
export interface ClusterEvent {
  /** When this process saw it, in ms since the epoch. */
  readonly timeMs: number;
  readonly kind: ClusterEventKind;
  /** The server that joined or left, or the tablet's (new) server. */
  readonly server: string;
  /** The tablet's previous server (moves and failovers). */
  readonly fromServer?: string;
  readonly tableId?: string;
  readonly tabletDir?: string;
  readonly ownerEpoch?: number;
}

interface Placed {
  readonly server: string;
  readonly ownerEpoch: number;
}

/** Follows a cluster view and turns its changes into events. */
export class ClusterEventLog {
  private readonly recent: ClusterEvent[] = [];
  private readonly counts = new Map<ClusterEventKind, number>(CLUSTER_EVENT_KINDS.map((k) => [k, 0]));
  private servers = new Set<string>();
  private tablets = new Map<string, Placed>();
  private lastRevision = -1;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly view: ClusterView,
    private readonly clock: Clock,
  ) {
    this.snapshot();
    this.unsubscribe = view.onChange(() => this.onChange());
  }

  /** The events kept, newest first. */
  events(): readonly ClusterEvent[] {
    return [...this.recent].reverse();
  }

  /** How many events of each kind this process has seen. */
  totals(): ReadonlyMap<ClusterEventKind, number> {
    return this.counts;
  }

  /** Stops following the view. */
  close(): void {
    this.unsubscribe();
  }

  private snapshot(): void {
    this.servers = new Set(this.view.servers.keys());
    this.tablets = new Map();
    for (const [tableId, byDir] of this.view.assignments)
      for (const [dir, a] of byDir) this.tablets.set(`${tableId}/${dir}`, a);
    this.lastRevision = this.view.revision;
  }

  private onChange(): void {
    // A re-listing that went back in revision (another etcd member behind) is a new baseline; any
    // other change, re-listing or watch event, is compared with the last state seen.
    if (this.view.revision < this.lastRevision) {
      this.snapshot();
      return;
    }
    const beforeServers = this.servers;
    const beforeTablets = this.tablets;
    this.snapshot();
    const now = this.clock.nowMs();
    for (const id of this.servers)
      if (!beforeServers.has(id)) this.add({ timeMs: now, kind: 'server_joined', server: id });
    for (const id of beforeServers)
      if (!this.servers.has(id)) this.add({ timeMs: now, kind: 'server_left', server: id });
    for (const [key, a] of this.tablets) {
      const before = beforeTablets.get(key);
      if (before?.server === a.server && before.ownerEpoch === a.ownerEpoch) continue;
      const slash = key.indexOf('/');
      const tablet = {
        tableId: key.slice(0, slash),
        tabletDir: key.slice(slash + 1),
        ownerEpoch: a.ownerEpoch,
      };
      if (before === undefined || before.server === a.server)
        this.add({ timeMs: now, kind: 'tablet_assigned', server: a.server, ...tablet });
      else
        this.add({
          timeMs: now,
          kind: this.servers.has(before.server) ? 'tablet_moved' : 'tablet_failed_over',
          server: a.server,
          fromServer: before.server,
          ...tablet,
        });
    }
    for (const [key, before] of beforeTablets) {
      if (this.tablets.has(key)) continue;
      const slash = key.indexOf('/');
      this.add({
        timeMs: now,
        kind: 'tablet_unassigned',
        server: before.server,
        tableId: key.slice(0, slash),
        tabletDir: key.slice(slash + 1),
        ownerEpoch: before.ownerEpoch,
      });
    }
  }

  private add(event: ClusterEvent): void {
    this.counts.set(event.kind, (this.counts.get(event.kind) ?? 0) + 1);
    this.recent.push(event);
    if (this.recent.length > CLUSTER_CONSOLE_EVENTS_MAX) this.recent.shift();
  }
}
