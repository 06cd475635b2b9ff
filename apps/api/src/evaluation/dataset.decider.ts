import { assertNever, type DatasetRecordData, type KeyValue } from '@cairn/events';
import { CairnError } from '../errors.ts';
import { newEvent, type Decider } from '../write/decider.ts';

export interface DatasetState {
  exists: boolean;
  name: string;
  version: number;
  recordCount: number;
}

export type DatasetCommand =
  | {
      type: 'CreateDataset';
      datasetId: string;
      name: string;
      experimentId: string | null;
      tags: KeyValue[];
    }
  | { type: 'AppendRecords'; datasetId: string; records: DatasetRecordData[] };

export const datasetDecider: Decider<DatasetCommand, DatasetState> = {
  initialState: () => ({ exists: false, name: '', version: 0, recordCount: 0 }),
  evolve(state, event) {
    switch (event.type) {
      case 'EvaluationDatasetCreated':
        return { exists: true, name: event.data.name, version: 0, recordCount: 0 };
      case 'EvaluationDatasetRecordsAppended':
        return {
          ...state,
          version: event.data.version,
          recordCount: state.recordCount + event.data.records.length,
        };
      default:
        return state;
    }
  },
  decide(command, state, ctx) {
    switch (command.type) {
      case 'CreateDataset':
        if (state.exists)
          throw new CairnError('ALREADY_EXISTS', `Dataset ${command.datasetId} already exists`);
        return [
          newEvent(ctx, 'EvaluationDatasetCreated', {
            datasetId: command.datasetId,
            name: command.name,
            experimentId: command.experimentId,
            tags: command.tags,
          }),
        ];
      case 'AppendRecords':
        if (!state.exists)
          throw new CairnError('NOT_FOUND', `Dataset ${command.datasetId} not found`, {
            id: command.datasetId,
          });
        return [
          newEvent(ctx, 'EvaluationDatasetRecordsAppended', {
            datasetId: command.datasetId,
            version: state.version + 1,
            records: command.records,
          }),
        ];
      default:
        return assertNever(command);
    }
  },
};
