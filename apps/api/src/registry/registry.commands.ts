import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import {
  newEntityId,
  registeredModelStreamId,
  runStreamId,
  type KeyValue,
  type ModelStage,
  type NewEvent,
  type StoredEventEnvelope,
} from '@cairn/events';
import { CairnError } from '../errors.ts';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import {
  registeredModelDecider,
  runIdOfSource,
  type RegisteredModelCommand,
  type RegisteredModelState,
} from './registered-model.decider.ts';

/** Unique-key scope of registered model names (per workspace) in the event store. */
export const MODEL_NAME_SCOPE = 'registered-model-name';
const STREAM_PREFIX = 'registered-model-';
/** The projection a registry mutation waits for (read-your-writes). */
export const REGISTRY_PROJECTION = 'registry';

/** Names are claimed on create, moved on rename and released on delete. */
function nameKeys(state: RegisteredModelState, events: NewEvent[]) {
  for (const event of events) {
    const data = event.data as { name?: string };
    if (event.type === 'RegisteredModelCreated' && data.name)
      return { claim: [{ scope: MODEL_NAME_SCOPE, key: data.name }] };
    if (event.type === 'RegisteredModelRenamed' && data.name)
      return {
        claim: [{ scope: MODEL_NAME_SCOPE, key: data.name }],
        release: [{ scope: MODEL_NAME_SCOPE, key: state.name }],
      };
    if (event.type === 'RegisteredModelDeleted')
      return { release: [{ scope: MODEL_NAME_SCOPE, key: state.name }] };
  }
  return {};
}

/**
 * The model id a name belongs to, from the event store's unique keys (consistent with the
 * decisions, unlike the read model).
 */
export async function findModelIdByName(
  db: Kysely<DB>,
  workspaceId: string,
  name: string,
): Promise<string | null> {
  const row = await db
    .selectFrom('unique_keys')
    .select('stream_id')
    .where('workspace_id', '=', workspaceId)
    .where('scope', '=', MODEL_NAME_SCOPE)
    .where('key', '=', name.trim())
    .executeTakeFirst();
  return row ? row.stream_id.slice(STREAM_PREFIX.length) : null;
}

async function requireModelId(deps: ServiceDeps, caller: Caller, name: string): Promise<string> {
  const id = await findModelIdByName(deps.db, caller.workspaceId, name);
  if (id === null)
    throw new CairnError('NOT_FOUND', `Registered model "${name}" not found`, { name });
  return id;
}

async function runExists(db: Kysely<DB>, workspaceId: string, runId: string): Promise<boolean> {
  if (!/^[0-9a-f]{32}$/u.test(runId)) return false;
  const row = await db
    .selectFrom('streams')
    .select('version')
    .where('workspace_id', '=', workspaceId)
    .where('stream_id', '=', runStreamId(runId))
    .executeTakeFirst();
  return row !== undefined;
}

export interface RegistryWriteResult {
  modelId: string;
  state: RegisteredModelState;
  events: StoredEventEnvelope[];
}

async function execute(
  deps: ServiceDeps,
  caller: Caller,
  modelId: string,
  command: RegisteredModelCommand,
): Promise<RegistryWriteResult> {
  const result = await handleCommand(deps, caller, {
    decider: registeredModelDecider,
    streamId: registeredModelStreamId(modelId),
    streamType: 'registered-model',
    command,
    uniqueKeys: nameKeys,
  });
  const last = result.events.at(-1);
  if (last) {
    await deps.changes.waitFor(
      caller.workspaceId,
      last.streamId,
      last.streamPosition,
      [REGISTRY_PROJECTION],
      deps.readYourWritesTimeoutMs,
    );
  }
  return { modelId, state: result.state, events: result.events };
}

/** Runs a command against the model the name addresses. */
async function byName(
  deps: ServiceDeps,
  caller: Caller,
  command: Exclude<RegisteredModelCommand, { type: 'CreateRegisteredModel' }>,
): Promise<RegistryWriteResult> {
  const modelId = await requireModelId(deps, caller, command.name);
  return execute(deps, caller, modelId, command);
}

export function createRegisteredModel(
  deps: ServiceDeps,
  caller: Caller,
  input: { name: string; description: string | null; tags: KeyValue[] },
): Promise<RegistryWriteResult> {
  const modelId = newEntityId(deps.decideContext.newId);
  return execute(deps, caller, modelId, { type: 'CreateRegisteredModel', modelId, ...input });
}

export const renameRegisteredModel = (
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  newName: string,
) => byName(deps, caller, { type: 'RenameRegisteredModel', name, newName });

export const updateRegisteredModel = (
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  description: string,
) => byName(deps, caller, { type: 'SetRegisteredModelDescription', name, description });

export const setRegisteredModelTag = (
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  key: string,
  value: string,
) => byName(deps, caller, { type: 'SetRegisteredModelTag', name, key, value });

export const deleteRegisteredModelTag = (
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  key: string,
) => byName(deps, caller, { type: 'DeleteRegisteredModelTag', name, key });

export const deleteRegisteredModel = (deps: ServiceDeps, caller: Caller, name: string) =>
  byName(deps, caller, { type: 'DeleteRegisteredModel', name });

export interface CreateModelVersionInput {
  name: string;
  source: string;
  runId: string | null;
  description: string | null;
  tags: KeyValue[];
  createModelIfMissing: boolean;
}

/** Attempts of the look-up → create race of createModelIfMissing before giving up. */
const CREATE_IF_MISSING_ATTEMPTS = 5;

/**
 * Allocates the next version number of the model (OCC on the model's stream; handleCommand
 * retries lost races). With `createModelIfMissing`, a missing model is created in the same
 * append; when a concurrent caller creates it first (its name claim wins), this one retries
 * against that model instead of failing with ALREADY_EXISTS.
 */
export async function createModelVersion(
  deps: ServiceDeps,
  caller: Caller,
  input: CreateModelVersionInput,
): Promise<RegistryWriteResult & { version: number }> {
  const runId = input.runId ?? runIdOfSource(input.source);
  const exists = runId === null ? false : await runExists(deps.db, caller.workspaceId, runId);
  const base = {
    type: 'CreateModelVersion' as const,
    name: input.name,
    source: input.source,
    runId: input.runId,
    runExists: exists,
    description: input.description,
    tags: input.tags,
  };
  for (let attempt = 1; ; attempt++) {
    const existing = await findModelIdByName(deps.db, caller.workspaceId, input.name);
    const last = attempt >= CREATE_IF_MISSING_ATTEMPTS;
    try {
      let result: RegistryWriteResult;
      if (existing !== null) {
        result = await execute(deps, caller, existing, { ...base, createModelId: null });
      } else if (input.createModelIfMissing) {
        const modelId = newEntityId(deps.decideContext.newId);
        result = await execute(deps, caller, modelId, { ...base, createModelId: modelId });
      } else {
        throw new CairnError('NOT_FOUND', `Registered model "${input.name}" not found`, {
          name: input.name,
        });
      }
      const created = result.events.find((e) => e.type === 'ModelVersionCreated');
      const version = (created?.data as { version?: number } | undefined)?.version;
      if (version === undefined) throw new Error('createModelVersion appended no version');
      return { ...result, version };
    } catch (error) {
      if (!input.createModelIfMissing || last || !(error instanceof CairnError)) throw error;
      // Lost the race to create the model (name claimed by another stream), or the model was
      // renamed/deleted between look-up and decision: look the name up again.
      const lostCreate =
        error.code === 'ALREADY_EXISTS' && error.details.scope === MODEL_NAME_SCOPE;
      const vanished = error.code === 'NOT_FOUND' && existing !== null && error.details.name;
      if (!lostCreate && !vanished) throw error;
    }
  }
}

export const updateModelVersion = (
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  version: number,
  description: string,
) => byName(deps, caller, { type: 'SetModelVersionDescription', name, version, description });

export const setModelVersionTag = (
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  version: number,
  key: string,
  value: string,
) => byName(deps, caller, { type: 'SetModelVersionTag', name, version, key, value });

export const deleteModelVersionTag = (
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  version: number,
  key: string,
) => byName(deps, caller, { type: 'DeleteModelVersionTag', name, version, key });

export const deleteModelVersion = (
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  version: number,
) => byName(deps, caller, { type: 'DeleteModelVersion', name, version });

export const transitionModelVersionStage = (
  deps: ServiceDeps,
  caller: Caller,
  input: { name: string; version: number; stage: ModelStage; archiveExistingVersions: boolean },
) => byName(deps, caller, { type: 'TransitionModelVersionStage', ...input });

export const setModelAlias = (
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  alias: string,
  version: number,
) => byName(deps, caller, { type: 'SetModelAlias', name, alias, version });

export const deleteModelAlias = (deps: ServiceDeps, caller: Caller, name: string, alias: string) =>
  byName(deps, caller, { type: 'DeleteModelAlias', name, alias });
