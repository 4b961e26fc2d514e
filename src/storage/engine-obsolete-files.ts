/**
 * Deleting the files a store no longer needs: SSTables no live version, scan or job references,
 * WALs older than every memtable's, and manifests older than the one in use.
 *
 * Invariant: a file is removed only after the manifest commit that dropped it, and only if it is
 * still obsolete right before the removal. A file a job creates meanwhile is reserved (or installed)
 * by then, so it is never taken.
 *
 * Fencing: a store opened with an owner epoch deletes nothing once a higher epoch has fenced its
 * directory, and no store deletes a file numbered at or above its own next file number (a new
 * owner's files are numbered past a gap, see engine-recovery.ts), so a fenced owner never deletes
 * a file the new owner wrote, even when its check passed just before the fence landed.
 *
 * Concurrency: single event-loop thread; runs may overlap (after a flush, a compaction, a scan's
 * release), which is safe because liveness is decided again before every removal.
 */
import type { EngineState } from './engine-state.js';
import { parseFileName } from './file-names.js';
import type { FileSource } from './file-refs.js';
import { joinPath } from './vfs.js';

/** What obsolete-file deletion needs to know of the manifest log. */
export interface ManifestNumberSource {
  readonly manifestNumber: number;
}

/**
 * Removes files no live version, job or WAL needs; only ever after the manifest commit that
 * dropped them. Liveness is decided after the directory listing and again right before each
 * removal, so a file a job creates meanwhile (reserved, or installed by then) is never taken.
 */
export async function deleteObsoleteFiles(
  state: EngineState,
  manifests: ManifestNumberSource,
): Promise<void> {
  if (state.fence && !(await state.fence.stillOwner())) return;
  const released: FileSource[] = [];
  for (const n of state.tables.openNumbers()) {
    if (liveFileNumbers(state).has(n)) continue;
    const source = await state.tables.evict(n);
    if (source) released.push(source);
  }
  if (released.length > 0) state.opts.onSourcesReleased?.(released);
  const names = await state.opts.vfs.list(state.opts.dir);
  for (const name of names) {
    const parsed = parseFileName(name);
    if (!parsed || !isObsolete(state, manifests, parsed.kind, parsed.number)) continue;
    if (parsed.kind === 'sst') await state.tables.evict(parsed.number);
    if (!isObsolete(state, manifests, parsed.kind, parsed.number)) continue;
    await state.opts.vfs.remove(joinPath(state.opts.dir, name));
  }
}

function isObsolete(
  state: EngineState,
  manifests: ManifestNumberSource,
  kind: 'wal' | 'sst' | 'manifest',
  number: number,
): boolean {
  // Not a number this store handed out: another owner's file.
  if (number >= state.nextFileNumber) return false;
  switch (kind) {
    case 'sst':
      return !liveFileNumbers(state).has(number);
    case 'wal':
      return number < Math.min(state.logNumber, ...state.immutables.map((i) => i.walNumber), state.walNumber);
    case 'manifest':
      // Only older manifests: a newer one may be a snapshot being written right now.
      return number < manifests.manifestNumber;
  }
}

/** Files of the current version, of versions scans still pin, and reserved by running jobs. */
function liveFileNumbers(state: EngineState): Set<number> {
  const live = new Set<number>(state.version.fileNumbers());
  for (const v of state.pinned) {
    if (v.refs === 0 && v !== state.version) state.pinned.delete(v);
    else for (const n of v.fileNumbers()) live.add(n);
  }
  for (const n of state.reservedFileNumbers) live.add(n);
  return live;
}
