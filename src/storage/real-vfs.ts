/**
 * `Vfs` over the real file system (node:fs). Appends and syncs go through the libuv thread pool;
 * reads of immutable files are positional and synchronous (see vfs.ts for why).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { errors, fromFsError } from '../common/errors.js';
import type { ReadableFile, Vfs, WritableFile } from './vfs.js';

class RealWritableFile implements WritableFile {
  private closed = false;
  constructor(
    readonly path: string,
    private readonly handle: fsp.FileHandle,
    public size: number,
  ) {}

  async append(data: Uint8Array): Promise<void> {
    let written = 0;
    try {
      while (written < data.length) {
        const { bytesWritten } = await this.handle.write(
          data,
          written,
          data.length - written,
          this.size + written,
        );
        written += bytesWritten;
      }
    } catch (err) {
      throw fromFsError(err, 'append', this.path);
    } finally {
      this.size += written;
    }
  }

  async sync(): Promise<void> {
    try {
      await this.handle.datasync();
    } catch (err) {
      throw fromFsError(err, 'sync', this.path);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.handle.close();
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
      return new RealWritableFile(path, await fsp.open(path, 'w'), 0);
    } catch (err) {
      throw fromFsError(err, 'create', path);
    }
  }

  async openAppendable(path: string): Promise<WritableFile> {
    try {
      const handle = await fsp.open(path, 'r+');
      const { size } = await handle.stat();
      return new RealWritableFile(path, handle, size);
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
      return await fsp.readFile(path);
    } catch (err) {
      throw this.mapMissing(err, 'read', path);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      await fsp.rename(from, to);
    } catch (err) {
      throw this.mapMissing(err, 'rename', from);
    }
  }

  async link(existing: string, newPath: string): Promise<void> {
    try {
      await fsp.link(existing, newPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw errors.alreadyExists('file already exists', { op: 'link', path: newPath });
      }
      throw this.mapMissing(err, 'link', existing);
    }
  }

  async remove(path: string): Promise<void> {
    try {
      await fsp.rm(path, { force: true });
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
      return (await fsp.readdir(dir)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fromFsError(err, 'list', dir);
    }
  }

  async mkdirp(dir: string): Promise<void> {
    try {
      await fsp.mkdir(dir, { recursive: true });
    } catch (err) {
      throw fromFsError(err, 'mkdir', dir);
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fsp.access(path);
      return true;
    } catch {
      return false;
    }
  }

  async syncDir(dir: string): Promise<void> {
    let handle: fsp.FileHandle | undefined;
    try {
      handle = await fsp.open(dir, 'r');
      await handle.sync();
    } catch (err) {
      throw fromFsError(err, 'syncdir', dir);
    } finally {
      await handle?.close();
    }
  }

  async fileSize(path: string): Promise<number> {
    try {
      return (await fsp.stat(path)).size;
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
