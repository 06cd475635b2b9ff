import {
  createExperiment,
  deleteExperiment,
  deleteExperimentTag,
  renameExperiment,
  restoreExperiment,
  setExperimentTag,
} from '../experiments/experiment.commands.ts';
import {
  getExperimentByName,
  getExperimentsByIds,
  getExperimentTags,
  type ExperimentRow,
} from '../experiments/experiments.queries.ts';
import type { MlflowContext, MlflowRoute } from './mlflow-route.ts';
import { doesNotExist, invalidParameter } from './mlflow.errors.ts';
import { experimentArtifactLocation, resolveExperimentId } from './mlflow-ids.ts';
import { keyValues, optionalString, requireString, type Message } from './mlflow-input.ts';
import { searchExperiments } from './experiment-search.ts';

/** MLflow's `Experiment` message (proto-JSON; int64 as JSON numbers, as MLflow's server sends). */
export function experimentMessage(row: ExperimentRow, tags: { key: string; value: string }[]) {
  return {
    experiment_id: row.experiment_id,
    name: row.name,
    artifact_location: row.artifact_location ?? experimentArtifactLocation(row.experiment_id),
    lifecycle_stage: row.lifecycle_stage,
    last_update_time: new Date(row.updated_at).getTime(),
    creation_time: new Date(row.created_at).getTime(),
    tags,
  };
}

export async function loadExperiment(ctx: MlflowContext, rawId: string): Promise<ExperimentRow> {
  const id = await resolveExperimentId(ctx.deps, ctx.caller, rawId);
  const [row] = await getExperimentsByIds(ctx.deps.db, ctx.workspaceId, [id]);
  if (!row) throw doesNotExist(`No Experiment with id=${rawId} exists`);
  return row;
}

async function experimentResponse(ctx: MlflowContext, row: ExperimentRow) {
  const tags = await getExperimentTags(ctx.deps.db, ctx.workspaceId, [row.experiment_id]);
  return { experiment: experimentMessage(row, tags.get(row.experiment_id) ?? []) };
}

async function create(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'name');
  const artifactLocation = optionalString(body, 'artifact_location');
  if (artifactLocation !== null && artifactLocation !== '')
    // The server decides where bytes go; a client-chosen location (a path or URI) is never used.
    throw invalidParameter(
      `artifact_location is not supported by Cairn (artifacts are stored by the server, under ${experimentArtifactLocation('<experiment_id>')}); leave it out`,
    );
  const event = await createExperiment(ctx.deps, ctx.caller, {
    name,
    artifactLocation: null,
    tags: keyValues(body, 'tags'),
  });
  return { experiment_id: event.data.experimentId };
}

async function get(ctx: MlflowContext, body: Message) {
  const row = await loadExperiment(ctx, requireString(body, 'experiment_id'));
  return experimentResponse(ctx, row);
}

async function getByName(ctx: MlflowContext, body: Message) {
  const name = requireString(body, 'experiment_name');
  const row = await getExperimentByName(ctx.deps.db, ctx.workspaceId, name);
  if (!row) throw doesNotExist(`Could not find experiment with name '${name}'`);
  return experimentResponse(ctx, row);
}

async function update(ctx: MlflowContext, body: Message) {
  const row = await loadExperiment(ctx, requireString(body, 'experiment_id'));
  // MLflow requires new_name (its only updatable field).
  const newName = requireString(body, 'new_name');
  if (newName !== row.name)
    await renameExperiment(ctx.deps, ctx.caller, row.experiment_id, newName);
  return {};
}

async function remove(ctx: MlflowContext, body: Message) {
  const row = await loadExperiment(ctx, requireString(body, 'experiment_id'));
  await deleteExperiment(ctx.deps, ctx.caller, row.experiment_id);
  return {};
}

async function restore(ctx: MlflowContext, body: Message) {
  const row = await loadExperiment(ctx, requireString(body, 'experiment_id'));
  await restoreExperiment(ctx.deps, ctx.caller, row.experiment_id);
  return {};
}

async function setTag(ctx: MlflowContext, body: Message) {
  const row = await loadExperiment(ctx, requireString(body, 'experiment_id'));
  await setExperimentTag(
    ctx.deps,
    ctx.caller,
    row.experiment_id,
    requireString(body, 'key'),
    optionalString(body, 'value') ?? '',
  );
  return {};
}

/** MLflow's store answers an absent key with RESOURCE_DOES_NOT_EXIST (the decider's NOT_FOUND). */
async function deleteTag(ctx: MlflowContext, body: Message) {
  const row = await loadExperiment(ctx, requireString(body, 'experiment_id'));
  await deleteExperimentTag(ctx.deps, ctx.caller, row.experiment_id, requireString(body, 'key'));
  return {};
}

async function search(ctx: MlflowContext, body: Message) {
  const page = await searchExperiments(ctx.deps.db, ctx.workspaceId, body);
  const tags = await getExperimentTags(
    ctx.deps.db,
    ctx.workspaceId,
    page.rows.map((r) => r.experiment_id),
  );
  return {
    experiments: page.rows.map((r) => experimentMessage(r, tags.get(r.experiment_id) ?? [])),
    ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
  };
}

export const experimentRoutes: MlflowRoute[] = [
  { method: 'POST', path: '/mlflow/experiments/create', handler: create },
  { method: 'GET', path: '/mlflow/experiments/get', handler: get },
  { method: 'GET', path: '/mlflow/experiments/get-by-name', handler: getByName },
  { method: 'POST', path: '/mlflow/experiments/search', handler: search },
  { method: 'GET', path: '/mlflow/experiments/search', handler: search },
  { method: 'POST', path: '/mlflow/experiments/update', handler: update },
  { method: 'POST', path: '/mlflow/experiments/delete', handler: remove },
  { method: 'POST', path: '/mlflow/experiments/restore', handler: restore },
  { method: 'POST', path: '/mlflow/experiments/set-experiment-tag', handler: setTag },
  { method: 'POST', path: '/mlflow/experiments/delete-experiment-tag', handler: deleteTag },
];
