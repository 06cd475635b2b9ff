/**
 * The tracing API and the batching processor without a network: spans go to an in-memory
 * exporter (OpenTelemetry's own) under a tracer provider passed with `configure`, and the
 * processor's batches to a recording exporter.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ROOT_CONTEXT,
  context as otelContext,
  trace as otelTrace,
  type Context,
  type ContextManager,
  type Span,
} from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import {
  CairnSpanProcessor,
  SpanType,
  configure,
  getCurrentSpan,
  getLastActiveTraceId,
  startSpan,
  trace,
  updateCurrentTrace,
  withSpan,
} from '../src/index.ts';

function inMemory() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  configure({ tracerProvider: provider });
  const spans = () => exporter.getFinishedSpans();
  const byName = (name: string) => {
    const found = spans().find((s) => s.name === name);
    if (!found) throw new Error(`no span ${name}`);
    return found;
  };
  return { spans, byName };
}

afterEach(() => configure({}));

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

describe('trace / withSpan', () => {
  it('nests spans across awaits and concurrent branches into one tree', async () => {
    const { spans, byName } = inMemory();
    const lookup = trace(
      async (city: string) => {
        await tick(5);
        return { city, temp: 21 };
      },
      { name: 'lookup', spanType: SpanType.TOOL },
    );
    const agent = trace(
      async function agent(question: string) {
        const [a, b] = await Promise.all([lookup('Paris'), lookup('Oslo')]);
        const summary = await withSpan('summarise', { spanType: 'chain' }, async (span) => {
          span.setInputs({ a, b });
          await tick(1);
          return `${question}: ${a.temp}/${b.temp}`;
        });
        return summary;
      },
      { spanType: SpanType.AGENT, attributes: { version: 3 } },
    );
    await expect(agent('weather?')).resolves.toBe('weather?: 21/21');
    expect(spans()).toHaveLength(4);
    const root = byName('agent');
    expect(root.parentSpanContext).toBeUndefined();
    for (const s of spans().filter((x) => x !== root)) {
      expect(s.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(s.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    }
    expect(root.attributes).toMatchObject({
      'cairn.span.type': 'AGENT',
      'cairn.span.inputs': '{"question":"weather?"}',
      'cairn.span.outputs': '"weather?: 21/21"',
      version: 3,
    });
    expect(root.status.code).toBe(1);
    expect(byName('summarise').attributes['cairn.span.type']).toBe('CHAIN');
    const tools = spans().filter((s) => s.name === 'lookup');
    expect(tools.map((s) => s.attributes['cairn.span.inputs']).sort()).toEqual([
      '{"city":"Oslo"}',
      '{"city":"Paris"}',
    ]);
    expect(getLastActiveTraceId()).toBe(root.spanContext().traceId);
    expect(getCurrentSpan()).toBeUndefined();
  });

  it('records an exception and error status, and rethrows unchanged (sync and async)', async () => {
    const { byName } = inMemory();
    const error = new RangeError('too far');
    const failSync = trace(
      function failSync() {
        throw error;
      },
      { name: 'sync' },
    );
    expect(() => failSync()).toThrow(error);
    const failAsync = trace(
      async () => {
        await tick();
        throw error;
      },
      { name: 'async' },
    );
    await expect(failAsync()).rejects.toBe(error);
    for (const name of ['sync', 'async']) {
      const span = byName(name);
      expect(span.status).toEqual({ code: 2, message: 'RangeError: too far' });
      expect(span.events).toHaveLength(1);
      expect(span.events[0]!.name).toBe('exception');
      expect(span.events[0]!.attributes).toMatchObject({
        'exception.type': 'RangeError',
        'exception.message': 'too far',
      });
      expect(String(span.events[0]!.attributes!['exception.stacktrace'])).toContain('too far');
      expect(span.attributes).not.toHaveProperty('cairn.span.outputs');
    }
  });

  it('passes `this` through and keeps sync results sync', () => {
    const { byName } = inMemory();
    const counter = {
      n: 40,
      add: trace(
        function add(this: { n: number }, k: number) {
          return this.n + k;
        },
        { spanType: 'TOOL', outputs: (r) => ({ total: r }) },
      ),
    };
    expect(counter.add(2)).toBe(42);
    expect(byName('add').attributes['cairn.span.outputs']).toBe('{"total":42}');
    expect(counter.add.name).toBe('add');
  });

  it('writes updateCurrentTrace fields on the root span when it ends', async () => {
    const { byName } = inMemory();
    await withSpan('root', async () => {
      await withSpan('child', async () => {
        await tick();
        updateCurrentTrace({
          tags: { team: 'search' },
          metadata: { attempt: 2 },
          sessionId: 'chat-17',
          userId: 'ana',
          promptVersions: ['prompts:/qa/3'],
        });
      });
      updateCurrentTrace({ tags: { env: 'test' } });
    });
    expect(byName('root').attributes).toMatchObject({
      'cairn.trace.tags': '{"team":"search","env":"test"}',
      'cairn.trace.metadata': '{"attempt":"2"}',
      'cairn.trace.session_id': 'chat-17',
      'cairn.trace.user_id': 'ana',
      'cairn.trace.prompt_versions': '["prompts:/qa/3"]',
    });
    expect(byName('child').attributes).not.toHaveProperty('cairn.trace.session_id');
  });

  it('startSpan makes a span that is not current; withSpan takes options either side', () => {
    const { byName } = inMemory();
    withSpan(
      'outer',
      (outer) => {
        const manual = startSpan('manual', { inputs: { q: 1 }, spanType: 'RETRIEVER' });
        expect(getCurrentSpan()).toBe(outer);
        expect(manual.parentId).toBe(outer.spanId);
        manual.end({ outputs: ['doc'] });
        manual.end({ outputs: ['ignored'] });
      },
      { spanType: 'CHAIN' },
    );
    expect(byName('manual').attributes).toMatchObject({
      'cairn.span.type': 'RETRIEVER',
      'cairn.span.inputs': '{"q":1}',
      'cairn.span.outputs': '["doc"]',
    });
    expect(byName('outer').attributes['cairn.span.type']).toBe('CHAIN');
  });

  it('traces generators until exhausted, failed or closed; outputs are the yielded values', async () => {
    const { byName, spans } = inMemory();
    const step = trace((n: number) => n * 10, { name: 'step' });
    const numbers = trace(function* numbers(limit: number) {
      for (let i = 1; i <= limit; i++) yield step(i);
      return 'done';
    });
    expect([...numbers(3)]).toEqual([10, 20, 30]);
    const gen = byName('numbers');
    expect(gen.attributes).toMatchObject({
      'cairn.span.inputs': '{"limit":3}',
      'cairn.span.outputs': '[10,20,30]',
    });
    expect(gen.status.code).toBe(1);
    // Work done inside the generator's steps nests under its span.
    const steps = spans().filter((s) => s.name === 'step');
    expect(steps).toHaveLength(3);
    for (const s of steps) expect(s.parentSpanContext?.spanId).toBe(gen.spanContext().spanId);

    let closed = false;
    const ticks = trace(
      async function* ticks() {
        try {
          for (let i = 0; ; i++) {
            await tick();
            yield i;
          }
        } finally {
          closed = true;
        }
      },
      { outputs: (items) => ({ count: items.length }) },
    );
    for await (const i of ticks()) if (i === 2) break;
    expect(closed).toBe(true);
    expect(byName('ticks').attributes['cairn.span.outputs']).toBe('{"count":3}');
    expect(byName('ticks').status.code).toBe(1);

    const broken = trace(async function* broken() {
      yield await Promise.resolve(1);
      throw new Error('half way');
    });
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const v of broken()) seen.push(v);
      })(),
    ).rejects.toThrow('half way');
    expect(seen).toEqual([1]);
    expect(byName('broken').status).toEqual({ code: 2, message: 'Error: half way' });
  });

  it('records nothing when disabled, and still runs the code', async () => {
    const { spans } = inMemory();
    configure({ enabled: false, tracerProvider: new BasicTracerProvider() });
    const f = trace((x: number) => x * 2);
    expect(f(2)).toBe(4);
    await expect(
      withSpan('w', (span) => Promise.resolve(span.setOutputs(1)).then(() => 5)),
    ).resolves.toBe(5);
    expect(spans()).toHaveLength(0);
  });
});

/** The smallest AsyncLocalStorage context manager (what NodeSDK registers), for the OTel tests. */
class AlsContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(context, () => fn.apply(thisArg, args));
  }
  bind<T>(_context: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

describe('with an OpenTelemetry app (a global context manager registered)', () => {
  it('joins the active OTel span, and OTel spans started inside nest under Cairn spans', async () => {
    const { byName } = inMemory();
    const manager = new AlsContextManager();
    expect(otelContext.setGlobalContextManager(manager)).toBe(true);
    try {
      const appTracer = new BasicTracerProvider().getTracer('app');
      const request = appTracer.startSpan('GET /ask');
      let inner: Span | undefined;
      await otelContext.with(otelTrace.setSpan(otelContext.active(), request), () =>
        withSpan('handler', async () => {
          await tick();
          inner = appTracer.startSpan('db.query'); // parent from the active context
          inner.end();
        }),
      );
      request.end();
      const handler = byName('handler');
      expect(handler.spanContext().traceId).toBe(request.spanContext().traceId);
      expect(handler.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      const innerParent = (inner as unknown as { parentSpanContext?: { spanId: string } })
        .parentSpanContext;
      expect(innerParent?.spanId).toBe(handler.spanContext().spanId);
    } finally {
      otelContext.disable();
    }
  });
});

/** Records every batch; each export resolves when the test says so (or at once). */
class RecordingExporter implements SpanExporter {
  batches: string[][] = [];
  private pending: (() => void)[] = [];
  constructor(
    private readonly manual = false,
    private readonly code = ExportResultCode.SUCCESS,
  ) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.batches.push(spans.map((s) => s.name));
    const finish = () => done({ code: this.code });
    if (this.manual) this.pending.push(finish);
    else finish();
  }
  release(): void {
    for (const f of this.pending.splice(0)) f();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function providerWith(processor: CairnSpanProcessor) {
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('t');
  const child = (name: string, parent: Span = tracer.startSpan('parent')) =>
    tracer.startSpan(name, {}, otelTrace.setSpan(ROOT_CONTEXT, parent));
  return { tracer, child };
}

describe('CairnSpanProcessor', () => {
  it('sends child spans in batches of batchSize, and at once when a root span ends', async () => {
    const exporter = new RecordingExporter();
    const processor = new CairnSpanProcessor(exporter, { batchSize: 3, intervalMs: 60_000 });
    const { tracer, child } = providerWith(processor);
    const root = tracer.startSpan('root');
    child('c0', root).end();
    child('c1', root).end();
    await tick();
    expect(exporter.batches).toEqual([]); // below batchSize, not a root: waits for the interval
    // A full batch wakes the sender; once awake it sends everything waiting.
    for (let i = 2; i < 6; i++) child(`c${i}`, root).end();
    await tick();
    expect(exporter.batches).toEqual([
      ['c0', 'c1', 'c2'],
      ['c3', 'c4', 'c5'],
    ]);
    root.end();
    await tick();
    expect(exporter.batches.at(-1)).toEqual(['root']);
    expect(processor.stats()).toEqual({
      pendingSpans: 0,
      exportedSpans: 7,
      failedSpans: 0,
      droppedSpans: 0,
    });
    await processor.shutdown();
  });

  it('wakes on its interval for spans that are not roots', async () => {
    const exporter = new RecordingExporter();
    const processor = new CairnSpanProcessor(exporter, { batchSize: 100, intervalMs: 30 });
    const { child } = providerWith(processor);
    child('lonely').end();
    await tick(5);
    expect(exporter.batches).toEqual([]);
    await tick(80);
    expect(exporter.batches).toEqual([['lonely']]);
    await processor.shutdown();
  });

  it('drops and counts spans beyond maxQueue without blocking; flush waits for the rest', async () => {
    const exporter = new RecordingExporter(true);
    const warnings: string[] = [];
    const processor = new CairnSpanProcessor(exporter, {
      batchSize: 2,
      maxQueue: 5,
      intervalMs: 60_000,
      logger: { warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
    });
    const { child } = providerWith(processor);
    for (let i = 0; i < 9; i++) child(`s${i}`).end();
    expect(processor.stats()).toMatchObject({ pendingSpans: 5, droppedSpans: 4 });
    expect(warnings).toHaveLength(1);
    let flushed = false;
    const flushing = processor.forceFlush().then(() => (flushed = true));
    for (let i = 0; i < 5 && !flushed; i++) {
      await tick();
      exporter.release();
    }
    await flushing;
    expect(exporter.batches).toEqual([['s0', 's1'], ['s2', 's3'], ['s4']]);
    expect(processor.stats()).toEqual({
      pendingSpans: 0,
      exportedSpans: 5,
      failedSpans: 0,
      droppedSpans: 4,
    });
    await processor.shutdown();
  });

  it('counts failed exports and ignores spans after shutdown', async () => {
    const exporter = new RecordingExporter(false, ExportResultCode.FAILED);
    const processor = new CairnSpanProcessor(exporter, { intervalMs: 60_000 });
    const { tracer } = providerWith(processor);
    tracer.startSpan('a').end();
    await processor.forceFlush();
    expect(processor.stats().failedSpans).toBe(1);
    await processor.shutdown();
    tracer.startSpan('late').end();
    expect(processor.stats().pendingSpans).toBe(0);
    expect(exporter.batches).toEqual([['a']]);
  });
});
