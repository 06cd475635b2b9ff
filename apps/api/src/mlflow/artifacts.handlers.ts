import type http from 'node:http';
import { pipeline } from 'node:stream/promises';
import {
  ArtifactConflictError,
  ArtifactNotFoundError,
  ArtifactPathError,
  ArtifactTooLargeError,
  ChecksumMismatchError,
  InvalidUploadError,
  validateArtifactDir,
  validateArtifactPath,
  type ArtifactScope,
} from '@cairn/artifacts';
import {
  DEFAULT_MAX_UPLOAD_BYTES,
  type ArtifactRoutesOptions,
} from '../artifacts/artifact-routes.ts';
import {
  findPathClash,
  getArtifact,
  listArtifactChildren,
} from '../artifacts/artifacts.queries.ts';
import { contentTypeFor } from '../artifacts/content-types.ts';
import { admitStorage } from '../auth/quotas.ts';
import { logArtifact } from '../runs/run.commands.ts';
import { getRunsByIds } from '../runs/runs.queries.ts';
import type { MlflowContext, MlflowRoute } from './mlflow-route.ts';
import { doesNotExist, invalidParameter, MlflowError, notImplemented } from './mlflow.errors.ts';
import { runArtifactUri } from './mlflow-ids.ts';
import { requireString, optionalString, type Message } from './mlflow-input.ts';
import { sendMlflowJson } from './router.ts';

/**
 * The `mlflow-artifacts:/` proxy (mlflow_artifacts.proto) over Cairn's run artifacts
 * (docs/artifacts.md): a run's `artifact_uri` is `mlflow-artifacts:/<experiment>/<run>/artifacts`
 * (mlflow-ids.ts), so the client addresses `<experiment>/<run>/artifacts/<path>`; the bytes go to
 * Cairn's artifact store under the run and each upload is a `RunArtifactLogged` event, exactly as
 * `PUT /api/runs/{runId}/artifacts/{path}` does. Paths outside a run's artifacts (MLflow 3's
 * `<experiment>/models/<model_id>/artifacts`) are not served.
 */

interface ProxyPath {
  experimentId: string;
  runId: string;
  /** The artifact path inside the run ('' for the run's root). */
  path: string;
}

export function parseProxyPath(raw: string): ProxyPath {
  const parts = raw.split('/').filter((p) => p !== '');
  const [experimentId, runId, marker, ...rest] = parts;
  if (experimentId === undefined || runId === undefined || marker !== 'artifacts')
    throw doesNotExist(
      `Artifact path "${raw.slice(0, 200)}" is not under a run (<experiment_id>/<run_id>/artifacts/...); Cairn's proxy serves run artifacts only`,
    );
  if (!/^[0-9a-f]{32}$/u.test(runId)) throw doesNotExist(`Run '${runId}' not found`);
  return { experimentId, runId, path: rest.join('/') };
}

function storeOf(ctx: MlflowContext): ArtifactRoutesOptions {
  if (!ctx.artifacts)
    throw new MlflowError('TEMPORARILY_UNAVAILABLE', 'This server runs without an artifact store');
  return ctx.artifacts;
}

/** The store's and paths' errors as MLflow's. */
function storeError(error: unknown): unknown {
  if (error instanceof ArtifactPathError || error instanceof InvalidUploadError)
    return invalidParameter(error.message);
  if (error instanceof ChecksumMismatchError) return invalidParameter(error.message);
  if (error instanceof ArtifactTooLargeError)
    return new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Request body larger than ${error.maxBytes} bytes`,
      413,
    );
  if (error instanceof ArtifactNotFoundError) return doesNotExist(error.message);
  if (error instanceof ArtifactConflictError)
    return new MlflowError('RESOURCE_ALREADY_EXISTS', error.message);
  return error;
}

async function runOf(ctx: MlflowContext, target: ProxyPath, forWrite: boolean) {
  const [run] = await getRunsByIds(ctx.deps.db, ctx.workspaceId, [target.runId]);
  if (!run || run.experiment_id !== target.experimentId)
    throw doesNotExist(`Run '${target.runId}' not found`);
  if (forWrite && run.lifecycle_stage === 'deleted')
    throw new MlflowError('INVALID_STATE', `Run '${target.runId}' is deleted; restore it first`);
  return run;
}

async function upload(
  ctx: MlflowContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const { store, maxUploadBytes } = storeOf(ctx);
  const max = maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  try {
    const target = parseProxyPath(ctx.params.path ?? '');
    const path = validateArtifactPath(target.path);
    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) > max) throw new ArtifactTooLargeError(max);
    await runOf(ctx, target, true);
    const clash = await findPathClash(ctx.deps.db, ctx.workspaceId, target.runId, path);
    if (clash) throw new MlflowError('RESOURCE_ALREADY_EXISTS', clash);
    const scope: ArtifactScope = { workspaceId: ctx.workspaceId, runId: target.runId };
    const previous = await getArtifact(ctx.deps.db, ctx.workspaceId, target.runId, path);
    const fresh = previous === null;
    const declared = length !== undefined && /^\d+$/.test(length) ? Number(length) : null;
    const grant = await admitStorage(
      ctx.deps.storage,
      ctx.workspaceId,
      declared,
      previous?.size ?? 0,
    );
    try {
      const stored = await store
        .put(scope, path, req, { maxBytes: Math.min(max, grant.maxBytes) })
        .catch((error: unknown) => {
          throw error instanceof ArtifactTooLargeError && error.maxBytes < max
            ? grant.exceeded()
            : error;
        });
      try {
        await logArtifact(ctx.deps, ctx.caller, target.runId, {
          path,
          size: stored.size,
          sha256: stored.sha256,
          contentType: contentTypeFor(path),
        });
      } catch (error) {
        // Not recorded (the run was deleted meanwhile): no unlisted bytes stay behind.
        if (fresh)
          await store
            .delete(scope, path)
            .catch((cause: unknown) => ctx.logger.error('mlflow artifact clean-up failed', cause));
        throw error;
      }
    } finally {
      grant.release();
    }
  } catch (error) {
    req.resume();
    throw storeError(error);
  }
  sendMlflowJson(res, 200, {});
}

async function download(
  ctx: MlflowContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  req.resume();
  const { store } = storeOf(ctx);
  let body;
  let row;
  try {
    const target = parseProxyPath(ctx.params.path ?? '');
    const path = validateArtifactPath(target.path);
    await runOf(ctx, target, false);
    row = await getArtifact(ctx.deps.db, ctx.workspaceId, target.runId, path);
    if (!row) throw doesNotExist(`Artifact '${path}' not found in run '${target.runId}'`);
    body =
      row.size === 0
        ? null
        : await store.get({ workspaceId: ctx.workspaceId, runId: target.runId }, row.path);
  } catch (error) {
    throw storeError(error);
  }
  res.writeHead(200, {
    'content-type': row.content_type,
    'content-length': row.size,
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': 'private, no-cache',
  });
  if (body === null || req.method === 'HEAD') {
    body?.destroy();
    res.end();
    return;
  }
  await pipeline(body, res);
}

/** Direct children of a run directory, as MLflow's `FileInfo` (path relative to `base`). */
async function children(ctx: MlflowContext, target: ProxyPath, relativeTo: string) {
  await runOf(ctx, target, false);
  const dir = validateArtifactDir(target.path);
  const file =
    dir === '' ? null : await getArtifact(ctx.deps.db, ctx.workspaceId, target.runId, dir);
  // Listing a file lists nothing, as MLflow's artifact repositories do.
  if (file) return [];
  const list =
    (await listArtifactChildren(ctx.deps.db, ctx.workspaceId, [target.runId], dir)).get(
      target.runId,
    ) ?? [];
  const sorted = [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return sorted.map((c) => ({
    path: relativeTo === '' ? c.name : `${relativeTo}/${c.name}`,
    is_dir: c.isDir,
    ...(c.isDir || c.size === null ? {} : { file_size: c.size }),
  }));
}

/** `GET /mlflow-artifacts/artifacts?path=`: basenames, as MLflow's proxy answers. */
async function listProxy(ctx: MlflowContext, body: Message) {
  const raw = optionalString(body, 'path') ?? '';
  try {
    const target = parseProxyPath(raw);
    return { files: await children(ctx, target, '') };
  } catch (error) {
    throw storeError(error);
  }
}

/** `GET /mlflow/artifacts/list?run_id=&path=`: paths relative to the run's artifact root. */
async function listRun(ctx: MlflowContext, body: Message) {
  const runId = optionalString(body, 'run_id') ?? optionalString(body, 'run_uuid');
  if (runId === null || runId === '') return requireString(body, 'run_id');
  if (optionalString(body, 'page_token'))
    throw invalidParameter('page_token is not valid: Cairn answers artifacts/list in one page');
  const [run] = /^[0-9a-f]{32}$/u.test(runId)
    ? await getRunsByIds(ctx.deps.db, ctx.workspaceId, [runId])
    : [];
  if (!run) throw doesNotExist(`Run '${runId}' not found`);
  const path = (optionalString(body, 'path') ?? '').replace(/^\/+|\/+$/gu, '');
  try {
    const files = await children(ctx, { experimentId: run.experiment_id, runId, path }, path);
    return { root_uri: runArtifactUri(run.experiment_id, runId), files };
  } catch (error) {
    throw storeError(error);
  }
}

const noDelete = () => {
  throw notImplemented(
    'Deleting artifacts is not supported by Cairn: run artifacts are part of the run history (overwrite a path with a new upload instead)',
  );
};

const noMultipart = () => {
  throw notImplemented(
    'Multipart artifact uploads through the mlflow-artifacts proxy are not supported by Cairn yet; unset MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD (single PUTs up to the server upload limit work)',
  );
};

export const artifactRoutes: MlflowRoute[] = [
  { method: 'PUT', path: '/mlflow-artifacts/artifacts/{path...}', raw: upload },
  { method: 'GET', path: '/mlflow-artifacts/artifacts/{path...}', raw: download },
  { method: 'DELETE', path: '/mlflow-artifacts/artifacts/{path...}', handler: noDelete },
  { method: 'GET', path: '/mlflow-artifacts/artifacts', handler: listProxy },
  { method: 'POST', path: '/mlflow-artifacts/mpu/create/{path...}', handler: noMultipart },
  { method: 'POST', path: '/mlflow-artifacts/mpu/complete/{path...}', handler: noMultipart },
  { method: 'POST', path: '/mlflow-artifacts/mpu/abort/{path...}', handler: noMultipart },
  { method: 'GET', path: '/mlflow/artifacts/list', handler: listRun },
];
