import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import {
  newEntityId,
  promptStreamId,
  type KeyValue,
  type NewEvent,
  type StoredEventEnvelope,
} from '@cairn/events';
import { CairnError } from '../errors.ts';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import {
  promptDecider,
  type PromptCommand,
  type PromptState,
  type PromptVersionInput,
} from './prompt.decider.ts';

/** Unique-key scope of prompt names (per workspace) in the event store. */
export const PROMPT_NAME_SCOPE = 'prompt-name';
const STREAM_PREFIX = 'prompt-';
/** The projection a prompt mutation waits for (read-your-writes). */
export const PROMPTS_PROJECTION = 'prompts';

/** Names are claimed on create and released on delete (prompts are never renamed). */
function nameKeys(state: PromptState, events: NewEvent[]) {
  for (const event of events) {
    const data = event.data as { name?: string };
    if (event.type === 'PromptCreated' && data.name)
      return { claim: [{ scope: PROMPT_NAME_SCOPE, key: data.name }] };
    if (event.type === 'PromptDeleted')
      return { release: [{ scope: PROMPT_NAME_SCOPE, key: state.name }] };
  }
  return {};
}

/**
 * The prompt id a name belongs to, from the event store's unique keys (consistent with the
 * decisions, unlike the read model).
 */
export async function findPromptIdByName(
  db: Kysely<DB>,
  workspaceId: string,
  name: string,
): Promise<string | null> {
  const row = await db
    .selectFrom('unique_keys')
    .select('stream_id')
    .where('workspace_id', '=', workspaceId)
    .where('scope', '=', PROMPT_NAME_SCOPE)
    .where('key', '=', name.trim())
    .executeTakeFirst();
  return row ? row.stream_id.slice(STREAM_PREFIX.length) : null;
}

export interface PromptWriteResult {
  promptId: string;
  state: PromptState;
  events: StoredEventEnvelope[];
}

async function execute(
  deps: ServiceDeps,
  caller: Caller,
  promptId: string,
  command: PromptCommand,
): Promise<PromptWriteResult> {
  const result = await handleCommand(deps, caller, {
    decider: promptDecider,
    streamId: promptStreamId(promptId),
    streamType: 'prompt',
    command,
    uniqueKeys: nameKeys,
  });
  const last = result.events.at(-1);
  if (last) {
    await deps.changes.waitFor(
      caller.workspaceId,
      last.streamId,
      last.streamPosition,
      [PROMPTS_PROJECTION],
      deps.readYourWritesTimeoutMs,
    );
  }
  return { promptId, state: result.state, events: result.events };
}

/** Runs a command against the prompt the name addresses. */
async function byName(
  deps: ServiceDeps,
  caller: Caller,
  command: Exclude<PromptCommand, { type: 'CreatePrompt' | 'CreatePromptVersion' }>,
): Promise<PromptWriteResult> {
  const id = await findPromptIdByName(deps.db, caller.workspaceId, command.name);
  if (id === null)
    throw new CairnError('NOT_FOUND', `Prompt "${command.name}" not found`, { name: command.name });
  return execute(deps, caller, id, command);
}

export function createPrompt(
  deps: ServiceDeps,
  caller: Caller,
  input: { name: string; description: string | null; tags: KeyValue[] },
): Promise<PromptWriteResult> {
  const promptId = newEntityId(deps.decideContext.newId);
  return execute(deps, caller, promptId, { type: 'CreatePrompt', promptId, ...input });
}

/** Attempts of the look-up → create race of createPromptIfMissing before giving up. */
const CREATE_IF_MISSING_ATTEMPTS = 5;

/**
 * Allocates the next version number of the prompt (OCC on the prompt's stream; handleCommand
 * retries lost races, so concurrent calls get 1..N). With `createPromptIfMissing`, a missing
 * prompt is created in the same append; when a concurrent caller creates it first (its name
 * claim wins), this one retries against that prompt.
 */
export async function createPromptVersion(
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  input: PromptVersionInput,
  createIfMissing: boolean,
): Promise<PromptWriteResult & { version: number }> {
  for (let attempt = 1; ; attempt++) {
    const existing = await findPromptIdByName(deps.db, caller.workspaceId, name);
    try {
      let result: PromptWriteResult;
      if (existing !== null) {
        result = await execute(deps, caller, existing, {
          type: 'CreatePromptVersion',
          name,
          input,
          createPromptId: null,
        });
      } else if (createIfMissing) {
        const promptId = newEntityId(deps.decideContext.newId);
        result = await execute(deps, caller, promptId, {
          type: 'CreatePromptVersion',
          name,
          input,
          createPromptId: promptId,
        });
      } else {
        throw new CairnError('NOT_FOUND', `Prompt "${name}" not found`, { name });
      }
      const created = result.events.find((e) => e.type === 'PromptVersionCreated');
      const version = (created?.data as { version?: number } | undefined)?.version;
      if (version === undefined) throw new Error('createPromptVersion appended no version');
      return { ...result, version };
    } catch (error) {
      if (!createIfMissing || attempt >= CREATE_IF_MISSING_ATTEMPTS) throw error;
      if (!(error instanceof CairnError)) throw error;
      const lostCreate =
        error.code === 'ALREADY_EXISTS' && error.details.scope === PROMPT_NAME_SCOPE;
      const vanished = error.code === 'NOT_FOUND' && existing !== null && error.details.name;
      if (!lostCreate && !vanished) throw error;
    }
  }
}

export const setPromptTag = (
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  key: string,
  value: string,
) => byName(deps, caller, { type: 'SetPromptTag', name, key, value });

export const deletePromptTag = (deps: ServiceDeps, caller: Caller, name: string, key: string) =>
  byName(deps, caller, { type: 'DeletePromptTag', name, key });

export const setPromptVersionTag = (
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  version: number,
  key: string,
  value: string,
) => byName(deps, caller, { type: 'SetPromptVersionTag', name, version, key, value });

export const deletePromptVersionTag = (
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  version: number,
  key: string,
) => byName(deps, caller, { type: 'DeletePromptVersionTag', name, version, key });

export const setPromptAlias = (
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  alias: string,
  version: number,
) => byName(deps, caller, { type: 'SetPromptAlias', name, alias, version });

export const deletePromptAlias = (deps: ServiceDeps, caller: Caller, name: string, alias: string) =>
  byName(deps, caller, { type: 'DeletePromptAlias', name, alias });

export const archivePrompt = (deps: ServiceDeps, caller: Caller, name: string) =>
  byName(deps, caller, { type: 'ArchivePrompt', name });

export const unarchivePrompt = (deps: ServiceDeps, caller: Caller, name: string) =>
  byName(deps, caller, { type: 'UnarchivePrompt', name });

export const deletePrompt = (deps: ServiceDeps, caller: Caller, name: string) =>
  byName(deps, caller, { type: 'DeletePrompt', name });
