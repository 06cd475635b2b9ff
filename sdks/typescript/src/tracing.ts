/**
 * The tracing API: `trace(fn)`, `withSpan(name, fn)`, `startSpan`, the current span
 * (AsyncLocalStorage, so nested calls form a tree across awaits), `updateCurrentTrace`,
 * `configure`, `flush`, `shutdown`, `getTrace`. Spans are OpenTelemetry spans of a private
 * tracer provider (never the global one unless you pass it), exported in the background by a
 * `CairnSpanProcessor` + `CairnSpanExporter` to `<trackingUri>/v1/traces`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  SpanKind,
  context as otelContext,
  trace as otelTrace,
  type Context,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import {
  TRACE_ENVIRONMENT,
  TRACE_MODEL_VERSION,
  TRACE_PROMPT_VERSIONS,
  TRACE_RUN_ID,
  TRACE_SESSION,
  TRACE_USER,
  type SpanTypeName,
} from './attributes.ts';
import {
  consoleLogger,
  envBool,
  envResourceAttributes,
  resolveExporterOptions,
  resolveTrackingUri,
  serviceName,
  traceEnvironment,
  type CairnLogger,
  type ExporterOptions,
  type ProcessorOptions,
} from './config.ts';
import { CairnSpanExporter } from './exporter.ts';
import { bindInputs, parameters } from './inputs.ts';
import { dumps } from './json.ts';
import { MAX_ATTRIBUTE_CHARS } from './otlp.ts';
import { CairnSpanProcessor } from './processor.ts';
import { setPromptTraceLinker } from './prompts.ts';
import { LiveSpan, TraceState } from './span.ts';
import { VERSION } from './version.ts';

export interface CairnOptions extends ExporterOptions, ProcessorOptions {
  /** false: no spans at all (env `CAIRN_TRACING_ENABLED`, default true). */
  enabled?: boolean;
  /** Make Cairn's spans with this OpenTelemetry tracer provider (e.g. your NodeTracerProvider,
   * with a `CairnSpanExporter` among its processors) instead of Cairn's own private one. */
  tracerProvider?: TracerProvider;
  /** Resource attributes added to Cairn's own provider (`service.name` defaults to env
   * `OTEL_SERVICE_NAME`, else the script's file name). */
  resourceAttributes?: Record<string, string | number | boolean>;
}

export interface SpanOptions {
  /** One of `SpanType` (default UNKNOWN). */
  spanType?: SpanTypeName;
  attributes?: Record<string, unknown>;
}

/** What `outputs` receives: the yielded values of a generator, else the awaited result. */
export type YieldedOrResult<R> =
  R extends Generator<infer Y, unknown, unknown>
    ? Y[]
    : R extends AsyncGenerator<infer Y, unknown, unknown>
      ? Y[]
      : Awaited<R>;

export interface TraceOptions<A extends unknown[] = unknown[], R = unknown> extends SpanOptions {
  /** Span name (default: the function's name, else `span`). */
  name?: string;
  /** The inputs to record for a call (default: the arguments by parameter name). */
  inputs?: (...args: A) => unknown;
  /** The outputs to record for a result (default: the (awaited) return value; for a generator
   * function, the list of values it yielded). */
  outputs?: (result: YieldedOrResult<R>) => unknown;
}

export interface StartSpanOptions extends SpanOptions {
  /** Parent span (default: the current span, else a new trace). */
  parent?: LiveSpan;
  inputs?: unknown;
  /** @internal OTel span kind (CLIENT for LLM calls). */
  kind?: SpanKind;
}

interface Pipeline {
  tracer: Tracer;
  flush: (timeoutMs: number) => Promise<boolean>;
  shutdown: () => Promise<void>;
  /** Sends what waits now (a root span ended). */
  wake: () => void;
  processor?: CairnSpanProcessor;
}

const current = new AsyncLocalStorage<LiveSpan>();
let options: CairnOptions = {};
let pipeline: Pipeline | undefined;
const retiring = new Set<Promise<void>>();
let lastTraceId: string | undefined;
/** Spans ended per trace id (the latest 1,000 traces), so getTrace knows when it has them all. */
const endedCounts = new Map<string, number>();

function logger(): CairnLogger {
  return options.logger ?? consoleLogger;
}

/**
 * Sets where and how spans go. Unset fields fall back to the environment (`CAIRN_TRACKING_URI`,
 * `CAIRN_WORKSPACE`, `CAIRN_API_KEY`, …) and the defaults (http://127.0.0.1:4680). Replaces
 * earlier settings; spans already ended are still exported by the previous exporter.
 */
export function configure(next: CairnOptions = {}): void {
  options = { ...next };
  retire();
}

function retire(): void {
  const old = pipeline;
  pipeline = undefined;
  if (!old) return;
  const done = old
    .shutdown()
    .catch((error: unknown) => logger().error(`shutdown failed: ${String(error)}`));
  retiring.add(done);
  void done.finally(() => retiring.delete(done));
}

export function isEnabled(): boolean {
  return options.enabled ?? envBool('CAIRN_TRACING_ENABLED', true);
}

function getPipeline(): Pipeline {
  if (pipeline) return pipeline;
  if (options.tracerProvider) {
    const provider = options.tracerProvider as TracerProvider & {
      forceFlush?: () => Promise<void>;
    };
    pipeline = {
      tracer: provider.getTracer('cairn', VERSION),
      flush: async () => {
        await provider.forceFlush?.();
        return true;
      },
      shutdown: () => Promise.resolve(),
      wake: () => undefined,
    };
    return pipeline;
  }
  const exporter = new CairnSpanExporter(options);
  const processor = new CairnSpanProcessor(exporter, options);
  const environment = traceEnvironment();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': serviceName(),
      'telemetry.sdk.name': 'cairn',
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.version': VERSION,
      'process.runtime.name': 'nodejs',
      'process.runtime.version': process.versions.node,
      'process.pid': process.pid,
      ...(environment ? { 'deployment.environment.name': environment } : {}),
      ...envResourceAttributes(),
      ...options.resourceAttributes,
    }),
    sampler: new AlwaysOnSampler(),
    spanProcessors: [processor],
    spanLimits: {
      attributeCountLimit: 512,
      attributeValueLengthLimit: MAX_ATTRIBUTE_CHARS,
      eventCountLimit: 256,
      linkCountLimit: 128,
    },
  });
  pipeline = {
    tracer: provider.getTracer('cairn', VERSION),
    flush: (timeoutMs) => processor.flushWithin(timeoutMs),
    shutdown: () => provider.shutdown(),
    wake: () => processor.wake(),
    processor,
  };
  return pipeline;
}

/** The exporter and processor of Cairn's own provider (counters for tests and diagnostics);
 * undefined before the first span or with a `tracerProvider` of yours. */
export function getExportPipeline():
  { processor: CairnSpanProcessor; exporter: CairnSpanExporter } | undefined {
  const processor = pipeline?.processor;
  return processor ? { processor, exporter: processor.exporter as CairnSpanExporter } : undefined;
}

function spanEnded(span: LiveSpan): void {
  endedCounts.set(span.traceId, (endedCounts.get(span.traceId) ?? 0) + 1);
  if (endedCounts.size > 1000) {
    const oldest = endedCounts.keys().next().value;
    if (oldest !== undefined) endedCounts.delete(oldest);
  }
  if (span.trace.root === span) {
    lastTraceId = span.traceId;
    pipeline?.wake();
  }
}

function noopSpan(name: string): LiveSpan {
  const otelSpan = otelTrace.wrapSpanContext(INVALID_SPAN_CONTEXT);
  return new LiveSpan(
    otelSpan,
    name,
    new TraceState(INVALID_SPAN_CONTEXT.traceId),
    undefined,
    undefined,
    () => undefined,
  );
}

/** A new span under `parent`, the current Cairn span, the active OpenTelemetry span (your
 * OTel-instrumented request, when a context manager is registered), or a new trace. */
function newSpan(name: string, opts: StartSpanOptions): LiveSpan {
  if (!isEnabled()) return noopSpan(name);
  try {
    const parent = opts.parent ?? current.getStore();
    const tracer = getPipeline().tracer;
    let parentContext: Context;
    let parentId: string | undefined;
    let state: TraceState | undefined;
    if (parent && parent.traceId !== INVALID_SPAN_CONTEXT.traceId) {
      parentContext = otelTrace.setSpan(ROOT_CONTEXT, parent.otelSpan);
      parentId = parent.spanId;
      state = parent.trace;
    } else {
      const active = otelTrace.getSpan(otelContext.active());
      const activeContext = active?.spanContext();
      if (activeContext && otelTrace.isSpanContextValid(activeContext)) {
        parentContext = otelContext.active();
        parentId = activeContext.spanId;
      } else parentContext = ROOT_CONTEXT;
    }
    const otelSpan = tracer.startSpan(
      name,
      { kind: opts.kind ?? SpanKind.INTERNAL },
      parentContext,
    );
    const traceState = state ?? new TraceState(otelSpan.spanContext().traceId);
    const span = new LiveSpan(otelSpan, name, traceState, parentId, opts.spanType, spanEnded);
    if (!state) {
      traceState.root = span;
      const environment = traceEnvironment();
      if (environment) traceState.fields[TRACE_ENVIRONMENT] = environment;
    }
    if (opts.attributes) span.setAttributes(opts.attributes);
    if (opts.inputs !== undefined) span.setInputs(opts.inputs);
    return span;
  } catch (error) {
    logger().warn(`could not start span ${JSON.stringify(name)}: ${String(error)}`);
    return noopSpan(name);
  }
}

/** Runs `fn` with `span` as the current span (Cairn's, and OpenTelemetry's active span when
 * your app registered a context manager). */
function runInSpan<T>(span: LiveSpan, fn: () => T): T {
  return current.run(span, () =>
    otelContext.with(otelTrace.setSpan(otelContext.active(), span.otelSpan), fn),
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function finish(span: LiveSpan, error: unknown, failed: boolean, outputs?: () => unknown): void {
  try {
    if (failed) span.recordException(error);
    else if (outputs && !span.outputsSet) {
      const value = outputs();
      if (value !== undefined) span.setOutputs(value);
    }
  } catch (e) {
    logger().warn(`could not record the outputs of ${JSON.stringify(span.name)}: ${String(e)}`);
  }
  try {
    span.end();
  } catch (e) {
    logger().warn(`could not end span ${JSON.stringify(span.name)}: ${String(e)}`);
  }
}

/**
 * Runs `body(span)` inside a span that ends when it returns (or, for a promise, settles).
 * The span is current inside, so spans started there are its children.
 */
function runSpan<T>(
  span: LiveSpan,
  body: (span: LiveSpan) => T,
  outputs?: (result: unknown) => unknown,
): T {
  let result: T;
  try {
    result = runInSpan(span, () => body(span));
  } catch (error) {
    finish(span, error, true);
    throw error;
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (value) => {
        finish(span, undefined, false, () => (outputs ? outputs(value) : value));
        return value;
      },
      (error: unknown) => {
        finish(span, error, true);
        throw error;
      },
    ) as T;
  }
  finish(span, undefined, false, () => (outputs ? outputs(result) : result));
  return result;
}

/** A generator that records `inner`'s run as `span`: each step runs with the span current, the
 * span ends when the generator finishes, fails or is closed early; outputs: the yielded values. */
function* traceGenerator(
  span: LiveSpan,
  inner: Generator<unknown, unknown, unknown>,
  reduce: (items: unknown[]) => unknown,
): Generator<unknown, unknown, unknown> {
  const items: unknown[] = [];
  let settled = false;
  let failed = false;
  let error: unknown;
  try {
    let step = runInSpan(span, () => inner.next());
    while (!step.done) {
      items.push(step.value);
      let sent: unknown;
      let thrown: { error: unknown } | undefined;
      try {
        sent = yield step.value;
      } catch (e) {
        thrown = { error: e };
      }
      step = runInSpan(span, () => (thrown ? inner.throw(thrown.error) : inner.next(sent)));
    }
    settled = true;
    return step.value;
  } catch (e) {
    settled = true;
    failed = true;
    error = e;
    throw e;
  } finally {
    if (!settled) {
      // closed early by the consumer (`break`, `return()`): close the inner generator too
      try {
        runInSpan(span, () => inner.return(undefined));
      } catch (e) {
        failed = true;
        error = e;
      }
    }
    finish(span, error, failed, () => reduce(items));
  }
}

async function* traceAsyncGenerator(
  span: LiveSpan,
  inner: AsyncGenerator<unknown, unknown, unknown>,
  reduce: (items: unknown[]) => unknown,
): AsyncGenerator<unknown, unknown, unknown> {
  const items: unknown[] = [];
  let settled = false;
  let failed = false;
  let error: unknown;
  try {
    let step = await runInSpan(span, () => inner.next());
    while (!step.done) {
      items.push(step.value);
      let sent: unknown;
      let thrown: { error: unknown } | undefined;
      try {
        sent = yield step.value;
      } catch (e) {
        thrown = { error: e };
      }
      step = await runInSpan(span, () => (thrown ? inner.throw(thrown.error) : inner.next(sent)));
    }
    settled = true;
    return step.value;
  } catch (e) {
    settled = true;
    failed = true;
    error = e;
    throw e;
  } finally {
    if (!settled) {
      try {
        await runInSpan(span, () => inner.return(undefined));
      } catch (e) {
        failed = true;
        error = e;
      }
    }
    finish(span, error, failed, () => reduce(items));
  }
}

/**
 * Traces a function: each call is a span (named after the function, or `name`) whose inputs
 * are the arguments by parameter name and outputs the return value (awaited for a promise).
 * An exception (or a rejected promise) sets status ERROR, adds an `exception` event and
 * propagates unchanged. `this` is passed through, so methods can be traced too. A generator
 * function (sync or async) returns a generator whose span lasts until it is exhausted, fails or
 * is closed; its outputs are the yielded values.
 */
export function trace<A extends unknown[], R>(
  fn: (...args: A) => R,
  opts: TraceOptions<A, R> = {},
): (...args: A) => R {
  const name = opts.name ?? (fn.name || 'span');
  const tag = Object.prototype.toString.call(fn);
  const generatorKind =
    tag === '[object GeneratorFunction]'
      ? 'sync'
      : tag === '[object AsyncGeneratorFunction]'
        ? 'async'
        : undefined;
  let params: ReturnType<typeof parameters>;
  let parsed = false;
  const traced = function (this: unknown, ...args: A): R {
    if (!isEnabled()) return fn.apply(this, args);
    const span = newSpan(name, opts);
    try {
      if (opts.inputs) span.setInputs(opts.inputs(...args));
      else {
        if (!parsed) {
          params = parameters(fn);
          parsed = true;
        }
        span.setInputs(bindInputs(params, args));
      }
    } catch (error) {
      logger().warn(`could not record the inputs of ${JSON.stringify(name)}: ${String(error)}`);
    }
    const outputs = opts.outputs as ((result: unknown) => unknown) | undefined;
    if (generatorKind !== undefined) {
      let generator: R;
      try {
        generator = runInSpan(span, () => fn.apply(this, args)); // runs none of its body yet
      } catch (error) {
        finish(span, error, true);
        throw error;
      }
      const reduce = (items: unknown[]) => (outputs ? outputs(items) : items);
      return (
        generatorKind === 'sync'
          ? traceGenerator(span, generator as Generator<unknown, unknown, unknown>, reduce)
          : traceAsyncGenerator(
              span,
              generator as AsyncGenerator<unknown, unknown, unknown>,
              reduce,
            )
      ) as R;
    }
    return runSpan(span, () => fn.apply(this, args), outputs);
  };
  Object.defineProperty(traced, 'name', { value: fn.name, configurable: true });
  return traced;
}

/**
 * Runs `fn(span)` inside a new span: `withSpan('retrieve', async (span) => …)` or
 * `withSpan('retrieve', { spanType: 'RETRIEVER' }, (span) => …)`. The span is current inside
 * `fn`; it ends when `fn` returns or its promise settles (status OK, or ERROR with an
 * `exception` event when it threw). The return value is recorded as outputs unless `fn` called
 * `span.setOutputs` (or returned undefined).
 */
export function withSpan<T>(name: string, fn: (span: LiveSpan) => T, opts?: SpanOptions): T;
export function withSpan<T>(name: string, opts: SpanOptions, fn: (span: LiveSpan) => T): T;
export function withSpan<T>(
  name: string,
  a: ((span: LiveSpan) => T) | SpanOptions,
  b?: ((span: LiveSpan) => T) | SpanOptions,
): T {
  const fn = (typeof a === 'function' ? a : b) as (span: LiveSpan) => T;
  const opts = (typeof a === 'function' ? b : a) as SpanOptions | undefined;
  if (typeof fn !== 'function') throw new TypeError('withSpan(name, fn) needs a function');
  return runSpan(newSpan(name, opts ?? {}), fn);
}

/** A span that is not made current; end it with `span.end()`. Its parent is `opts.parent`, else
 * the current span, else it starts a new trace. */
export function startSpan(name: string, opts: StartSpanOptions = {}): LiveSpan {
  return newSpan(name, opts);
}

/** The span of the innermost `trace`d call or `withSpan`, or undefined. */
export function getCurrentSpan(): LiveSpan | undefined {
  return current.getStore();
}

/** The trace id of the last trace whose root span ended in this process. */
export function getLastActiveTraceId(): string | undefined {
  return lastTraceId;
}

export interface TraceUpdate {
  tags?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  sessionId?: string;
  userId?: string;
  environment?: string;
  /** `models:/name/3` or `name/3`. */
  modelVersion?: string;
  /** `prompts:/name/3`, … */
  promptVersions?: string[];
  runId?: string;
}

/** Sets trace-level fields of the current trace (written on its root span when it ends); tags
 * and metadata merge with earlier calls. Outside a trace it does nothing (with a warning). */
export function updateCurrentTrace(update: TraceUpdate): void {
  const span = current.getStore();
  if (!span) {
    logger().warn('updateCurrentTrace() outside a trace (no current span): ignored');
    return;
  }
  const state = span.trace;
  for (const [key, value] of Object.entries(update.tags ?? {}))
    state.tags[key] = typeof value === 'string' ? value : dumps(value);
  for (const [key, value] of Object.entries(update.metadata ?? {}))
    state.metadata[key] = typeof value === 'string' ? value : dumps(value);
  const fields: [string, string | undefined][] = [
    [TRACE_SESSION, update.sessionId],
    [TRACE_USER, update.userId],
    [TRACE_ENVIRONMENT, update.environment],
    [TRACE_MODEL_VERSION, update.modelVersion],
    [TRACE_RUN_ID, update.runId],
  ];
  for (const [key, value] of fields)
    if (value !== undefined && value !== null) state.fields[key] = String(value);
  if (update.promptVersions)
    state.fields[TRACE_PROMPT_VERSIONS] = JSON.stringify(update.promptVersions);
  // The root is not in this process or already ended: carry them on this span.
  if (!state.root || state.root.isEnded) span.setAttributes(state.attributes());
}

/** Adds a formatted prompt version to the current trace's `cairn.trace.prompt_versions`
 * (`PromptVersion.format` calls it through prompts.ts); false outside a trace. */
function linkPromptVersion(uri: string): boolean {
  const span = current.getStore();
  if (!span) return false;
  let linked: string[] = [];
  const raw = span.trace.fields[TRACE_PROMPT_VERSIONS];
  if (raw !== undefined) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (Array.isArray(parsed)) linked = parsed.map(String);
    } catch {
      linked = [];
    }
  }
  if (!linked.includes(uri)) updateCurrentTrace({ promptVersions: [...linked, uri] });
  return true;
}
setPromptTraceLinker(linkPromptVersion);

/** Waits until every span that ended before the call was exported (or given up on); false when
 * `timeoutMs` (default 30 s) passed first. Call it before reading traces back. */
export async function flush(timeoutMs = 30_000): Promise<boolean> {
  const waits: Promise<unknown>[] = [...retiring];
  const ok = pipeline ? pipeline.flush(timeoutMs) : Promise.resolve(true);
  const [result] = await Promise.all([ok, ...waits]);
  return result;
}

/** Flushes and stops the exporter (at the end of a script or a serverless handler). A span
 * started later sets up a new one. */
export async function shutdown(): Promise<void> {
  retire();
  await Promise.all([...retiring]);
}

const TRACE_FIELDS = `
  id name status startTime endTime durationMs inputs outputs sessionId userId environment
  runId modelVersion promptVersions spanCount errorCount cost
  tags { key value } metadata { key value }
  tokenUsage { inputTokens outputTokens totalTokens cachedTokens reasoningTokens }`;
const SPAN_FIELDS = `
  id traceId parentId name kind spanType startTimeUnixNano endTimeUnixNano durationMs
  status { code message } inputs outputs attributes events { name timeUnixNano attributes }
  model provider cost
  tokenUsage { inputTokens outputTokens totalTokens cachedTokens reasoningTokens }`;
const GET_TRACE = `query CairnTrace($id: ID!) { trace(id: $id) { ${TRACE_FIELDS} spans { ${SPAN_FIELDS} } } }`;

export interface TokenUsage {
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  cachedTokens: number | null;
  reasoningTokens: number | null;
}

export interface TraceSpanView {
  id: string;
  traceId: string;
  parentId: string | null;
  name: string;
  kind: string;
  spanType: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string | null;
  durationMs: number | null;
  status: { code: string; message: string | null };
  inputs: unknown;
  outputs: unknown;
  attributes: Record<string, unknown>;
  events: { name: string; timeUnixNano: string; attributes: Record<string, unknown> }[];
  model: string | null;
  provider: string | null;
  cost: number | null;
  tokenUsage: TokenUsage | null;
}

export interface TraceView {
  id: string;
  name: string;
  status: string;
  startTime: number;
  endTime: number | null;
  durationMs: number | null;
  inputs: unknown;
  outputs: unknown;
  sessionId: string | null;
  userId: string | null;
  environment: string | null;
  runId: string | null;
  modelVersion: string | null;
  promptVersions: string[];
  spanCount: number;
  errorCount: number;
  cost: number | null;
  tags: { key: string; value: string }[];
  metadata: { key: string; value: string }[];
  tokenUsage: TokenUsage;
  spans: TraceSpanView[];
}

/**
 * The trace as the server has it (GraphQL `trace(id)`), or null. Exports what is queued first
 * and waits (up to `timeoutMs`, default 10 s) until the server has every span this process
 * ended for the trace.
 */
export async function getTrace(traceId: string, timeoutMs = 10_000): Promise<TraceView | null> {
  await flush(timeoutMs);
  const expected = endedCounts.get(traceId) ?? 0;
  const resolved = resolveExporterOptions(options);
  const url = `${resolveTrackingUri(options.trackingUri)}/graphql`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        ...resolved.headers,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify({ query: GET_TRACE, variables: { id: traceId } }),
    });
    const payload = (await response.json()) as {
      data?: { trace: TraceView | null } | null;
      errors?: { message: string }[];
    };
    if (payload.errors?.length) throw new Error(`trace(${traceId}): ${payload.errors[0]!.message}`);
    const found = payload.data?.trace ?? null;
    const complete = found !== null && found.name !== '' && found.spanCount >= expected;
    if (complete || Date.now() >= deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
