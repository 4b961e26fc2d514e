/**
 * Calls a tablet server makes on another server's owner-only data API (its peer port,
 * src/cluster/owner-store.ts): the validated forms the `Tablet` interface carries (ValidMutation,
 * encoded key ranges, read-modify-write rules) turned back into Bigtable protos, and the answers
 * (ReadRows chunks, MutateRows statuses, gRPC errors) turned back into rows and TabulaErrors.
 * A `moved` answer keeps its message, so the router can tell it apart.
 *
 * ReadRows is forwarded without its filter (a compiled filter has no wire form): the owner sends
 * the rows of the range whole and the caller applies the filter; the rows limit is the caller's.
 * CheckAndMutateRow carries its predicate in the proto form the client sent, so the owner
 * evaluates it and applies the mutations in one atomic step.
 *
 * Ownership: one grpc-js client per peer address, closed by `close()`. Every call has the
 * deadline CLUSTER_FORWARD_DEADLINE_MS. Nothing here retries.
 */
import type { Client, GrpcObject, ServiceClientConstructor } from '@grpc/grpc-js';
import { credentials, Metadata } from '@grpc/grpc-js';
import { errorOfCall, errorOfStatus } from '../client/grpc-errors.js';
import { type CellChunkIn, ReadRowsAssembler } from '../client/read-rows-assembler.js';
import type { Clock } from '../common/clock.js';
import { errors, TabulaError } from '../common/errors.js';
import { CLUSTER_FORWARD_DEADLINE_MS, CLUSTER_METRICS_TARGETS_MAX } from '../common/limits.js';
import type { KeyRange } from '../model/cell-key.js';
import type { ValidMutation } from '../model/mutation.js';
import type { RowFilter, RowRange } from '../model/proto-types.js';
import type { ValidReadModifyWriteRule } from '../model/read-modify-write.js';
import type { Cell, RowCells } from '../model/row-cells.js';
import { loadBigtableProtos } from '../server/protos.js';
import type { RowMutations } from '../tablet/table-store-api.js';
import { PeerControlClients } from './peer-control-protocol.js';

/** Instance name of forwarded requests (a server serves one instance, whatever its name). */
const FORWARD_INSTANCE = 'projects/tabula/instances/cluster';

type Message = Record<string, unknown>;

function tableName(tableId: string): string {
  return `${FORWARD_INSTANCE}/tables/${tableId}`;
}

/** The proto of a validated mutation. */
export function mutationProto(m: ValidMutation): Message {
  switch (m.kind) {
    case 'setCell':
      return {
        setCell: {
          familyName: m.family,
          columnQualifier: m.qualifier,
          timestampMicros: String(m.timestampMicros),
          value: m.value,
        },
      };
    case 'deleteFromColumn':
      return {
        deleteFromColumn: {
          familyName: m.family,
          columnQualifier: m.qualifier,
          timeRange: {
            startTimestampMicros: String(m.startMicros),
            endTimestampMicros: String(m.endMicros ?? 0),
          },
        },
      };
    case 'deleteFromFamily':
      return { deleteFromFamily: { familyName: m.family } };
    case 'deleteFromRow':
      return { deleteFromRow: {} };
  }
}

function ruleProto(r: ValidReadModifyWriteRule): Message {
  return r.kind === 'append'
    ? { familyName: r.family, columnQualifier: r.qualifier, appendValue: r.value }
    : { familyName: r.family, columnQualifier: r.qualifier, incrementAmount: r.amount.toString() };
}

/**
 * The row bound an engine key range bound stands for: `esc(row) 00 01` is the start of `row`,
 * `esc(row) 00 02` the end of it (src/model/cell-key.ts).
 */
function rowBound(key: Buffer): { row: Buffer; atEnd: boolean } {
  const out: number[] = [];
  for (let i = 0; i < key.length; i++) {
    const b = key[i] as number;
    if (b !== 0x00) {
      out.push(b);
      continue;
    }
    const next = key[i + 1];
    if (next === 0xff) {
      out.push(0x00);
      i++;
      continue;
    }
    if (next === 0x01 || next === 0x02) return { row: Buffer.from(out), atEnd: next === 0x02 };
    break;
  }
  throw errors.internal('engine key range bound is not a row bound', { bytes: key.length });
}

/** The RowRange of an engine key range whose bounds are row bounds. */
export function rowRangeOf(range: KeyRange): RowRange {
  const start = rowBound(range.start);
  const out: RowRange = start.atEnd
    ? { startKey: 'startKeyOpen', startKeyOpen: start.row }
    : { startKey: 'startKeyClosed', startKeyClosed: start.row };
  if (range.end !== undefined) {
    const end = rowBound(range.end);
    if (end.atEnd) Object.assign(out, { endKey: 'endKeyClosed', endKeyClosed: end.row });
    else Object.assign(out, { endKey: 'endKeyOpen', endKeyOpen: end.row });
  }
  return out;
}

/** A plaintext grpc-js client of service `path` (e.g. `google.bigtable.v2.Bigtable`) at `address`. */
export function serviceClient(root: GrpcObject, path: string, address: string): Client {
  let node: unknown = root;
  for (const part of path.split('.')) node = (node as Record<string, unknown>)[part];
  return new (node as ServiceClientConstructor)(address, credentials.createInsecure());
}

/** Clients of the peer ports of other tablet servers. */
export class PeerClients {
  private readonly clients = new Map<string, Client>();
  /** The peer control service of the same servers (src/cluster/peer-control-protocol.ts). */
  readonly control: PeerControlClients;
  /**
   * Calls forwarded, by target address (for `/metrics`); past CLUSTER_METRICS_TARGETS_MAX
   * addresses, the rest count under `other`.
   */
  readonly forwardedCalls = new Map<string, number>();

  constructor(private readonly clock: Clock) {
    this.control = new PeerControlClients(clock);
  }

  private client(address: string): Client {
    let c = this.clients.get(address);
    if (!c) {
      c = serviceClient(loadBigtableProtos().data, 'google.bigtable.v2.Bigtable', address);
      this.clients.set(address, c);
    }
    return c;
  }

  private deadline(): number {
    return this.clock.nowMs() + CLUSTER_FORWARD_DEADLINE_MS;
  }

  private count(address: string): void {
    const key =
      this.forwardedCalls.has(address) || this.forwardedCalls.size < CLUSTER_METRICS_TARGETS_MAX
        ? address
        : 'other';
    this.forwardedCalls.set(key, (this.forwardedCalls.get(key) ?? 0) + 1);
  }

  private unary(address: string, method: string, request: Message): Promise<Message> {
    this.count(address);
    const fn = (this.client(address) as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
    return new Promise((resolve, reject) => {
      fn?.call(
        this.client(address),
        request,
        new Metadata(),
        { deadline: this.deadline() },
        (err: unknown, res: Message) => (err ? reject(errorOfCall(err)) : resolve(res)),
      );
    });
  }

  private stream(
    address: string,
    method: string,
    request: Message,
  ): NodeJS.ReadableStream & { cancel(): void } {
    this.count(address);
    const fn = (this.client(address) as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
    return fn?.call(this.client(address), request, new Metadata(), { deadline: this.deadline() }) as never;
  }

  async mutateRow(
    address: string,
    tableId: string,
    rowKey: Buffer,
    mutations: readonly ValidMutation[],
  ): Promise<void> {
    await this.unary(address, 'MutateRow', {
      tableName: tableName(tableId),
      rowKey,
      mutations: mutations.map(mutationProto),
    });
  }

  /** One outcome per entry (undefined: applied); rejects only when the call as a whole failed. */
  async mutateRows(address: string, tableId: string, entries: readonly RowMutations[]): Promise<unknown[]> {
    const call = this.stream(address, 'MutateRows', {
      tableName: tableName(tableId),
      entries: entries.map((e) => ({ rowKey: e.rowKey, mutations: e.mutations.map(mutationProto) })),
    });
    const outcomes: unknown[] = entries.map(() =>
      errors.unavailable('forwarded write got no answer for this entry'),
    );
    const responses: Message[] = [];
    try {
      for await (const response of call as AsyncIterable<Message>) responses.push(response);
    } catch (err) {
      throw errorOfCall(err);
    }
    for (const response of responses) {
      for (const e of (response.entries ?? []) as {
        index: string | number;
        status?: { code?: number; message?: string };
      }[]) {
        const code = e.status?.code ?? 0;
        outcomes[Number(e.index)] = code === 0 ? undefined : errorOfStatus(code, e.status?.message ?? '');
      }
    }
    return outcomes;
  }

  async checkAndMutateRow(
    address: string,
    tableId: string,
    rowKey: Buffer,
    trueMutations: readonly ValidMutation[],
    falseMutations: readonly ValidMutation[],
    predicateFilter?: RowFilter,
  ): Promise<boolean> {
    const res = await this.unary(address, 'CheckAndMutateRow', {
      tableName: tableName(tableId),
      rowKey,
      ...(predicateFilter === undefined ? {} : { predicateFilter }),
      trueMutations: trueMutations.map(mutationProto),
      falseMutations: falseMutations.map(mutationProto),
    });
    return res.predicateMatched === true;
  }

  async readModifyWriteRow(
    address: string,
    tableId: string,
    rowKey: Buffer,
    rules: readonly ValidReadModifyWriteRule[],
  ): Promise<RowCells> {
    const res = await this.unary(address, 'ReadModifyWriteRow', {
      tableName: tableName(tableId),
      rowKey,
      rules: rules.map(ruleProto),
    });
    const row = res.row as {
      key: Buffer;
      families: {
        name: string;
        columns: {
          qualifier: Buffer;
          cells: { timestampMicros: string; value: Buffer; labels: string[] }[];
        }[];
      }[];
    };
    const cells: Cell[] = [];
    for (const f of row.families ?? [])
      for (const c of f.columns ?? [])
        for (const cell of c.cells ?? [])
          cells.push({
            family: f.name,
            qualifier: c.qualifier,
            timestampMicros: Number(cell.timestampMicros),
            value: cell.value,
            labels: cell.labels ?? [],
          });
    return { key: row.key ?? rowKey, cells };
  }

  /** The whole rows of `ranges` (within one tablet) from its owner, unfiltered, in order. */
  async *readRows(
    address: string,
    tableId: string,
    ranges: readonly KeyRange[],
    reversed: boolean,
  ): AsyncGenerator<RowCells, void, undefined> {
    const call = this.stream(address, 'ReadRows', {
      tableName: tableName(tableId),
      rows: { rowRanges: ranges.map(rowRangeOf) },
      reversed,
    });
    const assembler = new ReadRowsAssembler(reversed);
    try {
      for await (const response of call as AsyncIterable<Message>) {
        for (const chunk of (response.chunks ?? []) as CellChunkIn[]) {
          const row = assembler.push(chunk);
          if (row) yield row;
        }
      }
    } catch (err) {
      throw err instanceof TabulaError ? err : errorOfCall(err);
    } finally {
      call.cancel();
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    this.control.close();
  }
}
