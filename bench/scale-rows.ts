/**
 * The rows of `bench:scale`: one table, one family, one column, 1 KB values. Row keys are spread
 * uniformly over the key space (a bijective 32-bit hash of the row number), so every tablet gets
 * writes and every key is distinct; each row's value is a window of a seeded random pool chosen by
 * the row number, so a read can be checked against what was written without keeping it.
 */
import { SeededRand } from '../src/common/clock.js';

export const TABLE_ID = 'scale';
export const FAMILY = 'f';
export const QUALIFIER = Buffer.from('c');
export const VALUE_BYTES = 1024;
const VALUE_POOL_BYTES = 1024 * 1024;
const VALUE_SEED = 20_250_101;

/** A bijection on 32-bit integers (murmur3's finalizer): uniform, distinct keys from row numbers. */
function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The row key of row number `row` (< 2^32): `row` and 8 hex digits. */
export function rowKeyOf(row: number): Buffer {
  return Buffer.from(`row${mix32(row).toString(16).padStart(8, '0')}`, 'latin1');
}

/** Incompressible 1 KB values: windows of a seeded random pool, chosen by row number. */
export class RowValues {
  private readonly pool = Buffer.allocUnsafe(VALUE_POOL_BYTES + VALUE_BYTES);
  constructor() {
    const rand = new SeededRand(VALUE_SEED);
    for (let i = 0; i < this.pool.length; i++) this.pool[i] = rand.int(256);
  }
  /** The value of row `row` (a view of the pool: the engine copies what it stores). */
  of(row: number): Buffer {
    const offset = mix32(row ^ 0x5bd1e995) % VALUE_POOL_BYTES;
    return this.pool.subarray(offset, offset + VALUE_BYTES);
  }
}
