import type { Selectable } from 'kysely';
import type { DeploymentsTable, DeploymentVariantsTable } from '@cairn/db';
import type { DeploymentVariantData, EventOf } from '@cairn/events';

/** The read-model row a deployment creation produces (also the API's answer past the RYW deadline). */
export function deploymentRowFromCreated(
  event: EventOf<'DeploymentCreated'>,
): Selectable<DeploymentsTable> {
  const at = new Date(event.recordedAt);
  return {
    workspace_id: event.workspaceId,
    deployment_id: event.data.deploymentId,
    name: event.data.name,
    target: event.data.target,
    model_uri: event.data.modelUri,
    config: event.data.config,
    status: 'PENDING',
    status_message: null,
    endpoint: null,
    manifests: null,
    created_at: at,
    updated_at: at,
  };
}

export function deploymentVariantRows(
  workspaceId: string,
  deploymentId: string,
  variants: readonly DeploymentVariantData[],
): Selectable<DeploymentVariantsTable>[] {
  return variants.map((v, ordinal) => ({
    workspace_id: workspaceId,
    deployment_id: deploymentId,
    name: v.name,
    ordinal,
    model_uri: v.modelUri,
    model_id: v.modelId,
    model_name: v.modelName,
    alias: v.alias,
    served_version: v.version,
    weight: v.weight,
  }));
}
