import type { KeyValue, RunStatus } from '@cairn/events';
import { CairnError } from '../errors.ts';
import {
  createRun,
  deleteRun,
  deleteTag,
  logBatch,
  logRunInputs,
  restoreRun,
  updateRun,
} from '../runs/run.commands.ts';
import { getKeyValues, type KV } from '../runs/runs.queries.ts';
import type { MetricInput } from '../runs/run.decider.ts';
import type { MlflowContext, MlflowRoute } from './mlflow-route.ts';
import { invalidParameter, notImplemented } from './mlflow.errors.ts';
import { MLFLOW_DEFAULT_EXPERIMENT_ID, resolveExperimentId } from './mlflow-ids.ts';
import {
  keyValues,
  messageList,
  optionalInt,
  optionalString,
  requireDouble,
  requireInt,
  requireString,
  type Message,
} from './mlflow-input.ts';
import {
  LOGGED_MODELS_TAG,
  PARENT_RUN_TAG,
  RUN_NAME_TAG,
  USER_TAG,
  loadRunMessage,
  loadRunRow,
  loggedModelIds,
  runInfoMessage,
} from './run-message.ts';
import { searchRuns } from './run-search.ts';
import { metricRoutes } from './metrics.handlers.ts';

/**
 * MLflow's run endpoints (docs/mlflow-compatibility.md), each a call of Cairn's run commands
 * (run.commands.ts: the same decider and events as GraphQL) or a read of the runs read model.
 */

/** MLflow's log-batch limits (mlflow/utils/validation.py), stricter than Cairn's own. */
export const MLFLOW_BATCH_LIMITS = {
  metrics: 1000,
  params: 100,
  tags: 100,
  total: 1000,
  /** MAX_BATCH_LOG_REQUEST_SIZE: bytes of one request's JSON body (MLflow's REST docs: 1 MB). */
  requestBytes: 1_000_000,
} as const;

const RUN_STATUS_BY_NUMBER: Record<string, RunStatus> = {
  '1': 'RUNNING',
  '2': 'SCHEDULED',
  '3': 'FINISHED',
  '4': 'FAILED',
  '5': 'KILLED',
};
const RUN_STATUSES = new Set<string>(Object.values(RUN_STATUS_BY_NUMBER));

function runStatusOf(msg: Message): RunStatus | null {
  const v = msg.status;
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' && typeof v !== 'number')
    throw invalidParameter(`Invalid value ${JSON.stringify(v)} for parameter 'status'`);
  const text = String(v);
  if (RUN_STATUSES.has(text)) return text as RunStatus;
  const byNumber = RUN_STATUS_BY_NUMBER[text];
  if (byNumber) return byNumber;
  throw invalidParameter(
    `Invalid value ${JSON.stringify(v)} for parameter 'status': use RUNNING, SCHEDULED, FINISHED, FAILED or KILLED`,
  );
}

/** `run_id`, or the deprecated `run_uuid` older clients still send. */
function runIdOf(msg: Message): string {
  const id = optionalString(msg, 'run_id') || optionalString(msg, 'run_uuid');
  if (!id)
    throw invalidParameter(
      "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.",
    );
  return id;
}

function sourceOf(tags: readonly KeyValue[]) {
  const tag = (key: string) => tags.find((t) => t.key === key)?.value ?? null;
  return {
    gitCommit: tag('mlflow.source.git.commit'),
    entryPoint: tag('mlflow.source.name'),
    sourceType: tag('mlflow.source.type'),
  };
}

async function create(ctx: MlflowContext, body: Message) {
  const rawExperiment = optionalString(body, 'experiment_id') || MLFLOW_DEFAULT_EXPERIMENT_ID;
  const experimentId = await resolveExperimentId(ctx.deps, ctx.caller, rawExperiment);
  const tags = keyValues(body, 'tags');
  // MLflow's run info carries user_id; Cairn keeps it as the tag the client sets anyway.
  const userId = optionalString(body, 'user_id');
  if (userId && !tags.some((t) => t.key === USER_TAG)) tags.push({ key: USER_TAG, value: userId });
  const runName = optionalString(body, 'run_name') || null;
  const nameTag = tags.find((t) => t.key === RUN_NAME_TAG)?.value ?? null;
  if (runName !== null && nameTag !== null && runName !== nameTag)
    throw invalidParameter(
      `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${runName}', mlflow.runName='${nameTag}').`,
    );
  const startTime = optionalInt(body, 'start_time');
  const parentRunId = tags.find((t) => t.key === PARENT_RUN_TAG)?.value || null;
  const { runId } = await createRun(ctx.deps, ctx.caller, {
    experimentId,
    name: runName ?? nameTag,
    // MLflow's proto default 0 means "not given".
    startTime: startTime === 0 ? null : startTime,
    parentRunId,
    // The name is the run's own field; the mlflow.runName tag is derived from it on read.
    tags: tags.filter((t) => t.key !== RUN_NAME_TAG),
    source: sourceOf(tags),
  });
  return { run: await loadRunMessage(ctx.deps.db, ctx.workspaceId, runId) };
}

async function get(ctx: MlflowContext, body: Message) {
  return { run: await loadRunMessage(ctx.deps.db, ctx.workspaceId, runIdOf(body)) };
}

async function update(ctx: MlflowContext, body: Message) {
  const runId = runIdOf(body);
  await loadRunRow(ctx.deps.db, ctx.workspaceId, runId);
  const status = runStatusOf(body);
  const endTime = optionalInt(body, 'end_time');
  const name = optionalString(body, 'run_name');
  await updateRun(ctx.deps, ctx.caller, runId, {
    status,
    endTime,
    name: name === null || name === '' ? null : name,
  });
  const row = await loadRunRow(ctx.deps.db, ctx.workspaceId, runId);
  const tags = await getKeyValues(ctx.deps.db, 'run_tags', ctx.workspaceId, [runId]);
  return { run_info: runInfoMessage(row, tags.get(runId) ?? []) };
}

async function remove(ctx: MlflowContext, body: Message) {
  const runId = runIdOf(body);
  const row = await loadRunRow(ctx.deps.db, ctx.workspaceId, runId);
  // MLflow's delete of a deleted run (and restore of an active one) succeeds without change.
  if (row.lifecycle_stage !== 'deleted') await deleteRun(ctx.deps, ctx.caller, runId);
  return {};
}

async function restore(ctx: MlflowContext, body: Message) {
  const runId = runIdOf(body);
  const row = await loadRunRow(ctx.deps.db, ctx.workspaceId, runId);
  if (row.lifecycle_stage === 'deleted') await restoreRun(ctx.deps, ctx.caller, runId);
  return {};
}

/** A metric of log-metric / log-batch; `path` names it in errors (`metrics[3]`). */
function metricOf(msg: Message, path: string): MetricInput {
  const field = (name: string) => (path === '' ? name : `${path}.${name}`);
  const key = optionalString(msg, 'key');
  if (!key) throw invalidParameter(`Missing value for required parameter '${field('key')}'.`);
  if (msg.value === undefined || msg.value === null)
    throw invalidParameter(`Missing value for required parameter '${field('value')}'.`);
  if (msg.timestamp === undefined || msg.timestamp === null)
    throw invalidParameter(`Missing value for required parameter '${field('timestamp')}'.`);
  let value: number;
  let timestamp: number;
  let step: number | null;
  try {
    value = requireDouble(msg, 'value');
    timestamp = requireInt(msg, 'timestamp');
    step = optionalInt(msg, 'step');
  } catch (error) {
    if (path === '' || !(error instanceof Error)) throw error;
    throw invalidParameter(`${path}: ${error.message}`);
  }
  return { key, value, timestamp, step: step ?? 0 };
}

/**
 * Writes one batch through LogRunBatch. A `mlflow.runName` tag renames the run (MLflow keeps the
 * two in step); every other tag is stored as given.
 */
async function writeBatch(
  ctx: MlflowContext,
  runId: string,
  batch: { metrics: MetricInput[]; params: KeyValue[]; tags: KeyValue[] },
) {
  const rename = batch.tags.filter((t) => t.key === RUN_NAME_TAG).at(-1);
  const tags = batch.tags.filter((t) => t.key !== RUN_NAME_TAG);
  const row = await loadRunRow(ctx.deps.db, ctx.workspaceId, runId);
  if (rename && row.lifecycle_stage === 'deleted')
    throw invalidParameter(
      `The run ${runId} must be in the 'active' state. Current state is deleted.`,
    );
  if (batch.metrics.length > 0 || batch.params.length > 0 || tags.length > 0 || !rename) {
    try {
      await logBatch(ctx.deps, ctx.caller, runId, { ...batch, tags });
    } catch (error) {
      // A changed param: MLflow's own message (the client's users match on it).
      const d = error instanceof CairnError ? error.details : {};
      if (typeof d.oldValue === 'string' && typeof d.newValue === 'string')
        throw invalidParameter(
          `Changing param values is not allowed. Param with key='${String(d.key)}' was already logged with value='${d.oldValue}' for run ID='${runId}'. Attempted logging new value '${d.newValue}'.`,
        );
      throw error;
    }
  }
  if (rename && rename.value !== '' && rename.value !== row.name)
    await updateRun(ctx.deps, ctx.caller, runId, {
      status: null,
      endTime: null,
      name: rename.value,
    });
}

async function logMetric(ctx: MlflowContext, body: Message) {
  const runId = runIdOf(body);
  await writeBatch(ctx, runId, { metrics: [metricOf(body, '')], params: [], tags: [] });
  return {};
}

async function logParam(ctx: MlflowContext, body: Message) {
  const runId = runIdOf(body);
  const key = requireString(body, 'key');
  const value = optionalString(body, 'value') ?? '';
  await writeBatch(ctx, runId, { metrics: [], params: [{ key, value }], tags: [] });
  return {};
}

async function setTag(ctx: MlflowContext, body: Message) {
  const runId = runIdOf(body);
  const key = requireString(body, 'key');
  const value = optionalString(body, 'value') ?? '';
  await writeBatch(ctx, runId, { metrics: [], params: [], tags: [{ key, value }] });
  return {};
}

async function removeTag(ctx: MlflowContext, body: Message) {
  const runId = runIdOf(body);
  const key = requireString(body, 'key');
  await loadRunRow(ctx.deps.db, ctx.workspaceId, runId);
  if (key === RUN_NAME_TAG)
    throw invalidParameter(`The tag ${RUN_NAME_TAG} holds the run's name and cannot be deleted`);
  await deleteTag(ctx.deps, ctx.caller, runId, key);
  return {};
}

function batchLimit(kind: string, limit: number, count: number) {
  if (count > limit)
    throw invalidParameter(
      `A batch logging request can contain at most ${limit} ${kind}. Got ${count} ${kind}. Please split up ${kind} across multiple requests and try again.`,
    );
}

/**
 * The body's size in bytes: its Content-Length as sent, else (a chunked body) the JSON the
 * router parsed, serialised again.
 */
function requestBytes(ctx: MlflowContext, body: Message): number {
  const declared = Number(ctx.req.headers['content-length']);
  return Number.isSafeInteger(declared) && declared > 0
    ? declared
    : Buffer.byteLength(JSON.stringify(body), 'utf8');
}

async function logBatchHandler(ctx: MlflowContext, body: Message) {
  // Checked first, as MLflow's _validate_batch_log_api_req (mlflow/utils/validation.py).
  const size = requestBytes(ctx, body);
  if (size > MLFLOW_BATCH_LIMITS.requestBytes)
    throw invalidParameter(
      `Batched logging API requests must be at most ${MLFLOW_BATCH_LIMITS.requestBytes} bytes, got a request of size ${size}.`,
    );
  const runId = runIdOf(body);
  const rawMetrics = messageList(body, 'metrics');
  const rawParams = messageList(body, 'params');
  const rawTags = messageList(body, 'tags');
  batchLimit('metrics', MLFLOW_BATCH_LIMITS.metrics, rawMetrics.length);
  batchLimit('params', MLFLOW_BATCH_LIMITS.params, rawParams.length);
  batchLimit('tags', MLFLOW_BATCH_LIMITS.tags, rawTags.length);
  batchLimit(
    'metrics, params, and tags',
    MLFLOW_BATCH_LIMITS.total,
    rawMetrics.length + rawParams.length + rawTags.length,
  );
  const metrics = rawMetrics.map((m, i) => metricOf(m, `metrics[${i}]`));
  const keyed = (list: Message[], kind: string) =>
    list.map((entry, i) => {
      const key = optionalString(entry, 'key');
      if (!key) throw invalidParameter(`Missing value for required parameter '${kind}[${i}].key'.`);
      return { key, value: optionalString(entry, 'value') ?? '' };
    });
  const params = keyed(rawParams, 'params');
  const tags = keyed(rawTags, 'tags');
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const p of params) (seen.has(p.key) ? duplicates : seen).add(p.key);
  if (duplicates.size > 0)
    throw invalidParameter(
      `Duplicate parameter keys have been submitted: [${[...duplicates].map((k) => `'${k}'`).join(', ')}]. Please ensure the request contains only one param value per param key.`,
    );
  await writeBatch(ctx, runId, { metrics, params, tags });
  return {};
}

/** MLflow's input tag that says how a run used a dataset ("training", "eval", …). */
export const DATASET_CONTEXT_TAG = 'mlflow.data.context';

/**
 * `runs/log-inputs`: datasets become one RunInputsLogged (the same command as GraphQL's
 * logRunInputs); the context is the `mlflow.data.context` input tag. Model inputs (MLflow 3) are
 * not recorded yet: NOT_IMPLEMENTED when any come.
 */
async function logInputs(ctx: MlflowContext, body: Message) {
  const runId = runIdOf(body);
  const datasets = messageList(body, 'datasets');
  const models = messageList(body, 'models');
  await loadRunRow(ctx.deps.db, ctx.workspaceId, runId);
  if (models.length > 0)
    throw notImplemented('Logging model inputs is not supported by Cairn yet; datasets are');
  if (datasets.length === 0) return {};
  const inputs = datasets.map((input, i) => {
    const raw = input['dataset'];
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw invalidParameter(`Missing value for required parameter 'datasets[${i}].dataset'.`);
    const d = raw as Message;
    const field = (name: string) => {
      const v = optionalString(d, name);
      if (!v)
        throw invalidParameter(
          `Missing value for required parameter 'datasets[${i}].dataset.${name}'.`,
        );
      return v;
    };
    const tags = messageList(input, 'tags').map((t, j) => {
      const key = optionalString(t, 'key');
      if (!key)
        throw invalidParameter(
          `Missing value for required parameter 'datasets[${i}].tags[${j}].key'.`,
        );
      return { key, value: optionalString(t, 'value') ?? '' };
    });
    return {
      name: field('name'),
      digest: field('digest'),
      sourceType: field('source_type'),
      source: field('source'),
      schema: optionalString(d, 'schema') || null,
      profile: optionalString(d, 'profile') || null,
      context: tags.find((t) => t.key === DATASET_CONTEXT_TAG)?.value ?? null,
      tags: tags.filter((t) => t.key !== DATASET_CONTEXT_TAG),
    };
  });
  await logRunInputs(ctx.deps, ctx.caller, runId, inputs);
  return {};
}

async function logModel(ctx: MlflowContext, body: Message) {
  const runId = runIdOf(body);
  const modelJson = requireString(body, 'model_json');
  let model: unknown;
  try {
    model = JSON.parse(modelJson);
  } catch {
    throw invalidParameter(`Malformed model info. \n ${modelJson} \n is not a valid JSON.`);
  }
  if (model === null || typeof model !== 'object' || Array.isArray(model))
    throw invalidParameter('Malformed model info: model_json must be a JSON object');
  const missing = ['artifact_path', 'flavors', 'utc_time_created', 'run_id'].filter(
    (f) => !(f in model),
  );
  if (missing.length > 0)
    throw invalidParameter(
      `Model json is missing mandatory fields: {${missing.map((f) => `'${f}'`).join(', ')}}`,
    );
  const row = await loadRunRow(ctx.deps.db, ctx.workspaceId, runId);
  if (row.lifecycle_stage === 'deleted')
    throw invalidParameter(
      `The run ${runId} must be in the 'active' state. Current state is deleted.`,
    );
  // As MLflow's stores: the tag mlflow.log-model.history holds the JSON list of logged models.
  const tags = (await getKeyValues(ctx.deps.db, 'run_tags', ctx.workspaceId, [runId])).get(runId);
  const previous = tags?.find((t: KV) => t.key === LOGGED_MODELS_TAG)?.value;
  let history: unknown[] = [];
  if (previous !== undefined) {
    try {
      const parsed: unknown = JSON.parse(previous);
      if (Array.isArray(parsed)) history = parsed;
    } catch {
      history = [];
    }
  }
  const value = JSON.stringify([...history, model]);
  await logBatch(ctx.deps, ctx.caller, runId, {
    metrics: [],
    params: [],
    tags: [{ key: LOGGED_MODELS_TAG, value }],
  });
  return {};
}

/**
 * `runs/outputs`: MLflow 3 links a logged model to the run that produced it. Cairn keeps a logged
 * model in its source run (logged-models.handlers.ts), so that link exists already; linking a
 * model to another run is not supported. The output's step is not kept (shown as 0).
 */
async function logOutputs(ctx: MlflowContext, body: Message) {
  const runId = runIdOf(body);
  const models = messageList(body, 'models');
  if (models.length === 0)
    throw invalidParameter(
      "Missing value for required parameter 'models'. See the API docs for more information about request parameters.",
    );
  const row = await loadRunRow(ctx.deps.db, ctx.workspaceId, runId);
  if (row.lifecycle_stage === 'deleted')
    throw invalidParameter(
      `The run ${runId} must be in the 'active' state. Current state is deleted.`,
    );
  const tags = (await getKeyValues(ctx.deps.db, 'run_tags', ctx.workspaceId, [runId])).get(runId);
  const own = new Set(loggedModelIds(tags ?? []));
  models.forEach((m, i) => {
    const modelId = optionalString(m, 'model_id');
    if (!modelId)
      throw invalidParameter(`Missing value for required parameter 'models[${i}].model_id'.`);
    optionalInt(m, 'step');
    if (!own.has(modelId))
      throw notImplemented(
        `Logged model ${modelId} is not a model of run ${runId}: Cairn links a logged model only to its source run (create it with source_run_id=${runId})`,
      );
  });
  return {};
}

async function search(ctx: MlflowContext, body: Message) {
  return searchRuns(ctx, body);
}

export const runRoutes: MlflowRoute[] = [
  { method: 'POST', path: '/mlflow/runs/create', handler: create },
  { method: 'GET', path: '/mlflow/runs/get', handler: get },
  { method: 'POST', path: '/mlflow/runs/update', handler: update },
  { method: 'POST', path: '/mlflow/runs/delete', handler: remove },
  { method: 'POST', path: '/mlflow/runs/restore', handler: restore },
  { method: 'POST', path: '/mlflow/runs/log-metric', handler: logMetric },
  { method: 'POST', path: '/mlflow/runs/log-parameter', handler: logParam },
  { method: 'POST', path: '/mlflow/runs/set-tag', handler: setTag },
  { method: 'POST', path: '/mlflow/runs/delete-tag', handler: removeTag },
  { method: 'POST', path: '/mlflow/runs/log-batch', handler: logBatchHandler },
  { method: 'POST', path: '/mlflow/runs/log-inputs', handler: logInputs },
  { method: 'POST', path: '/mlflow/runs/log-model', handler: logModel },
  { method: 'POST', path: '/mlflow/runs/outputs', handler: logOutputs },
  { method: 'POST', path: '/mlflow/runs/search', handler: search },
  ...metricRoutes,
];
