/**
 * The cross-process half of the store lock, on a real directory: an OS advisory lock (`flock`,
 * through the `fs-ext` addon) on the file `LOCK`, and an owner epoch persisted as the name of a file
 * `LOCK-EPOCH-<n>` created exclusively.
 *
 * Why an OS lock and not a pid in a file: the kernel drops the lock when the holder's last
 * descriptor of `LOCK` closes, and a process's descriptors close when it dies, by `kill -9` or
 * otherwise, BEFORE it becomes a zombie; so neither an unreaped zombie (which `kill(pid, 0)` still
 * finds) nor a pid handed to another program keeps a store locked, and `LOCK_EX|LOCK_NB` is one
 * atomic test-and-set in the kernel, so two openers started at once cannot both win (the old
 * read-pid-then-write had that window). Node opens files close-on-exec, so a child the holder
 * spawns does not inherit the lock.
 *
 * On a shared POSIX directory: Linux NFS clients (since 2.6.12) implement `flock` as a POSIX lock
 * on the whole file, which the NFS server arbitrates (NLM for v3, in-protocol for v4), so the lock
 * holds across machines, unless the mount says `local_lock=flock|all`. The trade-off of NFS locks:
 * they are leases; a client cut off from the server past the lease (NFSv4: 90 s by default) loses
 * the lock while its process still runs. That is what the epoch is for: each acquisition takes a
 * strictly larger number, durably, so a commit point can refuse a holder whose epoch is stale.
 * Being a POSIX lock on NFS, it is also dropped when the holder closes ANY descriptor of `LOCK`,
 * so nothing in the holding process but this file opens it.
 *
 * Weighed and set aside: a Unix-domain socket bound in the directory as a liveness probe, with an
 * exclusive `link()` of an epoch file for the takeover. A socket file on a shared directory proves
 * nothing to another machine (the socket lives in the binding host's kernel); a stale socket must
 * be unlinked and rebound, a window two starters can both pass, which the `link()` step must then
 * close; and `sun_path` holds 108 bytes, to which Node 20 silently truncates longer paths (a
 * 130-byte path bound a socket under its first 108 bytes, measured), while data directories can
 * be deeper. An addon of our own for Linux OFD locks (`F_OFD_SETLK`) would need a native build
 * of this project; `fs-ext` builds from source like `re2` already does, and flock gives the same
 * per-open-file semantics locally.
 *
 * Sequence of an acquisition (each step's crash leaves a store the next opener takes):
 *   1. open `LOCK` (created if absent, not truncated before it is locked, never removed:
 *      unlinking a lock file lets a waiter lock the old inode while a newcomer locks a new one);
 *   2. `flock(LOCK_EX|LOCK_NB)`; EAGAIN → FAILED_PRECONDITION naming the directory;
 *   3. epoch = 1 + the largest `LOCK-EPOCH-<n>` present; create that file with O_CREAT|O_EXCL
 *      (EEXIST: someone else holds the store despite the lock: refused), write who took it, fsync
 *      it and the directory, so a returned epoch is never handed out again;
 *   4. remove older epoch files (a crash before it leaves them; only the largest counts);
 *   5. write the holder's pid into `LOCK`, for people and tools only: nothing decides by it.
 * Release empties `LOCK` and closes it, which drops the lock. The epoch file stays.
 *
 * Concurrency: one `DiskStoreLock` per directory per process (the in-process registry of
 * store-lock.ts sees to it). Invariant: while a `DiskStoreLock` is open its descriptor holds the
 * flock, and its epoch file is the largest in the directory.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { errors, fromFsError } from '../common/errors.js';
import { joinPath } from './vfs.js';

/** The file the OS lock is taken on. */
export const LOCK_FILE_NAME = 'LOCK';
/** Prefix of the epoch file names: `LOCK-EPOCH-<decimal epoch>`. */
export const LOCK_EPOCH_PREFIX = 'LOCK-EPOCH-';
const EPOCH_NAME = /^LOCK-EPOCH-([1-9][0-9]{0,14})$/;

interface FsExt {
  flockSync(fd: number, flags: 'exnb' | 'un'): void;
}
const fsExt = createRequire(import.meta.url)('fs-ext') as FsExt;

/** The largest epoch named by a file in `names`; 0 when none. */
export function largestEpoch(names: readonly string[]): number {
  let max = 0;
  for (const name of names) {
    const m = EPOCH_NAME.exec(name);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max;
}

/** The pid last written into `LOCK`, for the error message only (it decides nothing). */
async function recordedHolder(path: string): Promise<string> {
  const text = await fsp.readFile(path, 'utf8').catch(() => '');
  return text.trim() || 'unknown';
}

async function takeFlock(fd: number, dir: string, lockPath: string): Promise<void> {
  try {
    fsExt.flockSync(fd, 'exnb');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') throw fromFsError(err, 'flock', lockPath);
    const pid = await recordedHolder(lockPath);
    throw errors.failedPrecondition('store is open by another process', { dir, pid });
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Steps 3 and 4: takes the next epoch of `dir`, durably. Call only while holding the flock. */
async function takeNextEpoch(dir: string): Promise<number> {
  const names = await fsp.readdir(dir);
  const previous = largestEpoch(names);
  const epoch = previous + 1;
  const path = joinPath(dir, `${LOCK_EPOCH_PREFIX}${epoch}`);
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fromFsError(err, 'create', path);
    throw errors.failedPrecondition('store epoch was taken by another opener', { dir, epoch });
  }
  try {
    await handle.write(`epoch=${epoch} pid=${process.pid} host=${hostname()}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await syncDir(dir);
  for (const name of names) {
    const m = EPOCH_NAME.exec(name);
    if (m && Number(m[1]) < epoch) await fsp.rm(joinPath(dir, name), { force: true });
  }
  return epoch;
}

/** A held OS lock on a real store directory, with the epoch it was taken at. */
export class DiskStoreLock {
  private constructor(
    private fd: number | undefined,
    /** The owner epoch of this acquisition: larger than every earlier one of the directory. */
    readonly epoch: number,
  ) {}

  /** Takes the lock of `dir` (which must exist) or fails with FAILED_PRECONDITION. */
  static async acquire(dir: string): Promise<DiskStoreLock> {
    const lockPath = joinPath(dir, LOCK_FILE_NAME);
    let fd: number;
    try {
      fd = openSync(lockPath, 'a+');
    } catch (err) {
      throw fromFsError(err, 'open', lockPath);
    }
    try {
      await takeFlock(fd, dir, lockPath);
      const epoch = await takeNextEpoch(dir);
      ftruncateSync(fd, 0);
      writeSync(fd, `${process.pid}\n`);
      return new DiskStoreLock(fd, epoch);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Empties `LOCK` and drops the OS lock. Idempotent. */
  release(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined;
    try {
      ftruncateSync(fd, 0);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Whether a live process holds the lock of `dir` right now (for tools such as fsck): tries the
 * lock without creating anything and drops it at once. A directory without `LOCK` is not held.
 * Not for the holding process itself: on NFS, where flock is a POSIX lock, closing any descriptor
 * of `LOCK` drops the whole process's lock.
 */
export function isStoreLockHeld(dir: string): boolean {
  let fd: number;
  try {
    fd = openSync(joinPath(dir, LOCK_FILE_NAME), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fromFsError(err, 'open', joinPath(dir, LOCK_FILE_NAME));
  }
  try {
    fsExt.flockSync(fd, 'exnb');
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return true;
    throw fromFsError(err, 'flock', joinPath(dir, LOCK_FILE_NAME));
  } finally {
    closeSync(fd);
  }
}
