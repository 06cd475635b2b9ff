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
  | { type: 'SetExperimentTag'; key: string; value: string };

export interface ExperimentState {
  experimentId: string | null;
  name: string;
  lifecycleStage: 'active' | 'deleted';
}

export const experimentDecider: Decider<ExperimentCommand, ExperimentState> = {
  initialState: () => ({ experimentId: null, name: '', lifecycleStage: 'active' }),

  evolve(state, event) {
    switch (event.type) {
      case 'ExperimentCreated':
        return {
          experimentId: event.data.experimentId,
          name: event.data.name,
          lifecycleStage: 'active',
        };
      case 'ExperimentRenamed':
        return { ...state, name: event.data.name };
      case 'ExperimentDeleted':
        return { ...state, lifecycleStage: 'deleted' };
      case 'ExperimentRestored':
        return { ...state, lifecycleStage: 'active' };
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
      default:
        return assertNever(command);
    }
  },
};
