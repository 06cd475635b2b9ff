import type { Selectable } from 'kysely';
import type { RunsTable } from '@cairn/db';
import type { EventOf } from '@cairn/events';

/** The read-model row a run start produces (also the API's answer past the RYW deadline). */
export function runRowFromStarted(event: EventOf<'RunStarted'>): Selectable<RunsTable> {
  const d = event.data;
  const at = new Date(event.recordedAt);
  return {
    workspace_id: event.workspaceId,
    run_id: d.runId,
    experiment_id: d.experimentId,
    name: d.name,
    status: d.status,
    start_time: d.startTime,
    end_time: null,
    lifecycle_stage: 'active',
    parent_run_id: d.parentRunId,
    source_git_commit: d.source.gitCommit,
    source_entry_point: d.source.entryPoint,
    source_type: d.source.sourceType,
    created_at: at,
    updated_at: at,
  };
}
