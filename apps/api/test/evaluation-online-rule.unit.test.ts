import { describe, expect, it } from 'vitest';
import { decodeEvent, type CairnEvent, type NewEvent } from '@cairn/events';
import { CairnError } from '../src/errors.ts';
import {
  evaluationRuleDecider,
  type EvaluationRuleCommand,
  type EvaluationRuleState,
} from '../src/evaluation/rule.decider.ts';
import { onlineAssessmentId, sampled } from '../src/evaluation/online-evaluator.ts';
import type { DecideContext } from '../src/write/decider.ts';

const RULE = '0193a1b2c3d4e5f60718293a4b5c6d7e';
let n = 0;
const ctx: DecideContext = {
  now: () => new Date('2026-12-07T00:00:00Z'),
  newId: () => `0193a1b2-c3d4-7000-8000-${String(++n).padStart(12, '0')}`,
};

/** Stored form of a new event, decoded as a reader would see it. */
function stored(event: NewEvent, position: number): CairnEvent {
  return decodeEvent({
    ...event,
    workspaceId: 'ws',
    streamId: `evaluation-rule-${RULE}`,
    streamPosition: position,
    globalPosition: position,
    transactionId: '1',
    recordedAt: event.occurredAt,
    actor: 'test',
    correlationId: 'c',
    causationId: null,
  });
}

function given(commands: EvaluationRuleCommand[]): EvaluationRuleState {
  let state = evaluationRuleDecider.initialState();
  let position = 0;
  for (const command of commands)
    for (const event of evaluationRuleDecider.decide(command, state, ctx))
      state = evaluationRuleDecider.evolve(state, stored(event, ++position));
  return state;
}

const create: EvaluationRuleCommand = {
  type: 'CreateEvaluationRule',
  ruleId: RULE,
  name: ' quality ',
  filter: "name = 'chat'",
  samplingRate: 0.5,
  scorers: [{ name: 'ok', type: 'contains', config: { value: 'ok' } }],
};
const update = (patch: Partial<Extract<EvaluationRuleCommand, { type: 'UpdateEvaluationRule' }>>) =>
  ({
    type: 'UpdateEvaluationRule',
    filter: undefined,
    samplingRate: undefined,
    scorers: undefined,
    active: undefined,
    ...patch,
  }) as EvaluationRuleCommand;

function thrown(fn: () => unknown): CairnError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CairnError);
    return error as CairnError;
  }
  throw new Error('expected a CairnError');
}

describe('evaluation rule decider', () => {
  it('creates a rule with a trimmed name and validated scorers', () => {
    const [event] = evaluationRuleDecider.decide(create, evaluationRuleDecider.initialState(), ctx);
    expect(event).toMatchObject({
      type: 'EvaluationRuleCreated',
      data: {
        ruleId: RULE,
        name: 'quality',
        filter: "name = 'chat'",
        samplingRate: 0.5,
        scorers: [{ name: 'ok', type: 'contains', config: { value: 'ok', caseSensitive: true } }],
      },
    });
  });

  it('rejects a bad filter, a rate outside [0, 1] and a second create', () => {
    const empty = evaluationRuleDecider.initialState();
    expect(
      thrown(() => evaluationRuleDecider.decide({ ...create, filter: 'name ~ 1' }, empty, ctx))
        .details,
    ).toMatchObject({ argument: 'filter' });
    expect(
      thrown(() => evaluationRuleDecider.decide({ ...create, samplingRate: -0.1 }, empty, ctx))
        .details,
    ).toMatchObject({ argument: 'samplingRate' });
    expect(
      thrown(() =>
        evaluationRuleDecider.decide({ ...create, samplingRate: Number.NaN }, empty, ctx),
      ).code,
    ).toBe('INVALID_ARGUMENT');
    expect(thrown(() => evaluationRuleDecider.decide(create, given([create]), ctx)).code).toBe(
      'ALREADY_EXISTS',
    );
  });

  it('updates only what changed, and nothing when nothing did', () => {
    const state = given([create]);
    expect(evaluationRuleDecider.decide(update({ samplingRate: 0.5 }), state, ctx)).toEqual([]);
    const [event] = evaluationRuleDecider.decide(update({ active: false, filter: '' }), state, ctx);
    expect(event).toMatchObject({
      type: 'EvaluationRuleUpdated',
      data: { filter: null, samplingRate: 0.5, active: false },
    });
    const after = given([create, update({ active: false, samplingRate: 1 })]);
    expect(after).toMatchObject({ active: false, samplingRate: 1, filter: "name = 'chat'" });
  });

  it('answers NOT_FOUND for a deleted or unknown rule', () => {
    const deleted = given([create, { type: 'DeleteEvaluationRule' }]);
    expect(deleted.deleted).toBe(true);
    expect(
      thrown(() => evaluationRuleDecider.decide(update({ active: true }), deleted, ctx)).code,
    ).toBe('NOT_FOUND');
    expect(
      thrown(() =>
        evaluationRuleDecider.decide(
          { type: 'DeleteEvaluationRule' },
          evaluationRuleDecider.initialState(),
          ctx,
        ),
      ).code,
    ).toBe('NOT_FOUND');
  });
});

describe('online ids and sampling', () => {
  it('derives 32-hex uuid-v5-style ids, distinct per workspace, rule, trace and scorer', () => {
    const id = onlineAssessmentId('ws', RULE, 'a'.repeat(32), 'relevant');
    expect(id).toMatch(/^[0-9a-f]{12}5[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    expect(onlineAssessmentId('ws', RULE, 'a'.repeat(32), 'relevant')).toBe(id);
    const others = [
      onlineAssessmentId('ws2', RULE, 'a'.repeat(32), 'relevant'),
      onlineAssessmentId('ws', RULE.replace('0', '1'), 'a'.repeat(32), 'relevant'),
      onlineAssessmentId('ws', RULE, 'b'.repeat(32), 'relevant'),
      onlineAssessmentId('ws', RULE, 'a'.repeat(32), 'fast'),
    ];
    expect(new Set([id, ...others]).size).toBe(5);
  });

  it('samples deterministically, close to the rate, 0 and 1 exactly', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => i.toString(16).padStart(32, '0'));
    const picked = ids.filter((t) => sampled(RULE, t, 0.3));
    expect(picked.length / ids.length).toBeGreaterThan(0.25);
    expect(picked.length / ids.length).toBeLessThan(0.35);
    expect(ids.filter((t) => sampled(RULE, t, 0.3))).toEqual(picked);
    expect(ids.filter((t) => sampled(RULE, t, 0)).length).toBe(0);
    expect(ids.filter((t) => sampled(RULE, t, 1)).length).toBe(ids.length);
    // Another rule samples other traces.
    expect(ids.filter((t) => sampled(RULE.replace('0', '9'), t, 0.3))).not.toEqual(picked);
  });
});
