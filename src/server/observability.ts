/**
 * Per-RPC observability: `instrumentHandlers` wraps a grpc-js handler map so that every finished
 * call is counted and timed by status code (Prometheus), logged when it failed or was slow, and
 * fed into the rolling window the web console charts.
 *
 * What is measured: a unary call from handler entry to its callback; a server-streaming call from
 * handler entry to the end of the stream (OK or an error status) or the client's cancellation.
 * Rows and bytes are counted where the messages show them (see `accountUnary`/`accountStreamed`).
 *
 * Logging follows src/common/logger.ts: the message is a constant sentence and the status code,
 * the table named by the request, the row key and the error text are fields. Error and slow-call
 * lines are capped at RPC_LOG_LINES_PER_SECOND_MAX; the rest are counted and reported once a
 * second later as one line.
 *
 * Ownership: one RpcObserver per process, on the event loop; nothing here blocks or awaits. The
 * wrapper never changes what a handler sends: it observes the callback, `write` and the stream's
 * events, and records a call only after its status is handed to grpc-js, so a throw from its own
 * bookkeeping is a bug that surfaces as a crash, never as a status sent to a client.
 */
import { performance } from 'node:perf_hooks';
import type {
  ServerUnaryCall,
  ServerWritableStream,
  sendUnaryData,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  RPC_LOG_LINES_PER_SECOND_MAX,
  RPC_WINDOW_SAMPLES_MAX,
  TABLE_FIELD_CHARS_MAX,
} from '../common/limits.js';
import { LineBudget, type Logger, logBytes, silentLogger } from '../common/logger.js';
import { CallWindow, Registry, type RpcCounts, RpcMetrics } from '../common/metrics.js';

export { RPC_LOG_LINES_PER_SECOND_MAX, RPC_WINDOW_SAMPLES_MAX };

/** Calls at least this long are logged as slow unless the observer is told otherwise, in ms. */
export const SLOW_RPC_MS_DEFAULT = 1000;

// biome-ignore lint/suspicious/noExplicitAny: decoded protobuf messages of many shapes.
type Message = any;

/** A table's resource name; the id runs to the next `/` (an authorized view's name goes on). */
const TABLE_NAME_PATTERN = /^projects\/[^/]*\/instances\/[^/]*\/tables\/([^/]*)/;

/** Status codes that mean the server failed, logged at `error`; the others at `warn`. */
const SERVER_FAULT_CODES: ReadonlySet<number> = new Set([
  GrpcStatus.UNKNOWN,
  GrpcStatus.INTERNAL,
  GrpcStatus.DATA_LOSS,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.RESOURCE_EXHAUSTED,
]);

/** One finished call. */
export interface FinishedRpc extends RpcCounts {
  readonly service: string;
  readonly method: string;
  readonly code: number;
  readonly durationMs: number;
  /** The decoded request (undefined for client-streaming calls). */
  readonly request: Message;
  readonly errorText: string | undefined;
  readonly peer: string | undefined;
}

/** Options of an RpcObserver. */
export interface RpcObserverOptions {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly slowRpcMs?: number;
}

/** Counts, times and logs finished calls. */
export class RpcObserver {
  readonly logger: Logger;
  readonly registry: Registry;
  private readonly metrics: RpcMetrics;
  private readonly slowRpcMs: number;
  private window = new CallWindow(RPC_WINDOW_SAMPLES_MAX);
  private readonly logBudget = new LineBudget(RPC_LOG_LINES_PER_SECOND_MAX);

  constructor(options: RpcObserverOptions) {
    this.logger = options.logger.child({ component: 'rpc' });
    this.registry = options.registry;
    this.metrics = new RpcMetrics(options.registry);
    this.slowRpcMs = options.slowRpcMs ?? SLOW_RPC_MS_DEFAULT;
  }

  /** Records one finished call. */
  record(rpc: FinishedRpc): void {
    const table = requestTable(rpc.request);
    this.metrics.observe({ ...rpc, codeName: GrpcStatus[rpc.code] ?? String(rpc.code) }, table);
    this.window.record(rpc.durationMs, rpc.code !== GrpcStatus.OK, rpc);
    const failed = rpc.code !== GrpcStatus.OK && rpc.code !== GrpcStatus.CANCELLED;
    const slow = rpc.durationMs >= this.slowRpcMs;
    if (failed || slow) this.logCall(rpc, table, failed);
    else if (this.logger.isLevelEnabled('debug')) this.logger.debug(this.fields(rpc, table), 'rpc finished');
  }

  /** Calls per existing table since the start (only successful calls count). */
  tableRequests(): ReadonlyMap<string, number> {
    return this.metrics.tableCalls;
  }

  /** The calls since the previous window, and starts a new one. */
  takeWindow(): CallWindow {
    const w = this.window;
    this.window = new CallWindow(RPC_WINDOW_SAMPLES_MAX);
    return w;
  }

  private fields(rpc: FinishedRpc, table: string | undefined): Record<string, unknown> {
    const rowKey = rpc.request?.rowKey;
    return {
      service: rpc.service,
      method: rpc.method,
      code: GrpcStatus[rpc.code] ?? String(rpc.code),
      grpcCode: rpc.code,
      durationMs: Math.round(rpc.durationMs * 1000) / 1000,
      ...(table === undefined ? {} : { table }),
      ...(Buffer.isBuffer(rowKey) ? logBytes('rowKey', rowKey) : {}),
      ...(rpc.rowsRead > 0 ? { rowsRead: rpc.rowsRead, bytesRead: rpc.bytesRead } : {}),
      ...(rpc.rowsWritten > 0 ? { rowsWritten: rpc.rowsWritten, bytesWritten: rpc.bytesWritten } : {}),
      ...(rpc.peer === undefined ? {} : { peer: rpc.peer }),
      ...(rpc.errorText === undefined ? {} : { error: rpc.errorText }),
    };
  }

  private logCall(rpc: FinishedRpc, table: string | undefined, failed: boolean): void {
    const { allowed, suppressedBefore } = this.logBudget.take(performance.now());
    if (suppressedBefore > 0)
      this.logger.warn({ suppressedLines: suppressedBefore }, 'rpc log lines suppressed');
    if (!allowed) return;
    const fields = { ...this.fields(rpc, table), ...(failed ? {} : { slowRpcMs: this.slowRpcMs }) };
    if (!failed) this.logger.warn(fields, 'slow rpc');
    else if (SERVER_FAULT_CODES.has(rpc.code)) this.logger.error(fields, 'rpc failed');
    else this.logger.warn(fields, 'rpc failed');
  }
}

/** Zero rows and bytes. */
function emptyCounts(): RpcCounts {
  return { rowsRead: 0, bytesRead: 0, rowsWritten: 0, bytesWritten: 0 };
}

function byteLength(value: unknown): number {
  return Buffer.isBuffer(value) ? value.length : 0;
}

/**
 * The table id a request names: the `tables/` segment of its `tableName`, `authorizedViewName` or
 * `name` (CreateTable: its `tableId`), as sent — valid or not, so that a failure can be logged
 * with it — or undefined. Capped at TABLE_FIELD_CHARS_MAX characters.
 */
export function requestTable(request: Message): string | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  if (typeof request.tableId === 'string') return request.tableId.slice(0, TABLE_FIELD_CHARS_MAX);
  for (const field of ['tableName', 'authorizedViewName', 'name']) {
    const name: unknown = request[field];
    if (typeof name !== 'string') continue;
    const match = TABLE_NAME_PATTERN.exec(name);
    if (match) return (match[1] as string).slice(0, TABLE_FIELD_CHARS_MAX);
  }
  return undefined;
}

/** Row key, qualifier and value bytes of a mutation list (SetCell carries the only payload). */
function mutationBytes(mutations: Message): number {
  if (!Array.isArray(mutations)) return 0;
  let n = 0;
  for (const m of mutations) n += byteLength(m?.setCell?.columnQualifier) + byteLength(m?.setCell?.value);
  return n;
}

/** Value bytes of the cells of a `Row` message (ReadModifyWriteRow's answer). */
function rowBytes(row: Message): number {
  let n = byteLength(row?.key);
  for (const family of row?.families ?? []) {
    for (const column of family?.columns ?? []) {
      n += byteLength(column?.qualifier);
      for (const cell of column?.cells ?? []) n += byteLength(cell?.value);
    }
  }
  return n;
}

/** Rows and bytes of a successful unary call, from its request and response. */
function accountUnary(method: string, request: Message, response: Message): RpcCounts {
  const counts = emptyCounts();
  const key = byteLength(request?.rowKey);
  if (method === 'MutateRow') {
    counts.rowsWritten = 1;
    counts.bytesWritten = key + mutationBytes(request.mutations);
  } else if (method === 'CheckAndMutateRow') {
    const applied = response?.predicateMatched ? request.trueMutations : request.falseMutations;
    counts.rowsRead = 1;
    counts.bytesRead = key;
    if (Array.isArray(applied) && applied.length > 0) {
      counts.rowsWritten = 1;
      counts.bytesWritten = key + mutationBytes(applied);
    }
  } else if (method === 'ReadModifyWriteRow') {
    counts.rowsRead = counts.rowsWritten = 1;
    counts.bytesRead = counts.bytesWritten = rowBytes(response?.row);
  }
  return counts;
}

/** Reads a protobuf varint of `buf` at `at`; returns [value, next offset] (values < 2^53). */
function varint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length; i++) {
    const byte = buf[i] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, i + 1];
    scale *= 0x80;
  }
  return [value, buf.length];
}

/**
 * Rows and bytes of a ReadRowsResponse already encoded to wire bytes (the ReadRows hot path
 * writes those): walks the fields without decoding them — each CellChunk (field 1) adds its
 * row_key (1), qualifier (3) and value (6) lengths, and a commit_row (9) of 1 adds a row.
 */
function accountEncodedReadRows(buf: Buffer, counts: RpcCounts): void {
  let at = 0;
  while (at < buf.length) {
    const [tag, afterTag] = varint(buf, at);
    if ((tag & 7) !== 2) return; // every field of ReadRowsResponse is length-delimited
    const [length, start] = varint(buf, afterTag);
    at = start + length;
    if (tag >>> 3 !== 1) continue;
    for (let i = start; i < at; ) {
      const [chunkTag, next] = varint(buf, i);
      const [value, after] = varint(buf, next);
      const field = chunkTag >>> 3;
      if ((chunkTag & 7) === 0) {
        if (field === 9 && value === 1) counts.rowsRead++;
        i = after;
      } else if ((chunkTag & 7) === 2) {
        if (field === 1 || field === 3 || field === 6) counts.bytesRead += value;
        i = after + value;
      } else return;
    }
  }
}

/** Adds the rows and bytes of one streamed response to `counts`. */
function accountStreamed(method: string, request: Message, response: Message, counts: RpcCounts): void {
  if (method === 'ReadRows' && Buffer.isBuffer(response)) accountEncodedReadRows(response, counts);
  else if (method === 'ReadRows') {
    for (const chunk of response?.chunks ?? []) {
      counts.bytesRead +=
        byteLength(chunk?.rowKey) + byteLength(chunk?.qualifier?.value) + byteLength(chunk?.value);
      if (chunk?.commitRow === true) counts.rowsRead++;
    }
  } else if (method === 'MutateRows') {
    for (const entry of response?.entries ?? []) {
      if ((entry?.status?.code ?? GrpcStatus.OK) !== GrpcStatus.OK) continue;
      const mutated = request?.entries?.[Number(entry.index)];
      counts.rowsWritten++;
      counts.bytesWritten += byteLength(mutated?.rowKey) + mutationBytes(mutated?.mutations);
    }
  }
}

let processObserver: RpcObserver | undefined;

/** Sets the observer `instrumentHandlers` uses when given none (`tabula serve` sets it at start). */
export function setProcessRpcObserver(observer: RpcObserver): void {
  processObserver = observer;
}

/** The process's observer: the one set, else a silent one with a registry of its own. */
export function processRpcObserver(): RpcObserver {
  processObserver ??= new RpcObserver({ logger: silentLogger(), registry: new Registry() });
  return processObserver;
}

/** A grpc-js handler of any kind, as the implementation map holds it. */
type Handler = (...args: never[]) => unknown;

type ErrorLike = { code?: number; details?: string; message?: string } | null | undefined;

function errorCode(err: ErrorLike): number {
  return typeof err?.code === 'number' ? err.code : GrpcStatus.UNKNOWN;
}

function peerOf(call: { getPeer(): string }): string | undefined {
  try {
    return call.getPeer();
  } catch {
    return undefined;
  }
}

function instrumentUnary(service: string, method: string, handler: Handler, observer: RpcObserver) {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    const startMs = performance.now();
    const done: sendUnaryData<unknown> = (err, value, ...rest) => {
      const durationMs = performance.now() - startMs;
      callback(err, value, ...rest);
      const code = err ? errorCode(err as ErrorLike) : GrpcStatus.OK;
      const counts = code === GrpcStatus.OK ? accountUnary(method, call.request, value) : emptyCounts();
      const errorText = err ? ((err as ErrorLike)?.details ?? (err as ErrorLike)?.message) : undefined;
      const peer = err ? peerOf(call) : undefined;
      observer.record({
        service,
        method,
        code,
        durationMs,
        request: call.request,
        errorText,
        peer,
        ...counts,
      });
    };
    return (handler as unknown as (c: typeof call, cb: typeof done) => unknown)(call, done);
  };
}

function instrumentStream(service: string, method: string, handler: Handler, observer: RpcObserver) {
  return (call: ServerWritableStream<unknown, unknown>) => {
    const startMs = performance.now();
    const counts = emptyCounts();
    let code: number = GrpcStatus.OK;
    let errorText: string | undefined;
    let finished = false;
    const write = call.write;
    call.write = function (this: typeof call, chunk: unknown, ...rest: unknown[]) {
      accountStreamed(method, call.request, chunk, counts);
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof call.write;
    const finish = () => {
      if (finished) return;
      finished = true;
      const durationMs = performance.now() - startMs;
      const peer = code === GrpcStatus.OK ? undefined : peerOf(call);
      observer.record({
        service,
        method,
        code,
        durationMs,
        request: call.request,
        errorText,
        peer,
        ...counts,
      });
    };
    call.on('error', (err: ErrorLike) => {
      code = errorCode(err);
      errorText = err?.details ?? err?.message;
    });
    call.on('finish', finish);
    call.on('cancelled', () => {
      if (code === GrpcStatus.OK) code = GrpcStatus.CANCELLED;
      finish();
    });
    return (handler as unknown as (c: typeof call) => unknown)(call);
  };
}

/**
 * `handlers` (a grpc-js implementation map, as passed to `Server.addService`) with every method
 * counted, timed and logged through `observer` (default: the process's). A handler called with a
 * callback is treated as unary, one called with the call alone as streaming.
 */
export function instrumentHandlers(
  serviceName: string,
  handlers: UntypedServiceImplementation,
  observer: RpcObserver = processRpcObserver(),
): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(handlers)) {
    const unary = instrumentUnary(serviceName, method, handler as Handler, observer);
    const stream = instrumentStream(serviceName, method, handler as Handler, observer);
    out[method] = ((call: ServerWritableStream<unknown, unknown>, callback?: sendUnaryData<unknown>) =>
      typeof callback === 'function'
        ? unary(call as unknown as ServerUnaryCall<unknown, unknown>, callback)
        : stream(call)) as UntypedHandleCall;
  }
  return out;
}
