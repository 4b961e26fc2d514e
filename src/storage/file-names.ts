/**
 * Names of the files in a store directory. The names are part of the on-disk format: recovery
 * lists the directory and decides from names alone which files are logs, SSTables and manifests.
 *
 *   000123.log        a WAL segment            (walFileName)
 *   000123.sst        an SSTable               (sstFileName)
 *   MANIFEST-000123   a manifest               (manifestFileName)
 *   CURRENT           names the live manifest  (CURRENT_FILE_NAME; docs/format/manifest.md)
 *   CURRENT-7         names the live manifest of the owner with epoch 7 (currentFileName)
 *   FENCE-7           the owner epoch 7 has fenced the directory (fenceFileName; owner-fence.ts)
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
/** Prefix of the manifest pointer an owner with an epoch writes: `CURRENT-<epoch>`. PERSISTED. */
export const CURRENT_EPOCH_PREFIX = 'CURRENT-';
/** Prefix of fence file names: `FENCE-<epoch>`. PERSISTED. */
export const FENCE_PREFIX = 'FENCE-';
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

/** Epochs in names: decimal, no leading zero, at most 15 digits (a safe integer). */
const EPOCH_DIGITS = '([1-9][0-9]{0,14})';
const CURRENT_EPOCH_NAME = new RegExp(`^${CURRENT_EPOCH_PREFIX}${EPOCH_DIGITS}$`);
const FENCE_NAME = new RegExp(`^${FENCE_PREFIX}${EPOCH_DIGITS}$`);

function checkEpoch(epoch: number): void {
  assert(Number.isSafeInteger(epoch) && epoch >= 1, 'owner epoch must be a positive safe integer');
}

/** The manifest pointer of owner `epoch` (`CURRENT-<epoch>`), or `CURRENT` without an epoch. */
export function currentFileName(epoch?: number): string {
  if (epoch === undefined) return CURRENT_FILE_NAME;
  checkEpoch(epoch);
  return `${CURRENT_EPOCH_PREFIX}${epoch}`;
}

/** `FENCE-<epoch>`. */
export function fenceFileName(epoch: number): string {
  checkEpoch(epoch);
  return `${FENCE_PREFIX}${epoch}`;
}

/** The epoch of a manifest pointer name: 0 for `CURRENT`, undefined for any other name. */
export function pointerEpoch(name: string): number | undefined {
  if (name === CURRENT_FILE_NAME) return 0;
  const m = CURRENT_EPOCH_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The epoch of a fence file name, or undefined for any other name. */
export function fenceEpoch(name: string): number | undefined {
  const m = FENCE_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * The pointer that names the live manifest among directory entries `names`: the one of the
 * highest epoch (`CURRENT` counts as epoch 0), or undefined when there is none. A lower epoch's
 * pointer may be newer on disk (a fenced owner's late write): it is never the live one.
 */
export function livePointerName(names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestEpoch = -1;
  for (const name of names) {
    const epoch = pointerEpoch(name);
    if (epoch !== undefined && epoch > bestEpoch) {
      best = name;
      bestEpoch = epoch;
    }
  }
  return best;
}

/** The highest epoch of the fence files among `names`; 0 when there is none. */
export function highestFence(names: readonly string[]): number {
  let max = 0;
  for (const name of names) max = Math.max(max, fenceEpoch(name) ?? 0);
  return max;
}
