import type { Selectable } from 'kysely';
import type { PromptsTable, PromptVersionsTable } from '@cairn/db';
import type { EventOf } from '@cairn/events';

/** The read-model row a prompt creation produces (also the API's answer past the RYW deadline). */
export function promptRowFromCreated(event: EventOf<'PromptCreated'>): Selectable<PromptsTable> {
  const at = new Date(event.recordedAt);
  return {
    workspace_id: event.workspaceId,
    prompt_id: event.data.promptId,
    name: event.data.name,
    description: event.data.description,
    archived: false,
    latest_version: null,
    created_at: at,
    updated_at: at,
  };
}

export function promptVersionRowFromCreated(
  event: EventOf<'PromptVersionCreated'>,
): Selectable<PromptVersionsTable> {
  const d = event.data;
  return {
    workspace_id: event.workspaceId,
    prompt_id: d.promptId,
    version: d.version,
    prompt_name: d.name,
    template_type: d.template.type,
    template: d.template,
    variables: d.variables,
    response_format: d.responseFormat,
    model_config: d.modelConfig,
    commit_message: d.commitMessage,
    author: event.actor,
    created_at: new Date(event.recordedAt),
  };
}
