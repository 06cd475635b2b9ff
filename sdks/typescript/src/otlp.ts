/**
 * OTLP/HTTP JSON encoding of finished OpenTelemetry spans: an `ExportTraceServiceRequest` in
 * OTLP's JSON mapping (hex ids, int64 as decimal strings, enums as numbers), grouped by resource
 * and instrumentation scope. docs/tracing.md, "Wire: OTLP/HTTP".
 */
import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

export type OtlpAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number | string }
  | { arrayValue: { values: OtlpAnyValue[] } }
  | Record<string, never>;

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  droppedAttributesCount?: number;
  events: { timeUnixNano: string; name: string; attributes: OtlpKeyValue[] }[];
  droppedEventsCount?: number;
  links: { traceId: string; spanId: string; traceState?: string; attributes: OtlpKeyValue[] }[];
  droppedLinksCount?: number;
  status: { code: number; message?: string };
}

export interface OtlpRequest {
  resourceSpans: {
    resource: { attributes: OtlpKeyValue[] };
    scopeSpans: { scope: { name: string; version?: string }; spans: OtlpSpan[] }[];
  }[];
}

/** A string attribute longer than this is cut before sending (the server keeps 64 KiB anyway;
 * this only keeps one huge value from making a request the server refuses). */
export const MAX_ATTRIBUTE_CHARS = 1024 * 1024;

export function anyValue(value: AttributeValue | null | undefined): OtlpAnyValue {
  if (value === null || value === undefined) return {};
  if (typeof value === 'string')
    return {
      stringValue: value.length > MAX_ATTRIBUTE_CHARS ? value.slice(0, MAX_ATTRIBUTE_CHARS) : value,
    };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return { intValue: String(value) };
    if (Number.isFinite(value)) return { doubleValue: value };
    return { doubleValue: Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity' };
  }
  if (Array.isArray(value))
    return {
      arrayValue: { values: (value as unknown[]).map((v) => anyValue(v as AttributeValue)) },
    };
  return { stringValue: String(value) };
}

export function keyValues(attributes: Attributes | undefined): OtlpKeyValue[] {
  const out: OtlpKeyValue[] = [];
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value === undefined) continue;
    out.push({ key, value: anyValue(value) });
  }
  return out;
}

/** Nanoseconds since the epoch as a decimal string, exactly (no float rounding). */
export function hrTimeToNanos(time: HrTime): string {
  return (BigInt(Math.trunc(time[0])) * 1_000_000_000n + BigInt(Math.trunc(time[1]))).toString();
}

export function encodeSpan(span: ReadableSpan): OtlpSpan {
  const context = span.spanContext();
  const out: OtlpSpan = {
    traceId: context.traceId,
    spanId: context.spanId,
    name: span.name,
    // OTLP's SpanKind is the API's plus one (0 is UNSPECIFIED on the wire).
    kind: span.kind + 1,
    startTimeUnixNano: hrTimeToNanos(span.startTime),
    endTimeUnixNano: hrTimeToNanos(span.endTime),
    attributes: keyValues(span.attributes),
    events: span.events.map((event) => ({
      timeUnixNano: hrTimeToNanos(event.time),
      name: event.name,
      attributes: keyValues(event.attributes),
    })),
    links: span.links.map((link) => ({
      traceId: link.context.traceId,
      spanId: link.context.spanId,
      ...(link.context.traceState ? { traceState: link.context.traceState.serialize() } : {}),
      attributes: keyValues(link.attributes),
    })),
    status: {
      code: span.status.code,
      ...(span.status.message ? { message: span.status.message } : {}),
    },
  };
  const parent = span.parentSpanContext?.spanId;
  if (parent) out.parentSpanId = parent;
  const traceState = context.traceState?.serialize();
  if (traceState) out.traceState = traceState;
  if (span.droppedAttributesCount) out.droppedAttributesCount = span.droppedAttributesCount;
  if (span.droppedEventsCount) out.droppedEventsCount = span.droppedEventsCount;
  if (span.droppedLinksCount) out.droppedLinksCount = span.droppedLinksCount;
  return out;
}

/** One request for `spans`, grouped by resource (object identity) and scope (name, version). */
export function encodeRequest(spans: readonly ReadableSpan[]): OtlpRequest {
  const byResource = new Map<ReadableSpan['resource'], Map<string, OtlpSpan[]>>();
  const scopes = new Map<string, { name: string; version?: string }>();
  for (const span of spans) {
    let byScope = byResource.get(span.resource);
    if (!byScope) {
      byScope = new Map();
      byResource.set(span.resource, byScope);
    }
    const scope = span.instrumentationScope;
    const key = `${scope.name}\u0000${scope.version ?? ''}`;
    if (!scopes.has(key))
      scopes.set(key, { name: scope.name, ...(scope.version ? { version: scope.version } : {}) });
    let list = byScope.get(key);
    if (!list) {
      list = [];
      byScope.set(key, list);
    }
    list.push(encodeSpan(span));
  }
  return {
    resourceSpans: [...byResource].map(([resource, byScope]) => ({
      resource: { attributes: keyValues(resource.attributes) },
      scopeSpans: [...byScope].map(([key, list]) => ({ scope: scopes.get(key)!, spans: list })),
    })),
  };
}
