import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { QUERY_LIMITS, queryLimitsRule } from '../graphql/limits.ts';
import type { Logger } from '@cairn/projector';
import { CairnError } from '../errors.ts';
import { createLoaders, type GraphQLContext } from '../graphql/context.ts';
import { servedSchema } from '../graphql/argument-hygiene.ts';
import type { ServiceDeps } from '../write/services.ts';

export const DEFAULT_WORKSPACE = 'default';
const WORKSPACE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

function header(headers: IncomingHttpHeaders | Headers, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Builds the per-request context: workspace from `x-cairn-workspace`, fresh loaders. */
export function buildContext(
  deps: ServiceDeps,
  headers: IncomingHttpHeaders | Headers,
): GraphQLContext {
  const workspaceId = header(headers, 'x-cairn-workspace') ?? DEFAULT_WORKSPACE;
  if (!WORKSPACE_PATTERN.test(workspaceId)) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      'Invalid x-cairn-workspace header: use 1–63 letters, digits, "_" or "-"',
    );
  }
  const correlationId = header(headers, 'x-correlation-id') ?? randomUUID();
  return {
    workspaceId,
    correlationId,
    deps,
    loaders: createLoaders(deps, workspaceId),
    caller: { workspaceId, metadata: { actor: 'anonymous', correlationId, causationId: null } },
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
    context: ({ request }) => buildContext(deps, request.headers),
    plugins: [queryLimitsPlugin],
  });
}
