/**
 * Writes records in the log format (log-format.ts, docs/format/log.md): frames each record into
 * fragments that never cross a block boundary, each with a masked CRC32C over type ‖ payload.
 *
 * `frame()` only builds bytes and advances the writer's idea of the file offset; the bytes must then
 * be appended, in order, before anything else is framed. The WAL writer uses it to frame a whole
 * commit group into one buffer and write it with one append.
 *
 * Concurrency: one owner; calls must not overlap (the owner serializes them).
 * Invariant: `offset` equals the file size once every framed buffer has been appended.
 */
import { assert } from '../common/assert.js';
import { crc32c, maskCrc } from '../common/crc32c.js';
import { errors } from '../common/errors.js';
import {
  blockRemainingBytes,
  FragmentType,
  LOG_CHECKSUM_OFFSET,
  LOG_HEADER_BYTES,
  LOG_LENGTH_OFFSET,
  LOG_RECORD_BYTES_MAX,
  LOG_TYPE_OFFSET,
} from './log-format.js';
import type { WritableFile } from './vfs.js';

/** Bytes the framing of a record of `recordBytes` takes when it starts at file offset `offset`. */
function framedBytes(offset: number, recordBytes: number): number {
  let pos = offset;
  let left = recordBytes;
  let first = true;
  while (first || left > 0) {
    let room = blockRemainingBytes(pos);
    if (room < LOG_HEADER_BYTES) {
      pos += room;
      room = blockRemainingBytes(pos);
    }
    const take = Math.min(left, room - LOG_HEADER_BYTES);
    pos += LOG_HEADER_BYTES + take;
    left -= take;
    first = false;
  }
  return pos - offset;
}

function fragmentType(first: boolean, last: boolean): FragmentType {
  if (first) return last ? FragmentType.Full : FragmentType.First;
  return last ? FragmentType.Last : FragmentType.Middle;
}

/** Writes one fragment header for `payload` at `at` in `out`. */
function putHeader(out: Buffer, at: number, type: FragmentType, payload: Uint8Array): void {
  const crc = crc32c(payload, crc32c(Uint8Array.of(type)));
  out.writeUInt32LE(maskCrc(crc), at + LOG_CHECKSUM_OFFSET);
  out.writeUInt16LE(payload.length, at + LOG_LENGTH_OFFSET);
  out[at + LOG_TYPE_OFFSET] = type;
}

/** A log being written. */
export class LogWriter {
  private offsetBytes: number;

  /** Writes to `file`, continuing at its current size (a reopened log continues its block). */
  constructor(private readonly file: WritableFile) {
    this.offsetBytes = file.size;
  }

  /** File offset after everything framed so far. */
  get size(): number {
    return this.offsetBytes;
  }

  /**
   * Frames `records`, in order, into one buffer that must be appended next. Throws
   * INVALID_ARGUMENT for a record above `LOG_RECORD_BYTES_MAX`, before changing anything.
   */
  frame(records: readonly Uint8Array[]): Buffer {
    let total = 0;
    for (const r of records) {
      if (r.length > LOG_RECORD_BYTES_MAX) {
        throw errors.invalidArgument('log record too large', {
          bytes: r.length,
          maxBytes: LOG_RECORD_BYTES_MAX,
        });
      }
      total += framedBytes(this.offsetBytes + total, r.length);
    }
    const out = Buffer.alloc(total); // zero-filled: block trailers are zeros
    let at = 0;
    for (const r of records) at = this.frameOne(out, at, r);
    assert(at === total, 'framed size mismatch');
    return out;
  }

  /** Frames and appends one record. */
  async addRecord(record: Uint8Array): Promise<void> {
    await this.file.append(this.frame([record]));
  }

  /** Makes everything appended durable. */
  async sync(): Promise<void> {
    await this.file.sync();
  }

  /** Closes the file. */
  async close(): Promise<void> {
    await this.file.close();
  }

  private frameOne(out: Buffer, start: number, record: Uint8Array): number {
    let at = start;
    let done = 0;
    let first = true;
    while (first || done < record.length) {
      let room = blockRemainingBytes(this.offsetBytes);
      if (room < LOG_HEADER_BYTES) {
        at += room; // trailer: already zero
        this.offsetBytes += room;
        room = blockRemainingBytes(this.offsetBytes);
      }
      const take = Math.min(record.length - done, room - LOG_HEADER_BYTES);
      const payload = record.subarray(done, done + take);
      putHeader(out, at, fragmentType(first, done + take === record.length), payload);
      out.set(payload, at + LOG_HEADER_BYTES);
      at += LOG_HEADER_BYTES + take;
      this.offsetBytes += LOG_HEADER_BYTES + take;
      done += take;
      first = false;
    }
    return at;
  }
}
