import type { AttributeMap, IngestedSpan, SpanEvent, SpanLink } from '@cairn/events';

/**
 * A span as the `traces` projection stores it: the ingested span with its resource's attributes
 * in place of the index into the event's resources.
 */
export type SpanRecord = Omit<IngestedSpan, 'resourceIndex'> & { resource: AttributeMap };

/**
 * The span of a `SpansIngested` event with its resource resolved, in canonical form (events and
 * links deduplicated and sorted as `mergeSpans` leaves them), so that a span seen once and a span
 * seen twice are stored alike.
 */
export function spanRecordOf(span: IngestedSpan, resources: readonly AttributeMap[]): SpanRecord {
  const { resourceIndex, ...rest } = span;
  return canonicalSpan({ ...rest, resource: resources[resourceIndex] ?? {} });
}

/** Events and links as sets: deduplicated, events by time then content, links by content. */
export function canonicalSpan(span: SpanRecord): SpanRecord {
  if (span.links.length <= 1 && span.events.length <= 1) return span;
  return {
    ...span,
    events: uniteLists(span.events, [], compareEvents),
    links: uniteLists<SpanLink>(span.links, [], noOrder),
  };
}

/** JSON with object keys sorted at every depth: equal values serialise equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `endTimeUnixNano` "0" means the exporter sent no end (a span still open). */
export function hasEnd(span: Pick<SpanRecord, 'endTimeUnixNano'>): boolean {
  return span.endTimeUnixNano !== '0';
}

/** The fields of a version that come from one version only (the winner's). */
function core(span: SpanRecord): string {
  return canonicalJson([
    span.parentSpanId,
    span.traceState,
    span.name,
    span.kind,
    span.startTimeUnixNano,
    span.endTimeUnixNano,
    span.status,
    span.scope,
    span.droppedAttributesCount,
    span.droppedEventsCount,
    span.droppedLinksCount,
  ]);
}

/**
 * The total order on versions of one span: a version with an end time beats one without, then
 * the later end, then the greater canonical serialisation of the scalar fields. It reads only the
 * fields the merge takes from the winner, so a merged span ranks exactly as its winner does.
 */
export function compareVersions(a: SpanRecord, b: SpanRecord): number {
  const ea = hasEnd(a);
  const eb = hasEnd(b);
  if (ea !== eb) return ea ? 1 : -1;
  if (ea) {
    const ta = BigInt(a.endTimeUnixNano);
    const tb = BigInt(b.endTimeUnixNano);
    if (ta !== tb) return ta > tb ? 1 : -1;
  }
  return compareStrings(core(a), core(b));
}

/**
 * Attribute maps united; a key both have keeps the value whose canonical JSON is greater. (Taking
 * the winner's value instead is not associative: with versions a > b > c where a lacks a key
 * that b and c both have, (a·b)·c keeps b's value and a·(b·c) keeps c's, because a merged map no
 * longer says which version each key came from.)
 */
function uniteMaps(a: AttributeMap, b: AttributeMap): AttributeMap {
  if (a === b) return a;
  const out: AttributeMap = {};
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    const inA = Object.hasOwn(a, k);
    const inB = Object.hasOwn(b, k);
    if (inA && inB) {
      const va = a[k];
      const vb = b[k];
      out[k] = compareStrings(canonicalJson(va), canonicalJson(vb)) >= 0 ? va : vb;
    } else {
      out[k] = inA ? a[k] : b[k];
    }
  }
  return out;
}

/** A set union by canonical JSON, ordered by `order` then by the canonical JSON. */
function uniteLists<T>(a: readonly T[], b: readonly T[], order: (x: T, y: T) => number): T[] {
  const byKey = new Map<string, T>();
  for (const x of [...a, ...b]) byKey.set(canonicalJson(x), x);
  return [...byKey]
    .sort(([ka, xa], [kb, xb]) => order(xa, xb) || compareStrings(ka, kb))
    .map(([, x]) => x);
}

function compareEvents(a: SpanEvent, b: SpanEvent): number {
  const ta = BigInt(a.timeUnixNano);
  const tb = BigInt(b.timeUnixNano);
  return ta === tb ? 0 : ta < tb ? -1 : 1;
}

const noOrder = (): number => 0;

/**
 * Merges two versions of one span (same trace and span id) into one. Commutative, associative
 * and idempotent, so any order and any number of deliveries give the same row:
 *
 * - the scalar fields (parent, trace state, name, kind, times, status, scope, dropped counts)
 *   come from the winner of `compareVersions` (ended beats open, then later end, then content);
 * - attributes and resource attributes are united, a conflicting key keeping the greater value
 *   (canonical JSON order);
 * - events and links are united as sets (events by time, then content; links by content).
 *
 * Identity fields (trace id, span id) never change: merging different spans throws.
 */
export function mergeSpans(a: SpanRecord, b: SpanRecord): SpanRecord {
  if (a.traceId !== b.traceId || a.spanId !== b.spanId) {
    throw new Error(
      `mergeSpans: different spans (${a.traceId}/${a.spanId} and ${b.traceId}/${b.spanId})`,
    );
  }
  const winner = compareVersions(a, b) >= 0 ? a : b;
  return {
    traceId: winner.traceId,
    spanId: winner.spanId,
    parentSpanId: winner.parentSpanId,
    traceState: winner.traceState,
    name: winner.name,
    kind: winner.kind,
    startTimeUnixNano: winner.startTimeUnixNano,
    endTimeUnixNano: winner.endTimeUnixNano,
    status: winner.status,
    attributes: uniteMaps(a.attributes, b.attributes),
    events: uniteLists(a.events, b.events, compareEvents),
    links: uniteLists<SpanLink>(a.links, b.links, noOrder),
    resource: uniteMaps(a.resource, b.resource),
    scope: winner.scope,
    droppedAttributesCount: winner.droppedAttributesCount,
    droppedEventsCount: winner.droppedEventsCount,
    droppedLinksCount: winner.droppedLinksCount,
  };
}
