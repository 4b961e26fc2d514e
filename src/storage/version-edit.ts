/**
 * Version edits: the records of a manifest (docs/format/manifest.md). An edit says which SSTables
 * were added to or removed from which level, and moves the log number, next file number and last
 * sequence forward. A manifest is one snapshot edit followed by incremental edits; replaying them in
 * order gives the store's current file set.
 *
 * Encoding: a sequence of fields, each `varint tag ‖ value`. Fields may come in any order; scalar
 * fields at most once. New fields get new tags; a reader that meets a tag it does not know fails
 * with DATA_LOSS instead of dropping information it cannot interpret.
 *
 * Pure functions; no state. Decoding validates everything and never asserts on file contents.
 */
import { assert } from '../common/assert.js';
import { asBuffer } from '../common/bytes.js';
import { type ErrorDetails, errors } from '../common/errors.js';
import { FILE_REF_SOURCE_DIR_BYTES_MAX, LSM_LEVELS } from '../common/limits.js';
import { ByteWriter, getVarint } from '../common/varint.js';
import type { FileSource } from './file-refs.js';
import { TRAILER_BYTES } from './internal-key.js';

/** One SSTable as the manifest knows it. */
export interface FileMeta {
  fileNumber: number;
  fileSize: number;
  /** Encoded internal key of the first entry (inclusive bound). */
  smallest: Buffer;
  /** Encoded internal key of the last entry (inclusive bound). */
  largest: Buffer;
  entryCount: number;
  /** Set for a reference to another store's file (src/storage/file-refs.ts); unset: this store's own. */
  source?: FileSource;
  /** Whether the file holds entries outside [smallest, largest] that reads must hide. */
  bounded?: boolean;
}

/** A change to the store's file set. Absent scalars are unchanged. */
export interface VersionEdit {
  logNumber?: number;
  nextFileNumber?: number;
  lastSequence?: number;
  addedFiles: { level: number; file: FileMeta }[];
  deletedFiles: { level: number; fileNumber: number }[];
}

/** Field tags. PERSISTED: never renumber. */
export const EditTag = {
  /** varint: WAL segments numbered below this are obsolete. */
  LogNumber: 1, // PERSISTED: never renumber.
  /** varint: the next file number to allocate. */
  NextFileNumber: 2, // PERSISTED: never renumber.
  /** varint: the highest sequence number in any SSTable. */
  LastSequence: 3, // PERSISTED: never renumber.
  /** level, fileNumber, fileSize (varints), smallest, largest (length-prefixed), entryCount (varint). */
  AddedFile: 4, // PERSISTED: never renumber.
  /** level, fileNumber (varints). */
  DeletedFile: 5, // PERSISTED: never renumber.
  /**
   * A file reference: level, fileNumber, fileSize (varints), smallest, largest (length-prefixed),
   * entryCount, flags (varint; bit 0: bounded), source dir (length-prefixed UTF-8), source number.
   */
  AddedFileRef: 6, // PERSISTED: never renumber.
} as const;

/** Flag bits of AddedFileRef. PERSISTED: never renumber. */
const REF_FLAG_BOUNDED = 1;

/** Encodes `edit` as one manifest record. */
export function encodeVersionEdit(edit: VersionEdit): Buffer {
  const w = new ByteWriter();
  if (edit.logNumber !== undefined) w.varint(EditTag.LogNumber).varint(edit.logNumber);
  if (edit.nextFileNumber !== undefined) w.varint(EditTag.NextFileNumber).varint(edit.nextFileNumber);
  if (edit.lastSequence !== undefined) w.varint(EditTag.LastSequence).varint(edit.lastSequence);
  for (const { level, file } of edit.addedFiles) {
    assert(level >= 0 && level < LSM_LEVELS, 'level out of range');
    assert(file.smallest.length >= TRAILER_BYTES && file.largest.length >= TRAILER_BYTES, 'bad bound');
    const isRef = file.source !== undefined || file.bounded === true;
    w.varint(isRef ? EditTag.AddedFileRef : EditTag.AddedFile);
    w.varint(level).varint(file.fileNumber).varint(file.fileSize);
    w.lengthPrefixed(file.smallest).lengthPrefixed(file.largest).varint(file.entryCount);
    if (isRef) {
      const dir = Buffer.from(file.source?.dir ?? '', 'utf8');
      assert(dir.length <= FILE_REF_SOURCE_DIR_BYTES_MAX, 'source directory name too long');
      w.varint(file.bounded ? REF_FLAG_BOUNDED : 0).lengthPrefixed(dir);
      w.varint(file.source?.fileNumber ?? file.fileNumber);
    }
  }
  for (const { level, fileNumber } of edit.deletedFiles) {
    assert(level >= 0 && level < LSM_LEVELS, 'level out of range');
    w.varint(EditTag.DeletedFile).varint(level).varint(fileNumber);
  }
  return w.finish();
}

/** A cursor over an encoded edit that throws DATA_LOSS (with `context`) on malformed input. */
class EditReader {
  offset = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly context: ErrorDetails,
  ) {}

  get done(): boolean {
    return this.offset >= this.buf.length;
  }

  fail(reason: string): never {
    throw errors.dataLoss(`manifest record is malformed: ${reason}`, {
      ...this.context,
      fieldOffset: this.offset,
    });
  }

  varint(): number {
    const d = getVarint(this.buf, this.offset);
    if (!d) this.fail('bad varint');
    this.offset = d.offset;
    return d.value;
  }

  level(): number {
    const level = this.varint();
    if (level >= LSM_LEVELS) this.fail('level out of range');
    return level;
  }

  /** A length-prefixed UTF-8 string of at most `max` bytes. */
  text(max: number): string {
    const len = this.varint();
    if (len > max || this.offset + len > this.buf.length) this.fail('bad string');
    const text = this.buf.toString('utf8', this.offset, this.offset + len);
    this.offset += len;
    return text;
  }

  internalKey(): Buffer {
    const len = this.varint();
    if (len < TRAILER_BYTES || this.offset + len > this.buf.length) this.fail('bad key bound');
    const key = Buffer.from(this.buf.subarray(this.offset, this.offset + len));
    this.offset += len;
    return key;
  }
}

/**
 * Decodes one manifest record. Throws DATA_LOSS with `context` (e.g. the manifest path and record
 * offset) for malformed bytes or an unknown tag.
 */
export function decodeVersionEdit(data: Uint8Array, context: ErrorDetails = {}): VersionEdit {
  const r = new EditReader(asBuffer(data), context);
  const edit: VersionEdit = { addedFiles: [], deletedFiles: [] };
  const scalar = (key: 'logNumber' | 'nextFileNumber' | 'lastSequence'): void => {
    if (edit[key] !== undefined) r.fail(`duplicate ${key}`);
    edit[key] = r.varint();
  };
  while (!r.done) {
    const tag = r.varint();
    switch (tag) {
      case EditTag.LogNumber:
        scalar('logNumber');
        break;
      case EditTag.NextFileNumber:
        scalar('nextFileNumber');
        break;
      case EditTag.LastSequence:
        scalar('lastSequence');
        break;
      case EditTag.AddedFile:
      case EditTag.AddedFileRef: {
        const level = r.level();
        const fileNumber = r.varint();
        const fileSize = r.varint();
        const smallest = r.internalKey();
        const largest = r.internalKey();
        const entryCount = r.varint();
        const file: FileMeta = { fileNumber, fileSize, smallest, largest, entryCount };
        if (tag === EditTag.AddedFileRef) {
          const flags = r.varint();
          if ((flags & ~REF_FLAG_BOUNDED) !== 0) r.fail('unknown reference flags');
          const dir = r.text(FILE_REF_SOURCE_DIR_BYTES_MAX);
          const number = r.varint();
          if (flags & REF_FLAG_BOUNDED) file.bounded = true;
          if (dir !== '') file.source = { dir, fileNumber: number };
        }
        edit.addedFiles.push({ level, file });
        break;
      }
      case EditTag.DeletedFile: {
        const level = r.level();
        edit.deletedFiles.push({ level, fileNumber: r.varint() });
        break;
      }
      default:
        r.fail(`unknown tag ${tag}`);
    }
  }
  return edit;
}
