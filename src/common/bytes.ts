/**
 * Byte-string helpers. Keys and values are `Uint8Array`/`Buffer` everywhere; strings appear only at
 * the edges (CLI, tests), converted explicitly as UTF-8.
 */

/** An empty byte string, shared. */
export const EMPTY = Buffer.alloc(0);

/** Bytewise comparison: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** Views `data` as a Buffer without copying. */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** UTF-8 bytes of `s`. */
export function utf8(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/** Length of the common prefix of `a` and `b`. */
export function sharedPrefixLength(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * The smallest byte string greater than every string with prefix `prefix`, or `undefined` when none
 * exists (the prefix is all 0xff bytes).
 */
export function prefixSuccessor(prefix: Uint8Array): Buffer | undefined {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return undefined;
  const out = Buffer.from(prefix.subarray(0, end));
  out[end - 1] = (out[end - 1] as number) + 1;
  return out;
}

/** A short printable rendering of bytes for error details and logs. */
export function printable(data: Uint8Array, maxBytes = 64): string {
  const b = asBuffer(data).subarray(0, maxBytes);
  let s = '';
  for (const c of b)
    s +=
      c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return data.length > maxBytes ? `${s}…(${data.length} bytes)` : s;
}
