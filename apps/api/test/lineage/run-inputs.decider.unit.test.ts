/** LogRunInputs given/when/then: one RunInputsLogged, repeats dropped, typed input errors. */
import { describe, expect, it } from 'vitest';
import { uuidv7, type CairnEvent, type RunDatasetInput } from '@cairn/events';
import { CairnError } from '../../src/errors.ts';
import {
  DATASET_INPUTS_PER_CALL,
  runDecider,
  type RunCommand,
  type RunState,
} from '../../src/runs/run.decider.ts';

const ctx = { now: () => new Date('2026-12-07T08:00:00Z'), newId: uuidv7 };
const runId = 'd'.repeat(32);

function given(commands: RunCommand[]): RunState {
  let state = runDecider.initialState();
  let position = 0;
  for (const command of commands)
    for (const e of runDecider.decide(command, state, ctx))
      state = runDecider.evolve(state, {
        ...e,
        workspaceId: 'w',
        streamId: `run-${runId}`,
        streamPosition: ++position,
        globalPosition: position,
        transactionId: '1',
        recordedAt: e.occurredAt,
        actor: 'test',
        correlationId: 'c',
        causationId: null,
      } as CairnEvent);
  return state;
}

const start: RunCommand = {
  type: 'StartRun',
  runId,
  experimentId: 'e'.repeat(32),
  name: 'r',
  startTime: 1,
  parentRunId: null,
  tags: [],
  source: { gitCommit: null, entryPoint: null, sourceType: null },
};

const aDataset = (over: Partial<RunDatasetInput> = {}): RunDatasetInput => ({
  name: 'train',
  digest: 'abcd1234',
  sourceType: 'local',
  source: '{}',
  schema: null,
  profile: null,
  context: 'training',
  tags: [],
  ...over,
});

const when = (state: RunState, datasets: RunDatasetInput[]) =>
  runDecider.decide({ type: 'LogRunInputs', datasets }, state, ctx);

describe('LogRunInputs', () => {
  it('records new datasets in one event and drops repeats (same name, digest, context)', () => {
    const state = given([start, { type: 'LogRunInputs', datasets: [aDataset()] }]);
    const events = when(state, [
      aDataset(),
      aDataset({ context: 'eval' }),
      aDataset({ context: 'eval' }),
    ]);
    expect(events.map((e) => e.type)).toEqual(['RunInputsLogged']);
    expect(events[0]!.data).toEqual({ runId, datasets: [aDataset({ context: 'eval' })] });
    expect(when(state, [aDataset()])).toEqual([]);
  });

  it('refuses empty fields, too many datasets and a missing run with typed errors', () => {
    const state = given([start]);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof CairnError ? e.code : 'untyped';
      }
      return 'none';
    };
    expect(code(() => when(state, [aDataset({ name: ' ' })]))).toBe('INVALID_ARGUMENT');
    expect(code(() => when(state, [aDataset({ digest: 'x'.repeat(65) })]))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(code(() => when(state, []))).toBe('INVALID_ARGUMENT');
    expect(
      code(() =>
        when(
          state,
          Array.from({ length: DATASET_INPUTS_PER_CALL + 1 }, (_, i) =>
            aDataset({ digest: `d${i}` }),
          ),
        ),
      ),
    ).toBe('INVALID_ARGUMENT');
    expect(code(() => when(runDecider.initialState(), [aDataset()]))).toBe('NOT_FOUND');
  });
});
