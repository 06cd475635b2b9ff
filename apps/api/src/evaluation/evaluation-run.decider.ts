import { assertNever, type EvaluationRowData } from '@cairn/events';
import { CairnError } from '../errors.ts';
import { newEvent, type Decider } from '../write/decider.ts';

export interface EvaluationRunState {
  registered: boolean;
  experimentId: string;
  rowKeys: Set<string>;
}

export type EvaluationRunCommand =
  | {
      type: 'RegisterEvaluationRun';
      runId: string;
      experimentId: string;
      scorers: string[];
      datasetId: string | null;
      datasetVersion: number | null;
      modelId: string | null;
    }
  /** Rows whose rowKey the run has already are left out (idempotent per (runId, rowKey)). */
  | { type: 'RecordRows'; runId: string; rows: EvaluationRowData[] };

export const evaluationRunDecider: Decider<EvaluationRunCommand, EvaluationRunState> = {
  initialState: () => ({ registered: false, experimentId: '', rowKeys: new Set() }),
  evolve(state, event) {
    switch (event.type) {
      case 'EvaluationRunRegistered':
        return { ...state, registered: true, experimentId: event.data.experimentId };
      case 'EvaluationRowsRecorded': {
        const rowKeys = new Set(state.rowKeys);
        for (const row of event.data.rows) rowKeys.add(row.rowKey);
        return { ...state, rowKeys };
      }
      default:
        return state;
    }
  },
  decide(command, state, ctx) {
    switch (command.type) {
      case 'RegisterEvaluationRun':
        // Registering again changes nothing (a retried call).
        if (state.registered) return [];
        return [
          newEvent(ctx, 'EvaluationRunRegistered', {
            runId: command.runId,
            experimentId: command.experimentId,
            scorers: command.scorers,
            datasetId: command.datasetId,
            datasetVersion: command.datasetVersion,
            modelId: command.modelId,
          }),
        ];
      case 'RecordRows': {
        if (!state.registered)
          throw new CairnError(
            'NOT_FOUND',
            `Run ${command.runId} is not an evaluation run: call registerEvaluationRun first`,
            { id: command.runId },
          );
        const seen = new Set(state.rowKeys);
        const rows = command.rows.filter((r) => {
          if (seen.has(r.rowKey)) return false;
          seen.add(r.rowKey);
          return true;
        });
        if (rows.length === 0) return [];
        return [newEvent(ctx, 'EvaluationRowsRecorded', { runId: command.runId, rows: rows })];
      }
      default:
        return assertNever(command);
    }
  },
};
