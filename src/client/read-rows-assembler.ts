/**
 * Reassembles the CellChunks of a ReadRows stream (google/bigtable/v2/bigtable.proto,
 * ReadRowsResponse.CellChunk) into rows, checking the protocol as the official clients do:
 *
 * - a row's first chunk sets `row_key`, `family_name` and `qualifier`; later chunks of the row may
 *   repeat the same `row_key` only; a new `family_name` comes with a `qualifier`;
 * - presence of the wrapper, not emptiness, marks a change (a qualifier may be empty);
 * - a chunk with `value_size` > 0 is the start or middle of a split value: the following chunks of
 *   that cell carry only value bytes, and the last one has no `value_size`; the pieces must add up
 *   to `value_size`;
 * - `reset_row` drops the row in progress and carries nothing else;
 * - `commit_row` ends the row, never inside a split value; committed keys strictly increase
 *   (strictly decrease for a reversed read);
 * - the stream never ends inside a row (`finish()`).
 *
 * Any violation throws INTERNAL (the server broke the protocol). Invariant: rows come out only
 * when committed, each cell exactly as sent. Holds one row in progress at a time.
 */
import { errors } from '../common/errors.js';
import type { Cell, Row } from './client-types.js';

/** A CellChunk as proto-loader decodes it (unset fields absent). */
export interface CellChunkIn {
  rowKey?: Buffer;
  familyName?: { value?: string } | null;
  qualifier?: { value?: Buffer } | null;
  timestampMicros?: string | number;
  labels?: string[];
  value?: Buffer;
  valueSize?: number;
  resetRow?: boolean;
  commitRow?: boolean;
}

const EMPTY = Buffer.alloc(0);

/** The cell being assembled. */
interface PendingCell {
  timestampMicros: number;
  labels: string[];
  /** Value pieces in order. */
  parts: Buffer[];
  /** `value_size` of the cell's first chunk; 0 when the value came whole. */
  declaredBytes: number;
  /** Value bytes received so far. */
  bytes: number;
  /** Whether more value chunks follow. */
  open: boolean;
}

function protocolError(message: string): Error {
  return errors.internal(`read rows protocol violation: ${message}`);
}

/** The chunk state machine of one ReadRows stream. */
export class ReadRowsAssembler {
  private key: Buffer | undefined;
  private cells: Cell[] = [];
  private family: string | undefined;
  private qualifier: Buffer | undefined;
  private pending: PendingCell | undefined;
  private lastCommitted: Buffer | undefined;

  constructor(private readonly reversed: boolean) {}

  /** The key of the last committed row, if any. */
  get lastCommittedKey(): Buffer | undefined {
    return this.lastCommitted;
  }

  /** Feeds one chunk; returns the row it commits, if any. */
  push(chunk: CellChunkIn): Row | undefined {
    if (chunk.resetRow === true) {
      this.reset(chunk);
      return undefined;
    }
    if (this.pending?.open === true) this.continueValue(chunk);
    else this.startCell(chunk);
    if ((this.pending as PendingCell).open) {
      if (chunk.commitRow === true) throw protocolError('commit_row inside a split value');
      return undefined;
    }
    this.finishCell();
    return chunk.commitRow === true ? this.commit() : undefined;
  }

  /** Checks that the stream did not end inside a row. */
  finish(): void {
    if (this.key !== undefined) throw protocolError('stream ended inside a row');
  }

  private reset(chunk: CellChunkIn): void {
    const extra =
      chunk.rowKey !== undefined ||
      chunk.familyName != null ||
      chunk.qualifier != null ||
      chunk.timestampMicros !== undefined ||
      (chunk.labels?.length ?? 0) > 0 ||
      (chunk.value?.length ?? 0) > 0 ||
      (chunk.valueSize ?? 0) !== 0 ||
      chunk.commitRow === true;
    if (extra) throw protocolError('reset_row chunk carries other fields');
    if (this.key === undefined) throw protocolError('reset_row outside a row');
    this.key = undefined;
    this.cells = [];
    this.family = undefined;
    this.qualifier = undefined;
    this.pending = undefined;
  }

  private startCell(chunk: CellChunkIn): void {
    if (this.key === undefined) {
      if (chunk.rowKey === undefined || chunk.rowKey.length === 0)
        throw protocolError('new row without a row key');
      if (chunk.familyName == null || chunk.qualifier == null) {
        throw protocolError('new row without a family and qualifier');
      }
      this.checkOrder(chunk.rowKey);
      this.key = chunk.rowKey;
    } else if (chunk.rowKey !== undefined && chunk.rowKey.length > 0 && !chunk.rowKey.equals(this.key)) {
      throw protocolError('row key changed inside a row');
    }
    if (chunk.familyName != null) {
      if (chunk.qualifier == null) throw protocolError('new family without a qualifier');
      this.family = chunk.familyName.value ?? '';
    }
    if (chunk.qualifier != null) this.qualifier = chunk.qualifier.value ?? EMPTY;
    const size = chunk.valueSize ?? 0;
    const value = chunk.value ?? EMPTY;
    if (size > 0 && value.length > size) throw protocolError('chunk value longer than value_size');
    this.pending = {
      timestampMicros: Number(chunk.timestampMicros ?? 0),
      labels: chunk.labels ?? [],
      parts: [value],
      declaredBytes: size,
      bytes: value.length,
      open: size > 0,
    };
  }

  private continueValue(chunk: CellChunkIn): void {
    const p = this.pending as PendingCell;
    const moved =
      (chunk.rowKey !== undefined && chunk.rowKey.length > 0) ||
      chunk.familyName != null ||
      chunk.qualifier != null ||
      chunk.timestampMicros !== undefined ||
      (chunk.labels?.length ?? 0) > 0;
    if (moved) throw protocolError('split value chunk carries cell coordinates');
    const value = chunk.value ?? EMPTY;
    p.parts.push(value);
    p.bytes += value.length;
    if (p.bytes > p.declaredBytes) throw protocolError('split value longer than value_size');
    p.open = (chunk.valueSize ?? 0) > 0;
    if (!p.open && p.bytes !== p.declaredBytes) throw protocolError('split value shorter than value_size');
  }

  private finishCell(): void {
    const p = this.pending as PendingCell;
    if (this.family === undefined || this.qualifier === undefined)
      throw protocolError('cell without coordinates');
    this.cells.push({
      family: this.family,
      qualifier: this.qualifier,
      timestampMicros: p.timestampMicros,
      value: p.parts.length === 1 ? (p.parts[0] as Buffer) : Buffer.concat(p.parts),
      labels: p.labels,
    });
    this.pending = undefined;
  }

  private checkOrder(key: Buffer): void {
    if (this.lastCommitted === undefined) return;
    const c = Buffer.compare(key, this.lastCommitted);
    if (this.reversed ? c >= 0 : c <= 0) throw protocolError('row keys out of order');
  }

  private commit(): Row {
    const row: Row = { key: this.key as Buffer, cells: this.cells };
    this.lastCommitted = row.key;
    this.key = undefined;
    this.cells = [];
    this.family = undefined;
    this.qualifier = undefined;
    return row;
  }
}
