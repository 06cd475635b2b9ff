/**
 * OTLP/HTTP trace ingest (`POST /v1/traces`) against the real API: bodies produced by the
 * OpenTelemetry JS SDK and its OTLP serializers (protobuf and JSON), stored `SpansIngested`
 * events read back from the log.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { spansIngestedV1, type IngestedSpan, type SpansIngestedData } from '@cairn/events';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from './helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

interface SpanSpec {
  name: string;
  attributes?: Attributes;
  kind?: SpanKind;
  error?: string;
  event?: { name: string; attributes?: Attributes };
  children?: SpanSpec[];
}

/** Real spans from the OTel SDK (one trace per root spec), finished and exported in memory. */
function sdkSpans(
  roots: SpanSpec[],
  resource: Attributes = { 'service.name': 'ingest-test' },
): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resource),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    spanLimits: { attributeCountLimit: 1000, attributeValueLengthLimit: Infinity },
  });
  const tracer = provider.getTracer('cairn-test-scope', '1.2.3');
  const make = (spec: SpanSpec, parent?: Span) => {
    const ctx = parent ? trace.setSpan(context.active(), parent) : undefined;
    const span = tracer.startSpan(
      spec.name,
      { kind: spec.kind ?? SpanKind.INTERNAL, attributes: spec.attributes },
      ctx,
    );
    if (spec.event) span.addEvent(spec.event.name, spec.event.attributes);
    if (spec.error) span.setStatus({ code: SpanStatusCode.ERROR, message: spec.error });
    for (const child of spec.children ?? []) make(child, span);
    span.end();
  };
  for (const root of roots) make(root);
  return exporter.getFinishedSpans();
}

function protobufBody(spans: ReadableSpan[]): Buffer {
  return Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
}

function jsonBody(spans: ReadableSpan[]): Buffer {
  return Buffer.from(JsonTraceSerializer.serializeRequest(spans)!);
}

interface PostOptions {
  contentType?: string;
  workspace?: string;
  headers?: Record<string, string>;
}

async function post(body: Uint8Array | string, opts: PostOptions = {}) {
  const response = await fetch(`${api.url}/v1/traces`, {
    method: 'POST',
    headers: {
      'content-type': opts.contentType ?? 'application/x-protobuf',
      ...(opts.workspace ? { 'x-cairn-workspace': opts.workspace } : {}),
      ...opts.headers,
    },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, bytes, text: bytes.toString() };
}

interface StoredSpanEvent {
  stream_id: string;
  stream_position: number;
  transaction_id: string;
  actor: string;
  correlation_id: string;
  data: SpansIngestedData;
}

async function storedEvents(workspace: string): Promise<StoredSpanEvent[]> {
  const rows = await api.db
    .selectFrom('events')
    .select([
      'stream_id',
      'stream_position',
      (eb) => eb.cast<string>('transaction_id', 'text').as('transaction_id'),
      'actor',
      'correlation_id',
      'data',
    ])
    .where('workspace_id', '=', workspace)
    .where('type', '=', 'SpansIngested')
    .orderBy('global_position')
    .execute();
  return rows as unknown as StoredSpanEvent[];
}

async function storedSpans(workspace: string): Promise<IngestedSpan[]> {
  const events = await storedEvents(workspace);
  for (const e of events) spansIngestedV1.parse(e.data);
  return events.flatMap((e) => e.data.spans);
}

function resourceOf(event: SpansIngestedData, span: IngestedSpan) {
  return event.resources[span.resourceIndex];
}

describe('POST /v1/traces', () => {
  it('stores protobuf spans from the OTel SDK exporter as SpansIngested, answering an empty response', async () => {
    const ws = randomWorkspaceId();
    const spans = sdkSpans([
      {
        name: 'agent run',
        kind: SpanKind.SERVER,
        attributes: { 'openinference.span.kind': 'AGENT', 'input.value': 'hello' },
        children: [
          {
            name: 'chat gpt-4o',
            kind: SpanKind.CLIENT,
            attributes: {
              'gen_ai.request.model': 'gpt-4o',
              'gen_ai.usage.input_tokens': 12,
              temperature: 0.25,
              stream: false,
              'gen_ai.response.finish_reasons': ['stop', 'length'],
            },
            event: { name: 'gen_ai.choice', attributes: { index: 0 } },
            error: 'rate limited',
          },
        ],
      },
    ]);
    const response = await post(protobufBody(spans), {
      workspace: ws,
      headers: { 'x-correlation-id': 'corr-otlp-1' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    expect(response.bytes.length).toBe(0);
    expect(ProtobufTraceSerializer.deserializeResponse(response.bytes)).toEqual({});

    const events = await storedEvents(ws);
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(spansIngestedV1.parse(event.data)).toBeTruthy();
    expect(event.stream_id).toBe(`span-batch-${event.data.batchId}`);
    expect(event.stream_position).toBe(1);
    expect(event.actor).toBe('anonymous');
    expect(event.correlation_id).toBe('corr-otlp-1');
    const byName = new Map(event.data.spans.map((s) => [s.name, s]));
    const root = byName.get('agent run')!;
    const child = byName.get('chat gpt-4o')!;
    const sdkRoot = spans.find((s) => s.name === 'agent run')!;
    const sdkChild = spans.find((s) => s.name === 'chat gpt-4o')!;
    expect(root.traceId).toBe(sdkRoot.spanContext().traceId);
    expect(root.spanId).toBe(sdkRoot.spanContext().spanId);
    expect(root.parentSpanId).toBeNull();
    expect(root.kind).toBe('SERVER');
    expect(root.attributes).toEqual({ 'openinference.span.kind': 'AGENT', 'input.value': 'hello' });
    expect(child.traceId).toBe(root.traceId);
    expect(child.spanId).toBe(sdkChild.spanContext().spanId);
    expect(child.parentSpanId).toBe(root.spanId);
    expect(child.kind).toBe('CLIENT');
    expect(child.status).toEqual({ code: 'ERROR', message: 'rate limited' });
    expect(child.attributes).toEqual({
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 12,
      temperature: 0.25,
      stream: false,
      'gen_ai.response.finish_reasons': ['stop', 'length'],
    });
    expect(child.events).toHaveLength(1);
    expect(child.events[0]!.name).toBe('gen_ai.choice');
    expect(child.events[0]!.attributes).toEqual({ index: 0 });
    const [sec, nano] = sdkChild.startTime;
    expect(child.startTimeUnixNano).toBe((BigInt(sec) * 1_000_000_000n + BigInt(nano)).toString());
    expect(BigInt(child.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(child.startTimeUnixNano));
    expect(child.scope).toEqual({ name: 'cairn-test-scope', version: '1.2.3' });
    expect(resourceOf(event.data, child)).toMatchObject({ 'service.name': 'ingest-test' });
    // Both spans share the one resource.
    expect(event.data.resources).toHaveLength(1);
  });

  it('stores OTLP/JSON from the OTel JSON serializer and answers {}', async () => {
    const ws = randomWorkspaceId();
    const spans = sdkSpans([
      { name: 'json root', attributes: { 'user.id': 'u-1', big: 2 ** 40 }, children: [] },
    ]);
    const response = await post(jsonBody(spans), {
      workspace: ws,
      contentType: 'application/json',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(response.text)).toEqual({});
    const stored = await storedSpans(ws);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.name).toBe('json root');
    expect(stored[0]!.traceId).toBe(spans[0]!.spanContext().traceId);
    expect(stored[0]!.attributes).toEqual({ 'user.id': 'u-1', big: 2 ** 40 });
  });

  it('accepts gzip bodies (content-encoding: gzip), protobuf and JSON', async () => {
    const ws = randomWorkspaceId();
    const a = sdkSpans([{ name: 'gzip protobuf' }]);
    const b = sdkSpans([{ name: 'gzip json' }]);
    const r1 = await post(gzipSync(protobufBody(a)), {
      workspace: ws,
      headers: { 'content-encoding': 'gzip' },
    });
    const r2 = await post(gzipSync(jsonBody(b)), {
      workspace: ws,
      contentType: 'application/json; charset=utf-8',
      headers: { 'content-encoding': 'gzip' },
    });
    expect([r1.status, r2.status]).toEqual([200, 200]);
    expect((await storedSpans(ws)).map((s) => s.name).sort()).toEqual([
      'gzip json',
      'gzip protobuf',
    ]);
  });

  it('rejects spans with invalid ids in partialSuccess and stores the others', async () => {
    const ws = randomWorkspaceId();
    const good = '0af7651916cd43dd8448eb211c80319c';
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'p' } }] },
          scopeSpans: [
            {
              spans: [
                { traceId: good, spanId: 'b7ad6b7169203331', name: 'kept', startTimeUnixNano: '5' },
                { traceId: '0'.repeat(32), spanId: 'b7ad6b7169203332', name: 'zero trace' },
                { traceId: good, spanId: 'abc', name: 'short span id' },
              ],
            },
          ],
        },
      ],
    };
    const response = await post(JSON.stringify(body), {
      workspace: ws,
      contentType: 'application/json',
    });
    expect(response.status).toBe(200);
    const answer = JSON.parse(response.text) as {
      partialSuccess: { rejectedSpans: string; errorMessage: string };
    };
    expect(answer.partialSuccess.rejectedSpans).toBe('2');
    expect(answer.partialSuccess.errorMessage).toContain('invalid trace id');
    expect(answer.partialSuccess.errorMessage).toContain('invalid span id "abc"');
    const stored = await storedSpans(ws);
    expect(stored.map((s) => s.name)).toEqual(['kept']);
    expect(stored[0]!.startTimeUnixNano).toBe('5');

    // The same in protobuf: the answer decodes with the OTel client's own deserializer.
    const sdk = sdkSpans([{ name: 'pb kept' }]);
    const pbBody = protobufBody(sdk);
    const mixed = Buffer.concat([
      pbBody,
      // A second ResourceSpans whose span has a 4-byte trace id.
      encodeResourceSpansWithSpan(Buffer.from([1, 2, 3, 4]), Buffer.alloc(8, 7), 'pb bad'),
    ]);
    const pb = await post(mixed, { workspace: ws });
    expect(pb.status).toBe(200);
    const decoded = ProtobufTraceSerializer.deserializeResponse(pb.bytes);
    expect(decoded.partialSuccess?.rejectedSpans).toBe(1);
    expect(decoded.partialSuccess?.errorMessage).toContain('invalid trace id "01020304"');
    expect((await storedSpans(ws)).map((s) => s.name).sort()).toEqual(['kept', 'pb kept']);
  });

  it('answers 4xx with a message and stores nothing', async () => {
    const ws = randomWorkspaceId();
    const valid = protobufBody(sdkSpans([{ name: 'never stored' }]));
    const cases: {
      what: string;
      body: Uint8Array | string;
      opts: PostOptions;
      status: number;
      message: RegExp;
    }[] = [
      {
        what: 'text/plain',
        body: 'hello',
        opts: { contentType: 'text/plain' },
        status: 415,
        message: /Unsupported content-type "text\/plain"/,
      },
      {
        what: 'brotli',
        body: valid,
        opts: { headers: { 'content-encoding': 'br' } },
        status: 415,
        message: /Unsupported content-encoding "br"/,
      },
      {
        what: 'malformed JSON',
        body: '{"resourceSpans": [',
        opts: { contentType: 'application/json' },
        status: 400,
        message: /Malformed JSON body/,
      },
      {
        what: 'wrong JSON types',
        body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ attributes: 5 }] }] }] }),
        opts: { contentType: 'application/json' },
        status: 400,
        message: /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.attributes must be an array/,
      },
      {
        what: 'truncated protobuf',
        body: valid.subarray(0, valid.length - 3),
        opts: {},
        status: 400,
        message: /Malformed protobuf body/,
      },
      {
        what: 'invalid gzip',
        body: Buffer.from('not gzip at all'),
        opts: { headers: { 'content-encoding': 'gzip' } },
        status: 400,
        message: /Invalid gzip body/,
      },
      {
        what: 'invalid workspace',
        body: valid,
        opts: { headers: { 'x-cairn-workspace': 'no spaces allowed' } },
        status: 400,
        message: /Invalid x-cairn-workspace header/,
      },
      {
        what: 'gzip bomb above the limit after decompression',
        body: gzipSync(Buffer.alloc(17 * 1024 * 1024, 0x20)),
        opts: { contentType: 'application/json', headers: { 'content-encoding': 'gzip' } },
        status: 413,
        message: /larger than 16777216 bytes \(after decompression\)/,
      },
      {
        what: 'identity body above the limit',
        body: Buffer.alloc(16 * 1024 * 1024 + 1, 0x20),
        opts: { contentType: 'application/json' },
        status: 413,
        message: /larger than 16777216 bytes/,
      },
      {
        what: 'more than 10,000 spans',
        body: JSON.stringify({
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: Array.from({ length: 10_001 }, (_, i) => ({
                    traceId: '0af7651916cd43dd8448eb211c80319c',
                    spanId: (i + 1).toString(16).padStart(16, '0'),
                    name: 's',
                  })),
                },
              ],
            },
          ],
        }),
        opts: { contentType: 'application/json' },
        status: 400,
        message: /More than 10000 spans in one request/,
      },
    ];
    for (const c of cases) {
      const response = await post(c.body, { workspace: ws, ...c.opts });
      expect(response.status, c.what).toBe(c.status);
      if (response.headers.get('content-type') === 'application/x-protobuf') {
        // google.rpc.Status: 1 code, 2 message.
        expect(response.bytes[0], c.what).toBe(0x08);
        expect(response.text, c.what).toMatch(c.message);
      } else {
        const answer = JSON.parse(response.text) as { code: number; message: string };
        expect(answer.message, c.what).toMatch(c.message);
        expect(answer.code, c.what).toBe(c.status === 413 ? 8 : 3);
      }
    }
    expect(await storedEvents(ws)).toEqual([]);
    // The default workspace got nothing either (the invalid-workspace case).
    const inDefault = await api.db
      .selectFrom('events')
      .select('data')
      .where('type', '=', 'SpansIngested')
      .execute();
    expect(JSON.stringify(inDefault)).not.toContain('never stored');
  });

  it('answers 413 to a chunked body (no content-length) that grows past the limit', async () => {
    const ws = randomWorkspaceId();
    const chunk = new Uint8Array(1024 * 1024).fill(0x20);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Stops on its own well after the limit, should the server keep reading.
        if (sent++ < 40) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(`${api.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-cairn-workspace': ws },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    const answer = (await response.json()) as { code: number; message: string };
    expect(answer).toEqual({
      code: 8,
      message:
        'Request body larger than 16777216 bytes (after decompression); send fewer spans per request',
    });
    expect(await storedEvents(ws)).toEqual([]);
  });

  it('answers OPTIONS like the other routes and 405 for GET', async () => {
    const options = await fetch(`${api.url}/v1/traces`, { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('access-control-allow-origin')).toBe('*');
    expect(options.headers.get('access-control-allow-methods')).toBe('POST');
    const get = await fetch(`${api.url}/v1/traces`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, OPTIONS');
  });

  it('masks secrets in span, event and resource attributes before storing', async () => {
    const ws = randomWorkspaceId();
    const openai = 'sk-proj-abcdefghijklmnopqrstuvwxyz012345';
    const anthropic = 'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz-0123456789';
    const spans = sdkSpans(
      [
        {
          name: 'llm call',
          attributes: {
            'http.request.header.authorization': 'Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig',
            'input.value': `my key is ${openai} and ${anthropic}`,
            'llm.tools': [`aws AKIAIOSFODNN7EXAMPLE here`, 'clean'],
          },
          event: { name: 'log', attributes: { message: `leaked ${openai}` } },
        },
      ],
      { 'service.name': 'masked', 'deployment.secret': anthropic },
    );
    expect((await post(protobufBody(spans), { workspace: ws })).status).toBe(200);
    const [event] = await storedEvents(ws);
    const span = event!.data.spans[0]!;
    expect(span.attributes).toEqual({
      'http.request.header.authorization': 'Bearer [REDACTED]',
      'input.value': 'my key is [REDACTED] and [REDACTED]',
      'llm.tools': ['aws [REDACTED] here', 'clean'],
    });
    expect(span.events[0]!.attributes).toEqual({ message: 'leaked [REDACTED]' });
    expect(event!.data.resources[0]).toMatchObject({
      'service.name': 'masked',
      'deployment.secret': '[REDACTED]',
    });
    const raw = JSON.stringify(await storedEvents(ws));
    expect(raw).not.toContain('abcdefghijklmnopqrstuvwxyz012345');
    expect(raw).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });

  it('cuts oversized values to 64 KiB, lists them in cairn.truncated, and repairs NUL', async () => {
    const ws = randomWorkspaceId();
    const spans = sdkSpans([
      {
        name: `${'n'.repeat(2000)}`,
        attributes: {
          'output.value': 'x'.repeat(100_000),
          small: 'with\u0000nul',
          'input.value': 'é'.repeat(40_000),
        },
      },
    ]);
    expect((await post(protobufBody(spans), { workspace: ws })).status).toBe(200);
    const [span] = await storedSpans(ws);
    expect(span!.name).toHaveLength(1024);
    expect(span!.attributes['output.value']).toBe('x'.repeat(65536));
    // 2-byte characters: cut on a character boundary at or below 64 KiB.
    expect(span!.attributes['input.value']).toBe('é'.repeat(32768));
    expect(span!.attributes.small).toBe('with\uFFFDnul');
    expect(span!.attributes['cairn.truncated']).toEqual(['output.value', 'input.value']);
  });

  it('splits a large request into several events of one stream, appended in one transaction', async () => {
    const ws = randomWorkspaceId();
    const roots: SpanSpec[] = Array.from({ length: 40 }, (_, i) => ({
      name: `big-${i}`,
      attributes: { 'output.value': String(i % 10).repeat(60_000) },
    }));
    const spans = sdkSpans(roots);
    expect((await post(protobufBody(spans), { workspace: ws })).status).toBe(200);
    const events = await storedEvents(ws);
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(new Set(events.map((e) => e.stream_id)).size).toBe(1);
    expect(new Set(events.map((e) => e.transaction_id)).size).toBe(1);
    expect(events.map((e) => e.stream_position)).toEqual(events.map((_, i) => i + 1));
    for (const e of events) {
      spansIngestedV1.parse(e.data);
      expect(Buffer.byteLength(JSON.stringify(e.data))).toBeLessThanOrEqual(768 * 1024);
      expect(e.data.batchId).toBe(events[0]!.data.batchId);
      expect(e.data.resources).toHaveLength(1);
    }
    const names = events.flatMap((e) => e.data.spans.map((s) => s.name));
    expect(names.sort()).toEqual(roots.map((r) => r.name).sort());
  });

  it('keeps every acknowledged span exactly once under concurrent ingest from many clients', async () => {
    const ws = randomWorkspaceId();
    const clients = 12;
    const requestsPerClient = 4;
    const acknowledged: string[] = [];
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let r = 0; r < requestsPerClient; r++) {
          const spans = sdkSpans(
            Array.from({ length: 25 }, (_, i) => ({
              name: `c${c}-r${r}-s${i}`,
              attributes: { payload: 'p'.repeat(2000) },
            })),
          );
          const json = r % 2 === 1;
          const response = await post(json ? jsonBody(spans) : protobufBody(spans), {
            workspace: ws,
            contentType: json ? 'application/json' : 'application/x-protobuf',
          });
          expect(response.status).toBe(200);
          for (const s of spans) acknowledged.push(s.spanContext().spanId);
        }
      }),
    );
    const stored = await storedSpans(ws);
    const ids = stored.map((s) => s.spanId);
    expect(ids).toHaveLength(clients * requestsPerClient * 25);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...acknowledged].sort());
    const streams = await api.db
      .selectFrom('streams')
      .select('stream_id')
      .where('workspace_id', '=', ws)
      .execute();
    expect(streams).toHaveLength(clients * requestsPerClient);
  });
});

/** A hand-built ResourceSpans (field 1 of the request) with one span of the given ids. */
function encodeResourceSpansWithSpan(traceId: Buffer, spanId: Buffer, name: string): Buffer {
  const ld = (field: number, bytes: Buffer) =>
    Buffer.concat([Buffer.from([(field << 3) | 2, bytes.length]), bytes]);
  const span = Buffer.concat([ld(1, traceId), ld(2, spanId), ld(5, Buffer.from(name))]);
  const scopeSpans = ld(2, span);
  const resourceSpans = ld(2, scopeSpans);
  return ld(1, resourceSpans);
}
