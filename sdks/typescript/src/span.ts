/**
 * `LiveSpan`: a span being recorded, as the tracing API hands it to your code. It wraps an
 * OpenTelemetry span and writes Cairn's attributes on it (`cairn.span.type`,
 * `cairn.span.inputs`/`outputs` as JSON); the same model as the Python SDK's `LiveSpan`.
 */
import {
  SpanStatusCode,
  type Attributes,
  type AttributeValue,
  type Span as OtelSpan,
} from '@opentelemetry/api';
import {
  SPAN_INPUTS,
  SPAN_OUTPUTS,
  SPAN_TYPE,
  TRACE_METADATA,
  TRACE_TAGS,
  spanTypeName,
  type SpanTypeName,
} from './attributes.ts';
import { dumps } from './json.ts';

export type StatusName = 'UNSET' | 'OK' | 'ERROR';

/** What the spans of one in-process trace share: the trace-level fields set with
 * `updateCurrentTrace`, written on the root span when it ends. */
export class TraceState {
  readonly tags: Record<string, string> = {};
  readonly metadata: Record<string, string> = {};
  readonly fields: Record<string, string> = {};
  root: LiveSpan | undefined;

  constructor(readonly traceId: string) {}

  attributes(): Attributes {
    const out: Attributes = { ...this.fields };
    if (Object.keys(this.tags).length > 0) out[TRACE_TAGS] = JSON.stringify(this.tags);
    if (Object.keys(this.metadata).length > 0) out[TRACE_METADATA] = JSON.stringify(this.metadata);
    return out;
  }
}

/** Attribute values are strings, numbers, booleans or arrays of one of those; anything else is
 * stored as its JSON (as the Python SDK does). */
export function attributeValue(value: unknown): AttributeValue | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return value;
    if (value.every((v) => typeof v === 'number')) return value;
    if (value.every((v) => typeof v === 'boolean')) return value;
  }
  return dumps(value);
}

export interface SpanEndOptions {
  outputs?: unknown;
  attributes?: Record<string, unknown>;
  status?: StatusName;
}

export class LiveSpan {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentId: string | undefined;
  private type: string;
  private ended = false;
  private statusCode: StatusName = 'UNSET';
  private inputs: unknown;
  private outputs: unknown;
  private hasOutputs = false;

  /** @internal */
  constructor(
    /** The OpenTelemetry span underneath (add links, read its context, …). */
    readonly otelSpan: OtelSpan,
    name: string,
    /** @internal */
    readonly trace: TraceState,
    parentId: string | undefined,
    spanType: string | undefined,
    private readonly onEnd: (span: LiveSpan) => void,
  ) {
    const context = otelSpan.spanContext();
    this.name = name;
    this.traceId = context.traceId;
    this.spanId = context.spanId;
    this.parentId = parentId;
    this.type = spanTypeName(spanType);
    otelSpan.setAttribute(SPAN_TYPE, this.type);
  }

  get spanType(): string {
    return this.type;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  get status(): StatusName {
    return this.statusCode;
  }

  /** Whether `setOutputs` was called. */
  get outputsSet(): boolean {
    return this.hasOutputs;
  }

  getInputs(): unknown {
    return this.inputs;
  }

  getOutputs(): unknown {
    return this.outputs;
  }

  setSpanType(spanType: SpanTypeName): this {
    this.type = spanTypeName(spanType);
    this.otelSpan.setAttribute(SPAN_TYPE, this.type);
    return this;
  }

  /** Recorded as `cairn.span.inputs` (JSON; see `toJsonable` for how values convert). */
  setInputs(inputs: unknown): this {
    this.inputs = inputs;
    if (!this.ended) this.otelSpan.setAttribute(SPAN_INPUTS, dumps(inputs));
    return this;
  }

  /** Recorded as `cairn.span.outputs` (JSON). */
  setOutputs(outputs: unknown): this {
    this.outputs = outputs;
    this.hasOutputs = true;
    if (!this.ended) this.otelSpan.setAttribute(SPAN_OUTPUTS, dumps(outputs));
    return this;
  }

  setAttribute(key: string, value: unknown): this {
    const v = attributeValue(value);
    if (v === undefined) return this;
    if (key === SPAN_TYPE) return this.setSpanType(String(value));
    this.otelSpan.setAttribute(key, v);
    return this;
  }

  setAttributes(attributes: Record<string, unknown>): this {
    for (const [key, value] of Object.entries(attributes)) this.setAttribute(key, value);
    return this;
  }

  addEvent(name: string, attributes: Record<string, unknown> = {}, timeMs?: number): this {
    const attrs: Attributes = {};
    for (const [key, value] of Object.entries(attributes)) {
      const v = attributeValue(value);
      if (v !== undefined) attrs[key] = v;
    }
    this.otelSpan.addEvent(name, attrs, timeMs);
    return this;
  }

  setStatus(status: StatusName, message?: string): this {
    const code = String(status)
      .toUpperCase()
      .replace(/^STATUS_CODE_/, '');
    if (code !== 'OK' && code !== 'ERROR' && code !== 'UNSET')
      throw new TypeError(`Unknown span status ${JSON.stringify(status)}: use OK, ERROR or UNSET`);
    this.statusCode = code;
    this.otelSpan.setStatus({
      code:
        code === 'OK'
          ? SpanStatusCode.OK
          : code === 'ERROR'
            ? SpanStatusCode.ERROR
            : SpanStatusCode.UNSET,
      ...(message ? { message } : {}),
    });
    return this;
  }

  /** Status ERROR (`Name: message`) and an `exception` event (type, message, stack trace). */
  recordException(error: unknown): this {
    const err = error instanceof Error ? error : undefined;
    const type = err ? err.name || err.constructor.name : typeof error;
    const message = err ? err.message : String(error);
    this.addEvent('exception', {
      'exception.type': type,
      'exception.message': message,
      ...(err?.stack ? { 'exception.stacktrace': err.stack } : {}),
    });
    this.setStatus('ERROR', `${type}: ${message}`);
    return this;
  }

  /** Ends the span (later calls do nothing). Status OK unless set. */
  end(options: SpanEndOptions = {}): void {
    if (this.ended) return;
    if (options.outputs !== undefined) this.setOutputs(options.outputs);
    if (options.attributes) this.setAttributes(options.attributes);
    if (options.status) this.setStatus(options.status);
    else if (this.statusCode === 'UNSET') this.setStatus('OK');
    if (this.trace.root === this) this.otelSpan.setAttributes(this.trace.attributes());
    this.ended = true;
    this.otelSpan.end();
    this.onEnd(this);
  }
}
