import { describe, expect, it } from 'vitest';
import { SpanKind, type Attributes } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  encodeExportResponseJson,
  encodeExportResponseProtobuf,
  encodeStatusJson,
  encodeStatusProtobuf,
} from '../src/tracing/otlp/encode.ts';
import { decodeTraceRequestJson } from '../src/tracing/otlp/json-decode.ts';
import { decodeTraceRequestProtobuf } from '../src/tracing/otlp/protobuf-decode.ts';
import { OtlpDecodeError, TooManySpansError } from '../src/tracing/otlp/types.ts';

const OPTS = { maxSpans: 10_000 };

// ---- a minimal protobuf writer for hand-made edge cases -------------------------------------

function varint(value: bigint | number): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
const tag = (field: number, wire: number) => varint((field << 3) | wire);
const ld = (field: number, ...parts: (Buffer | string)[]) => {
  const body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  return Buffer.concat([tag(field, 2), varint(body.length), body]);
};
const vi = (field: number, value: bigint | number) => Buffer.concat([tag(field, 0), varint(value)]);
const f64 = (field: number, value: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  return Buffer.concat([tag(field, 1), b]);
};
const dbl = (field: number, value: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return Buffer.concat([tag(field, 1), b]);
};
const f32 = (field: number, value: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return Buffer.concat([tag(field, 5), b]);
};
/** A KeyValue inside a KeyValueList (field 1). */
const kv = (key: string, anyValue: Buffer) => ld(1, ld(1, key), ld(2, anyValue));
/** A span attribute (Span field 9). */
const attr = (key: string, anyValue: Buffer) => ld(9, ld(1, key), ld(2, anyValue));
const TRACE = Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex');
const SPAN = Buffer.from('b7ad6b7169203331', 'hex');

function request(...spanFields: Buffer[]): Buffer {
  return ld(1, ld(2, ld(2, ld(1, TRACE), ld(2, SPAN), ...spanFields)));
}

function sdkRequest(attributes: Attributes) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'unit', 'host.count': 3 }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('scope-a', '0.1');
  const root = tracer.startSpan('root', { kind: SpanKind.PRODUCER, attributes });
  root.addEvent('evt', { 'event.n': 1 }, [1_700_000_000, 123_456_789]);
  root.end();
  return exporter.getFinishedSpans();
}

describe('protobuf decoder', () => {
  it('decodes what the OTel protobuf serializer writes, and agrees with the JSON decoder', () => {
    const spans = sdkRequest({
      s: 'text',
      i: -42,
      d: 1.5,
      b: true,
      arr: ['a', 'b'],
      nums: [1, 2.5],
    });
    const pb = decodeTraceRequestProtobuf(
      Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!),
      OPTS,
    );
    const json = decodeTraceRequestJson(
      Buffer.from(JsonTraceSerializer.serializeRequest(spans)!).toString(),
      OPTS,
    );
    expect(pb.spans).toHaveLength(1);
    const span = pb.spans[0]!;
    expect(span.traceId).toBe(spans[0]!.spanContext().traceId);
    expect(span.spanId).toBe(spans[0]!.spanContext().spanId);
    expect(span.name).toBe('root');
    expect(span.kind).toBe('PRODUCER');
    expect(span.attributes).toEqual({
      s: 'text',
      i: -42,
      d: 1.5,
      b: true,
      arr: ['a', 'b'],
      nums: [1, 2.5],
    });
    expect(span.events).toEqual([
      { name: 'evt', timeUnixNano: '1700000000123456789', attributes: { 'event.n': 1 } },
    ]);
    expect(span.scope).toEqual({ name: 'scope-a', version: '0.1' });
    expect(pb.resources[0]).toMatchObject({ 'service.name': 'unit', 'host.count': 3 });
    expect(json).toEqual(pb);
  });

  it('decodes edge values: int64 extremes, negatives, NaN and infinities, nested kvlists, bytes', () => {
    const decoded = decodeTraceRequestProtobuf(
      request(
        ld(5, 'edge'),
        attr('max', vi(3, 2n ** 63n - 1n)),
        attr('min', vi(3, -(2n ** 63n))),
        attr('safe', vi(3, 2 ** 53 - 1)),
        attr('unsafe', vi(3, 2n ** 53n)),
        attr('neg', vi(3, -1)),
        attr('negSafe', vi(3, -(2n ** 53n - 1n))),
        attr('negUnsafe', vi(3, -(2n ** 53n))),
        attr('nan', dbl(4, NaN)),
        attr('inf', dbl(4, Infinity)),
        attr('ninf', dbl(4, -Infinity)),
        attr('negZero', dbl(4, -0)),
        attr('bytes', ld(7, Buffer.from([0, 1, 2, 255]))),
        attr('empty', Buffer.alloc(0)),
        attr('false', vi(2, 0)),
        attr(
          'nested',
          ld(6, kv('a', ld(6, kv('b', ld(5, ld(1, ld(1, 'deep')), ld(1, vi(3, 7))))))),
        ),
        attr('__proto__', ld(1, 'not a prototype')),
        f64(7, 2n ** 64n - 1n),
        f64(8, 1_700_000_000_000_000_000n),
      ),
      OPTS,
    );
    const span = decoded.spans[0]!;
    expect(span.attributes).toEqual({
      max: '9223372036854775807',
      min: '-9223372036854775808',
      safe: 2 ** 53 - 1,
      unsafe: '9007199254740992',
      neg: -1,
      negSafe: -(2 ** 53 - 1),
      negUnsafe: '-9007199254740992',
      nan: 'NaN',
      inf: 'Infinity',
      ninf: '-Infinity',
      negZero: -0,
      bytes: Buffer.from([0, 1, 2, 255]).toString('base64'),
      empty: null,
      false: false,
      nested: { a: { b: ['deep', 7] } },
      ['__proto__']: 'not a prototype',
    });
    expect(Object.getPrototypeOf(span.attributes)).toBe(Object.prototype);
    expect(Object.keys(span.attributes)).toContain('__proto__');
    expect(span.startTimeUnixNano).toBe('18446744073709551615');
    expect(span.endTimeUnixNano).toBe('1700000000000000000');
  });

  it('skips unknown fields of every wire type, and known fields with an unexpected wire type', () => {
    const decoded = decodeTraceRequestProtobuf(
      Buffer.concat([
        vi(99, 5),
        ld(
          1,
          vi(42, 1),
          ld(
            2,
            f32(77, 1),
            ld(
              2,
              ld(1, TRACE),
              ld(2, SPAN),
              ld(5, 'kept'),
              f32(16, 0x301), // flags: known, not stored
              vi(5, 3), // name with the wrong wire type: skipped
              ld(200, 'unknown'),
              f64(201, 1n),
              ld(15, vi(3, 1), ld(2, 'fine'), vi(9, 9)),
            ),
          ),
        ),
      ]),
      OPTS,
    );
    expect(decoded.spans).toHaveLength(1);
    expect(decoded.spans[0]!.name).toBe('kept');
    expect(decoded.spans[0]!.status).toEqual({ code: 'OK', message: 'fine' });
  });

  it('decodes an empty request and an empty span', () => {
    expect(decodeTraceRequestProtobuf(Buffer.alloc(0), OPTS)).toEqual({ resources: [], spans: [] });
    const decoded = decodeTraceRequestProtobuf(ld(1, ld(2, ld(2))), OPTS);
    expect(decoded.spans).toEqual([
      {
        traceId: '',
        spanId: '',
        parentSpanId: null,
        traceState: null,
        name: '',
        kind: 'UNSPECIFIED',
        startTimeUnixNano: '0',
        endTimeUnixNano: '0',
        status: { code: 'UNSET', message: null },
        attributes: {},
        events: [],
        links: [],
        resourceIndex: 0,
        scope: { name: '', version: null },
        droppedAttributesCount: 0,
        droppedEventsCount: 0,
        droppedLinksCount: 0,
      },
    ]);
  });

  it('maps unknown enum numbers to the zero value and reads links, trace state, dropped counts', () => {
    const decoded = decodeTraceRequestProtobuf(
      request(
        vi(6, 99),
        ld(3, 'vendor=x'),
        ld(4, Buffer.alloc(8, 1)),
        vi(10, 3),
        vi(12, 4),
        vi(14, 5),
        ld(13, ld(1, TRACE), ld(2, SPAN), ld(3, 'ts'), ld(4, ld(1, 'k'), ld(2, ld(1, 'v')))),
        ld(15, vi(3, 7)),
      ),
      OPTS,
    );
    const span = decoded.spans[0]!;
    expect(span.kind).toBe('UNSPECIFIED');
    expect(span.traceState).toBe('vendor=x');
    expect(span.parentSpanId).toBe('0101010101010101');
    expect(span.status.code).toBe('UNSET');
    expect([span.droppedAttributesCount, span.droppedEventsCount, span.droppedLinksCount]).toEqual([
      3, 4, 5,
    ]);
    expect(span.links).toEqual([
      { traceId: TRACE.toString('hex'), spanId: SPAN.toString('hex'), attributes: { k: 'v' } },
    ]);
  });

  it('replaces invalid UTF-8 with U+FFFD', () => {
    const decoded = decodeTraceRequestProtobuf(
      request(ld(5, Buffer.from([0x61, 0xff, 0x62])), attr('k', ld(1, Buffer.from([0xc3])))),
      OPTS,
    );
    expect(decoded.spans[0]!.name).toBe('a\uFFFDb');
    expect(decoded.spans[0]!.attributes.k).toBe('\uFFFD');
  });

  it('fails on truncated and malformed messages', () => {
    const good = request(ld(5, 'name'), attr('k', ld(1, 'value')));
    for (let cut = 1; cut < good.length; cut++) {
      expect(() => decodeTraceRequestProtobuf(good.subarray(0, cut), OPTS), `cut ${cut}`).toThrow(
        OtlpDecodeError,
      );
    }
    expect(() => decodeTraceRequestProtobuf(Buffer.from([0x0b]), OPTS)).toThrow(
      /unsupported wire type 3/,
    );
    expect(() =>
      decodeTraceRequestProtobuf(
        Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        OPTS,
      ),
    ).toThrow(/varint longer than 10 bytes/);
    // A nested length that claims more than its parent holds.
    expect(() => decodeTraceRequestProtobuf(Buffer.from([0x0a, 0x02, 0x12, 0x05]), OPTS)).toThrow(
      /runs past the end of its message/,
    );
    expect(() => decodeTraceRequestProtobuf(request(f64(7, 1n)).subarray(0, -3), OPTS)).toThrow(
      OtlpDecodeError,
    );
  });

  it('stops past the span limit', () => {
    const spans = Array.from({ length: 4 }, () => ld(2, ld(1, TRACE)));
    const body = ld(1, ld(2, ...spans));
    expect(decodeTraceRequestProtobuf(body, { maxSpans: 4 }).spans).toHaveLength(4);
    expect(() => decodeTraceRequestProtobuf(body, { maxSpans: 3 })).toThrow(TooManySpansError);
  });
});

describe('JSON decoder', () => {
  const traceHex = '0af7651916cd43dd8448eb211c80319c';
  const spanHex = 'b7ad6b7169203331';
  const wrap = (span: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }], ...extra }] });

  it('accepts snake_case, enum names and numbers, int64 as strings or numbers, base64 ids', () => {
    const text = JSON.stringify({
      resource_spans: [
        {
          resource: { attributes: [{ key: 'r', value: { string_value: 'x' } }] },
          scope_spans: [
            {
              scope: { name: 'lib', version: '2' },
              spans: [
                {
                  trace_id: Buffer.from(traceHex, 'hex').toString('base64'),
                  span_id: Buffer.from(spanHex, 'hex').toString('base64'),
                  parent_span_id: '',
                  name: 'snake',
                  kind: 'SPAN_KIND_CLIENT',
                  start_time_unix_nano: '1700000000000000001',
                  end_time_unix_nano: 1700000000,
                  status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
                  dropped_attributes_count: 2,
                  attributes: [
                    { key: 'big', value: { int_value: '9223372036854775807' } },
                    { key: 'small', value: { intValue: 7 } },
                    { key: 'negStr', value: { intValue: '-12' } },
                    { key: 'nan', value: { doubleValue: 'NaN' } },
                    { key: 'inf', value: { double_value: '-Infinity' } },
                    { key: 'dstr', value: { doubleValue: '2.5' } },
                    {
                      key: 'kv',
                      value: {
                        kvlist_value: {
                          values: [
                            {
                              key: 'inner',
                              value: { arrayValue: { values: [{ boolValue: true }, {}] } },
                            },
                          ],
                        },
                      },
                    },
                    { key: 'bytes', value: { bytesValue: 'AAEC/w==' } },
                  ],
                },
                { traceId: traceHex.toUpperCase(), spanId: spanHex, kind: 2, status: { code: 1 } },
                { traceId: traceHex, spanId: spanHex, kind: 'SERVER' },
              ],
            },
          ],
        },
      ],
    });
    const decoded = decodeTraceRequestJson(text, OPTS);
    const [a, b, c] = decoded.spans;
    expect(a!.traceId).toBe(traceHex);
    expect(a!.spanId).toBe(spanHex);
    expect(a!.parentSpanId).toBeNull();
    expect(a!.kind).toBe('CLIENT');
    expect(a!.startTimeUnixNano).toBe('1700000000000000001');
    expect(a!.endTimeUnixNano).toBe('1700000000');
    expect(a!.status).toEqual({ code: 'ERROR', message: 'boom' });
    expect(a!.droppedAttributesCount).toBe(2);
    expect(a!.scope).toEqual({ name: 'lib', version: '2' });
    expect(a!.attributes).toEqual({
      big: '9223372036854775807',
      small: 7,
      negStr: -12,
      nan: 'NaN',
      inf: '-Infinity',
      dstr: 2.5,
      kv: { inner: [true, null] },
      bytes: 'AAEC/w==',
    });
    expect(decoded.resources).toEqual([{ r: 'x' }]);
    expect(b!.traceId).toBe(traceHex);
    expect(b!.kind).toBe('SERVER');
    expect(b!.status.code).toBe('OK');
    expect(c!.kind).toBe('SERVER');
  });

  it('keeps ids of the wrong length as they came (the span is rejected later, not the request)', () => {
    const decoded = decodeTraceRequestJson(wrap({ traceId: 'abc', spanId: 'zz' }), OPTS);
    expect(decoded.spans[0]!.traceId).toBe('abc');
    expect(decoded.spans[0]!.spanId).toBe('zz');
  });

  it('names the path of a malformed field', () => {
    const cases: [string, RegExp][] = [
      ['[1]', /\$ must be an object/],
      [JSON.stringify({ resourceSpans: {} }), /resourceSpans must be an array/],
      [wrap({ name: 5 }), /spans\[0\]\.name must be a string/],
      [wrap({ kind: 'SIDEWAYS' }), /spans\[0\]\.kind must be one of SPAN_KIND_UNSPECIFIED/],
      [wrap({ startTimeUnixNano: '-1' }), /startTimeUnixNano must be unsigned 64-bit/],
      [wrap({ startTimeUnixNano: '18446744073709551616' }), /startTimeUnixNano must be unsigned/],
      [
        wrap({ attributes: [{ key: 'k', value: { intValue: '1.5' } }] }),
        /attributes\[0\]\.value\.intValue must be an int64/,
      ],
      [
        wrap({ attributes: [{ key: 'k', value: { intValue: '9223372036854775808' } }] }),
        /intValue is outside the int64 range/,
      ],
      [
        wrap({ attributes: [{ key: 'k', value: { doubleValue: 'lots' } }] }),
        /doubleValue must be a number/,
      ],
      [
        wrap({ attributes: [{ key: 'k', value: { boolValue: 'yes' } }] }),
        /boolValue must be a boolean/,
      ],
      [
        wrap({ attributes: [{ key: 'k', value: { bytesValue: '%%%' } }] }),
        /bytesValue must be base64/,
      ],
      [wrap({ traceId: 12 }), /traceId must be a string/],
      [wrap({ droppedEventsCount: -1 }), /droppedEventsCount must be a non-negative integer/],
      ['{"resourceSpans": [', /Malformed JSON body/],
    ];
    for (const [text, message] of cases) {
      expect(() => decodeTraceRequestJson(text, OPTS), text).toThrow(message);
    }
  });

  it('accepts a byte order mark', () => {
    const decoded = decodeTraceRequestJson(`\uFEFF${wrap({ name: 'bom' })}`, OPTS);
    expect(decoded.spans[0]!.name).toBe('bom');
  });

  it('stops past the span limit', () => {
    const text = JSON.stringify({
      resourceSpans: [{ scopeSpans: [{ spans: [{}, {}] }, { spans: [{}] }] }],
    });
    expect(decodeTraceRequestJson(text, { maxSpans: 3 }).spans).toHaveLength(3);
    expect(() => decodeTraceRequestJson(text, { maxSpans: 2 })).toThrow(TooManySpansError);
  });
});

describe('response encoders', () => {
  it('writes ExportTraceServiceResponse the OTel client decodes', () => {
    expect(encodeExportResponseProtobuf(null)).toHaveLength(0);
    const partial = encodeExportResponseProtobuf({
      rejectedSpans: 300,
      errorMessage: '300 span(s) rejected: é',
    });
    expect(ProtobufTraceSerializer.deserializeResponse(partial)).toEqual({
      partialSuccess: { rejectedSpans: 300, errorMessage: '300 span(s) rejected: é' },
    });
    expect(encodeExportResponseJson(null)).toBe('{}');
    expect(JSON.parse(encodeExportResponseJson({ rejectedSpans: 2, errorMessage: 'm' }))).toEqual({
      partialSuccess: { rejectedSpans: '2', errorMessage: 'm' },
    });
    expect(
      JsonTraceSerializer.deserializeResponse(
        Buffer.from(encodeExportResponseJson({ rejectedSpans: 2, errorMessage: 'm' })),
      ),
    ).toEqual({ partialSuccess: { rejectedSpans: '2', errorMessage: 'm' } });
  });

  it('writes google.rpc.Status', () => {
    expect(encodeStatusProtobuf(3, 'bad')).toEqual(
      Buffer.from([0x08, 0x03, 0x12, 0x03, 0x62, 0x61, 0x64]),
    );
    expect(JSON.parse(encodeStatusJson(8, 'too big'))).toEqual({ code: 8, message: 'too big' });
  });
});
