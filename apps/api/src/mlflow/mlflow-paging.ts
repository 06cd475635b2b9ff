import { MlflowError } from './mlflow.errors.ts';
import { optionalInt, optionalString, type Message } from './mlflow-input.ts';

/** MLflow's search limits (mlflow/utils/search_utils.py): default and largest page. */
export const SEARCH_MAX_RESULTS_DEFAULT = 1000;
export const SEARCH_MAX_RESULTS_THRESHOLD = 50_000;

export function maxResults(msg: Message, fallback = SEARCH_MAX_RESULTS_DEFAULT): number {
  const n = optionalInt(msg, 'max_results') ?? fallback;
  if (n < 1 || n > SEARCH_MAX_RESULTS_THRESHOLD)
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Invalid value ${n} for parameter 'max_results' supplied. It must be at most ${SEARCH_MAX_RESULTS_THRESHOLD}, and at least 1`,
    );
  return n;
}

/** `view_type`: ACTIVE_ONLY (1, the default), DELETED_ONLY (2) or ALL (3), by name or number. */
export function viewType(msg: Message): 'active' | 'deleted' | null {
  const v = msg.view_type ?? msg.run_view_type;
  if (v === undefined || v === null || v === '' || v === 'ACTIVE_ONLY' || v === 1 || v === '1')
    return 'active';
  if (v === 'DELETED_ONLY' || v === 2 || v === '2') return 'deleted';
  if (v === 'ALL' || v === 3 || v === '3') return null;
  throw new MlflowError(
    'INVALID_PARAMETER_VALUE',
    `Invalid value ${JSON.stringify(v)} for parameter 'view_type': use ACTIVE_ONLY, DELETED_ONLY or ALL`,
  );
}

/** An opaque page token carrying `payload` (base64url JSON); `kind` keeps tokens from crossing endpoints. */
export function encodePageToken(kind: string, payload: unknown): string {
  return Buffer.from(JSON.stringify({ k: kind, p: payload }), 'utf8').toString('base64url');
}

export function decodePageToken(msg: Message, kind: string): unknown {
  const token = optionalString(msg, 'page_token');
  if (token === null || token === '') return null;
  try {
    if (token.length > 10_000) throw new Error('too long');
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      k?: unknown;
      p?: unknown;
    };
    if (parsed.k !== kind) throw new Error('wrong kind');
    return parsed.p;
  } catch {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      'Invalid page token: pass the next_page_token of a previous response of this same search',
    );
  }
}
