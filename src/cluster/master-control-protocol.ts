/**
 * The master control service, `tabula.cluster.MasterControl`, served on the master's admin port
 * next to the table admin API: what a tablet server asks of the master that the Bigtable admin API
 * has no form for:
 *
 * - `AcquireTableGate` / `ReleaseTableGate`: before it prepares a split or merge of a table, the
 *   server takes the table's gate: the master's admin chain (schema changes, the fan-outs of
 *   DropRowRange and family purges, the shared-file GC) waits while a gate is out, so no fan-out
 *   meets a tablet paused by a split whose commit would wait behind it. A gate lasts until the
 *   commit that names it, its release, or CLUSTER_TABLE_GATE_LEASE_MS.
 * - `CommitTablets`: record a split or merge a tablet server prepared (the children's stores are
 *   complete and durable in the shared directory) in the METADATA catalog. The master refuses it
 *   (FAILED_PRECONDITION, message `tablet change refused`) when the owner epoch it names is not the
 *   parents' current one, when a parent is no longer live, or when a child's files are incomplete;
 *   it answers OK when the change is recorded, now or by an earlier call (the call is idempotent,
 *   so a server that lost an answer asks again). Any other failure leaves the outcome unknown.
 *
 * Messages are JSON (row keys base64), as the peer control service's
 * (src/cluster/peer-control-protocol.ts), whose codec this reuses.
 *
 * Ownership: `MasterControlClient` holds one grpc-js client per master address, closed by `close()`.
 * Every call has a deadline; nothing here retries.
 */
import type { Client, ServiceDefinition } from '@grpc/grpc-js';
import { credentials, Metadata, Client as RawClient } from '@grpc/grpc-js';
import { errorOfCall } from '../client/grpc-errors.js';
import type { Clock } from '../common/clock.js';
import { ErrorCode, errors, hasCode, type TabulaError } from '../common/errors.js';
import type { TabletRecord } from '../tablet/catalog.js';
import { deserialize, jsonMethod, serialize } from './peer-control-protocol.js';

/** Fully qualified name of the service. */
export const MASTER_CONTROL_SERVICE_NAME = 'tabula.cluster.MasterControl';
/** The message every refusal of `CommitTablets` carries (the change was not, and will not be, made). */
export const TABLET_CHANGE_REFUSED = 'tablet change refused';

/** A tablet record as carried in the messages. */
export interface TabletFields {
  readonly tableId: string;
  readonly tabletDir: string;
  readonly startRow: string | null;
  readonly endRow: string | null;
  readonly timestampFloorMicros: number;
  readonly sources: readonly string[];
}

/** CommitTablets: retire `removeTablets`, make `putTablets` live (one split or merge). */
export interface CommitTabletsRequest {
  readonly tableId: string;
  /** The server that prepared the change and owns the parents. */
  readonly server: string;
  /** The owner epoch it holds each parent under (in the order of `removeTablets`). */
  readonly ownerEpochs: readonly number[];
  readonly removeTablets: readonly TabletFields[];
  readonly putTablets: readonly TabletFields[];
  /** The table gate the server holds for this change, if any (`AcquireTableGate`). */
  readonly gateId?: string;
}

/** AcquireTableGate: hold the master's admin chain for a split or merge of `tableId`. */
export interface TableGateRequest {
  readonly tableId: string;
  readonly server: string;
}

/** A tablet record as message fields. */
export function tabletFields(t: TabletRecord): TabletFields {
  return {
    tableId: t.tableId,
    tabletDir: t.tabletDir,
    startRow: t.startRow?.toString('base64') ?? null,
    endRow: t.endRow?.toString('base64') ?? null,
    timestampFloorMicros: t.timestampFloorMicros,
    sources: [...t.sources],
  };
}

/** The tablet record of message fields; INVALID_ARGUMENT when they are malformed. */
export function tabletOfFields(f: TabletFields): TabletRecord {
  const row = (v: unknown) => {
    if (v === null) return undefined;
    if (typeof v !== 'string') throw errors.invalidArgument('tablet row must be base64 or null');
    return Buffer.from(v, 'base64');
  };
  if (typeof f?.tableId !== 'string' || typeof f.tabletDir !== 'string' || !/^[\w.-]+$/.test(f.tabletDir))
    throw errors.invalidArgument('tablet record is malformed');
  if (!Number.isSafeInteger(f.timestampFloorMicros) || !Array.isArray(f.sources))
    throw errors.invalidArgument('tablet record is malformed', { tablet: f.tabletDir });
  return {
    tableId: f.tableId,
    tabletDir: f.tabletDir,
    startRow: row(f.startRow),
    endRow: row(f.endRow),
    timestampFloorMicros: f.timestampFloorMicros,
    sources: f.sources.map(String),
  };
}

/** A refusal of CommitTablets (`reason` says which check failed). */
export function changeRefused(reason: string, details: Record<string, string | number> = {}): TabulaError {
  return errors.failedPrecondition(TABLET_CHANGE_REFUSED, { reason, ...details });
}

/** Whether `err` is a refusal of CommitTablets: the change was not made and never will be. */
export function isChangeRefused(err: unknown): boolean {
  return (
    hasCode(err, ErrorCode.FailedPrecondition) &&
    err instanceof Error &&
    err.message.includes(TABLET_CHANGE_REFUSED)
  );
}

const COMMIT_PATH = `/${MASTER_CONTROL_SERVICE_NAME}/CommitTablets`;
const ACQUIRE_PATH = `/${MASTER_CONTROL_SERVICE_NAME}/AcquireTableGate`;
const RELEASE_PATH = `/${MASTER_CONTROL_SERVICE_NAME}/ReleaseTableGate`;

/** The grpc-js service definition (JSON messages). */
export function masterControlDefinition(): ServiceDefinition {
  return {
    CommitTablets: jsonMethod(COMMIT_PATH),
    AcquireTableGate: jsonMethod(ACQUIRE_PATH),
    ReleaseTableGate: jsonMethod(RELEASE_PATH),
  } as ServiceDefinition;
}

/** A client of the active master's control service. */
export class MasterControlClient {
  private readonly clients = new Map<string, Client>();

  constructor(private readonly clock: Clock) {}

  /** Asks the master at `address` to record a split or merge. */
  async commitTablets(address: string, request: CommitTabletsRequest, deadlineMs: number): Promise<void> {
    await this.call(address, COMMIT_PATH, request, deadlineMs);
  }

  /** Takes the gate of a table at the master at `address`; resolves with its id. */
  async acquireTableGate(address: string, request: TableGateRequest, deadlineMs: number): Promise<string> {
    const answer = (await this.call(address, ACQUIRE_PATH, request, deadlineMs)) as { gateId?: unknown };
    if (typeof answer?.gateId !== 'string') throw errors.unavailable('the master answered no table gate');
    return answer.gateId;
  }

  /** Gives a table gate back (the change it was taken for will not be committed). */
  async releaseTableGate(address: string, gateId: string, deadlineMs: number): Promise<void> {
    await this.call(address, RELEASE_PATH, { gateId }, deadlineMs);
  }

  private call(address: string, path: string, request: object, deadlineMs: number): Promise<unknown> {
    let c = this.clients.get(address);
    if (!c) {
      c = new RawClient(address, credentials.createInsecure());
      this.clients.set(address, c);
    }
    const client = c;
    return new Promise<unknown>((resolve, reject) => {
      client.makeUnaryRequest(
        path,
        serialize,
        deserialize,
        request,
        new Metadata(),
        { deadline: this.clock.nowMs() + deadlineMs },
        (err, res) => (err ? reject(errorOfCall(err)) : resolve(res)),
      );
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
