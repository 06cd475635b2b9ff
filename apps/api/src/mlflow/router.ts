import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type http from 'node:http';
import type { Logger } from '@cairn/logging';
import type { ArtifactRoutesOptions } from '../artifacts/artifact-routes.ts';
import { buildContext, requestAuthOf } from '../http/graphql-handler.ts';
import { authorizeRequest, mlflowRouteScope } from '../auth/http-rules.ts';
import { assertCleanStrings, textProblem } from '../input-hygiene.ts';
import type { ServiceDeps } from '../write/services.ts';
import { MlflowError, toMlflowError } from './mlflow.errors.ts';
import type { MlflowContext, MlflowRoute } from './mlflow-route.ts';

/**
 * MLflow's REST API (docs/mlflow-compatibility.md): `/api/{2.0,3.0}/mlflow/…`,
 * `/ajax-api/{2.0,3.0}/mlflow/…` and `/api/2.0/mlflow-artifacts/…`, dispatched over the route
 * table of routes.ts. Every handler calls the same commands and queries as GraphQL.
 */
export const MLFLOW_PREFIX = /^\/(?:ajax-)?api\/([23]\.0)(\/mlflow(?:-artifacts)?(?:\/.*)?)$/;

/**
 * The MLflow server version Cairn answers on `GET /version` (MLflow's own route, outside
 * `/api`): the client (3.x) reads it to decide whether the server takes spans over OTLP
 * (>= 3.4). It is the MLflow release whose REST API Cairn mirrors and is tested against.
 */
export const MLFLOW_SERVER_VERSION = '3.18.0';

/** Largest JSON body of an MLflow call (a log-batch at MLflow's limits is well below this). */
export const DEFAULT_MAX_MLFLOW_JSON_BYTES = 16 * 1024 * 1024;

export interface MlflowRouterOptions {
  routes: readonly MlflowRoute[];
  artifacts?: ArtifactRoutesOptions;
  maxJsonBytes?: number;
}

interface CompiledRoute {
  route: MlflowRoute;
  /** A literal segment, `{name}` (one segment) or `{name...}` (the rest, last only). */
  segments: ({ literal: string } | { param: string; rest: boolean })[];
}

function compile(route: MlflowRoute): CompiledRoute {
  const segments = route.path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      const m = /^\{(\w+)(\.\.\.)?\}$/.exec(s);
      return m ? { param: m[1]!, rest: m[2] !== undefined } : { literal: s };
    });
  return { route, segments };
}

function match(compiled: CompiledRoute, parts: readonly string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  const { segments } = compiled;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if ('literal' in seg) {
      if (parts[i] !== seg.literal) return null;
      continue;
    }
    if (seg.rest) {
      if (i >= parts.length) return null;
      params[seg.param] = parts.slice(i).join('/');
      return params;
    }
    if (parts[i] === undefined || parts[i] === '') return null;
    params[seg.param] = parts[i]!;
  }
  return parts.length === segments.length ? params : null;
}

export function sendMlflowJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(body));
}

export function sendMlflowError(res: http.ServerResponse, error: MlflowError): void {
  sendMlflowJson(res, error.status, { error_code: error.errorCode, message: error.message });
}

const BODY_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/** GET parameters as a message: a repeated key becomes a list (MLflow's repeated fields). */
function queryAsMessage(query: URLSearchParams): Record<string, unknown> {
  const message: Record<string, unknown> = {};
  for (const key of new Set(query.keys())) {
    const values = query.getAll(key);
    message[key] = values.length === 1 ? values[0] : values;
  }
  return message;
}

async function readJsonBody(
  req: http.IncomingMessage,
  maxBytes: number,
): Promise<Record<string, unknown>> {
  const tooLarge = () =>
    new MlflowError('INVALID_PARAMETER_VALUE', `Request body larger than ${maxBytes} bytes`, 413);
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  if (size === 0) return {};
  const body = Buffer.concat(chunks, size);
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  // A plain HTML form cannot send application/json (no cross-site writes without a preflight).
  if (type !== 'application/json')
    throw new MlflowError(
      'BAD_REQUEST',
      `A request body must have content-type application/json, got "${type.slice(0, 100)}"`,
      415,
    );
  if (!isUtf8(body))
    throw new MlflowError('MALFORMED_REQUEST', 'The request body is not valid UTF-8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new MlflowError(
      'MALFORMED_REQUEST',
      `The request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new MlflowError('MALFORMED_REQUEST', 'The request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/**
 * The dispatcher: true when the request is MLflow's (answered here, also for unknown MLflow
 * endpoints), false to let the server try its other routes.
 */
export function createMlflowRouter(
  deps: ServiceDeps,
  logger: Logger,
  options: MlflowRouterOptions,
): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const compiled = options.routes.map(compile);
  const maxJson = options.maxJsonBytes ?? DEFAULT_MAX_MLFLOW_JSON_BYTES;

  async function serve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    apiVersion: string,
    path: string,
    query: URLSearchParams,
  ): Promise<void> {
    let parts: string[];
    try {
      parts = path
        .split('/')
        .filter((p) => p !== '')
        .map((p) => decodeURIComponent(p));
    } catch {
      throw new MlflowError('MALFORMED_REQUEST', 'The request path is not valid percent-encoding');
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const candidates = compiled
      .map((c) => ({ c, params: match(c, parts) }))
      .filter((m) => m.params !== null);
    const hit =
      candidates.find((m) => m.c.route.method === method) ??
      (method === 'HEAD' ? candidates.find((m) => m.c.route.method === 'GET') : undefined);
    if (!hit) {
      req.resume();
      if (candidates.length > 0)
        throw new MlflowError(
          'BAD_REQUEST',
          `${method} is not allowed on ${path}; use ${[...new Set(candidates.map((m) => m.c.route.method))].join(', ')}`,
          405,
        );
      throw new MlflowError('ENDPOINT_NOT_FOUND', `No MLflow endpoint ${method} ${path}`);
    }
    for (const [key, value] of query) {
      const problem = textProblem(key) ?? textProblem(value);
      if (problem !== null)
        throw new MlflowError('INVALID_PARAMETER_VALUE', `Query parameter "${key}" ${problem}`);
    }
    const params = hit.params!;
    for (const [name, value] of Object.entries(params)) {
      const problem = textProblem(value);
      if (problem !== null)
        throw new MlflowError('INVALID_PARAMETER_VALUE', `Path parameter ${name} ${problem}`);
    }
    let caller;
    try {
      const context = buildContext(deps, req.headers, requestAuthOf(req));
      authorizeRequest(context, { scope: mlflowRouteScope(hit.c.route) }, `${method} ${path}`);
      caller = context.caller;
    } catch (error) {
      req.resume();
      throw error;
    }
    const ctx: MlflowContext = {
      deps,
      caller,
      workspaceId: caller.workspaceId,
      logger,
      artifacts: options.artifacts,
      params,
      apiVersion,
      req,
    };
    const { route } = hit.c;
    if ('raw' in route) {
      await route.raw(ctx, req, res, query);
      return;
    }
    let body: Record<string, unknown>;
    if (BODY_METHODS.has(method)) {
      body = await readJsonBody(req, maxJson);
      // Query parameters fill what the body leaves out (some clients send DELETE arguments there).
      for (const [key, value] of Object.entries(queryAsMessage(query)))
        if (!(key in body)) body[key] = value;
    } else {
      req.resume();
      body = queryAsMessage(query);
    }
    assertCleanStrings(body, '', null);
    const answer = await route.handler(ctx, body, query);
    sendMlflowJson(res, 200, answer ?? {});
  }

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/version' && (req.method === 'GET' || req.method === 'HEAD')) {
      req.resume();
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : MLFLOW_SERVER_VERSION);
      return true;
    }
    const m = MLFLOW_PREFIX.exec(url.pathname);
    if (!m) return false;
    serve(req, res, m[1]!, m[2]!, url.searchParams).catch((error: unknown) => {
      const known = toMlflowError(error);
      if (!known) {
        const correlationId = randomUUID();
        logger.error(
          `mlflow ${req.method} ${url.pathname} failed (correlation id ${correlationId})`,
          error,
        );
        if (res.headersSent) return void res.destroy();
        return sendMlflowJson(res, 500, {
          error_code: 'INTERNAL_ERROR',
          message: `Internal error (correlation id ${correlationId})`,
        });
      }
      if (res.headersSent) return void res.destroy();
      // A refused body that was not read: answer, then close (the rest is not drained).
      if (!req.readableEnded) res.setHeader('connection', 'close');
      sendMlflowError(res, known);
    });
    return true;
  };
}
