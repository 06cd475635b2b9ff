import { describe, expect, it } from 'vitest';
import { decodeEvent, type NewEvent } from '@cairn/events';
import { CairnError } from '../src/errors.ts';
import {
  modelPriceDecider,
  type ModelPriceCommand,
  type ModelPriceInput,
} from '../src/tracing/model-price.decider.ts';
import { TRACE_LIMITS, traceDecider, type TraceCommand } from '../src/tracing/trace.decider.ts';
import type { DecideContext, Decider } from '../src/write/decider.ts';

const TRACE = '0af7651916cd43dd8448eb211c80319c';

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

function errorOf(fn: () => unknown): CairnError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CairnError) return error;
    throw error;
  }
  throw new Error('no error');
}

const trace = (command: TraceCommand, given: NewEvent[] = []) => run(traceDecider, given, command);
const tagSet = (key: string, value: string) =>
  trace({ type: 'SetTraceTag', traceId: TRACE, key, value, inReadModel: true })[0]!;

describe('trace decider', () => {
  it('sets a tag on a trace the read model has', () => {
    const events = trace({
      type: 'SetTraceTag',
      traceId: TRACE,
      key: 'team',
      value: 'nlp',
      inReadModel: true,
    });
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['TraceTagSet', { traceId: TRACE, key: 'team', value: 'nlp' }],
    ]);
  });

  it('refuses a trace neither the read model nor its stream knows, and a deleted one', () => {
    const unknown = errorOf(() =>
      trace({ type: 'SetTraceMetadata', traceId: TRACE, key: 'k', value: 'v', inReadModel: false }),
    );
    expect([unknown.code, unknown.message]).toEqual(['NOT_FOUND', `Trace ${TRACE} not found`]);
    // A stream with events is enough (it was tagged before).
    expect(
      trace(
        { type: 'SetTraceMetadata', traceId: TRACE, key: 'k', value: 'v', inReadModel: false },
        [tagSet('a', 'b')],
      ).map((e) => e.type),
    ).toEqual(['TraceMetadataSet']);
    const deleted = trace({ type: 'DeleteTrace', traceId: TRACE, inReadModel: true })[0]!;
    const afterDelete = errorOf(() =>
      trace({ type: 'SetTraceTag', traceId: TRACE, key: 'k', value: 'v', inReadModel: true }, [
        deleted,
      ]),
    );
    expect(afterDelete.message).toBe(`Trace ${TRACE} not found (it is deleted)`);
  });

  it('validates keys and values with their limits', () => {
    const base = { type: 'SetTraceTag', traceId: TRACE, inReadModel: true } as const;
    expect(errorOf(() => trace({ ...base, key: '', value: 'v' })).message).toBe(
      'tag key must not be empty',
    );
    expect(
      errorOf(() => trace({ ...base, key: 'k'.repeat(TRACE_LIMITS.key + 1), value: 'v' })).message,
    ).toMatch(/longer than 250 characters/);
    expect(errorOf(() => trace({ ...base, key: 'a\nb', value: 'v' })).message).toMatch(
      /control characters/,
    );
    const long = errorOf(() =>
      trace({ ...base, key: 'k', value: 'v'.repeat(TRACE_LIMITS.tagValue + 1) }),
    );
    expect([long.code, long.details]).toEqual(['INVALID_ARGUMENT', { key: 'k', length: 8001 }]);
  });

  it('is idempotent: the same value twice, a missing tag deleted, a deleted trace deleted', () => {
    expect(
      trace({ type: 'SetTraceTag', traceId: TRACE, key: 'a', value: 'b', inReadModel: true }, [
        tagSet('a', 'b'),
      ]),
    ).toEqual([]);
    expect(
      trace({
        type: 'DeleteTraceTag',
        traceId: TRACE,
        key: 'x',
        inReadModel: true,
        keyVisible: false,
      }),
    ).toEqual([]);
    // A tag shown by the read model (from span attributes) is deleted with an event.
    expect(
      trace({
        type: 'DeleteTraceTag',
        traceId: TRACE,
        key: 'x',
        inReadModel: true,
        keyVisible: true,
      }).map((e) => e.data),
    ).toEqual([{ traceId: TRACE, key: 'x' }]);
    const deleted = trace({ type: 'DeleteTrace', traceId: TRACE, inReadModel: true });
    expect(deleted.map((e) => e.type)).toEqual(['TraceDeleted']);
    expect(trace({ type: 'DeleteTrace', traceId: TRACE, inReadModel: true }, deleted)).toEqual([]);
    expect(trace({ type: 'DeleteTrace', traceId: TRACE, inReadModel: false })).toEqual([]);
  });
});

const PRICE: ModelPriceInput = {
  modelPattern: 'gpt-4o(-mini)?',
  provider: 'openai',
  inputPerMillion: 2.5,
  outputPerMillion: 10,
  cachedInputPerMillion: null,
  effectiveFrom: null,
};
const BUILT_IN = new Set(['builtin:gpt-4o']);
const price = (command: ModelPriceCommand, given: NewEvent[] = []) =>
  run(modelPriceDecider, given, command);

describe('model price decider', () => {
  it('adds an entry with a new id, effective now by default', () => {
    const [event] = price({
      type: 'SetModelPrice',
      priceId: null,
      price: PRICE,
      builtInIds: BUILT_IN,
    });
    expect(event!.type).toBe('ModelPriceSet');
    expect(event!.data).toEqual({
      priceId: '01900000000070008000000000000001',
      modelPattern: 'gpt-4o(-mini)?',
      provider: 'openai',
      inputPerMillion: 2.5,
      outputPerMillion: 10,
      cachedInputPerMillion: null,
      effectiveFrom: '2026-12-06T12:00:00.000Z',
    });
  });

  it('replaces and deletes only entries it has; refuses built-in ids', () => {
    const [added] = price({
      type: 'SetModelPrice',
      priceId: null,
      price: PRICE,
      builtInIds: BUILT_IN,
    });
    const id = (added!.data as { priceId: string }).priceId;
    const replaced = price(
      {
        type: 'SetModelPrice',
        priceId: id,
        price: { ...PRICE, inputPerMillion: 3 },
        builtInIds: BUILT_IN,
      },
      [added!],
    );
    expect(replaced[0]!.data).toMatchObject({ priceId: id, inputPerMillion: 3 });
    expect(
      price({ type: 'DeleteModelPrice', priceId: id, builtInIds: BUILT_IN }, [added!])[0]!.type,
    ).toBe('ModelPriceDeleted');
    expect(
      errorOf(() => price({ type: 'DeleteModelPrice', priceId: id, builtInIds: BUILT_IN })).code,
    ).toBe('NOT_FOUND');
    const builtIn = errorOf(() =>
      price({
        type: 'SetModelPrice',
        priceId: 'builtin:gpt-4o',
        price: PRICE,
        builtInIds: BUILT_IN,
      }),
    );
    expect([builtIn.code, builtIn.message]).toEqual([
      'INVALID_ARGUMENT',
      'Model price builtin:gpt-4o is a built-in default and cannot be changed; add your own entry with the same pattern to override it',
    ]);
  });

  it('validates the pattern and the prices', () => {
    const set = (p: Partial<ModelPriceInput>) =>
      errorOf(() =>
        price({
          type: 'SetModelPrice',
          priceId: null,
          price: { ...PRICE, ...p },
          builtInIds: BUILT_IN,
        }),
      );
    expect(set({ modelPattern: 'gpt-(4' }).message).toMatch(
      /^modelPattern is not a valid regular expression/,
    );
    expect(set({ modelPattern: 'x'.repeat(501) }).message).toBe(
      'modelPattern is longer than 500 characters',
    );
    expect(set({ modelPattern: '' }).message).toBe('modelPattern must not be empty');
    expect(set({ inputPerMillion: -1 }).details).toEqual({ field: 'inputPerMillion' });
    expect(set({ outputPerMillion: Number.POSITIVE_INFINITY }).details).toEqual({
      field: 'outputPerMillion',
    });
    expect(set({ cachedInputPerMillion: Number.NaN }).details).toEqual({
      field: 'cachedInputPerMillion',
    });
    expect(set({ provider: '' }).details).toEqual({ field: 'provider' });
  });
});
