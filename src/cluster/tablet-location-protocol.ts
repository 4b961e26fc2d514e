/**
 * The tablet location service, `tabula.cluster.TabletLocations`: served on every tablet server's
 * public port next to the Bigtable API, so a Tabula client can send each row straight to its
 * tablet's owner (src/client/tablet-router.ts) instead of through the server it connected to.
 *
 * One unary method, `LocateTablets`: for a table, its tablets in key order as the answering
 * server's cluster view holds them — each tablet's row range (start inclusive, end exclusive;
 * absent: the table's start or end), the public address of its owner and the owner epoch it is
 * assigned under. A tablet whose owner is not (or no longer) a live server has no address; a
 * client sends its rows through the server it asked. At most CLUSTER_LOCATION_TABLETS_MAX tablets
 * are listed (the first in key order; `truncated` then says so).
 *
 * Messages are JSON (row keys in base64), like the peer control service: the service is
 * Tabula-specific, small and rare (a client asks once per table, then after a failure or when its
 * entry is CLIENT_LOCATION_TTL_MS old). A server without the service (`tabula serve`, Cloud
 * Bigtable) answers UNIMPLEMENTED, and the client then sends everything to its one address.
 *
 * Invariant (answer): tablets are sorted by start row and do not overlap; a client checks this and
 * treats an answer that breaks it as no answer (everything through the entry server).
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { errors } from '../common/errors.js';

/** Fully qualified name of the service. */
export const TABLET_LOCATIONS_SERVICE_NAME = 'tabula.cluster.TabletLocations';
/** Its one method. */
export const LOCATE_TABLETS_METHOD = 'LocateTablets';
/** The HTTP/2 path of `LocateTablets`. */
export const LOCATE_TABLETS_PATH = `/${TABLET_LOCATIONS_SERVICE_NAME}/${LOCATE_TABLETS_METHOD}`;

/** LocateTablets request. */
export interface LocateTabletsRequest {
  readonly tableId: string;
}

/** One tablet in a LocateTablets answer (row keys in base64). */
export interface TabletLocationMessage {
  /** First row (inclusive); absent: the table's start. */
  readonly startRow?: string;
  /** Row the range ends before; absent: the table's end. */
  readonly endRow?: string;
  /** host:port of the owner's public API; absent: no live owner known. */
  readonly address?: string;
  readonly ownerEpoch: number;
}

/** LocateTablets answer. */
export interface LocateTabletsResponse {
  readonly tablets: readonly TabletLocationMessage[];
  /** Whether tablets beyond the listed ones exist (CLUSTER_LOCATION_TABLETS_MAX). */
  readonly truncated: boolean;
  /** The coordination revision of the answering server's view. */
  readonly revision: number;
}

/** One tablet's location, decoded. */
export interface TabletLocation {
  /** First row (inclusive); empty: the table's start. */
  readonly startRow: Buffer;
  /** Row the range ends before; undefined: the table's end. */
  readonly endRow: Buffer | undefined;
  /** Owner's public address; undefined: send through the entry server. */
  readonly address: string | undefined;
  readonly ownerEpoch: number;
}

/** A message as bytes on the wire. */
export function encodeLocationMessage(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value ?? {}), 'utf8');
}

/** Bytes from the wire as a JSON object; INVALID_ARGUMENT otherwise. */
export function decodeLocationMessage(bytes: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw errors.invalidArgument('tablet location message is not a JSON object');
  return value as Record<string, unknown>;
}

/** The grpc-js service definition. */
export function tabletLocationsDefinition(): ServiceDefinition {
  const method: MethodDefinition<unknown, unknown> = {
    path: LOCATE_TABLETS_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeLocationMessage,
    requestDeserialize: decodeLocationMessage,
    responseSerialize: encodeLocationMessage,
    responseDeserialize: decodeLocationMessage,
  };
  return { [LOCATE_TABLETS_METHOD]: method } as ServiceDefinition;
}

function optionalRow(value: unknown, field: string): Buffer | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw errors.invalidArgument('tablet location row must be base64', { field });
  return Buffer.from(value, 'base64');
}

/**
 * A LocateTablets answer, decoded and checked (sorted, non-overlapping ranges). Throws
 * INVALID_ARGUMENT for an answer that breaks the invariant.
 */
export function decodeLocations(res: Record<string, unknown>): {
  tablets: TabletLocation[];
  truncated: boolean;
} {
  const raw = res.tablets;
  if (!Array.isArray(raw)) throw errors.invalidArgument('tablet location answer has no tablet list');
  const tablets: TabletLocation[] = [];
  for (const [i, t] of raw.entries()) {
    const m = (t ?? {}) as Record<string, unknown>;
    const startRow = optionalRow(m.startRow, `tablets[${i}].startRow`) ?? Buffer.alloc(0);
    const endRow = optionalRow(m.endRow, `tablets[${i}].endRow`);
    const address = typeof m.address === 'string' && m.address.length > 0 ? m.address : undefined;
    const prev = tablets[tablets.length - 1];
    const afterPrev = prev === undefined || (prev.endRow !== undefined && prev.endRow.compare(startRow) <= 0);
    const nonEmpty = endRow === undefined || startRow.compare(endRow) < 0;
    if (!afterPrev || !nonEmpty)
      throw errors.invalidArgument('tablet location answer is not sorted and disjoint', { index: i });
    tablets.push({ startRow, endRow, address, ownerEpoch: Number(m.ownerEpoch ?? 0) });
  }
  return { tablets, truncated: res.truncated === true };
}
