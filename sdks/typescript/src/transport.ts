/**
 * GraphQL over HTTP (`<trackingUri>/graphql`) with retries, shared by the tracking client, its
 * batcher and its artifact transfers (docs/typescript-sdk.md, "Errors and retries").
 *
 * Retried with jittered exponential backoff until `retryTimeoutMs` has passed since the first
 * attempt: network errors, HTTP 408/425/429/5xx, and the codes UNAVAILABLE, CONFLICT and
 * RESOURCE_EXHAUSTED; a `Retry-After` header (or `extensions.retryAfterSeconds`) sets the next
 * delay. A masked INTERNAL error is retried three times at most. Everything else is raised at
 * once as the CairnError subclass of its code.
 */
import type { CairnLogger } from './config.ts';
import { UnavailableError, errorFor, type CairnError } from './errors.ts';
import { VERSION } from './version.ts';

export const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'UNAVAILABLE',
  'CONFLICT',
  'RESOURCE_EXHAUSTED',
]);
export const RETRYABLE_HTTP: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);
const MAX_INTERNAL_ATTEMPTS = 3;

export interface TransportSettings {
  trackingUri: string;
  headers: Record<string, string>;
  requestTimeoutMs: number;
  retryTimeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  logger: CairnLogger;
  /** Sent as `user-agent` (default `cairn-typescript/<version>`); null sends none (browsers
   * set their own). */
  userAgent?: string | null;
}

export interface ExecuteOptions {
  /** Overrides the settings' retry window (background batches use a longer one). */
  retryTimeoutMs?: number;
  /** Background work: retry sleeps do not keep the process alive. */
  background?: boolean;
  /** Checked before each retry: true gives up (raises the last failure). */
  shouldStop?: () => boolean;
  /** fetch's `keepalive`: the request outlives the page that made it (browsers; at most 64 KiB
   * of such bodies in flight per page). */
  keepalive?: boolean;
}

/** Waits `ms`; an unref'd timer for background work. */
export function sleep(ms: number, unref = false): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (unref && typeof timer === 'object' && timer !== null && 'unref' in timer) timer.unref();
  });
}

/** `Retry-After`: delay-seconds or an HTTP date, in ms; null when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** The next backoff delay: `delay` with ±25 % jitter, at least what the server asked for. */
export function backoffDelay(delay: number, askedMs: number | null, maxMs: number): number {
  const jittered = delay * (0.75 + Math.random() * 0.5);
  return askedMs !== null
    ? Math.min(Math.max(askedMs, jittered), Math.max(maxMs, askedMs))
    : jittered;
}

export class Retryable extends Error {
  constructor(
    readonly reason: string,
    readonly error: CairnError | null,
    readonly retryAfter: number | null,
  ) {
    super(reason);
  }
}

interface GraphQLErrorPayload {
  message?: unknown;
  extensions?: Record<string, unknown>;
}

/** The CairnError of a GraphQL `errors` list (the first error; the others in `details`). */
export function graphqlError(errors: unknown, status?: number): CairnError {
  const list = Array.isArray(errors) ? (errors as GraphQLErrorPayload[]) : [];
  const first = list[0] ?? {};
  const { code, ...details } = first.extensions ?? {};
  if (list.length > 1) details.otherErrors = list.slice(1).map((e) => e.message);
  const message =
    typeof first.message === 'string' && first.message ? first.message : 'unknown error';
  return errorFor(message, typeof code === 'string' ? code : 'INTERNAL', details, status);
}

function parsePayload(text: string): { data?: unknown; errors?: unknown } | null {
  try {
    const value = JSON.parse(text) as { data?: unknown; errors?: unknown } | null;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

export class GraphQLTransport {
  readonly endpoint: string;

  constructor(readonly settings: TransportSettings) {
    this.endpoint = `${settings.trackingUri}/graphql`;
  }

  /** Request headers for the artifact routes too (auth, workspace, user agent). */
  baseHeaders(): Record<string, string> {
    const userAgent =
      this.settings.userAgent === undefined
        ? `cairn-typescript/${VERSION}`
        : this.settings.userAgent;
    return { ...(userAgent === null ? {} : { 'user-agent': userAgent }), ...this.settings.headers };
  }

  /** Runs one operation and returns its `data`; raises a CairnError. */
  async execute<T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown> = {},
    opts: ExecuteOptions = {},
  ): Promise<T> {
    const body = JSON.stringify({ query, variables });
    return this.executeBody<T>(body, opts);
  }

  /** `execute` with a request body serialised by the caller (`{"query": …, "variables": …}`). */
  executeBody<T = Record<string, unknown>>(
    body: string | Uint8Array<ArrayBuffer>,
    opts: ExecuteOptions = {},
  ): Promise<T> {
    return this.withRetries(() => this.attempt<T>(body, opts.keepalive === true), opts);
  }

  /** Runs `attempt` until it succeeds, raises a non-retryable error or the window closes. */
  async withRetries<T>(attempt: () => Promise<T>, opts: ExecuteOptions = {}): Promise<T> {
    const { backoffInitialMs, backoffMaxMs, logger } = this.settings;
    const window = opts.retryTimeoutMs ?? this.settings.retryTimeoutMs;
    const started = Date.now();
    let delay = backoffInitialMs;
    let attempts = 0;
    let internal = 0;
    for (;;) {
      attempts += 1;
      try {
        return await attempt();
      } catch (failure) {
        if (!(failure instanceof Retryable)) throw failure;
        if (failure.error?.code === 'INTERNAL') {
          internal += 1;
          if (internal >= MAX_INTERNAL_ATTEMPTS) throw failure.error;
        }
        const elapsed = Date.now() - started;
        if (elapsed >= window || opts.shouldStop?.() === true) {
          if (failure.error && failure.error.code !== 'UNAVAILABLE') throw failure.error;
          throw new UnavailableError(
            `Cairn at ${this.settings.trackingUri} did not answer after ${attempts} attempt(s) over ${Math.round(elapsed / 1000)} s: ${failure.reason}`,
            'UNAVAILABLE',
            { attempts, trackingUri: this.settings.trackingUri },
          );
        }
        if (attempts === 1 || attempts % 10 === 0)
          logger.warn(`${failure.reason}; retrying (attempt ${attempts})`);
        const wait = Math.min(
          backoffDelay(Math.min(delay, backoffMaxMs), failure.retryAfter, backoffMaxMs),
          Math.max(0, window - elapsed),
        );
        await sleep(wait, opts.background === true);
        delay = Math.min(delay * 2, backoffMaxMs);
      }
    }
  }

  /** One HTTP request whose transport failures and retryable answers throw Retryable. */
  async send(url: string, init: RequestInit & { duplex?: 'half' }): Promise<Response> {
    try {
      return await fetch(url, {
        ...init,
        signal: AbortSignal.timeout(this.settings.requestTimeoutMs),
      });
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new Retryable(`${reason} talking to ${url}`, null, null);
    }
  }

  /** Raises Retryable for a 408/425/429/5xx answer (after reading its typed error, if any). */
  static retryableStatus(response: Response, error: CairnError | null): void {
    if (RETRYABLE_HTTP.has(response.status) || (error && RETRYABLE_CODES.has(error.code)))
      throw new Retryable(
        error ? `${error.code}: ${error.message}` : `HTTP ${response.status} from ${response.url}`,
        error,
        retryAfterMs(response.headers.get('retry-after')) ??
          (typeof error?.details.retryAfterSeconds === 'number'
            ? error.details.retryAfterSeconds * 1000
            : null),
      );
  }

  private async attempt<T>(body: string | Uint8Array<ArrayBuffer>, keepalive: boolean): Promise<T> {
    const response = await this.send(this.endpoint, {
      method: 'POST',
      ...(keepalive ? { keepalive: true } : {}),
      headers: {
        ...this.baseHeaders(),
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body,
    });
    const status = response.status;
    let text = '';
    try {
      text = await response.text();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Retryable(`reading the answer of ${this.endpoint}: ${reason}`, null, null);
    }
    const payload = parsePayload(text);
    if (payload && Array.isArray(payload.errors) && payload.errors.length > 0) {
      const error = graphqlError(payload.errors, status);
      if (error.code === 'INTERNAL') throw new Retryable(`INTERNAL: ${error.message}`, error, null);
      GraphQLTransport.retryableStatus(response, error);
      throw error;
    }
    GraphQLTransport.retryableStatus(response, null);
    if (status >= 400 || !payload || !('data' in payload)) {
      const code =
        { 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND' }[status] ??
        'BAD_RESPONSE';
      throw errorFor(
        `Unexpected answer from ${this.endpoint} (HTTP ${status}): ${text.slice(0, 300)}`,
        code,
        {},
        status,
      );
    }
    return (payload.data ?? {}) as T;
  }
}
