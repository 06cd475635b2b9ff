import type { Selectable } from 'kysely';
import type { ModelVersionsTable, RegisteredModelsTable } from '@cairn/db';
import type { EventOf } from '@cairn/events';

/** Kinds of `model_history` rows (GraphQL ModelHistoryKind). */
export type ModelHistoryKind =
  | 'MODEL_CREATED'
  | 'MODEL_RENAMED'
  | 'VERSION_CREATED'
  | 'VERSION_DELETED'
  | 'STAGE_TRANSITIONED'
  | 'ALIAS_SET'
  | 'ALIAS_DELETED';

/** The read-model row a model creation produces (also the API's answer past the RYW deadline). */
export function registeredModelRowFromCreated(
  event: EventOf<'RegisteredModelCreated'>,
): Selectable<RegisteredModelsTable> {
  const at = new Date(event.recordedAt);
  return {
    workspace_id: event.workspaceId,
    model_id: event.data.modelId,
    name: event.data.name,
    description: event.data.description,
    created_at: at,
    updated_at: at,
  };
}

export function modelVersionRowFromCreated(
  event: EventOf<'ModelVersionCreated'>,
): Selectable<ModelVersionsTable> {
  const d = event.data;
  const at = new Date(event.recordedAt);
  return {
    workspace_id: event.workspaceId,
    model_id: d.modelId,
    version: d.version,
    model_name: d.name,
    source: d.source,
    run_id: d.runId,
    description: d.description,
    stage: 'NONE',
    status: d.status,
    created_at: at,
    updated_at: at,
  };
}
