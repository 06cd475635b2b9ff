import { appendToStream } from '@cairn/db';
import {
  currentSchemas,
  newEntityId,
  spanBatchStreamId,
  type AttributeMap,
  type IngestedSpan,
  type NewEvent,
  type SpansIngestedData,
} from '@cairn/events';
import type { Caller, WriteDeps } from '../write/command-handler.ts';
import type { CleanRequest } from './span-hygiene.ts';

/**
 * The append of an ingest request: its spans, cleaned, packed into `SpansIngested` events of at
 * most MAX_EVENT_JSON_BYTES of JSON each (a Kafka record must stay below 1 MB; one span is at
 * most 512 KiB, see span-hygiene.ts), all appended in one statement (one transaction) to a new
 * stream `span-batch-<batchId>` with `no_stream`. Concurrent exporters never contend: every
 * request has a stream of its own. No read-your-writes wait (bulk ingest opts out).
 */
export const MAX_EVENT_JSON_BYTES = 768 * 1024;

/** `{"batchId":"<32 hex>","resources":[],"spans":[]}` and a little slack. */
const EVENT_OVERHEAD_BYTES = 128;

export const SPAN_BATCH_STREAM_TYPE = 'span-batch';

/**
 * Packs spans into event data, in request order. Each event carries only the resources its
 * spans use, de-duplicated (two `ResourceSpans` with equal attributes share one entry), and the
 * spans' `resourceIndex` is rewritten to index that list.
 */
export function packSpanBatches(
  batchId: string,
  clean: CleanRequest,
  maxBytes: number = MAX_EVENT_JSON_BYTES,
): SpansIngestedData[] {
  const canonical: number[] = [];
  const resourceBytes: number[] = [];
  const byJson = new Map<string, number>();
  clean.resources.forEach((resource, i) => {
    const json = JSON.stringify(resource);
    const first = byJson.get(json);
    if (first === undefined) byJson.set(json, i);
    canonical.push(first ?? i);
    resourceBytes.push(Buffer.byteLength(json, 'utf8'));
  });

  const batches: SpansIngestedData[] = [];
  let resources: AttributeMap[] = [];
  let spans: IngestedSpan[] = [];
  let local = new Map<number, number>();
  let size = EVENT_OVERHEAD_BYTES;
  for (const { span, bytes } of clean.spans) {
    const r = canonical[span.resourceIndex]!;
    const adds = bytes + 1 + (local.has(r) ? 0 : resourceBytes[r]! + 1);
    if (spans.length > 0 && size + adds > maxBytes) {
      batches.push({ batchId, resources, spans });
      resources = [];
      spans = [];
      local = new Map();
      size = EVENT_OVERHEAD_BYTES;
    }
    let index = local.get(r);
    if (index === undefined) {
      index = resources.push(clean.resources[r]!) - 1;
      local.set(r, index);
      size += resourceBytes[r]! + 1;
    }
    span.resourceIndex = index;
    spans.push(span);
    size += bytes + 1;
  }
  if (spans.length > 0) batches.push({ batchId, resources, spans });
  return batches;
}

export interface IngestResult {
  batchId: string;
  /** Events appended (0 when no span was accepted: nothing is written then). */
  events: number;
  spans: number;
}

/**
 * Appends the accepted spans of one request and returns once the append committed. The event
 * data is built here, not through `newEvent`'s schema parse: span-hygiene guarantees the shape
 * (ids, enums, decimal times, counts), and a second pass of zod over megabytes of spans would
 * cost more than decoding them (the tests parse every event with the schema).
 */
export async function ingestSpans(
  deps: WriteDeps,
  caller: Caller,
  clean: CleanRequest,
): Promise<IngestResult> {
  const batchId = newEntityId(deps.decideContext.newId);
  if (clean.spans.length === 0) return { batchId, events: 0, spans: 0 };
  deps.quotas?.charge('spans', caller, clean.spans.length);
  const occurredAt = deps.decideContext.now().toISOString();
  const version = currentSchemas.SpansIngested.version;
  const events: NewEvent[] = packSpanBatches(batchId, clean).map((data) => ({
    id: deps.decideContext.newId(),
    type: 'SpansIngested',
    schemaVersion: version,
    occurredAt,
    data,
  }));
  const result = await appendToStream(deps.db, {
    workspaceId: caller.workspaceId,
    streamId: spanBatchStreamId(batchId),
    streamType: SPAN_BATCH_STREAM_TYPE,
    expectedVersion: 'no_stream',
    events,
    metadata: caller.metadata,
  });
  deps.onAppended?.(result.events);
  return { batchId, events: events.length, spans: clean.spans.length };
}
