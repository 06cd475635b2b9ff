import type http from 'node:http';
import type { Logger } from '@cairn/logging';
import type { ArtifactRoutesOptions } from '../artifacts/artifact-routes.ts';
import type { Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';

/**
 * One MLflow REST endpoint (docs/mlflow-compatibility.md, "Extending"). `path` is written
 * without the `/api/2.0` prefix, e.g. `/mlflow/runs/create` or `/mlflow-artifacts/artifacts/{path...}`:
 * `{name}` matches one path segment, `{name...}` the rest of the path (at least one segment).
 */
export type MlflowMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';

export interface MlflowContext {
  deps: ServiceDeps;
  caller: Caller;
  workspaceId: string;
  logger: Logger;
  /** The artifact store and upload limit (absent when the server runs without artifacts). */
  artifacts: ArtifactRoutesOptions | undefined;
  /** Path parameters of the matched route (`{trace_id}` → `params.trace_id`), decoded once. */
  params: Record<string, string>;
  /** `2.0` or `3.0`. */
  apiVersion: string;
  req: http.IncomingMessage;
}

/** A JSON endpoint: the router parses the body (POST/PATCH/DELETE) and writes the answer. */
export interface MlflowJsonRoute {
  method: MlflowMethod;
  path: string;
  /** Returns the response message (proto-JSON); `{}` for MLflow's empty responses. */
  handler: (ctx: MlflowContext, body: Record<string, unknown>, query: URLSearchParams) => unknown;
}

/**
 * A streaming endpoint (artifact bytes, multipart): the router does not read the body; the
 * handler writes the whole response. Errors it throws before writing headers still get
 * MLflow's error body.
 */
export interface MlflowRawRoute {
  method: MlflowMethod;
  path: string;
  raw: (
    ctx: MlflowContext,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    query: URLSearchParams,
  ) => Promise<void>;
}

export type MlflowRoute = MlflowJsonRoute | MlflowRawRoute;
