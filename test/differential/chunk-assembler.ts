/**
 * Reassembles a ReadRows response stream (CellChunks, google/bigtable/v2/bigtable.proto) into
 * rows, checking the chunk protocol the way client libraries do: a new row starts with a row key,
 * family and qualifier; a family change carries a qualifier; a value split over several chunks
 * (`value_size` > 0) continues without new coordinates; `reset_row` drops the row in progress and
 * carries nothing else; `commit_row` ends it; row keys strictly increase (decrease when
 * `reversed`); the stream never ends inside a row. Any violation throws.
 *
 * Invariant: `finish()` returns only committed rows, in stream order, each cell exactly as sent.
 */

/** One cell of a reassembled row. */
export interface ReadCell {
  readonly family: string;
  readonly qualifier: Buffer;
  /** Decimal string, exactly as decoded (int64). */
  readonly timestampMicros: string;
  readonly value: Buffer;
  readonly labels: readonly string[];
}

/** One reassembled row. */
export interface ReadRow {
  readonly key: Buffer;
  readonly cells: ReadCell[];
}

/** The cell being assembled. */
interface PartialCell {
  family: string;
  qualifier: Buffer;
  timestampMicros: string;
  labels: string[];
  parts: Buffer[];
}

// biome-ignore lint/suspicious/noExplicitAny: decoded chunks are dynamic.
type Chunk = any;

function fail(message: string): never {
  throw new Error(`read rows chunk protocol: ${message}`);
}

/** Stateful reassembler of one ReadRows stream. */
export class ChunkAssembler {
  private readonly rows: ReadRow[] = [];
  private lastKey: Buffer | undefined;
  private rowKey: Buffer | undefined;
  private cells: ReadCell[] = [];
  private cell: PartialCell | undefined;
  /** True while a split value awaits its next chunk. */
  private continuing = false;

  constructor(private readonly reversed: boolean) {}

  /** Consumes one ReadRowsResponse message. */
  accept(message: { chunks?: Chunk[] }): void {
    for (const chunk of message.chunks ?? []) this.acceptChunk(chunk);
  }

  /** The committed rows; throws when the stream ended inside a row. */
  finish(): ReadRow[] {
    if (this.rowKey !== undefined || this.continuing) fail('stream ended inside a row');
    return this.rows;
  }

  private acceptChunk(chunk: Chunk): void {
    if (chunk.resetRow === true) {
      this.reset(chunk);
      return;
    }
    if (this.continuing) this.continueValue(chunk);
    else this.startCell(chunk);
    const valueSize = Number(chunk.valueSize ?? 0);
    this.continuing = valueSize > 0;
    if (!this.continuing) this.endCell();
    if (chunk.commitRow === true) this.commit();
  }

  private reset(chunk: Chunk): void {
    if (this.rowKey === undefined && !this.continuing) fail('reset_row outside a row');
    if (chunk.rowKey?.length || chunk.familyName || chunk.qualifier || chunk.value?.length) {
      fail('reset_row chunk carries data');
    }
    this.rowKey = undefined;
    this.cells = [];
    this.cell = undefined;
    this.continuing = false;
  }

  private startCell(chunk: Chunk): void {
    const key: Buffer | undefined = chunk.rowKey?.length ? chunk.rowKey : undefined;
    if (this.rowKey === undefined) {
      if (key === undefined) fail('new row without a row key');
      this.checkKeyOrder(key);
      if (!chunk.familyName || !chunk.qualifier) fail('new row without family and qualifier');
      this.rowKey = key;
    } else if (key !== undefined && !key.equals(this.rowKey)) {
      fail('row key changed inside a row');
    }
    if (chunk.familyName && !chunk.qualifier) fail('family without qualifier');
    const previous = this.cells[this.cells.length - 1];
    const family: string | undefined = chunk.familyName ? (chunk.familyName.value ?? '') : previous?.family;
    const qualifier: Buffer | undefined = chunk.qualifier
      ? (chunk.qualifier.value ?? Buffer.alloc(0))
      : previous?.qualifier;
    if (family === undefined || qualifier === undefined) fail('cell without coordinates');
    this.cell = {
      family,
      qualifier,
      timestampMicros: String(chunk.timestampMicros ?? '0'),
      labels: [...(chunk.labels ?? [])],
      parts: [chunk.value ?? Buffer.alloc(0)],
    };
  }

  private continueValue(chunk: Chunk): void {
    if (chunk.rowKey?.length || chunk.familyName || chunk.qualifier || chunk.labels?.length) {
      fail('value continuation carries coordinates');
    }
    this.cell?.parts.push(chunk.value ?? Buffer.alloc(0));
  }

  private endCell(): void {
    const c = this.cell;
    if (c === undefined) return;
    this.cells.push({
      family: c.family,
      qualifier: c.qualifier,
      timestampMicros: c.timestampMicros,
      value: Buffer.concat(c.parts),
      labels: c.labels,
    });
    this.cell = undefined;
  }

  private commit(): void {
    if (this.rowKey === undefined || this.continuing) fail('commit_row outside a complete cell');
    this.rows.push({ key: this.rowKey, cells: this.cells });
    this.lastKey = this.rowKey;
    this.rowKey = undefined;
    this.cells = [];
  }

  private checkKeyOrder(key: Buffer): void {
    if (this.lastKey === undefined) return;
    const order = Buffer.compare(key, this.lastKey);
    if (this.reversed ? order >= 0 : order <= 0) fail('row keys out of order');
  }
}
