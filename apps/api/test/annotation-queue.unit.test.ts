import { describe, expect, it } from 'vitest';
import { decodeEvent, type CairnEvent, type NewEvent } from '@cairn/events';
import { CairnError } from '../src/errors.ts';
import {
  ANNOTATION_LIMITS,
  annotationQueueDecider,
  labelValueProblem,
  validLabelSchema,
  type AnnotationQueueCommand,
  type AnnotationQueueState,
} from '../src/evaluation/annotation-queue.decider.ts';
import type { DecideContext } from '../src/write/decider.ts';

const QUEUE = '0193a1b2c3d4e5f60718293a4b5c6d7e';
const T = (i: number) => i.toString(16).padStart(32, '0');
let n = 0;
const ctx: DecideContext = {
  now: () => new Date('2026-12-07T00:00:00Z'),
  newId: () => `0193a1b2-c3d4-7000-8000-${String(++n).padStart(12, '0')}`,
};

function stored(event: NewEvent, position: number): CairnEvent {
  return decodeEvent({
    ...event,
    workspaceId: 'ws',
    streamId: `annotation-queue-${QUEUE}`,
    streamPosition: position,
    globalPosition: position,
    transactionId: '1',
    recordedAt: event.occurredAt,
    actor: 'test',
    correlationId: 'c',
    causationId: null,
  });
}

function given(commands: AnnotationQueueCommand[]): AnnotationQueueState {
  let state = annotationQueueDecider.initialState();
  let position = 0;
  for (const command of commands)
    for (const event of annotationQueueDecider.decide(command, state, ctx))
      state = annotationQueueDecider.evolve(state, stored(event, ++position));
  return state;
}

const create: AnnotationQueueCommand = {
  type: 'CreateAnnotationQueue',
  queueId: QUEUE,
  name: ' review ',
  description: ' ',
  labelSchema: [
    { name: 'correct', kind: 'BOOL', required: true },
    { name: 'quality', kind: 'SCORE', min: 1, max: 5 },
    { name: 'tone', kind: 'CATEGORICAL', options: ['a', 'b'] },
  ],
};
const add = (...ids: number[]): AnnotationQueueCommand => ({
  type: 'AddAnnotationQueueItems',
  traceIds: ids.map(T),
});
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    return error instanceof CairnError ? error.code : 'untyped';
  }
  return null;
};

describe('annotation queue decider', () => {
  it('creates with a trimmed name, no blank description and defaults filled in', () => {
    const [event] = annotationQueueDecider.decide(create, given([]), ctx);
    expect(event!.type).toBe('AnnotationQueueCreated');
    expect(event!.data).toMatchObject({ name: 'review', description: null });
    expect((event!.data as { labelSchema: unknown[] }).labelSchema).toEqual([
      {
        name: 'correct',
        kind: 'BOOL',
        min: null,
        max: null,
        options: [],
        required: true,
        instructions: null,
      },
      {
        name: 'quality',
        kind: 'SCORE',
        min: 1,
        max: 5,
        options: [],
        required: false,
        instructions: null,
      },
      {
        name: 'tone',
        kind: 'CATEGORICAL',
        min: null,
        max: null,
        options: ['a', 'b'],
        required: false,
        instructions: null,
      },
    ]);
    expect(codeOf(() => annotationQueueDecider.decide(create, given([create]), ctx))).toBe(
      'ALREADY_EXISTS',
    );
  });

  it('adds only new traces, in order, in events of at most 1000', () => {
    const state = given([create, add(1, 2), add(2, 3, 1)]);
    expect([...state.items.keys()]).toEqual([T(1), T(2), T(3)]);
    expect(annotationQueueDecider.decide(add(1, 3), state, ctx)).toEqual([]);
    const many = Array.from({ length: 2500 }, (_, i) => T(i + 10));
    const events = annotationQueueDecider.decide(
      { type: 'AddAnnotationQueueItems', traceIds: many },
      state,
      ctx,
    );
    expect(events.map((e) => (e.data as { items: string[] }).items.length)).toEqual([
      1000, 1000, 500,
    ]);
    const full = Array.from({ length: ANNOTATION_LIMITS.itemsPerQueue }, (_, i) => T(i + 10));
    expect(
      codeOf(() =>
        annotationQueueDecider.decide(
          { type: 'AddAnnotationQueueItems', traceIds: full },
          state,
          ctx,
        ),
      ),
    ).toBe('FAILED_PRECONDITION');
  });

  it('assigns the oldest pending item next, never one assigned or done, then nothing', () => {
    const next = { type: 'AssignNextAnnotationQueueItem', assignee: 'ana' } as const;
    const state = given([
      create,
      add(1, 2, 3, 4),
      { type: 'AssignAnnotationQueueItem', traceId: T(1), assignee: 'bob' },
      { type: 'SkipAnnotationQueueItem', traceId: T(2), by: 'bob' },
    ]);
    const [first] = annotationQueueDecider.decide(next, state, ctx);
    expect(first!.data).toMatchObject({ traceId: T(3), assignee: 'ana' });
    const after = given([
      create,
      add(1, 2, 3, 4),
      { type: 'AssignAnnotationQueueItem', traceId: T(1), assignee: 'bob' },
      { type: 'SkipAnnotationQueueItem', traceId: T(2), by: 'bob' },
      next,
      next,
    ]);
    expect(after.items.get(T(4))).toMatchObject({ status: 'ASSIGNED', assignee: 'ana' });
    expect(annotationQueueDecider.decide(next, after, ctx)).toEqual([]);
  });

  it('completes or skips open items once; done items refuse changes', () => {
    const state = given([
      create,
      add(1, 2),
      { type: 'CompleteAnnotationQueueItem', traceId: T(1), by: 'ana' },
    ]);
    expect(state.items.get(T(1))).toMatchObject({ status: 'COMPLETED', by: 'ana' });
    const again = { type: 'CompleteAnnotationQueueItem', traceId: T(1), by: 'ana' } as const;
    expect(annotationQueueDecider.decide(again, state, ctx)).toEqual([]);
    for (const command of [
      { type: 'CompleteAnnotationQueueItem', traceId: T(1), by: 'bob' },
      { type: 'SkipAnnotationQueueItem', traceId: T(1), by: 'ana' },
      { type: 'AssignAnnotationQueueItem', traceId: T(1), assignee: 'bob' },
    ] as const)
      expect(codeOf(() => annotationQueueDecider.decide(command, state, ctx))).toBe(
        'FAILED_PRECONDITION',
      );
    expect(
      codeOf(() =>
        annotationQueueDecider.decide(
          { type: 'SkipAnnotationQueueItem', traceId: T(9), by: 'a' },
          state,
          ctx,
        ),
      ),
    ).toBe('NOT_FOUND');
  });

  it('refuses every command on a missing or deleted queue', () => {
    const deleted = given([create, { type: 'DeleteAnnotationQueue' }]);
    for (const state of [given([]), deleted])
      expect(codeOf(() => annotationQueueDecider.decide(add(1), state, ctx))).toBe('NOT_FOUND');
  });

  it('an update with nothing new appends nothing', () => {
    const state = given([create]);
    const same = {
      type: 'UpdateAnnotationQueue',
      name: 'review',
      description: undefined,
      labelSchema: undefined,
    } as const;
    expect(annotationQueueDecider.decide(same, state, ctx)).toEqual([]);
  });

  it('validates label schemas and answers', () => {
    const bad = [
      [],
      [{ name: 'x', kind: 'NOPE' }],
      [{ name: 'x', kind: 'SCORE', min: 2, max: 2 }],
      [{ name: 'x', kind: 'SCORE', min: Number.NaN }],
      [{ name: 'x', kind: 'CATEGORICAL', options: ['a', 'a'] }],
      [{ name: 'x', kind: 'TEXT', options: ['a', 'b'] }],
      [{ name: 'x', kind: 'BOOL', max: 1 }],
      [
        { name: 'x', kind: 'BOOL' },
        { name: ' x ', kind: 'TEXT' },
      ],
    ];
    for (const schema of bad)
      expect(codeOf(() => validLabelSchema(schema))).toBe('INVALID_ARGUMENT');
    const [bool, score, cat, text] = validLabelSchema([
      { name: 'b', kind: 'BOOL' },
      { name: 's', kind: 'SCORE' },
      { name: 'c', kind: 'CATEGORICAL', options: ['x', 'y'] },
      { name: 't', kind: 'TEXT' },
    ]);
    expect(score).toMatchObject({ min: 0, max: 1 });
    expect(labelValueProblem(bool!, true)).toBeNull();
    expect(labelValueProblem(bool!, 'yes')).not.toBeNull();
    expect(labelValueProblem(score!, 0.5)).toBeNull();
    expect(labelValueProblem(score!, 2)).toBe('must be at most 1');
    expect(labelValueProblem(score!, '0.5')).toBe('must be a number');
    expect(labelValueProblem(cat!, 'y')).toBeNull();
    expect(labelValueProblem(cat!, 'z')).not.toBeNull();
    expect(labelValueProblem(text!, ' ')).not.toBeNull();
    expect(labelValueProblem(text!, 'fine')).toBeNull();
  });
});
