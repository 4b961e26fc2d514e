/**
 * Block compression codecs behind one small synchronous interface: none, snappy (`snappy`) and
 * lz4 (`lz4-napi`, LZ4 block format with a u32 little-endian uncompressed-size prefix).
 *
 * Concurrency: stateless; safe from any thread (the flush/compaction workers compress).
 *
 * Invariants:
 * - A block is stored compressed only if that saves at least 12.5 %
 *   (COMPRESSION_MIN_SAVING_SHIFT); otherwise it is stored raw with type None.
 * - `uncompress` never allocates more than `maxBytes`: the length a compressed block claims is
 *   checked before the codec runs, and the result length must equal the claim.
 */
import * as lz4 from 'lz4-napi';
import * as snappy from 'snappy';
import { asBuffer } from '../common/bytes.js';
import { getVarint } from '../common/varint.js';
import { COMPRESSION_MIN_SAVING_SHIFT, CompressionType } from './sstable-format.js';

/** Names of the codecs, as options spell them. */
export type CompressionName = 'none' | 'snappy' | 'lz4';

/** Bytes of the uncompressed-size prefix that lz4-napi writes. */
const LZ4_SIZE_PREFIX_BYTES = 4;

/** One codec. */
export interface Codec {
  readonly name: CompressionName;
  readonly type: CompressionType;
  compress(raw: Buffer): Buffer;
  /** The uncompressed length `data` claims, or `undefined` when that cannot be read. */
  claimedLength(data: Buffer): number | undefined;
  /** Uncompresses `data`, whose claimed length the caller has already bounded. May throw. */
  uncompress(data: Buffer): Buffer;
}

const noneCodec: Codec = {
  name: 'none',
  type: CompressionType.None,
  compress: (raw) => raw,
  claimedLength: (data) => data.length,
  uncompress: (data) => data,
};

const snappyCodec: Codec = {
  name: 'snappy',
  type: CompressionType.Snappy,
  compress: (raw) => snappy.compressSync(raw),
  claimedLength: (data) => getVarint(data, 0)?.value,
  uncompress: (data) => asBuffer(snappy.uncompressSync(data, { asBuffer: true }) as Buffer),
};

const lz4Codec: Codec = {
  name: 'lz4',
  type: CompressionType.Lz4,
  compress: (raw) => lz4.compressSync(raw),
  claimedLength: (data) => (data.length < LZ4_SIZE_PREFIX_BYTES ? undefined : data.readUInt32LE(0)),
  uncompress: (data) => lz4.uncompressSync(data),
};

const BY_NAME: ReadonlyMap<CompressionName, Codec> = new Map([
  ['none', noneCodec],
  ['snappy', snappyCodec],
  ['lz4', lz4Codec],
]);

const BY_TYPE: ReadonlyMap<number, Codec> = new Map([...BY_NAME.values()].map((c) => [c.type, c]));

/** The codec called `name`. */
export function codecByName(name: CompressionName): Codec {
  const codec = BY_NAME.get(name);
  if (codec === undefined) throw new TypeError(`unknown compression ${String(name)}`);
  return codec;
}

/** The codec with the persisted id `type`, or `undefined` for an unknown id. */
export function codecByType(type: number): Codec | undefined {
  return BY_TYPE.get(type);
}

/** Every codec name, for option validation and benchmarks. */
export const COMPRESSION_NAMES: readonly CompressionName[] = [...BY_NAME.keys()];

/** A block ready to store: its bytes and the type to write in its trailer. */
export interface StoredBlock {
  data: Buffer;
  type: CompressionType;
}

/** Compresses `raw` with `codec` when that saves at least 12.5 %; else returns it raw. */
export function compressBlock(raw: Buffer, codec: Codec): StoredBlock {
  if (codec.type === CompressionType.None) return { data: raw, type: CompressionType.None };
  const compressed = codec.compress(raw);
  if (compressed.length <= raw.length - (raw.length >>> COMPRESSION_MIN_SAVING_SHIFT)) {
    return { data: compressed, type: codec.type };
  }
  return { data: raw, type: CompressionType.None };
}

/** Why uncompression failed, or the uncompressed bytes. */
export type UncompressResult = { data: Buffer } | { error: string };

/** Uncompresses a stored block of type `type`, allocating at most `maxBytes`. */
export function uncompressBlock(stored: Buffer, type: number, maxBytes: number): UncompressResult {
  const codec = codecByType(type);
  if (codec === undefined) return { error: `unknown compression type ${type}` };
  if (codec.type === CompressionType.None) return { data: stored };
  const claimed = codec.claimedLength(stored);
  if (claimed === undefined || claimed > maxBytes) return { error: 'compressed block claims a bad length' };
  let data: Buffer;
  try {
    data = codec.uncompress(stored);
  } catch {
    return { error: 'compressed block does not decode' };
  }
  if (data.length !== claimed) return { error: 'compressed block decodes to the wrong length' };
  return { data };
}

/**
 * The codec new SSTables use unless configured otherwise: chosen by bench/compression-bench.ts
 * (figures in docs/format/sstable.md) — snappy decompressed 4 KiB blocks faster than lz4 at a
 * slightly better ratio.
 */
export const COMPRESSION_DEFAULT: CompressionName = 'snappy';
