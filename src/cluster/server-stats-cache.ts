/**
 * The tablet servers' latest statistics reports (`cluster-stats/<server id>`,
 * src/cluster/cluster-keys.ts), re-read from coordination when asked: the master's balancer reads
 * them every round, the consoles on every view they build. Reports this build cannot decode
 * (another key version) are skipped. Single event-loop thread; concurrent refreshes coalesce.
 */
import type { Coordination } from '../coord/coordination.js';
import { decodeValue, type ServerStats, STATS_PREFIX, type TabletStatsReport } from './cluster-keys.js';

/** The servers' latest statistics reports. */
export class ServerStatsCache {
  private reports = new Map<string, ServerStats>();
  private byTablet = new Map<string, TabletStatsReport>();
  private refreshing: Promise<void> | undefined;

  constructor(private readonly coord: Coordination) {}

  /** Re-reads every report (coalesces concurrent callers). */
  refresh(): Promise<void> {
    this.refreshing ??= this.read().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** The report of `serverId`, if any. */
  server(serverId: string): ServerStats | undefined {
    return this.reports.get(serverId);
  }

  /** A tablet's entry in its server's report, if any. */
  tablet(tableId: string, tabletDir: string): TabletStatsReport | undefined {
    return this.byTablet.get(`${tableId}/${tabletDir}`);
  }

  private async read(): Promise<void> {
    const entries = await this.coord.list(STATS_PREFIX);
    const reports = new Map<string, ServerStats>();
    const byTablet = new Map<string, TabletStatsReport>();
    for (const e of entries) {
      let report: ServerStats;
      try {
        report = decodeValue<ServerStats>(e.key, e.value);
      } catch {
        continue; // A report this build cannot read (another version): the console shows none.
      }
      reports.set(e.key.slice(STATS_PREFIX.length), report);
      for (const t of report.tablets ?? []) byTablet.set(`${t.tableId}/${t.tabletDir}`, t);
    }
    this.reports = reports;
    this.byTablet = byTablet;
  }
}
