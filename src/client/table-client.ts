/**
 * The one implementation of the public `Table` interface, over a backend. Every argument is
 * validated here (with the model's and the server's validators, through the prepare* functions)
 * before the backend sees it, so an invalid call never reaches the store or the network.
 *
 * MutateRows: entries are validated one by one (a bad entry fails alone and is never sent) and
 * sent in requests of at most MUTATIONS_PER_REQUEST_MAX mutations and about
 * MUTATE_ROWS_REQUEST_BYTES_TARGET bytes, one request at a time.
 */
import { errors, TabulaError } from '../common/errors.js';
import { MUTATIONS_PER_REQUEST_MAX } from '../common/limits.js';
import type { ValidMutation } from '../model/mutation.js';
import { validateRowKey, validateTableId } from '../model/mutation.js';
import { validateDropTarget } from '../server/table-admin-requests.js';
import type { Backend, PreparedDropTarget, PreparedEntry } from './backend.js';
import { toBuffer, typeName } from './bytes-input.js';
import { MUTATE_ROWS_REQUEST_BYTES_TARGET } from './client-limits.js';
import type {
  Bytes,
  CheckAndMutateOptions,
  DropRowRangeTarget,
  MutateRowsEntry,
  MutateRowsResult,
  Mutation,
  ReadModifyWriteRule,
  ReadRowOptions,
  ReadRowsOptions,
  Row,
  RowKeySample,
} from './client-types.js';
import { prepareMutations, prepareRules } from './mutation-encoding.js';
import { prepareFilter, prepareRead } from './read-request.js';
import type { Table } from './tabula-api.js';
import type { CallTracker } from './tabula-client.js';

/** Approximate encoded bytes of one validated mutation, for request sizing only. */
const MUTATION_OVERHEAD_BYTES = 32;

function mutationBytes(m: ValidMutation): number {
  if (m.kind === 'setCell')
    return MUTATION_OVERHEAD_BYTES + m.family.length + m.qualifier.length + m.value.length;
  if (m.kind === 'deleteFromColumn') return MUTATION_OVERHEAD_BYTES + m.family.length + m.qualifier.length;
  return MUTATION_OVERHEAD_BYTES;
}

/** A failure as a TabulaError (anything else is a bug, reported as INTERNAL). */
export function asTabulaError(err: unknown): TabulaError {
  if (err instanceof TabulaError) return err;
  return new TabulaError('INTERNAL', 'internal error', {}, { cause: err });
}

function rowKeyOf(key: Bytes, field: string): Buffer {
  return validateRowKey(toBuffer(key, field), field);
}

/** Splits validated entries into requests within the mutation-count and size bounds. */
function requestBatches(entries: readonly { index: number; entry: PreparedEntry }[]) {
  const batches: { index: number; entry: PreparedEntry }[][] = [];
  let current: { index: number; entry: PreparedEntry }[] = [];
  let count = 0;
  let bytes = 0;
  for (const item of entries) {
    const n = item.entry.mutations.valid.length;
    const b = item.entry.mutations.valid.reduce((sum, m) => sum + mutationBytes(m), item.entry.rowKey.length);
    if (
      current.length > 0 &&
      (count + n > MUTATIONS_PER_REQUEST_MAX || bytes + b > MUTATE_ROWS_REQUEST_BYTES_TARGET)
    ) {
      batches.push(current);
      current = [];
      count = 0;
      bytes = 0;
    }
    current.push(item);
    count += n;
    bytes += b;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** `Table` over a backend. */
export class TableClient implements Table {
  readonly name: string;

  constructor(
    name: string,
    private readonly backend: Backend,
    private readonly calls: CallTracker,
  ) {
    this.name = name;
  }

  private tableId(): string {
    return validateTableId(this.name, 'name');
  }

  mutateRow(key: Bytes, mutations: readonly Mutation[]): Promise<void> {
    return this.calls.run(async () => {
      const tableId = this.tableId();
      const rowKey = rowKeyOf(key, 'key');
      await this.backend.mutateRow(tableId, rowKey, prepareMutations(mutations, 'mutations'));
    });
  }

  mutateRows(entries: readonly MutateRowsEntry[]): Promise<MutateRowsResult[]> {
    return this.calls.run(async () => {
      const tableId = this.tableId();
      if (!Array.isArray(entries))
        throw errors.invalidArgument('entries must be a list', { field: 'entries' });
      if (entries.length === 0) throw errors.invalidArgument('no entries provided', { field: 'entries' });
      const results: { index: number; key: Buffer; error: TabulaError | undefined }[] = [];
      const valid: { index: number; entry: PreparedEntry }[] = [];
      entries.forEach((entry, index) => {
        const field = `entries[${index}]`;
        let key: Buffer = Buffer.alloc(0);
        try {
          key = toBuffer(entry?.key, `${field}.key`);
          const rowKey = validateRowKey(key, `${field}.key`);
          valid.push({
            index,
            entry: { rowKey, mutations: prepareMutations(entry.mutations, `${field}.mutations`) },
          });
          results.push({ index, key, error: undefined });
        } catch (err) {
          results.push({ index, key, error: asTabulaError(err) });
        }
      });
      for (const batch of requestBatches(valid)) {
        const outcomes = await this.backend.mutateRows(
          tableId,
          batch.map((b) => b.entry),
        );
        outcomes.forEach((error, i) => {
          const item = batch[i] as { index: number };
          (results[item.index] as { error: TabulaError | undefined }).error = error;
        });
      }
      return results;
    });
  }

  async readRow(key: Bytes, options: ReadRowOptions = {}): Promise<Row | undefined> {
    const rows = this.readRows({ keys: [key], ...(options.filter ? { filter: options.filter } : {}) });
    for await (const row of rows) return row;
    return undefined;
  }

  readRows(options: ReadRowsOptions = {}): AsyncIterable<Row> {
    this.calls.checkOpen();
    if (typeof options !== 'object' || options === null) {
      throw errors.invalidArgument('expected an options object', {
        field: 'options',
        type: typeName(options),
      });
    }
    const tableId = this.tableId();
    const read = prepareRead(options);
    const backend = this.backend;
    const calls = this.calls;
    return {
      [Symbol.asyncIterator]: () => guardedRows(backend.readRows(tableId, read), calls),
    };
  }

  checkAndMutate(key: Bytes, options: CheckAndMutateOptions): Promise<boolean> {
    return this.calls.run(async () => {
      const tableId = this.tableId();
      const rowKey = rowKeyOf(key, 'key');
      if (typeof options !== 'object' || options === null) {
        throw errors.invalidArgument('expected an options object', { field: 'options' });
      }
      const predicate = prepareFilter(options.predicate, 'predicate');
      const onMatch = prepareMutations(options.onMatch, 'onMatch', true);
      const onNoMatch = prepareMutations(options.onNoMatch, 'onNoMatch', true);
      if (onMatch.valid.length === 0 && onNoMatch.valid.length === 0) {
        throw errors.invalidArgument('no mutations provided: set onMatch or onNoMatch', { field: 'onMatch' });
      }
      return this.backend.checkAndMutate(tableId, rowKey, predicate, onMatch, onNoMatch);
    });
  }

  readModifyWrite(key: Bytes, rules: readonly ReadModifyWriteRule[]): Promise<Row> {
    return this.calls.run(async () => {
      const tableId = this.tableId();
      return this.backend.readModifyWrite(tableId, rowKeyOf(key, 'key'), prepareRules(rules));
    });
  }

  sampleRowKeys(): Promise<RowKeySample[]> {
    return this.calls.run(async () => this.backend.sampleRowKeys(this.tableId()));
  }

  dropRowRange(target: DropRowRangeTarget): Promise<void> {
    return this.calls.run(async () => {
      const tableId = this.tableId();
      if (typeof target !== 'object' || target === null) {
        throw errors.invalidArgument('expected { prefix } or { all: true }', { field: 'target' });
      }
      let prepared: PreparedDropTarget;
      if ('prefix' in target) {
        prepared = validateDropTarget({
          target: 'rowKeyPrefix',
          rowKeyPrefix: toBuffer(target.prefix, 'prefix'),
        });
      } else {
        prepared = validateDropTarget({
          target: 'deleteAllDataFromTable',
          deleteAllDataFromTable: target.all,
        });
      }
      await this.backend.dropRowRange(tableId, prepared);
    });
  }
}

/** Rows of a backend read, failing with FAILED_PRECONDITION if the client closes meanwhile. */
async function* guardedRows(rows: AsyncGenerator<Row, void, undefined>, calls: CallTracker) {
  try {
    for (;;) {
      calls.checkOpen();
      const next = await rows.next();
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    await rows.return();
  }
}
