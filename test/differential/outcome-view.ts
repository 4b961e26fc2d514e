/**
 * Canonical, comparable views of RPC outcomes. Two servers agree on an operation exactly when the
 * views of their outcomes serialize to the same string (`sameView`). Bytes become printable
 * strings (`printable`, injective), so views are also what a difference report shows.
 *
 * What a view keeps, per RPC: the status code always (never the message); ReadRows the rows in
 * stream order with every cell's family, qualifier, timestamp, value and labels in order;
 * ReadModifyWriteRow the returned row in the same shape; CheckAndMutateRow `predicate_matched`;
 * MutateRows each entry's code by index; SampleRowKeys nothing (samples legitimately differ).
 */
import type { Message, MutateRowsEntryStatus, Outcome } from './bigtable-client.js';
import type { ReadRow } from './chunk-assembler.js';
import type { RpcName } from './workload.js';

/** One cell. `qualifier` and `value` are `printable` strings. */
export interface CellView {
  readonly family: string;
  readonly qualifier: string;
  readonly timestamp: string;
  readonly value: string;
  readonly labels: readonly string[];
}

/** One row; `key` is a `printable` string. */
export interface RowView {
  readonly key: string;
  readonly cells: readonly CellView[];
}

/** The comparable view of one outcome. */
export interface OutcomeView {
  /** 'OK' or the gRPC status code name. */
  readonly code: string;
  readonly rows?: readonly RowView[];
  readonly matched?: boolean;
  readonly entries?: readonly string[];
}

const PRINTABLE_MIN = 0x20;
const PRINTABLE_MAX = 0x7e;
const BACKSLASH = 0x5c;

/** Bytes as text: printable ASCII as is, every other byte (and `\`) as `\xHH`. Injective. */
export function printable(bytes: Buffer | Uint8Array | undefined): string {
  let out = '';
  for (const b of bytes ?? []) {
    out +=
      b >= PRINTABLE_MIN && b <= PRINTABLE_MAX && b !== BACKSLASH
        ? String.fromCharCode(b)
        : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function rowsView(rows: readonly ReadRow[]): RowView[] {
  return rows.map((r) => ({
    key: printable(r.key),
    cells: r.cells.map((c) => ({
      family: c.family,
      qualifier: printable(c.qualifier),
      timestamp: c.timestampMicros,
      value: printable(c.value),
      labels: [...c.labels],
    })),
  }));
}

/** The row of a ReadModifyWriteRowResponse, in response order. */
function modifiedRowView(response: Message): RowView[] {
  const row = response?.row;
  if (!row) return [];
  const cells: CellView[] = [];
  for (const family of row.families ?? []) {
    for (const column of family.columns ?? []) {
      for (const cell of column.cells ?? []) {
        cells.push({
          family: family.name ?? '',
          qualifier: printable(column.qualifier),
          timestamp: String(cell.timestampMicros ?? '0'),
          value: printable(cell.value),
          labels: [...(cell.labels ?? [])],
        });
      }
    }
  }
  return [{ key: printable(row.key), cells }];
}

/** The view of `outcome`, the result of an `rpc` call. */
export function viewOf(rpc: RpcName, outcome: Outcome<unknown>): OutcomeView {
  if (!outcome.ok) return { code: outcome.code };
  const value = outcome.value as Message;
  switch (rpc) {
    case 'ReadRows':
      return { code: 'OK', rows: rowsView(value as ReadRow[]) };
    case 'ReadModifyWriteRow':
      return { code: 'OK', rows: modifiedRowView(value) };
    case 'CheckAndMutateRow':
      return { code: 'OK', matched: value?.predicateMatched === true };
    case 'MutateRows':
      return { code: 'OK', entries: (value as MutateRowsEntryStatus[]).map((e) => e.code) };
    default:
      return { code: 'OK' };
  }
}

/** Serializations already computed; views are never mutated, so they can be cached. */
const serialized = new WeakMap<OutcomeView, string>();

/** A stable serialization (fields in a fixed order). */
export function serializeView(view: OutcomeView): string {
  let text = serialized.get(view);
  if (text === undefined) {
    text = JSON.stringify([view.code, view.rows ?? null, view.matched ?? null, view.entries ?? null]);
    serialized.set(view, text);
  }
  return text;
}

/** Whether two views are identical. */
export function sameView(a: OutcomeView, b: OutcomeView): boolean {
  return serializeView(a) === serializeView(b);
}

/** A copy of `view` with every row's cells mapped by `f`. */
export function mapCells(view: OutcomeView, f: (cells: readonly CellView[]) => CellView[]): OutcomeView {
  if (view.rows === undefined) return view;
  return { ...view, rows: view.rows.map((r) => ({ key: r.key, cells: f(r.cells) })) };
}
