/**
 * gRPC statuses back into TabulaErrors: the inverse of src/server/status-map.ts, so a remote call
 * fails with the same code the embedded store would have thrown. The message is the server's own
 * (Tabula's messages are already lowercase with ``key=`value` `` details). Statuses Tabula never
 * sends but Cloud Bigtable may (ABORTED, OUT_OF_RANGE, UNAUTHENTICATED, UNKNOWN) map to the code
 * that tells the caller what to do.
 */
import { status } from '@grpc/grpc-js';
import type { ErrorCode } from '../common/errors.js';
import { ErrorCode as Codes, TabulaError } from '../common/errors.js';

const CODE_BY_STATUS: ReadonlyMap<number, ErrorCode> = new Map<number, ErrorCode>([
  [status.CANCELLED, Codes.Cancelled],
  [status.UNKNOWN, Codes.Internal],
  [status.INVALID_ARGUMENT, Codes.InvalidArgument],
  [status.DEADLINE_EXCEEDED, Codes.DeadlineExceeded],
  [status.NOT_FOUND, Codes.NotFound],
  [status.ALREADY_EXISTS, Codes.AlreadyExists],
  [status.PERMISSION_DENIED, Codes.PermissionDenied],
  [status.RESOURCE_EXHAUSTED, Codes.ResourceExhausted],
  [status.FAILED_PRECONDITION, Codes.FailedPrecondition],
  // Cloud Bigtable answers ABORTED for transient conflicts; a retry may succeed.
  [status.ABORTED, Codes.Unavailable],
  [status.OUT_OF_RANGE, Codes.InvalidArgument],
  [status.UNIMPLEMENTED, Codes.Unimplemented],
  [status.INTERNAL, Codes.Internal],
  [status.UNAVAILABLE, Codes.Unavailable],
  [status.DATA_LOSS, Codes.DataLoss],
  [status.UNAUTHENTICATED, Codes.PermissionDenied],
]);

/** The TabulaError of a gRPC status code and message. */
export function errorOfStatus(code: number, message: string, cause?: unknown): TabulaError {
  const mapped = CODE_BY_STATUS.get(code) ?? Codes.Internal;
  const text = message.length > 0 ? message : `remote call failed with status ${status[code] ?? code}`;
  return new TabulaError(mapped, text, {}, cause === undefined ? undefined : { cause });
}

/**
 * How grpc-js words the INTERNAL status of a call that died with its HTTP/2 connection rather than
 * by the server's answer. Node destroys a session when the peer sends GOAWAY with an error code
 * ("Session closed with error code 2" — nghttp2's answer to too many resets is GOAWAY
 * INTERNAL_ERROR) and every stream on it ends with "Received RST_STREAM with code 2 triggered by
 * internal client error: …". The request may or may not have reached the server; a new
 * connection may succeed, which is what UNAVAILABLE says.
 */
const TRANSPORT_FAILURE_DETAILS: readonly RegExp[] = [
  /Session closed with error code \d+/,
  /New streams cannot be created after receiving a GOAWAY/,
  /The session has been destroyed/,
  /triggered by internal client error: .*\b(ECONNRESET|EPIPE|ETIMEDOUT)\b/,
];

/** Whether an INTERNAL status with `details` is a lost connection, not a server's answer. */
export function isTransportFailure(code: number, details: string): boolean {
  return code === status.INTERNAL && TRANSPORT_FAILURE_DETAILS.some((re) => re.test(details));
}

/**
 * A failure of a grpc-js call (a ServiceError, or anything else) as a TabulaError. A lost
 * connection is UNAVAILABLE whatever the call: the retry policy alone decides whether to retry,
 * and it never retries a call that is not idempotent.
 */
export function errorOfCall(err: unknown): TabulaError {
  if (err instanceof TabulaError) return err;
  const e = err as { code?: unknown; details?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'number') {
    const details = typeof e.details === 'string' ? e.details : String(e.message ?? '');
    if (isTransportFailure(e.code, details)) {
      return new TabulaError(Codes.Unavailable, 'connection lost', { details }, { cause: err });
    }
    return errorOfStatus(e.code, details, err);
  }
  return new TabulaError(Codes.Internal, 'remote call failed', {}, { cause: err });
}
