import http from 'node:http';
import { specifiedRules, validate } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { queryLimitsRule } from '../graphql/limits.ts';
import { WebSocketServer } from 'ws';
import { attachUpgrades } from './upgrade.ts';
import type { Logger } from '@cairn/logging';
import { servedSchema } from '../graphql/argument-hygiene.ts';
import type { ServiceDeps } from '../write/services.ts';
import { createArtifactRoutes, type ArtifactRoutesOptions } from '../artifacts/artifact-routes.ts';
import {
  attachRequestAuth,
  authenticate,
  buildContext,
  createGraphQLHandler,
  credentialSource,
  type RequestAuth,
} from './graphql-handler.ts';
import { createServerAuthRuntime, type AuthRuntime } from '../auth/auth-runtime.ts';
import { httpRouteTable } from '../auth/http-rules.ts';
import type { AuthOptions, CredentialSource } from '../auth/principal.ts';
import { CairnError } from '../errors.ts';
import { createOtlpRoute, type OtlpRouteOptions } from '../tracing/otlp-route.ts';
import { createAuditExportRoute } from '../governance/audit-export.route.ts';
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
  // Every MLflow route has a rule (throws at start otherwise, like GraphQL's rules).
  httpRouteTable(mlflowRoutes);
  const ownRuntime = opts.authRuntime
    ? null
    : createServerAuthRuntime(opts.deps, {
        mode: opts.auth?.mode ?? 'off',
        ...(opts.sessions ? { sessions: opts.sessions.sessions } : {}),
      });
  const authRuntime: AuthRuntime = opts.authRuntime ?? ownRuntime!;
  const yoga = createGraphQLHandler(opts.deps, opts.logger, authRuntime);
  const limiter = new RateLimiter({ ...rateLimitsFromEnv(), ...opts.security?.rateLimits });
  const artifactRoutes = opts.artifacts
    ? createArtifactRoutes(opts.deps, opts.logger, opts.artifacts)
    : null;
  const otlpRoute = createOtlpRoute(opts.deps, opts.logger, opts.otlp);
  const auditExportRoute = createAuditExportRoute(opts.deps, opts.logger);
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
    requestAuth: RequestAuth,
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
    const response = await yoga.fetch(
      url.toString(),
      { method: req.method, headers, body },
      { requestAuth },
    );
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) {
      res.end();
      return;
    }
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
      res.write(chunk);
    res.end();
  }

  /**
   * The session cookie's CSRF check (a state-changing request made with the cookie needs the
   * header), then the principal of the request's credential; answers 401/403 itself and
   * resolves null when the credential is refused.
   */
  async function authenticateRequest(
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<RequestAuth | null> {
    if (opts.sessions && !checkSessionRequest(req, res)) return null;
    try {
      return await authenticate(authRuntime, credentialSource(req.headers));
    } catch (error) {
      if (!(error instanceof CairnError) || error.code !== 'UNAUTHENTICATED') throw error;
      req.resume();
      res.writeHead(401, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        'www-authenticate': 'Bearer realm="cairn"',
      });
      // Both shapes: GraphQL clients read `errors`, MLflow clients `error_code`.
      res.end(
        JSON.stringify({
          errors: [{ message: error.message, extensions: { code: 'UNAUTHENTICATED' } }],
          error_code: 'UNAUTHENTICATED',
          message: error.message,
        }),
      );
      return null;
    }
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
    if (sessionRoutes?.(req, res)) return;
    if (isRateLimitedPath(url.pathname)) {
      // Every API request is authenticated before it is routed: the credential it carries (an
      // API key, a session cookie) is checked in every auth mode, and each route family then
      // calls `authorize` with its rule (auth/http-rules.ts, auth/graphql-rules.ts).
      void authenticateRequest(req, res)
        .then((auth) => {
          if (!auth) return;
          attachRequestAuth(req, auth);
          if (url.pathname === '/graphql') return serveGraphQL(req, res, url, auth);
          if (otlpRoute(req, res)) return;
          if (auditExportRoute(req, res)) return;
          if (mlflowRouter(req, res)) return;
          if (artifactRoutes?.(req, res)) return;
          req.resume();
          json(res, 404, { error: 'not found' });
        })
        .catch((error: unknown) => {
          opts.logger.error('api transport error', error);
          if (!res.headersSent)
            json(res, 500, {
              errors: [{ message: 'Internal error', extensions: { code: 'INTERNAL' } }],
            });
          else res.destroy();
        });
      return;
    }
    if (mlflowRouter(req, res)) return;
    if (opts.fallback) return opts.fallback(req, res);
    json(res, 404, { error: 'not found' });
  });

  /**
   * A graphql-ws connection's credential: connectionParams `authorization` (or `Authorization`),
   * else the upgrade request's header (non-browser clients); the upgrade's cookie.
   */
  function wsCredential(ctx: {
    connectionParams?: Readonly<Record<string, unknown>> | undefined;
    extra: { request: http.IncomingMessage };
  }): CredentialSource {
    const params = ctx.connectionParams ?? {};
    const fromParams = params.authorization ?? params.Authorization;
    const { headers } = ctx.extra.request;
    const authorization = typeof fromParams === 'string' ? fromParams : headers.authorization;
    return {
      ...(authorization !== undefined ? { authorization } : {}),
      ...(headers.cookie !== undefined ? { cookie: headers.cookie } : {}),
    };
  }

  const wss = new WebSocketServer({ noServer: true, path: '/graphql', ...guard.wsServerOptions });
  guard.attach(wss);
  attachUpgrades(server, wss);
  const wsServer = useServer(
    {
      schema: servedSchema(),
      // Browsers cannot set headers on a WebSocket: the workspace may also come in the
      // connection_init payload (`{ "x-cairn-workspace": "…" }`), which wins over the header.
      // A connection whose credential is refused is closed at once (4403).
      onConnect: async (ctx) => {
        try {
          await authenticate(authRuntime, wsCredential(ctx));
          return true;
        } catch {
          return false;
        }
      },
      context: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const fromParams = params['x-cairn-workspace'];
        const headers = { ...ctx.extra.request.headers };
        if (typeof fromParams === 'string') headers['x-cairn-workspace'] = fromParams;
        const auth: RequestAuth = await authenticate(authRuntime, wsCredential(ctx));
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
      ownRuntime?.close();
      await wsServer.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
