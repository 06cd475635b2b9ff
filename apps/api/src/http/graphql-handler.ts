import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { QUERY_LIMITS, queryLimitsRule } from '../graphql/limits.ts';
import type { Logger } from '@cairn/logging';
import type { EventOrigin } from '@cairn/events';
import { CairnError } from '../errors.ts';
import { createLoaders, type GraphQLContext } from '../graphql/context.ts';
import { servedSchema } from '../graphql/argument-hygiene.ts';
import type { ServiceDeps } from '../write/services.ts';
import { createAuthRuntime, type AuthRuntime } from '../auth/auth-runtime.ts';
import { resolveWorkspace } from '../auth/authorize.ts';
import {
  actorOf,
  anonymousPrincipal,
  resolvePrincipal,
  type CredentialSource,
  type Principal,
} from '../auth/principal.ts';

export const DEFAULT_WORKSPACE = 'default';
const WORKSPACE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

function header(headers: IncomingHttpHeaders | Headers, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** What the authentication step found for a request: its principal and the process runtime. */
export interface RequestAuth {
  principal: Principal;
  runtime: AuthRuntime;
}

/** The runtime of callers that build a context without one (tests, tools): mode `off`. */
const OFF_RUNTIME = createAuthRuntime({ mode: 'off' });

/**
 * HTTP routes other than /graphql get their principal from the dispatcher, which authenticates
 * every API request before routing it and attaches the result to the request (and its header
 * object): `buildContext(deps, req.headers, requestAuthOf(req))`.
 */
const attached = new WeakMap<object, RequestAuth>();
/** The peer address of the request an authentication result belongs to (event origins). */
const addresses = new WeakMap<RequestAuth, string>();

export function attachRequestAuth(
  req: { headers: object; socket?: { remoteAddress?: string } },
  auth: RequestAuth,
): void {
  attached.set(req, auth);
  attached.set(req.headers, auth);
  const address = req.socket?.remoteAddress;
  if (address) addresses.set(auth, address);
}

/**
 * Where a request came from, as its events record it (docs/governance.md): the connection's
 * peer address (proxy headers are not trusted), the user agent, and the client: `x-cairn-client`
 * when the caller names itself, else the user agent's first product token. Each cut to 200.
 */
export function originOf(
  headers: IncomingHttpHeaders | Headers,
  auth: RequestAuth | undefined,
): EventOrigin {
  const cut = (v: string | undefined) => (v === undefined ? null : v.slice(0, 200));
  const userAgent = cut(header(headers, 'user-agent'));
  const client = cut(header(headers, 'x-cairn-client')) ?? userAgent?.split(/\s/u)[0] ?? null;
  return { address: (auth && addresses.get(auth)) ?? null, userAgent, client };
}

export function requestAuthOf(reqOrHeaders: object): RequestAuth | undefined {
  return attached.get(reqOrHeaders);
}

/** The credential of a request: the Authorization header and the cookie. */
export function credentialSource(headers: IncomingHttpHeaders | Headers): CredentialSource {
  const authorization = header(headers, 'authorization');
  const cookie = header(headers, 'cookie');
  return {
    ...(authorization !== undefined ? { authorization } : {}),
    ...(cookie !== undefined ? { cookie } : {}),
  };
}

/** Resolves the principal of a request's credential with the runtime's resolvers. */
export async function authenticate(
  runtime: AuthRuntime,
  source: CredentialSource,
): Promise<RequestAuth> {
  return { principal: await resolvePrincipal(source, runtime.mode, runtime.resolvers), runtime };
}

/** The workspace a request names (header), validated; undefined when it names none. */
export function requestedWorkspace(headers: IncomingHttpHeaders | Headers): string | undefined {
  const workspaceId = header(headers, 'x-cairn-workspace');
  if (workspaceId !== undefined && !WORKSPACE_PATTERN.test(workspaceId)) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      'Invalid x-cairn-workspace header: use 1–63 letters, digits, "_" or "-"',
    );
  }
  return workspaceId;
}

/**
 * Builds the per-request context: the principal (from `auth`, or attached to the headers by the
 * HTTP dispatcher, else anonymous in mode `off`), the workspace (the credential's; the
 * `x-cairn-workspace` header may only narrow to a workspace the principal has a role in), fresh
 * loaders, and the caller whose actor (`key:<id>`, `user:<id>`, `anonymous`) events record.
 */
export function buildContext(
  deps: ServiceDeps,
  headers: IncomingHttpHeaders | Headers,
  auth?: RequestAuth,
): GraphQLContext {
  const requested = requestedWorkspace(headers);
  const found = auth ??
    requestAuthOf(headers) ?? {
      principal: anonymousPrincipal('off', null),
      runtime: OFF_RUNTIME,
    };
  const { runtime } = found;
  let principal = found.principal;
  const workspaceId = resolveWorkspace(principal, requested);
  // Anonymous in mode `off` is the owner of whichever workspace it names (as before auth).
  if (principal.kind === 'anonymous' && runtime.mode === 'off')
    principal = anonymousPrincipal('off', workspaceId);
  const correlationId = header(headers, 'x-correlation-id') ?? randomUUID();
  return {
    workspaceId,
    correlationId,
    deps,
    loaders: createLoaders(deps, workspaceId),
    caller: {
      workspaceId,
      metadata: {
        actor: actorOf(principal),
        correlationId,
        causationId: null,
        origin: originOf(headers, found),
      },
    },
    principal,
    authMode: runtime.mode,
    auth: runtime,
  };
}

/**
 * The one error mapper at the boundary: expected errors keep their code and message; anything
 * else is masked and logged with the correlation id the client can quote.
 */
export function maskError(logger: Logger) {
  return (error: unknown, message: string): Error => {
    // Duck-typed on purpose: yoga and this module may load different copies of graphql-js (ESM
    // and CJS), so `instanceof GraphQLError` is not reliable here.
    const wrapped = isGraphQLErrorLike(error) ? error : null;
    const original = wrapped?.originalError ?? error;
    const location = { nodes: wrapped?.nodes, path: wrapped?.path };
    if (original instanceof CairnError) {
      return new GraphQLError(original.message, {
        ...location,
        extensions: { code: original.code, ...original.details },
      });
    }
    if (isGraphQLErrorLike(original) && typeof original.extensions?.code === 'string')
      return original;
    // Parse and validation errors: the client's own request, safe to show as they are.
    if (wrapped && !wrapped.originalError) return wrapped;
    const correlationId = randomUUID();
    logger.error(`unexpected error (correlation id ${correlationId})`, original);
    return new GraphQLError(`${message} (correlation id ${correlationId})`, {
      path: wrapped?.path,
      extensions: { code: 'INTERNAL', correlationId },
    });
  };
}

interface GraphQLErrorLike extends Error {
  originalError?: unknown;
  extensions?: Record<string, unknown>;
  nodes?: GraphQLError['nodes'];
  path?: GraphQLError['path'];
}

function isGraphQLErrorLike(error: unknown): error is GraphQLErrorLike {
  return error instanceof Error && error.name === 'GraphQLError';
}

/** Abuse limits (SECURITY.md): query size, depth, aliases, fields; one operation per request. */
const queryLimitsPlugin: Plugin = {
  onParse({ params }) {
    // envelop types the source as `any`: a string, or a graphql-js Source with the text in `body`.
    const raw: unknown = params.source;
    const source = typeof raw === 'string' ? raw : (raw as { body: string }).body;
    if (source.length > QUERY_LIMITS.maxQueryBytes) {
      throw new GraphQLError(`Query text longer than ${QUERY_LIMITS.maxQueryBytes} characters`, {
        extensions: { code: 'INVALID_ARGUMENT' },
      });
    }
  },
  onValidate({ addValidationRule }) {
    addValidationRule(queryLimitsRule);
  },
};

export function createGraphQLHandler(
  deps: ServiceDeps,
  logger: Logger,
  runtime: AuthRuntime = OFF_RUNTIME,
): YogaServerInstance<Record<string, unknown>, GraphQLContext> {
  return createYoga<Record<string, unknown>, GraphQLContext>({
    schema: servedSchema(),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'Cairn GraphQL' },
    batching: false,
    // CORS is the request guard's (request-guard.ts): yoga's default would answer any origin.
    cors: false,
    logging: false,
    maskedErrors: { maskError: maskError(logger) },
    // The HTTP server authenticates before routing and hands the result in (serverContext);
    // a direct yoga.fetch (tests) authenticates here.
    context: async ({ request, requestAuth }: { request: Request; requestAuth?: RequestAuth }) =>
      buildContext(
        deps,
        request.headers,
        requestAuth ?? (await authenticate(runtime, credentialSource(request.headers))),
      ),
    plugins: [queryLimitsPlugin],
  });
}
