/**
 * Turns rows into ReadRows responses: each row becomes CellChunks following the rules of
 * `ReadRowsResponse.CellChunk` in google/bigtable/v2/bigtable.proto, and chunks are gathered into
 * responses of about `responseBytesTarget` bytes (the first ones smaller, so the first rows of a
 * scan reach the client before a full-size response is built).
 *
 * Chunk rules (what every official client's reassembly state machine checks):
 * - `row_key` is set on the first chunk of a row only;
 * - `family_name` (a StringValue wrapper) is set on a row's first cell and whenever the family
 *   changes; `qualifier` (a BytesValue wrapper) on a row's first cell, when the family changes and
 *   when the qualifier changes — presence, not emptiness, signals a change, since both may be empty;
 * - `timestamp_micros` and `labels` are set on a cell's first chunk only;
 * - a value longer than `chunkValueBytesMax` is split: every chunk but the cell's last carries
 *   `value_size` (the whole value's length); the last carries none;
 * - the last chunk of a row carries `commit_row`. `reset_row` is never sent: a row is read whole
 *   before any of it is sent.
 *
 * Pure and lazy: `readRowsResponses` pulls the next row from its source only when the consumer asks
 * for the next response and the current one is not full, so at most one row is held at a time.
 * Value chunks are views (`subarray`) of the row's buffers, never copies.
 */
import { assert } from '../common/assert.js';
import type { Cell, RowCells } from '../model/row-cells.js';

/** A CellChunk as proto-loader encodes it (unset fields omitted). */
export interface CellChunk {
  rowKey?: Buffer;
  familyName?: { value: string };
  qualifier?: { value: Buffer };
  timestampMicros?: number;
  labels?: string[];
  value: Buffer;
  valueSize?: number;
  commitRow?: boolean;
}

/** A ReadRowsResponse as proto-loader encodes it. */
export interface ReadRowsResponse {
  chunks: CellChunk[];
}

/** Sizing options of the chunker. */
export interface ChunkerOptions {
  /** Most value bytes per chunk (READ_ROWS_CHUNK_VALUE_BYTES_MAX). */
  readonly chunkValueBytesMax: number;
  /** Approximate bytes of chunks per response (READ_ROWS_RESPONSE_BYTES_TARGET). */
  readonly responseBytesTarget: number;
  /**
   * Approximate bytes of the first response (READ_ROWS_FIRST_RESPONSE_BYTES_TARGET); each next
   * response targets twice the previous, up to `responseBytesTarget`. Default: `responseBytesTarget`.
   */
  readonly firstResponseBytesTarget?: number;
  /** Stop after this many rows; 0 means no limit. */
  readonly rowsLimit: number;
}

/** Encoding overhead of one chunk's tags, lengths and fixed fields, for response sizing only. */
const CHUNK_OVERHEAD_BYTES = 32;

function chunkBytes(chunk: CellChunk): number {
  let n = CHUNK_OVERHEAD_BYTES + chunk.value.length;
  if (chunk.rowKey !== undefined) n += chunk.rowKey.length;
  if (chunk.familyName !== undefined) n += chunk.familyName.value.length;
  if (chunk.qualifier !== undefined) n += chunk.qualifier.value.length;
  for (const label of chunk.labels ?? []) n += label.length;
  return n;
}

function firstChunkOfCell(row: RowCells, cell: Cell, prev: Cell | undefined): CellChunk {
  const chunk: CellChunk = { value: cell.value, timestampMicros: cell.timestampMicros };
  const familyChanged = prev === undefined || prev.family !== cell.family;
  if (prev === undefined) chunk.rowKey = row.key;
  if (familyChanged) chunk.familyName = { value: cell.family };
  if (familyChanged || !prev.qualifier.equals(cell.qualifier)) chunk.qualifier = { value: cell.qualifier };
  if (cell.labels.length > 0) chunk.labels = [...cell.labels];
  return chunk;
}

/**
 * The chunks of one row, in order. A row without cells yields nothing (the API cannot express
 * one, and the tablet never returns one).
 */
export function* rowChunks(row: RowCells, chunkValueBytesMax: number): Generator<CellChunk, void, undefined> {
  assert(chunkValueBytesMax > 0, 'chunkValueBytesMax must be positive');
  const cells = row.cells;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i] as Cell;
    const first = firstChunkOfCell(row, cell, i === 0 ? undefined : cells[i - 1]);
    const lastCell = i === cells.length - 1;
    const size = cell.value.length;
    if (size <= chunkValueBytesMax) {
      if (lastCell) first.commitRow = true;
      yield first;
      continue;
    }
    first.value = cell.value.subarray(0, chunkValueBytesMax);
    first.valueSize = size;
    yield first;
    for (let offset = chunkValueBytesMax; offset < size; offset += chunkValueBytesMax) {
      const end = Math.min(size, offset + chunkValueBytesMax);
      const chunk: CellChunk = { value: cell.value.subarray(offset, end) };
      if (end < size) chunk.valueSize = size;
      else if (lastCell) chunk.commitRow = true;
      yield chunk;
    }
  }
}

/**
 * The responses of a read: chunks of the rows of `rows`, about `responseBytesTarget` bytes per
 * response. Pulls rows lazily; `return()` on this generator also ends `rows` (for-of closes it).
 */
export function* readRowsResponses(
  rows: Iterable<RowCells>,
  options: ChunkerOptions,
): Generator<ReadRowsResponse, void, undefined> {
  let chunks: CellChunk[] = [];
  let bytes = 0;
  let rowCount = 0;
  let target = Math.min(
    options.firstResponseBytesTarget ?? options.responseBytesTarget,
    options.responseBytesTarget,
  );
  for (const row of rows) {
    if (row.cells.length === 0) continue;
    for (const chunk of rowChunks(row, options.chunkValueBytesMax)) {
      chunks.push(chunk);
      bytes += chunkBytes(chunk);
      if (bytes >= target) {
        yield { chunks };
        chunks = [];
        bytes = 0;
        target = Math.min(target * 2, options.responseBytesTarget);
      }
    }
    rowCount++;
    if (options.rowsLimit > 0 && rowCount >= options.rowsLimit) break;
  }
  if (chunks.length > 0) yield { chunks };
}
