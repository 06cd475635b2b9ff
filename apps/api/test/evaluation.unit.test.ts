/** Pure parts of the evaluation backend: the value model, score comparison, the deciders. */
import { describe, expect, it } from 'vitest';
import { decodeEvent, type NewEvent } from '@cairn/events';
import { CairnError } from '../src/errors.ts';
import { assessmentDecider, type NewAssessment } from '../src/evaluation/assessment.decider.ts';
import { datasetDecider } from '../src/evaluation/dataset.decider.ts';
import { evaluationRunDecider } from '../src/evaluation/evaluation-run.decider.ts';
import { numericValue } from '../src/evaluation/evaluation-limits.ts';
import {
  compareRows,
  compareScore,
  rowChanged,
  type EvaluationRowView,
} from '../src/evaluation/evaluation.queries.ts';
import type { DecideContext, Decider } from '../src/write/decider.ts';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const ID = '019000000000700080000000000000aa';
const RUN = '019000000000700080000000000000bb';

function context(): DecideContext {
  let n = 0;
  return {
    now: () => new Date('2026-12-06T12:00:00.000Z'),
    newId: () => `0190000000007000800000000000${String(++n).padStart(4, '0')}`,
  };
}

/** given events (as new events) → state → when command → then events or error. */
function run<C, S>(decider: Decider<C, S>, given: NewEvent[], command: C) {
  let state = decider.initialState();
  given.forEach((e, i) => {
    const stored = decodeEvent({
      ...e,
      eventId: e.id,
      streamId: 's',
      streamPosition: i + 1,
      globalPosition: i + 1,
      workspaceId: 'w',
      recordedAt: e.occurredAt,
      metadata: { actor: 't', correlationId: 'c', causationId: null },
    } as never);
    state = decider.evolve(state, stored);
  });
  return decider.decide(command, state, context());
}

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    if (error instanceof CairnError) return error.code;
    throw error;
  }
}

const input: NewAssessment = {
  assessmentId: ID,
  traceId: TRACE,
  spanId: null,
  kind: 'FEEDBACK',
  name: 'helpful',
  value: 'yes',
  rationale: 'r',
  error: null,
  source: { type: 'HUMAN', id: 'ann' },
  runId: null,
  ruleId: null,
  metadata: {},
};

describe('value model', () => {
  it('reads booleans and yes/no as 1/0, numbers as themselves, nothing else', () => {
    expect([true, false, 'yes', ' No ', 0.25, 3].map(numericValue)).toEqual([1, 0, 1, 0, 0.25, 3]);
    expect(['maybe', null, {}, [1], Number.NaN].map(numericValue)).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it('compares scores: higher is better, non-numeric values are CHANGED or UNCHANGED', () => {
    const m = (o: Record<string, unknown>) => new Map(Object.entries(o));
    const change = (b: Record<string, unknown>, c: Record<string, unknown>) =>
      compareScore('s', m(b), m(c)).change;
    expect(change({ s: 'yes' }, { s: 'no' })).toBe('REGRESSED');
    expect(change({ s: false }, { s: 'yes' })).toBe('IMPROVED');
    expect(change({ s: 1 }, { s: true })).toBe('UNCHANGED');
    expect(change({ s: 'good' }, { s: 'bad' })).toBe('CHANGED');
    expect(change({ s: { a: 1, b: 2 } }, { s: { b: 2, a: 1 } })).toBe('UNCHANGED');
    expect(change({ s: null }, { s: 1 })).toBe('CHANGED');
    expect(change({}, { s: 1 })).toBe('ADDED');
    expect(change({ s: 1 }, {})).toBe('REMOVED');
  });

  it('matches rows by rowKey: base order first, one-sided rows with the other side null', () => {
    const row = (key: string, value: unknown): EvaluationRowView =>
      ({
        row_key: key,
        inputs: { key },
        assessments: [{ name: 's', value }],
      }) as unknown as EvaluationRowView;
    const rows = compareRows([row('a', 1), row('b', 1)], [row('c', 1), row('b', 0), row('a', 1)]);
    expect(
      rows.map((r) => [r.rowKey, r.base?.row_key ?? null, r.candidate?.row_key ?? null]),
    ).toEqual([
      ['a', 'a', 'a'],
      ['b', 'b', 'b'],
      ['c', null, 'c'],
    ]);
    expect(rows.map((r) => [r.regressed, r.improved, rowChanged(r)])).toEqual([
      [false, false, false],
      [true, false, true],
      [false, false, true],
    ]);
  });
});

describe('deciders', () => {
  it('assessments: a second creation with the same id is ALREADY_EXISTS; updates need one to exist', () => {
    const [created] = run(assessmentDecider, [], { type: 'CreateAssessment', input });
    expect(created?.type).toBe('AssessmentCreated');
    expect(
      codeOf(() => run(assessmentDecider, [created!], { type: 'CreateAssessment', input })),
    ).toBe('ALREADY_EXISTS');
    const update = {
      type: 'UpdateAssessment' as const,
      assessmentId: ID,
      value: undefined,
      rationale: undefined,
      source: { type: 'HUMAN' as const, id: 'bob' },
      seed: null,
    };
    expect(codeOf(() => run(assessmentDecider, [], update))).toBe('NOT_FOUND');
    // left-out fields keep the current value
    expect(run(assessmentDecider, [created!], update)[0]?.data).toEqual({
      assessmentId: ID,
      traceId: TRACE,
      value: 'yes',
      rationale: 'r',
      source: { type: 'HUMAN', id: 'bob' },
    });
    // a run's assessment (no events yet) is updated from its read-model seed
    const seed = {
      traceId: TRACE,
      value: 1,
      rationale: null,
      source: { type: 'CODE' as const, id: 'x' },
    };
    expect(run(assessmentDecider, [], { ...update, value: 2, seed })[0]?.data).toMatchObject({
      value: 2,
    });
    const [deleted] = run(assessmentDecider, [created!], {
      type: 'DeleteAssessment',
      assessmentId: ID,
      seed: null,
    });
    expect(codeOf(() => run(assessmentDecider, [created!, deleted!], update))).toBe('NOT_FOUND');
    expect(
      codeOf(() =>
        run(assessmentDecider, [created!, deleted!], { type: 'CreateAssessment', input }),
      ),
    ).toBe('ALREADY_EXISTS');
  });

  it('datasets: every append is the next version', () => {
    const [created] = run(datasetDecider, [], {
      type: 'CreateDataset',
      datasetId: ID,
      name: 'd',
      experimentId: null,
      tags: [],
    });
    const append = { type: 'AppendRecords' as const, datasetId: ID, records: [] };
    const [v1] = run(datasetDecider, [created!], append);
    const [v2] = run(datasetDecider, [created!, v1!], append);
    expect([v1?.data, v2?.data]).toMatchObject([{ version: 1 }, { version: 2 }]);
    expect(codeOf(() => run(datasetDecider, [], append))).toBe('NOT_FOUND');
  });

  it('evaluation runs: registering twice appends nothing; recorded rowKeys are left out', () => {
    const register = {
      type: 'RegisterEvaluationRun' as const,
      runId: RUN,
      experimentId: ID,
      scorers: ['s'],
      datasetId: null,
      datasetVersion: null,
      modelId: null,
    };
    const [registered] = run(evaluationRunDecider, [], register);
    expect(run(evaluationRunDecider, [registered!], register)).toEqual([]);
    const row = (rowKey: string) => ({
      rowKey,
      traceId: TRACE,
      inputs: { rowKey },
      outputs: null,
      expectations: null,
      scores: [],
    });
    const record = (...keys: string[]) => ({
      type: 'RecordRows' as const,
      runId: RUN,
      rows: keys.map(row),
    });
    expect(codeOf(() => run(evaluationRunDecider, [], record('a')))).toBe('NOT_FOUND');
    const [first] = run(evaluationRunDecider, [registered!], record('a', 'b', 'a'));
    expect((first?.data as { rows: { rowKey: string }[] }).rows.map((r) => r.rowKey)).toEqual([
      'a',
      'b',
    ]);
    const [second] = run(evaluationRunDecider, [registered!, first!], record('b', 'c'));
    expect((second?.data as { rows: { rowKey: string }[] }).rows.map((r) => r.rowKey)).toEqual([
      'c',
    ]);
    expect(run(evaluationRunDecider, [registered!, first!], record('a', 'b'))).toEqual([]);
  });
});
