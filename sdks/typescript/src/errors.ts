/**
 * Typed errors of the tracking client (docs/typescript-sdk.md, "Errors"). `code` is the
 * server's `extensions.code` (GraphQL) or `error.code` (HTTP artifact routes), or the code the
 * SDK raises itself for the same reason (client-side validation, a `run(id)` that answers null).
 */

/** A failure of a Cairn call: `code` is the server's typed error code. */
export class CairnError extends Error {
  override readonly name: string = 'CairnError';
  constructor(
    message: string,
    readonly code: string,
    readonly details: Record<string, unknown> = {},
    readonly httpStatus?: number,
  ) {
    super(`${code}: ${message}`);
  }
}

export class InvalidArgumentError extends CairnError {
  override readonly name: string = 'InvalidArgumentError';
}
export class NotFoundError extends CairnError {
  override readonly name: string = 'NotFoundError';
}
export class AlreadyExistsError extends CairnError {
  override readonly name: string = 'AlreadyExistsError';
}
export class FailedPreconditionError extends CairnError {
  override readonly name: string = 'FailedPreconditionError';
}
export class ConflictError extends CairnError {
  override readonly name: string = 'ConflictError';
}
export class UnauthenticatedError extends CairnError {
  override readonly name: string = 'UnauthenticatedError';
}
export class PermissionDeniedError extends CairnError {
  override readonly name: string = 'PermissionDeniedError';
}
export class ResourceExhaustedError extends CairnError {
  override readonly name: string = 'ResourceExhaustedError';
}
/** The server could not be reached (or kept answering 5xx/429) for the whole retry window. */
export class UnavailableError extends CairnError {
  override readonly name: string = 'UnavailableError';
}
/** The bytes that arrived differ from the bytes sent (artifact checksums, short downloads). */
export class DataLossError extends CairnError {
  override readonly name: string = 'DataLossError';
}

type CairnErrorClass = new (
  message: string,
  code: string,
  details?: Record<string, unknown>,
  httpStatus?: number,
) => CairnError;

const BY_CODE: Record<string, CairnErrorClass> = {
  INVALID_ARGUMENT: InvalidArgumentError,
  NOT_FOUND: NotFoundError,
  ALREADY_EXISTS: AlreadyExistsError,
  FAILED_PRECONDITION: FailedPreconditionError,
  CONFLICT: ConflictError,
  UNAUTHENTICATED: UnauthenticatedError,
  PERMISSION_DENIED: PermissionDeniedError,
  RESOURCE_EXHAUSTED: ResourceExhaustedError,
  UNAVAILABLE: UnavailableError,
  DATA_LOSS: DataLossError,
};

/** The subclass for `code` (a plain CairnError for codes without one). */
export function errorFor(
  message: string,
  code: string,
  details: Record<string, unknown> = {},
  httpStatus?: number,
): CairnError {
  const Class = BY_CODE[code] ?? CairnError;
  return new Class(message, code, details, httpStatus);
}

export function invalidArgument(message: string, details: Record<string, unknown> = {}) {
  return new InvalidArgumentError(message, 'INVALID_ARGUMENT', details);
}

/**
 * Metric points queued by `logMetric` that the server did not record, reported by the next
 * `flush()`: `errors` are the first (at most 100) server errors, `dropped` how many points were
 * not recorded in all. `code` is the first error's code.
 */
export class BatchLoggingError extends CairnError {
  override readonly name: string = 'BatchLoggingError';
  constructor(
    readonly errors: CairnError[],
    readonly dropped: number,
  ) {
    const first = errors[0];
    super(
      `${dropped} queued metric point(s) were not recorded${first ? `: ${first.message}` : ''}`,
      first?.code ?? 'RESOURCE_EXHAUSTED',
      { dropped, ...(first?.details ?? {}) },
      first?.httpStatus,
    );
  }
}
