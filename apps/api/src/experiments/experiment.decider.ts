import { assertNever, type KeyValue } from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { checkOptionalText, STRING_LIMITS } from '../input-hygiene.ts';
import { validateKey, validateName, validateValue } from '../limits.ts';
import { newEvent, type Decider } from '../write/decider.ts';

export type ExperimentCommand =
  | {
      type: 'CreateExperiment';
      experimentId: string;
      name: string;
      artifactLocation: string | null;
      tags: KeyValue[];
    }
  | { type: 'RenameExperiment'; name: string }
  | { type: 'DeleteExperiment' }
  | { type: 'RestoreExperiment' }
  | { type: 'SetExperimentTag'; key: string; value: string }
  | { type: 'DeleteExperimentTag'; key: string };

export interface ExperimentState {
  experimentId: string | null;
  name: string;
  lifecycleStage: 'active' | 'deleted';
  /** Keys of the experiment's tags (a delete of an absent key is NOT_FOUND, as in MLflow). */
  tagKeys: ReadonlySet<string>;
}

export const experimentDecider: Decider<ExperimentCommand, ExperimentState> = {
  initialState: () => ({
    experimentId: null,
    name: '',
    lifecycleStage: 'active',
    tagKeys: new Set(),
  }),

  evolve(state, event) {
    switch (event.type) {
      case 'ExperimentCreated':
        return {
          experimentId: event.data.experimentId,
          name: event.data.name,
          lifecycleStage: 'active',
          tagKeys: new Set(event.data.tags.map((t) => t.key)),
        };
      case 'ExperimentRenamed':
        return { ...state, name: event.data.name };
      case 'ExperimentDeleted':
        return { ...state, lifecycleStage: 'deleted' };
      case 'ExperimentRestored':
        return { ...state, lifecycleStage: 'active' };
      case 'ExperimentTagSet':
        return { ...state, tagKeys: new Set([...state.tagKeys, event.data.key]) };
      case 'ExperimentTagDeleted': {
        const tagKeys = new Set(state.tagKeys);
        tagKeys.delete(event.data.key);
        return { ...state, tagKeys };
      }
      default:
        return state;
    }
  },

  decide(command, state, ctx) {
    if (command.type !== 'CreateExperiment' && state.experimentId === null) {
      throw new CairnError('NOT_FOUND', 'Experiment not found');
    }
    const id = state.experimentId ?? '';
    switch (command.type) {
      case 'CreateExperiment': {
        if (state.experimentId !== null)
          throw new CairnError(
            'ALREADY_EXISTS',
            `Experiment ${command.experimentId} already exists`,
          );
        for (const tag of command.tags) {
          validateKey('tag', tag.key);
          validateValue('tag', tag.key, tag.value);
        }
        return [
          newEvent(ctx, 'ExperimentCreated', {
            experimentId: command.experimentId,
            name: validateName('experiment', command.name),
            artifactLocation: checkOptionalText(
              'artifactLocation',
              command.artifactLocation,
              STRING_LIMITS.artifactLocation,
            ),
            tags: command.tags,
          }),
        ];
      }
      case 'RenameExperiment': {
        if (state.lifecycleStage !== 'active')
          throw invalidArgument('Cannot rename a deleted experiment; restore it first');
        const name = validateName('experiment', command.name);
        if (name === state.name) return [];
        return [newEvent(ctx, 'ExperimentRenamed', { experimentId: id, name })];
      }
      case 'DeleteExperiment':
        if (state.lifecycleStage === 'deleted')
          throw invalidArgument('Experiment is already deleted');
        return [newEvent(ctx, 'ExperimentDeleted', { experimentId: id })];
      case 'RestoreExperiment':
        if (state.lifecycleStage === 'active') throw invalidArgument('Experiment is not deleted');
        return [newEvent(ctx, 'ExperimentRestored', { experimentId: id })];
      case 'SetExperimentTag':
        validateKey('tag', command.key);
        validateValue('tag', command.key, command.value);
        return [
          newEvent(ctx, 'ExperimentTagSet', {
            experimentId: id,
            key: command.key,
            value: command.value,
          }),
        ];
      case 'DeleteExperimentTag':
        // MLflow's store: the experiment must be active and hold the tag.
        if (state.lifecycleStage !== 'active')
          throw invalidArgument(
            `The experiment ${id} must be in the 'active' state. Current state is deleted.`,
          );
        validateKey('tag', command.key);
        if (!state.tagKeys.has(command.key))
          throw new CairnError(
            'NOT_FOUND',
            `No tag with name: ${command.key} in experiment with id ${id}`,
          );
        return [newEvent(ctx, 'ExperimentTagDeleted', { experimentId: id, key: command.key })];
      default:
        return assertNever(command);
    }
  },
};
