import type { ModelStage } from '@cairn/events';
import {
  createModelVersion,
  deleteModelVersion,
  deleteModelVersionTag,
  setModelVersionTag,
  transitionModelVersionStage,
  updateModelVersion,
} from '../registry/registry.commands.ts';
import {
  getAliases,
  getVersionsByKeys,
  getVersionTags,
  searchVersions,
  versionKey,
  type VersionRow,
} from '../registry/registry.queries.ts';
import type { MlflowContext, MlflowRoute } from './mlflow-route.ts';
import { doesNotExist, invalidParameter } from './mlflow.errors.ts';
import { runArtifactUri } from './mlflow-ids.ts';
import {
  keyValues,
  optionalBool,
  optionalString,
  requireString,
  stringList,
  type Message,
} from './mlflow-input.ts';
import {
  modelRowByName,
  searchPaging,
  toCairnRegistryExpression,
  toCairnRegistryFilter,
} from './registry.handlers.ts';
import { loadLoggedModel, loggedModelPath } from './logged-models.handlers.ts';
import { loggedModelRunId } from './logged-model-store.ts';

/**
 * MLflow's model registry, model versions (model_registry.proto `ModelVersion`) over Cairn's
 * registry commands and queries. Stages are MLflow's spellings on the wire ("None", "Staging",
 * "Production", "Archived") and Cairn's upper-case names inside.
 */

export const STAGE_FROM_MLFLOW: Readonly<Record<string, ModelStage>> = {
  none: 'NONE',
  staging: 'STAGING',
  production: 'PRODUCTION',
  archived: 'ARCHIVED',
};
const STAGE_TO_MLFLOW: Readonly<Record<string, string>> = {
  NONE: 'None',
  STAGING: 'Staging',
  PRODUCTION: 'Production',
  ARCHIVED: 'Archived',
};

/** MLflow's default and largest `max_results` of search-model-versions. */
export const VERSION_SEARCH_DEFAULT = 10_000;
export const VERSION_SEARCH_MAX = 200_000;

/**
 * A version source as the client sends it, in Cairn's source schemes: a run artifact behind this
 * server's proxy (`mlflow-artifacts:/<experiment>/<run>/artifacts/<path>`) is the run's
 * artifact `runs:/<run>/<path>`, which is what Cairn's registry links to the run.
 */
export function toCairnSource(source: string): string {
  const m = /^mlflow-artifacts:\/+[^/]+\/([0-9a-f]{32})\/artifacts(?:\/(.*))?$/u.exec(source);
  if (!m) return source;
  return `runs:/${m[1]}/${m[2] ?? ''}`;
}

/**
 * A version of an MLflow 3 logged model (`models:/m-…`, or `model_id` with its artifact URI)
 * is registered in Cairn as the run artifacts holding it, `runs:/<run>/models/<model_id>`
 * (logged-models.handlers.ts), so Cairn links, shows and serves it like any run model; the
 * MLflow answer gives back `models:/<model_id>` and `model_id`, read off that source.
 */
async function resolveSource(
  ctx: MlflowContext,
  source: string,
  modelId: string | null,
): Promise<string> {
  const logged = /^models:\/(m-[^/@]+)\/?$/u.exec(source)?.[1] ?? null;
  if (logged !== null && modelId !== null && modelId !== logged)
    throw invalidParameter(
      `Invalid model version source: '${source}'. The model_id request parameter must identify the resource that contains the source.`,
    );
  const id = logged ?? modelId;
  if (id === null) return toCairnSource(source);
  const { run, record } = await loadLoggedModel(ctx, id);
  const base = `runs:/${run.run_id}/${loggedModelPath(record.id)}`;
  if (logged !== null) return base;
  // model_id with an explicit source: it must be the model's own directory (or inside it).
  const cairn = toCairnSource(source);
  if (cairn !== base && !cairn.startsWith(`${base}/`))
    throw invalidParameter(
      `Invalid model version source: '${source}'. The model_id request parameter must identify the resource that contains the source.`,
    );
  return cairn;
}

/**
 * MLflow 3 prompts as the client stores them (docs/mlflow-compatibility.md, "Prompts"): a
 * version tagged `mlflow.prompt.is_prompt=true` whose source is one of MLflow's placeholders
 * ("dummy-source", "prompt-template"); the template is in its tags. Cairn's registry keeps the
 * placeholder as `file:mlflow-prompt:<placeholder>` (a source scheme it accepts, naming no file)
 * and answers the placeholder back.
 */
const PROMPT_PLACEHOLDERS = new Set(['dummy-source', 'prompt-template']);
const PROMPT_SOURCE_PREFIX = 'file:mlflow-prompt:';

function isPromptRequest(tags: readonly { key: string; value: string }[]): boolean {
  const last = tags.filter((t) => t.key === 'mlflow.prompt.is_prompt').at(-1);
  return last?.value.toLowerCase() === 'true';
}

function promptSource(source: string): string {
  if (!PROMPT_PLACEHOLDERS.has(source))
    throw invalidParameter(
      `Invalid prompt source: '${source}'. Prompt sources must use an MLflow placeholder.`,
    );
  return `${PROMPT_SOURCE_PREFIX}${source}`;
}

function mlflowSource(source: string): string {
  if (source.startsWith(PROMPT_SOURCE_PREFIX)) {
    const placeholder = source.slice(PROMPT_SOURCE_PREFIX.length);
    if (PROMPT_PLACEHOLDERS.has(placeholder)) return placeholder;
  }
  return source;
}

/** The logged model a Cairn source is the directory of, or null. */
function loggedModelOfSource(source: string): string | null {
  const m = /^runs:\/([0-9a-f]{32})\/models\/(m-[0-9a-f]{40})\/?$/u.exec(source);
  return m && loggedModelRunId(m[2]!) === m[1] ? m[2]! : null;
}

/** MLflow's `ModelVersion` messages, in the order of the rows. */
export async function modelVersionMessages(ctx: MlflowContext, rows: readonly VersionRow[]) {
  const keys = rows.map((r) => versionKey(r.model_id, r.version));
  const modelIds = [...new Set(rows.map((r) => r.model_id))];
  const [tags, aliases] = await Promise.all([
    getVersionTags(ctx.deps.db, ctx.workspaceId, keys),
    getAliases(ctx.deps.db, ctx.workspaceId, modelIds),
  ]);
  return rows.map((row) => {
    const versionTags = tags.get(versionKey(row.model_id, row.version)) ?? [];
    const versionAliases = (aliases.get(row.model_id) ?? [])
      .filter((a) => a.version === row.version)
      .map((a) => a.alias);
    const loggedId = loggedModelOfSource(row.source);
    return {
      name: row.model_name,
      version: String(row.version),
      creation_timestamp: new Date(row.created_at).getTime(),
      last_updated_timestamp: new Date(row.updated_at).getTime(),
      current_stage: STAGE_TO_MLFLOW[row.stage] ?? row.stage,
      ...(row.description !== null ? { description: row.description } : {}),
      source: loggedId !== null ? `models:/${loggedId}` : mlflowSource(row.source),
      ...(loggedId !== null ? { model_id: loggedId } : {}),
      ...(row.run_id !== null ? { run_id: row.run_id } : {}),
      status: row.status,
      ...(versionTags.length > 0 ? { tags: versionTags } : {}),
      ...(versionAliases.length > 0 ? { aliases: versionAliases } : {}),
    };
  });
}

export function versionNumber(body: Message): number {
  const raw = requireString(body, 'version');
  const n = Number(raw);
  if (!/^\d+$/u.test(raw) || n < 1 || !Number.isSafeInteger(n))
    throw invalidParameter(`Parameter 'version' must be an integer, got '${raw}'.`);
  return n;
}

async function versionRow(ctx: MlflowContext, name: string, version: number): Promise<VersionRow> {
  const model = await modelRowByName(ctx, name);
  const key = versionKey(model.model_id, version);
  const row = (await getVersionsByKeys(ctx.deps.db, ctx.workspaceId, [key])).get(key);
  if (!row) throw doesNotExist(`Model Version (name=${name}, version=${version}) not found`);
  return row;
}

async function versionResponse(ctx: MlflowContext, name: string, version: number) {
  const [message] = await modelVersionMessages(ctx, [await versionRow(ctx, name, version)]);
  return { model_version: message };
}

async function create(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  await modelRowByName(ctx, name);
  const modelId = optionalString(body, 'model_id') || null;
  const tags = keyValues(body, 'tags');
  const rawSource = requireString(body, 'source');
  const source = isPromptRequest(tags)
    ? promptSource(rawSource)
    : await resolveSource(ctx, rawSource, modelId);
  const result = await createModelVersion(ctx.deps, ctx.caller, {
    name,
    source,
    runId: optionalString(body, 'run_id') || null,
    description: optionalString(body, 'description'),
    tags,
    createModelIfMissing: false,
  });
  return versionResponse(ctx, result.state.name, result.version);
}

const get = (ctx: MlflowContext, body: Message) =>
  versionResponse(ctx, requireString(body, 'name'), versionNumber(body));

async function update(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  const version = versionNumber(body);
  await versionRow(ctx, name, version);
  const description = optionalString(body, 'description');
  if (description !== null)
    await updateModelVersion(ctx.deps, ctx.caller, name, version, description);
  return versionResponse(ctx, name, version);
}

async function remove(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  const version = versionNumber(body);
  await versionRow(ctx, name, version);
  await deleteModelVersion(ctx.deps, ctx.caller, name, version);
  return {};
}

async function transition(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  const version = versionNumber(body);
  const rawStage = requireString(body, 'stage');
  const stage = STAGE_FROM_MLFLOW[rawStage.toLowerCase()];
  if (!stage)
    throw invalidParameter(
      `Invalid Model Version stage: ${rawStage}. Value must be one of None, Staging, Production, Archived.`,
    );
  const archiveExistingVersions = optionalBool(body, 'archive_existing_versions') ?? false;
  await versionRow(ctx, name, version);
  await transitionModelVersionStage(ctx.deps, ctx.caller, {
    name,
    version,
    stage,
    archiveExistingVersions,
  });
  return versionResponse(ctx, name, version);
}

async function setTag(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  const version = versionNumber(body);
  const key = requireString(body, 'key');
  await versionRow(ctx, name, version);
  await setModelVersionTag(
    ctx.deps,
    ctx.caller,
    name,
    version,
    key,
    optionalString(body, 'value') ?? '',
  );
  return {};
}

async function deleteTag(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  const version = versionNumber(body);
  const key = requireString(body, 'key');
  await versionRow(ctx, name, version);
  await deleteModelVersionTag(ctx.deps, ctx.caller, name, version, key);
  return {};
}

async function search(ctx: MlflowContext, body: Message) {
  const { first, after } = searchPaging(body, VERSION_SEARCH_DEFAULT, VERSION_SEARCH_MAX);
  const filter = optionalString(body, 'filter');
  const page = await searchVersions(ctx.deps.db, ctx.workspaceId, {
    filter: filter ? toCairnRegistryFilter(filter) : null,
    orderBy: stringList(body, 'order_by').map(toCairnRegistryExpression),
    first,
    after,
  });
  const last = page.rows.at(-1);
  return {
    model_versions: await modelVersionMessages(
      ctx,
      page.rows.map((r) => r.node),
    ),
    ...(page.hasNextPage && last ? { next_page_token: last.cursor } : {}),
  };
}

/**
 * Where the client downloads a version's files: a run artifact source is served by this
 * server's `mlflow-artifacts` proxy; other sources (s3://, file:, models:/) are returned as
 * registered.
 */
async function downloadUri(ctx: MlflowContext, body: Message) {
  const row = await versionRow(ctx, requireString(body, 'name'), versionNumber(body));
  const m = /^runs:\/([0-9a-f]{32})(?:\/(.*))?$/u.exec(row.source);
  if (!m) return { artifact_uri: row.source };
  const run = await ctx.deps.db
    .selectFrom('runs')
    .select('experiment_id')
    .where('workspace_id', '=', ctx.workspaceId)
    .where('run_id', '=', m[1]!)
    .executeTakeFirst();
  if (!run) throw doesNotExist(`Run '${m[1]}' of the model version's source not found`);
  const path = (m[2] ?? '').replace(/^\/+|\/+$/gu, '');
  const base = runArtifactUri(run.experiment_id, m[1]!);
  return { artifact_uri: path ? `${base}/${path}` : base };
}

export const modelVersionRoutes: MlflowRoute[] = [
  { method: 'POST', path: '/mlflow/model-versions/create', handler: create },
  { method: 'GET', path: '/mlflow/model-versions/get', handler: get },
  { method: 'PATCH', path: '/mlflow/model-versions/update', handler: update },
  { method: 'DELETE', path: '/mlflow/model-versions/delete', handler: remove },
  { method: 'POST', path: '/mlflow/model-versions/transition-stage', handler: transition },
  { method: 'POST', path: '/mlflow/model-versions/set-tag', handler: setTag },
  { method: 'DELETE', path: '/mlflow/model-versions/delete-tag', handler: deleteTag },
  { method: 'GET', path: '/mlflow/model-versions/search', handler: search },
  { method: 'GET', path: '/mlflow/model-versions/get-download-uri', handler: downloadUri },
];
