import { describe, expect, it } from 'vitest';
import { decodeEvent, type NewEvent, type StoredEventEnvelope } from '@cairn/events';
import { CairnError } from '../src/errors.ts';
import { diffLines, diffValues, templateLines } from '../src/prompts/prompt-diff.ts';
import { extractVariables, validateJsonObject } from '../src/prompts/prompt-template.ts';
import { parsePromptUri } from '../src/prompts/prompt-uri.ts';
import {
  promptDecider as decider,
  type PromptCommand,
  type PromptState,
  type PromptVersionInput,
} from '../src/prompts/prompt.decider.ts';
import type { DecideContext } from '../src/write/decider.ts';

const PROMPT = 'c'.repeat(32);

function context(): DecideContext {
  let n = 0;
  return {
    now: () => new Date('2026-12-06T00:00:00.000Z'),
    newId: () => `0190${String(++n).padStart(28, '0')}`,
  };
}

function stored(events: NewEvent[], from: number): StoredEventEnvelope[] {
  return events.map((e, i) => ({
    ...e,
    workspaceId: 'ws',
    streamId: `prompt-${PROMPT}`,
    streamPosition: from + i + 1,
    globalPosition: from + i + 1,
    transactionId: '1',
    recordedAt: e.occurredAt,
    actor: 'test',
    correlationId: 'c',
    causationId: null,
  }));
}

function given(commands: PromptCommand[]): PromptState {
  const ctx = context();
  let state = decider.initialState();
  let n = 0;
  for (const command of commands) {
    const events = decider.decide(command, state, ctx);
    for (const e of stored(events, n)) state = decider.evolve(state, decodeEvent(e));
    n += events.length;
  }
  return state;
}

const when = (state: PromptState, command: PromptCommand) =>
  decider.decide(command, state, context());

function errorOf(fn: () => unknown): CairnError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CairnError) return error;
    throw error;
  }
  throw new Error('expected a CairnError');
}

const text = (template: string, extra: Partial<PromptVersionInput> = {}): PromptVersionInput => ({
  template,
  messages: null,
  responseFormat: null,
  modelConfig: null,
  commitMessage: null,
  tags: [],
  ...extra,
});
const create: PromptCommand = {
  type: 'CreatePrompt',
  promptId: PROMPT,
  name: ' greet ',
  description: 'd',
  tags: [
    { key: 'a', value: '1' },
    { key: 'a', value: '2' },
  ],
};
const version = (input: PromptVersionInput): PromptCommand => ({
  type: 'CreatePromptVersion',
  name: 'greet',
  input,
  createPromptId: null,
});

describe('prompt decider', () => {
  it('creates a prompt with a trimmed name and de-duplicated tags (last value wins)', () => {
    const events = when(decider.initialState(), create);
    expect(events.map((e) => e.type)).toEqual(['PromptCreated']);
    expect(events[0]!.data).toEqual({
      promptId: PROMPT,
      name: 'greet',
      description: 'd',
      tags: [{ key: 'a', value: '2' }],
    });
  });

  it('refuses bad names', () => {
    for (const name of ['', '  ', 'a/b', 'a@b', '-x', 'x'.repeat(257)]) {
      const error = errorOf(() => when(decider.initialState(), { ...create, name }));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.details.field).toBe('name');
    }
  });

  it('numbers versions 1, 2, 3 on the stream and extracts variables in order', () => {
    let state = given([create, version(text('Hi {{ name }}, {{x}}'))]);
    expect(state.maxVersion).toBe(1);
    const events = when(state, version(text('{{b}} {{a}} {{b}} {{ a.c }} {{1bad}} {x}')));
    expect(events[0]!.data).toMatchObject({ version: 2, variables: ['b', 'a', 'a.c'] });
    state = given([create, version(text('a')), version(text('b'))]);
    expect(when(state, version(text('c')))[0]!.data).toMatchObject({ version: 3 });
  });

  it('stores a chat template with its messages and variables from every message', () => {
    const state = given([create]);
    const [e] = when(
      state,
      version({
        ...text(''),
        template: null,
        messages: [
          { role: 'system', content: 'You are {{persona}}.' },
          { role: 'user', content: '{{question}} and {{persona}}' },
        ],
        modelConfig: { model: 'gpt-4o', temperature: 0.2 },
        responseFormat: { type: 'object' },
        commitMessage: 'first',
      }),
    );
    expect(e!.data).toMatchObject({
      template: {
        type: 'chat',
        messages: [
          { role: 'system', content: 'You are {{persona}}.' },
          { role: 'user', content: '{{question}} and {{persona}}' },
        ],
      },
      variables: ['persona', 'question'],
      modelConfig: { model: 'gpt-4o', temperature: 0.2 },
      responseFormat: { type: 'object' },
      commitMessage: 'first',
    });
  });

  it('refuses bad templates, JSON and commit messages with the field named', () => {
    const state = given([create]);
    const cases: [PromptVersionInput, string][] = [
      [text(''), 'template'],
      [{ ...text('x'), messages: [{ role: 'user', content: 'y' }] }, 'template'],
      [{ ...text(''), template: null }, 'template'],
      [{ ...text(''), template: null, messages: [] }, 'messages'],
      [
        { ...text(''), template: null, messages: [{ role: 'bad role', content: 'y' }] },
        'messages[0].role',
      ],
      [text('x'.repeat(65_537)), 'template'],
      [text('x', { modelConfig: [1, 2] }), 'modelConfig'],
      [text('x', { modelConfig: 'str' }), 'modelConfig'],
      [text('x', { responseFormat: { a: 'x'.repeat(70_000) } }), 'responseFormat'],
      [text('x', { commitMessage: 'm'.repeat(2001) }), 'commitMessage'],
    ];
    for (const [input, field] of cases) {
      const error = errorOf(() => when(state, version(input)));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.details.field).toBe(field);
    }
  });

  it('moves aliases with the previous version, and refuses reserved or unknown ones', () => {
    const state = given([create, version(text('a')), version(text('b'))]);
    const set = (alias: string, v: number): PromptCommand => ({
      type: 'SetPromptAlias',
      name: 'greet',
      alias,
      version: v,
    });
    expect(when(state, set('production', 1))[0]!.data).toMatchObject({
      alias: 'production',
      version: 1,
      previousVersion: null,
    });
    const moved = given([create, version(text('a')), version(text('b')), set('production', 1)]);
    expect(when(moved, set('production', 2))[0]!.data).toMatchObject({ previousVersion: 1 });
    expect(when(moved, set('production', 1))).toEqual([]);
    expect(errorOf(() => when(moved, set('latest', 1))).code).toBe('INVALID_ARGUMENT');
    expect(errorOf(() => when(moved, set('v2', 1))).code).toBe('INVALID_ARGUMENT');
    expect(errorOf(() => when(moved, set('a b', 1))).code).toBe('INVALID_ARGUMENT');
    expect(errorOf(() => when(moved, set('prod', 3))).code).toBe('NOT_FOUND');
    expect(
      errorOf(() => when(moved, { type: 'DeletePromptAlias', name: 'greet', alias: 'nope' })).code,
    ).toBe('NOT_FOUND');
    expect(
      when(moved, { type: 'DeletePromptAlias', name: 'greet', alias: 'production' })[0]!.data,
    ).toMatchObject({ alias: 'production', version: 1 });
  });

  it('refuses new versions while archived, and everything after deletion', () => {
    const archived = given([create, { type: 'ArchivePrompt', name: 'greet' }]);
    const error = errorOf(() => when(archived, version(text('a'))));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.details.reason).toBe('archived');
    expect(when(archived, { type: 'ArchivePrompt', name: 'greet' })).toEqual([]);
    const back = given([
      create,
      { type: 'ArchivePrompt', name: 'greet' },
      { type: 'UnarchivePrompt', name: 'greet' },
    ]);
    expect(when(back, version(text('a')))[0]!.data).toMatchObject({ version: 1 });
    const deleted = given([create, { type: 'DeletePrompt', name: 'greet' }]);
    expect(errorOf(() => when(deleted, version(text('a')))).code).toBe('NOT_FOUND');
    expect(errorOf(() => when(decider.initialState(), version(text('a')))).code).toBe('NOT_FOUND');
  });

  it('creates the prompt and its first version in one decision (createPromptIfMissing)', () => {
    const events = when(decider.initialState(), {
      type: 'CreatePromptVersion',
      name: 'fresh',
      input: text('x'),
      createPromptId: PROMPT,
    });
    expect(events.map((e) => [e.type, (e.data as { version?: number }).version])).toEqual([
      ['PromptCreated', undefined],
      ['PromptVersionCreated', 1],
    ]);
  });

  it('tags prompts and versions, and refuses deleting missing tags', () => {
    const state = given([create, version(text('a'))]);
    expect(
      when(state, { type: 'SetPromptVersionTag', name: 'greet', version: 1, key: 'k', value: 'v' }),
    ).toHaveLength(1);
    expect(
      errorOf(() =>
        when(state, {
          type: 'SetPromptVersionTag',
          name: 'greet',
          version: 9,
          key: 'k',
          value: 'v',
        }),
      ).code,
    ).toBe('NOT_FOUND');
    expect(
      errorOf(() => when(state, { type: 'DeletePromptTag', name: 'greet', key: 'zz' })).code,
    ).toBe('NOT_FOUND');
    expect(when(state, { type: 'DeletePromptTag', name: 'greet', key: 'a' })).toHaveLength(1);
  });
});

describe('prompt URIs', () => {
  it('parses versions, aliases and latest', () => {
    expect(parsePromptUri('prompts:/greet/3')).toEqual({
      name: 'greet',
      kind: 'version',
      version: 3,
    });
    expect(parsePromptUri('prompts:/my prompt@production')).toEqual({
      name: 'my prompt',
      kind: 'alias',
      alias: 'production',
    });
    expect(parsePromptUri('prompts:/greet@latest')).toEqual({ name: 'greet', kind: 'latest' });
    expect(parsePromptUri('prompts:/greet/latest')).toEqual({ name: 'greet', kind: 'latest' });
  });

  it('names the reason of a malformed URI', () => {
    const reasons: [string, string][] = [
      ['models:/greet/1', 'SCHEME'],
      ['prompts:greet/1', 'SCHEME'],
      ['prompts:/greet', 'SHAPE'],
      ['prompts:/@prod', 'NAME'],
      ['prompts:/a/b/1', 'NAME'],
      ['prompts:/greet@', 'ALIAS'],
      ['prompts:/greet@a b', 'ALIAS'],
      ['prompts:/greet/0', 'VERSION'],
      ['prompts:/greet/x', 'VERSION'],
      ['prompts:/greet/99999999999', 'VERSION'],
    ];
    for (const [uri, reason] of reasons) {
      const error = errorOf(() => parsePromptUri(uri));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect([uri, error.details.reason]).toEqual([uri, reason]);
    }
  });
});

describe('prompt diff', () => {
  it('diffs lines so that each side can be rebuilt', () => {
    const a = ['one', 'two', 'three', 'four'];
    const b = ['one', '2', 'three', 'four', 'five'];
    const d = diffLines(a, b);
    expect(d.filter((l) => l.op !== 'ADDED').map((l) => l.text)).toEqual(a);
    expect(d.filter((l) => l.op !== 'REMOVED').map((l) => l.text)).toEqual(b);
    expect(d).toEqual([
      { op: 'EQUAL', text: 'one', fromLine: 1, toLine: 1 },
      { op: 'ADDED', text: '2', fromLine: null, toLine: 2 },
      { op: 'REMOVED', text: 'two', fromLine: 2, toLine: null },
      { op: 'EQUAL', text: 'three', fromLine: 3, toLine: 3 },
      { op: 'EQUAL', text: 'four', fromLine: 4, toLine: 4 },
      { op: 'ADDED', text: 'five', fromLine: null, toLine: 5 },
    ]);
    expect(diffLines(a, a).every((l) => l.op === 'EQUAL')).toBe(true);
  });

  it('renders chat templates with a role line per message', () => {
    expect(
      templateLines({
        type: 'chat',
        messages: [
          { role: 'system', content: 'a\nb' },
          { role: 'user', content: 'c' },
        ],
      }),
    ).toEqual(['### system', 'a', 'b', '### user', 'c']);
  });

  it('diffs JSON objects leaf by leaf, sorted by JSON pointer', () => {
    expect(
      diffValues(
        { model: 'gpt-4o', temperature: 0.2, stop: ['a'], nested: { x: 1, 'a/b': 1 } },
        { model: 'gpt-4o', temperature: 0.7, max_tokens: 100, stop: ['b'], nested: { x: 1 } },
      ),
    ).toEqual([
      { path: '/max_tokens', op: 'ADDED', from: null, to: 100 },
      { path: '/nested/a~1b', op: 'REMOVED', from: 1, to: null },
      { path: '/stop', op: 'CHANGED', from: ['a'], to: ['b'] },
      { path: '/temperature', op: 'CHANGED', from: 0.2, to: 0.7 },
    ]);
    expect(diffValues(null, { a: 1 })).toEqual([{ path: '/a', op: 'ADDED', from: null, to: 1 }]);
    expect(diffValues({ a: 1 }, { a: 1 })).toEqual([]);
  });

  it('extracts variables and bounds JSON depth', () => {
    expect(extractVariables(['{{a}}{{ b }}', '{{a}} {{_c.d}}'])).toEqual(['a', 'b', '_c.d']);
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(errorOf(() => validateJsonObject('modelConfig', deep)).details.field).toBe(
      'modelConfig',
    );
  });
});
