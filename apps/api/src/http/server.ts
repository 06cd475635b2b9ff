import http from 'node:http';
import { specifiedRules, validate } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { queryLimitsRule } from '../graphql/limits.ts';
import { WebSocketServer } from 'ws';
import type { Logger } from '@cairn/projector';
import { servedSchema } from '../graphql/argument-hygiene.ts';
import type { ServiceDeps } from '../write/services.ts';
import { createArtifactRoutes, type ArtifactRoutesOptions } from '../artifacts/artifact-routes.ts';
import {
  authenticate,
  buildContext,
  createGraphQLHandler,
  type RequestAuth,
} from './graphql-handler.ts';
import { createAuthRuntime, type AuthRuntime } from '../auth/auth-runtime.ts';
import type { AuthOptions } from '../auth/principal.ts';
import { createOtlpRoute, type OtlpRouteOptions } from '../tracing/otlp-route.ts';
import { createHttpGuard, refuseInvalidUtf8, type HttpSecurityOptions } from './request-guard.ts';
import { createMlflowRouter } from '../mlflow/router.ts';
import { mlflowRoutes } from '../mlflow/routes.ts';
import { createSessionRoutes, type SessionRoutesOptions } from '../auth/session-routes.ts';
import { checkSessionRequest } from '../auth/session-guard.ts';
import {
  RateLimiter,
  rateLimitSubject,
  rateLimitsFromEnv,
  tooManyRequests,
} from '../auth/rate-limits.ts';

export interface ReadinessReport {
  ready: boolean;
  [key: string]: unknown;
}

export interface ApiServerOptions {
  deps: ServiceDeps;
  logger: Logger;
  readiness: () => Promise<ReadinessReport>;
  /** Largest accepted request body; larger ones get 413. */
  maxBodyBytes?: number;
  /** Serves everything that is not the API (the web app in local mode). */
  fallback?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** Artifact uploads and downloads (`/api/runs/{runId}/artifacts/…`), with their own body limit. */
  artifacts?: ArtifactRoutesOptions;
  /** OTLP/HTTP trace ingest (`POST /v1/traces`): body limit and masking rules. */
  otlp?: OtlpRouteOptions;
  /** Host, Origin/CORS, content types and graphql-ws limits (request-guard.ts). */
  security?: HttpSecurityOptions;
  /** Dashboard sessions: `/auth/*` routes and the session cookie's CSRF check (docs/auth.md). */
  sessions?: SessionRoutesOptions;
  /** Authentication mode (docs/auth.md); default `off`. */
  auth?: AuthOptions;
  /** Built by the caller when given (credential resolvers registered); else from `auth`. */
  authRuntime?: AuthRuntime;
}

/** The API routes a request rate limit applies to (not health checks or the dashboard's files). */
function isRateLimitedPath(pathname: string): boolean {
  return (
    pathname === '/graphql' ||
    pathname === '/v1/traces' ||
    pathname.startsWith('/api/') ||
    pathname.startsWith('/ajax-api/') ||
    pathname.startsWith('/auth/')
  );
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(body));
}

/**
 * One HTTP server: /graphql (HTTP and graphql-ws on the same path), /v1/traces (OTLP/HTTP),
 * /healthz, /readyz.
 */
export function createApiServer(opts: ApiServerOptions): {
  server: http.Server;
  close(): Promise<void>;
} {
  const authRuntime =
    opts.authRuntime ??
    createAuthRuntime({ mode: opts.auth?.mode ?? 'off', changes: opts.deps.changes });
  const yoga = createGraphQLHandler(opts.deps, opts.logger, authRuntime);
  const limiter = new RateLimiter({ ...rateLimitsFromEnv(), ...opts.security?.rateLimits });
  const artifactRoutes = opts.artifacts
    ? createArtifactRoutes(opts.deps, opts.logger, opts.artifacts)
    : null;
  const otlpRoute = createOtlpRoute(opts.deps, opts.logger, opts.otlp);
  // MLflow's REST API (docs/mlflow-compatibility.md): /api/{2.0,3.0}/mlflow…, /ajax-api/….
  const mlflowRouter = createMlflowRouter(opts.deps, opts.logger, {
    routes: mlflowRoutes,
    ...(opts.artifacts ? { artifacts: opts.artifacts } : {}),
  });
  const maxBody = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  const guard = createHttpGuard(opts.security);
  const sessionRoutes = opts.sessions
    ? createSessionRoutes(opts.deps, opts.logger, opts.sessions)
    : null;
  const tooLarge = (res: http.ServerResponse) =>
    json(res, 413, {
      errors: [
        {
          message: `Request body larger than ${maxBody} bytes`,
          extensions: { code: 'PAYLOAD_TOO_LARGE' },
        },
      ],
    });

  /** Reads the body with a hard size limit (413), then hands the request to yoga. */
  async function serveGraphQL(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
  ): Promise<void> {
    if (Number(req.headers['content-length'] ?? 0) > maxBody) {
      tooLarge(res);
      req.resume();
      return;
    }
    let body: Buffer | undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBody) {
          tooLarge(res);
          req.destroy();
          return;
        }
        chunks.push(chunk);
      }
      body = Buffer.concat(chunks);
      if (refuseInvalidUtf8(body, res)) return;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const response = await yoga.fetch(url.toString(), { method: req.method, headers, body });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) {
      res.end();
      return;
    }
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
      res.write(chunk);
    res.end();
  }

  const server = http.createServer((req, res) => {
    if (guard.request(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz') return json(res, 200, { status: 'ok' });
    if (url.pathname === '/readyz') {
      opts
        .readiness()
        .then((report) => json(res, report.ready ? 200 : 503, report))
        .catch((error: unknown) =>
          json(res, 503, {
            ready: false,
            error: error instanceof Error ? error.message : String(error),
          }),
        );
      return;
    }
    if (isRateLimitedPath(url.pathname)) {
      const decision = limiter.request(rateLimitSubject(req, url));
      if (!decision.ok) return tooManyRequests(res, decision.retryAfterSeconds);
    }
    if (url.pathname === '/graphql') {
      // A session cookie must name a live session, and a state-changing request made with it
      // must carry the CSRF header (API keys need none: a browser never adds them on its own).
      const checked = opts.sessions
        ? checkSessionRequest(opts.sessions.sessions, req, res)
        : Promise.resolve(true);
      void checked
        .then((ok) => (ok ? serveGraphQL(req, res, url) : undefined))
        .catch((error: unknown) => {
          opts.logger.error('graphql transport error', error);
          if (!res.headersSent)
            json(res, 500, {
              errors: [{ message: 'Internal error', extensions: { code: 'INTERNAL' } }],
            });
          else res.destroy();
        });
      return;
    }
    if (sessionRoutes?.(req, res)) return;
    if (otlpRoute(req, res)) return;
    if (mlflowRouter(req, res)) return;
    if (artifactRoutes?.(req, res)) return;
    if (opts.fallback) return opts.fallback(req, res);
    json(res, 404, { error: 'not found' });
  });

  const wss = new WebSocketServer({ server, path: '/graphql', ...guard.wsServerOptions });
  guard.attach(wss);
  const wsServer = useServer(
    {
      schema: servedSchema(),
      // Browsers cannot set headers on a WebSocket: the workspace may also come in the
      // connection_init payload (`{ "x-cairn-workspace": "…" }`), which wins over the header.
      context: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const fromParams = params['x-cairn-workspace'];
        const headers = { ...ctx.extra.request.headers };
        if (typeof fromParams === 'string') headers['x-cairn-workspace'] = fromParams;
        // The credential: connectionParams `authorization` (or `Authorization`), else the
        // upgrade request's header (non-browser clients), and the cookie of the upgrade.
        const fromParamsAuth = params.authorization ?? params.Authorization;
        const authorization =
          typeof fromParamsAuth === 'string' ? fromParamsAuth : headers.authorization;
        const auth: RequestAuth = await authenticate(authRuntime, {
          ...(authorization !== undefined ? { authorization } : {}),
          ...(headers.cookie !== undefined ? { cookie: headers.cookie } : {}),
        });
        return buildContext(opts.deps, headers, auth);
      },
      onSubscribe: (ctx, id, payload) => guard.onSubscribe(ctx, id, payload),
      validate: (schema, document) =>
        validate(schema, document, [...specifiedRules, queryLimitsRule]),
    },
    wss,
  );

  return {
    server,
    close: async () => {
      await wsServer.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
