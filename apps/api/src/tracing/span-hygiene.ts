import type { AttributeMap, IngestedSpan } from '@cairn/events';
import { maskString, type MaskRule } from './masking.ts';
import type { DecodedRequest } from './otlp/types.ts';

/**
 * What a decoded span goes through before it is stored (docs/tracing.md "Limits and
 * truncation", "Masking"): id validation (a bad span is rejected, the rest of the request is
 * kept), text repair (NUL and lone surrogates become U+FFFD: jsonb refuses `\u0000` and unpaired
 * `\ud800`, and a span must never make the append fail), masking of every string value, and the
 * size limits that keep one span well inside a Kafka record.
 */

export interface SpanLimits {
  /** One attribute value: a string's UTF-8 bytes, or the JSON of an array or map. */
  maxAttributeValueBytes: number;
  maxAttributes: number;
  maxEvents: number;
  maxLinks: number;
  /** Span and event names, trace state, scope name and version, attribute keys. */
  maxNameChars: number;
  /** The whole span as JSON; beyond it the largest values are cut further. */
  maxSpanJsonBytes: number;
  /** One resource's attributes as JSON. */
  maxResourceJsonBytes: number;
}

export const SPAN_LIMITS: SpanLimits = {
  maxAttributeValueBytes: 64 * 1024,
  maxAttributes: 512,
  maxEvents: 256,
  maxLinks: 128,
  maxNameChars: 1024,
  maxSpanJsonBytes: 512 * 1024,
  maxResourceJsonBytes: 128 * 1024,
};

/** The attribute listing what was cut: a JSON list of attribute keys (`events[i].key` …). */
export const TRUNCATED_ATTRIBUTE = 'cairn.truncated';
/** At most this many entries in `cairn.truncated` (the list must stay small itself). */
const MAX_TRUNCATED_LISTED = 100;

export interface HygieneOptions {
  rules: readonly MaskRule[];
  limits?: SpanLimits;
}

export interface CleanSpan {
  span: IngestedSpan;
  /** UTF-8 bytes of the span's JSON (what it adds to an event). */
  bytes: number;
}

export interface CleanRequest {
  /** The decoded request's resources, cleaned, masked and cut (same indexes). */
  resources: AttributeMap[];
  spans: CleanSpan[];
  rejected: number;
  /** Why spans were rejected: distinct reasons, a few at most. */
  rejectReasons: string[];
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
const MAX_REASONS = 5;

export function cleanRequest(decoded: DecodedRequest, options: HygieneOptions): CleanRequest {
  const limits = options.limits ?? SPAN_LIMITS;
  const resources = decoded.resources.map((r) => cleanResource(r, options.rules, limits));
  const spans: CleanSpan[] = [];
  let rejected = 0;
  const reasons = new Set<string>();
  for (const span of decoded.spans) {
    const reason = rejectReason(span);
    if (reason) {
      rejected++;
      if (reasons.size < MAX_REASONS) reasons.add(reason);
      continue;
    }
    spans.push(cleanSpan(span, options.rules, limits));
  }
  return { resources, spans, rejected, rejectReasons: [...reasons] };
}

function describeId(id: string): string {
  return id === '' ? 'missing' : `"${id.length > 40 ? `${id.slice(0, 40)}…` : id}"`;
}

/** Why a span cannot be stored (its ids), or null. */
export function rejectReason(span: IngestedSpan): string | null {
  if (!TRACE_ID.test(span.traceId) || span.traceId === ZERO_TRACE_ID)
    return `invalid trace id ${describeId(span.traceId)} (16 bytes, not all zero, expected)`;
  if (!SPAN_ID.test(span.spanId) || span.spanId === ZERO_SPAN_ID)
    return `invalid span id ${describeId(span.spanId)} (8 bytes, not all zero, expected)`;
  if (span.parentSpanId !== null && span.parentSpanId !== ZERO_SPAN_ID) {
    if (!SPAN_ID.test(span.parentSpanId))
      return `invalid parent span id ${describeId(span.parentSpanId)} (8 bytes expected)`;
  }
  // fixed64 on the wire, int8 in the read model: beyond 2^63 - 1 ns (the year 2262) is no time.
  if (!fitsInt64(span.startTimeUnixNano) || !fitsInt64(span.endTimeUnixNano))
    return 'invalid start or end time (beyond 2^63 - 1 nanoseconds)';
  for (const event of span.events) {
    if (!fitsInt64(event.timeUnixNano)) return 'invalid event time (beyond 2^63 - 1 nanoseconds)';
  }
  return null;
}

const INT64_MAX = '9223372036854775807';

/** A decimal string of an unsigned integer (no leading zeros but for "0") at most 2^63 - 1. */
function fitsInt64(decimal: string): boolean {
  return decimal.length < 19 || (decimal.length === 19 && decimal <= INT64_MAX);
}

/** NUL → U+FFFD, lone surrogates → U+FFFD. The same string when there is nothing to repair. */
export function repairText(s: string): string {
  let out = s.includes('\0') ? s.replaceAll('\0', '\uFFFD') : s;
  if (!isWellFormed(out)) out = toWellFormed(out);
  return out;
}

interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}
// ES2024 string methods (Node 20 has them; the project's TS lib is ES2023).
const isWellFormed = (s: string) => (s as unknown as WellFormedString).isWellFormed();
const toWellFormed = (s: string) => (s as unknown as WellFormedString).toWellFormed();

/** Cuts to at most `max` UTF-16 units without splitting a surrogate pair. */
export function cutChars(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end);
}

/** Cuts to at most `maxBytes` of UTF-8 without splitting a character. */
export function cutUtf8(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes) return s;
  if (Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  const buf = Buffer.from(s, 'utf8');
  let end = Math.max(0, maxBytes);
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.toString('utf8', 0, end);
}

function shortText(s: string, limits: SpanLimits): string {
  return cutChars(repairText(s), limits.maxNameChars);
}

interface Ctx {
  rules: readonly MaskRule[];
  limits: SpanLimits;
  truncated: string[];
}

function noteTruncated(ctx: Ctx, label: string): void {
  if (ctx.truncated.length < MAX_TRUNCATED_LISTED && !ctx.truncated.includes(label))
    ctx.truncated.push(label);
}

/** Repairs and masks every string (keys repaired, not masked) of a nested JSON value. */
function deepClean(v: unknown, ctx: Ctx, size: { n: number }): unknown {
  if (typeof v === 'string') {
    size.n += v.length + 3;
    return maskString(ctx.rules, repairText(v));
  }
  if (v === null || typeof v !== 'object') {
    size.n += 8;
    return v;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = deepClean(v[i], ctx, size);
    return v;
  }
  const map = v as AttributeMap;
  let rebuild = false;
  for (const key in map) {
    size.n += key.length + 4;
    if (repairText(key) !== key) rebuild = true;
    map[key] = deepClean(map[key], ctx, size);
  }
  if (!rebuild) return map;
  const out: AttributeMap = {};
  for (const key in map) setOwn(out, repairText(key), map[key]);
  return out;
}

function setOwn(map: AttributeMap, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(map, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else map[key] = value;
}

/** One attribute value: cleaned, masked, then cut to the value limit (noted under `label`). */
function cleanValue(v: unknown, ctx: Ctx, label: string): unknown {
  const max = ctx.limits.maxAttributeValueBytes;
  if (typeof v === 'string') {
    const s = maskString(ctx.rules, repairText(v));
    const cut = cutUtf8(s, max);
    if (cut !== s) noteTruncated(ctx, label);
    return cut;
  }
  if (v === null || typeof v !== 'object') return v;
  const size = { n: 0 };
  const cleaned = deepClean(v, ctx, size);
  // JSON escapes can make a value up to 6× its characters: measure exactly when it may matter.
  if (size.n * 6 <= max) return cleaned;
  const json = JSON.stringify(cleaned);
  if (Buffer.byteLength(json, 'utf8') <= max) return cleaned;
  noteTruncated(ctx, label);
  return cutUtf8(json, max);
}

/** Cleans a map's keys and values; keeps the first `maxAttributes`. */
function cleanMap(
  map: AttributeMap,
  ctx: Ctx,
  prefix: string,
): { map: AttributeMap; dropped: number } {
  let count = 0;
  let dropped = 0;
  let rebuild = false;
  for (const key in map) {
    if (++count > ctx.limits.maxAttributes) {
      dropped++;
      rebuild = true;
      continue;
    }
    const clean = shortText(key, ctx.limits);
    if (clean !== key) rebuild = true;
    map[key] = cleanValue(map[key], ctx, prefix + clean);
  }
  if (!rebuild) return { map, dropped };
  const out: AttributeMap = {};
  let kept = 0;
  for (const key in map) {
    if (++kept > ctx.limits.maxAttributes) break;
    setOwn(out, shortText(key, ctx.limits), map[key]);
  }
  return { map: out, dropped };
}

function cleanSpan(span: IngestedSpan, rules: readonly MaskRule[], limits: SpanLimits): CleanSpan {
  const ctx: Ctx = { rules, limits, truncated: [] };
  if (span.parentSpanId === ZERO_SPAN_ID) span.parentSpanId = null;
  span.name = shortText(span.name, limits);
  if (span.traceState !== null) span.traceState = shortText(span.traceState, limits);
  span.scope.name = shortText(span.scope.name, limits);
  if (span.scope.version !== null) span.scope.version = shortText(span.scope.version, limits);
  if (span.status.message !== null)
    span.status.message = cleanValue(span.status.message, ctx, 'status.message') as string;

  // A client's own cairn.truncated is replaced by ours when we cut anything.
  const attrs = cleanMap(span.attributes, ctx, '');
  span.attributes = attrs.map;
  span.droppedAttributesCount += attrs.dropped;

  if (span.events.length > limits.maxEvents) {
    span.droppedEventsCount += span.events.length - limits.maxEvents;
    span.events.length = limits.maxEvents;
  }
  for (let i = 0; i < span.events.length; i++) {
    const event = span.events[i]!;
    event.name = shortText(event.name, limits);
    event.attributes = cleanMap(event.attributes, ctx, `events[${i}].`).map;
  }

  const links = span.links.filter((l) => {
    if (l.traceId === ZERO_TRACE_ID || !TRACE_ID.test(l.traceId)) return false;
    return l.spanId !== ZERO_SPAN_ID && SPAN_ID.test(l.spanId);
  });
  span.droppedLinksCount += span.links.length - links.length;
  if (links.length > limits.maxLinks) {
    span.droppedLinksCount += links.length - limits.maxLinks;
    links.length = limits.maxLinks;
  }
  span.links = links;
  for (let i = 0; i < links.length; i++)
    links[i]!.attributes = cleanMap(links[i]!.attributes, ctx, `links[${i}].`).map;

  markTruncated(span.attributes, ctx);
  let bytes = jsonBytes(span);
  if (bytes > limits.maxSpanJsonBytes) bytes = fitSpan(span, ctx);
  return { span, bytes };
}

function markTruncated(map: AttributeMap, ctx: Ctx): void {
  if (ctx.truncated.length > 0) map[TRUNCATED_ATTRIBUTE] = [...ctx.truncated];
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

interface Candidate {
  map: AttributeMap;
  key: string;
  label: string;
  size: number;
}

function candidatesOf(map: AttributeMap, prefix: string, out: Candidate[]): void {
  for (const key in map) {
    if (key === TRUNCATED_ATTRIBUTE) continue;
    const v = map[key];
    if (typeof v === 'string' || (v !== null && typeof v === 'object'))
      out.push({ map, key, label: prefix + key, size: jsonBytes(v) });
  }
}

/**
 * Water-filling: the cap C such that cutting every candidate above C down to C removes
 * `excess` bytes (the largest values are cut first, the small ones are left alone).
 */
function capFor(sizes: number[], excess: number): number {
  sizes.sort((a, b) => b - a);
  let sum = 0;
  for (let k = 1; k <= sizes.length; k++) {
    sum += sizes[k - 1]!;
    const next = sizes[k] ?? 0;
    if (sum - k * next >= excess) return Math.max(0, Math.floor((sum - excess) / k));
  }
  return 0;
}

/** Cuts a value to about `cap` bytes of JSON; arrays and maps become their JSON text, cut. */
function cutValue(v: unknown, cap: number, size: number): string {
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  // `size` counts JSON escapes; scale the cut so the escaped result lands near the cap.
  const raw = Buffer.byteLength(text, 'utf8');
  return cutUtf8(text, Math.floor((cap * raw) / Math.max(size, 1)));
}

/** Brings a span under the JSON budget; returns its size. Always succeeds. */
function fitSpan(span: IngestedSpan, ctx: Ctx): number {
  const max = ctx.limits.maxSpanJsonBytes;
  let bytes = jsonBytes(span);
  for (let round = 0; round < 4 && bytes > max; round++) {
    const candidates: Candidate[] = [];
    candidatesOf(span.attributes, '', candidates);
    span.events.forEach((e, i) => candidatesOf(e.attributes, `events[${i}].`, candidates));
    span.links.forEach((l, i) => candidatesOf(l.attributes, `links[${i}].`, candidates));
    if (candidates.length === 0) break;
    // Room for cairn.truncated growing: up to 100 labels of up to ~1 KiB each is the worst
    // case, but a little slack per round is enough in practice; the loop measures again.
    const cap = capFor(
      candidates.map((c) => c.size),
      bytes - max + 4096,
    );
    for (const c of candidates) {
      if (c.size <= cap) continue;
      c.map[c.key] = cutValue(c.map[c.key], cap, c.size);
      noteTruncated(ctx, c.label);
    }
    markTruncated(span.attributes, ctx);
    bytes = jsonBytes(span);
  }
  // Whatever is still too large (thousands of small values): drop events, links, attributes.
  if (bytes > max && span.events.length > 0) {
    const kept = keepWhileOver(span.events, bytes - max);
    span.droppedEventsCount += span.events.length - kept;
    span.events.length = kept;
    bytes = jsonBytes(span);
  }
  if (bytes > max && span.links.length > 0) {
    const kept = keepWhileOver(span.links, bytes - max);
    span.droppedLinksCount += span.links.length - kept;
    span.links.length = kept;
    bytes = jsonBytes(span);
  }
  if (bytes > max) {
    const keys = Object.keys(span.attributes).filter((k) => k !== TRUNCATED_ATTRIBUTE);
    span.droppedAttributesCount += keys.length;
    const truncated = span.attributes[TRUNCATED_ATTRIBUTE];
    span.attributes = truncated === undefined ? {} : { [TRUNCATED_ATTRIBUTE]: truncated };
    bytes = jsonBytes(span);
  }
  return bytes;
}

/** How many leading items to keep so that dropping the rest removes at least `excess` bytes. */
function keepWhileOver(items: readonly unknown[], excess: number): number {
  let n = items.length;
  let over = excess;
  while (n > 0 && over > 0) over -= jsonBytes(items[--n]) + 1;
  return n;
}

/** A resource's attributes: cleaned, masked and cut like a span's; its own `cairn.truncated`. */
function cleanResource(
  resource: AttributeMap,
  rules: readonly MaskRule[],
  limits: SpanLimits,
): AttributeMap {
  const ctx: Ctx = { rules, limits, truncated: [] };
  const { map } = cleanMap(resource, ctx, '');
  markTruncated(map, ctx);
  let bytes = jsonBytes(map);
  for (let round = 0; round < 4 && bytes > limits.maxResourceJsonBytes; round++) {
    const candidates: Candidate[] = [];
    candidatesOf(map, '', candidates);
    if (candidates.length === 0) break;
    const cap = capFor(
      candidates.map((c) => c.size),
      bytes - limits.maxResourceJsonBytes + 4096,
    );
    for (const c of candidates) {
      if (c.size <= cap) continue;
      map[c.key] = cutValue(map[c.key], cap, c.size);
      noteTruncated(ctx, c.label);
    }
    markTruncated(map, ctx);
    bytes = jsonBytes(map);
  }
  if (bytes > limits.maxResourceJsonBytes) {
    const truncated = map[TRUNCATED_ATTRIBUTE];
    return truncated === undefined ? {} : { [TRUNCATED_ATTRIBUTE]: truncated };
  }
  return map;
}
