/**
 * The files of one table's namespace (its directory): which tablet directories are live, how many
 * live references each physical SSTable has, and the deletion of what nothing needs.
 *
 * A live tablet's store deletes its own obsolete files itself. Files of a *retired* tablet
 * directory (a split or merge parent) belong to no running store: they stay while a live tablet
 * refers to them (src/storage/file-refs.ts) and are deleted here once the last reference is
 * released — which happens only after the manifest edit or catalog commit that dropped it is
 * durable. A retired directory with no referenced SSTable left is removed whole.
 *
 * Concurrency: single event-loop thread; collections of one directory run one at a time.
 */
import { parseFileName, sstFileName } from '../storage/file-names.js';
import { type FileSource, sourceKey } from '../storage/file-refs.js';
import { joinPath, type Vfs } from '../storage/vfs.js';

export class NamespaceFiles {
  /** `dir/number` → live references to it. */
  private readonly refs = new Map<string, number>();
  private readonly liveDirs = new Set<string>();
  private collecting: Promise<void> = Promise.resolve();
  /**
   * Set while a table opens: its tablets open one at a time, and a compaction in one opened early
   * may release references before a tablet opened later has counted its own, which would drop a
   * shared file's count to zero and delete it. Releases then only count; `collectAll`, run once
   * every tablet is open, ends this and collects.
   */
  private opening: boolean;

  constructor(
    private readonly vfs: Vfs,
    /** The table's directory. */
    private readonly dir: string,
    options: { opening?: boolean } = {},
  ) {
    this.opening = options.opening ?? false;
  }

  /** Marks a tablet directory live: its files are its store's to manage. */
  markLive(tabletDir: string): void {
    this.liveDirs.add(tabletDir);
  }

  /** Marks a tablet directory retired and collects it. */
  retire(tabletDir: string): Promise<void> {
    this.liveDirs.delete(tabletDir);
    return this.collect([tabletDir]);
  }

  /** Counts references a store just opened holds. */
  addRefs(sources: readonly FileSource[]): void {
    for (const s of sources) this.refs.set(sourceKey(s), (this.refs.get(sourceKey(s)) ?? 0) + 1);
  }

  /** Drops references; files of retired directories nothing refers to any more are deleted. */
  release(sources: readonly FileSource[]): Promise<void> {
    const dirs = new Set<string>();
    for (const s of sources) {
      const key = sourceKey(s);
      const n = (this.refs.get(key) ?? 0) - 1;
      if (n > 0) this.refs.set(key, n);
      else this.refs.delete(key);
      if (n <= 0 && !this.liveDirs.has(s.dir)) dirs.add(s.dir);
    }
    return dirs.size > 0 && !this.opening ? this.collect([...dirs]) : Promise.resolve();
  }

  /** Live references to `dir/number`. */
  refCount(source: FileSource): number {
    return this.refs.get(sourceKey(source)) ?? 0;
  }

  /** Collects every directory of the namespace that is not live (at open, after a crash). */
  async collectAll(): Promise<void> {
    this.opening = false;
    const names = await this.vfs.list(this.dir);
    await this.collect(names.filter((n) => !this.liveDirs.has(n)));
  }

  private collect(dirs: readonly string[]): Promise<void> {
    const run = this.collecting.then(async () => {
      for (const d of dirs) if (!this.liveDirs.has(d)) await this.collectDir(d);
    });
    this.collecting = run.catch(() => undefined);
    return run;
  }

  private async collectDir(tabletDir: string): Promise<void> {
    const path = joinPath(this.dir, tabletDir);
    let kept = 0;
    for (const name of await this.vfs.list(path)) {
      const parsed = parseFileName(name);
      if (parsed?.kind !== 'sst') continue;
      if (this.refCount({ dir: tabletDir, fileNumber: parsed.number }) > 0) kept++;
      else await this.vfs.remove(joinPath(path, sstFileName(parsed.number)));
    }
    if (kept === 0) await this.vfs.removeDir(path);
  }
}
