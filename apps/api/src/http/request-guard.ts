import type http from 'node:http';
import type { RateLimitConfig } from '../auth/rate-limits.ts';
import { isUtf8 } from 'node:buffer';
import { GraphQLError } from 'graphql';
import type { ServerOptions, WebSocket, WebSocketServer } from 'ws';
import { QUERY_LIMITS } from '../graphql/limits.ts';
import { createOriginPolicy, type OriginPolicy } from './origin-policy.ts';

/**
 * The checks every request passes before route dispatch, and those of graphql-ws
 * (docs/api.md, "Security"): Host and Origin (origin-policy.ts), CORS, security headers, the
 * content types a POST to /graphql may have, and the WebSocket frame, connection and
 * subscription limits.
 */
export interface HttpSecurityOptions {
  /** The address the server binds (always allowed as a Host). */
  boundHost?: string;
  /** `--allowed-hosts`: extra Host names (with or without port); `*` allows any. */
  allowedHosts?: readonly string[];
  /** `--cors-allowed-origins`: other origins whose pages may call the API; `*` allows any. */
  corsAllowedOrigins?: readonly string[];
  /** Largest graphql-ws frame (`--ws-max-payload-bytes`); larger ones close the socket (1009). */
  wsMaxPayloadBytes?: number;
  /** Open graphql-ws connections per process; more get 503 on upgrade. */
  wsMaxConnections?: number;
  /** Operations (subscriptions and in-flight queries) open at once on one connection. */
  wsMaxOperationsPerConnection?: number;
  /** Requests per second per credential and workspace (auth/rate-limits.ts; default from env). */
  rateLimits?: Partial<RateLimitConfig>;
}

export const WS_LIMITS = {
  maxPayloadBytes: 1024 * 1024,
  maxConnections: 1000,
  maxOperationsPerConnection: 100,
} as const;

/** Sent on every response (routes may add their own, e.g. the dashboard's CSP). */
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

/**
 * The media type a POST to /graphql must carry: never one a plain HTML form can send (a form
 * cannot set application/json without a preflight). yoga reads no other body type.
 */
const GRAPHQL_POST_TYPES = new Set(['application/json']);
const PREFLIGHT_METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS';
const EXPOSED_HEADERS =
  'content-length, content-range, content-disposition, accept-ranges, x-cairn-sha256';
const HEADER_LIST = /^[A-Za-z0-9-]+(\s*,\s*[A-Za-z0-9-]+)*$/u;

function refuse(res: http.ServerResponse, status: number, code: string, message: string): true {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
  return true;
}

const one = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** An artifact read (`GET`/`HEAD` under /api/runs/, or its preflight): any origin may make it. */
function isArtifactRead(req: http.IncomingMessage, pathname: string): boolean {
  if (!pathname.startsWith('/api/runs/')) return false;
  const method =
    req.method === 'OPTIONS' ? one(req.headers['access-control-request-method']) : req.method;
  return method === 'GET' || method === 'HEAD';
}

/** 400 when a request body is not valid UTF-8 (it would be decoded with U+FFFD and stored). */
export function refuseInvalidUtf8(body: Buffer, res: http.ServerResponse): boolean {
  if (isUtf8(body)) return false;
  return refuse(res, 400, 'INVALID_ARGUMENT', 'The request body is not valid UTF-8');
}

function isClientProtocolError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('WS_ERR_');
}

export interface HttpGuard {
  policy: OriginPolicy;
  /** Applies the checks; true when it has answered the request itself (refused or preflight). */
  request(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  /** Options for `new WebSocketServer(...)`: frame size and the upgrade check. */
  wsServerOptions: Pick<ServerOptions, 'maxPayload' | 'verifyClient'>;
  /** Counts connections and refuses binary frames; call before graphql-ws's `useServer`. */
  attach(wss: WebSocketServer): void;
  /** graphql-ws `onSubscribe`: query-text length and operations per connection. */
  onSubscribe(
    ctx: { subscriptions: Record<string, unknown> },
    id: string,
    payload: { query: string },
  ): GraphQLError[] | undefined;
}

export function createHttpGuard(options: HttpSecurityOptions = {}): HttpGuard {
  const policy = createOriginPolicy(options);
  const maxConnections = options.wsMaxConnections ?? WS_LIMITS.maxConnections;
  const maxOperations =
    options.wsMaxOperationsPerConnection ?? WS_LIMITS.maxOperationsPerConnection;
  let connections = 0;

  function request(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const host = req.headers.host;
    if (!policy.hostAllowed(host, req.socket.localPort, req.socket.localAddress))
      return refuse(
        res,
        403,
        'PERMISSION_DENIED',
        `Host "${String(host).slice(0, 100)}" is not allowed; list it in --allowed-hosts (CAIRN_ALLOWED_HOSTS)`,
      );
    const pathname = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const origin = one(req.headers.origin);
    const verdict = policy.origin(origin, host);
    if (verdict === 'refused') {
      // Artifact reads keep `access-control-allow-origin: *` (never with credentials).
      if (!isArtifactRead(req, pathname))
        return refuse(
          res,
          403,
          'PERMISSION_DENIED',
          `Origin "${String(origin).slice(0, 100)}" is not allowed; list it in --cors-allowed-origins (CAIRN_CORS_ALLOWED_ORIGINS)`,
        );
    } else if (verdict === 'allowed' && origin !== undefined) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'origin');
      res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
        const asked = one(req.headers['access-control-request-headers']) ?? '';
        res.writeHead(204, {
          'access-control-allow-methods': PREFLIGHT_METHODS,
          ...(HEADER_LIST.test(asked) ? { 'access-control-allow-headers': asked } : {}),
          'access-control-max-age': '600',
        });
        res.end();
        return true;
      }
    }
    if (pathname === '/graphql' && req.method === 'POST') {
      const type = (one(req.headers['content-type']) ?? '').split(';', 1)[0]!.trim().toLowerCase();
      if (!GRAPHQL_POST_TYPES.has(type)) {
        req.resume();
        return refuse(
          res,
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          'POST /graphql takes content-type application/json',
        );
      }
    }
    return false;
  }

  const verifyClient: NonNullable<ServerOptions['verifyClient']> = (info, callback) => {
    const { req } = info;
    const host = req.headers.host;
    if (!policy.hostAllowed(host, req.socket.localPort, req.socket.localAddress))
      return callback(false, 403, 'Host not allowed');
    if (policy.origin(one(req.headers.origin), host) === 'refused')
      return callback(false, 403, 'Origin not allowed');
    if (connections >= maxConnections) return callback(false, 503, 'Too many connections');
    callback(true);
  };

  return {
    policy,
    request,
    wsServerOptions: {
      maxPayload: options.wsMaxPayloadBytes ?? WS_LIMITS.maxPayloadBytes,
      verifyClient,
    },
    attach(wss) {
      wss.on('connection', (socket: WebSocket) => {
        connections += 1;
        socket.once('close', () => (connections -= 1));
        // graphql-ws speaks JSON text; a binary frame would be decoded with U+FFFD for any
        // invalid byte. Refused before graphql-ws (registered after this) sees it.
        const emit = socket.emit.bind(socket);
        socket.emit = ((event: string | symbol, ...args: unknown[]) => {
          if (event === 'message' && args[1] === true) {
            socket.close(1003, 'Binary frames are not supported');
            return false;
          }
          // A client's protocol fault (frame over maxPayload, invalid UTF-8, bad opcode): ws has
          // already closed the socket with the right code; graphql-ws would log each one as an
          // internal error (a log flood anyone can cause).
          if (event === 'error' && isClientProtocolError(args[0])) return true;
          return emit(event, ...args);
        }) as typeof socket.emit;
      });
    },
    onSubscribe(ctx, _id, payload) {
      if (typeof payload.query === 'string' && payload.query.length > QUERY_LIMITS.maxQueryBytes)
        return [
          new GraphQLError(`Query text longer than ${QUERY_LIMITS.maxQueryBytes} characters`, {
            extensions: { code: 'INVALID_ARGUMENT' },
          }),
        ];
      // The operation being subscribed is already counted.
      if (Object.keys(ctx.subscriptions).length > maxOperations)
        return [
          new GraphQLError(
            `At most ${maxOperations} operations may be open on one connection; complete some first`,
            { extensions: { code: 'RESOURCE_EXHAUSTED' } },
          ),
        ];
      return undefined;
    },
  };
}
