import { describe, expect, it } from 'vitest';
import { spansIngestedV1, type AttributeMap, type IngestedSpan } from '@cairn/events';
import { packSpanBatches } from '../src/tracing/ingest.ts';
import { MaskRuleError, maskRules, maskString, parseMaskRules } from '../src/tracing/masking.ts';
import {
  SPAN_LIMITS,
  cleanRequest,
  cutChars,
  cutUtf8,
  repairText,
  type CleanRequest,
} from '../src/tracing/span-hygiene.ts';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
let nextSpan = 1;

function span(overrides: Partial<IngestedSpan> = {}): IngestedSpan {
  return {
    traceId: TRACE,
    spanId: (nextSpan++).toString(16).padStart(16, '0'),
    parentSpanId: null,
    traceState: null,
    name: 'span',
    kind: 'INTERNAL',
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000001000000000',
    status: { code: 'UNSET', message: null },
    attributes: {},
    events: [],
    links: [],
    resourceIndex: 0,
    scope: { name: 'scope', version: null },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    ...overrides,
  };
}

const rules = maskRules();

function clean(spans: IngestedSpan[], resources: AttributeMap[] = [{}]): CleanRequest {
  return cleanRequest({ resources, spans }, { rules });
}

function jsonBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v));
}

describe('span ids', () => {
  it('rejects wrong-length and all-zero trace and span ids, counting and explaining them', () => {
    const result = clean([
      span({ name: 'ok' }),
      span({ traceId: 'abc' }),
      span({ traceId: '0'.repeat(32) }),
      span({ spanId: '0'.repeat(16) }),
      span({ spanId: '' }),
      span({ parentSpanId: '123' }),
      span({ name: 'zero parent is a root', parentSpanId: '0'.repeat(16) }),
    ]);
    expect(result.spans.map((s) => s.span.name)).toEqual(['ok', 'zero parent is a root']);
    expect(result.spans[1]!.span.parentSpanId).toBeNull();
    expect(result.rejected).toBe(5);
    expect(result.rejectReasons).toEqual([
      'invalid trace id "abc" (16 bytes, not all zero, expected)',
      `invalid trace id "${'0'.repeat(32)}" (16 bytes, not all zero, expected)`,
      `invalid span id "${'0'.repeat(16)}" (8 bytes, not all zero, expected)`,
      'invalid span id missing (8 bytes, not all zero, expected)',
      'invalid parent span id "123" (8 bytes expected)',
    ]);
  });

  it('rejects times beyond int64 nanoseconds (the read model stores int8)', () => {
    const result = clean([
      span({ name: 'max', startTimeUnixNano: '9223372036854775807' }),
      span({ startTimeUnixNano: '9223372036854775808' }),
      span({ endTimeUnixNano: '18446744073709551615' }),
      span({ events: [{ name: 'e', timeUnixNano: '9999999999999999999', attributes: {} }] }),
    ]);
    expect(result.spans.map((s) => s.span.name)).toEqual(['max']);
    expect(result.rejected).toBe(3);
    expect(result.rejectReasons).toEqual([
      'invalid start or end time (beyond 2^63 - 1 nanoseconds)',
      'invalid event time (beyond 2^63 - 1 nanoseconds)',
    ]);
  });

  it('drops links with invalid ids and counts them', () => {
    const [s] = clean([
      span({
        links: [
          { traceId: TRACE, spanId: '00000000000000aa', attributes: {} },
          { traceId: 'bad', spanId: '00000000000000aa', attributes: {} },
          { traceId: TRACE, spanId: '0'.repeat(16), attributes: {} },
        ],
        droppedLinksCount: 1,
      }),
    ]).spans;
    expect(s!.span.links).toHaveLength(1);
    expect(s!.span.droppedLinksCount).toBe(3);
  });
});

describe('text repair', () => {
  it('replaces NUL and lone surrogates with U+FFFD everywhere, so jsonb accepts the span', () => {
    expect(repairText('a\u0000b')).toBe('a\uFFFDb');
    expect(repairText('x\ud800y')).toBe('x\uFFFDy');
    expect(repairText('pair \ud83d\ude00 ok')).toBe('pair \ud83d\ude00 ok');
    const [s] = clean([
      span({
        name: 'n\u0000',
        traceState: 't\u0000',
        status: { code: 'ERROR', message: 'm\udc00' },
        attributes: {
          'k\u0000ey': 'v\u0000',
          nested: { 'in\u0000ner': ['a\u0000', { deep: '\udfff' }] },
        },
        events: [{ name: 'e\u0000', timeUnixNano: '1', attributes: { x: '\u0000' } }],
        scope: { name: 's\u0000', version: 'v\u0000' },
      }),
    ]).spans;
    const json = JSON.stringify(s!.span);
    expect(json).not.toMatch(/\\u0000|\\ud[89a-f][0-9a-f]{2}/i);
    expect(s!.span.name).toBe('n\uFFFD');
    expect(s!.span.attributes).toEqual({
      'k\uFFFDey': 'v\uFFFD',
      nested: { 'in\uFFFDner': ['a\uFFFD', { deep: '\uFFFD' }] },
    });
    expect(s!.span.status.message).toBe('m\uFFFD');
    expect(s!.span.events[0]!.attributes).toEqual({ x: '\uFFFD' });
  });
});

describe('masking', () => {
  it('masks the default secrets', () => {
    expect(maskString(rules, 'key sk-abcdefghijklmnopqrstuvwxyz and more')).toBe(
      'key [REDACTED] and more',
    );
    expect(maskString(rules, 'sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAA_bbb-ccc')).toBe(
      '[REDACTED]',
    );
    expect(maskString(rules, 'Authorization: bearer abc.def.ghi-jkl')).toBe(
      'Authorization: bearer [REDACTED]',
    );
    expect(maskString(rules, 'AKIAIOSFODNN7EXAMPLE,ASIAXXXXXXXXXXXXXXXX')).toBe(
      '[REDACTED],[REDACTED]',
    );
    // Not secrets: short sk- words, words containing "sk-", a lone "Bearer".
    for (const s of ['sk-short', 'task-abcdefghijklmnopqrstuvwxyz', 'Bearer', 'AKIA123']) {
      expect(maskString(rules, s)).toBe(s);
    }
  });

  it('applies rules from a file after the defaults, with their replacements and flags', () => {
    const extra = parseMaskRules(
      JSON.stringify([
        { pattern: String.raw`\b\d{3}-\d{2}-\d{4}\b`, replacement: '<ssn>' },
        { pattern: 'secret-(\\w+)', replacement: 'secret-$1-masked', flags: 'i' },
        { pattern: 'internal\\.example\\.com' },
      ]),
      'rules.json',
    );
    const all = maskRules(extra);
    expect(maskString(all, 'ssn 123-45-6789, SECRET-abc on internal.example.com')).toBe(
      'ssn <ssn>, secret-abc-masked on [REDACTED]',
    );
    const [s] = cleanRequest(
      {
        resources: [{ host: 'internal.example.com' }],
        spans: [
          span({
            attributes: { a: ['123-45-6789'], n: 5 },
            events: [{ name: 'e', timeUnixNano: '1', attributes: { b: 'x 123-45-6789' } }],
            links: [
              { traceId: TRACE, spanId: '00000000000000ab', attributes: { c: '123-45-6789' } },
            ],
          }),
        ],
      },
      { rules: all },
    ).spans;
    expect(s!.span.attributes).toEqual({ a: ['<ssn>'], n: 5 });
    expect(s!.span.events[0]!.attributes).toEqual({ b: 'x <ssn>' });
    expect(s!.span.links[0]!.attributes).toEqual({ c: '<ssn>' });
    expect(
      cleanRequest({ resources: [{ host: 'internal.example.com' }], spans: [] }, { rules: all })
        .resources,
    ).toEqual([{ host: '[REDACTED]' }]);
  });

  it('refuses invalid rule files with a clear message', () => {
    const bad: [string, RegExp][] = [
      ['not json', /rules\.json: not JSON/],
      ['{"pattern": "x"}', /must be a JSON list/],
      ['["x"]', /rule 0 must be an object/],
      ['[{"pattern": ""}]', /rule 0: "pattern" must be a non-empty string/],
      ['[{"pattern": "("}]', /rule 0: invalid regular expression "\(":/],
      ['[{"pattern": "a*"}]', /matches the empty string/],
      ['[{"pattern": "a", "replacement": 1}]', /"replacement" must be a string/],
      ['[{"pattern": "a", "flags": "gy"}]', /"flags" may only hold i, m, s and u/],
      ['[{"pattern": "a", "replace": "b"}]', /unknown field "replace"/],
    ];
    for (const [text, message] of bad) {
      expect(() => parseMaskRules(text, 'rules.json'), text).toThrow(MaskRuleError);
      expect(() => parseMaskRules(text, 'rules.json'), text).toThrow(message);
    }
  });
});

describe('limits and truncation', () => {
  it('cuts strings on character boundaries', () => {
    expect(cutUtf8('aé', 2)).toBe('a');
    expect(cutUtf8('€€', 5)).toBe('€');
    expect(cutUtf8('😀x', 3)).toBe('');
    expect(cutChars('ab😀', 3)).toBe('ab');
    expect(cutChars('abc', 3)).toBe('abc');
  });

  it('cuts values above 64 KiB (strings, and arrays/maps as their JSON) and lists them', () => {
    const big = 'y'.repeat(70_000);
    const [s] = clean([
      span({
        name: 'n'.repeat(1500),
        attributes: {
          big,
          list: Array.from({ length: 10_000 }, (_, i) => `item-${i}`),
          ok: 'x'.repeat(65536),
        },
        events: [{ name: 'e', timeUnixNano: '1', attributes: { trace: big } }],
        links: [{ traceId: TRACE, spanId: '00000000000000ab', attributes: { l: big } }],
        status: { code: 'ERROR', message: big },
      }),
    ]).spans;
    const attrs = s!.span.attributes;
    expect(s!.span.name).toHaveLength(1024);
    expect(attrs.big).toBe('y'.repeat(65536));
    expect(typeof attrs.list).toBe('string');
    expect((attrs.list as string).startsWith('["item-0","item-1"')).toBe(true);
    expect(Buffer.byteLength(attrs.list as string)).toBe(65536);
    expect(attrs.ok).toHaveLength(65536);
    expect(s!.span.events[0]!.attributes.trace).toHaveLength(65536);
    expect(s!.span.links[0]!.attributes.l).toHaveLength(65536);
    expect(s!.span.status.message).toHaveLength(65536);
    expect(attrs['cairn.truncated']).toEqual([
      'status.message',
      'big',
      'list',
      'events[0].trace',
      'links[0].l',
    ]);
  });

  it('keeps 512 attributes, 256 events and 128 links, counting the rest as dropped', () => {
    const attributes: AttributeMap = {};
    for (let i = 0; i < 600; i++) attributes[`a${i}`] = i;
    const [s] = clean([
      span({
        attributes,
        droppedAttributesCount: 1,
        events: Array.from({ length: 300 }, (_, i) => ({
          name: `e${i}`,
          timeUnixNano: String(i),
          attributes: {},
        })),
        links: Array.from({ length: 130 }, (_, i) => ({
          traceId: TRACE,
          spanId: (i + 1).toString(16).padStart(16, '0'),
          attributes: {},
        })),
      }),
    ]).spans;
    expect(Object.keys(s!.span.attributes)).toHaveLength(512);
    expect(s!.span.attributes.a511).toBe(511);
    expect(s!.span.attributes.a512).toBeUndefined();
    expect(s!.span.droppedAttributesCount).toBe(89);
    expect(s!.span.events).toHaveLength(256);
    expect(s!.span.events[255]!.name).toBe('e255');
    expect(s!.span.droppedEventsCount).toBe(44);
    expect(s!.span.links).toHaveLength(128);
    expect(s!.span.droppedLinksCount).toBe(2);
  });

  it('brings a span above 512 KiB of JSON under budget by cutting the largest values', () => {
    const attributes: AttributeMap = { small: 'keep me', n: 1 };
    for (let i = 0; i < 20; i++) attributes[`big${i}`] = 'z'.repeat(60_000);
    const [s] = clean([span({ attributes })]).spans;
    expect(s!.bytes).toBe(jsonBytes(s!.span));
    expect(s!.bytes).toBeLessThanOrEqual(SPAN_LIMITS.maxSpanJsonBytes);
    expect(s!.bytes).toBeGreaterThan(SPAN_LIMITS.maxSpanJsonBytes * 0.9);
    expect(s!.span.attributes.small).toBe('keep me');
    expect(s!.span.attributes.n).toBe(1);
    const cut = (s!.span.attributes['cairn.truncated'] as string[]).sort();
    expect(cut).toEqual(Array.from({ length: 20 }, (_, i) => `big${i}`).sort());
    // Water-filling: every large value was cut to the same length.
    expect(new Set(cut.map((k) => (s!.span.attributes[k] as string).length)).size).toBe(1);
  });

  it('counts JSON escapes in the budget (a value of quotes doubles in JSON)', () => {
    const attributes: AttributeMap = {};
    for (let i = 0; i < 12; i++) attributes[`q${i}`] = '"'.repeat(60_000);
    const [s] = clean([span({ attributes })]).spans;
    expect(jsonBytes(s!.span)).toBeLessThanOrEqual(SPAN_LIMITS.maxSpanJsonBytes);
    expect(s!.bytes).toBe(jsonBytes(s!.span));
  });

  it('still fits when the size is in thousands of small event attributes', () => {
    const events = Array.from({ length: 256 }, (_, i) => {
      const attributes: AttributeMap = {};
      for (let j = 0; j < 200; j++) attributes[`attribute-key-${j}`] = j;
      return { name: `e${i}`, timeUnixNano: '1', attributes };
    });
    const [s] = clean([span({ events })]).spans;
    expect(s!.bytes).toBeLessThanOrEqual(SPAN_LIMITS.maxSpanJsonBytes);
    // The last events go first, as many as needed.
    const kept = s!.span.events.length;
    expect(kept).toBeGreaterThan(100);
    expect(kept).toBeLessThan(256);
    expect(s!.span.events.at(-1)!.name).toBe(`e${kept - 1}`);
    expect(s!.span.droppedEventsCount).toBe(256 - kept);
  });

  it('cuts a resource above 128 KiB', () => {
    const resource: AttributeMap = { 'service.name': 'svc' };
    for (let i = 0; i < 5; i++) resource[`r${i}`] = 'r'.repeat(60_000);
    const [r] = cleanRequest({ resources: [resource], spans: [] }, { rules }).resources;
    expect(jsonBytes(r)).toBeLessThanOrEqual(SPAN_LIMITS.maxResourceJsonBytes);
    expect(r!['service.name']).toBe('svc');
    expect((r!['cairn.truncated'] as string[]).length).toBe(5);
  });
});

describe('packing into SpansIngested events', () => {
  it('packs spans into events below the size limit, de-duplicating resources per event', () => {
    const resources = [{ svc: 'a' }, { svc: 'b' }, { svc: 'a' }];
    const spans = Array.from({ length: 30 }, (_, i) =>
      span({ name: `s${i}`, resourceIndex: i % 3, attributes: { payload: 'p'.repeat(50_000) } }),
    );
    const cleaned = cleanRequest({ resources, spans }, { rules });
    const batchId = 'a'.repeat(32);
    const batches = packSpanBatches(batchId, cleaned, 200 * 1024);
    // About 50 KB a span: four per event.
    expect(batches.length).toBe(8);
    for (const b of batches) {
      expect(jsonBytes(b)).toBeLessThanOrEqual(200 * 1024);
      spansIngestedV1.parse(b);
      expect(b.batchId).toBe(batchId);
      // Never the same resource twice in one event.
      expect(new Set(b.resources.map((r) => JSON.stringify(r))).size).toBe(b.resources.length);
      for (const s of b.spans) {
        const original = Number(s.name.slice(1));
        expect(b.resources[s.resourceIndex]).toEqual(resources[original % 3]);
      }
    }
    expect(batches.flatMap((b) => b.spans.map((s) => s.name))).toEqual(spans.map((s) => s.name));
  });

  it('puts a span larger than the event limit alone in its event rather than dropping it', () => {
    const cleaned = clean([
      span({ name: 'a', attributes: { p: 'x'.repeat(60_000) } }),
      span({ name: 'b' }),
    ]);
    const batches = packSpanBatches('b'.repeat(32), cleaned, 10_000);
    expect(batches.map((b) => b.spans.map((s) => s.name))).toEqual([['a'], ['b']]);
  });
});
