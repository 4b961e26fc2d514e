/**
 * The small data space the differential workload draws from, so that operations collide: few row
 * keys, families, qualifiers, timestamps and values. Every constant here is shared by the
 * workload generator, the filter generator and the intended-difference rules.
 *
 * Timestamps: explicit cell timestamps lie in the far future (`FUTURE_BASE_MICROS`), so that
 * ReadModifyWriteRow — whose new cell takes max(now, latest timestamp) — always lands on the
 * latest existing timestamp in both servers, and max-age GC rules never fire on them. Old
 * timestamps (`OLD_TIMESTAMPS_MICROS`) are used only in the GC table, which is read only after
 * the emulator's GC loop has run.
 */
import type { SeededRand } from '../../src/common/clock.js';

/** Project/instance prefix; both servers accept any. */
export const INSTANCE_NAME = 'projects/differential/instances/suite';

/** 2100-01-01T00:00:00Z in microseconds: later than any wall clock the suite runs under. */
export const FUTURE_BASE_MICROS = 4_102_444_800_000_000;
/** Distinct explicit timestamps per column, one millisecond apart. */
export const TIMESTAMP_COUNT = 5;
/** Explicit timestamps of the main table, ascending. */
export const TIMESTAMPS_MICROS: readonly number[] = Array.from(
  { length: TIMESTAMP_COUNT },
  (_, i) => FUTURE_BASE_MICROS + i * 1000,
);
/** Timestamps in 1970, older than any max-age rule: GC-eligible by age. */
export const OLD_TIMESTAMPS_MICROS: readonly number[] = [1000, 2000, 3000];

/** Families of the main table. `__proto__` checks that family names are never object keys. */
export const MAIN_FAMILIES: readonly string[] = ['a', 'b', '__proto__'];
/** A family no table has. */
export const UNKNOWN_FAMILY = 'nope';

/** Row keys: 20, including binary bytes, a prefix of another key and a 0x00 byte. */
export const ROW_KEYS: readonly Buffer[] = [
  ...Array.from({ length: 16 }, (_, i) => Buffer.from(`k${String(i).padStart(2, '0')}`)),
  Buffer.from('k0'),
  Buffer.from('k05\x00', 'latin1'),
  Buffer.from('k\xff', 'latin1'),
  Buffer.from('z'),
];
/** Row-range bounds: the keys plus points between and around them. */
export const RANGE_BOUNDS: readonly Buffer[] = [
  ...ROW_KEYS,
  Buffer.from('k'),
  Buffer.from('k07x'),
  Buffer.from('k1'),
  Buffer.from('a'),
];

/** Qualifiers, including the empty one and binary bytes. */
export const QUALIFIERS: readonly Buffer[] = [
  Buffer.alloc(0),
  Buffer.from('q'),
  Buffer.from('q\x00', 'latin1'),
  Buffer.from('r'),
  Buffer.from('\xff', 'latin1'),
];

/** Width of an incrementable cell value. */
export const COUNTER_BYTES = 8;
/** A value big enough that servers may split it over several chunks. */
export const LARGE_VALUE_BYTES = 96 * 1024;

/** Small values: empty, text, binary, and 8-byte big-endian counters. */
export const VALUES: readonly Buffer[] = [
  Buffer.alloc(0),
  Buffer.from('v'),
  Buffer.from('vv'),
  Buffer.from('abc'),
  Buffer.from('x\x00y', 'latin1'),
  Buffer.from('\xff\x80', 'latin1'),
  counter(0n),
  counter(7n),
  counter(-1n),
];

/** An 8-byte big-endian two's-complement counter value. */
export function counter(n: bigint): Buffer {
  const b = Buffer.alloc(COUNTER_BYTES);
  b.writeBigInt64BE(n);
  return b;
}

/** One element of `items`, uniformly. */
export function pick<T>(rand: SeededRand, items: readonly T[]): T {
  return items[rand.int(items.length)] as T;
}

/** True with probability `p`. */
export function chance(rand: SeededRand, p: number): boolean {
  return rand.next() < p;
}

/** An integer in [lo, hi]. */
export function between(rand: SeededRand, lo: number, hi: number): number {
  return lo + rand.int(hi - lo + 1);
}

/** A value: mostly from `VALUES`, sometimes random bytes, rarely large. */
export function randomValue(rand: SeededRand): Buffer {
  if (chance(rand, 0.002)) return Buffer.alloc(LARGE_VALUE_BYTES, 0x42);
  if (chance(rand, 0.15)) return Buffer.from(Array.from({ length: rand.int(5) }, () => rand.int(256)));
  return pick(rand, VALUES);
}

/** Full table name of `tableId`. */
export function tableName(tableId: string): string {
  return `${INSTANCE_NAME}/tables/${tableId}`;
}
