import { describe, expect, it } from 'vitest';
import { uuidv7, type CairnEvent } from '@cairn/events';
import { CairnError } from '../../src/errors.ts';
import { runDecider, type RunCommand, type RunState } from '../../src/runs/run.decider.ts';

const ctx = { now: () => new Date('2026-11-26T08:00:00Z'), newId: uuidv7 };
const runId = 'b'.repeat(32);

function given(commands: RunCommand[]): RunState {
  let state = runDecider.initialState();
  let position = 0;
  for (const command of commands) {
    for (const e of runDecider.decide(command, state, ctx)) {
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
    }
  }
  return state;
}

const start: RunCommand = {
  type: 'StartRun',
  runId,
  experimentId: 'c'.repeat(32),
  name: 'r',
  startTime: 1,
  parentRunId: null,
  tags: [],
  source: { gitCommit: null, entryPoint: null, sourceType: null },
};
const log = (overrides: Partial<Extract<RunCommand, { type: 'LogRunArtifact' }>> = {}) =>
  ({
    type: 'LogRunArtifact',
    path: 'model/model.pkl',
    size: 12,
    sha256: 'a'.repeat(64),
    contentType: 'application/octet-stream',
    ...overrides,
  }) satisfies RunCommand;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof CairnError) return error.code;
    throw error;
  }
  return undefined;
}

describe('run decider: LogRunArtifact', () => {
  it('records the artifact as RunArtifactLogged', () => {
    const events = runDecider.decide(log(), given([start]), ctx);
    expect(events.map((e) => [e.type, e.data])).toEqual([
      [
        'RunArtifactLogged',
        {
          runId,
          path: 'model/model.pkl',
          size: 12,
          sha256: 'a'.repeat(64),
          contentType: 'application/octet-stream',
        },
      ],
    ]);
  });

  it('refuses a run that does not exist or is deleted', () => {
    expect(codeOf(() => runDecider.decide(log(), given([]), ctx))).toBe('NOT_FOUND');
    const deleted = given([start, { type: 'DeleteRun' }]);
    expect(codeOf(() => runDecider.decide(log(), deleted, ctx))).toBe('INVALID_ARGUMENT');
    const restored = given([start, { type: 'DeleteRun' }, { type: 'RestoreRun' }]);
    expect(runDecider.decide(log(), restored, ctx)).toHaveLength(1);
  });

  it('refuses a malformed size or digest', () => {
    const state = given([start]);
    expect(codeOf(() => runDecider.decide(log({ size: -1 }), state, ctx))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => runDecider.decide(log({ size: 1.5 }), state, ctx))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => runDecider.decide(log({ sha256: 'ABC' }), state, ctx))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});
