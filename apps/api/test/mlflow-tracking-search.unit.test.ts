import { describe, expect, it } from 'vitest';
import { parseMlflowRunSearch } from '../src/mlflow/run-search.ts';
import { sampleSteps } from '../src/mlflow/metrics.handlers.ts';
import { loggedModelIds, mlflowDouble, runMessage } from '../src/mlflow/run-message.ts';
import type { RunRow } from '../src/runs/runs.queries.ts';

/** The MLflow adapters of the run search, the step sampling and the Run message: pure functions. */

describe('parseMlflowRunSearch', () => {
  it("searches MLflow's tags.mlflow.runName as the run name attribute", () => {
    const { filter, orderBy } = parseMlflowRunSearch("tags.mlflow.runName = 'r1'", [
      'tags.`mlflow.runName` DESC',
    ]);
    expect(filter).toMatchObject({
      type: 'compare',
      target: { kind: 'attribute', name: 'run_name' },
      op: '=',
      value: 'r1',
    });
    expect(orderBy).toEqual([
      { target: { kind: 'attribute', name: 'run_name' }, direction: 'desc' },
    ]);
  });

  it('maps inside AND, OR and NOT, and leaves other tags alone', () => {
    const { filter } = parseMlflowRunSearch(
      "metrics.loss < 0.5 AND (tags.mlflow.runName LIKE 'a%' OR tags.mlflow.parentRunId = 'x')",
      [],
    );
    expect(filter).toMatchObject({
      type: 'and',
      operands: [
        { type: 'compare', target: { kind: 'metric', key: 'loss' }, op: '<', value: 0.5 },
        {
          type: 'or',
          operands: [
            { type: 'like', target: { kind: 'attribute', name: 'run_name' }, pattern: 'a%' },
            { type: 'compare', target: { kind: 'tag', key: 'mlflow.parentRunId' }, value: 'x' },
          ],
        },
      ],
    });
  });

  it('turns IS NULL on the run name into a test no name passes (every run has a name)', () => {
    const isNull = parseMlflowRunSearch('tags.mlflow.runName IS NULL', []).filter;
    const notNull = parseMlflowRunSearch('tags.mlflow.runName IS NOT NULL', []).filter;
    expect(isNull).toMatchObject({ type: 'compare', op: '=', target: { kind: 'attribute' } });
    expect(notNull).toMatchObject({ type: 'compare', op: '!=', target: { kind: 'attribute' } });
  });

  it('drops a repeated sort on the name given both ways, and refuses bad grammar', () => {
    const { orderBy } = parseMlflowRunSearch(null, ['attributes.run_name', 'tags.mlflow.runName']);
    expect(orderBy).toHaveLength(1);
    expect(() => parseMlflowRunSearch('metrics.loss >', [])).toThrow(/position/);
    expect(() => parseMlflowRunSearch("metrics.loss = 'x'", [])).toThrow();
    expect(parseMlflowRunSearch('  ', []).filter).toBeNull();
  });
});

describe('sampleSteps (MLflow get-history-bulk-interval)', () => {
  const steps = Array.from({ length: 100 }, (_, i) => i * 2);
  it('keeps every step of a range with at most max_results steps', () => {
    expect([...sampleSteps(10, 20, 10, steps)].sort((a, b) => a - b)).toEqual([
      10, 12, 14, 16, 18, 20,
    ]);
  });
  it('samples evenly and keeps the last step of the range', () => {
    const sampled = [...sampleSteps(0, 198, 4, steps)].sort((a, b) => a - b);
    expect(sampled).toEqual([0, 50, 100, 150, 198]);
  });
  it('is empty for a range without steps', () => {
    expect(sampleSteps(1000, 2000, 5, steps).size).toBe(0);
  });
});

describe('Run message', () => {
  const row = (over: Partial<RunRow> = {}): RunRow => ({
    workspace_id: 'w',
    run_id: 'a'.repeat(32),
    experiment_id: 'e'.repeat(32),
    name: 'r',
    status: 'FINISHED',
    start_time: 10,
    end_time: 20,
    lifecycle_stage: 'active',
    parent_run_id: null,
    source_git_commit: null,
    source_entry_point: null,
    source_type: null,
    created_at: new Date(0),
    updated_at: new Date(0),
    ...over,
  });

  it('writes doubles as proto-JSON does', () => {
    expect([NaN, Infinity, -Infinity, 1.5].map(mlflowDouble)).toEqual([
      'NaN',
      'Infinity',
      '-Infinity',
      1.5,
    ]);
  });

  it('derives mlflow.runName, hides logged-model records and shows those not deleted as outputs', () => {
    const model = `m-${'a'.repeat(32)}${'0'.repeat(8)}`;
    const gone = `m-${'a'.repeat(32)}${'1'.repeat(8)}`;
    const record = (d: boolean) =>
      JSON.stringify({
        n: 'model',
        t: null,
        s: 'READY',
        m: null,
        c: 1,
        u: 1,
        d,
        tags: {},
        params: {},
      });
    const stored = [
      { key: 'mlflow.runName', value: 'stale' },
      { key: 'mlflow.user', value: 'ann' },
      { key: `cairn.logged_model.${model}.0`, value: `1:${record(false)}` },
      { key: `cairn.logged_model.${gone}.0`, value: `1:${record(true)}` },
    ];
    expect(loggedModelIds(stored)).toEqual([model]);
    const message = runMessage(row(), [], stored, []);
    expect(message.info).toMatchObject({ run_name: 'r', user_id: 'ann', end_time: 20 });
    expect(message.data.tags).toEqual([
      { key: 'mlflow.user', value: 'ann' },
      { key: 'mlflow.runName', value: 'r' },
    ]);
    expect(message.outputs).toEqual({ model_outputs: [{ model_id: model, step: 0 }] });
    expect('end_time' in runMessage(row({ end_time: null }), [], [], []).info).toBe(false);
  });
});
