/**
 * A thin client of etcd's v3 gRPC API for the etcd coordination driver: one channel to all the
 * cluster's members (pick-first, failing over when a member goes away), unary calls with a
 * deadline, the watch stream, one-shot lease keepalives, and the mapping of every failure to a
 * TabulaError.
 *
 * Error mapping (never UNKNOWN): statuses etcd uses for bad requests keep their meaning
 * (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, PERMISSION_DENIED;
 * OUT_OF_RANGE, a compacted revision, is FAILED_PRECONDITION); everything else — connection
 * refused or reset, deadline passed, no leader, leader changed — is UNAVAILABLE: the call may or may
 * not have been applied, and the caller retries after reading the state back.
 *
 * Concurrency: calls may run concurrently; `close()` cancels every call in flight.
 */
import {
  type ClientDuplexStream,
  type Client as GrpcClient,
  Metadata,
  type ServiceClientConstructor,
  status,
} from '@grpc/grpc-js';
import { ErrorCode, TabulaError } from '../../common/errors.js';
import {
  ETCD_CALL_TIMEOUT_MS,
  ETCD_GRPC_KEEPALIVE_MS,
  ETCD_GRPC_KEEPALIVE_TIMEOUT_MS,
  ETCD_RECEIVE_MESSAGE_BYTES_MAX,
} from '../../common/limits.js';
import { etcdCredentials, etcdPackage } from './etcd-proto.js';

/** A ResponseHeader as decoded (int64 as decimal strings). */
export interface EtcdHeader {
  readonly revision: string;
}

/** A KeyValue as decoded. */
export interface EtcdKeyValue {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly mod_revision: string;
  readonly create_revision: string;
  readonly lease: string;
}

/** The gRPC statuses that mean "etcd rejected the request", mapped to our codes. */
const REQUEST_ERRORS: ReadonlyMap<number, ErrorCode> = new Map<number, ErrorCode>([
  [status.INVALID_ARGUMENT, ErrorCode.InvalidArgument],
  [status.NOT_FOUND, ErrorCode.NotFound],
  [status.ALREADY_EXISTS, ErrorCode.AlreadyExists],
  [status.FAILED_PRECONDITION, ErrorCode.FailedPrecondition],
  [status.OUT_OF_RANGE, ErrorCode.FailedPrecondition],
  [status.RESOURCE_EXHAUSTED, ErrorCode.ResourceExhausted],
  [status.PERMISSION_DENIED, ErrorCode.PermissionDenied],
  [status.UNAUTHENTICATED, ErrorCode.PermissionDenied],
]);

/** A failed etcd call as a TabulaError (see the file comment). */
export function etcdError(err: unknown, method: string): TabulaError {
  if (err instanceof TabulaError) return err;
  const e = err as { code?: unknown; details?: unknown; message?: unknown } | undefined;
  const grpcStatus = typeof e?.code === 'number' ? e.code : status.UNAVAILABLE;
  const reason = typeof e?.details === 'string' && e.details !== '' ? e.details : String(e?.message ?? err);
  const code = REQUEST_ERRORS.get(grpcStatus) ?? ErrorCode.Unavailable;
  const message = code === ErrorCode.Unavailable ? 'etcd is unavailable' : 'etcd rejected the request';
  return new TabulaError(
    code,
    message,
    { method, status: status[grpcStatus] ?? grpcStatus, reason },
    { cause: err },
  );
}

type UnaryMethod = (
  request: object,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (err: unknown, response: unknown) => void,
) => unknown;

/** One connection (channel) to an etcd cluster. */
export class EtcdClient {
  private readonly kv: GrpcClient;
  private readonly watchClient: GrpcClient;
  private readonly lease: GrpcClient;
  private closed = false;

  constructor(grpcTarget: string) {
    const pkg = etcdPackage();
    const options = {
      'grpc.keepalive_time_ms': ETCD_GRPC_KEEPALIVE_MS,
      'grpc.keepalive_timeout_ms': ETCD_GRPC_KEEPALIVE_TIMEOUT_MS,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': ETCD_RECEIVE_MESSAGE_BYTES_MAX,
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ pick_first: {} }] }),
    };
    const KV = pkg.KV as ServiceClientConstructor;
    this.kv = new KV(grpcTarget, etcdCredentials(), options);
    const channelOverride = this.kv.getChannel();
    this.watchClient = new (pkg.Watch as ServiceClientConstructor)(grpcTarget, etcdCredentials(), {
      channelOverride,
    });
    this.lease = new (pkg.Lease as ServiceClientConstructor)(grpcTarget, etcdCredentials(), {
      channelOverride,
    });
  }

  /** Calls `KV.<method>`; rejects with a mapped TabulaError. */
  kvCall<T>(method: 'Range' | 'Put' | 'DeleteRange' | 'Txn' | 'Compact', request: object): Promise<T> {
    return this.unary<T>(this.kv, method, request, ETCD_CALL_TIMEOUT_MS);
  }

  /** Calls `Lease.<method>`; rejects with a mapped TabulaError. */
  leaseCall<T>(
    method: 'LeaseGrant' | 'LeaseRevoke',
    request: object,
    timeoutMs = ETCD_CALL_TIMEOUT_MS,
  ): Promise<T> {
    return this.unary<T>(this.lease, method, request, timeoutMs);
  }

  /**
   * Sends one keepalive for lease `id` and resolves with the TTL (seconds) the server granted;
   * 0 or less means the lease no longer exists. Rejects (UNAVAILABLE) with no answer in `timeoutMs`.
   */
  keepAliveOnce(id: string, timeoutMs: number): Promise<number> {
    this.checkOpen('LeaseKeepAlive');
    return new Promise((resolve, reject) => {
      const call = (
        this.lease as unknown as Record<string, (o: object) => ClientDuplexStream<object, object>>
      ).LeaseKeepAlive!.call(this.lease, { deadline: new Date(Date.now() + timeoutMs) });
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        fn();
        call.cancel();
      };
      call.on('data', (response: { TTL: string }) => settle(() => resolve(Number(response.TTL))));
      call.on('error', (err) => settle(() => reject(etcdError(err, 'LeaseKeepAlive'))));
      call.on('end', () =>
        settle(() => reject(etcdError(new Error('keepalive stream ended'), 'LeaseKeepAlive'))),
      );
      call.write({ ID: id });
    });
  }

  /**
   * Opens a watch stream (the caller handles its events and errors). It asks etcd to end the stream
   * when the member loses its leader (etcd's `hasleader` metadata), so a watch on a partitioned
   * member fails and resumes elsewhere instead of going silent.
   */
  openWatchStream(): ClientDuplexStream<object, object> {
    this.checkOpen('Watch');
    const metadata = new Metadata();
    metadata.set('hasleader', 'true');
    const watch = this.watchClient as unknown as Record<
      string,
      (m: Metadata) => ClientDuplexStream<object, object>
    >;
    return watch.Watch!.call(this.watchClient, metadata);
  }

  /** Closes the channel; calls in flight fail with UNAVAILABLE. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.kv.close();
  }

  private unary<T>(client: GrpcClient, method: string, request: object, timeoutMs: number): Promise<T> {
    this.checkOpen(method);
    const fn = (client as unknown as Record<string, UnaryMethod>)[method]!;
    return new Promise<T>((resolve, reject) => {
      fn.call(
        client,
        request,
        new Metadata(),
        { deadline: new Date(Date.now() + timeoutMs) },
        (err, response) => {
          if (err) reject(etcdError(err, method));
          else resolve(response as T);
        },
      );
    });
  }

  private checkOpen(method: string): void {
    if (this.closed) throw new TabulaError(ErrorCode.Unavailable, 'coordination is closed', { method });
  }
}
