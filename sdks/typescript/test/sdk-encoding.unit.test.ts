/**
 * Pure pieces of @cairn/sdk: OTLP/JSON encoding of finished spans, JSON conversion of inputs and
 * outputs, parameter names of traced functions, OpenAI attribute mapping and stream assembly.
 */
import { describe, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode, TraceFlags, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { MAX_BODY_BYTES, bodies, parseRetryAfter } from '../src/exporter.ts';
import { bindInputs, parameters } from '../src/inputs.ts';
import { MAX_ITEMS, dumps, toJsonable } from '../src/json.ts';
import {
  ChatStreamAccumulator,
  ResponsesStreamAccumulator,
  requestAttributes,
  responseAttributes,
  usageAttributes,
} from '../src/openai.ts';
import { anyValue, encodeRequest, encodeSpan, hrTimeToNanos } from '../src/otlp.ts';
import { attributeValue } from '../src/span.ts';

const resource = resourceFromAttributes({ 'service.name': 'unit' });

function aReadableSpan(overrides: Partial<ReadableSpan> = {}): ReadableSpan {
  const start: HrTime = [1_764_583_200, 123_456_789];
  const end: HrTime = [1_764_583_201, 5];
  return {
    name: 'answer',
    kind: SpanKind.CLIENT,
    spanContext: () => ({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
    }),
    parentSpanContext: {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
    },
    startTime: start,
    endTime: end,
    status: { code: SpanStatusCode.ERROR, message: 'boom' },
    attributes: { s: 'x', i: 3, d: 0.5, b: true, list: ['a', 'b'], nan: Number.NaN },
    links: [],
    events: [{ name: 'first_token', time: [1_764_583_200, 500], attributes: { n: 1 } }],
    duration: [1, 0],
    ended: true,
    resource,
    instrumentationScope: { name: 'cairn', version: '0.1.0' },
    droppedAttributesCount: 0,
    droppedEventsCount: 2,
    droppedLinksCount: 0,
    ...overrides,
  };
}

describe('OTLP/JSON encoding', () => {
  it('maps a finished span field by field (kind + 1, exact nanoseconds, hex ids)', () => {
    expect(encodeSpan(aReadableSpan())).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      parentSpanId: '00f067aa0ba902b7',
      name: 'answer',
      kind: 3,
      startTimeUnixNano: '1764583200123456789',
      endTimeUnixNano: '1764583201000000005',
      attributes: [
        { key: 's', value: { stringValue: 'x' } },
        { key: 'i', value: { intValue: '3' } },
        { key: 'd', value: { doubleValue: 0.5 } },
        { key: 'b', value: { boolValue: true } },
        {
          key: 'list',
          value: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } },
        },
        { key: 'nan', value: { doubleValue: 'NaN' } },
      ],
      events: [
        {
          timeUnixNano: '1764583200000000500',
          name: 'first_token',
          attributes: [{ key: 'n', value: { intValue: '1' } }],
        },
      ],
      droppedEventsCount: 2,
      links: [],
      status: { code: 2, message: 'boom' },
    });
  });

  it('leaves out the parent of a root span and encodes every AnyValue kind', () => {
    const root = encodeSpan(aReadableSpan({ parentSpanContext: undefined }));
    expect(root).not.toHaveProperty('parentSpanId');
    expect(anyValue(Number.POSITIVE_INFINITY)).toEqual({ doubleValue: 'Infinity' });
    expect(anyValue(2 ** 60)).toEqual({ doubleValue: 2 ** 60 });
    expect(anyValue(-7)).toEqual({ intValue: '-7' });
    expect(anyValue(undefined)).toEqual({});
    expect(hrTimeToNanos([0, 1])).toBe('1');
  });

  it('groups spans by resource and scope in one request', () => {
    const other = resourceFromAttributes({ 'service.name': 'other' });
    const request = encodeRequest([
      aReadableSpan({ name: 'a' }),
      aReadableSpan({ name: 'b', instrumentationScope: { name: 'mine' } }),
      aReadableSpan({ name: 'c', resource: other }),
      aReadableSpan({ name: 'd' }),
    ]);
    expect(
      request.resourceSpans.map((r) => ({
        resource: r.resource.attributes,
        scopes: r.scopeSpans.map((s) => [s.scope, s.spans.map((x) => x.name)]),
      })),
    ).toEqual([
      {
        resource: [{ key: 'service.name', value: { stringValue: 'unit' } }],
        scopes: [
          [{ name: 'cairn', version: '0.1.0' }, ['a', 'd']],
          [{ name: 'mine' }, ['b']],
        ],
      },
      {
        resource: [{ key: 'service.name', value: { stringValue: 'other' } }],
        scopes: [[{ name: 'cairn', version: '0.1.0' }, ['c']]],
      },
    ]);
  });

  it('splits a request above 4 MiB into halves that fit, never splitting one span', () => {
    const big = 'x'.repeat(1024 * 1024);
    const spans = Array.from({ length: 9 }, (_, i) =>
      aReadableSpan({ name: `s${i}`, attributes: { big } }),
    );
    const parts = bodies(spans);
    expect(parts.map(([count]) => count)).toEqual([2, 2, 2, 3]);
    expect(parts.reduce((n, [count]) => n + count, 0)).toBe(9);
    for (const [, body] of parts) expect(body.length).toBeLessThanOrEqual(MAX_BODY_BYTES);
    const names = parts.flatMap(([, body]) =>
      (
        JSON.parse(body.toString()) as {
          resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[];
        }
      ).resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.name),
    );
    expect(names).toEqual(spans.map((s) => s.name));
    expect(bodies([])).toEqual([]);
  });

  it('reads retry-after as seconds or an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const date = new Date(Date.now() + 60_000).toUTCString();
    expect(parseRetryAfter(date)).toBeGreaterThan(50_000);
  });
});

describe('toJsonable', () => {
  it('converts what JSON cannot carry', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(
      toJsonable({
        big: 12n,
        nan: Number.NaN,
        inf: Number.NEGATIVE_INFINITY,
        date: new Date('2026-01-02T03:04:05.000Z'),
        map: new Map<unknown, unknown>([
          ['k', 1],
          [2, 'two'],
        ]),
        set: new Set([1, 2]),
        bytes: Buffer.from('hi'),
        floats: new Float32Array([0.5]),
        fn: function named() {},
        missing: undefined,
        error: Object.assign(new TypeError('bad'), { stack: 'TypeError: bad\n  at x' }),
        cyclic,
        list: [undefined, 1],
      }),
    ).toEqual({
      big: '12',
      nan: 'NaN',
      inf: '-Infinity',
      date: '2026-01-02T03:04:05.000Z',
      map: { k: 1, '2': 'two' },
      set: [1, 2],
      bytes: 'aGk=',
      floats: [0.5],
      error: { name: 'TypeError', message: 'bad', stack: 'TypeError: bad\n  at x' },
      cyclic: { a: 1, self: '<cycle>' },
      list: [null, 1],
    });
  });

  it('keeps repeated (non-cyclic) references, cuts long lists and deep nesting', () => {
    const shared = { x: 1 };
    expect(toJsonable([shared, shared])).toEqual([{ x: 1 }, { x: 1 }]);
    const long = toJsonable(Array.from({ length: MAX_ITEMS + 5 }, (_, i) => i)) as unknown[];
    expect(long).toHaveLength(MAX_ITEMS + 1);
    expect(long.at(-1)).toBe('... 5 more item(s)');
    let deep: unknown = 'leaf';
    for (let i = 0; i < 30; i++) deep = [deep];
    expect(dumps(deep)).toContain('leaf');
    expect(JSON.parse(dumps(deep))).toBeDefined();
  });

  it('never throws: a throwing toJSON becomes a description', () => {
    const hostile = {
      toJSON() {
        throw new Error('no');
      },
      toString: () => 'hostile',
    };
    expect(toJsonable(hostile)).toBe('hostile');
    expect(dumps({ a: hostile })).toBe('{"a":"hostile"}');
  });

  it('makes attribute values of scalars, homogeneous lists, and JSON for the rest', () => {
    expect(attributeValue('a')).toBe('a');
    expect(attributeValue([1, 2])).toEqual([1, 2]);
    expect(attributeValue([1, 'a'])).toBe('[1,"a"]');
    expect(attributeValue({ a: 1 })).toBe('{"a":1}');
    expect(attributeValue(null)).toBeUndefined();
  });
});

describe('inputs of traced functions', () => {
  it('names arguments by parameter, with defaults, rest and destructuring', () => {
    function plain(a: number, b = 2) {
      return a + b;
    }
    const arrow = async (question: string, /* note */ opts?: { k: number }) =>
      Promise.resolve(`${question}${opts?.k ?? ''}`);
    const bare = (x: unknown) => x;
    const rest = (first: string, ...others: string[]) => [first, ...others];
    const destructured = ({ query, k }: { query: string; k: number }, [h]: number[]) =>
      `${query}${k}${h}`;
    const method = {
      search(this: void, text: string, limit = Math.max(1, 2)) {
        return `${text}${limit}`;
      },
    }.search;
    expect(bindInputs(parameters(plain), [1])).toEqual({ a: 1 });
    expect(bindInputs(parameters(plain), [1, 5, 9])).toEqual({ a: 1, b: 5, arg2: 9 });
    expect(bindInputs(parameters(arrow), ['hi', { k: 3 }])).toEqual({
      question: 'hi',
      opts: { k: 3 },
    });
    expect(bindInputs(parameters(bare), [7])).toEqual({ x: 7 });
    expect(bindInputs(parameters(rest), ['a', 'b', 'c'])).toEqual({
      first: 'a',
      others: ['b', 'c'],
    });
    expect(bindInputs(parameters(destructured), [{ query: 'q', k: 2 }, [4]])).toEqual({
      query: 'q',
      k: 2,
      arg1: [4],
    });
    expect(bindInputs(parameters(method), ['t'])).toEqual({ text: 't' });
    expect(bindInputs(parameters(Math.max), [1, 2])).toEqual({ args: [1, 2] });
    expect(bindInputs(parameters(plain.bind(null)), [1])).toEqual({ args: [1] });
  });
});

describe('OpenAI attribute mapping', () => {
  it('writes the GenAI request, response and usage attributes the Python autolog writes', () => {
    expect(
      requestAttributes('chat', {
        model: 'gpt-4o-mini',
        temperature: 0.2,
        max_completion_tokens: 50,
        messages: [],
      }),
    ).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.max_tokens': 50,
    });
    expect(
      responseAttributes({
        id: 'chatcmpl-1',
        model: 'gpt-4o-mini-2024-07-18',
        choices: [{ finish_reason: 'stop' }],
        usage: {
          prompt_tokens: 12,
          completion_tokens: 5,
          total_tokens: 17,
          prompt_tokens_details: { cached_tokens: 4 },
          completion_tokens_details: { reasoning_tokens: 0 },
        },
      }),
    ).toEqual({
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.response.id': 'chatcmpl-1',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 5,
      'gen_ai.usage.total_tokens': 17,
      'gen_ai.usage.cache_read_input_tokens': 4,
      'gen_ai.usage.reasoning_tokens': 0,
    });
    // Responses API names; total computed when absent.
    expect(usageAttributes({ input_tokens: 3, output_tokens: 4 })).toEqual({
      'gen_ai.usage.input_tokens': 3,
      'gen_ai.usage.output_tokens': 4,
      'gen_ai.usage.total_tokens': 7,
    });
    expect(usageAttributes(null)).toEqual({});
  });

  it('assembles a streamed chat completion: text, tool call arguments, final usage', () => {
    const acc = new ChatStreamAccumulator();
    const chunk = (delta: unknown, extra: Record<string, unknown> = {}) => ({
      id: 'chatcmpl-9',
      model: 'gpt-4o-mini',
      created: 1,
      choices: [{ index: 0, delta, finish_reason: null }],
      ...extra,
    });
    acc.add(chunk({ role: 'assistant', content: 'Hel' }));
    acc.add(chunk({ content: 'lo' }));
    acc.add(
      chunk({
        tool_calls: [
          {
            index: 0,
            id: 'call_1',
            type: 'function',
            function: { name: 'get_', arguments: '{"ci' },
          },
        ],
      }),
    );
    acc.add(
      chunk({
        tool_calls: [{ index: 0, function: { name: 'weather', arguments: 'ty":"Paris"}' } }],
      }),
    );
    acc.add({ ...chunk({}), choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] });
    acc.add({
      id: 'chatcmpl-9',
      choices: [],
      usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
    });
    const { outputs, attributes } = acc.result();
    expect(outputs).toEqual({
      id: 'chatcmpl-9',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o-mini',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Hello',
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
              },
            ],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
    });
    expect(attributes).toMatchObject({
      'gen_ai.usage.input_tokens': 9,
      'gen_ai.usage.output_tokens': 3,
      'gen_ai.response.finish_reasons': ['tool_calls'],
    });
  });

  it('takes a streamed Responses API result from response.completed', () => {
    const acc = new ResponsesStreamAccumulator();
    acc.add({ type: 'response.created', response: { id: 'resp_1', status: 'in_progress' } });
    acc.add({ type: 'response.output_text.delta', delta: 'Hi' });
    acc.add({
      type: 'response.completed',
      response: {
        id: 'resp_1',
        model: 'gpt-4o',
        usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 },
      },
    });
    expect(acc.result().attributes).toEqual({
      'gen_ai.response.model': 'gpt-4o',
      'gen_ai.response.id': 'resp_1',
      'gen_ai.usage.input_tokens': 5,
      'gen_ai.usage.output_tokens': 2,
      'gen_ai.usage.total_tokens': 7,
    });
    const partial = new ResponsesStreamAccumulator();
    partial.add({ type: 'response.output_text.delta', delta: 'Hi' });
    expect(partial.result().outputs).toEqual({ output_text: 'Hi' });
  });
});
