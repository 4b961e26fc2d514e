/**
 * CRC32C (Castagnoli), hardware-accelerated through `@node-rs/crc32`. Stored checksums are masked
 * as LevelDB does, so that a CRC computed over data that itself contains CRCs is not degenerate.
 */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

const MASK_DELTA = 0xa282ead8;

/** CRC32C of `data`, optionally continuing from `initial`. */
export function crc32c(data: Uint8Array, initial = 0): number {
  return nativeCrc32c(data as Buffer, initial) >>> 0;
}

/** The masked form stored on disk. */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** Inverse of `maskCrc`. */
export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}

/** Masked CRC32C of `data`: what every on-disk checksum field holds. */
export function maskedCrc32c(data: Uint8Array): number {
  return maskCrc(crc32c(data));
}
