/**
 * The one place where Tabula's error codes become gRPC status codes. Every handler's failure goes
 * through `toServiceError`, so a client sees exactly one status per error code, and never UNKNOWN.
 *
 * Anything that is not a TabulaError is a bug inside Tabula: it becomes INTERNAL with a generic
 * message (no internals leak to clients) and is reported through the `onInternalError` hook so an
 * operator sees it. Bad input must be rejected by validation with a TabulaError long before that.
 */
import type { ServiceError } from '@grpc/grpc-js';
import { Metadata, status } from '@grpc/grpc-js';
import { ErrorCode, TabulaError } from '../common/errors.js';

/**
 * TabulaError code → gRPC status. A `Record` over the closed set of codes: adding a code without
 * mapping it here does not compile.
 */
export const STATUS_BY_ERROR_CODE: Readonly<Record<ErrorCode, status>> = Object.freeze({
  [ErrorCode.InvalidArgument]: status.INVALID_ARGUMENT,
  [ErrorCode.NotFound]: status.NOT_FOUND,
  [ErrorCode.AlreadyExists]: status.ALREADY_EXISTS,
  [ErrorCode.FailedPrecondition]: status.FAILED_PRECONDITION,
  [ErrorCode.ResourceExhausted]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.Unavailable]: status.UNAVAILABLE,
  [ErrorCode.DataLoss]: status.DATA_LOSS,
  // An I/O failure other than space (EIO): the server cannot serve the request now; the store
  // fails stop on write errors, so a retry reaches a healthy replica or a restarted server.
  [ErrorCode.Io]: status.UNAVAILABLE,
  [ErrorCode.Cancelled]: status.CANCELLED,
  [ErrorCode.DeadlineExceeded]: status.DEADLINE_EXCEEDED,
  [ErrorCode.Unimplemented]: status.UNIMPLEMENTED,
  [ErrorCode.PermissionDenied]: status.PERMISSION_DENIED,
  [ErrorCode.Internal]: status.INTERNAL,
});

/** Message sent to clients for failures that are not TabulaErrors (bugs). */
export const INTERNAL_ERROR_MESSAGE = 'internal error; the server log has details';

/** Called with every failure that is not a TabulaError, and with the RPC it happened in. */
export type InternalErrorHook = (err: unknown, method: string) => void;

/** Default hook: one structured JSON line on stderr. */
export const logInternalError: InternalErrorHook = (err, method) => {
  const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
  console.error(JSON.stringify({ level: 'error', msg: 'internal error in rpc handler', method, error }));
};

/** The gRPC status code and message for a failure. */
export interface GrpcStatus {
  readonly code: status;
  readonly details: string;
}

/** Maps a failure to its gRPC status; reports non-TabulaErrors to `onInternal`. */
export function toGrpcStatus(
  err: unknown,
  method: string,
  onInternal: InternalErrorHook = logInternalError,
): GrpcStatus {
  if (err instanceof TabulaError) {
    if (err.code === ErrorCode.Internal) onInternal(err, method);
    return { code: STATUS_BY_ERROR_CODE[err.code], details: err.message };
  }
  onInternal(err, method);
  return { code: status.INTERNAL, details: INTERNAL_ERROR_MESSAGE };
}

/** Maps a failure to the error object grpc-js handlers pass to callbacks or emit on streams. */
export function toServiceError(
  err: unknown,
  method: string,
  onInternal: InternalErrorHook = logInternalError,
): ServiceError {
  const { code, details } = toGrpcStatus(err, method, onInternal);
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() });
}

/** A `google.rpc.Status` message (as proto-loader encodes it) for a failure, e.g. a MutateRows entry. */
export function toRpcStatus(
  err: unknown,
  method: string,
  onInternal: InternalErrorHook = logInternalError,
): { code: number; message: string } {
  const { code, details } = toGrpcStatus(err, method, onInternal);
  return { code, message: details };
}
