/**
 * Reads an input file record by record from a byte offset, reporting where each record ends, so
 * an import can checkpoint "everything before byte N is written" and resume exactly there.
 *
 * A record ends at a newline byte: for JSON Lines every newline, for CSV (RFC 4180) a newline
 * outside double quotes. Quote state is the parity of `"` bytes since the record began, which is
 * exact for RFC 4180 (an escaped quote `""` flips it twice). Both bytes are ASCII, so scanning
 * UTF-8 input byte by byte never splits a character. A record over RECORD_BYTES_MAX fails.
 */
import { open } from 'node:fs/promises';
import { usage } from './cli-output.js';

/** Largest input record (one CSV row or JSON line), a bound on memory. */
export const RECORD_BYTES_MAX = 16 * 1024 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;
const QUOTE = 0x22;

/** One record of the input. */
export interface InputRecord {
  /** The record's text without its line ending. */
  readonly text: string;
  /** File offset just past the record's newline (where the next record starts). */
  readonly endOffset: number;
}

/** Yields the records of `path` from `startOffset` on; `csv` makes quoted newlines part of a record. */
export async function* readRecords(
  path: string,
  startOffset: number,
  csv: boolean,
): AsyncGenerator<InputRecord> {
  const file = await open(path, 'r');
  try {
    let position = startOffset;
    let pending: Buffer = Buffer.alloc(0);
    let quoted = false;
    let scanFrom = 0;
    const chunk = Buffer.alloc(READ_CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await file.read(chunk, 0, READ_CHUNK_BYTES, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      pending =
        pending.length === 0
          ? Buffer.from(chunk.subarray(0, bytesRead))
          : Buffer.concat([pending, chunk.subarray(0, bytesRead)]);
      let recordStart = 0;
      for (let i = scanFrom; i < pending.length; i++) {
        const byte = pending[i];
        if (csv && byte === QUOTE) quoted = !quoted;
        else if (byte === NEWLINE && !quoted) {
          const endOffset = position - pending.length + i + 1;
          yield { text: stripCr(pending.subarray(recordStart, i)), endOffset };
          recordStart = i + 1;
        }
      }
      pending = pending.subarray(recordStart);
      scanFrom = pending.length;
      if (pending.length > RECORD_BYTES_MAX)
        usage(`${path}: a record at offset ${position - pending.length} is over ${RECORD_BYTES_MAX} bytes`);
    }
    if (pending.length > 0) yield { text: stripCr(pending), endOffset: position };
  } finally {
    await file.close();
  }
}

function stripCr(bytes: Buffer): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
  return bytes.toString('utf8', 0, end);
}

/** The fields of one CSV record (RFC 4180: quoted fields may hold commas, quotes and newlines). */
export function parseCsvRecord(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field.length === 0) quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
    i++;
  }
  fields.push(field);
  return fields;
}
