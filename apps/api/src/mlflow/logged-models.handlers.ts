import { randomBytes } from 'node:crypto';
import { listArtifactChildren } from '../artifacts/artifacts.queries.ts';
import { logBatch } from '../runs/run.commands.ts';
import { getKeyValues, getRunsByIds, type RunRow } from '../runs/runs.queries.ts';
import { loadExperiment } from './experiments.handlers.ts';
import type { MlflowContext, MlflowRoute } from './mlflow-route.ts';
import { doesNotExist, invalidParameter, MlflowError } from './mlflow.errors.ts';
import { runArtifactUri } from './mlflow-ids.ts';
import {
  keyValues,
  messageList,
  optionalBool,
  optionalInt,
  optionalString,
  requireString,
  stringList,
  type Message,
} from './mlflow-input.ts';
import { decodePageToken, encodePageToken } from './mlflow-paging.ts';
import {
  LOGGED_MODEL_DIR,
  LOGGED_MODEL_TAG_PREFIX,
  chunkRecord,
  loggedModelRunId,
  matchesLoggedModelFilter,
  newLoggedModelId,
  parseLoggedModelFilter,
  readRecords,
  type LoggedModelRecord,
} from './logged-model-store.ts';

/**
 * MLflow 3 logged models (service.proto `LoggedModel`, `/mlflow/logged-models/…`) over Cairn's
 * runs (docs/mlflow-compatibility.md, "Logged models"). Cairn has no logged-model entity: to
 * the server a model is a directory of run artifacts (docs/models.md). So a logged model is
 *
 * - a directory of its source run's artifacts, `models/<model_id>/`, which is its
 *   `artifact_uri` (`mlflow-artifacts:/<experiment>/<run>/artifacts/models/<model_id>`): the
 *   client uploads the model's files there through the proxy, each a `RunArtifactLogged` event;
 * - its metadata (name, type, status, tags, params) in run tags `cairn.logged_model.<id>.<n>`
 *   (logged with the run's ordinary LogRunBatch command);
 * - an id `m-<run id><8 hex>`, so the run is found from the id alone.
 *
 * A logged model therefore needs a source run (`mlflow.<flavor>.log_model` inside a run);
 * without one the create call is INVALID_PARAMETER_VALUE.
 */

const STATUS_NAMES = [
  'LOGGED_MODEL_STATUS_UNSPECIFIED',
  'LOGGED_MODEL_PENDING',
  'LOGGED_MODEL_READY',
  'LOGGED_MODEL_UPLOAD_FAILED',
] as const;

function statusOf(raw: unknown): string {
  if (typeof raw === 'number' && STATUS_NAMES[raw]) return STATUS_NAMES[raw];
  if (typeof raw === 'string') {
    if (/^\d+$/u.test(raw) && STATUS_NAMES[Number(raw)]) return STATUS_NAMES[Number(raw)]!;
    if ((STATUS_NAMES as readonly string[]).includes(raw)) return raw;
  }
  throw invalidParameter(
    `Invalid value ${JSON.stringify(raw)} for parameter 'status': use LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED`,
  );
}

export interface LoadedLoggedModel {
  record: LoggedModelRecord;
  run: RunRow;
}

/** The logged model with that id in the caller's workspace (deleted ones only when asked). */
export async function loadLoggedModel(
  ctx: MlflowContext,
  modelId: string,
  allowDeleted = false,
): Promise<LoadedLoggedModel> {
  const missing = () => doesNotExist(`Logged model with ID '${modelId}' not found.`);
  const runId = loggedModelRunId(modelId);
  if (runId === null) throw missing();
  const [run] = await getRunsByIds(ctx.deps.db, ctx.workspaceId, [runId]);
  if (!run) throw missing();
  const tags = (await getKeyValues(ctx.deps.db, 'run_tags', ctx.workspaceId, [runId])).get(runId);
  const record = readRecords(tags ?? []).get(modelId);
  if (!record || (record.deleted && !allowDeleted)) throw missing();
  return { record, run };
}

/** Where the model's files are, as the client addresses them. */
export function loggedModelArtifactUri(run: RunRow, modelId: string): string {
  return `${runArtifactUri(run.experiment_id, run.run_id)}/${LOGGED_MODEL_DIR}/${modelId}`;
}

/** Run artifact path of the model's directory (what a registry version's runs:/ source names). */
export const loggedModelPath = (modelId: string) => `${LOGGED_MODEL_DIR}/${modelId}`;

function loggedModelMessage({ record, run }: LoadedLoggedModel) {
  const tags = Object.entries(record.tags).map(([key, value]) => ({ key, value }));
  const params = Object.entries(record.params).map(([key, value]) => ({ key, value }));
  return {
    info: {
      model_id: record.id,
      experiment_id: run.experiment_id,
      name: record.name,
      creation_timestamp_ms: record.createdAt,
      last_updated_timestamp_ms: record.updatedAt,
      artifact_uri: loggedModelArtifactUri(run, record.id),
      status: record.status,
      ...(record.modelType !== null ? { model_type: record.modelType } : {}),
      source_run_id: run.run_id,
      ...(record.statusMessage !== null ? { status_message: record.statusMessage } : {}),
      ...(tags.length > 0 ? { tags } : {}),
    },
    data: { ...(params.length > 0 ? { params } : {}) },
  };
}

async function save(ctx: MlflowContext, runId: string, record: LoggedModelRecord): Promise<void> {
  const tags = chunkRecord(record);
  await logBatch(ctx.deps, ctx.caller, runId, { metrics: [], params: [], tags });
}

const now = (ctx: MlflowContext) => ctx.deps.decideContext.now().getTime();

/** MLflow's random model names are adjective-animal; Cairn names an unnamed one after its id. */
const defaultName = (id: string) => `model-${id.slice(-8)}`;

async function create(ctx: MlflowContext, body: Message) {
  const experimentId = requireString(body, 'experiment_id');
  const runId = optionalString(body, 'source_run_id');
  if (runId === null || runId === '')
    throw invalidParameter(
      "Cairn stores a logged model in its source run: 'source_run_id' is required (log the model inside a run)",
    );
  const experiment = await loadExperiment(ctx, experimentId);
  const [run] = /^[0-9a-f]{32}$/u.test(runId)
    ? await getRunsByIds(ctx.deps.db, ctx.workspaceId, [runId])
    : [];
  if (!run) throw doesNotExist(`Run with id=${runId} not found`);
  if (run.experiment_id !== experiment.experiment_id)
    throw invalidParameter(
      `Run '${runId}' belongs to experiment '${run.experiment_id}', not '${experimentId}'`,
    );
  const name = optionalString(body, 'name');
  const modelType = optionalString(body, 'model_type');
  const tags = keyValues(body, 'tags');
  const params = keyValues(body, 'params');
  const id = newLoggedModelId(runId, randomBytes(4).toString('hex'));
  const at = now(ctx);
  const record: LoggedModelRecord = {
    id,
    name: name === null || name === '' ? defaultName(id) : name,
    modelType: modelType === '' ? null : modelType,
    status: 'LOGGED_MODEL_PENDING',
    statusMessage: null,
    createdAt: at,
    updatedAt: at,
    deleted: false,
    tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
    params: Object.fromEntries(params.map((p) => [p.key, p.value])),
  };
  await save(ctx, runId, record);
  return { model: loggedModelMessage({ record, run }) };
}

async function get(ctx: MlflowContext, body: Message) {
  const allowDeleted = optionalBool(body, 'allow_deleted') ?? false;
  return {
    model: loggedModelMessage(await loadLoggedModel(ctx, ctx.params.model_id!, allowDeleted)),
  };
}

async function finalize(ctx: MlflowContext, body: Message) {
  const loaded = await loadLoggedModel(ctx, ctx.params.model_id!);
  const status = statusOf(body.status);
  if (status !== 'LOGGED_MODEL_READY' && status !== 'LOGGED_MODEL_UPLOAD_FAILED')
    throw invalidParameter(
      `Invalid value ${status} for parameter 'status': use LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED`,
    );
  const record = { ...loaded.record, status, updatedAt: now(ctx) };
  await save(ctx, loaded.run.run_id, record);
  return { model: loggedModelMessage({ ...loaded, record }) };
}

async function remove(ctx: MlflowContext) {
  const loaded = await loadLoggedModel(ctx, ctx.params.model_id!);
  await save(ctx, loaded.run.run_id, { ...loaded.record, deleted: true, updatedAt: now(ctx) });
  return {};
}

async function setTags(ctx: MlflowContext, body: Message) {
  const loaded = await loadLoggedModel(ctx, ctx.params.model_id!);
  const tags = keyValues(body, 'tags');
  const merged = { ...loaded.record.tags };
  for (const t of tags) merged[t.key] = t.value;
  await save(ctx, loaded.run.run_id, { ...loaded.record, tags: merged, updatedAt: now(ctx) });
  return {};
}

async function deleteTag(ctx: MlflowContext) {
  const loaded = await loadLoggedModel(ctx, ctx.params.model_id!);
  const key = ctx.params.tag_key!;
  if (!(key in loaded.record.tags))
    throw doesNotExist(`No tag with key '${key}' found on logged model '${loaded.record.id}'`);
  const tags = { ...loaded.record.tags };
  delete tags[key];
  await save(ctx, loaded.run.run_id, { ...loaded.record, tags, updatedAt: now(ctx) });
  return {};
}

async function logParams(ctx: MlflowContext, body: Message) {
  const loaded = await loadLoggedModel(ctx, ctx.params.model_id!);
  const params = { ...loaded.record.params };
  for (const p of keyValues(body, 'params')) params[p.key] = p.value;
  await save(ctx, loaded.run.run_id, { ...loaded.record, params, updatedAt: now(ctx) });
  return {};
}

/** MLflow's default and largest page of search-logged-models. */
const SEARCH_DEFAULT = 50;
const SEARCH_MAX = 1000;

const ORDER_FIELDS: Readonly<Record<string, (m: LoadedLoggedModel) => string | number | null>> = {
  creation_timestamp: (m) => m.record.createdAt,
  creation_time: (m) => m.record.createdAt,
  last_updated_timestamp: (m) => m.record.updatedAt,
  name: (m) => m.record.name,
  model_id: (m) => m.record.id,
  model_type: (m) => m.record.modelType,
  status: (m) => m.record.status,
  source_run_id: (m) => m.run.run_id,
};

async function search(ctx: MlflowContext, body: Message) {
  const experimentIds = stringList(body, 'experiment_ids');
  if (experimentIds.length === 0)
    throw invalidParameter("Missing value for required parameter 'experiment_ids'.");
  const requested = optionalInt(body, 'max_results');
  if (requested !== null && (requested < 1 || requested > SEARCH_MAX))
    throw invalidParameter(
      `Invalid value ${requested} for parameter 'max_results': it must be at least 1 and at most ${SEARCH_MAX}`,
    );
  const limit = requested ?? SEARCH_DEFAULT;
  const filter = parseLoggedModelFilter(optionalString(body, 'filter') ?? '');
  const orderBy = messageList(body, 'order_by').map((o) => {
    const field = requireString(o, 'field_name').replace(/^attributes\./u, '');
    const key = ORDER_FIELDS[field];
    if (!key)
      throw invalidParameter(
        `Cannot order logged models by '${field}': use ${Object.keys(ORDER_FIELDS).join(', ')}`,
      );
    return { key, ascending: optionalBool(o, 'ascending') ?? true };
  });
  if (messageList(body, 'datasets').length > 0)
    throw new MlflowError(
      'NOT_IMPLEMENTED',
      'Searching logged models by dataset is not supported by Cairn yet',
    );
  const offsetToken = decodePageToken(body, 'logged-models');
  const offset = typeof offsetToken === 'number' && offsetToken >= 0 ? offsetToken : 0;

  const experiments = await Promise.all(experimentIds.map((id) => loadExperiment(ctx, id)));
  const ids = experiments.map((e) => e.experiment_id);
  const rows = await ctx.deps.db
    .selectFrom('run_tags')
    .select(['run_id', 'key', 'value'])
    .where('workspace_id', '=', ctx.workspaceId)
    .where('experiment_id', 'in', ids)
    .where('key', '>=', LOGGED_MODEL_TAG_PREFIX)
    .where('key', '<', `${LOGGED_MODEL_TAG_PREFIX}\uffff`)
    .execute();
  const byRun = new Map<string, { key: string; value: string }[]>();
  for (const r of rows) {
    const list = byRun.get(r.run_id) ?? [];
    list.push({ key: r.key, value: r.value });
    byRun.set(r.run_id, list);
  }
  const runs = new Map(
    (await getRunsByIds(ctx.deps.db, ctx.workspaceId, [...byRun.keys()])).map((r) => [r.run_id, r]),
  );
  const found: LoadedLoggedModel[] = [];
  for (const [runId, tags] of byRun) {
    const run = runs.get(runId);
    if (!run) continue;
    for (const record of readRecords(tags).values())
      if (!record.deleted && matchesLoggedModelFilter(filter, record, run.run_id))
        found.push({ record, run });
  }
  const compare = (a: LoadedLoggedModel, b: LoadedLoggedModel): number => {
    for (const { key, ascending } of orderBy) {
      const x = key(a);
      const y = key(b);
      if (x === y) continue;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * (ascending ? 1 : -1);
    }
    // Newest first, then by id: a stable order for paging.
    if (a.record.createdAt !== b.record.createdAt) return b.record.createdAt - a.record.createdAt;
    return a.record.id < b.record.id ? -1 : 1;
  };
  found.sort(compare);
  const page = found.slice(offset, offset + limit);
  return {
    models: page.map(loggedModelMessage),
    ...(offset + limit < found.length
      ? { next_page_token: encodePageToken('logged-models', offset + limit) }
      : {}),
  };
}

/** `GET …/artifacts/directories?artifact_directory_path=`: the model directory's children. */
async function listArtifacts(ctx: MlflowContext, body: Message) {
  const loaded = await loadLoggedModel(ctx, ctx.params.model_id!);
  if (optionalString(body, 'page_token'))
    throw invalidParameter('page_token is not valid: Cairn answers this listing in one page');
  const sub = (optionalString(body, 'artifact_directory_path') ?? '').replace(/^\/+|\/+$/gu, '');
  if (sub.split('/').some((p) => p === '..' || p === '.') || sub.includes('\\'))
    throw invalidParameter(`Invalid artifact_directory_path '${sub}'`);
  const base = loggedModelPath(loaded.record.id);
  const dir = sub === '' ? base : `${base}/${sub}`;
  const children =
    (await listArtifactChildren(ctx.deps.db, ctx.workspaceId, [loaded.run.run_id], dir)).get(
      loaded.run.run_id,
    ) ?? [];
  return {
    root_uri: loggedModelArtifactUri(loaded.run, loaded.record.id),
    files: [...children]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((c) => ({
        path: sub === '' ? c.name : `${sub}/${c.name}`,
        is_dir: c.isDir,
        ...(c.isDir || c.size === null ? {} : { file_size: c.size }),
      })),
  };
}

export const loggedModelRoutes: MlflowRoute[] = [
  { method: 'POST', path: '/mlflow/logged-models', handler: create },
  { method: 'POST', path: '/mlflow/logged-models/search', handler: search },
  { method: 'GET', path: '/mlflow/logged-models/{model_id}', handler: get },
  { method: 'PATCH', path: '/mlflow/logged-models/{model_id}', handler: finalize },
  { method: 'DELETE', path: '/mlflow/logged-models/{model_id}', handler: remove },
  { method: 'PATCH', path: '/mlflow/logged-models/{model_id}/tags', handler: setTags },
  { method: 'DELETE', path: '/mlflow/logged-models/{model_id}/tags/{tag_key}', handler: deleteTag },
  { method: 'POST', path: '/mlflow/logged-models/{model_id}/params', handler: logParams },
  {
    method: 'GET',
    path: '/mlflow/logged-models/{model_id}/artifacts/directories',
    handler: listArtifacts,
  },
];
