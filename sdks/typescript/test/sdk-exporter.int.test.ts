/**
 * `CairnSpanExporter` as a plain OpenTelemetry exporter (BasicTracerProvider +
 * BatchSpanProcessor, no Cairn tracing API) against a real Cairn API, and its HTTP behaviour
 * through a local proxy in front of that API: retries on 503/429 (honouring retry-after), gzip,
 * a refused batch (400) not retried, `partialSuccess` counted, giving up when the server stays
 * away, and shutdown stopping the retries.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ExportResultCode } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from '../../../apps/api/test/helpers/api-harness.ts';
import { CairnSpanExporter, type CairnLogger } from '../src/index.ts';

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

const quiet = (): CairnLogger & { lines: string[] } => {
  const lines: string[] = [];
  return { lines, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
};

interface StoredTrace {
  id: string;
  spanCount: number;
  cost: number | null;
  tokenUsage: { inputTokens: number | null; outputTokens: number | null };
  spans: {
    id: string;
    parentId: string | null;
    name: string;
    kind: string;
    spanType: string;
    model: string | null;
    cost: number | null;
    resource: Record<string, unknown>;
    scope: { name: string; version: string | null } | null;
    attributes: Record<string, unknown>;
  }[];
}

/** Polls GraphQL `trace(id)` until it has `spans` spans (the projection applies in ms). */
async function waitForTrace(
  workspace: string,
  traceId: string,
  spans: number,
): Promise<StoredTrace> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const response = await api.gql<{ trace: StoredTrace | null }>(
      `query($id: ID!) { trace(id: $id) { id spanCount cost tokenUsage { inputTokens outputTokens }
        spans { id parentId name kind spanType model cost resource scope attributes } } }`,
      { id: traceId },
      { 'x-cairn-workspace': workspace },
    );
    expect(response.errors).toBeUndefined();
    const found = response.data?.trace;
    if (found && found.spanCount >= spans) return found;
    if (Date.now() > deadline)
      throw new Error(`trace ${traceId} has ${found?.spanCount ?? 0} spans`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A local HTTP server in front of the API: answers the first requests from `script` itself
 * (a status, headers, body), forwards the rest to the API; records every request. */
async function startProxy(
  script: { status: number; headers?: Record<string, string>; body?: string }[],
) {
  const seen: { headers: IncomingHttpHeaders; body: Buffer }[] = [];
  const target = new URL(api.url);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ headers: req.headers, body });
      const scripted = script.shift();
      if (scripted) {
        res.writeHead(scripted.status, { 'content-type': 'application/json', ...scripted.headers });
        res.end(scripted.body ?? '{"code":14,"message":"busy"}');
        return;
      }
      // The proxy checks the API key (seen); the harness has no keys (auth resolves them since
      // 02bf1df: an unknown key is refused), so it is not forwarded.
      const { authorization: _checkedHere, ...forwarded } = req.headers;
      const forward = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: { ...forwarded, host: target.host },
        },
        (upstream) => {
          res.writeHead(upstream.statusCode ?? 502, upstream.headers);
          upstream.pipe(res);
        },
      );
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A plain OTel provider exporting through `exporter`; one trace: a server span with an LLM child. */
function sendTrace(exporter: CairnSpanExporter, extra: Record<string, string> = {}) {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'otel-app' }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 10 })],
  });
  const tracer = provider.getTracer('my-instrumentation', '2.0.0');
  const root = tracer.startSpan('POST /ask', { kind: SpanKind.SERVER, attributes: extra });
  const child = tracer.startSpan(
    'chat gpt-4o-mini',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.usage.input_tokens': 2000,
        'gen_ai.usage.output_tokens': 100,
      },
    },
    trace.setSpan(context.active(), root),
  );
  child.end();
  root.end();
  return { provider, traceId: root.spanContext().traceId, rootId: root.spanContext().spanId };
}

describe('CairnSpanExporter under a plain OpenTelemetry BasicTracerProvider', () => {
  it('exports spans the server stores as a priced tree', async () => {
    const workspace = randomWorkspaceId();
    const exporter = new CairnSpanExporter({ trackingUri: api.url, workspace, logger: quiet() });
    const { provider, traceId, rootId } = sendTrace(exporter);
    await provider.forceFlush();
    const stored = await waitForTrace(workspace, traceId, 2);
    const chat = stored.spans.find((s) => s.name === 'chat gpt-4o-mini')!;
    const root = stored.spans.find((s) => s.name === 'POST /ask')!;
    expect(root).toMatchObject({ id: rootId, parentId: null, kind: 'SERVER' });
    expect(chat).toMatchObject({
      parentId: rootId,
      kind: 'CLIENT',
      spanType: 'CHAT_MODEL',
      model: 'gpt-4o-mini',
    });
    expect(chat.resource['service.name']).toBe('otel-app');
    expect(chat.scope).toEqual({ name: 'my-instrumentation', version: '2.0.0' });
    expect(chat.cost).toBeCloseTo(2000 * 0.15e-6 + 100 * 0.6e-6, 12);
    expect(stored.tokenUsage).toEqual({ inputTokens: 2000, outputTokens: 100 });
    expect(exporter.stats()).toEqual({
      sentSpans: 2,
      rejectedSpans: 0,
      failedSpans: 0,
      requests: 1,
      retries: 0,
    });
    await provider.shutdown();
  });
});

describe('CairnSpanExporter over HTTP', () => {
  it('retries 503 and 429 with backoff (honouring retry-after), gzips, and then delivers', async () => {
    const workspace = randomWorkspaceId();
    const proxy = await startProxy([
      { status: 503, headers: { 'retry-after': '0' } },
      { status: 429 },
      { status: 502 },
    ]);
    const logger = quiet();
    const exporter = new CairnSpanExporter({
      trackingUri: proxy.url,
      workspace,
      apiKey: 'key-123',
      backoffInitialMs: 20,
      logger,
    });
    // A long attribute so that the body is gzipped.
    const { provider, traceId } = sendTrace(exporter, { note: 'n'.repeat(4096) });
    await provider.forceFlush();
    await waitForTrace(workspace, traceId, 2);
    expect(exporter.stats()).toEqual({
      sentSpans: 2,
      rejectedSpans: 0,
      failedSpans: 0,
      requests: 4,
      retries: 3,
    });
    expect(proxy.seen).toHaveLength(4);
    for (const { headers, body } of proxy.seen) {
      expect(headers['content-type']).toBe('application/json');
      expect(headers['content-encoding']).toBe('gzip');
      expect(headers['x-cairn-workspace']).toBe(workspace);
      expect(headers.authorization).toBe('Bearer key-123');
      const request = JSON.parse(gunzipSync(body).toString()) as { resourceSpans: unknown[] };
      expect(request.resourceSpans).toHaveLength(1);
    }
    expect(logger.lines.some((l) => l.includes('HTTP 503') && l.includes('retrying'))).toBe(true);
    await provider.shutdown();
    await proxy.close();
  });

  it('does not retry a refused batch (400) and counts it as rejected', async () => {
    const proxy = await startProxy([{ status: 400, body: '{"code":3,"message":"Malformed"}' }]);
    const logger = quiet();
    const exporter = new CairnSpanExporter({
      trackingUri: proxy.url,
      backoffInitialMs: 10,
      logger,
    });
    const { provider } = sendTrace(exporter);
    // BatchSpanProcessor reports a failed export as a rejected flush (the provider: a list).
    await expect(provider.forceFlush()).rejects.toEqual([
      expect.objectContaining({ message: expect.stringMatching(/not exported/) as unknown }),
    ]);
    expect(exporter.stats()).toEqual({
      sentSpans: 0,
      rejectedSpans: 2,
      failedSpans: 0,
      requests: 1,
      retries: 0,
    });
    expect(logger.lines.join('\n')).toMatch(/refused 2 span\(s\) \(HTTP 400\).*Malformed/);
    await provider.shutdown();
    await proxy.close();
  });

  it('counts partialSuccess rejections', async () => {
    const proxy = await startProxy([
      {
        status: 200,
        body: '{"partialSuccess":{"rejectedSpans":"1","errorMessage":"span id is all zero"}}',
      },
    ]);
    const logger = quiet();
    const exporter = new CairnSpanExporter({ trackingUri: proxy.url, logger });
    const { provider } = sendTrace(exporter);
    await provider.forceFlush();
    expect(exporter.stats()).toMatchObject({ sentSpans: 1, rejectedSpans: 1, requests: 1 });
    expect(logger.lines.join('\n')).toContain('span id is all zero');
    await provider.shutdown();
    await proxy.close();
  });

  it('gives up after retryTimeoutMs when nothing answers, and shutdown stops retrying', async () => {
    // A port nobody listens on: a server that is started and stopped again.
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const { port } = gone.address() as AddressInfo;
    await new Promise<void>((resolve) => gone.close(() => resolve()));

    const logger = quiet();
    const exporter = new CairnSpanExporter({
      trackingUri: `http://127.0.0.1:${port}`,
      retryTimeoutMs: 300,
      backoffInitialMs: 20,
      logger,
    });
    const { provider } = sendTrace(exporter);
    const started = Date.now();
    await expect(provider.forceFlush()).rejects.toEqual([
      expect.objectContaining({ message: expect.stringMatching(/not exported/) as unknown }),
    ]);
    expect(Date.now() - started).toBeLessThan(5_000);
    const stats = exporter.stats();
    expect(stats).toMatchObject({ sentSpans: 0, failedSpans: 2 });
    expect(stats.retries).toBeGreaterThan(0);
    expect(logger.lines.join('\n')).toMatch(/2 span\(s\) were not exported after \d+ attempt/);
    await provider.shutdown();

    const patient = new CairnSpanExporter({
      trackingUri: `http://127.0.0.1:${port}`,
      retryTimeoutMs: 60_000,
      backoffInitialMs: 5_000,
      logger: quiet(),
    });
    const results: number[] = [];
    // Hand one span over directly, then shut the exporter down while it waits to retry.
    const span = new BasicTracerProvider().getTracer('direct').startSpan('direct');
    span.end();
    const exporting = new Promise<void>((resolve) => {
      patient.export([span as unknown as ReadableSpan], (r) => {
        results.push(r.code);
        resolve();
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopAt = Date.now();
    await patient.shutdown();
    await exporting;
    expect(Date.now() - stopAt).toBeLessThan(2_000);
    expect(results).toEqual([ExportResultCode.FAILED]);
    expect(patient.stats()).toMatchObject({ failedSpans: 1, sentSpans: 0 });
    let after: ExportResultCode | undefined;
    patient.export([], (r) => (after = r.code));
    expect(after).toBe(ExportResultCode.FAILED);
  });
});
