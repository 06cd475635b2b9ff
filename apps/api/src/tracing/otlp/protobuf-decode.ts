import type { AttributeMap, IngestedSpan, SpanEvent, SpanLink } from '@cairn/events';
import {
  OtlpDecodeError,
  TooManySpansError,
  setKey,
  spanKindOf,
  statusCodeOf,
  type DecodeOptions,
  type DecodedRequest,
} from './types.ts';

/**
 * A hand-written decoder of `ExportTraceServiceRequest` (opentelemetry-proto
 * `collector/trace/v1/trace_service.proto`, `trace/v1`, `common/v1`, `resource/v1`): one pass
 * over the bytes, straight into the `SpansIngested` span shape, no intermediate message
 * objects. Unknown fields (and known fields with an unexpected wire type) are skipped, as
 * protobuf requires; a message that ends inside a field is an error.
 *
 * Field numbers (proto3):
 *   ExportTraceServiceRequest  1 resource_spans
 *   ResourceSpans              1 resource, 2 scope_spans, 3 schema_url
 *   Resource                   1 attributes, 2 dropped_attributes_count, 3 entity_refs
 *   ScopeSpans                 1 scope, 2 spans, 3 schema_url
 *   InstrumentationScope       1 name, 2 version, 3 attributes, 4 dropped_attributes_count
 *   Span                       1 trace_id, 2 span_id, 3 trace_state, 4 parent_span_id,
 *                              5 name, 6 kind, 7 start_time_unix_nano (fixed64),
 *                              8 end_time_unix_nano (fixed64), 9 attributes,
 *                              10 dropped_attributes_count, 11 events, 12 dropped_events_count,
 *                              13 links, 14 dropped_links_count, 15 status, 16 flags (fixed32)
 *   Span.Event                 1 time_unix_nano (fixed64), 2 name, 3 attributes,
 *                              4 dropped_attributes_count
 *   Span.Link                  1 trace_id, 2 span_id, 3 trace_state, 4 attributes,
 *                              5 dropped_attributes_count, 6 flags
 *   Status                     2 message, 3 code
 *   KeyValue                   1 key, 2 value
 *   AnyValue                   1 string, 2 bool, 3 int (int64), 4 double, 5 array,
 *                              6 kvlist, 7 bytes
 *   ArrayValue / KeyValueList  1 values
 */

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;
const TWO_32 = 4294967296;
/** hi word below 2^21: the 64-bit value is below 2^53, a safe integer. */
const SAFE_HI = 0x200000;

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  fail(what: string): never {
    throw new OtlpDecodeError(`Malformed protobuf body: ${what} (at byte ${this.pos})`);
  }

  /** A varint's low 32 bits, unsigned. */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    let result = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (pos >= buf.length) this.fail('truncated varint');
      const b = buf[pos++]!;
      if (shift < 32) result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    this.fail('varint longer than 10 bytes');
  }

  /** A signed int64 varint: a number when it is a safe integer, else a decimal string. */
  int64(): number | string {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) this.fail('truncated varint');
      const b = buf[pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) {
        this.pos = pos;
        return int64Value(lo >>> 0, hi >>> 0);
      }
    }
    this.fail('varint longer than 10 bytes');
  }

  /** The end of a length-delimited field that starts here (its length read). */
  end(limit: number): number {
    const length = this.uint32();
    const end = this.pos + length;
    if (end > limit) this.fail('length-delimited field runs past the end of its message');
    return end;
  }

  fixed64String(limit: number): string {
    const pos = this.pos;
    if (pos + 8 > limit) this.fail('truncated fixed64');
    this.pos = pos + 8;
    const lo = this.buf.readUInt32LE(pos);
    const hi = this.buf.readUInt32LE(pos + 4);
    if (hi < SAFE_HI) return String(hi * TWO_32 + lo);
    return this.buf.readBigUInt64LE(pos).toString();
  }

  double(limit: number): number {
    const pos = this.pos;
    if (pos + 8 > limit) this.fail('truncated double');
    this.pos = pos + 8;
    return this.buf.readDoubleLE(pos);
  }

  /** A string field; invalid UTF-8 becomes U+FFFD (what Buffer decoding does). */
  string(limit: number): string {
    const end = this.end(limit);
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  hex(limit: number): string {
    const end = this.end(limit);
    const s = this.buf.toString('hex', this.pos, end);
    this.pos = end;
    return s;
  }

  skip(wireType: number, limit: number): void {
    switch (wireType) {
      case VARINT:
        this.uint32();
        return;
      case FIXED64:
        if (this.pos + 8 > limit) this.fail('truncated fixed64');
        this.pos += 8;
        return;
      case LEN:
        this.pos = this.end(limit);
        return;
      case FIXED32:
        if (this.pos + 4 > limit) this.fail('truncated fixed32');
        this.pos += 4;
        return;
      default:
        this.fail(`unsupported wire type ${wireType}`);
    }
  }

  /** Checks that a nested message ended exactly at its declared end. */
  done(end: number, what: string): void {
    if (this.pos !== end) this.fail(`${what} runs past its declared length`);
  }
}

function int64Value(lo: number, hi: number): number | string {
  if (hi < SAFE_HI) return hi * TWO_32 + lo;
  if (hi >= 0x80000000) {
    // Negative: the magnitude is the two's complement.
    const nlo = (~lo + 1) >>> 0;
    const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
    if (nhi < SAFE_HI) return -(nhi * TWO_32 + nlo);
    return (-((BigInt(nhi) << 32n) | BigInt(nlo))).toString();
  }
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

export function decodeTraceRequestProtobuf(body: Buffer, options: DecodeOptions): DecodedRequest {
  const r = new Reader(body);
  const out: DecodedRequest = { resources: [], spans: [] };
  const limit = body.length;
  while (r.pos < limit) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === LEN) {
      const end = r.end(limit);
      decodeResourceSpans(r, end, out, options);
      r.done(end, 'ResourceSpans');
    } else r.skip(tag & 7, limit);
  }
  return out;
}

function decodeResourceSpans(
  r: Reader,
  end: number,
  out: DecodedRequest,
  options: DecodeOptions,
): void {
  const resource: AttributeMap = {};
  const resourceIndex = out.resources.push(resource) - 1;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if ((tag & 7) !== LEN || (field !== 1 && field !== 2)) {
      r.skip(tag & 7, end);
      continue;
    }
    const fieldEnd = r.end(end);
    if (field === 1) decodeResource(r, fieldEnd, resource);
    else decodeScopeSpans(r, fieldEnd, resourceIndex, out, options);
    r.done(fieldEnd, field === 1 ? 'Resource' : 'ScopeSpans');
  }
}

function decodeResource(r: Reader, end: number, attributes: AttributeMap): void {
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === LEN) decodeKeyValue(r, r.end(end), attributes);
    else r.skip(tag & 7, end);
  }
}

function decodeScopeSpans(
  r: Reader,
  end: number,
  resourceIndex: number,
  out: DecodedRequest,
  options: DecodeOptions,
): void {
  // Shared by the scope's spans; filled in place when the scope field comes (any order).
  const scope: IngestedSpan['scope'] = { name: '', version: null };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if ((tag & 7) !== LEN || (field !== 1 && field !== 2)) {
      r.skip(tag & 7, end);
      continue;
    }
    const fieldEnd = r.end(end);
    if (field === 1) decodeScope(r, fieldEnd, scope);
    else {
      if (out.spans.length >= options.maxSpans) throw new TooManySpansError(options.maxSpans);
      out.spans.push(decodeSpan(r, fieldEnd, resourceIndex, scope));
    }
    r.done(fieldEnd, field === 1 ? 'InstrumentationScope' : 'Span');
  }
}

function decodeScope(r: Reader, end: number, scope: IngestedSpan['scope']): void {
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if ((tag & 7) === LEN && field === 1) scope.name = r.string(end);
    else if ((tag & 7) === LEN && field === 2) scope.version = r.string(end);
    else r.skip(tag & 7, end);
  }
}

function decodeSpan(
  r: Reader,
  end: number,
  resourceIndex: number,
  scope: IngestedSpan['scope'],
): IngestedSpan {
  const span: IngestedSpan = {
    traceId: '',
    spanId: '',
    parentSpanId: null,
    traceState: null,
    name: '',
    kind: 'UNSPECIFIED',
    startTimeUnixNano: '0',
    endTimeUnixNano: '0',
    status: { code: 'UNSET', message: null },
    attributes: {},
    events: [],
    links: [],
    resourceIndex,
    scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
  while (r.pos < end) {
    const tag = r.uint32();
    const wireType = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wireType !== LEN) break;
        span.traceId = r.hex(end);
        continue;
      case 2:
        if (wireType !== LEN) break;
        span.spanId = r.hex(end);
        continue;
      case 3:
        if (wireType !== LEN) break;
        span.traceState = r.string(end) || null;
        continue;
      case 4:
        if (wireType !== LEN) break;
        span.parentSpanId = r.hex(end) || null;
        continue;
      case 5:
        if (wireType !== LEN) break;
        span.name = r.string(end);
        continue;
      case 6:
        if (wireType !== VARINT) break;
        span.kind = spanKindOf(r.uint32() | 0);
        continue;
      case 7:
        if (wireType !== FIXED64) break;
        span.startTimeUnixNano = r.fixed64String(end);
        continue;
      case 8:
        if (wireType !== FIXED64) break;
        span.endTimeUnixNano = r.fixed64String(end);
        continue;
      case 9:
        if (wireType !== LEN) break;
        decodeKeyValue(r, r.end(end), span.attributes);
        continue;
      case 10:
        if (wireType !== VARINT) break;
        span.droppedAttributesCount = r.uint32();
        continue;
      case 11:
        if (wireType !== LEN) break;
        span.events.push(decodeEvent(r, r.end(end)));
        continue;
      case 12:
        if (wireType !== VARINT) break;
        span.droppedEventsCount = r.uint32();
        continue;
      case 13:
        if (wireType !== LEN) break;
        span.links.push(decodeLink(r, r.end(end)));
        continue;
      case 14:
        if (wireType !== VARINT) break;
        span.droppedLinksCount = r.uint32();
        continue;
      case 15:
        if (wireType !== LEN) break;
        decodeStatus(r, r.end(end), span.status);
        continue;
    }
    r.skip(wireType, end);
  }
  return span;
}

function decodeEvent(r: Reader, end: number): SpanEvent {
  const event: SpanEvent = { name: '', timeUnixNano: '0', attributes: {} };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === FIXED64) event.timeUnixNano = r.fixed64String(end);
    else if (field === 2 && wireType === LEN) event.name = r.string(end);
    else if (field === 3 && wireType === LEN) decodeKeyValue(r, r.end(end), event.attributes);
    else r.skip(wireType, end);
  }
  r.done(end, 'Span.Event');
  return event;
}

function decodeLink(r: Reader, end: number): SpanLink {
  const link: SpanLink = { traceId: '', spanId: '', attributes: {} };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === LEN) link.traceId = r.hex(end);
    else if (field === 2 && wireType === LEN) link.spanId = r.hex(end);
    else if (field === 4 && wireType === LEN) decodeKeyValue(r, r.end(end), link.attributes);
    else r.skip(wireType, end);
  }
  r.done(end, 'Span.Link');
  return link;
}

function decodeStatus(r: Reader, end: number, status: IngestedSpan['status']): void {
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 2 && wireType === LEN) status.message = r.string(end) || null;
    else if (field === 3 && wireType === VARINT) status.code = statusCodeOf(r.uint32() | 0);
    else r.skip(wireType, end);
  }
  r.done(end, 'Status');
}

/** One KeyValue, set into `target` (a later duplicate key wins). */
function decodeKeyValue(r: Reader, end: number, target: AttributeMap): void {
  let key = '';
  let value: unknown = null;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === LEN) key = r.string(end);
    else if (field === 2 && wireType === LEN) {
      const valueEnd = r.end(end);
      value = decodeAnyValue(r, valueEnd);
      r.done(valueEnd, 'AnyValue');
    } else r.skip(wireType, end);
  }
  r.done(end, 'KeyValue');
  setKey(target, key, value);
}

/** AnyValue → JSON: an empty AnyValue (or one of an unknown kind) is null. */
function decodeAnyValue(r: Reader, end: number): unknown {
  let value: unknown = null;
  while (r.pos < end) {
    const tag = r.uint32();
    const wireType = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wireType !== LEN) break;
        value = r.string(end);
        continue;
      case 2:
        if (wireType !== VARINT) break;
        value = r.uint32() !== 0;
        continue;
      case 3:
        if (wireType !== VARINT) break;
        value = r.int64();
        continue;
      case 4:
        if (wireType !== FIXED64) break;
        value = jsonDouble(r.double(end));
        continue;
      case 5: {
        if (wireType !== LEN) break;
        const arrayEnd = r.end(end);
        value = decodeArrayValue(r, arrayEnd);
        r.done(arrayEnd, 'ArrayValue');
        continue;
      }
      case 6: {
        if (wireType !== LEN) break;
        const listEnd = r.end(end);
        const map: AttributeMap = {};
        while (r.pos < listEnd) {
          const t = r.uint32();
          if (t >>> 3 === 1 && (t & 7) === LEN) decodeKeyValue(r, r.end(listEnd), map);
          else r.skip(t & 7, listEnd);
        }
        r.done(listEnd, 'KeyValueList');
        value = map;
        continue;
      }
      case 7: {
        if (wireType !== LEN) break;
        const bytesEnd = r.end(end);
        value = r.buf.toString('base64', r.pos, bytesEnd);
        r.pos = bytesEnd;
        continue;
      }
    }
    r.skip(wireType, end);
  }
  return value;
}

function decodeArrayValue(r: Reader, end: number): unknown[] {
  const values: unknown[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === LEN) {
      const valueEnd = r.end(end);
      values.push(decodeAnyValue(r, valueEnd));
      r.done(valueEnd, 'AnyValue');
    } else r.skip(tag & 7, end);
  }
  return values;
}

/** JSON has no NaN or infinities: they travel as strings, as Cairn's metric values do. */
export function jsonDouble(n: number): number | string {
  if (Number.isFinite(n)) return n;
  return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
}
