import { assertNever, type EvaluationScorerSpecData } from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { checkText } from '../input-hygiene.ts';
import { parseTraceFilter } from '../tracing/trace-search.ts';
import { newEvent, type Decider } from '../write/decider.ts';
import { validateScorerSpecs } from './scorers/scorer-spec.ts';

/** Online evaluation rules (docs/evaluation.md, "Online evaluation"). */

export const RULE_LIMITS = { name: 200 } as const;

export interface ScorerSpecInput {
  name: string;
  type: string;
  config?: unknown;
}

export type EvaluationRuleCommand =
  | {
      type: 'CreateEvaluationRule';
      ruleId: string;
      name: string;
      filter: string | null;
      samplingRate: number;
      scorers: readonly ScorerSpecInput[];
    }
  | {
      type: 'UpdateEvaluationRule';
      /** undefined: unchanged; null or blank: no filter (every trace). */
      filter: string | null | undefined;
      samplingRate: number | undefined;
      scorers: readonly ScorerSpecInput[] | undefined;
      active: boolean | undefined;
    }
  | { type: 'DeleteEvaluationRule' };

export interface EvaluationRuleState {
  ruleId: string | null;
  filter: string | null;
  samplingRate: number;
  scorers: EvaluationScorerSpecData[];
  active: boolean;
  deleted: boolean;
}

/** A filter of the trace search grammar, checked by its parser; blank means none. */
export function validRuleFilter(filter: string | null): string | null {
  if (filter === null || filter.trim() === '') return null;
  parseTraceFilter(filter);
  return filter.trim();
}

export function validSamplingRate(rate: number): number {
  if (!Number.isFinite(rate) || rate < 0 || rate > 1)
    throw invalidArgument('samplingRate must be between 0 and 1', {
      argument: 'samplingRate',
      value: rate,
    });
  return rate;
}

function validName(name: string): string {
  const trimmed = checkText('name', name.trim(), RULE_LIMITS.name);
  if (trimmed === '') throw invalidArgument('A rule needs a name', { argument: 'name' });
  return trimmed;
}

const scorersOf = (specs: readonly ScorerSpecInput[]): EvaluationScorerSpecData[] =>
  validateScorerSpecs(specs) as EvaluationScorerSpecData[];

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export const evaluationRuleDecider: Decider<EvaluationRuleCommand, EvaluationRuleState> = {
  initialState: () => ({
    ruleId: null,
    filter: null,
    samplingRate: 0,
    scorers: [],
    active: false,
    deleted: false,
  }),

  evolve(state, event) {
    switch (event.type) {
      case 'EvaluationRuleCreated':
        return {
          ruleId: event.data.ruleId,
          filter: event.data.filter,
          samplingRate: event.data.samplingRate,
          scorers: event.data.scorers,
          active: true,
          deleted: false,
        };
      case 'EvaluationRuleUpdated':
        return {
          ...state,
          filter: event.data.filter,
          samplingRate: event.data.samplingRate,
          scorers: event.data.scorers,
          active: event.data.active,
        };
      case 'EvaluationRuleDeleted':
        return { ...state, deleted: true, active: false };
      default:
        return state;
    }
  },

  decide(command, state, ctx) {
    if (command.type === 'CreateEvaluationRule') {
      if (state.ruleId !== null)
        throw new CairnError('ALREADY_EXISTS', `Evaluation rule ${command.ruleId} already exists`);
      return [
        newEvent(ctx, 'EvaluationRuleCreated', {
          ruleId: command.ruleId,
          name: validName(command.name),
          filter: validRuleFilter(command.filter),
          samplingRate: validSamplingRate(command.samplingRate),
          scorers: scorersOf(command.scorers),
        }),
      ];
    }
    if (state.ruleId === null || state.deleted)
      throw new CairnError('NOT_FOUND', 'Evaluation rule not found');
    const ruleId = state.ruleId;
    switch (command.type) {
      case 'UpdateEvaluationRule': {
        const next = {
          ruleId,
          filter: command.filter === undefined ? state.filter : validRuleFilter(command.filter),
          samplingRate:
            command.samplingRate === undefined
              ? state.samplingRate
              : validSamplingRate(command.samplingRate),
          scorers: command.scorers === undefined ? state.scorers : scorersOf(command.scorers),
          active: command.active ?? state.active,
        };
        const unchanged =
          next.filter === state.filter &&
          next.samplingRate === state.samplingRate &&
          next.active === state.active &&
          sameJson(next.scorers, state.scorers);
        return unchanged ? [] : [newEvent(ctx, 'EvaluationRuleUpdated', next)];
      }
      case 'DeleteEvaluationRule':
        return [newEvent(ctx, 'EvaluationRuleDeleted', { ruleId })];
      default:
        return assertNever(command);
    }
  },
};
