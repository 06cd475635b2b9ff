import { isStorageQuotaError } from '../auth/quotas.ts';
import { CairnError, toCairnError, type ErrorCode } from '../errors.ts';

/**
 * MLflow's error codes (databricks.proto `ErrorCode`) with the HTTP status MLflow's server sends
 * for each (mlflow/exceptions.py).
 */
export const MLFLOW_STATUS = {
  INTERNAL_ERROR: 500,
  TEMPORARILY_UNAVAILABLE: 503,
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  MALFORMED_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  INVALID_STATE: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  ABORTED: 409,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  REQUEST_LIMIT_EXCEEDED: 429,
  // A storage quota (auth/quotas.ts): 507, which clients do not retry, unlike 429.
  RESOURCE_EXHAUSTED: 507,
  NOT_IMPLEMENTED: 501,
} as const;

export type MlflowErrorCode = keyof typeof MLFLOW_STATUS;

/** An error answered as `{"error_code": code, "message": message}` with `status`. */
export class MlflowError extends Error {
  override readonly name = 'MlflowError';
  readonly status: number;
  constructor(
    readonly errorCode: MlflowErrorCode,
    message: string,
    status?: number,
  ) {
    super(message);
    this.status = status ?? MLFLOW_STATUS[errorCode];
  }
}

export const invalidParameter = (message: string) =>
  new MlflowError('INVALID_PARAMETER_VALUE', message);
export const doesNotExist = (message: string) =>
  new MlflowError('RESOURCE_DOES_NOT_EXIST', message);
export const notImplemented = (message: string) => new MlflowError('NOT_IMPLEMENTED', message);

const FROM_CAIRN: Record<ErrorCode, MlflowErrorCode> = {
  NOT_FOUND: 'RESOURCE_DOES_NOT_EXIST',
  ALREADY_EXISTS: 'RESOURCE_ALREADY_EXISTS',
  INVALID_ARGUMENT: 'INVALID_PARAMETER_VALUE',
  CONFLICT: 'ABORTED',
  FAILED_PRECONDITION: 'INVALID_STATE',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  RESOURCE_EXHAUSTED: 'REQUEST_LIMIT_EXCEEDED',
  UNAVAILABLE: 'TEMPORARILY_UNAVAILABLE',
};

/** Cairn's typed errors as MLflow errors; null for anything unexpected (answered as 500, logged). */
export function toMlflowError(error: unknown): MlflowError | null {
  if (error instanceof MlflowError) return error;
  const mapped = toCairnError(error);
  if (isStorageQuotaError(mapped)) return new MlflowError('RESOURCE_EXHAUSTED', mapped.message);
  if (mapped instanceof CairnError) return new MlflowError(FROM_CAIRN[mapped.code], mapped.message);
  return null;
}
