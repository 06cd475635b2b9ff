/**
 * Ingest → `traces` projection: spans acknowledged by `POST /v1/traces` become `trace_spans` and
 * `traces` rows. Waits on the projection's stream checkpoint (projection_stream_positions of the
 * request's `span-batch-<id>` stream), never on a sleep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
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

/** Resolves once the `traces` projection applied every event of the workspace's span batches. */
async function waitForTracesProjection(workspace: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const streams = await api.db
      .selectFrom('streams')
      .leftJoin('projection_stream_positions as p', (join) =>
        join
          .onRef('p.workspace_id', '=', 'streams.workspace_id')
          .onRef('p.stream_id', '=', 'streams.stream_id')
          .on('p.projection', '=', 'traces'),
      )
      .select(['streams.version', 'p.position'])
      .where('streams.workspace_id', '=', workspace)
      .where('streams.stream_id', 'like', 'span-batch-%')
      .execute();
    if (streams.length > 0 && streams.every((s) => (s.position ?? 0) >= s.version)) return;
    if (Date.now() > deadline)
      throw new Error(`traces projection did not catch up: ${JSON.stringify(streams)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('ingested spans in the read model', () => {
  it('become trace_spans and traces rows, masked, with their parent links', async () => {
    const ws = randomWorkspaceId();
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'projection-test' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('cairn-test');
    const root = tracer.startSpan('agent', {
      kind: SpanKind.SERVER,
      attributes: { 'input.value': 'question with sk-abcdefghijklmnopqrstuvwxyz0123' },
    });
    const child = tracer.startSpan(
      'chat',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': 10,
          'gen_ai.usage.output_tokens': 5,
        },
      },
      trace.setSpan(context.active(), root),
    );
    child.end();
    root.end();
    const spans = exporter.getFinishedSpans();
    const response = await fetch(`${api.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'x-cairn-workspace': ws },
      body: new Uint8Array(ProtobufTraceSerializer.serializeRequest(spans)!),
    });
    expect(response.status).toBe(200);

    await waitForTracesProjection(ws);
    const traceId = root.spanContext().traceId;
    const rows = await api.db
      .selectFrom('trace_spans')
      .select(['trace_id', 'span_id', 'parent_span_id', 'name', 'kind', 'attributes'])
      .where('workspace_id', '=', ws)
      .orderBy('name')
      .execute();
    expect(rows).toEqual([
      {
        trace_id: traceId,
        span_id: root.spanContext().spanId,
        parent_span_id: null,
        name: 'agent',
        kind: 'SERVER',
        attributes: { 'input.value': 'question with [REDACTED]' },
      },
      {
        trace_id: traceId,
        span_id: child.spanContext().spanId,
        parent_span_id: root.spanContext().spanId,
        name: 'chat',
        kind: 'CLIENT',
        attributes: {
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': 10,
          'gen_ai.usage.output_tokens': 5,
        },
      },
    ]);
    const traces = await api.db
      .selectFrom('traces')
      .select(['trace_id', 'name', 'span_count'])
      .where('workspace_id', '=', ws)
      .execute();
    expect(traces).toEqual([{ trace_id: traceId, name: 'agent', span_count: 2 }]);
  });
});
