/**
 * Names of the files in a store directory. The names are part of the on-disk format: recovery
 * lists the directory and decides from names alone which files are logs, SSTables and manifests.
 *
 *   000123.log        a WAL segment            (walFileName)
 *   000123.sst        an SSTable               (sstFileName)
 *   MANIFEST-000123   a manifest               (manifestFileName)
 *   CURRENT           names the live manifest  (CURRENT_FILE_NAME; docs/format/manifest.md)
 *
 * Numbers are zero-padded to at least six digits and grow beyond that as needed. Parsing accepts
 * only the exact form a formatter produces, so name ↔ number is a bijection.
 * Pure functions; no state.
 */
import { assert } from '../common/assert.js';

/** Minimum digits of a file number in a name. PERSISTED: changing it renames every file. */
export const FILE_NUMBER_DIGITS_MIN = 6;
/** The file naming the live manifest. PERSISTED. */
export const CURRENT_FILE_NAME = 'CURRENT';
/** Where CURRENT is written before it is renamed into place. */
export const CURRENT_TEMP_FILE_NAME = 'CURRENT.tmp';
/** Prefix of manifest names. PERSISTED. */
export const MANIFEST_PREFIX = 'MANIFEST-';
/** Suffix of WAL names. PERSISTED. */
export const WAL_SUFFIX = '.log';
/** Suffix of SSTable names. PERSISTED. */
export const SST_SUFFIX = '.sst';

/** Kinds of numbered files. */
export type FileKind = 'wal' | 'sst' | 'manifest';

/** A parsed numbered file name. */
export interface ParsedFileName {
  kind: FileKind;
  number: number;
}

function formatNumber(n: number): string {
  assert(Number.isSafeInteger(n) && n >= 0, 'file number must be a non-negative safe integer');
  return String(n).padStart(FILE_NUMBER_DIGITS_MIN, '0');
}

/** `MANIFEST-<number>`. */
export function manifestFileName(n: number): string {
  return `${MANIFEST_PREFIX}${formatNumber(n)}`;
}

/** `<number>.log`. */
export function walFileName(n: number): string {
  return `${formatNumber(n)}${WAL_SUFFIX}`;
}

/** `<number>.sst`. */
export function sstFileName(n: number): string {
  return `${formatNumber(n)}${SST_SUFFIX}`;
}

/** The number in `digits` if it is in canonical form, else `undefined`. */
function parseNumber(digits: string): number | undefined {
  if (!/^[0-9]+$/.test(digits)) return undefined;
  const n = Number(digits);
  if (!Number.isSafeInteger(n)) return undefined;
  return formatNumber(n) === digits ? n : undefined;
}

/** The kind and number of a numbered file name, or `undefined` for any other name (CURRENT too). */
export function parseFileName(name: string): ParsedFileName | undefined {
  let kind: FileKind;
  let digits: string;
  if (name.startsWith(MANIFEST_PREFIX)) {
    kind = 'manifest';
    digits = name.slice(MANIFEST_PREFIX.length);
  } else if (name.endsWith(WAL_SUFFIX)) {
    kind = 'wal';
    digits = name.slice(0, -WAL_SUFFIX.length);
  } else if (name.endsWith(SST_SUFFIX)) {
    kind = 'sst';
    digits = name.slice(0, -SST_SUFFIX.length);
  } else {
    return undefined;
  }
  const number = parseNumber(digits);
  return number === undefined ? undefined : { kind, number };
}
