import { z } from 'zod';
import { entityId, isoTimestamp } from '../common.ts';

/**
 * LLM tracing (docs/tracing.md). Spans are high-volume facts: one `SpansIngested` event per
 * ingest request, on a stream of its own (`span-batch-<batchId>`, appended with `no_stream`), so
 * concurrent exporters never contend on a stream. The projection merges spans by id, whatever
 * the order or the number of times they arrive. Trace-level changes made by people (tags,
 * metadata, deletion) go on the trace's stream (`trace-<traceId>`); the workspace's price table
 * on `model-prices`.
 */

/** 32 lowercase hex characters (OTLP's 16-byte trace id; also a Cairn entity id). */
export const traceId = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters');
/** 16 lowercase hex characters (OTLP's 8-byte span id). */
export const spanId = z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lowercase hex characters');
/** Nanoseconds since the Unix epoch as a decimal string (int64 does not fit a JSON number). */
export const unixNano = z.string().regex(/^\d{1,20}$/, 'must be a decimal string of nanoseconds');

export const spanKind = z.enum([
  'UNSPECIFIED',
  'INTERNAL',
  'SERVER',
  'CLIENT',
  'PRODUCER',
  'CONSUMER',
]);
export type SpanKind = z.infer<typeof spanKind>;

export const spanStatusCode = z.enum(['UNSET', 'OK', 'ERROR']);
export type SpanStatusCode = z.infer<typeof spanStatusCode>;

export const SPAN_TYPES = [
  'LLM',
  'CHAT_MODEL',
  'CHAIN',
  'TOOL',
  'RETRIEVER',
  'AGENT',
  'EMBEDDING',
  'RERANKER',
  'PARSER',
  'GUARDRAIL',
  'EVALUATOR',
  'UNKNOWN',
] as const;
export const spanType = z.enum(SPAN_TYPES);
export type SpanType = z.infer<typeof spanType>;

/**
 * OTLP attributes as JSON: key → string | number | boolean | null | array | object (kvlist).
 * int64 values beyond ±2^53 are decimal strings, bytes are base64 strings. Values are not
 * validated deeper than "a record": they are opaque facts, and validating megabytes of nested
 * payloads on every decode would dominate ingest.
 */
export const attributeMap = z.record(z.string(), z.unknown());
export type AttributeMap = Record<string, unknown>;

export const spanEvent = z.object({
  name: z.string(),
  timeUnixNano: unixNano,
  attributes: attributeMap,
});
export type SpanEvent = z.infer<typeof spanEvent>;

export const spanLink = z.object({
  traceId,
  spanId,
  attributes: attributeMap,
});
export type SpanLink = z.infer<typeof spanLink>;

export const ingestedSpan = z.object({
  traceId,
  spanId,
  parentSpanId: spanId.nullable(),
  traceState: z.string().nullable(),
  name: z.string(),
  kind: spanKind,
  startTimeUnixNano: unixNano,
  /** "0" when the exporter sent none (a span that never ended). */
  endTimeUnixNano: unixNano,
  status: z.object({ code: spanStatusCode, message: z.string().nullable() }),
  attributes: attributeMap,
  events: z.array(spanEvent),
  links: z.array(spanLink),
  /** Index into the event's `resources`. */
  resourceIndex: z.number().int().nonnegative(),
  scope: z.object({ name: z.string(), version: z.string().nullable() }),
  droppedAttributesCount: z.number().int().nonnegative(),
  droppedEventsCount: z.number().int().nonnegative(),
  droppedLinksCount: z.number().int().nonnegative(),
});
export type IngestedSpan = z.infer<typeof ingestedSpan>;

export const spansIngestedV1 = z
  .object({
    batchId: entityId,
    resources: z.array(attributeMap),
    spans: z.array(ingestedSpan).min(1),
  })
  .superRefine((d, ctx) => {
    const n = d.resources.length;
    d.spans.forEach((s, i) => {
      if (s.resourceIndex >= n)
        ctx.addIssue({
          code: 'custom',
          path: ['spans', i, 'resourceIndex'],
          message: `resourceIndex ${s.resourceIndex} is not an index of resources (${n})`,
        });
    });
  });
export type SpansIngestedData = z.infer<typeof spansIngestedV1>;

export const traceTagSetV1 = z.object({ traceId, key: z.string(), value: z.string() });
export const traceTagDeletedV1 = z.object({ traceId, key: z.string() });
export const traceMetadataSetV1 = z.object({ traceId, key: z.string(), value: z.string() });
export const traceMetadataDeletedV1 = z.object({ traceId, key: z.string() });
export const traceDeletedV1 = z.object({ traceId });

export const modelPriceSetV1 = z.object({
  priceId: entityId,
  /** A regular expression matched against the whole model name (anchored by the reader). */
  modelPattern: z.string().min(1),
  provider: z.string().nullable(),
  /** USD per million tokens. */
  inputPerMillion: z.number().nonnegative(),
  outputPerMillion: z.number().nonnegative(),
  cachedInputPerMillion: z.number().nonnegative().nullable(),
  effectiveFrom: isoTimestamp,
});
export type ModelPriceSetData = z.infer<typeof modelPriceSetV1>;
export const modelPriceDeletedV1 = z.object({ priceId: entityId });
