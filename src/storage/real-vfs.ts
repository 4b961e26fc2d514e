/**
 * `Vfs` over the real file system (node:fs). Data appends and syncs (fdatasync, directory fsync) go
 * through the libuv thread pool, so group commit overlaps them with other work. Reads of immutable
 * files are positional and synchronous (see vfs.ts for why), and so are the metadata operations —
 * open, create, rename, link, remove, list, stat, mkdir and reading a small file: each is one short
 * system call, while an await on the thread pool costs a turn of the event loop, and under load a
 * tablet's open (fence, manifest, pointer, WAL: a chain of such operations) is made of those turns.
 * Removing a whole directory stays asynchronous (its size is the user's).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { errors, fromFsError } from '../common/errors.js';
import type { ReadableFile, Vfs, WritableFile } from './vfs.js';

/** Writes `length` bytes of `data` from `offset` at file position `position`; resolves with the count. */
function writeAt(fd: number, data: Uint8Array, offset: number, length: number, position: number) {
  return new Promise<number>((resolve, reject) =>
    fs.write(fd, data, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

function fdDataSync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

class RealWritableFile implements WritableFile {
  private closed = false;
  constructor(
    readonly path: string,
    private readonly fd: number,
    public size: number,
  ) {}

  async append(data: Uint8Array): Promise<void> {
    let written = 0;
    try {
      while (written < data.length) {
        written += await writeAt(this.fd, data, written, data.length - written, this.size + written);
      }
    } catch (err) {
      throw fromFsError(err, 'append', this.path);
    } finally {
      this.size += written;
    }
  }

  async sync(): Promise<void> {
    try {
      await fdDataSync(this.fd);
    } catch (err) {
      throw fromFsError(err, 'sync', this.path);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await new Promise<void>((resolve, reject) =>
        fs.close(this.fd, (err) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      throw fromFsError(err, 'close', this.path);
    }
  }
}

class RealReadableFile implements ReadableFile {
  private fd: number | undefined;
  constructor(
    readonly path: string,
    fd: number,
    readonly size: number,
  ) {
    this.fd = fd;
  }

  readSync(offset: number, length: number): Buffer {
    if (this.fd === undefined) throw errors.unavailable('file is closed', { path: this.path });
    const out = Buffer.allocUnsafe(length);
    let got = 0;
    try {
      while (got < length) {
        const n = fs.readSync(this.fd, out, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
    } catch (err) {
      throw fromFsError(err, 'read', this.path);
    }
    return got === length ? out : out.subarray(0, got);
  }

  async close(): Promise<void> {
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined;
    await new Promise<void>((resolve) => fs.close(fd, () => resolve()));
  }
}

/** The real file system. */
export class RealVfs implements Vfs {
  async createWritable(path: string): Promise<WritableFile> {
    try {
      return new RealWritableFile(path, fs.openSync(path, 'w'), 0);
    } catch (err) {
      throw fromFsError(err, 'create', path);
    }
  }

  async openAppendable(path: string): Promise<WritableFile> {
    try {
      const fd = fs.openSync(path, 'r+');
      try {
        return new RealWritableFile(path, fd, fs.fstatSync(fd).size);
      } catch (err) {
        fs.closeSync(fd);
        throw err;
      }
    } catch (err) {
      throw this.mapMissing(err, 'open', path);
    }
  }

  async openReadable(path: string): Promise<ReadableFile> {
    try {
      const fd = fs.openSync(path, 'r');
      return new RealReadableFile(path, fd, fs.fstatSync(fd).size);
    } catch (err) {
      throw this.mapMissing(err, 'open', path);
    }
  }

  async readFile(path: string): Promise<Buffer> {
    try {
      return fs.readFileSync(path);
    } catch (err) {
      throw this.mapMissing(err, 'read', path);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      fs.renameSync(from, to);
    } catch (err) {
      throw this.mapMissing(err, 'rename', from);
    }
  }

  async link(existing: string, newPath: string): Promise<void> {
    try {
      fs.linkSync(existing, newPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw errors.alreadyExists('file already exists', { op: 'link', path: newPath });
      }
      throw this.mapMissing(err, 'link', existing);
    }
  }

  async remove(path: string): Promise<void> {
    try {
      fs.rmSync(path, { force: true });
    } catch (err) {
      throw fromFsError(err, 'remove', path);
    }
  }

  async removeDir(dir: string): Promise<void> {
    try {
      await fsp.rm(dir, { recursive: true, force: true });
    } catch (err) {
      throw fromFsError(err, 'remove', dir);
    }
  }

  async list(dir: string): Promise<string[]> {
    try {
      return fs.readdirSync(dir).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fromFsError(err, 'list', dir);
    }
  }

  async mkdirp(dir: string): Promise<void> {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw fromFsError(err, 'mkdir', dir);
    }
  }

  async exists(path: string): Promise<boolean> {
    return fs.existsSync(path);
  }

  async syncDir(dir: string): Promise<void> {
    let fd: number | undefined;
    try {
      fd = fs.openSync(dir, 'r');
      const opened = fd;
      await new Promise<void>((resolve, reject) =>
        fs.fsync(opened, (err) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      throw fromFsError(err, 'syncdir', dir);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }

  async fileSize(path: string): Promise<number> {
    try {
      return fs.statSync(path).size;
    } catch (err) {
      throw this.mapMissing(err, 'stat', path);
    }
  }

  private mapMissing(err: unknown, op: string, path: string) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return errors.notFound('file does not exist', { op, path });
    }
    return fromFsError(err, op, path);
  }
}
