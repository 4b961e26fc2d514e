/**
 * Keeps two openers off one store directory, and numbers the openings.
 *
 * Two layers:
 * - Within a process, a registry of the directories open on each `Vfs` (this is the whole lock on
 *   the in-memory `MemVfs`, which lives in one process).
 * - Across processes on a real disk (`RealVfs`), an OS advisory lock on `LOCK` plus an owner epoch
 *   persisted in the directory (store-lock-disk.ts, which explains why a pid in a file was not
 *   enough: zombies, pid reuse, and a check-then-write race).
 *
 * The owner epoch is 1 at a directory's first opening and grows by one at each later one, durably
 * on a real disk (in memory, for the life of the `MemVfs`). It is the fencing token a later commit
 * point can check: a holder whose epoch is no longer the largest has lost the store.
 *
 * Concurrency: `acquire` registers the directory before its first await, so two concurrent
 * acquisitions in one process cannot both pass the registry. Invariant: a directory is in the
 * registry exactly while a `StoreLock` for it is held (or being acquired).
 */
import { errors } from '../common/errors.js';
import { RealVfs } from './real-vfs.js';
import { DiskStoreLock } from './store-lock-disk.js';
import type { Vfs } from './vfs.js';

const openInProcess = new WeakMap<Vfs, Set<string>>();
/** Epochs of directories on stores that are not on a real disk. */
const memoryEpochs = new WeakMap<Vfs, Map<string, number>>();

function nextMemoryEpoch(vfs: Vfs, dir: string): number {
  const epochs = memoryEpochs.get(vfs) ?? new Map<string, number>();
  memoryEpochs.set(vfs, epochs);
  const epoch = (epochs.get(dir) ?? 0) + 1;
  epochs.set(dir, epoch);
  return epoch;
}

/** A held lock on a store directory. */
export class StoreLock {
  private released = false;

  private constructor(
    private readonly vfs: Vfs,
    /** The locked directory. */
    readonly dir: string,
    /** The owner epoch of this opening: larger than that of every earlier opening of `dir`. */
    readonly epoch: number,
    private readonly disk: DiskStoreLock | undefined,
  ) {}

  /** Takes the lock or fails with FAILED_PRECONDITION naming the directory. */
  static async acquire(vfs: Vfs, dir: string): Promise<StoreLock> {
    const held = openInProcess.get(vfs) ?? new Set<string>();
    openInProcess.set(vfs, held);
    if (held.has(dir)) throw errors.failedPrecondition('store is already open in this process', { dir });
    held.add(dir);
    try {
      if (!(vfs instanceof RealVfs)) return new StoreLock(vfs, dir, nextMemoryEpoch(vfs, dir), undefined);
      await vfs.mkdirp(dir);
      const disk = await DiskStoreLock.acquire(dir);
      return new StoreLock(vfs, dir, disk.epoch, disk);
    } catch (err) {
      held.delete(dir);
      throw err;
    }
  }

  /** Releases the lock. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      this.disk?.release();
    } finally {
      openInProcess.get(this.vfs)?.delete(this.dir);
    }
  }
}
