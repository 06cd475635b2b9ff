/**
 * Settings of the exporter and of the tracing API: explicit options first, then the
 * environment (the Python SDK's names), then the defaults.
 */

export const DEFAULT_TRACKING_URI = 'http://127.0.0.1:4680';

/** Where the default logger writes: warnings and errors only, prefixed `cairn:`. */
export interface CairnLogger {
  warn(message: string): void;
  error(message: string): void;
}

export const consoleLogger: CairnLogger = {
  warn: (message) => console.warn(`cairn: ${message}`),
  error: (message) => console.error(`cairn: ${message}`),
};

export interface ExporterOptions {
  /** Cairn server (env `CAIRN_TRACKING_URI`, default http://127.0.0.1:4680). */
  trackingUri?: string;
  /** Full OTLP/HTTP traces URL (env `CAIRN_TRACE_EXPORT_ENDPOINT`); default
   * `<trackingUri>/v1/traces`. */
  endpoint?: string;
  /** Sent as `x-cairn-workspace` (env `CAIRN_WORKSPACE`; the server's default otherwise). */
  workspace?: string;
  /** Sent as `Authorization: Bearer …` (env `CAIRN_API_KEY`). */
  apiKey?: string;
  /** More request headers (they win over the ones above). */
  headers?: Record<string, string>;
  /** How long one batch is retried on 429, 5xx and network errors (env
   * `CAIRN_TRACE_EXPORT_RETRY_TIMEOUT`, seconds; default 60 s). */
  retryTimeoutMs?: number;
  /** Timeout of one HTTP request (env `CAIRN_HTTP_REQUEST_TIMEOUT`, seconds; default 30 s). */
  requestTimeoutMs?: number;
  /** First retry delay (default 250 ms), doubled per attempt up to `backoffMaxMs` (10 s), with
   * ±25 % jitter. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Gzip request bodies above 1 KiB (env `CAIRN_TRACE_EXPORT_GZIP`, default true). */
  gzip?: boolean;
  logger?: CairnLogger;
}

export interface ProcessorOptions {
  /** Spans per request; a queue of this many also wakes the sender (env
   * `CAIRN_TRACE_EXPORT_BATCH_SIZE`, default 256). */
  batchSize?: number;
  /** The sender wakes at least this often (env `CAIRN_TRACE_EXPORT_INTERVAL`, seconds; default
   * 1 s). */
  intervalMs?: number;
  /** Spans waiting beyond this are dropped and counted (env `CAIRN_TRACE_EXPORT_MAX_QUEUE`,
   * default 10,000). */
  maxQueue?: number;
  /** How long the `beforeExit` flush may take (env `CAIRN_TRACE_EXPORT_EXIT_TIMEOUT`, seconds;
   * default 10 s). */
  exitTimeoutMs?: number;
  logger?: CairnLogger;
}

/** An environment variable (trimmed; empty counts as unset). Outside Node (browsers), none is
 * set: `process` is looked up only when it exists. */
export function env(name: string): string | undefined {
  const value = typeof process === 'undefined' ? undefined : process.env?.[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function envBool(name: string, fallback: boolean): boolean {
  const value = env(name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  return fallback;
}

/** A number of seconds from the environment, in ms. */
export function envSeconds(name: string, fallbackMs: number): number {
  const value = Number(env(name));
  return env(name) !== undefined && Number.isFinite(value) && value >= 0
    ? value * 1000
    : fallbackMs;
}

export function envInt(name: string, fallback: number): number {
  const value = Number(env(name));
  return env(name) !== undefined && Number.isInteger(value) && value > 0 ? value : fallback;
}

export interface ResolvedExporterOptions {
  endpoint: string;
  headers: Record<string, string>;
  retryTimeoutMs: number;
  requestTimeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  gzip: boolean;
  logger: CairnLogger;
}

export function trimSlash(uri: string): string {
  return uri.replace(/\/+$/, '');
}

export function resolveTrackingUri(trackingUri?: string): string {
  return trimSlash(trackingUri ?? env('CAIRN_TRACKING_URI') ?? DEFAULT_TRACKING_URI);
}

export function resolveExporterOptions(opts: ExporterOptions = {}): ResolvedExporterOptions {
  const endpoint = trimSlash(
    opts.endpoint ??
      (opts.trackingUri === undefined ? env('CAIRN_TRACE_EXPORT_ENDPOINT') : undefined) ??
      `${resolveTrackingUri(opts.trackingUri)}/v1/traces`,
  );
  const headers: Record<string, string> = {};
  const workspace = opts.workspace ?? env('CAIRN_WORKSPACE');
  if (workspace) headers['x-cairn-workspace'] = workspace;
  const apiKey = opts.apiKey ?? env('CAIRN_API_KEY');
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  for (const [key, value] of Object.entries(opts.headers ?? {})) headers[key.toLowerCase()] = value;
  return {
    endpoint,
    headers,
    retryTimeoutMs: opts.retryTimeoutMs ?? envSeconds('CAIRN_TRACE_EXPORT_RETRY_TIMEOUT', 60_000),
    requestTimeoutMs: opts.requestTimeoutMs ?? envSeconds('CAIRN_HTTP_REQUEST_TIMEOUT', 30_000),
    backoffInitialMs: opts.backoffInitialMs ?? 250,
    backoffMaxMs: opts.backoffMaxMs ?? 10_000,
    gzip: opts.gzip ?? envBool('CAIRN_TRACE_EXPORT_GZIP', true),
    logger: opts.logger ?? consoleLogger,
  };
}

export interface ResolvedProcessorOptions {
  batchSize: number;
  intervalMs: number;
  maxQueue: number;
  exitTimeoutMs: number;
  logger: CairnLogger;
}

export function resolveProcessorOptions(opts: ProcessorOptions = {}): ResolvedProcessorOptions {
  return {
    batchSize: Math.max(1, opts.batchSize ?? envInt('CAIRN_TRACE_EXPORT_BATCH_SIZE', 256)),
    intervalMs: Math.max(10, opts.intervalMs ?? envSeconds('CAIRN_TRACE_EXPORT_INTERVAL', 1000)),
    maxQueue: Math.max(1, opts.maxQueue ?? envInt('CAIRN_TRACE_EXPORT_MAX_QUEUE', 10_000)),
    exitTimeoutMs: opts.exitTimeoutMs ?? envSeconds('CAIRN_TRACE_EXPORT_EXIT_TIMEOUT', 10_000),
    logger: opts.logger ?? consoleLogger,
  };
}

export function traceEnvironment(): string | undefined {
  return env('CAIRN_TRACE_ENVIRONMENT');
}

export function serviceName(): string {
  const explicit = env('OTEL_SERVICE_NAME');
  if (explicit) return explicit;
  const script = process.argv[1];
  if (script) {
    const base = script.split(/[\\/]/).pop();
    if (base) return base;
  }
  return 'node';
}

/** `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k2=v2`). */
export function envResourceAttributes(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of (env('OTEL_RESOURCE_ATTRIBUTES') ?? '').split(',')) {
    const at = item.indexOf('=');
    if (at <= 0) continue;
    const key = item.slice(0, at).trim();
    if (!key) continue;
    let value = item.slice(at + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // keep the raw text
    }
    out[key] = value;
  }
  return out;
}
