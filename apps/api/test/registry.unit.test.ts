import { describe, expect, it } from 'vitest';
import { decodeEvent, type NewEvent, type StoredEventEnvelope } from '@cairn/events';
import { CairnError } from '../src/errors.ts';
import { parseModelUri } from '../src/registry/model-uri.ts';
import {
  registeredModelDecider as decider,
  type RegisteredModelCommand,
  type RegisteredModelState,
} from '../src/registry/registered-model.decider.ts';
import type { DecideContext } from '../src/write/decider.ts';

const MODEL = 'a'.repeat(32);
const RUN = 'b'.repeat(32);

function context(): DecideContext {
  let n = 0;
  return {
    now: () => new Date('2026-11-26T00:00:00.000Z'),
    newId: () => `0190${String(++n).padStart(28, '0')}`,
  };
}

/** Folds new events into the state as the store would after appending them. */
function stored(events: NewEvent[], from: number): StoredEventEnvelope[] {
  return events.map((e, i) => ({
    ...e,
    workspaceId: 'ws',
    streamId: `registered-model-${MODEL}`,
    streamPosition: from + i + 1,
    globalPosition: from + i + 1,
    transactionId: '1',
    recordedAt: e.occurredAt,
    actor: 'test',
    correlationId: 'c',
    causationId: null,
  }));
}

/** given(commands) → state; each command is decided against the state of the ones before. */
function given(commands: RegisteredModelCommand[]): { state: RegisteredModelState; n: number } {
  const ctx = context();
  let state = decider.initialState();
  let n = 0;
  for (const command of commands) {
    const events = decider.decide(command, state, ctx);
    for (const e of stored(events, n)) state = decider.evolve(state, decodeEvent(e));
    n += events.length;
  }
  return { state, n };
}

function when(state: RegisteredModelState, command: RegisteredModelCommand) {
  return decider.decide(command, state, context());
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof CairnError) return error.code;
    throw error;
  }
  return undefined;
}

const create: RegisteredModelCommand = {
  type: 'CreateRegisteredModel',
  modelId: MODEL,
  name: 'm',
  description: null,
  tags: [],
};
const version = (source = 's3://b/m'): RegisteredModelCommand => ({
  type: 'CreateModelVersion',
  name: 'm',
  source,
  runId: null,
  runExists: false,
  description: null,
  tags: [],
  createModelId: null,
});

describe('registered model decider', () => {
  it('numbers versions max+1 and never reuses a deleted number', () => {
    const { state } = given([
      create,
      version(),
      version(),
      { type: 'DeleteModelVersion', name: 'm', version: 2 },
    ]);
    const [event] = when(state, version());
    expect(event).toMatchObject({ type: 'ModelVersionCreated', data: { version: 3, name: 'm' } });
  });

  it('creates the model in the same decision when asked to (createModelIfMissing)', () => {
    const events = when(decider.initialState(), { ...version(), createModelId: MODEL } as never);
    expect(events.map((e) => e.type)).toEqual(['RegisteredModelCreated', 'ModelVersionCreated']);
    expect(events[1]!.data).toMatchObject({ modelId: MODEL, name: 'm', version: 1 });
  });

  it('archives the current holders of the target stage when asked to', () => {
    const { state } = given([
      create,
      version(),
      version(),
      version(),
      {
        type: 'TransitionModelVersionStage',
        name: 'm',
        version: 1,
        stage: 'PRODUCTION',
        archiveExistingVersions: false,
      },
      {
        type: 'TransitionModelVersionStage',
        name: 'm',
        version: 2,
        stage: 'PRODUCTION',
        archiveExistingVersions: false,
      },
    ]);
    const [event] = when(state, {
      type: 'TransitionModelVersionStage',
      name: 'm',
      version: 3,
      stage: 'PRODUCTION',
      archiveExistingVersions: true,
    });
    expect(event!.data).toMatchObject({
      version: 3,
      fromStage: 'NONE',
      toStage: 'PRODUCTION',
      archivedVersions: [1, 2],
    });
  });

  it('records the previous version when an alias moves, and removes aliases with their version', () => {
    const { state } = given([
      create,
      version(),
      version(),
      { type: 'SetModelAlias', name: 'm', alias: 'champion', version: 1 },
    ]);
    expect(
      when(state, { type: 'SetModelAlias', name: 'm', alias: 'champion', version: 2 })[0]!.data,
    ).toMatchObject({ alias: 'champion', version: 2, previousVersion: 1 });
    expect(
      when(state, { type: 'SetModelAlias', name: 'm', alias: 'champion', version: 1 }),
    ).toEqual([]);
    const deleted = when(state, { type: 'DeleteModelVersion', name: 'm', version: 1 });
    expect(deleted.map((e) => e.type)).toEqual(['ModelAliasDeleted', 'ModelVersionDeleted']);
  });

  it('rejects bad names, aliases, sources and runs with typed errors', () => {
    const { state } = given([create, version()]);
    expect(codeOf(() => when(decider.initialState(), { ...create, name: 'a/b' }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => when(state, create))).toBe('ALREADY_EXISTS');
    for (const alias of ['latest', 'Latest', 'v1', 'V22', 'a b', '']) {
      expect(
        codeOf(() => when(state, { type: 'SetModelAlias', name: 'm', alias, version: 1 })),
        alias,
      ).toBe('INVALID_ARGUMENT');
    }
    expect(
      codeOf(() => when(state, { type: 'SetModelAlias', name: 'm', alias: 'x', version: 5 })),
    ).toBe('NOT_FOUND');
    for (const source of ['/etc/passwd', 'https://x/y', 'runs:/x/model', '']) {
      expect(
        codeOf(() => when(state, version(source))),
        source,
      ).toBe('INVALID_ARGUMENT');
    }
    expect(codeOf(() => when(state, version(`runs:/${RUN}/model`)))).toBe('NOT_FOUND');
    const ok = when(state, { ...version(`runs:/${RUN}/model`), runExists: true } as never);
    expect(ok[0]!.data).toMatchObject({ runId: RUN, version: 2 });
    // A name that no longer addresses the stream (renamed concurrently) is NOT_FOUND.
    expect(codeOf(() => when(state, { ...version(), name: 'old-name' }))).toBe('NOT_FOUND');
  });
});

describe('models:/ URIs', () => {
  it('parses aliases, versions, stages and latest', () => {
    expect(parseModelUri('models:/m@champion')).toEqual({
      name: 'm',
      kind: 'alias',
      alias: 'champion',
    });
    expect(parseModelUri('models:/my model.v2/3')).toEqual({
      name: 'my model.v2',
      kind: 'version',
      version: 3,
    });
    expect(parseModelUri('models:/m/Production')).toEqual({
      name: 'm',
      kind: 'stage',
      stage: 'PRODUCTION',
    });
    expect(parseModelUri('models:/m/latest')).toEqual({ name: 'm', kind: 'latest' });
    for (const bad of [
      'm/1',
      'models:/m',
      'models:/m/',
      'models:/m/x',
      'models:/a/b/1',
      'models:/@a',
    ]) {
      expect(() => parseModelUri(bad), bad).toThrow(CairnError);
    }
  });
});
