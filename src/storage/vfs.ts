/**
 * The file-system interface the engine sees. Everything the storage layer persists goes through a
 * `Vfs`, so tests can swap in `MemVfs` (in memory, crashable, with fault injection) for `RealVfs`.
 *
 * Durability model (what a crash keeps), shared by both implementations:
 * - File contents are durable up to the last completed `WritableFile.sync()`.
 * - A directory entry (create, rename, remove) is durable after the next `syncDir()` of its parent.
 * - Files are append-only while open for writing; a finished file is never modified, only removed.
 *
 * Reads of immutable files are synchronous (`readSync`): blocks are small, mostly in the page cache
 * or the block cache, and synchronous reads let iterators stay synchronous, which matters a great
 * deal for speed in JavaScript. Writes and syncs are asynchronous so group commit can overlap them.
 * An implementation may do a metadata operation (create, rename, link, remove, list) synchronously
 * inside its promise: callers must not rely on another task running meanwhile (real-vfs.ts does).
 *
 * Errors are `TabulaError`s: ENOSPC becomes RESOURCE_EXHAUSTED, other failures IO.
 */

/** A file open for appending. Not safe for concurrent appends: the owner serializes them. */
export interface WritableFile {
  /** The path it was created at. */
  readonly path: string;
  /** Bytes appended so far. */
  readonly size: number;
  /** Appends `data` at the end. */
  append(data: Uint8Array): Promise<void>;
  /** Makes every appended byte durable (fdatasync). An error here is fail-stop for the caller. */
  sync(): Promise<void>;
  /** Closes the file; unsynced data may be lost in a crash. */
  close(): Promise<void>;
}

/** An immutable file open for random reads. */
export interface ReadableFile {
  readonly path: string;
  /** Size at open time. */
  readonly size: number;
  /**
   * Reads `length` bytes at `offset`. Returns fewer bytes only when the file ends first; the caller
   * decides whether that is corruption.
   */
  readSync(offset: number, length: number): Buffer;
  close(): Promise<void>;
}

/** A file system. Paths are POSIX-style; directories are created with `mkdirp`. */
export interface Vfs {
  /** Creates (or truncates) a file for appending. The new directory entry needs `syncDir`. */
  createWritable(path: string): Promise<WritableFile>;
  /** Opens an existing file for appending at its end (used to reuse a WAL after recovery). */
  openAppendable(path: string): Promise<WritableFile>;
  /** Opens an existing file for reading. NOT_FOUND if it does not exist. */
  openReadable(path: string): Promise<ReadableFile>;
  /** Reads a whole (small) file. NOT_FOUND if it does not exist. */
  readFile(path: string): Promise<Buffer>;
  /** Atomically renames, replacing `to` if it exists. Durable after `syncDir` of the parent. */
  rename(from: string, to: string): Promise<void>;
  /**
   * Gives the existing file `existing` the second name `newPath`, exclusively: ALREADY_EXISTS when
   * `newPath` exists, which is never replaced. The one exclusive creation that NFS honours on every
   * protocol version (O_EXCL does not on NFSv2); the new entry is durable after `syncDir`.
   */
  link(existing: string, newPath: string): Promise<void>;
  /** Removes a file; absent files are not an error. Durable after `syncDir` of the parent. */
  remove(path: string): Promise<void>;
  /** Names (not paths) of the entries of `dir`, sorted. Empty when `dir` does not exist. */
  list(dir: string): Promise<string[]>;
  /**
   * Removes directory `dir` and everything in it, at once and durably (used for directories whose
   * every file is garbage). Absent: nothing happens.
   */
  removeDir(dir: string): Promise<void>;
  /** Creates `dir` and its parents. */
  mkdirp(dir: string): Promise<void>;
  /** Whether `path` exists. */
  exists(path: string): Promise<boolean>;
  /** Makes the entries of `dir` durable (fsync of the directory). */
  syncDir(dir: string): Promise<void>;
  /** Size in bytes of `path`. NOT_FOUND if absent. */
  fileSize(path: string): Promise<number>;
}

/** Joins path segments with `/`. */
export function joinPath(...parts: string[]): string {
  return parts.join('/').replace(/\/+/g, '/');
}

/** The directory part of `path`. */
export function dirName(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? (i === 0 ? '/' : '.') : path.slice(0, i);
}
