/**
 * The one error type of Tabula, with a closed set of codes. Each code tells the caller what to do
 * (retry or not) and maps to exactly one gRPC status in `src/server/status-map.ts`. Messages are
 * lowercase sentences with ``key=`value` `` details; user data never changes the message's shape.
 */

/** The closed set of error codes. PERSISTED in client contracts: never rename a code. */
export const ErrorCode = {
  /** The request is malformed or violates a documented limit. Do not retry. */
  InvalidArgument: 'INVALID_ARGUMENT',
  /** The named table, family or file does not exist. */
  NotFound: 'NOT_FOUND',
  /** The thing being created already exists. */
  AlreadyExists: 'ALREADY_EXISTS',
  /** The system is not in a state where the request can run (e.g. a wrong-width increment). */
  FailedPrecondition: 'FAILED_PRECONDITION',
  /** A bounded resource (disk, memory, queue) is full. Retry later with backoff. */
  ResourceExhausted: 'RESOURCE_EXHAUSTED',
  /** The service cannot serve right now (closing, fenced, failed-stop). Retry elsewhere or later. */
  Unavailable: 'UNAVAILABLE',
  /** Stored data failed a checksum or is structurally damaged. Never retried. */
  DataLoss: 'DATA_LOSS',
  /** An I/O operation failed for a reason other than space. */
  Io: 'IO',
  /** The operation was cancelled by its caller. */
  Cancelled: 'CANCELLED',
  /** The deadline passed before the operation finished. */
  DeadlineExceeded: 'DEADLINE_EXCEEDED',
  /** The operation is recognized but not supported. */
  Unimplemented: 'UNIMPLEMENTED',
  /** The caller lacks permission. */
  PermissionDenied: 'PERMISSION_DENIED',
  /** A bug inside Tabula; never used for bad input. */
  Internal: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.ResourceExhausted,
  ErrorCode.Unavailable,
  ErrorCode.DeadlineExceeded,
]);

/** Details attached to an error: shown as ``key=`value` `` after the message. */
export type ErrorDetails = Readonly<Record<string, string | number | bigint | boolean>>;

/** The single error class of Tabula. */
export class TabulaError extends Error {
  /** Always 'TabulaError'. */
  override readonly name = 'TabulaError';
  /** What went wrong, from the closed set of codes. */
  readonly code: ErrorCode;
  /** The ``key=`value` `` details of the message, as structured data. */
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(formatMessage(message, details), options);
    this.code = code;
    this.details = details;
  }

  /** Whether a caller may retry the same request unchanged. */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

function formatMessage(message: string, details: ErrorDetails): string {
  const parts = Object.entries(details).map(([k, v]) => `${k}=\`${String(v)}\``);
  return parts.length === 0 ? message : `${message}: ${parts.join(' ')}`;
}

/** Whether `err` is a TabulaError with the given code. */
export function hasCode(err: unknown, code: ErrorCode): err is TabulaError {
  return err instanceof TabulaError && err.code === code;
}

/** Shorthand constructors, so call sites read as sentences. */
export const errors = {
  invalidArgument: (m: string, d?: ErrorDetails) => new TabulaError(ErrorCode.InvalidArgument, m, d),
  notFound: (m: string, d?: ErrorDetails) => new TabulaError(ErrorCode.NotFound, m, d),
  alreadyExists: (m: string, d?: ErrorDetails) => new TabulaError(ErrorCode.AlreadyExists, m, d),
  failedPrecondition: (m: string, d?: ErrorDetails) => new TabulaError(ErrorCode.FailedPrecondition, m, d),
  resourceExhausted: (m: string, d?: ErrorDetails) => new TabulaError(ErrorCode.ResourceExhausted, m, d),
  unavailable: (m: string, d?: ErrorDetails) => new TabulaError(ErrorCode.Unavailable, m, d),
  dataLoss: (m: string, d?: ErrorDetails) => new TabulaError(ErrorCode.DataLoss, m, d),
  unimplemented: (m: string, d?: ErrorDetails) => new TabulaError(ErrorCode.Unimplemented, m, d),
  internal: (m: string, d?: ErrorDetails) => new TabulaError(ErrorCode.Internal, m, d),
};

/**
 * Converts a Node.js system error from the file system into a TabulaError: ENOSPC and EDQUOT become
 * RESOURCE_EXHAUSTED (writes may resume once space returns), everything else IO.
 */
export function fromFsError(err: unknown, op: string, path: string): TabulaError {
  if (err instanceof TabulaError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EUNKNOWN';
  const kind = code === 'ENOSPC' || code === 'EDQUOT' ? ErrorCode.ResourceExhausted : ErrorCode.Io;
  return new TabulaError(
    kind,
    'file system operation failed',
    { op, path, errno: code },
    {
      cause: err,
    },
  );
}
