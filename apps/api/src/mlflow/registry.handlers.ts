import type { ModelStage } from '@cairn/events';
import {
  findModelIdByName,
  createRegisteredModel,
  deleteModelAlias,
  deleteRegisteredModel,
  deleteRegisteredModelTag,
  renameRegisteredModel,
  setModelAlias,
  setRegisteredModelTag,
  updateRegisteredModel,
} from '../registry/registry.commands.ts';
import {
  getAliases,
  getLatestVersions,
  getModelsByIds,
  getModelTags,
  getVersionsByKeys,
  searchModels,
  versionKey,
  type ModelRow,
} from '../registry/registry.queries.ts';
import type { MlflowContext, MlflowRoute } from './mlflow-route.ts';
import { doesNotExist, invalidParameter } from './mlflow.errors.ts';
import {
  keyValues,
  optionalInt,
  optionalString,
  requireString,
  stringList,
  type Message,
} from './mlflow-input.ts';
import {
  modelVersionMessages,
  STAGE_FROM_MLFLOW,
  versionNumber,
} from './model-versions.handlers.ts';

/**
 * MLflow's model registry, registered models (model_registry.proto `RegisteredModel`): every
 * call runs Cairn's registry commands and queries (docs/registry.md); a model is addressed by
 * its name, as in MLflow. Timestamps are epoch milliseconds as JSON numbers, as MLflow's server
 * writes int64 fields; version numbers are strings, as in MLflow's messages.
 */

/** MLflow's default and largest `max_results` of search-registered-models. */
export const MODEL_SEARCH_DEFAULT = 100;
export const MODEL_SEARCH_MAX = 1000;

const IDENTIFIERS: Readonly<Record<string, string>> = {
  timestamp: 'updated_at',
  last_updated_timestamp: 'updated_at',
  creation_timestamp: 'created_at',
  version_number: 'version',
  source_path: 'source',
  current_stage: 'stage',
};

/**
 * MLflow's registry filter and order-by identifiers in Cairn's registry grammar
 * (registry-search.ts): bare words outside quotes are renamed, quoted text is left alone.
 */
export function toCairnRegistryExpression(text: string): string {
  return text.replace(
    /'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|[A-Za-z_][A-Za-z0-9_]*/gu,
    (token) => IDENTIFIERS[token.toLowerCase()] ?? token,
  );
}

/**
 * A search filter in Cairn's grammar. The 3.x client appends
 * ``tag.`mlflow.prompt.is_prompt` != 'true'`` to every model search to leave prompts out; in
 * MLflow a model without that tag matches, so the clause is read as "absent or not 'true'".
 */
export function toCairnRegistryFilter(text: string): string {
  const prompt = /\btags?\.`mlflow\.prompt\.is_prompt`\s*(!=|=)\s*'true'/giu;
  const rewritten = text.replace(prompt, (_m, op: string) =>
    op === '='
      ? "tags.`mlflow.prompt.is_prompt` = 'true'"
      : "(tags.`mlflow.prompt.is_prompt` IS NULL OR tags.`mlflow.prompt.is_prompt` != 'true')",
  );
  return toCairnRegistryExpression(rewritten);
}

export function searchPaging(
  body: Message,
  defaultMax: number,
  max: number,
): { first: number; after: string | null } {
  const requested = optionalInt(body, 'max_results');
  if (requested !== null && (requested < 1 || requested > max))
    throw invalidParameter(
      `Invalid value ${requested} for parameter 'max_results' supplied. It must be at most ${max} and at least 1.`,
    );
  // Pages are at most 1000 rows; larger max_results get next_page_token (the client follows it).
  const first = Math.min(requested ?? defaultMax, MODEL_SEARCH_MAX);
  return { first, after: optionalString(body, 'page_token') || null };
}

export async function modelRowByName(ctx: MlflowContext, name: string): Promise<ModelRow> {
  const id = await findModelIdByName(ctx.deps.db, ctx.workspaceId, name);
  const [row] = id === null ? [] : await getModelsByIds(ctx.deps.db, ctx.workspaceId, [id]);
  if (!row) throw doesNotExist(`Registered Model with name=${name} not found`);
  return row;
}

/** MLflow's `RegisteredModel` messages for the rows, with tags, aliases and latest versions. */
export async function registeredModelMessages(ctx: MlflowContext, rows: readonly ModelRow[]) {
  const ids = rows.map((r) => r.model_id);
  const { db } = ctx.deps;
  const [tags, aliases, latest] = await Promise.all([
    getModelTags(db, ctx.workspaceId, ids),
    getAliases(db, ctx.workspaceId, ids),
    getLatestVersions(db, ctx.workspaceId, ids),
  ]);
  const latestRows = rows.flatMap((r) => latest.get(r.model_id) ?? []);
  const latestMessages = await modelVersionMessages(ctx, latestRows);
  const latestByModel = new Map<string, unknown[]>();
  latestRows.forEach((v, i) => {
    const list = latestByModel.get(v.model_id) ?? [];
    list.push(latestMessages[i]);
    latestByModel.set(v.model_id, list);
  });
  return rows.map((row) => {
    const modelTags = tags.get(row.model_id) ?? [];
    const modelAliases = aliases.get(row.model_id) ?? [];
    const latestList = latestByModel.get(row.model_id) ?? [];
    return {
      name: row.name,
      creation_timestamp: new Date(row.created_at).getTime(),
      last_updated_timestamp: new Date(row.updated_at).getTime(),
      ...(row.description !== null ? { description: row.description } : {}),
      ...(latestList.length > 0 ? { latest_versions: latestList } : {}),
      ...(modelTags.length > 0 ? { tags: modelTags } : {}),
      ...(modelAliases.length > 0
        ? { aliases: modelAliases.map((a) => ({ alias: a.alias, version: String(a.version) })) }
        : {}),
    };
  });
}

async function modelResponse(ctx: MlflowContext, name: string) {
  const row = await modelRowByName(ctx, name);
  const [message] = await registeredModelMessages(ctx, [row]);
  return { registered_model: message };
}

async function create(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  const result = await createRegisteredModel(ctx.deps, ctx.caller, {
    name,
    description: optionalString(body, 'description'),
    tags: keyValues(body, 'tags'),
  });
  return modelResponse(ctx, result.state.name);
}

const get = (ctx: MlflowContext, body: Message) => modelResponse(ctx, requireString(body, 'name'));

async function rename(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  const newName = requireString(body, 'new_name');
  await modelRowByName(ctx, name);
  const result = await renameRegisteredModel(ctx.deps, ctx.caller, name, newName);
  return modelResponse(ctx, result.state.name);
}

async function update(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  await modelRowByName(ctx, name);
  const description = optionalString(body, 'description');
  if (description !== null) await updateRegisteredModel(ctx.deps, ctx.caller, name, description);
  return modelResponse(ctx, name);
}

async function remove(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  await modelRowByName(ctx, name);
  await deleteRegisteredModel(ctx.deps, ctx.caller, name);
  return {};
}

async function search(ctx: MlflowContext, body: Message) {
  const { first, after } = searchPaging(body, MODEL_SEARCH_DEFAULT, MODEL_SEARCH_MAX);
  const filter = optionalString(body, 'filter');
  const page = await searchModels(ctx.deps.db, ctx.workspaceId, {
    filter: filter ? toCairnRegistryFilter(filter) : null,
    orderBy: stringList(body, 'order_by').map(toCairnRegistryExpression),
    first,
    after,
  });
  const messages = await registeredModelMessages(
    ctx,
    page.rows.map((r) => r.node),
  );
  const last = page.rows.at(-1);
  return {
    registered_models: messages,
    ...(page.hasNextPage && last ? { next_page_token: last.cursor } : {}),
  };
}

async function latestVersions(ctx: MlflowContext, body: Message) {
  const row = await modelRowByName(ctx, requireString(body, 'name'));
  const stages = stringList(body, 'stages').map((s) => {
    const stage = STAGE_FROM_MLFLOW[s.toLowerCase()];
    if (!stage)
      throw invalidParameter(
        `Invalid Model Version stage: ${s}. Value must be one of None, Staging, Production, Archived.`,
      );
    return stage;
  });
  const latest = (await getLatestVersions(ctx.deps.db, ctx.workspaceId, [row.model_id])).get(
    row.model_id,
  );
  const wanted = new Set<ModelStage>(stages);
  const chosen = (latest ?? []).filter(
    (v) => wanted.size === 0 || wanted.has(v.stage as ModelStage),
  );
  return { model_versions: await modelVersionMessages(ctx, chosen) };
}

async function setTag(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  await modelRowByName(ctx, name);
  const key = requireString(body, 'key');
  await setRegisteredModelTag(ctx.deps, ctx.caller, name, key, optionalString(body, 'value') ?? '');
  return {};
}

async function deleteTag(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  await modelRowByName(ctx, name);
  await deleteRegisteredModelTag(ctx.deps, ctx.caller, name, requireString(body, 'key'));
  return {};
}

async function setAlias(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  const alias = requireString(body, 'alias');
  const version = versionNumber(body);
  await modelRowByName(ctx, name);
  await setModelAlias(ctx.deps, ctx.caller, name, alias, version);
  return {};
}

async function deleteAlias(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  await modelRowByName(ctx, name);
  await deleteModelAlias(ctx.deps, ctx.caller, name, requireString(body, 'alias'));
  return {};
}

async function getByAlias(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  const alias = requireString(body, 'alias');
  const row = await modelRowByName(ctx, name);
  const aliases = (await getAliases(ctx.deps.db, ctx.workspaceId, [row.model_id])).get(
    row.model_id,
  );
  let number = aliases?.find((a) => a.alias === alias)?.version;
  // "latest" is the newest version, as MLflow's stores answer it (load_prompt("prompts:/p@latest")):
  // Cairn reserves the word, so it is never a real alias.
  if (number === undefined && alias.toLowerCase() === 'latest') {
    const latest = (await getLatestVersions(ctx.deps.db, ctx.workspaceId, [row.model_id])).get(
      row.model_id,
    );
    number = latest?.reduce((max, v) => Math.max(max, v.version), 0) || undefined;
  }
  if (number === undefined) throw doesNotExist(`Registered model alias ${alias} not found.`);
  const versions = await getVersionsByKeys(ctx.deps.db, ctx.workspaceId, [
    versionKey(row.model_id, number),
  ]);
  const version = versions.get(versionKey(row.model_id, number));
  if (!version) throw doesNotExist(`Registered model alias ${alias} not found.`);
  const [message] = await modelVersionMessages(ctx, [version]);
  return { model_version: message };
}

export const registryRoutes: MlflowRoute[] = [
  { method: 'POST', path: '/mlflow/registered-models/create', handler: create },
  { method: 'GET', path: '/mlflow/registered-models/get', handler: get },
  { method: 'POST', path: '/mlflow/registered-models/rename', handler: rename },
  { method: 'PATCH', path: '/mlflow/registered-models/update', handler: update },
  { method: 'DELETE', path: '/mlflow/registered-models/delete', handler: remove },
  { method: 'GET', path: '/mlflow/registered-models/search', handler: search },
  {
    method: 'POST',
    path: '/mlflow/registered-models/get-latest-versions',
    handler: latestVersions,
  },
  { method: 'GET', path: '/mlflow/registered-models/get-latest-versions', handler: latestVersions },
  { method: 'POST', path: '/mlflow/registered-models/set-tag', handler: setTag },
  { method: 'DELETE', path: '/mlflow/registered-models/delete-tag', handler: deleteTag },
  { method: 'POST', path: '/mlflow/registered-models/alias', handler: setAlias },
  { method: 'DELETE', path: '/mlflow/registered-models/alias', handler: deleteAlias },
  { method: 'GET', path: '/mlflow/registered-models/alias', handler: getByAlias },
];
