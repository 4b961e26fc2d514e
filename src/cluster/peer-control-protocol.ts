/**
 * The peer control service, `tabula.cluster.PeerControl`: the calls the Bigtable data API has no
 * form for, served on every tablet server's peer port next to the owner-only data API
 * (src/cluster/owner-store.ts) and answered only for tablets the server owns:
 *
 * - `DropTabletRange`: delete the rows of an engine-key range inside one named tablet (the master
 *   fans a DropRowRange out as one call per tablet, src/cluster/tablet-fanout.ts);
 * - `PurgeTabletFamily`: delete every cell of a dropped family in one named tablet, after the
 *   server has taken the schema without the family (so its reads hide it from then on);
 * - `SyncView`: bring the server's cluster view up to a coordination revision and give its tablets
 *   the schemas of that view (an admin call answers only after every live server did);
 * - `TabletSamples`: the size and row key samples of every tablet of a table the server owns
 *   (SampleRowKeys through a cluster).
 *
 * Messages are JSON (bytes in base64): the service is internal to a cluster of one version, and a
 * request that does not decode is answered INVALID_ARGUMENT. A tablet the server does not own
 * (any more) is answered UNAVAILABLE with `moved`, as the data path does.
 *
 * Ownership: `PeerControlClients` holds one grpc-js client per peer address, closed by `close()`.
 * Every call has a deadline; nothing here retries.
 */
import type { Client, MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { credentials, Metadata, Client as RawClient } from '@grpc/grpc-js';
import { errorOfCall } from '../client/grpc-errors.js';
import type { Clock } from '../common/clock.js';
import { errors } from '../common/errors.js';
import { CLUSTER_PEER_CONTROL_DEADLINE_MS } from '../common/limits.js';
import type { RowKeySample } from '../tablet/table-store-api.js';

/** Fully qualified name of the service. */
export const PEER_CONTROL_SERVICE_NAME = 'tabula.cluster.PeerControl';

/** DropTabletRange: delete engine keys [start, end) inside tablet `tabletDir` (base64 keys). */
export interface DropTabletRangeRequest {
  readonly tableId: string;
  readonly tabletDir: string;
  readonly start: string;
  readonly end: string;
}

/** PurgeTabletFamily: delete every cell of `family` (no longer in the schema) in one tablet. */
export interface PurgeTabletFamilyRequest {
  readonly tableId: string;
  readonly tabletDir: string;
  readonly family: string;
}

/** SyncView: see the coordination keys up to `revision` at least. */
export interface SyncViewRequest {
  readonly revision: number;
}

/** One owned tablet's size and samples (offsets from the tablet's start; keys in base64). */
export interface TabletSampleSet {
  readonly tabletDir: string;
  readonly bytes: number;
  readonly samples: readonly { readonly rowKey: string; readonly offsetBytes: number }[];
}

/** TabletSamples: the owned tablets of `tableId`. */
export interface TabletSamplesRequest {
  readonly tableId: string;
}

/** The answer of TabletSamples. */
export interface TabletSamplesResponse {
  readonly tablets: readonly TabletSampleSet[];
}

/** The method names, in the order of the service definition. */
export const PEER_CONTROL_METHODS = [
  'DropTabletRange',
  'PurgeTabletFamily',
  'SyncView',
  'TabletSamples',
] as const;

/** One method of the service. */
export type PeerControlMethod = (typeof PEER_CONTROL_METHODS)[number];

/** A message as JSON bytes (also the master control service's codec). */
export function serialize(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value ?? {}), 'utf8');
}

/** A JSON object from bytes; INVALID_ARGUMENT when it is not one. */
export function deserialize(bytes: Buffer): unknown {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    if (value === null || typeof value !== 'object') throw new Error('not an object');
    return value;
  } catch (err) {
    throw errors.invalidArgument('peer control message is not a JSON object', {
      reason: err instanceof Error ? err.message : String(err),
    });
  }
}

function methodPath(method: PeerControlMethod): string {
  return `/${PEER_CONTROL_SERVICE_NAME}/${method}`;
}

/** A unary method with JSON messages at `path` (also the master control service's). */
export function jsonMethod(path: string): MethodDefinition<unknown, unknown> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  };
}

/** The grpc-js service definition (JSON messages). */
export function peerControlDefinition(): ServiceDefinition {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of PEER_CONTROL_METHODS) out[method] = jsonMethod(methodPath(method));
  return out as ServiceDefinition;
}

/** Bytes as carried in the messages. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** A field of a request that must be a string. */
export function stringField(request: Record<string, unknown>, field: string): string {
  const v = request[field];
  if (typeof v !== 'string') throw errors.invalidArgument('peer control field must be a string', { field });
  return v;
}

/** A base64 field of a request, as bytes. */
export function bytesField(request: Record<string, unknown>, field: string): Buffer {
  return Buffer.from(stringField(request, field), 'base64');
}

/** Clients of the peer control service of other tablet servers. */
export class PeerControlClients {
  private readonly clients = new Map<string, Client>();

  constructor(private readonly clock: Clock) {}

  private client(address: string): Client {
    let c = this.clients.get(address);
    if (!c) {
      c = new RawClient(address, credentials.createInsecure());
      this.clients.set(address, c);
    }
    return c;
  }

  private call<T>(
    address: string,
    method: PeerControlMethod,
    request: object,
    deadlineMs: number,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.client(address).makeUnaryRequest(
        methodPath(method),
        serialize,
        (b: Buffer) => deserialize(b) as T,
        request,
        new Metadata(),
        { deadline: this.clock.nowMs() + deadlineMs },
        (err, res) => (err ? reject(errorOfCall(err)) : resolve(res as T)),
      );
    });
  }

  /** Deletes engine keys [start, end) of tablet `tabletDir` on its owner at `address`. */
  async dropTabletRange(
    address: string,
    r: { tableId: string; tabletDir: string; start: Buffer; end: Buffer },
  ): Promise<void> {
    const request: DropTabletRangeRequest = { ...r, start: toBase64(r.start), end: toBase64(r.end) };
    await this.call(address, 'DropTabletRange', request, CLUSTER_PEER_CONTROL_DEADLINE_MS);
  }

  /** Purges a dropped family from tablet `tabletDir` on its owner at `address`. */
  async purgeTabletFamily(address: string, request: PurgeTabletFamilyRequest): Promise<void> {
    await this.call(address, 'PurgeTabletFamily', request, CLUSTER_PEER_CONTROL_DEADLINE_MS);
  }

  /** Has the server at `address` see the coordination keys up to `revision`. */
  async syncView(address: string, revision: number, deadlineMs: number): Promise<void> {
    const request: SyncViewRequest = { revision };
    await this.call(address, 'SyncView', request, deadlineMs);
  }

  /** The sizes and samples of the tablets of `tableId` the server at `address` owns. */
  async tabletSamples(
    address: string,
    tableId: string,
  ): Promise<Map<string, { bytes: number; samples: RowKeySample[] }>> {
    const request: TabletSamplesRequest = { tableId };
    const res = await this.call<TabletSamplesResponse>(
      address,
      'TabletSamples',
      request,
      CLUSTER_PEER_CONTROL_DEADLINE_MS,
    );
    const out = new Map<string, { bytes: number; samples: RowKeySample[] }>();
    for (const t of res.tablets ?? []) {
      out.set(t.tabletDir, {
        bytes: Number(t.bytes),
        samples: (t.samples ?? []).map((s) => ({
          rowKey: Buffer.from(s.rowKey, 'base64'),
          offsetBytes: Number(s.offsetBytes),
        })),
      });
    }
    return out;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
