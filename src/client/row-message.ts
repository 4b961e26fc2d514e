/**
 * A google.bigtable.v2.Row message (families → columns → cells, as proto-loader decodes it) into a
 * public `Row` with its cells flattened in Bigtable order.
 */
import type { Cell, Row } from './client-types.js';
import type { Message } from './grpc-channel.js';

interface CellIn {
  timestampMicros?: string | number;
  value?: Buffer;
  labels?: string[];
}

interface ColumnIn {
  qualifier?: Buffer;
  cells?: CellIn[];
}

interface FamilyIn {
  name?: string;
  columns?: ColumnIn[];
}

const EMPTY = Buffer.alloc(0);

/** The Row of a Row message; `fallbackKey` when the message has none. */
export function rowOfMessage(message: Message | undefined, fallbackKey: Buffer): Row {
  const cells: Cell[] = [];
  for (const family of (message?.families as FamilyIn[] | undefined) ?? []) {
    for (const column of family.columns ?? []) {
      for (const cell of column.cells ?? []) {
        cells.push({
          family: family.name ?? '',
          qualifier: column.qualifier ?? EMPTY,
          timestampMicros: Number(cell.timestampMicros ?? 0),
          value: cell.value ?? EMPTY,
          labels: cell.labels ?? [],
        });
      }
    }
  }
  return { key: (message?.key as Buffer | undefined) ?? fallbackKey, cells };
}
