/**
 * `MemVfs`: an in-memory `Vfs` that can "crash", for crash-state and fault-injection tests.
 *
 * Model (mirrors the durability model in vfs.ts):
 * - Inodes. A directory maps names to inodes twice: `live` (what the running process sees) and
 *   `durable` (what survives a crash). create, rename and remove change only `live`; `syncDir(dir)`
 *   copies `live` into `durable` for that one directory. A file inode holds its bytes and
 *   `syncedLength`, the durable prefix; `sync()` raises it to the current length.
 * - `crashImage()` builds a NEW, independent `MemVfs` as the disk would look after power loss now:
 *   only durable entries, each file cut to its synced length (optionally keeping a prefix of the
 *   unsynced suffix: a torn tail). The original keeps working.
 * - Directories created by `mkdirp` are durable at once: the engine creates its directories at
 *   setup, and modelling lost directories would add nothing the file entries do not already test.
 * - `createWritable` on an existing path links a fresh inode (the old one stays reachable from the
 *   durable entries until the next `syncDir`), a conservative model of O_TRUNC.
 *
 * Paths are split on `/`; a leading `/` is ignored, so `/db/x` and `db/x` name the same file.
 *
 * Concurrency: single-threaded. Every async method does its work synchronously and resolves
 * without timers, so tests are deterministic; ordering between callers is the order of calls.
 *
 * Faults: `injectFault` makes matching operations fail with a `TabulaError` built exactly as
 * real-vfs builds it (`fromFsError`), so ENOSPC is RESOURCE_EXHAUSTED and EIO is IO. A failed
 * operation changes nothing. `capacityBytes` bounds the bytes of all live files.
 */
import { assert } from '../common/assert.js';
import type { Rand } from '../common/clock.js';
import { SeededRand } from '../common/clock.js';
import { errors, fromFsError, type TabulaError } from '../common/errors.js';
import type { ReadableFile, Vfs, WritableFile } from './vfs.js';

/** Operations a fault can target. */
export type FaultOp = 'append' | 'sync' | 'syncDir' | 'rename' | 'create' | 'read' | 'remove' | 'link';

/** A fault to inject. */
export interface FaultSpec {
  op: FaultOp;
  /** Only paths containing this substring match; all paths when absent. */
  pathIncludes?: string;
  /** Matching operations to let through before failing. Default 0. */
  afterCount?: number;
  errno: 'EIO' | 'ENOSPC';
  /** How many matching operations fail, once failing starts. Default Infinity. */
  times?: number;
}

/** Kinds of persistence points reported to `onPersistencePoint`. */
export type PersistenceKind = 'sync' | 'syncDir' | 'rename' | 'removeDir';

/** Options of `crashImage`. */
export interface CrashOptions {
  /**
   * How much of each file's unsynced suffix survives: `'none'` (default) keeps nothing,
   * `'random'` keeps a random-length prefix of it (drawn from `rand`), a number keeps that many bytes.
   */
  tornTail?: 'none' | 'random' | number;
  /** Randomness for `tornTail: 'random'`; a fixed seed when absent. */
  rand?: Rand;
}

interface FileInode {
  readonly kind: 'file';
  /** Backing store; bytes past `length` are spare capacity. */
  data: Buffer;
  length: number;
  /** Durable prefix; `syncedLength <= length`. */
  syncedLength: number;
}

interface DirInode {
  readonly kind: 'dir';
  live: Map<string, Inode>;
  durable: Map<string, Inode>;
}

type Inode = FileInode | DirInode;

interface ActiveFault {
  readonly spec: FaultSpec;
  skipped: number;
  failed: number;
}

const INITIAL_FILE_CAPACITY_BYTES = 64;

function newFile(bytes?: Uint8Array): FileInode {
  const data = Buffer.alloc(Math.max(INITIAL_FILE_CAPACITY_BYTES, bytes?.length ?? 0));
  if (bytes) data.set(bytes);
  const length = bytes?.length ?? 0;
  return { kind: 'file', data, length, syncedLength: length };
}

function newDir(): DirInode {
  return { kind: 'dir', live: new Map(), durable: new Map() };
}

function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '' && s !== '.');
}

/** An error shaped exactly like the one real-vfs produces for a failed system call. */
function fsError(errno: string, op: string, path: string): TabulaError {
  const cause = Object.assign(new Error(`${errno}: ${op} '${path}'`), { code: errno });
  return fromFsError(cause, op, path);
}

class MemWritableFile implements WritableFile {
  private closed = false;
  constructor(
    private readonly vfs: MemVfs,
    readonly path: string,
    private readonly inode: FileInode,
  ) {}

  get size(): number {
    return this.inode.length;
  }

  async append(data: Uint8Array): Promise<void> {
    this.checkOpen('append');
    this.vfs.checkFault('append', this.path, 'append');
    this.vfs.checkCapacity(data.length, this.path);
    const f = this.inode;
    if (f.length + data.length > f.data.length) {
      const grown = Buffer.alloc(Math.max(f.data.length * 2, f.length + data.length));
      f.data.copy(grown, 0, 0, f.length);
      f.data = grown;
    }
    f.data.set(data, f.length);
    f.length += data.length;
    this.vfs.stats.appends++;
  }

  async sync(): Promise<void> {
    this.checkOpen('sync');
    this.vfs.checkFault('sync', this.path, 'sync');
    this.inode.syncedLength = this.inode.length;
    this.vfs.stats.syncs++;
    this.vfs.onPersistencePoint?.('sync', this.path);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(op: string): void {
    if (this.closed) throw fsError('EBADF', op, this.path);
  }
}

class MemReadableFile implements ReadableFile {
  private closed = false;
  readonly size: number;
  constructor(
    private readonly vfs: MemVfs,
    readonly path: string,
    private readonly inode: FileInode,
  ) {
    this.size = inode.length;
  }

  readSync(offset: number, length: number): Buffer {
    if (this.closed) throw errors.unavailable('file is closed', { path: this.path });
    this.vfs.checkFault('read', this.path, 'read');
    const end = Math.min(this.inode.length, offset + length);
    return Buffer.from(this.inode.data.subarray(Math.min(offset, end), end));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Counters for tests. */
export interface MemVfsStats {
  appends: number;
  syncs: number;
  syncDirs: number;
  renames: number;
}

/** An in-memory, crashable file system with fault injection. */
export class MemVfs implements Vfs {
  private readonly root: DirInode;
  private faults: ActiveFault[] = [];
  /** Upper bound on the bytes of all live files; an append past it fails with ENOSPC. */
  capacityBytes = Number.POSITIVE_INFINITY;
  /** Called after each completed sync, syncDir, rename and removeDir: where crash tests take images. */
  onPersistencePoint?: (kind: PersistenceKind, path: string) => void;
  /** Operation counters. */
  readonly stats: MemVfsStats = { appends: 0, syncs: 0, syncDirs: 0, renames: 0 };

  constructor(root: DirInode = newDir()) {
    this.root = root;
  }

  // ---- Vfs ------------------------------------------------------------------------------------

  async createWritable(path: string): Promise<WritableFile> {
    this.checkFault('create', path, 'create');
    const { dir, name } = this.parentOf(path, 'create');
    const inode = newFile();
    dir.live.set(name, inode);
    return new MemWritableFile(this, path, inode);
  }

  async openAppendable(path: string): Promise<WritableFile> {
    return new MemWritableFile(this, path, this.fileAt(path, 'open'));
  }

  async openReadable(path: string): Promise<ReadableFile> {
    this.checkFault('read', path, 'open');
    return new MemReadableFile(this, path, this.fileAt(path, 'open'));
  }

  async readFile(path: string): Promise<Buffer> {
    this.checkFault('read', path, 'read');
    const f = this.fileAt(path, 'read');
    return Buffer.from(f.data.subarray(0, f.length));
  }

  async rename(from: string, to: string): Promise<void> {
    this.checkFault('rename', from, 'rename');
    const src = this.parentOf(from, 'rename');
    const inode = src.dir.live.get(src.name);
    if (!inode) throw errors.notFound('file does not exist', { op: 'rename', path: from });
    const dst = this.parentOf(to, 'rename');
    src.dir.live.delete(src.name);
    dst.dir.live.set(dst.name, inode);
    this.stats.renames++;
    this.onPersistencePoint?.('rename', to);
  }

  async link(existing: string, newPath: string): Promise<void> {
    this.checkFault('link', newPath, 'link');
    const inode = this.fileAt(existing, 'link');
    const dst = this.parentOf(newPath, 'link');
    if (dst.dir.live.has(dst.name)) {
      throw errors.alreadyExists('file already exists', { op: 'link', path: newPath });
    }
    dst.dir.live.set(dst.name, inode);
  }

  async remove(path: string): Promise<void> {
    this.checkFault('remove', path, 'remove');
    const parent = this.lookupDir(segments(path).slice(0, -1));
    const name = segments(path).at(-1);
    if (parent && name !== undefined && parent.live.get(name)?.kind === 'file') parent.live.delete(name);
  }

  async removeDir(dir: string): Promise<void> {
    this.checkFault('remove', dir, 'remove');
    const parent = this.lookupDir(segments(dir).slice(0, -1));
    const name = segments(dir).at(-1);
    if (parent && name !== undefined && parent.live.get(name)?.kind === 'dir') {
      // Directories are durable at once (see above), so is their removal.
      parent.live.delete(name);
      parent.durable.delete(name);
      this.onPersistencePoint?.('removeDir', dir);
    }
  }

  async list(dir: string): Promise<string[]> {
    const d = this.lookupDir(segments(dir));
    return d ? [...d.live.keys()].sort() : [];
  }

  async mkdirp(dir: string): Promise<void> {
    let cur = this.root;
    for (const name of segments(dir)) {
      const next = cur.live.get(name);
      if (next?.kind === 'file') throw fsError('EEXIST', 'mkdir', dir);
      if (next) {
        cur = next;
        continue;
      }
      const made = newDir();
      cur.live.set(name, made);
      cur.durable.set(name, made);
      cur = made;
    }
  }

  async exists(path: string): Promise<boolean> {
    return this.lookup(segments(path)) !== undefined;
  }

  async syncDir(dir: string): Promise<void> {
    this.checkFault('syncDir', dir, 'syncdir');
    const d = this.lookupDir(segments(dir));
    if (!d) throw fsError('ENOENT', 'syncdir', dir);
    d.durable = new Map(d.live);
    this.stats.syncDirs++;
    this.onPersistencePoint?.('syncDir', dir);
  }

  async fileSize(path: string): Promise<number> {
    return this.fileAt(path, 'stat').length;
  }

  // ---- Crash, faults and test helpers -----------------------------------------------------------

  /** The disk after a power loss now, as a new independent `MemVfs`. */
  crashImage(options: CrashOptions = {}): MemVfs {
    const torn = options.tornTail ?? 'none';
    const rand = options.rand ?? new SeededRand(1);
    const copies = new Map<Inode, Inode>();
    const copy = (inode: Inode): Inode => {
      const seen = copies.get(inode);
      if (seen) return seen;
      let out: Inode;
      if (inode.kind === 'dir') {
        out = newDir();
        copies.set(inode, out);
        for (const [name, child] of inode.durable) out.live.set(name, copy(child));
        out.durable = new Map(out.live);
      } else {
        const unsynced = inode.length - inode.syncedLength;
        const kept =
          torn === 'none' ? 0 : torn === 'random' ? rand.int(unsynced + 1) : Math.min(torn, unsynced);
        out = newFile(inode.data.subarray(0, inode.syncedLength + kept));
        copies.set(inode, out);
      }
      return out;
    };
    return new MemVfs(copy(this.root) as DirInode);
  }

  /** Makes matching operations fail from now on (see `FaultSpec`). */
  injectFault(spec: FaultSpec): void {
    this.faults.push({ spec, skipped: 0, failed: 0 });
  }

  /** Removes every injected fault. */
  clearFaults(): void {
    this.faults = [];
  }

  /** Total bytes of all files reachable from live directory entries (each inode counted once). */
  get storedBytes(): number {
    let total = 0;
    const seen = new Set<Inode>();
    const walk = (dir: DirInode): void => {
      for (const child of dir.live.values()) {
        if (seen.has(child)) continue;
        seen.add(child);
        if (child.kind === 'dir') walk(child);
        else total += child.length;
      }
    };
    walk(this.root);
    return total;
  }

  /** Paths of every live file, sorted, without a leading `/`. */
  allPaths(): string[] {
    const out: string[] = [];
    const walk = (dir: DirInode, prefix: string): void => {
      for (const [name, child] of dir.live) {
        if (child.kind === 'dir') walk(child, `${prefix}${name}/`);
        else out.push(`${prefix}${name}`);
      }
    };
    walk(this.root, '');
    return out.sort();
  }

  /** XORs the byte at `offset` of `path` with `xorByte` (for corruption tests). */
  corrupt(path: string, offset: number, xorByte: number): void {
    const f = this.fileAt(path, 'corrupt');
    assert(offset >= 0 && offset < f.length, 'corrupt offset out of range');
    f.data[offset] = (f.data[offset] as number) ^ xorByte;
  }

  /** Throws the injected error if a fault matches this operation. @internal */
  checkFault(op: FaultOp, path: string, errorOp: string): void {
    for (const f of this.faults) {
      if (f.spec.op !== op) continue;
      if (f.spec.pathIncludes !== undefined && !path.includes(f.spec.pathIncludes)) continue;
      if (f.skipped < (f.spec.afterCount ?? 0)) {
        f.skipped++;
        continue;
      }
      if (f.failed >= (f.spec.times ?? Number.POSITIVE_INFINITY)) continue;
      f.failed++;
      throw fsError(f.spec.errno, errorOp, path);
    }
  }

  /** Throws ENOSPC if appending `bytes` would exceed `capacityBytes`. @internal */
  checkCapacity(bytes: number, path: string): void {
    if (this.capacityBytes !== Number.POSITIVE_INFINITY && this.storedBytes + bytes > this.capacityBytes) {
      throw fsError('ENOSPC', 'append', path);
    }
  }

  private lookup(segs: string[]): Inode | undefined {
    let cur: Inode = this.root;
    for (const name of segs) {
      if (cur.kind !== 'dir') return undefined;
      const next: Inode | undefined = cur.live.get(name);
      if (!next) return undefined;
      cur = next;
    }
    return cur;
  }

  private lookupDir(segs: string[]): DirInode | undefined {
    const d = this.lookup(segs);
    return d?.kind === 'dir' ? d : undefined;
  }

  private fileAt(path: string, op: string): FileInode {
    const f = this.lookup(segments(path));
    if (f?.kind === 'file') return f;
    if (f) throw fsError('EISDIR', op, path);
    throw errors.notFound('file does not exist', { op, path });
  }

  private parentOf(path: string, op: string): { dir: DirInode; name: string } {
    const segs = segments(path);
    const name = segs.pop();
    const dir = this.lookupDir(segs);
    if (!dir || name === undefined) throw fsError('ENOENT', op, path);
    if (dir.live.get(name)?.kind === 'dir') throw fsError('EISDIR', op, path);
    return { dir, name };
  }
}
