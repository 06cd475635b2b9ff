import { assertNever, type AssessmentKind, type AssessmentSource } from '@cairn/events';
import { CairnError } from '../errors.ts';
import { newEvent, type Decider } from '../write/decider.ts';

/** What decisions need of one assessment. */
export interface AssessmentState {
  exists: boolean;
  deleted: boolean;
  traceId: string;
  value: unknown;
  rationale: string | null;
  source: AssessmentSource | null;
}

/** Validated input of a new assessment (see assessment.commands.ts). */
export interface NewAssessment {
  assessmentId: string;
  traceId: string;
  spanId: string | null;
  kind: AssessmentKind;
  name: string;
  value: unknown;
  rationale: string | null;
  error: string | null;
  source: AssessmentSource;
  runId: string | null;
  ruleId: string | null;
  metadata: Record<string, unknown>;
}

/** The state of an assessment stored by an evaluation run (its stream has no events yet). */
export type AssessmentSeed = Omit<AssessmentState, 'exists' | 'deleted'>;

export type AssessmentCommand =
  | { type: 'CreateAssessment'; input: NewAssessment }
  | {
      type: 'UpdateAssessment';
      assessmentId: string;
      /** `undefined`: keep the current one. */
      value: unknown;
      rationale: string | null | undefined;
      source: AssessmentSource;
      seed: AssessmentSeed | null;
    }
  | { type: 'DeleteAssessment'; assessmentId: string; seed: AssessmentSeed | null };

const initialState = (): AssessmentState => ({
  exists: false,
  deleted: false,
  traceId: '',
  value: null,
  rationale: null,
  source: null,
});

function current(state: AssessmentState, seed: AssessmentSeed | null, id: string): AssessmentSeed {
  if (state.deleted) throw new CairnError('NOT_FOUND', `Assessment ${id} not found`, { id });
  if (state.exists) return state;
  if (seed) return seed;
  throw new CairnError('NOT_FOUND', `Assessment ${id} not found`, { id });
}

export const assessmentDecider: Decider<AssessmentCommand, AssessmentState> = {
  initialState,
  evolve(state, event) {
    switch (event.type) {
      case 'AssessmentCreated':
        return {
          exists: true,
          deleted: false,
          traceId: event.data.traceId,
          value: event.data.value,
          rationale: event.data.rationale,
          source: event.data.source,
        };
      case 'AssessmentUpdated':
        return {
          ...state,
          exists: true,
          traceId: event.data.traceId,
          value: event.data.value,
          rationale: event.data.rationale,
          source: event.data.source,
        };
      case 'AssessmentDeleted':
        return { ...state, deleted: true };
      default:
        return state;
    }
  },
  decide(command, state, ctx) {
    switch (command.type) {
      case 'CreateAssessment': {
        const id = command.input.assessmentId;
        if (state.exists || state.deleted)
          throw new CairnError('ALREADY_EXISTS', `Assessment ${id} already exists`, {
            scope: 'assessment',
            key: id,
          });
        const i = command.input;
        return [
          newEvent(ctx, 'AssessmentCreated', {
            assessmentId: i.assessmentId,
            traceId: i.traceId,
            spanId: i.spanId,
            kind: i.kind,
            name: i.name,
            value: (i.value ?? null) as never,
            rationale: i.rationale,
            error: i.error,
            source: i.source,
            runId: i.runId,
            ruleId: i.ruleId,
            metadata: i.metadata as never,
          }),
        ];
      }
      case 'UpdateAssessment': {
        const now = current(state, command.seed, command.assessmentId);
        return [
          newEvent(ctx, 'AssessmentUpdated', {
            assessmentId: command.assessmentId,
            traceId: now.traceId,
            value: (command.value === undefined ? now.value : command.value) as never,
            rationale: command.rationale === undefined ? now.rationale : command.rationale,
            source: command.source,
          }),
        ];
      }
      case 'DeleteAssessment': {
        const now = current(state, command.seed, command.assessmentId);
        return [
          newEvent(ctx, 'AssessmentDeleted', {
            assessmentId: command.assessmentId,
            traceId: now.traceId,
          }),
        ];
      }
      default:
        return assertNever(command);
    }
  },
};
