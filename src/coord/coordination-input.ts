/**
 * Validation of coordination input against the limits in `src/common/limits.ts`, shared by every
 * driver so that each rejects the same input with the same code: INVALID_ARGUMENT for malformed
 * input or a per-request limit, never a silent truncation.
 *
 * Concurrency: pure functions.
 *
 * Invariants: an accepted key, lock name, prefix or owner is a well-formed UTF-16 string (no lone
 * surrogate), so its UTF-8 encoding round-trips exactly and string prefixes equal byte prefixes.
 */
import { errors } from '../common/errors.js';
import {
  COORD_KEY_BYTES_MAX,
  COORD_LEASE_TTL_MS_MAX,
  COORD_OWNER_BYTES_MAX,
  COORD_VALUE_BYTES_MAX,
} from '../common/limits.js';

/** A lone surrogate: a string holding one has no exact UTF-8 form. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkName(text: string, what: string, bytesMax: number, allowEmpty: boolean): void {
  if (typeof text !== 'string') throw errors.invalidArgument(`coordination ${what} is not a string`);
  if (!allowEmpty && text.length === 0) throw errors.invalidArgument(`coordination ${what} is empty`);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > bytesMax) {
    throw errors.invalidArgument(`coordination ${what} is too long`, { bytes, max: bytesMax });
  }
  if (LONE_SURROGATE.test(text)) {
    throw errors.invalidArgument(`coordination ${what} is not valid unicode`);
  }
}

/** Checks a key: non-empty, well-formed, at most `COORD_KEY_BYTES_MAX` UTF-8 bytes. */
export function checkKey(key: string): void {
  checkName(key, 'key', COORD_KEY_BYTES_MAX, false);
}

/** Checks a list or watch prefix: like a key, but may be empty (everything). */
export function checkPrefix(prefix: string): void {
  checkName(prefix, 'prefix', COORD_KEY_BYTES_MAX, true);
}

/** Checks a value: bytes, at most `COORD_VALUE_BYTES_MAX`. */
export function checkValue(key: string, value: Uint8Array): void {
  if (!(value instanceof Uint8Array))
    throw errors.invalidArgument('coordination value is not bytes', { key });
  if (value.length > COORD_VALUE_BYTES_MAX) {
    throw errors.invalidArgument('coordination value is too large', {
      key,
      bytes: value.length,
      max: COORD_VALUE_BYTES_MAX,
    });
  }
}

/** Checks an `expectedVersion` option: absent, or a non-negative safe integer. */
export function checkExpectedVersion(key: string, expectedVersion: number | undefined): void {
  if (expectedVersion === undefined) return;
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
    throw errors.invalidArgument('expected version is not a non-negative integer', {
      key,
      expectedVersion: String(expectedVersion),
    });
  }
}

/** Checks the arguments of `acquireLock`. */
export function checkLockRequest(name: string, owner: string, ttlMs: number): void {
  checkName(name, 'lock name', COORD_KEY_BYTES_MAX, false);
  checkName(owner, 'lock owner', COORD_OWNER_BYTES_MAX, false);
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0 || ttlMs > COORD_LEASE_TTL_MS_MAX) {
    throw errors.invalidArgument('lease ttl is out of range', {
      name,
      ttlMs: String(ttlMs),
      max: COORD_LEASE_TTL_MS_MAX,
    });
  }
}

/**
 * Orders well-formed keys by their UTF-8 bytes (the order `list` returns and the state file stores)
 * without encoding them. UTF-8 byte order is code point order; UTF-16 code unit order differs only
 * in that surrogates (code points above U+FFFF) must sort after U+E000..U+FFFF, hence the remap.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}
