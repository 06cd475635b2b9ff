import type { Selectable } from 'kysely';
import type { ExperimentsTable } from '@cairn/db';
import type { EventOf } from '@cairn/events';

/**
 * The read-model row a creation event produces. The projections insert it; the API uses it to
 * answer a create whose projection missed the read-your-writes deadline with committed state.
 */
export function experimentRowFromCreated(
  event: EventOf<'ExperimentCreated'>,
): Selectable<ExperimentsTable> {
  const at = new Date(event.recordedAt);
  return {
    workspace_id: event.workspaceId,
    experiment_id: event.data.experimentId,
    name: event.data.name,
    artifact_location: event.data.artifactLocation,
    lifecycle_stage: 'active',
    created_at: at,
    updated_at: at,
  };
}
