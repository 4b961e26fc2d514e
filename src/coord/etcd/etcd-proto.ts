/**
 * The subset of etcd's v3 gRPC API (package `etcdserverpb`, etcd 3.4 and later) the etcd driver
 * speaks, as a protobufjs JSON descriptor: the KV, Watch and Lease services and the messages they
 * use, with etcd's field numbers and enum values (the wire contract of etcd's `rpc.proto` and
 * `kv.proto`). Fields the driver never sends or reads are left out; protobuf skips unknown fields.
 *
 * Concurrency: the definition is built once, at first use. Invariant: decoding uses
 * `ETCD_PROTO_OPTIONS`, so int64 fields (revisions, lease ids) arrive as decimal strings, bytes as
 * Buffers, enums as names, and unset fields are filled with defaults.
 */
import { credentials, type GrpcObject, loadPackageDefinition } from '@grpc/grpc-js';
import { fromJSON, type Options } from '@grpc/proto-loader';

/** Decoding options of every etcd message. */
export const ETCD_PROTO_OPTIONS: Options = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
});

type Fields = Record<string, { type: string; id: number; rule?: 'repeated' }>;

function message(fields: Fields, extra: object = {}): object {
  return { fields, ...extra };
}

const KEY_VALUE = message({
  key: { type: 'bytes', id: 1 },
  create_revision: { type: 'int64', id: 2 },
  mod_revision: { type: 'int64', id: 3 },
  version: { type: 'int64', id: 4 },
  value: { type: 'bytes', id: 5 },
  lease: { type: 'int64', id: 6 },
});

const HEADER = message({
  cluster_id: { type: 'uint64', id: 1 },
  member_id: { type: 'uint64', id: 2 },
  revision: { type: 'int64', id: 3 },
  raft_term: { type: 'uint64', id: 4 },
});

const messages = {
  ResponseHeader: HEADER,
  KeyValue: KEY_VALUE,
  Event: message(
    { type: { type: 'EventType', id: 1 }, kv: { type: 'KeyValue', id: 2 } },
    { nested: { EventType: { values: { PUT: 0, DELETE: 1 } } } },
  ),
  RangeRequest: message({
    key: { type: 'bytes', id: 1 },
    range_end: { type: 'bytes', id: 2 },
    limit: { type: 'int64', id: 3 },
    revision: { type: 'int64', id: 4 },
    serializable: { type: 'bool', id: 7 },
  }),
  RangeResponse: message({
    header: { type: 'ResponseHeader', id: 1 },
    kvs: { type: 'KeyValue', id: 2, rule: 'repeated' },
    more: { type: 'bool', id: 3 },
    count: { type: 'int64', id: 4 },
  }),
  PutRequest: message({
    key: { type: 'bytes', id: 1 },
    value: { type: 'bytes', id: 2 },
    lease: { type: 'int64', id: 3 },
  }),
  PutResponse: message({ header: { type: 'ResponseHeader', id: 1 } }),
  DeleteRangeRequest: message({ key: { type: 'bytes', id: 1 }, range_end: { type: 'bytes', id: 2 } }),
  DeleteRangeResponse: message({
    header: { type: 'ResponseHeader', id: 1 },
    deleted: { type: 'int64', id: 2 },
  }),
  RequestOp: message(
    {
      request_range: { type: 'RangeRequest', id: 1 },
      request_put: { type: 'PutRequest', id: 2 },
      request_delete_range: { type: 'DeleteRangeRequest', id: 3 },
    },
    { oneofs: { request: { oneof: ['request_range', 'request_put', 'request_delete_range'] } } },
  ),
  ResponseOp: message(
    {
      response_range: { type: 'RangeResponse', id: 1 },
      response_put: { type: 'PutResponse', id: 2 },
      response_delete_range: { type: 'DeleteRangeResponse', id: 3 },
    },
    { oneofs: { response: { oneof: ['response_range', 'response_put', 'response_delete_range'] } } },
  ),
  Compare: message(
    {
      result: { type: 'CompareResult', id: 1 },
      target: { type: 'CompareTarget', id: 2 },
      key: { type: 'bytes', id: 3 },
      version: { type: 'int64', id: 4 },
      create_revision: { type: 'int64', id: 5 },
      mod_revision: { type: 'int64', id: 6 },
      value: { type: 'bytes', id: 7 },
    },
    {
      oneofs: { target_union: { oneof: ['version', 'create_revision', 'mod_revision', 'value'] } },
      nested: {
        CompareResult: { values: { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } },
        CompareTarget: { values: { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } },
      },
    },
  ),
  TxnRequest: message({
    compare: { type: 'Compare', id: 1, rule: 'repeated' },
    success: { type: 'RequestOp', id: 2, rule: 'repeated' },
    failure: { type: 'RequestOp', id: 3, rule: 'repeated' },
  }),
  TxnResponse: message({
    header: { type: 'ResponseHeader', id: 1 },
    succeeded: { type: 'bool', id: 2 },
    responses: { type: 'ResponseOp', id: 3, rule: 'repeated' },
  }),
  CompactionRequest: message({ revision: { type: 'int64', id: 1 }, physical: { type: 'bool', id: 2 } }),
  CompactionResponse: message({ header: { type: 'ResponseHeader', id: 1 } }),
  WatchRequest: message(
    {
      create_request: { type: 'WatchCreateRequest', id: 1 },
      cancel_request: { type: 'WatchCancelRequest', id: 2 },
    },
    { oneofs: { request_union: { oneof: ['create_request', 'cancel_request'] } } },
  ),
  WatchCreateRequest: message({
    key: { type: 'bytes', id: 1 },
    range_end: { type: 'bytes', id: 2 },
    start_revision: { type: 'int64', id: 3 },
    progress_notify: { type: 'bool', id: 4 },
    watch_id: { type: 'int64', id: 7 },
  }),
  WatchCancelRequest: message({ watch_id: { type: 'int64', id: 1 } }),
  WatchResponse: message({
    header: { type: 'ResponseHeader', id: 1 },
    watch_id: { type: 'int64', id: 2 },
    created: { type: 'bool', id: 3 },
    canceled: { type: 'bool', id: 4 },
    compact_revision: { type: 'int64', id: 5 },
    cancel_reason: { type: 'string', id: 6 },
    fragment: { type: 'bool', id: 7 },
    events: { type: 'Event', id: 11, rule: 'repeated' },
  }),
  LeaseGrantRequest: message({ TTL: { type: 'int64', id: 1 }, ID: { type: 'int64', id: 2 } }),
  LeaseGrantResponse: message({
    header: { type: 'ResponseHeader', id: 1 },
    ID: { type: 'int64', id: 2 },
    TTL: { type: 'int64', id: 3 },
    error: { type: 'string', id: 4 },
  }),
  LeaseRevokeRequest: message({ ID: { type: 'int64', id: 1 } }),
  LeaseRevokeResponse: message({ header: { type: 'ResponseHeader', id: 1 } }),
  LeaseKeepAliveRequest: message({ ID: { type: 'int64', id: 1 } }),
  LeaseKeepAliveResponse: message({
    header: { type: 'ResponseHeader', id: 1 },
    ID: { type: 'int64', id: 2 },
    TTL: { type: 'int64', id: 3 },
  }),
};

function rpc(requestType: string, responseType: string, streaming = false): object {
  return streaming
    ? { requestType, responseType, requestStream: true, responseStream: true }
    : { requestType, responseType };
}

const services = {
  KV: {
    methods: {
      Range: rpc('RangeRequest', 'RangeResponse'),
      Put: rpc('PutRequest', 'PutResponse'),
      DeleteRange: rpc('DeleteRangeRequest', 'DeleteRangeResponse'),
      Txn: rpc('TxnRequest', 'TxnResponse'),
      Compact: rpc('CompactionRequest', 'CompactionResponse'),
    },
  },
  Watch: { methods: { Watch: rpc('WatchRequest', 'WatchResponse', true) } },
  Lease: {
    methods: {
      LeaseGrant: rpc('LeaseGrantRequest', 'LeaseGrantResponse'),
      LeaseRevoke: rpc('LeaseRevokeRequest', 'LeaseRevokeResponse'),
      LeaseKeepAlive: rpc('LeaseKeepAliveRequest', 'LeaseKeepAliveResponse', true),
    },
  },
};

let cached: GrpcObject | undefined;

/** The `etcdserverpb` package: client constructors `KV`, `Watch` and `Lease`. */
export function etcdPackage(): GrpcObject {
  cached ??= loadPackageDefinition(
    fromJSON(
      { nested: { etcdserverpb: { nested: { ...messages, ...services } } } } as Parameters<
        typeof fromJSON
      >[0],
      ETCD_PROTO_OPTIONS,
    ),
  ).etcdserverpb as GrpcObject;
  return cached;
}

/** Plaintext channel credentials (etcd on loopback or a private network; TLS is not wired yet). */
export const etcdCredentials = () => credentials.createInsecure();
