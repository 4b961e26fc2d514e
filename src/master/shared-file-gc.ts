/**
 * Garbage collection of shared files by the master: mark-and-sweep over the METADATA catalog and
 * the manifests of every live tablet in the shared directory. After a split or merge in a cluster
 * the children reference the parents' SSTables (src/storage/file-refs.ts) and no tablet server
 * deletes anything in a parent's directory (src/cluster/owned-tablets.ts): it cannot know which
 * other server's tablets still read there. The master can, since the catalog names every live
 * tablet and each live tablet's manifest names every file it reads.
 *
 * One sweep, per table, on the metadata service's chain (so no split or merge commits meanwhile):
 * 1. Mark: read the live manifest of every tablet the catalog names live; every SSTable a manifest
 *    names (its own, or a reference `dir/number`) is marked. A manifest that cannot be read (its
 *    owner is rewriting it) skips the table for this sweep: nothing of it is deleted.
 * 2. Sweep: a directory in the table's directory that no live tablet names (a retired parent, the
 *    children of a split that never committed) is garbage once it has been seen so for the grace
 *    period; in it, every file that is not a marked SSTable and has been seen unmarked for the
 *    grace period is deleted, the manifest pointers first (so a child whose commit still comes is
 *    refused as incomplete, never made live half-deleted: src/master/split-coordinator.ts), and the
 *    directory itself once nothing is left. Live tablets' directories are their owners' to manage.
 *
 * Why the mark is safe: references are created only by a split or merge, and only to files its
 * parents reference, whose compactions stop until the change commits or rolls back; a live
 * tablet's references only shrink. So every file an uncommitted child references is referenced by
 * a live parent, hence marked. The grace period (`FILE_GC_GRACE_MS_DEFAULT`) keeps the directories
 * of a change in flight, and anything a process created a moment ago, out of reach.
 *
 * State: when each unmarked path was first seen (in memory; a new master starts afresh, which
 * only delays deletions). Concurrency: single event-loop thread; sweeps run one at a time.
 */
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { parseFileName, pointerEpoch, sstFileName } from '../storage/file-names.js';
import { ManifestStore } from '../storage/manifest-store.js';
import type { FileMeta } from '../storage/version-edit.js';
import { joinPath, type Vfs } from '../storage/vfs.js';
import type { MetadataService } from '../tablet/metadata-service.js';
import { tableDirOf } from '../tablet/tablet-lifecycle.js';

/**
 * Every SSTable the live manifest of tablet directory `tabletDir` (in `tableDir`) names, as paths
 * relative to the table's directory (`<dir>/<number>.sst`).
 */
export async function manifestFiles(vfs: Vfs, tableDir: string, tabletDir: string): Promise<string[]> {
  const { edits } = await ManifestStore.recover(vfs, joinPath(tableDir, tabletDir));
  const live = new Map<number, FileMeta>();
  for (const edit of edits) {
    for (const d of edit.deletedFiles) live.delete(d.fileNumber);
    for (const a of edit.addedFiles) live.set(a.file.fileNumber, a.file);
  }
  return [...live.values()].map((m) =>
    m.source
      ? `${m.source.dir}/${sstFileName(m.source.fileNumber)}`
      : `${tabletDir}/${sstFileName(m.fileNumber)}`,
  );
}

/** What one sweep did. */
export interface GcSweepResult {
  filesDeleted: number;
  dirsRemoved: number;
  /** Tables skipped because a live manifest could not be read. */
  tablesSkipped: number;
}

/** What the collector works with. */
export interface SharedFileGcOptions {
  readonly metadata: MetadataService;
  readonly vfs: Vfs;
  /** The shared store directory. */
  readonly dir: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** How long a path must have been seen unreferenced before it is deleted. */
  readonly graceMs: number;
}

/** The master's collector of shared files (see the file comment). */
export class SharedFileGc {
  /** Unmarked path → when a sweep first saw it so (monotonic ms). */
  private seen = new Map<string, number>();
  /** Totals since the master started (logs, tests). */
  readonly totals: GcSweepResult = { filesDeleted: 0, dirsRemoved: 0, tablesSkipped: 0 };

  constructor(private readonly options: SharedFileGcOptions) {}

  /** One sweep over every table, on the metadata chain. */
  sweep(): Promise<GcSweepResult> {
    return this.options.metadata.serialized(() => this.sweepNow());
  }

  private async sweepNow(): Promise<GcSweepResult> {
    const { metadata } = this.options;
    const result: GcSweepResult = { filesDeleted: 0, dirsRemoved: 0, tablesSkipped: 0 };
    const seenBefore = this.seen;
    this.seen = new Map();
    for (const schema of metadata.listTables()) {
      const live = metadata.liveTablets(schema.tableId);
      if (!live) continue;
      const tableDir = tableDirOf(this.options.dir, metadata.record(schema.tableId));
      const marked = await this.mark(tableDir, [...live.keys()]);
      if (!marked) {
        result.tablesSkipped++;
        // Keep what was seen, so a skipped sweep does not restart the grace periods.
        for (const [path, at] of seenBefore) if (path.startsWith(`${tableDir}/`)) this.seen.set(path, at);
        continue;
      }
      for (const name of await this.options.vfs.list(tableDir)) {
        if (live.has(name)) continue;
        await this.sweepDir(tableDir, name, marked, seenBefore, result);
      }
    }
    this.totals.filesDeleted += result.filesDeleted;
    this.totals.dirsRemoved += result.dirsRemoved;
    this.totals.tablesSkipped += result.tablesSkipped;
    if (result.filesDeleted > 0 || result.dirsRemoved > 0)
      this.options.log.info(result, 'shared files collected');
    return result;
  }

  /** The marked files of a table, or undefined when a live manifest could not be read. */
  private async mark(tableDir: string, liveDirs: readonly string[]): Promise<Set<string> | undefined> {
    const marked = new Set<string>();
    for (const dir of liveDirs) {
      try {
        for (const f of await manifestFiles(this.options.vfs, tableDir, dir)) marked.add(f);
      } catch (err) {
        this.options.log.info({ err: String(err), tablet: dir }, 'live manifest unreadable; sweep skipped');
        return undefined;
      }
    }
    return marked;
  }

  /** Whether `path` has been seen unmarked for the grace period (and records it as seen). */
  private due(path: string, seenBefore: ReadonlyMap<string, number>): boolean {
    const nowMs = this.options.clock.monotonicMs();
    const first = seenBefore.get(path) ?? nowMs;
    this.seen.set(path, first);
    return nowMs - first >= this.options.graceMs;
  }

  private async sweepDir(
    tableDir: string,
    name: string,
    marked: ReadonlySet<string>,
    seenBefore: ReadonlyMap<string, number>,
    result: GcSweepResult,
  ): Promise<void> {
    const { vfs } = this.options;
    const path = joinPath(tableDir, name);
    const dirDue = this.due(path, seenBefore);
    const files = await vfs.list(path);
    // Manifest pointers first: a directory without one is never taken for a complete tablet.
    const ordered = [
      ...files.filter((f) => pointerEpoch(f) !== undefined || f.startsWith('CURRENT')),
      ...files.filter((f) => !(pointerEpoch(f) !== undefined || f.startsWith('CURRENT'))),
    ];
    let kept = 0;
    for (const f of ordered) {
      const parsed = parseFileName(f);
      if (parsed?.kind === 'sst' && marked.has(`${name}/${f}`)) {
        kept++;
        continue;
      }
      if (!(this.due(joinPath(path, f), seenBefore) && dirDue)) {
        kept++;
        continue;
      }
      await vfs.remove(joinPath(path, f));
      result.filesDeleted++;
    }
    if (kept === 0 && dirDue) {
      await vfs.removeDir(path);
      result.dirsRemoved++;
    } else if (result.filesDeleted > 0) {
      await vfs.syncDir(path);
    }
  }
}
