import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import {
  getKeyValues,
  getLatestMetrics,
  getRunsByIds,
  type KV,
  type LatestMetric,
  type RunRow,
} from '../runs/runs.queries.ts';
import { doesNotExist } from './mlflow.errors.ts';
import { LOGGED_MODEL_TAG_PREFIX, readRecords } from './logged-model-store.ts';
import { runArtifactUri } from './mlflow-ids.ts';
import { getRunDatasetInputs, type RunDatasetInputRow } from '../lineage/run-inputs.queries.ts';

/**
 * MLflow's `Run` message (service.proto) built from Cairn's runs read model. Proto-JSON as
 * MLflow's server writes it (`message_to_json`): snake_case names, int64 as JSON numbers, unset
 * optional fields left out, doubles NaN/±Infinity as the strings "NaN", "Infinity", "-Infinity".
 *
 * The run's name is Cairn's `name` column; MLflow also shows it as the tag `mlflow.runName`, which
 * is derived here (never stored as a tag: set-tag and log-batch of `mlflow.runName` rename the run).
 */
export const RUN_NAME_TAG = 'mlflow.runName';
export const PARENT_RUN_TAG = 'mlflow.parentRunId';
export const USER_TAG = 'mlflow.user';
export const LOGGED_MODELS_TAG = 'mlflow.log-model.history';
/**
 * Run tags under which the logged-models handlers keep an MLflow 3 logged model in its source run
 * (logged-model-store.ts): storage, not the user's tags, so left out of `data.tags`; each model
 * not deleted is shown as one of the run's `outputs.model_outputs`.
 */
export { LOGGED_MODEL_TAG_PREFIX };

/** The logged models (not deleted) recorded in a run, by id. */
export function loggedModelIds(tags: readonly KV[]): string[] {
  return [...readRecords(tags).values()].filter((r) => !r.deleted).map((r) => r.id);
}

export function mlflowDouble(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value;
}

export function runInfoMessage(row: RunRow, tags: readonly KV[]) {
  const user = tags.find((t) => t.key === USER_TAG)?.value ?? '';
  return {
    run_id: row.run_id,
    run_uuid: row.run_id,
    run_name: row.name,
    experiment_id: row.experiment_id,
    user_id: user,
    status: row.status,
    start_time: Number(row.start_time),
    ...(row.end_time === null ? {} : { end_time: Number(row.end_time) }),
    artifact_uri: runArtifactUri(row.experiment_id, row.run_id),
    lifecycle_stage: row.lifecycle_stage,
  };
}

export function metricMessage(m: { key: string; value: number; step: number; timestamp: number }) {
  return {
    key: m.key,
    value: mlflowDouble(m.value),
    timestamp: Number(m.timestamp),
    step: Number(m.step),
  };
}

export function runMessage(
  row: RunRow,
  params: readonly KV[],
  storedTags: readonly KV[],
  metrics: readonly LatestMetric[],
  inputs: readonly RunDatasetInputRow[] = [],
) {
  const tags = [
    ...storedTags.filter(
      (t) => t.key !== RUN_NAME_TAG && !t.key.startsWith(LOGGED_MODEL_TAG_PREFIX),
    ),
    { key: RUN_NAME_TAG, value: row.name },
  ];
  const models = loggedModelIds(storedTags);
  return {
    info: runInfoMessage(row, tags),
    data: {
      ...(metrics.length > 0 ? { metrics: metrics.map(metricMessage) } : {}),
      ...(params.length > 0 ? { params: params.map((p) => ({ key: p.key, value: p.value })) } : {}),
      tags,
    },
    // Dataset inputs as MLflow's RunInputs (model inputs are not recorded: never present).
    inputs: inputs.length > 0 ? { dataset_inputs: inputs.map(datasetInputMessage) } : {},
    ...(models.length > 0
      ? { outputs: { model_outputs: models.map((model_id) => ({ model_id, step: 0 })) } }
      : {}),
  };
}

/** MLflow's `DatasetInput`: the context travels as the input tag `mlflow.data.context`. */
export function datasetInputMessage(r: RunDatasetInputRow) {
  const tags = [
    ...(r.context === '' ? [] : [{ key: 'mlflow.data.context', value: r.context }]),
    ...r.tags,
  ];
  return {
    ...(tags.length > 0 ? { tags } : {}),
    dataset: {
      name: r.name,
      digest: r.digest,
      source_type: r.source_type,
      source: r.source,
      ...(r.schema !== null ? { schema: r.schema } : {}),
      ...(r.profile !== null ? { profile: r.profile } : {}),
    },
  };
}

/** The `Run` messages of `rows`, in their order: four queries for any number of runs. */
export async function runMessages(db: Kysely<DB>, workspaceId: string, rows: readonly RunRow[]) {
  const ids = rows.map((r) => r.run_id);
  const [params, tags, metrics, inputs] = await Promise.all([
    getKeyValues(db, 'run_params', workspaceId, ids),
    getKeyValues(db, 'run_tags', workspaceId, ids),
    getLatestMetrics(db, workspaceId, ids),
    getRunDatasetInputs(db, workspaceId, ids),
  ]);
  return rows.map((r) =>
    runMessage(
      r,
      params.get(r.run_id) ?? [],
      tags.get(r.run_id) ?? [],
      metrics.get(r.run_id) ?? [],
      inputs.get(r.run_id) ?? [],
    ),
  );
}

/** The run's read-model row, or MLflow's RESOURCE_DOES_NOT_EXIST. */
export async function loadRunRow(
  db: Kysely<DB>,
  workspaceId: string,
  runId: string,
): Promise<RunRow> {
  const [row] = await getRunsByIds(db, workspaceId, [runId]);
  if (!row) throw doesNotExist(`Run with id=${runId} not found`);
  return row;
}

export async function loadRunMessage(db: Kysely<DB>, workspaceId: string, runId: string) {
  const row = await loadRunRow(db, workspaceId, runId);
  const [message] = await runMessages(db, workspaceId, [row]);
  return message!;
}
