/**
 * Keeps two openers off one store directory. Within a process, a registry of open directories;
 * across processes on a real disk, a `LOCK` file holding the owner's pid — a lock left by a dead
 * process (after kill -9) is taken over, one held by a live process is refused.
 */
import { ErrorCode, errors, hasCode } from '../common/errors.js';
import { RealVfs } from './real-vfs.js';
import { joinPath, type Vfs } from './vfs.js';

const LOCK_FILE_NAME = 'LOCK';
const openInProcess = new WeakMap<Vfs, Set<string>>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A held lock on a store directory. */
export class StoreLock {
  private constructor(
    private readonly vfs: Vfs,
    private readonly dir: string,
  ) {}

  /** Takes the lock or fails with FAILED_PRECONDITION. */
  static async acquire(vfs: Vfs, dir: string): Promise<StoreLock> {
    const held = openInProcess.get(vfs) ?? new Set<string>();
    openInProcess.set(vfs, held);
    if (held.has(dir)) throw errors.failedPrecondition('store is already open in this process', { dir });
    if (vfs instanceof RealVfs) {
      const path = joinPath(dir, LOCK_FILE_NAME);
      try {
        const pid = Number((await vfs.readFile(path)).toString('utf8').trim());
        if (pid !== process.pid && Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
          throw errors.failedPrecondition('store is open by another process', { dir, pid });
        }
      } catch (err) {
        if (!hasCode(err, ErrorCode.NotFound)) throw err;
      }
      const f = await vfs.createWritable(path);
      await f.append(Buffer.from(`${process.pid}\n`));
      await f.close();
    }
    held.add(dir);
    return new StoreLock(vfs, dir);
  }

  async release(): Promise<void> {
    openInProcess.get(this.vfs)?.delete(this.dir);
    if (this.vfs instanceof RealVfs) await this.vfs.remove(joinPath(this.dir, LOCK_FILE_NAME));
  }
}
