import {
  decodeEvent,
  experimentStreamId,
  newEntityId,
  type EventOf,
  type KeyValue,
  type NewEvent,
  type StoredEventEnvelope,
} from '@cairn/events';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import {
  experimentDecider,
  type ExperimentCommand,
  type ExperimentState,
} from './experiment.decider.ts';

const NAME_SCOPE = 'experiment-name';

function nameKeys(state: ExperimentState, events: NewEvent[]) {
  for (const event of events) {
    const data = event.data as { name?: string };
    if (event.type === 'ExperimentCreated' && data.name)
      return { claim: [{ scope: NAME_SCOPE, key: data.name }] };
    if (event.type === 'ExperimentRenamed' && data.name) {
      return {
        claim: [{ scope: NAME_SCOPE, key: data.name }],
        release: [{ scope: NAME_SCOPE, key: state.name }],
      };
    }
  }
  return {};
}

async function execute(
  deps: ServiceDeps,
  caller: Caller,
  experimentId: string,
  command: ExperimentCommand,
): Promise<StoredEventEnvelope[]> {
  const result = await handleCommand(deps, caller, {
    decider: experimentDecider,
    streamId: experimentStreamId(experimentId),
    streamType: 'experiment',
    command,
    uniqueKeys: nameKeys,
  });
  const last = result.events.at(-1);
  if (last) {
    await deps.changes.waitFor(
      caller.workspaceId,
      last.streamId,
      last.streamPosition,
      ['experiments'],
      deps.readYourWritesTimeoutMs,
    );
  }
  return result.events;
}

async function run(
  deps: ServiceDeps,
  caller: Caller,
  experimentId: string,
  command: ExperimentCommand,
) {
  await execute(deps, caller, experimentId, command);
  return experimentId;
}

/** Returns the ExperimentCreated event as committed (the read model may not show it yet). */
export async function createExperiment(
  deps: ServiceDeps,
  caller: Caller,
  input: { name: string; artifactLocation: string | null; tags: KeyValue[] },
): Promise<EventOf<'ExperimentCreated'>> {
  const experimentId = newEntityId(deps.decideContext.newId);
  const events = await execute(deps, caller, experimentId, {
    type: 'CreateExperiment',
    experimentId,
    ...input,
  });
  return decodeEvent(events[0]!) as EventOf<'ExperimentCreated'>;
}

export const renameExperiment = (deps: ServiceDeps, caller: Caller, id: string, name: string) =>
  run(deps, caller, id, { type: 'RenameExperiment', name });
export const deleteExperiment = (deps: ServiceDeps, caller: Caller, id: string) =>
  run(deps, caller, id, { type: 'DeleteExperiment' });
export const restoreExperiment = (deps: ServiceDeps, caller: Caller, id: string) =>
  run(deps, caller, id, { type: 'RestoreExperiment' });
export const setExperimentTag = (
  deps: ServiceDeps,
  caller: Caller,
  id: string,
  key: string,
  value: string,
) => run(deps, caller, id, { type: 'SetExperimentTag', key, value });
export const deleteExperimentTag = (deps: ServiceDeps, caller: Caller, id: string, key: string) =>
  run(deps, caller, id, { type: 'DeleteExperimentTag', key });
