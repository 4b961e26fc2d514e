/**
 * The Bloom filter of an SSTable: one filter over the table's USER keys, so a point read skips a
 * table that cannot hold the key without touching its index or data blocks.
 *
 * Layout (docs/format/sstable.md, "Filter block"): bit array of m = 8 × bytes bits ‖ k u8.
 * Key x sets bits (h1(x) + i·h2(x)) mod m for i in [0, k), where h1 and h2 are 32-bit
 * MurmurHash3-style hashes of the bytes of x with seeds BLOOM_HASH_SEED_1 and BLOOM_HASH_SEED_2
 * (double hashing: two base hashes stand in for k independent ones).
 * k = round(bitsPerKey × ln 2) clamped to [BLOOM_PROBES_MIN, BLOOM_PROBES_MAX].
 *
 * Concurrency: a builder belongs to one writer; a parsed filter is immutable and shared.
 *
 * Invariants: no false negatives — every added key answers `mayContain` true. The hash and the
 * probe sequence are PERSISTED: changing either silently breaks every existing filter.
 */
import { assert } from '../common/assert.js';
import {
  BLOOM_BITS_MIN,
  BLOOM_HASH_SEED_1,
  BLOOM_HASH_SEED_2,
  BLOOM_PROBES_BYTES,
  BLOOM_PROBES_MAX,
  BLOOM_PROBES_MIN,
} from './sstable-format.js';

// MurmurHash3 (x86, 32-bit) mixing constants. PERSISTED with the filter layout.
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const ROTATE_BLOCK = 15;
const ROTATE_STATE = 13;
const STATE_MULTIPLIER = 5;
const STATE_ADDEND = 0xe6546b64;
const FMIX_1 = 0x85ebca6b;
const FMIX_2 = 0xc2b2ae35;
const BITS_PER_BYTE = 8;
const INITIAL_KEYS = 1024;

/**
 * A 32-bit hash of `data` (MurmurHash3 x86_32 algorithm, written out here): fast, well mixed,
 * and stable across platforms because it reads bytes, not words.
 */
export function hash32(data: Uint8Array, seed: number): number {
  let h = seed | 0;
  const n = data.length;
  const blockEnd = n & ~3;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, C1);
    k = (k << ROTATE_BLOCK) | (k >>> (32 - ROTATE_BLOCK));
    h ^= Math.imul(k, C2);
    h = (h << ROTATE_STATE) | (h >>> (32 - ROTATE_STATE));
    h = (Math.imul(h, STATE_MULTIPLIER) + STATE_ADDEND) | 0;
  }
  const tail = n & 3;
  if (tail > 0) {
    let k = data[i] as number;
    if (tail > 1) k |= (data[i + 1] as number) << 8;
    if (tail > 2) k |= (data[i + 2] as number) << 16;
    k = Math.imul(k, C1);
    k = (k << ROTATE_BLOCK) | (k >>> (32 - ROTATE_BLOCK));
    h ^= Math.imul(k, C2);
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, FMIX_1);
  h ^= h >>> 13;
  h = Math.imul(h, FMIX_2);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Number of probes for `bitsPerKey`: round(bitsPerKey × ln 2) clamped to [1, 30]. */
export function bloomProbeCount(bitsPerKey: number): number {
  return Math.min(BLOOM_PROBES_MAX, Math.max(BLOOM_PROBES_MIN, Math.round(bitsPerKey * Math.LN2)));
}

/** Collects the hashes of user keys and lays out the filter. One per SSTable. */
export class BloomFilterBuilder {
  private hashes = new Uint32Array(2 * INITIAL_KEYS);
  private keys = 0;

  /** @param bitsPerKey bits of filter per key (> 0; a table without filter has no builder). */
  constructor(private readonly bitsPerKey: number) {
    assert(bitsPerKey > 0, 'bloom bits per key must be positive');
  }

  /** Number of keys added. */
  get keyCount(): number {
    return this.keys;
  }

  /** Adds a user key (the caller skips repeats of the same key). */
  addKey(userKey: Uint8Array): void {
    if (2 * this.keys === this.hashes.length) {
      const grown = new Uint32Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[2 * this.keys] = hash32(userKey, BLOOM_HASH_SEED_1);
    this.hashes[2 * this.keys + 1] = hash32(userKey, BLOOM_HASH_SEED_2);
    this.keys++;
  }

  /** The filter block contents: bits ‖ k. */
  finish(): Buffer {
    const bits = Math.max(BLOOM_BITS_MIN, Math.ceil(this.keys * this.bitsPerKey));
    const bytes = Math.ceil(bits / BITS_PER_BYTE);
    const m = bytes * BITS_PER_BYTE;
    const k = bloomProbeCount(this.bitsPerKey);
    const out = Buffer.alloc(bytes + BLOOM_PROBES_BYTES);
    for (let i = 0; i < this.keys; i++) {
      let h = this.hashes[2 * i] as number;
      const delta = this.hashes[2 * i + 1] as number;
      for (let j = 0; j < k; j++) {
        const bit = h % m;
        out[bit >>> 3] = (out[bit >>> 3] as number) | (1 << (bit & 7));
        h = (h + delta) >>> 0;
      }
    }
    out[bytes] = k;
    return out;
  }
}

/** A parsed filter. Immutable. */
export class BloomFilter {
  private constructor(
    private readonly bits: Buffer,
    private readonly bitCount: number,
    /** Probes per key. */
    readonly probeCount: number,
  ) {}

  /** Parses filter block contents; `undefined` if malformed. */
  static parse(data: Buffer): BloomFilter | undefined {
    if (data.length < BLOOM_PROBES_BYTES + 1) return undefined;
    const bytes = data.length - BLOOM_PROBES_BYTES;
    const k = data[bytes] as number;
    if (k < BLOOM_PROBES_MIN || k > BLOOM_PROBES_MAX) return undefined;
    return new BloomFilter(data.subarray(0, bytes), bytes * BITS_PER_BYTE, k);
  }

  /** False only if `userKey` was certainly not added. */
  mayContain(userKey: Uint8Array): boolean {
    const m = this.bitCount;
    const bits = this.bits;
    let h = hash32(userKey, BLOOM_HASH_SEED_1);
    const delta = hash32(userKey, BLOOM_HASH_SEED_2);
    for (let j = 0; j < this.probeCount; j++) {
      const bit = h % m;
      if (((bits[bit >>> 3] as number) & (1 << (bit & 7))) === 0) return false;
      h = (h + delta) >>> 0;
    }
    return true;
  }
}
