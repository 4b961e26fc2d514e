/**
 * The remote backend: requests go over gRPC to `tabula serve` or any Cloud Bigtable endpoint
 * (google.bigtable.v2.Bigtable and google.bigtable.admin.v2.BigtableTableAdmin).
 *
 * Retries (retry-policy.ts): reads (ReadRows, SampleRowKeys, GetTable, ListTables) and idempotent
 * writes (mutations whose SetCells carry explicit timestamps) are retried on retryable errors with
 * bounded exponential backoff under a total deadline. ReadModifyWriteRow, CheckAndMutateRow,
 * mutations with server timestamps, and admin changes are sent once. MutateRows retries only the
 * entries that failed retryably and are idempotent. A broken ReadRows stream resumes after the last
 * row returned (read-resume.ts), so no row is returned twice. A call that died with its connection
 * (a GOAWAY with an error code, a reset socket) fails with UNAVAILABLE (grpc-errors.ts) and, when
 * idempotent, is retried; grpc-js opens a fresh connection for the next attempt.
 *
 * Deadlines: every unary call carries the retry policy's total deadline; every wait of a read for
 * its next message is bounded by `readIdleMs` (read-rows-call.ts), so no call hangs forever.
 *
 * Routing (tablet-router.ts): against a Tabula cluster, each attempt of a row operation goes
 * straight to the public address of the row's tablet owner, from a per-table location cache;
 * MutateRows is split by owner (mutate-rows-call.ts); a read inside one tablet goes to its owner,
 * any other read and every admin call to the entry server (the address given to `connect()`).
 * A direct attempt that fails with UNAVAILABLE refreshes the locations before any retry.
 *
 * Backpressure: ReadRows is consumed through the stream's async iterator, which reads the next
 * message from the connection only as rows are pulled.
 */
import type { TabulaError } from '../common/errors.js';
import type {
  Backend,
  PreparedCreateTable,
  PreparedDropTarget,
  PreparedEntry,
  PreparedModifications,
} from './backend.js';
import { LIST_TABLES_PAGE_SIZE, LIST_TABLES_PAGES_MAX } from './client-limits.js';
import type { Row, RowKeySample, TableInfo } from './client-types.js';
import type { GrpcChannel, Message } from './grpc-channel.js';
import { routingMetadata } from './grpc-channel.js';
import { errorOfCall } from './grpc-errors.js';
import { MutateRowsCall } from './mutate-rows-call.js';
import type { PreparedMutations, PreparedRules } from './mutation-encoding.js';
import type { PreparedFilter, PreparedRead, ReadRowsFields } from './read-request.js';
import { resumeFields } from './read-resume.js';
import type { CellChunkIn } from './read-rows-assembler.js';
import { ReadRowsAssembler } from './read-rows-assembler.js';
import { ReadRowsCall } from './read-rows-call.js';
import type { RetryPolicy } from './retry-policy.js';
import { rowOfMessage } from './row-message.js';
import type { TableMessageIn } from './table-info.js';
import { tableInfoOfMessage } from './table-info.js';
import type { TabletRouter } from './tablet-router.js';

/** How far a read has got, across its attempts. */
interface ReadProgress {
  /** Key of the last row returned. */
  lastKey: Buffer | undefined;
  /** Rows returned so far. */
  rowsDone: number;
}

/** `Backend` over a gRPC channel. */
export class RemoteBackend implements Backend {
  readonly mode = 'remote' as const;
  private readonly instanceName: string;

  constructor(
    private readonly channel: GrpcChannel,
    instance: { project: string; instance: string },
    private readonly retry: RetryPolicy,
    private readonly router: TabletRouter,
  ) {
    this.instanceName = `projects/${instance.project}/instances/${instance.instance}`;
  }

  private tableName(tableId: string): string {
    return `${this.instanceName}/tables/${tableId}`;
  }

  private admin(
    method: string,
    request: Message,
    idempotent: boolean,
    param: [string, string],
  ): Promise<Message> {
    const md = routingMetadata(param[0], param[1]);
    return this.retry.run(
      idempotent,
      (deadline) => this.channel.unary(this.channel.admin, method, request, md, deadline),
      errorOfCall,
    );
  }

  /** A unary data call on the row `rowKey` of `tableId`, each attempt sent where the router says. */
  private data(
    method: string,
    request: Message,
    idempotent: boolean,
    tableId: string,
    rowKey: Buffer,
  ): Promise<Message> {
    const md = routingMetadata('table_name', String(request.tableName));
    return this.retry.run(
      idempotent,
      async (deadline) => {
        const route = await this.router.routeRow(tableId, rowKey, deadline.getTime() - Date.now());
        try {
          return await route.channel.unary(route.channel.data, method, request, md, deadline);
        } catch (err) {
          const error = errorOfCall(err);
          route.release();
          this.router.noteFailure(tableId, route, error);
          throw error;
        } finally {
          route.release();
        }
      },
      errorOfCall,
    );
  }

  async createTable(tableId: string, request: PreparedCreateTable): Promise<TableInfo> {
    const columnFamilies: Record<string, Message> = Object.create(null);
    for (const [name, gcRule] of request.families)
      columnFamilies[name] = gcRule === undefined ? {} : { gcRule };
    const table: Message = { columnFamilies };
    if (request.deletionProtection) table.deletionProtection = true;
    this.router.forget(tableId);
    const message = await this.admin(
      'CreateTable',
      { parent: this.instanceName, tableId, table, initialSplits: request.splitKeys.map((key) => ({ key })) },
      false,
      ['parent', this.instanceName],
    );
    return tableInfoOfMessage(message as TableMessageIn);
  }

  async getTable(tableId: string): Promise<TableInfo> {
    const name = this.tableName(tableId);
    const message = await this.admin('GetTable', { name, view: 'SCHEMA_VIEW' }, true, ['name', name]);
    return tableInfoOfMessage(message as TableMessageIn);
  }

  async listTables(): Promise<TableInfo[]> {
    const out: TableInfo[] = [];
    let pageToken = '';
    for (let page = 0; page < LIST_TABLES_PAGES_MAX; page++) {
      const request = {
        parent: this.instanceName,
        view: 'SCHEMA_VIEW',
        pageSize: LIST_TABLES_PAGE_SIZE,
        pageToken,
      };
      const res = await this.admin('ListTables', request, true, ['parent', this.instanceName]);
      for (const t of (res.tables as TableMessageIn[] | undefined) ?? []) out.push(tableInfoOfMessage(t));
      pageToken = String(res.nextPageToken ?? '');
      if (pageToken.length === 0) break;
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async deleteTable(tableId: string): Promise<void> {
    const name = this.tableName(tableId);
    this.router.forget(tableId);
    await this.admin('DeleteTable', { name }, false, ['name', name]);
  }

  async setDeletionProtection(tableId: string, on: boolean): Promise<TableInfo> {
    const name = this.tableName(tableId);
    const request = {
      table: { name, deletionProtection: on },
      updateMask: { paths: ['deletion_protection'] },
    };
    await this.admin('UpdateTable', request, false, ['table.name', name]);
    return this.getTable(tableId);
  }

  async modifyFamilies(tableId: string, modifications: PreparedModifications): Promise<TableInfo> {
    const name = this.tableName(tableId);
    const request = { name, modifications: modifications.proto };
    return tableInfoOfMessage(
      (await this.admin('ModifyColumnFamilies', request, false, ['name', name])) as TableMessageIn,
    );
  }

  async dropRowRange(tableId: string, target: PreparedDropTarget): Promise<void> {
    const name = this.tableName(tableId);
    const request: Message =
      'all' in target ? { name, deleteAllDataFromTable: true } : { name, rowKeyPrefix: target.rowKeyPrefix };
    await this.admin('DropRowRange', request, false, ['name', name]);
  }

  async mutateRow(tableId: string, rowKey: Buffer, mutations: PreparedMutations): Promise<void> {
    const request = { tableName: this.tableName(tableId), rowKey, mutations: mutations.proto };
    await this.data('MutateRow', request, mutations.idempotent, tableId, rowKey);
  }

  mutateRows(tableId: string, entries: readonly PreparedEntry[]): Promise<(TabulaError | undefined)[]> {
    return new MutateRowsCall(this.router, this.retry, tableId, this.tableName(tableId), entries).run();
  }

  async *readRows(tableId: string, read: PreparedRead): AsyncGenerator<Row, void, undefined> {
    const tableName = this.tableName(tableId);
    const progress: ReadProgress = { lastKey: undefined, rowsDone: 0 };
    let fields: ReadRowsFields | undefined = read.fields;
    // Attempts and the retry budget count from the last row received, so a long scan that keeps
    // making progress may resume as often as its connection breaks.
    let failures = 0;
    let sinceMs = this.retry.effects.nowMs();
    while (fields !== undefined) {
      const rowsBefore = progress.rowsDone;
      try {
        yield* this.readAttempt(tableId, tableName, fields, read, progress);
        return;
      } catch (err) {
        const error = errorOfCall(err);
        if (progress.rowsDone > rowsBefore) {
          failures = 0;
          sinceMs = this.retry.effects.nowMs();
        }
        failures++;
        const wait = this.retry.backoffMs(failures);
        const late = this.retry.effects.nowMs() - sinceMs + wait >= this.retry.deadlineMs;
        if (!error.retryable || failures >= this.retry.attemptsMax || late) throw error;
        await this.retry.effects.sleep(wait);
        fields = resumeFields(read.fields, progress.lastKey, progress.rowsDone);
      }
    }
  }

  /**
   * One ReadRows call: its committed rows, recorded in `progress`. When the consumer stops early,
   * the stream is read to its end if the request has nothing more to return (resume-fields says
   * so), and cancelled otherwise (read-rows-call.ts explains why).
   */
  private async *readAttempt(
    tableId: string,
    tableName: string,
    fields: ReadRowsFields,
    read: PreparedRead,
    progress: ReadProgress,
  ): AsyncGenerator<Row, void, undefined> {
    const assembler = new ReadRowsAssembler(read.fields.reversed === true);
    const md = routingMetadata('table_name', tableName);
    const route = await this.router.routeRead(tableId, fields.rows, this.retry.readIdleMs);
    const stream = route.channel.stream(route.channel.data, 'ReadRows', { tableName, ...fields }, md);
    const call = new ReadRowsCall(stream, this.retry.readIdleMs, this.retry.effects);
    let settled = false;
    try {
      for (let message = await call.next(); message !== undefined; message = await call.next()) {
        for (const chunk of (message.chunks as CellChunkIn[] | undefined) ?? []) {
          const row = assembler.push(chunk);
          if (row === undefined) continue;
          progress.lastKey = row.key;
          progress.rowsDone++;
          yield row;
        }
      }
      assembler.finish();
      settled = true;
    } catch (err) {
      settled = true;
      route.release();
      this.router.noteFailure(tableId, route, errorOfCall(err));
      throw err;
    } finally {
      const complete =
        !settled && resumeFields(read.fields, progress.lastKey, progress.rowsDone) === undefined;
      await call.close(complete);
      route.release();
    }
  }

  async checkAndMutate(
    tableId: string,
    rowKey: Buffer,
    predicate: PreparedFilter,
    onMatch: PreparedMutations,
    onNoMatch: PreparedMutations,
  ): Promise<boolean> {
    const request: Message = {
      tableName: this.tableName(tableId),
      rowKey,
      trueMutations: onMatch.proto,
      falseMutations: onNoMatch.proto,
    };
    if (predicate.proto !== undefined) request.predicateFilter = predicate.proto;
    const res = await this.data('CheckAndMutateRow', request, false, tableId, rowKey);
    return res.predicateMatched === true;
  }

  async readModifyWrite(tableId: string, rowKey: Buffer, rules: PreparedRules): Promise<Row> {
    const request = { tableName: this.tableName(tableId), rowKey, rules: rules.proto };
    const res = await this.data('ReadModifyWriteRow', request, false, tableId, rowKey);
    return rowOfMessage(res.row as Message | undefined, rowKey);
  }

  async sampleRowKeys(tableId: string): Promise<RowKeySample[]> {
    const tableName = this.tableName(tableId);
    const md = routingMetadata('table_name', tableName);
    const messages = await this.retry.run(
      true,
      (deadline) => this.channel.collect(this.channel.data, 'SampleRowKeys', { tableName }, md, deadline),
      errorOfCall,
    );
    return messages.map((m) => ({
      key: (m.rowKey as Buffer | undefined) ?? Buffer.alloc(0),
      offsetBytes: Number(m.offsetBytes ?? 0),
    }));
  }

  async close(): Promise<void> {
    this.router.close();
    this.channel.close();
  }
}
