/**
 * Bytes at the edge of the API: callers pass `Uint8Array`s or strings (UTF-8); everything below
 * this file sees `Buffer`s. A Uint8Array is viewed, never copied, so the caller must not change it
 * until the call that took it has resolved.
 */
import { errors } from '../common/errors.js';
import type { Bytes } from './client-types.js';

/** The bytes of `value` as a Buffer: UTF-8 for strings, a view for Uint8Arrays. */
export function toBuffer(value: Bytes, field: string): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) {
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  throw errors.invalidArgument('expected a string or a Uint8Array', { field, type: typeName(value) });
}

/** The name of a value's type, for messages. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Checks that `value` is a string (family names, table names, labels). */
export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw errors.invalidArgument('expected a string', { field, type: typeName(value) });
  }
  return value;
}

/**
 * The one key set on a "one of" object such as `{ setCell: … }`. Throws INVALID_ARGUMENT naming
 * `field` when none or several of `allowed` are set, or an unknown key is.
 */
export function oneKeyOf<K extends string>(value: unknown, allowed: readonly K[], field: string): K {
  if (typeof value !== 'object' || value === null) {
    throw errors.invalidArgument('expected an object', { field, type: typeName(value) });
  }
  const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined);
  const known = keys.filter((k): k is K => (allowed as readonly string[]).includes(k));
  if (known.length !== 1 || keys.length !== 1) {
    throw errors.invalidArgument(`set exactly one of ${allowed.join(', ')}`, {
      field,
      keys: keys.join(',') || '(none)',
    });
  }
  return known[0] as K;
}
