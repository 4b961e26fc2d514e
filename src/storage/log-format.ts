/**
 * Every constant of the log format shared by the WAL and the manifest (docs/format/log.md has the
 * diagram). A log is a sequence of fixed-size blocks; each record is cut into one or more fragments,
 * and no fragment crosses a block boundary, so a reader can resynchronise at any block start.
 *
 *   fragment := checksum u32 LE | length u16 LE | type u8 | payload[length]
 *
 * `checksum` is the masked CRC32C (src/common/crc32c.ts) of `type ‖ payload`. When fewer than
 * `LOG_HEADER_BYTES` remain in a block, the writer fills them with zeros and starts the next block.
 *
 * Invariants: a fragment never crosses a block boundary; a record is FULL, or FIRST MIDDLE* LAST.
 * Pure constants and small helpers; no state.
 */
import { WAL_BLOCK_BYTES, WAL_RECORD_BYTES_MAX } from '../common/limits.js';

/**
 * Version of this framing. It is not stored in the file: version 1 is the only one. A later
 * version must use new fragment type numbers, which a version-1 reader rejects as DATA_LOSS rather
 * than misreads. Fixtures are named after it (`test/fixtures/log-v1.bin`).
 */
export const LOG_FORMAT_VERSION = 1;

/** Size of a block. PERSISTED: changing it changes the file format. */
export const LOG_BLOCK_BYTES = WAL_BLOCK_BYTES;

/** Offset of the masked CRC32C (u32 LE) within a fragment header. */
export const LOG_CHECKSUM_OFFSET = 0;
/** Offset of the payload length (u16 LE) within a fragment header. */
export const LOG_LENGTH_OFFSET = 4;
/** Offset of the fragment type (u8) within a fragment header. */
export const LOG_TYPE_OFFSET = 6;
/** Size of a fragment header. */
export const LOG_HEADER_BYTES = 7;

/** Largest payload one fragment can carry (a block minus its header). */
export const LOG_FRAGMENT_PAYLOAD_BYTES_MAX = LOG_BLOCK_BYTES - LOG_HEADER_BYTES;

/** Largest record a log accepts; a reader treats a longer reassembled record as corruption. */
export const LOG_RECORD_BYTES_MAX = WAL_RECORD_BYTES_MAX;

/** Fragment types. PERSISTED: never renumber. */
export const FragmentType = {
  /** Never written: a header of all zeros is padding or preallocated space. */
  Zero: 0, // PERSISTED: never renumber.
  /** A whole record in one fragment. */
  Full: 1, // PERSISTED: never renumber.
  /** The first fragment of a record spanning blocks. */
  First: 2, // PERSISTED: never renumber.
  /** An inner fragment of a record spanning blocks. */
  Middle: 3, // PERSISTED: never renumber.
  /** The last fragment of a record spanning blocks. */
  Last: 4, // PERSISTED: never renumber.
} as const;
export type FragmentType = (typeof FragmentType)[keyof typeof FragmentType];

/** Whether `type` is a fragment type a writer produces. */
export function isRecordFragmentType(type: number): type is FragmentType {
  return type >= FragmentType.Full && type <= FragmentType.Last;
}

/** Bytes left in the block at file offset `offset`. */
export function blockRemainingBytes(offset: number): number {
  return LOG_BLOCK_BYTES - (offset % LOG_BLOCK_BYTES);
}
