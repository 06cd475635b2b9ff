import type { Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import { createExperiment } from '../experiments/experiment.commands.ts';
import { getExperimentByName } from '../experiments/experiments.queries.ts';
import { toMlflowError } from './mlflow.errors.ts';

/**
 * Ids as the MLflow client sees them (docs/mlflow-compatibility.md, "Ids"). Cairn's experiment
 * and run ids are 32 lowercase hex characters (uuidv7 without dashes); the client accepts those
 * (its experiment id and run id checks are `[a-zA-Z0-9][\w-]*`), so they are passed through.
 *
 * The one exception is MLflow's default experiment: the client uses id "0" when no experiment is
 * set (`mlflow.start_run()` with nothing else). Cairn resolves "0" to its experiment named
 * "Default", created through the ordinary command the first time it is needed.
 */
export const MLFLOW_DEFAULT_EXPERIMENT_ID = '0';
export const DEFAULT_EXPERIMENT_NAME = 'Default';

export async function resolveExperimentId(
  deps: ServiceDeps,
  caller: Caller,
  id: string,
): Promise<string> {
  if (id !== MLFLOW_DEFAULT_EXPERIMENT_ID) return id;
  const existing = await getExperimentByName(deps.db, caller.workspaceId, DEFAULT_EXPERIMENT_NAME);
  if (existing) return existing.experiment_id;
  try {
    const created = await createExperiment(deps, caller, {
      name: DEFAULT_EXPERIMENT_NAME,
      artifactLocation: null,
      tags: [],
    });
    return created.data.experimentId;
  } catch (error) {
    // Created concurrently by another request: read the winner.
    if (toMlflowError(error)?.errorCode !== 'RESOURCE_ALREADY_EXISTS') throw error;
    const winner = await getExperimentByName(deps.db, caller.workspaceId, DEFAULT_EXPERIMENT_NAME);
    if (!winner) throw error;
    return winner.experiment_id;
  }
}

/**
 * Where the client puts a run's artifacts: MLflow's proxied scheme, which the client turns into
 * `/api/2.0/mlflow-artifacts/artifacts/<experiment>/<run>/artifacts/<path>` on this server.
 */
export const experimentArtifactLocation = (experimentId: string) =>
  `mlflow-artifacts:/${experimentId}`;
export const runArtifactUri = (experimentId: string, runId: string) =>
  `mlflow-artifacts:/${experimentId}/${runId}/artifacts`;
