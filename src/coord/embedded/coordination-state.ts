/**
 * The durable state of the embedded coordination driver and its codec (layout in
 * coordination-format.ts and docs/format/coordination.md).
 *
 * Concurrency: a `CoordinationState` is immutable once built. A change builds a new state (copying
 * the entry map) and the owner swaps it in only after it is durable, so readers always see a
 * durable state and a failed write leaves the old one in force.
 *
 * Invariants: every entry's version is in [1, revision]; `dataBytes` is the sum of the UTF-8 key
 * bytes and value bytes of all entries (derived, not stored). The decoder trusts no length: any
 * damage is DATA_LOSS naming the file.
 */
import { crc32c, maskCrc } from '../../common/crc32c.js';
import { errors } from '../../common/errors.js';
import { ByteWriter, getVarint } from '../../common/varint.js';
import { compareKeys } from '../coordination-input.js';
import {
  COORD_BODY_LENGTH_OFFSET,
  COORD_CHECKSUM_OFFSET,
  COORD_HEADER_BYTES,
  COORD_MAGIC_OFFSET,
  COORD_STATE_FORMAT_VERSION,
  COORD_STATE_MAGIC,
  COORD_VERSION_OFFSET,
} from './coordination-format.js';

/** A stored key's value. */
export interface StoredValue {
  /** Owned by the state: never handed out without a copy. */
  readonly value: Buffer;
  /** Revision of the key's last put. */
  readonly version: number;
}

/** Everything the embedded driver persists. */
export interface CoordinationState {
  /** Largest revision ever assigned to a change (0 before the first); never decreases. */
  readonly revision: number;
  /** Largest lease epoch ever granted (0 before the first); never decreases. */
  readonly lastEpoch: number;
  /** Keys and their values. */
  readonly entries: ReadonlyMap<string, StoredValue>;
  /** UTF-8 bytes of all keys plus bytes of all values. */
  readonly dataBytes: number;
}

/** The state of a new store. */
export function emptyCoordinationState(): CoordinationState {
  return { revision: 0, lastEpoch: 0, entries: new Map(), dataBytes: 0 };
}

/** Bytes an entry counts towards `dataBytes`. */
export function entryDataBytes(key: string, value: Uint8Array): number {
  return Buffer.byteLength(key, 'utf8') + value.length;
}

/** The whole state file for `state`. */
export function encodeCoordinationState(state: CoordinationState): Buffer {
  const body = new ByteWriter(COORD_HEADER_BYTES + state.dataBytes + state.entries.size * 12 + 32);
  body.varint(state.revision).varint(state.lastEpoch).varint(state.entries.size);
  const keys = [...state.entries.keys()].sort(compareKeys);
  for (const key of keys) {
    const entry = state.entries.get(key)!;
    body.lengthPrefixed(Buffer.from(key, 'utf8')).varint(entry.version).lengthPrefixed(entry.value);
  }
  const bodyBytes = body.view();
  const header = Buffer.alloc(COORD_HEADER_BYTES);
  COORD_STATE_MAGIC.copy(header, COORD_MAGIC_OFFSET);
  header.writeUInt32LE(COORD_STATE_FORMAT_VERSION, COORD_VERSION_OFFSET);
  header.writeUInt32LE(bodyBytes.length, COORD_BODY_LENGTH_OFFSET);
  const crc = crc32c(bodyBytes, crc32c(header.subarray(0, COORD_CHECKSUM_OFFSET)));
  header.writeUInt32LE(maskCrc(crc), COORD_CHECKSUM_OFFSET);
  return Buffer.concat([header, bodyBytes]);
}

/**
 * Parses a whole state file read from `path`. DATA_LOSS (naming `path`) for any damage;
 * FAILED_PRECONDITION for an intact file of another format version.
 */
export function decodeCoordinationState(file: Buffer, path: string): CoordinationState {
  if (file.length < COORD_HEADER_BYTES) {
    throw errors.dataLoss('coordination state file is truncated', { path, bytes: file.length });
  }
  const magic = file.subarray(COORD_MAGIC_OFFSET, COORD_MAGIC_OFFSET + COORD_STATE_MAGIC.length);
  if (!magic.equals(COORD_STATE_MAGIC)) {
    throw errors.dataLoss('coordination state file has a bad magic number', { path });
  }
  const bodyLength = file.readUInt32LE(COORD_BODY_LENGTH_OFFSET);
  if (COORD_HEADER_BYTES + bodyLength !== file.length) {
    throw errors.dataLoss('coordination state file length does not match its header', {
      path,
      bytes: file.length,
      bodyLength,
    });
  }
  const body = file.subarray(COORD_HEADER_BYTES);
  const crc = crc32c(body, crc32c(file.subarray(0, COORD_CHECKSUM_OFFSET)));
  if (maskCrc(crc) !== file.readUInt32LE(COORD_CHECKSUM_OFFSET)) {
    throw errors.dataLoss('coordination state file checksum mismatch', { path });
  }
  const version = file.readUInt32LE(COORD_VERSION_OFFSET);
  if (version !== COORD_STATE_FORMAT_VERSION) {
    throw errors.failedPrecondition('unsupported coordination state format version', { path, version });
  }
  return decodeBody(body, path);
}

/** UTF-8 decoding that rejects malformed bytes and keeps a leading BOM (keys are exact). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeBody(body: Buffer, path: string): CoordinationState {
  let offset = 0;
  const malformed = (reason: string) =>
    errors.dataLoss('coordination state file is malformed', {
      path,
      offset: COORD_HEADER_BYTES + offset,
      reason,
    });
  const varint = (what: string): number => {
    const d = getVarint(body, offset);
    if (!d) throw malformed(`bad ${what}`);
    offset = d.offset;
    return d.value;
  };
  const bytes = (what: string): Buffer => {
    const length = varint(`${what} length`);
    if (length > body.length - offset) throw malformed(`${what} overruns the file`);
    const out = body.subarray(offset, offset + length);
    offset += length;
    return out;
  };
  const revision = varint('revision');
  const lastEpoch = varint('last epoch');
  const count = varint('entry count');
  const entries = new Map<string, StoredValue>();
  let dataBytes = 0;
  let previousKey: Buffer | undefined;
  for (let i = 0; i < count; i++) {
    const keyBytes = bytes('key');
    if (keyBytes.length === 0) throw malformed('empty key');
    if (previousKey && Buffer.compare(previousKey, keyBytes) >= 0) throw malformed('keys out of order');
    let key: string;
    try {
      key = UTF8.decode(keyBytes);
    } catch {
      throw malformed('key is not utf-8');
    }
    const version = varint('version');
    if (version < 1 || version > revision) throw malformed('version out of range');
    const value = Buffer.from(bytes('value'));
    entries.set(key, { value, version });
    dataBytes += keyBytes.length + value.length;
    previousKey = keyBytes;
  }
  if (offset !== body.length) throw malformed('trailing bytes');
  return { revision, lastEpoch, entries, dataBytes };
}
