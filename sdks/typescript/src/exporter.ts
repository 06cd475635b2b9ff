/**
 * `CairnSpanExporter`: OpenTelemetry's `SpanExporter` for Cairn. Sends finished spans as
 * OTLP/HTTP JSON to `<trackingUri>/v1/traces` (gzip above 1 KiB), splits requests above 4 MiB,
 * retries 408/425/429/5xx and network errors with jittered exponential backoff (honouring
 * `retry-after`) for `retryTimeoutMs`, drops a batch the server refuses with another 4xx
 * (logged), and counts what happened (`stats()`).
 *
 * Use it under any OpenTelemetry tracer provider:
 *   new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new CairnSpanExporter())] })
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import {
  resolveExporterOptions,
  type ExporterOptions,
  type ResolvedExporterOptions,
} from './config.ts';
import { encodeRequest, encodeSpan } from './otlp.ts';
import { VERSION } from './version.ts';

const gzip = promisify(gzipCallback);

/** Answers worth retrying (the server answers 503 with `retry-after` when its log is busy). */
export const RETRYABLE_HTTP = new Set([408, 425, 429, 500, 502, 503, 504]);
/** A request body above this many bytes (before gzip) is split; the server takes 16 MiB. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
const GZIP_ABOVE_BYTES = 1024;

export interface ExporterStats {
  /** Spans the server accepted. */
  sentSpans: number;
  /** Spans the server refused (a 4xx answer, or `partialSuccess.rejectedSpans`). */
  rejectedSpans: number;
  /** Spans given up on: retries exhausted, exporter shut down, or not encodable. */
  failedSpans: number;
  /** HTTP requests made (retries included). */
  requests: number;
  /** Retried attempts. */
  retries: number;
}

export class CairnSpanExporter implements SpanExporter {
  readonly endpoint: string;
  private readonly options: ResolvedExporterOptions;
  private readonly counters: ExporterStats = {
    sentSpans: 0,
    rejectedSpans: 0,
    failedSpans: 0,
    requests: 0,
    retries: 0,
  };
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  /** Wakes sleeping retries on shutdown. */
  private readonly abort = new AbortController();

  constructor(options: ExporterOptions = {}) {
    this.options = resolveExporterOptions(options);
    this.endpoint = this.options.endpoint;
  }

  stats(): ExporterStats {
    return { ...this.counters };
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) {
      this.counters.failedSpans += spans.length;
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('exporter is shut down') });
      return;
    }
    const work = this.send(spans).then(
      (ok) =>
        resultCallback(
          ok
            ? { code: ExportResultCode.SUCCESS }
            : {
                code: ExportResultCode.FAILED,
                error: new Error(`cairn: span(s) not exported to ${this.endpoint} (see the log)`),
              },
        ),
      (error: unknown) => {
        this.options.logger.error(`could not export ${spans.length} span(s): ${describe(error)}`);
        resultCallback({ code: ExportResultCode.FAILED, error: toError(error) });
      },
    );
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** Waits for the exports in flight. */
  async forceFlush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops retrying, waits for the requests in flight; later exports fail. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.forceFlush();
  }

  /** Encodes and sends `spans`; true when every request got a 2xx answer. */
  private async send(spans: ReadableSpan[]): Promise<boolean> {
    const encodable: ReadableSpan[] = [];
    for (const span of spans) {
      try {
        encodeSpan(span);
        encodable.push(span);
      } catch (error) {
        this.counters.failedSpans++;
        this.options.logger.warn(
          `span ${JSON.stringify(span.name)} could not be encoded: ${describe(error)}`,
        );
      }
    }
    let ok = encodable.length === spans.length;
    for (const [count, body] of bodies(encodable)) ok = (await this.post(body, count)) && ok;
    return ok;
  }

  private async post(json: Buffer, count: number): Promise<boolean> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': `cairn-typescript/${VERSION}`,
      ...this.options.headers,
    };
    let body: Buffer = json;
    if (this.options.gzip && json.length > GZIP_ABOVE_BYTES) {
      body = await gzip(json, { level: 1 });
      headers['content-encoding'] = 'gzip';
    }
    const started = Date.now();
    let delay = this.options.backoffInitialMs;
    for (let attempt = 1; ; attempt++) {
      let reason: string;
      let retryAfterMs: number | undefined;
      this.counters.requests++;
      try {
        const response = await fetch(this.endpoint, {
          method: 'POST',
          headers,
          body: new Uint8Array(body),
          signal: AbortSignal.timeout(this.options.requestTimeoutMs),
        });
        const text = await response.text();
        if (response.ok) {
          this.accepted(text, count);
          return true;
        }
        if (!RETRYABLE_HTTP.has(response.status)) {
          this.counters.rejectedSpans += count;
          this.options.logger.error(
            `${this.endpoint} refused ${count} span(s) (HTTP ${response.status}): ${text.slice(0, 300)}`,
          );
          return false;
        }
        reason = `HTTP ${response.status} from ${this.endpoint}`;
        retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      } catch (error) {
        reason = `${describe(error)} talking to ${this.endpoint}`;
      }
      const elapsed = Date.now() - started;
      if (elapsed >= this.options.retryTimeoutMs || this.stopped) {
        this.counters.failedSpans += count;
        this.options.logger.error(
          `${count} span(s) were not exported after ${attempt} attempt(s) over ${Math.round(elapsed / 1000)} s: ${reason}`,
        );
        return false;
      }
      if (attempt === 1 || attempt % 10 === 0)
        this.options.logger.warn(`trace export: ${reason}; retrying (attempt ${attempt})`);
      this.counters.retries++;
      const wait = Math.min(
        retryAfterMs ?? delay,
        this.options.backoffMaxMs,
        this.options.retryTimeoutMs - elapsed,
      );
      await sleep(Math.max(0, wait) * (0.75 + Math.random() * 0.5), this.abort.signal);
      delay = Math.min(delay * 2, this.options.backoffMaxMs);
    }
  }

  private accepted(text: string, count: number): void {
    let rejected = 0;
    try {
      const payload = text ? (JSON.parse(text) as unknown) : null;
      const partial =
        payload && typeof payload === 'object'
          ? ((payload as Record<string, unknown>).partialSuccess ??
            (payload as Record<string, unknown>).partial_success)
          : undefined;
      if (partial && typeof partial === 'object') {
        const p = partial as Record<string, unknown>;
        const n = Number(p.rejectedSpans ?? p.rejected_spans ?? 0);
        rejected = Number.isFinite(n) ? Math.min(count, Math.max(0, Math.trunc(n))) : 0;
        const message = p.errorMessage ?? p.error_message;
        if (rejected || message)
          this.options.logger.warn(
            `${this.endpoint} rejected ${rejected} span(s): ${typeof message === 'string' ? message : ''}`,
          );
      }
    } catch {
      // not JSON: every span counts as accepted
    }
    this.counters.rejectedSpans += rejected;
    this.counters.sentSpans += count - rejected;
  }
}

/** Request bodies of at most MAX_BODY_BYTES (halving the span list until each fits; a single
 * span always goes alone). */
export function bodies(spans: readonly ReadableSpan[]): [number, Buffer][] {
  if (spans.length === 0) return [];
  const body = Buffer.from(JSON.stringify(encodeRequest(spans)), 'utf8');
  if (body.length <= MAX_BODY_BYTES || spans.length === 1) return [[spans.length, body]];
  const half = Math.floor(spans.length / 2);
  return [...bodies(spans.slice(0, half)), ...bodies(spans.slice(half))];
}

/** `retry-after` in ms: seconds, or an HTTP date. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error
      ? `${error.name}: ${error.message} (${cause.message})`
      : `${error.name}: ${error.message}`;
  }
  return String(error);
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
