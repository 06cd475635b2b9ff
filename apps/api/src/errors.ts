import { StreamVersionConflictError, UniqueKeyTakenError } from '@cairn/db';

/** The typed error codes of the public API (GraphQL `extensions.code`). */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_ARGUMENT'
  | 'CONFLICT'
  | 'FAILED_PRECONDITION'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE';

/** An expected error: shown to the client with its code and message, never masked. */
export class CairnError extends Error {
  override readonly name = 'CairnError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string) =>
  new CairnError('NOT_FOUND', `${what} ${id} not found`, { id });
export const invalidArgument = (message: string, details: Record<string, unknown> = {}) =>
  new CairnError('INVALID_ARGUMENT', message, details);

const UNIQUE_SCOPE_NAMES: Record<string, string> = {
  'experiment-name': 'An experiment named',
  'registered-model-name': 'A registered model named',
  'prompt-name': 'A prompt named',
  'annotation-queue-name': 'An annotation queue named',
  'deployment-name': 'A deployment named',
};

/** Maps event-store errors to API errors; anything else passes through untouched. */
export function toCairnError(error: unknown): unknown {
  if (error instanceof CairnError) return error;
  if (error instanceof UniqueKeyTakenError) {
    const what = UNIQUE_SCOPE_NAMES[error.scope] ?? error.scope;
    return new CairnError('ALREADY_EXISTS', `${what} "${error.key}" already exists`, {
      scope: error.scope,
      key: error.key,
    });
  }
  if (error instanceof StreamVersionConflictError) {
    return new CairnError('CONFLICT', 'The resource was changed concurrently; retry the request', {
      streamId: error.streamId,
    });
  }
  return error;
}
