/**
 * Every constant of the SSTable file format, plus the codecs of its small fixed records (block
 * handle, footer, properties, range tombstones). The layout is drawn and explained in
 * docs/format/sstable.md; the two must change together, with a FORMAT_VERSION bump and new golden
 * fixtures under test/fixtures/.
 *
 * Concurrency: pure functions and constants only.
 *
 * Invariants:
 * - All fixed-width integers are little-endian.
 * - Decoders never trust lengths: a short or over-long record returns `undefined` and the caller
 *   reports DATA_LOSS with the file and offset.
 */
import { ByteWriter, getVarint, readU64 } from '../common/varint.js';
import type { RangeTombstone } from './internal-key.js';

/** Eight bytes that end every SSTable: "TABULAST" in ASCII. PERSISTED. */
export const SSTABLE_MAGIC = Buffer.from('TABULAST', 'latin1');
/** Version of the layout described in docs/format/sstable.md. Bump on any change. */
export const FORMAT_VERSION = 1;

// ---- Block trailer --------------------------------------------------------------------------------

/** Bytes of the compression type that follows every block's contents. */
export const BLOCK_TYPE_BYTES = 1;
/** Bytes of the masked CRC32C (over contents ‖ type) that ends every block. */
export const BLOCK_CRC_BYTES = 4;
/** Total trailer after a block's stored contents: type u8 ‖ masked crc32c u32. */
export const BLOCK_TRAILER_BYTES = BLOCK_TYPE_BYTES + BLOCK_CRC_BYTES;

/** Compression codec ids stored in the block trailer. PERSISTED: never renumber. */
export const CompressionType = {
  None: 0,
  Snappy: 1,
  Lz4: 2,
} as const;
export type CompressionType = (typeof CompressionType)[keyof typeof CompressionType];

/**
 * A block is stored compressed only when compression saves at least 1/2^N of its size
 * (N = 3: 12.5 %); otherwise decompression costs more than the bytes it saves.
 */
export const COMPRESSION_MIN_SAVING_SHIFT = 3;

// ---- Block contents -------------------------------------------------------------------------------

/** Bytes of each restart offset (u32) and of the restart count (u32) at the end of a block. */
export const RESTART_ENTRY_BYTES = 4;
/** Index and metaindex blocks put a restart at every entry so seeks are pure binary searches. */
export const INDEX_RESTART_INTERVAL = 1;

// ---- Meta blocks ----------------------------------------------------------------------------------

/** Names of the entries of the metaindex block. PERSISTED: never rename. */
export const MetaBlockName = {
  /** The Bloom filter over user keys (absent when bloom bits per key is 0). */
  Filter: 'tabula.filter.bloom',
  /** Range tombstones sorted by start (absent when there are none). */
  RangeTombstones: 'tabula.range-tombstones',
  /** The SstableProperties record (always present). */
  Properties: 'tabula.properties',
} as const;

/** Bytes of the probe count that ends a filter block: bits ‖ k u8. */
export const BLOOM_PROBES_BYTES = 1;
/** Probe counts are clamped to this range. */
export const BLOOM_PROBES_MIN = 1;
export const BLOOM_PROBES_MAX = 30;
/** Smallest filter bit array, so a tiny table does not get a degenerate filter. */
export const BLOOM_BITS_MIN = 64;
/** Seeds of the two base hashes of the filter. PERSISTED: changing them breaks every filter. */
export const BLOOM_HASH_SEED_1 = 0x9747b28c;
export const BLOOM_HASH_SEED_2 = 0x5bd1e995;

// ---- Block handle ---------------------------------------------------------------------------------

/** Where a block lives: `size` counts the stored contents, not the trailer. */
export interface BlockHandle {
  offset: number;
  size: number;
}

/** Encodes a handle as varint offset ‖ varint size (index and metaindex values). */
export function encodeBlockHandle(handle: BlockHandle): Buffer {
  return new ByteWriter(16).varint(handle.offset).varint(handle.size).finish();
}

/** Decodes a handle; `undefined` if malformed or followed by garbage. */
export function decodeBlockHandle(data: Uint8Array): BlockHandle | undefined {
  const offset = getVarint(data, 0);
  if (offset === undefined) return undefined;
  const size = getVarint(data, offset.offset);
  if (size === undefined || size.offset !== data.length) return undefined;
  return { offset: offset.value, size: size.value };
}

// ---- Footer ---------------------------------------------------------------------------------------

/**
 * The fixed-size footer that ends the file:
 *   metaindexOffset u64 ‖ metaindexSize u64 ‖ indexOffset u64 ‖ indexSize u64 ‖
 *   formatVersion u32 ‖ masked crc32c u32 (of the 36 bytes before it) ‖ magic [8]
 */
export const FOOTER_BYTES = 48;
const FOOTER_CRC_OFFSET = 36;
const FOOTER_MAGIC_OFFSET = 40;

/** The decoded footer. */
export interface Footer {
  metaindex: BlockHandle;
  index: BlockHandle;
  formatVersion: number;
}

/** Encodes the footer; `crc` computes the masked CRC of the bytes it is given. */
export function encodeFooter(footer: Footer, crc: (data: Uint8Array) => number): Buffer {
  const w = new ByteWriter(FOOTER_BYTES)
    .u64(footer.metaindex.offset)
    .u64(footer.metaindex.size)
    .u64(footer.index.offset)
    .u64(footer.index.size)
    .u32(footer.formatVersion);
  w.u32(crc(w.view())).bytes(SSTABLE_MAGIC);
  return w.finish();
}

/** Why a footer failed to decode, or the footer. */
export type FooterResult = { footer: Footer } | { error: string };

/** Decodes and verifies a footer (magic first, then CRC). */
export function decodeFooter(data: Buffer, crc: (data: Uint8Array) => number): FooterResult {
  if (data.length !== FOOTER_BYTES) return { error: 'file too short for a footer' };
  if (!data.subarray(FOOTER_MAGIC_OFFSET).equals(SSTABLE_MAGIC)) return { error: 'bad magic number' };
  if (crc(data.subarray(0, FOOTER_CRC_OFFSET)) !== data.readUInt32LE(FOOTER_CRC_OFFSET)) {
    return { error: 'footer checksum mismatch' };
  }
  const u64 = (i: number) => readU64(data, i * 8);
  return {
    footer: {
      metaindex: { offset: u64(0), size: u64(1) },
      index: { offset: u64(2), size: u64(3) },
      formatVersion: data.readUInt32LE(32),
    },
  };
}

// ---- Properties -----------------------------------------------------------------------------------

/** Facts about one SSTable, recorded by the writer in the properties block. */
export interface SstableProperties {
  /** Point entries (puts and deletes). */
  readonly entryCount: number;
  readonly rangeTombstoneCount: number;
  readonly dataBlockCount: number;
  /** Sum of encoded internal key lengths of point entries. */
  readonly rawKeyBytes: number;
  readonly rawValueBytes: number;
  /** Smallest and largest sequence over point entries and range tombstones (0 when none). */
  readonly smallestSequence: number;
  readonly largestSequence: number;
  /** Smallest and largest point internal keys; undefined when entryCount is 0. */
  readonly smallestKey: Buffer | undefined;
  readonly largestKey: Buffer | undefined;
}

/**
 * Properties block: varint entryCount ‖ rangeTombstoneCount ‖ dataBlockCount ‖ rawKeyBytes ‖
 * rawValueBytes ‖ smallestSequence ‖ largestSequence, then varint-length-prefixed smallestKey and
 * largestKey (length 0 when there are no point entries: internal keys are never empty).
 */
export function encodeProperties(p: SstableProperties): Buffer {
  const w = new ByteWriter(128);
  w.varint(p.entryCount).varint(p.rangeTombstoneCount).varint(p.dataBlockCount);
  w.varint(p.rawKeyBytes).varint(p.rawValueBytes).varint(p.smallestSequence).varint(p.largestSequence);
  const empty = Buffer.alloc(0);
  w.lengthPrefixed(p.smallestKey ?? empty).lengthPrefixed(p.largestKey ?? empty);
  return w.finish();
}

const PROPERTY_NUMBER_COUNT = 7;

/** Decodes a properties block; `undefined` if malformed. */
export function decodeProperties(data: Buffer): SstableProperties | undefined {
  const n: number[] = [];
  let offset = 0;
  for (let i = 0; i < PROPERTY_NUMBER_COUNT; i++) {
    const d = getVarint(data, offset);
    if (d === undefined) return undefined;
    n.push(d.value);
    offset = d.offset;
  }
  const keys: (Buffer | undefined)[] = [];
  for (let i = 0; i < 2; i++) {
    const len = getVarint(data, offset);
    if (len === undefined || len.offset + len.value > data.length) return undefined;
    keys.push(len.value === 0 ? undefined : Buffer.from(data.subarray(len.offset, len.offset + len.value)));
    offset = len.offset + len.value;
  }
  if (offset !== data.length) return undefined;
  const [
    entryCount,
    rangeTombstoneCount,
    dataBlockCount,
    rawKeyBytes,
    rawValueBytes,
    smallestSeq,
    largestSeq,
  ] = n as [number, number, number, number, number, number, number];
  if ((entryCount === 0) !== (keys[0] === undefined) || (keys[0] === undefined) !== (keys[1] === undefined)) {
    return undefined;
  }
  return {
    entryCount,
    rangeTombstoneCount,
    dataBlockCount,
    rawKeyBytes,
    rawValueBytes,
    smallestSequence: smallestSeq,
    largestSequence: largestSeq,
    smallestKey: keys[0],
    largestKey: keys[1],
  };
}

// ---- Range tombstones -----------------------------------------------------------------------------

/**
 * Range-tombstone block: varint count, then per tombstone (sorted by start bytewise, then by
 * sequence descending): varint-prefixed start ‖ varint-prefixed end ‖ varint sequence.
 */
export function encodeRangeTombstones(sorted: readonly RangeTombstone[]): Buffer {
  const w = new ByteWriter(256).varint(sorted.length);
  for (const t of sorted) w.lengthPrefixed(t.start).lengthPrefixed(t.end).varint(t.sequence);
  return w.finish();
}

/** Decodes a range-tombstone block; `undefined` if malformed. Keys are copies. */
export function decodeRangeTombstones(data: Buffer): RangeTombstone[] | undefined {
  const count = getVarint(data, 0);
  if (count === undefined) return undefined;
  let offset = count.offset;
  const out: RangeTombstone[] = [];
  for (let i = 0; i < count.value; i++) {
    const parts: Buffer[] = [];
    for (let j = 0; j < 2; j++) {
      const len = getVarint(data, offset);
      if (len === undefined || len.offset + len.value > data.length) return undefined;
      parts.push(Buffer.from(data.subarray(len.offset, len.offset + len.value)));
      offset = len.offset + len.value;
    }
    const seq = getVarint(data, offset);
    if (seq === undefined) return undefined;
    offset = seq.offset;
    out.push({ start: parts[0] as Buffer, end: parts[1] as Buffer, sequence: seq.value });
  }
  return offset === data.length ? out : undefined;
}
