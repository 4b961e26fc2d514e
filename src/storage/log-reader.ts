/**
 * Reads a log written by log-writer.ts (format: log-format.ts, docs/format/log.md) and tells a torn
 * tail apart from corruption.
 *
 * The rule. Reading stops at the first fragment that is truncated, fails its checksum, or does not
 * fit its block ("a bad fragment"). Then every later block start in the file is checked:
 * - if a valid fragment starts at any of them, data after the damage was once written completely,
 *   so the damage is in the middle of the log: DATA_LOSS naming the path and the bad offset;
 * - otherwise the damage is a torn tail (a write cut short by a crash): reading stops cleanly and
 *   the records before it are returned. `tornTail` is true unless everything from the stopping
 *   point to the end of the file is zero bytes (padding or preallocated space is not a tear).
 * A record left incomplete at the end of the file (FIRST without LAST) is a torn tail too.
 * Fragments in an impossible order (MIDDLE without FIRST, FIRST inside a record) and well-formed
 * fragments of an unknown type are DATA_LOSS wherever they are: a crash cannot produce them.
 * The zero trailer at the end of a block is skipped without being checked: it carries no data.
 *
 * Concurrency: reads the file synchronously through one `ReadableFile`; the file must not be
 * appended to while it is read.
 */
import { crc32c, unmaskCrc } from '../common/crc32c.js';
import { errors } from '../common/errors.js';
import {
  blockRemainingBytes,
  FragmentType,
  isRecordFragmentType,
  LOG_BLOCK_BYTES,
  LOG_CHECKSUM_OFFSET,
  LOG_HEADER_BYTES,
  LOG_LENGTH_OFFSET,
  LOG_RECORD_BYTES_MAX,
  LOG_TYPE_OFFSET,
} from './log-format.js';
import type { ReadableFile, Vfs } from './vfs.js';

/** What a read found at the end of the log. */
export interface LogReadResult {
  /** Whether the log ended in a torn (partially written) record or fragment. */
  tornTail: boolean;
  /** File offset just after the last complete record. */
  validBytes: number;
}

interface Fragment {
  type: number;
  payload: Buffer;
  end: number;
}

/** Reads a file block by block, keeping the current block cached. */
class BlockSource {
  private blockStart = -1;
  private block: Buffer = Buffer.alloc(0);
  constructor(private readonly file: ReadableFile) {}

  get size(): number {
    return this.file.size;
  }

  /** Bytes [offset, offset + length) clipped to the file; the range must lie in one block. */
  read(offset: number, length: number): Buffer {
    const start = offset - (offset % LOG_BLOCK_BYTES);
    if (start !== this.blockStart) {
      this.block = this.file.readSync(start, Math.min(LOG_BLOCK_BYTES, this.size - start));
      this.blockStart = start;
    }
    return this.block.subarray(offset - start, offset - start + length);
  }
}

/** The fragment at `offset` if it is whole and its checksum holds; `undefined` for a bad one. */
function parseFragment(src: BlockSource, offset: number): Fragment | undefined {
  const available = Math.min(blockRemainingBytes(offset), src.size - offset);
  if (available < LOG_HEADER_BYTES) return undefined;
  const header = src.read(offset, LOG_HEADER_BYTES);
  const length = header.readUInt16LE(LOG_LENGTH_OFFSET);
  if (LOG_HEADER_BYTES + length > available) return undefined;
  const type = header[LOG_TYPE_OFFSET] as number;
  const payload = src.read(offset + LOG_HEADER_BYTES, length);
  const crc = crc32c(payload, crc32c(header.subarray(LOG_TYPE_OFFSET, LOG_TYPE_OFFSET + 1)));
  if (crc !== unmaskCrc(header.readUInt32LE(LOG_CHECKSUM_OFFSET))) return undefined;
  return { type, payload, end: offset + LOG_HEADER_BYTES + length };
}

function isZeroFrom(src: BlockSource, offset: number): boolean {
  for (let at = offset; at < src.size; at += blockRemainingBytes(at)) {
    const chunk = src.read(at, blockRemainingBytes(at));
    if (chunk.some((b) => b !== 0)) return false;
  }
  return true;
}

/**
 * Classifies a fragment at `offset` that failed to parse. Only a fragment cut short by the end of
 * the file, with no valid fragment at any later offset, is a torn tail (a write in progress at the
 * crash); a zero-filled remainder is the end of the log; anything else is corruption — including a
 * complete fragment whose checksum fails, so a damaged record is never mistaken for a torn one.
 */
function classifyDamage(src: BlockSource, offset: number): 'torn' | 'zero' | 'corrupt' {
  if (isZeroFrom(src, offset)) return 'zero';
  const room = blockRemainingBytes(offset);
  const left = src.size - offset;
  if (left < LOG_HEADER_BYTES) return 'torn';
  const length = src.read(offset, LOG_HEADER_BYTES).readUInt16LE(LOG_LENGTH_OFFSET);
  if (LOG_HEADER_BYTES + length > room) return 'corrupt';
  if (LOG_HEADER_BYTES + length <= left) return 'corrupt';
  // Cut short by the end of the file: torn, unless a damaged length field hides later records.
  for (let at = offset + 1; at + LOG_HEADER_BYTES <= src.size; at++) {
    if (blockRemainingBytes(at) >= LOG_HEADER_BYTES && parseFragment(src, at)) return 'corrupt';
  }
  return 'torn';
}

function corruption(path: string, offset: number, reason: string) {
  return errors.dataLoss(`log is corrupt: ${reason}`, { path, offset });
}

/**
 * Calls `onRecord` with each complete record of the log at `path` and the file offset of its first
 * fragment, in order. Stops cleanly at a torn tail; throws DATA_LOSS (details `path`, `offset`) for
 * damage in the middle of the log. See the file comment for the exact rule.
 */
export async function readLogRecords(
  vfs: Vfs,
  path: string,
  onRecord: (record: Buffer, offset: number) => void,
): Promise<LogReadResult> {
  const file = await vfs.openReadable(path);
  try {
    return scanLog(new BlockSource(file), path, onRecord);
  } finally {
    await file.close();
  }
}

function scanLog(
  src: BlockSource,
  path: string,
  onRecord: (record: Buffer, offset: number) => void,
): LogReadResult {
  let offset = 0;
  let validBytes = 0;
  let pending: Buffer[] | undefined;
  let pendingStart = 0;
  let pendingBytes = 0;
  while (offset < src.size) {
    const room = blockRemainingBytes(offset);
    if (room < LOG_HEADER_BYTES) {
      offset += room; // block trailer
      continue;
    }
    const frag = parseFragment(src, offset);
    if (!frag) {
      const damage = classifyDamage(src, offset);
      if (damage === 'corrupt') throw corruption(path, offset, 'damaged fragment');
      return { tornTail: damage === 'torn' || pending !== undefined, validBytes };
    }
    if (!isRecordFragmentType(frag.type)) throw corruption(path, offset, 'unknown fragment type');
    const starts = frag.type === FragmentType.Full || frag.type === FragmentType.First;
    if (starts === (pending !== undefined)) throw corruption(path, offset, 'fragment out of order');
    if (starts) {
      pending = [];
      pendingStart = offset;
      pendingBytes = 0;
    }
    pendingBytes += frag.payload.length;
    if (pendingBytes > LOG_RECORD_BYTES_MAX) throw corruption(path, pendingStart, 'record too large');
    pending?.push(frag.payload);
    if (frag.type === FragmentType.Full || frag.type === FragmentType.Last) {
      const parts = pending ?? [];
      onRecord(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts), pendingStart);
      pending = undefined;
      validBytes = frag.end;
    }
    offset = frag.end;
  }
  return { tornTail: pending !== undefined, validBytes };
}
