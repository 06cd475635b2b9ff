import type { GraphQLContext } from '../graphql/context.ts';
import type { MlflowRoute } from '../mlflow/mlflow-route.ts';
import { authorize, type Rule } from './authorize.ts';
import type { Resource, Scope } from './scopes.ts';

/**
 * The HTTP route table (docs/auth.md, "The one authorisation point"): every route that is not
 * GraphQL, with its rule. The server authenticates every API request before routing it; each
 * route family calls `authorize` with the rule below before its handler does anything, and the
 * tenant-isolation suite walks this table. GraphQL's rules are graphql-rules.ts'.
 */
export interface HttpRoute {
  method: string;
  /** `{name}` one segment, `{name...}` the rest. */
  path: string;
  rule: Rule | 'graphql';
}

/** Public routes: health, MLflow's version probe, and the login routes (they check themselves). */
export const PUBLIC_HTTP_ROUTES: readonly HttpRoute[] = [
  { method: 'GET', path: '/healthz', rule: { public: true } },
  { method: 'GET', path: '/readyz', rule: { public: true } },
  { method: 'GET', path: '/version', rule: { public: true } },
  { method: 'POST', path: '/auth/login', rule: { public: true } },
  { method: 'POST', path: '/auth/logout', rule: { public: true } },
  { method: 'GET', path: '/auth/session', rule: { public: true } },
  { method: 'POST', path: '/auth/password', rule: { public: true } },
  { method: 'GET', path: '/auth/oidc/login', rule: { public: true } },
  { method: 'GET', path: '/auth/oidc/callback', rule: { public: true } },
];

export const OTLP_RULE: Rule = { scope: 'tracing:write' };

/** The audit log export (governance/audit-export.route.ts): admins only, as `auditLog`. */
export const AUDIT_EXPORT_RULE: Rule = { scope: 'workspace:admin' };

/** The artifact routes (artifact-routes.ts): reads need artifacts:read, the rest :write. */
export const ARTIFACT_HTTP_ROUTES: readonly HttpRoute[] = [
  {
    method: 'GET',
    path: '/api/runs/{run_id}/artifacts/{path...}',
    rule: { scope: 'artifacts:read' },
  },
  {
    method: 'PUT',
    path: '/api/runs/{run_id}/artifacts/{path...}',
    rule: { scope: 'artifacts:write' },
  },
  {
    method: 'POST',
    path: '/api/runs/{run_id}/artifact-uploads',
    rule: { scope: 'artifacts:write' },
  },
  {
    method: 'GET',
    path: '/api/runs/{run_id}/artifact-uploads/{upload_id}',
    rule: { scope: 'artifacts:write' },
  },
  {
    method: 'DELETE',
    path: '/api/runs/{run_id}/artifact-uploads/{upload_id}',
    rule: { scope: 'artifacts:write' },
  },
  {
    method: 'PUT',
    path: '/api/runs/{run_id}/artifact-uploads/{upload_id}/parts/{part}',
    rule: { scope: 'artifacts:write' },
  },
  {
    method: 'POST',
    path: '/api/runs/{run_id}/artifact-uploads/{upload_id}/complete',
    rule: { scope: 'artifacts:write' },
  },
];

export function artifactRule(method: string): Rule {
  return { scope: method === 'GET' || method === 'HEAD' ? 'artifacts:read' : 'artifacts:write' };
}

/** MLflow path families and the resource they belong to (a new family must be added here). */
const MLFLOW_RESOURCES: readonly [prefix: string, resource: Resource][] = [
  ['/mlflow/experiments/', 'tracking'],
  ['/mlflow/runs/', 'tracking'],
  ['/mlflow/metrics/', 'tracking'],
  ['/mlflow/logged-models/{model_id}/artifacts/', 'artifacts'],
  ['/mlflow/logged-models', 'tracking'],
  ['/mlflow/registered-models/', 'registry'],
  ['/mlflow/model-versions/', 'registry'],
  ['/mlflow/artifacts/', 'artifacts'],
  ['/mlflow-artifacts/', 'artifacts'],
  ['/mlflow/traces', 'tracing'],
];

/** POST endpoints of MLflow that only read. */
const MLFLOW_READ_POSTS = /\/(search|batchGetInfos|get-latest-versions)$/;

/**
 * The scope of one MLflow route: its family's resource, `:read` for GET and MLflow's searching
 * POSTs, `:write` otherwise. Throws for a route of an unknown family, so a new MLflow route
 * cannot be served without a rule (the schema-check test walks every route).
 */
export function mlflowRouteScope(route: Pick<MlflowRoute, 'method' | 'path'>): Scope {
  const family = MLFLOW_RESOURCES.find(([prefix]) => route.path.startsWith(prefix));
  if (!family)
    throw new Error(
      `apps/api/src/auth/http-rules.ts has no rule for MLflow route ${route.method} ${route.path}`,
    );
  const reads =
    route.method === 'GET' || (route.method === 'POST' && MLFLOW_READ_POSTS.test(route.path));
  return `${family[1]}:${reads ? 'read' : 'write'}`;
}

/** Every HTTP route with its rule: public, GraphQL, OTLP, artifacts and each MLflow route. */
export function httpRouteTable(mlflow: readonly MlflowRoute[]): HttpRoute[] {
  return [
    ...PUBLIC_HTTP_ROUTES,
    { method: 'POST', path: '/graphql', rule: 'graphql' },
    { method: 'GET', path: '/graphql', rule: 'graphql' },
    { method: 'POST', path: '/v1/traces', rule: OTLP_RULE },
    ...ARTIFACT_HTTP_ROUTES,
    { method: 'GET', path: '/api/audit/export', rule: AUDIT_EXPORT_RULE },
    ...mlflow.map((r) => ({
      method: r.method,
      path: `/api/2.0${r.path}`,
      rule: { scope: mlflowRouteScope(r) },
    })),
  ];
}

/**
 * An HTTP route's check: `authorize` with its rule on the request's context; a refusal of
 * anything but a read is recorded (AccessDenied, rate-limited) like a refused mutation.
 */
export function authorizeRequest(ctx: GraphQLContext, rule: Rule, operation: string): void {
  try {
    authorize(ctx.principal, ctx.workspaceId, rule);
  } catch (error) {
    if (!('scope' in rule) || !rule.scope.endsWith(':read')) ctx.auth.denied(ctx, operation, error);
    throw error;
  }
}
