import { describe, expect, it } from 'vitest';
import {
  ancestorIds,
  andFilters,
  axisTicks,
  barGeometry,
  buildSpanTree,
  exceptionOf,
  extractMessages,
  formatCost,
  formatLatency,
  formatRate,
  formatTokenUsage,
  mergeTraces,
  newTurnMessages,
  nsDiffMs,
  nsToMs,
  otlpTracesUrl,
  parseModelVersion,
  quoteFilterValue,
  statsColumns,
  traceBounds,
  trackingUri,
  visibleRows,
  type SpanLike,
} from '../lib/tracing.ts';

const T0 = 1_765_000_000_000_000_000n; // ns

function span(
  id: string,
  parentId: string | null,
  startMs: number,
  endMs: number | null,
): SpanLike {
  const at = (ms: number) => (T0 + BigInt(Math.round(ms * 1e6))).toString();
  return {
    id,
    parentId,
    startTimeUnixNano: at(startMs),
    endTimeUnixNano: endMs === null ? null : at(endMs),
  };
}

describe('nanosecond times', () => {
  it('converts ns strings to ms without losing sub-ms digits', () => {
    expect(nsToMs('1765000000123456789')).toBeCloseTo(1_765_000_000_123.4568, 3);
    expect(nsToMs('1500000')).toBe(1.5);
    expect(nsToMs('0')).toBe(0);
    expect(Number.isNaN(nsToMs('12ab'))).toBe(true);
    // Far beyond 2^53 ns, the difference is still exact.
    expect(nsDiffMs('1765000000123456789', '1765000000000000000')).toBe(123.456789);
    expect(nsDiffMs('1765000000000000000', '1765000000000250000')).toBe(-0.25);
  });

  it('formats latencies from µs to hours', () => {
    expect(formatLatency(0.0423)).toBe('42 µs');
    expect(formatLatency(1.5)).toBe('1.5 ms');
    expect(formatLatency(3)).toBe('3 ms');
    expect(formatLatency(12.34)).toBe('12.3 ms');
    expect(formatLatency(850.4)).toBe('850 ms');
    expect(formatLatency(1234)).toBe('1.23 s');
    expect(formatLatency(42_000)).toBe('42 s');
    expect(formatLatency(125_000)).toBe('2m 5s');
    expect(formatLatency(3_720_000)).toBe('1h 2m');
    expect(formatLatency(null)).toBe('—');
    expect(formatLatency(-1)).toBe('—');
  });
});

describe('tokens, cost, rates', () => {
  it('formats token usage, summing in and out when the total is missing', () => {
    expect(formatTokenUsage({ inputTokens: 1200, outputTokens: 45, totalTokens: 1245 })).toBe(
      '1,200 in · 45 out · 1,245',
    );
    expect(formatTokenUsage({ inputTokens: 10, outputTokens: 5, totalTokens: null })).toBe(
      '10 in · 5 out · 15',
    );
    expect(formatTokenUsage({ inputTokens: null, outputTokens: null, totalTokens: null })).toBe(
      '—',
    );
    expect(formatTokenUsage(null)).toBe('—');
  });

  it('formats costs in dollars, small ones to four significant digits', () => {
    expect(formatCost(null)).toBe('—');
    expect(formatCost(0)).toBe('$0');
    expect(formatCost(12.345)).toBe('$12.35');
    expect(formatCost(0.0315)).toBe('$0.0315');
    expect(formatCost(0.000123456)).toBe('$0.0001235');
    expect(formatRate(0.0412)).toBe('4.1%');
    expect(formatRate(0)).toBe('0%');
    expect(formatRate(0.5)).toBe('50%');
  });
});

describe('span tree', () => {
  it('nests children under parents in start order and keeps orphans as roots', () => {
    const spans = [
      span('c2', 'root', 30, 40),
      span('root', null, 0, 100),
      span('c1', 'root', 10, 20),
      span('g1', 'c1', 12, 18),
      span('orphan', 'missing', 5, 6),
    ];
    const forest = buildSpanTree(spans);
    expect(forest.map((n) => [n.span.id, n.orphan])).toEqual([
      ['root', false],
      ['orphan', true],
    ]);
    const root = forest[0]!;
    expect(root.children.map((n) => n.span.id)).toEqual(['c1', 'c2']);
    expect(root.children[0]!.children.map((n) => [n.span.id, n.depth])).toEqual([['g1', 2]]);
    expect(visibleRows(forest, new Set()).map((r) => r.node.span.id)).toEqual([
      'root',
      'c1',
      'g1',
      'c2',
      'orphan',
    ]);
    const collapsed = visibleRows(forest, new Set(['c1']));
    expect(collapsed.map((r) => r.node.span.id)).toEqual(['root', 'c1', 'c2', 'orphan']);
    expect(collapsed[1]).toMatchObject({ hasChildren: true, expanded: false });
    expect(ancestorIds(spans, 'g1')).toEqual(['c1', 'root']);
    expect(ancestorIds(spans, 'orphan')).toEqual([]);
  });

  it('places every span once, even in a parent cycle or with a duplicate id', () => {
    const spans = [
      span('a', 'b', 0, 1),
      span('b', 'a', 1, 2),
      span('a', 'b', 0, 1),
      span('s', 's', 3, 4),
    ];
    const rows = visibleRows(buildSpanTree(spans), new Set());
    expect(rows.map((r) => r.node.span.id).sort()).toEqual(['a', 'b', 's']);
  });
});

describe('waterfall geometry', () => {
  const spans = [
    span('root', null, 0, 200),
    span('a', 'root', 50, 150),
    span('b', 'root', 180, 180),
  ];
  const bounds = traceBounds(spans)!;

  it('positions bars relative to the trace', () => {
    expect(bounds.durationMs).toBe(200);
    expect(barGeometry(spans[0]!, bounds)).toMatchObject({ leftPct: 0, widthPct: 100 });
    expect(barGeometry(spans[1]!, bounds)).toMatchObject({
      leftPct: 25,
      widthPct: 50,
      offsetMs: 50,
      durationMs: 100,
      open: false,
    });
    // An instant span keeps a minimum width.
    const instant = barGeometry(spans[2]!, bounds, 1);
    expect(instant.leftPct).toBe(90);
    expect(instant.widthPct).toBe(1);
  });

  it('draws a span without an end up to the trace end, and keeps bars inside 0–100%', () => {
    const open = span('o', 'root', 100, null);
    expect(barGeometry(open, bounds)).toMatchObject({ leftPct: 50, widthPct: 50, open: true });
    const late = barGeometry(span('late', 'root', 199.99, 200), bounds, 2);
    expect(late.leftPct + late.widthPct).toBeLessThanOrEqual(100);
    expect(late.widthPct).toBe(2);
    // A one-span instant trace: the bar fills the row.
    const one = [span('x', null, 5, 5)];
    expect(barGeometry(one[0]!, traceBounds(one)!)).toMatchObject({ leftPct: 0, widthPct: 100 });
    expect(traceBounds([])).toBeNull();
  });

  it('picks round axis ticks', () => {
    expect(axisTicks(200)).toEqual([0, 50, 100, 150, 200]);
    expect(axisTicks(1234)).toEqual([0, 250, 500, 750, 1000]);
    expect(axisTicks(1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(axisTicks(0)).toEqual([0]);
  });
});

describe('chat messages', () => {
  it('reads OpenAI requests and responses, with tool calls', () => {
    const inputs = {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are terse.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather in Oslo?' },
            { type: 'image_url', image_url: { url: 'x' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 3}' },
      ],
    };
    const msgs = extractMessages(inputs, 'inputs')!;
    expect(msgs.map((m) => [m.role, m.content])).toEqual([
      ['system', 'You are terse.'],
      ['user', 'Weather in Oslo?'],
      ['tool', '{"temp": 3}'],
    ]);
    expect(msgs[1]!.attachments).toEqual(['[image]']);
    expect(msgs[2]!.toolCallId).toBe('call_1');

    const outputs = {
      id: 'chatcmpl-1',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
              },
            ],
          },
        },
      ],
    };
    const out = extractMessages(outputs, 'outputs')!;
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ role: 'assistant', content: '' });
    expect(out[0]!.toolCalls).toEqual([
      { id: 'call_1', name: 'get_weather', arguments: '{\n  "city": "Oslo"\n}' },
    ]);
  });

  it('reads Anthropic requests (system first) and content-block responses', () => {
    const inputs = {
      system: 'Be kind.',
      messages: [
        { role: 'user', content: 'Hi' },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'tu_1',
              content: [{ type: 'text', text: 'sunny' }],
            },
          ],
        },
      ],
    };
    const msgs = extractMessages(inputs, 'inputs')!;
    expect(msgs.map((m) => [m.role, m.content])).toEqual([
      ['system', 'Be kind.'],
      ['user', 'Hi'],
      ['user', 'sunny'],
    ]);
    expect(msgs[2]!.toolCallId).toBe('tu_1');
    const response = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      content: [
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 'tu_1', name: 'weather', input: { city: 'Oslo' } },
      ],
      stop_reason: 'tool_use',
    };
    const out = extractMessages(response, 'outputs')!;
    expect(out[0]).toMatchObject({ role: 'assistant', content: 'Let me check.' });
    expect(out[0]!.toolCalls).toEqual([
      { id: 'tu_1', name: 'weather', arguments: '{\n  "city": "Oslo"\n}' },
    ]);
  });

  it('reads OTel GenAI parts, the AI SDK and plain content outputs', () => {
    const otel = [
      { role: 'user', parts: [{ type: 'text', content: 'Add 2 and 3' }] },
      {
        role: 'assistant',
        parts: [{ type: 'tool_call', id: 't1', name: 'add', arguments: { a: 2, b: 3 } }],
      },
      { role: 'tool', parts: [{ type: 'tool_call_response', id: 't1', response: 5 }] },
    ];
    const msgs = extractMessages(otel, 'inputs')!;
    expect(msgs.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(msgs[0]!.content).toBe('Add 2 and 3');
    expect(msgs[1]!.toolCalls[0]).toMatchObject({
      name: 'add',
      arguments: '{\n  "a": 2,\n  "b": 3\n}',
    });
    expect(msgs[2]).toMatchObject({ content: '5', toolCallId: 't1' });

    const ai = { system: 'sys', prompt: 'Hello' };
    expect(extractMessages(ai, 'inputs')!.map((m) => [m.role, m.content])).toEqual([
      ['system', 'sys'],
      ['user', 'Hello'],
    ]);
    const aiMsgs = [
      {
        role: 'assistant',
        content: [{ type: 'tool-call', toolCallId: 'x', toolName: 'search', args: { q: 'a' } }],
      },
    ];
    expect(extractMessages(aiMsgs, 'inputs')![0]!.toolCalls[0]!.name).toBe('search');

    expect(extractMessages({ content: 'Hi there' }, 'outputs')).toEqual([
      expect.objectContaining({ role: 'assistant', content: 'Hi there' }),
    ]);
    // A JSON string kept by an exporter.
    expect(
      extractMessages('{"messages":[{"role":"user","content":"q"}]}', 'inputs')![0],
    ).toMatchObject({
      role: 'user',
      content: 'q',
    });
    // Gemini's "model" role.
    expect(
      extractMessages({ contents: [{ role: 'model', parts: [{ text: 'ok' }] }] }, 'outputs')![0],
    ).toMatchObject({ role: 'assistant', content: 'ok' });
  });

  it('shows only the new messages of a later session turn', () => {
    const history = extractMessages(
      [
        { role: 'system', content: 's' },
        { role: 'user', content: 'q1' },
        { role: 'assistant', content: 'a1' },
        { role: 'user', content: 'q2' },
      ],
      'inputs',
    )!;
    expect(newTurnMessages(history, true).messages).toHaveLength(4);
    const later = newTurnMessages(history, false);
    expect(later.messages.map((m) => m.content)).toEqual(['q2']);
    expect(later.earlier).toBe(3);
    expect(newTurnMessages(history.slice(0, 2), false)).toMatchObject({ earlier: 0 });
  });

  it('returns null for values that are not conversations', () => {
    expect(extractMessages(null, 'inputs')).toBeNull();
    expect(extractMessages('plain text', 'outputs')).toBeNull();
    expect(extractMessages({ query: 'x', k: 3 }, 'inputs')).toBeNull();
    expect(extractMessages([1, 2, 3], 'inputs')).toBeNull();
    expect(extractMessages([], 'inputs')).toBeNull();
    expect(extractMessages([{ role: 'user', content: 'a' }, { foo: 1 }], 'inputs')).toBeNull();
    expect(extractMessages({ content: 'x', documents: [] }, 'outputs')).toBeNull();
    expect(extractMessages({ content: 'x' }, 'inputs')).toBeNull();
  });
});

describe('events, filters, links, stats, live list', () => {
  it('reads exception events', () => {
    expect(
      exceptionOf({
        name: 'exception',
        attributes: {
          'exception.type': 'ValueError',
          'exception.message': 'bad',
          'exception.stacktrace': 'Traceback…',
          'exception.escaped': true,
        },
      }),
    ).toEqual({ type: 'ValueError', message: 'bad', stacktrace: 'Traceback…', escaped: true });
    expect(exceptionOf({ name: 'log', attributes: {} })).toBeNull();
  });

  it('builds filters and URLs', () => {
    expect(quoteFilterValue("o'brien")).toBe("'o''brien'");
    expect(andFilters(null, " status = 'ERROR' ", '')).toBe("status = 'ERROR'");
    expect(andFilters("a = '1' OR b = '2'", "c = '3'")).toBe("(a = '1' OR b = '2') AND (c = '3')");
    expect(andFilters()).toBeNull();
    expect(otlpTracesUrl('/graphql', 'http://127.0.0.1:4680')).toBe(
      'http://127.0.0.1:4680/v1/traces',
    );
    expect(otlpTracesUrl('https://x.io/cairn/graphql', 'http://other')).toBe(
      'https://x.io/cairn/v1/traces',
    );
    expect(trackingUri('/graphql', 'http://127.0.0.1:4680')).toBe('http://127.0.0.1:4680');
    expect(parseModelVersion('models:/churn/3')).toEqual({ name: 'churn', version: 3 });
    expect(parseModelVersion('team/churn/12')).toEqual({ name: 'team/churn', version: 12 });
    expect(parseModelVersion('churn')).toBeNull();
  });

  it('turns time buckets into chart columns, oldest first', () => {
    const b = (key: string | null, count: number) => ({
      key,
      count,
      errorRate: 0,
      latencyP50Ms: count,
      latencyP95Ms: null,
      latencyP99Ms: null,
      inputTokens: 0,
      outputTokens: 0,
      totalTokens: count * 10,
      cost: null,
    });
    const cols = statsColumns(
      [
        b('2026-12-06T01:00:00.000Z', 2),
        b('2026-12-06T00:00:00.000Z', 1),
        b(null, 9),
        b('junk', 3),
      ],
      [(x) => x.latencyP50Ms, (x) => x.totalTokens],
    );
    expect(cols).toEqual([
      [
        Date.parse('2026-12-06T00:00:00.000Z') / 1000,
        Date.parse('2026-12-06T01:00:00.000Z') / 1000,
      ],
      [1, 2],
      [10, 20],
    ]);
  });

  it('pads a single time bucket with empty neighbours', () => {
    const one = {
      key: '2026-12-06T01:00:00.000Z',
      count: 1,
      errorRate: 0,
      latencyP50Ms: 5,
      latencyP95Ms: null,
      latencyP99Ms: null,
      inputTokens: 0,
      outputTokens: 0,
      totalTokens: 0,
      cost: null,
    };
    const x = Date.parse(one.key) / 1000;
    expect(statsColumns([one], [(b) => b.latencyP50Ms], 3600)).toEqual([
      [x - 3600, x, x + 3600],
      [null, 5, null],
    ]);
    expect(statsColumns([one], [(b) => b.latencyP50Ms])).toEqual([[x], [5]]);
  });

  it('merges pushed traces: in place when known, on top (newest first) when new', () => {
    const t = (id: string, ns: string, name = id) => ({ id, startTimeUnixNano: ns, name });
    const list = [t('b', '200'), t('a', '100')];
    const pushed = [t('a', '100', 'a2'), t('c', '300'), t('d', '400')];
    const merged = mergeTraces(list, pushed, true);
    expect(merged.list.map((x) => x.name)).toEqual(['d', 'c', 'b', 'a2']);
    expect(merged.added).toBe(2);
    expect(merged.changed.sort()).toEqual(['a', 'c', 'd']);
    const held = mergeTraces(list, pushed, false);
    expect(held.list.map((x) => x.name)).toEqual(['b', 'a2']);
    expect(held.unplaced).toBe(2);
    expect(list.map((x) => x.name)).toEqual(['b', 'a']);
  });
});
