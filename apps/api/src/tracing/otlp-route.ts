import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Logger } from '@cairn/logging';
import { CairnError } from '../errors.ts';
import { buildContext, requestAuthOf } from '../http/graphql-handler.ts';
import { authorizeRequest, OTLP_RULE } from '../auth/http-rules.ts';
import type { ServiceDeps } from '../write/services.ts';
import { ingestSpans } from './ingest.ts';
import { maskRules, type MaskRule } from './masking.ts';
import {
  RPC_CODE,
  encodeExportResponseJson,
  encodeExportResponseProtobuf,
  encodeStatusJson,
  encodeStatusProtobuf,
  type PartialSuccess,
} from './otlp/encode.ts';
import { decodeTraceRequestJson } from './otlp/json-decode.ts';
import { decodeTraceRequestProtobuf } from './otlp/protobuf-decode.ts';
import { OtlpDecodeError, TooManySpansError } from './otlp/types.ts';
import { cleanRequest, SPAN_LIMITS, type SpanLimits } from './span-hygiene.ts';

/** `POST /v1/traces`: OTLP/HTTP trace ingest (docs/tracing.md "Wire: OTLP/HTTP"). */
export const OTLP_TRACES_PATH = '/v1/traces';
export const DEFAULT_MAX_OTLP_BODY_BYTES = 16 * 1024 * 1024;
export const MAX_SPANS_PER_REQUEST = 10_000;

export interface OtlpRouteOptions {
  /** Largest body, counted after decompression (413 above). Default 16 MiB. */
  maxBodyBytes?: number;
  /** The compiled masking rules (defaults included). Default: the default rules. */
  maskRules?: readonly MaskRule[];
  maxSpansPerRequest?: number;
  limits?: SpanLimits;
}

type Encoding = 'protobuf' | 'json';

class OtlpHttpError extends Error {
  constructor(
    readonly status: number,
    readonly rpcCode: number,
    message: string,
    /** Seconds for `Retry-After` (429, 503). */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

const gunzipAsync = promisify(gunzip);

function encodingOf(contentType: string | undefined): Encoding | null {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return null;
}

const CORS_ALLOWED_HEADERS = 'x-cairn-workspace, x-correlation-id, content-type, content-encoding';

/** What is read and discarded of a refused body before the answer (then the connection closes). */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_MAX_MS = 5_000;

/** Reads what is left of `req` without keeping it; `done(true)` once it ended, `done(false)` past a bound. */
function drainBody(req: http.IncomingMessage, done: (complete: boolean) => void): void {
  if (req.complete || req.readableEnded) return done(true);
  let drained = 0;
  let finished = false;
  const finish = (complete: boolean) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
    req.off('close', onError);
    done(complete);
  };
  const onData = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_MAX_BYTES) finish(false);
  };
  const onEnd = () => finish(true);
  const onError = () => finish(false);
  const timer = setTimeout(() => finish(false), DRAIN_MAX_MS);
  timer.unref();
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('error', onError);
  req.once('close', onError);
  req.resume();
}

export function createOtlpRoute(
  deps: ServiceDeps,
  logger: Logger,
  options: OtlpRouteOptions = {},
): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_OTLP_BODY_BYTES;
  const maxSpans = options.maxSpansPerRequest ?? MAX_SPANS_PER_REQUEST;
  const rules = options.maskRules ?? maskRules();
  const limits = options.limits ?? SPAN_LIMITS;
  const tooLarge = () =>
    new OtlpHttpError(
      413,
      RPC_CODE.RESOURCE_EXHAUSTED,
      `Request body larger than ${maxBody} bytes (after decompression); send fewer spans per request`,
    );

  async function readBody(req: http.IncomingMessage): Promise<Buffer> {
    if (Number(req.headers['content-length'] ?? 0) > maxBody) throw tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    // Not destroyed when the limit throws out of the loop: the 413 still has to be written.
    for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBody) throw tooLarge();
      chunks.push(chunk);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  }

  async function decompress(req: http.IncomingMessage, body: Buffer): Promise<Buffer> {
    const contentEncoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (contentEncoding === 'identity' || contentEncoding === '') return body;
    if (contentEncoding !== 'gzip' && contentEncoding !== 'x-gzip') {
      throw new OtlpHttpError(
        415,
        RPC_CODE.INVALID_ARGUMENT,
        `Unsupported content-encoding "${contentEncoding}": use gzip or identity`,
      );
    }
    try {
      return await gunzipAsync(body, { maxOutputLength: maxBody });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
      throw new OtlpHttpError(
        400,
        RPC_CODE.INVALID_ARGUMENT,
        `Invalid gzip body: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  async function handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    encoding: Encoding,
  ): Promise<void> {
    let caller;
    try {
      const context = buildContext(deps, req.headers, requestAuthOf(req));
      authorizeRequest(context, OTLP_RULE, 'POST /v1/traces');
      caller = context.caller;
    } catch (error) {
      if (error instanceof CairnError && error.code === 'UNAUTHENTICATED')
        throw new OtlpHttpError(401, RPC_CODE.UNAUTHENTICATED, error.message);
      if (error instanceof CairnError && error.code === 'PERMISSION_DENIED')
        throw new OtlpHttpError(403, RPC_CODE.PERMISSION_DENIED, error.message);
      if (error instanceof CairnError)
        throw new OtlpHttpError(400, RPC_CODE.INVALID_ARGUMENT, error.message);
      throw error;
    }
    const body = await decompress(req, await readBody(req));
    let decoded;
    try {
      decoded =
        encoding === 'protobuf'
          ? decodeTraceRequestProtobuf(body, { maxSpans })
          : decodeTraceRequestJson(body.toString('utf8'), { maxSpans });
    } catch (error) {
      if (error instanceof OtlpDecodeError || error instanceof TooManySpansError)
        throw new OtlpHttpError(400, RPC_CODE.INVALID_ARGUMENT, error.message);
      throw error;
    }
    const clean = cleanRequest(decoded, { rules, limits });
    try {
      await ingestSpans(deps, caller, clean);
    } catch (error) {
      if (error instanceof CairnError && error.code === 'RESOURCE_EXHAUSTED')
        throw new OtlpHttpError(
          429,
          RPC_CODE.RESOURCE_EXHAUSTED,
          error.message,
          Number(error.details.retryAfterSeconds ?? 1),
        );
      // The log could not take the spans: the exporter should retry (OTLP retries 503).
      const correlationId = randomUUID();
      logger.error(`span ingest failed (correlation id ${correlationId})`, error);
      throw new OtlpHttpError(
        503,
        RPC_CODE.UNAVAILABLE,
        `Spans could not be stored; retry (correlation id ${correlationId})`,
      );
    }
    const partial: PartialSuccess | null =
      clean.rejected > 0
        ? {
            rejectedSpans: clean.rejected,
            errorMessage: `${clean.rejected} span(s) rejected: ${clean.rejectReasons.join('; ')}`,
          }
        : null;
    if (encoding === 'protobuf') {
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end(encodeExportResponseProtobuf(partial));
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(encodeExportResponseJson(partial));
    }
  }

  function sendError(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    encoding: Encoding | null,
    error: OtlpHttpError,
  ): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // An answer written while the client is still sending makes its next write fail (EPIPE) and
    // most clients then lose the answer: read the rest of the body first (discarded, bounded).
    drainBody(req, (complete) => {
      if (res.destroyed) return;
      const headers: http.OutgoingHttpHeaders = {};
      if (error.retryAfterSeconds !== null)
        headers['retry-after'] = String(error.retryAfterSeconds);
      else if (error.status === 503) headers['retry-after'] = '1';
      // The body was not read to its end: the connection cannot carry another request.
      if (!complete) headers.connection = 'close';
      if (encoding === 'protobuf') {
        res.writeHead(error.status, { ...headers, 'content-type': 'application/x-protobuf' });
        res.end(encodeStatusProtobuf(error.rpcCode, error.message));
      } else {
        res.writeHead(error.status, { ...headers, 'content-type': 'application/json' });
        res.end(encodeStatusJson(error.rpcCode, error.message));
      }
    });
  }

  return (req, res) => {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    if ((q === -1 ? target : target.slice(0, q)) !== OTLP_TRACES_PATH) return false;
    // As the artifact routes: no cookies or credentials are involved, any origin may call.
    res.setHeader('access-control-allow-origin', '*');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': CORS_ALLOWED_HEADERS,
        'access-control-max-age': '600',
      });
      res.end();
      return true;
    }
    const encoding = encodingOf(req.headers['content-type']);
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST, OPTIONS');
      sendError(
        req,
        res,
        encoding,
        new OtlpHttpError(
          405,
          RPC_CODE.INVALID_ARGUMENT,
          `${req.method} is not supported on ${OTLP_TRACES_PATH}; use POST`,
        ),
      );
      return true;
    }
    if (!encoding) {
      sendError(
        req,
        res,
        null,
        new OtlpHttpError(
          415,
          RPC_CODE.INVALID_ARGUMENT,
          `Unsupported content-type "${req.headers['content-type'] ?? ''}": use application/x-protobuf or application/json`,
        ),
      );
      return true;
    }
    handle(req, res, encoding).catch((error: unknown) => {
      if (error instanceof OtlpHttpError) return sendError(req, res, encoding, error);
      const correlationId = randomUUID();
      if (!req.destroyed) logger.error(`OTLP route error (correlation id ${correlationId})`, error);
      sendError(
        req,
        res,
        encoding,
        new OtlpHttpError(
          500,
          RPC_CODE.INTERNAL,
          `Internal error (correlation id ${correlationId})`,
        ),
      );
    });
    return true;
  };
}
