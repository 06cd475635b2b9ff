import type { AttributeMap, IngestedSpan, SpanEvent, SpanLink } from '@cairn/events';
import { jsonDouble } from './protobuf-decode.ts';
import {
  OtlpDecodeError,
  SPAN_KINDS,
  STATUS_CODES,
  TooManySpansError,
  setKey,
  spanKindOf,
  statusCodeOf,
  type DecodeOptions,
  type DecodedRequest,
} from './types.ts';

/**
 * OTLP/JSON (the proto3 JSON mapping of `ExportTraceServiceRequest`): field names in
 * lowerCamelCase or as in the .proto (snake_case); trace and span ids in hex (OTLP's rule) or
 * base64 (the plain proto3 mapping some clients use); int64 and fixed64 as decimal strings or
 * numbers; enums as numbers or names (`SPAN_KIND_SERVER`, also `SERVER`). Wrong types are an
 * error naming the field's path; unknown fields are ignored.
 */
export function decodeTraceRequestJson(text: string, options: DecodeOptions): DecodedRequest {
  let root: unknown;
  try {
    // A UTF-8 byte order mark is not JSON, but some clients write one.
    root = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    throw new OtlpDecodeError(
      `Malformed JSON body: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const out: DecodedRequest = { resources: [], spans: [] };
  const request = object(root, '$');
  const resourceSpans = list(field(request, 'resourceSpans', 'resource_spans'), 'resourceSpans');
  for (let i = 0; i < resourceSpans.length; i++) {
    const path = `resourceSpans[${i}]`;
    const rs = object(resourceSpans[i], path);
    const resource: AttributeMap = {};
    const resourceIndex = out.resources.push(resource) - 1;
    const res = optionalObject(rs.resource, `${path}.resource`);
    if (res) keyValues(res.attributes, `${path}.resource.attributes`, resource);
    const scopeSpans = list(field(rs, 'scopeSpans', 'scope_spans'), `${path}.scopeSpans`);
    for (let j = 0; j < scopeSpans.length; j++) {
      const sp = `${path}.scopeSpans[${j}]`;
      const ss = object(scopeSpans[j], sp);
      const sc = optionalObject(ss.scope, `${sp}.scope`);
      const scope: IngestedSpan['scope'] = {
        name: sc ? (string(sc.name, `${sp}.scope.name`) ?? '') : '',
        version: sc ? (string(sc.version, `${sp}.scope.version`) ?? null) : null,
      };
      const spans = list(ss.spans, `${sp}.spans`);
      for (let k = 0; k < spans.length; k++) {
        if (out.spans.length >= options.maxSpans) throw new TooManySpansError(options.maxSpans);
        out.spans.push(decodeSpan(spans[k], `${sp}.spans[${k}]`, resourceIndex, scope));
      }
    }
  }
  return out;
}

type Json = Record<string, unknown>;

function fail(path: string, what: string): never {
  throw new OtlpDecodeError(`Malformed OTLP/JSON body: ${path} ${what}`);
}

function field(o: Json, camel: string, snake: string): unknown {
  const v = o[camel];
  return v === undefined ? o[snake] : v;
}

function object(v: unknown, path: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, 'must be an object');
  return v as Json;
}

function optionalObject(v: unknown, path: string): Json | null {
  return v === undefined || v === null ? null : object(v, path);
}

function list(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, 'must be an array');
  return v;
}

function string(v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(path, 'must be a string');
  return v;
}

function count(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff)
    fail(path, 'must be a non-negative integer');
  return n;
}

const UNSIGNED = /^\d{1,20}$/;

/** fixed64 nanoseconds → decimal string ("0" when absent). */
function unixNano(v: unknown, path: string): string {
  if (v === undefined || v === null) return '0';
  if (typeof v === 'string') {
    if (!UNSIGNED.test(v) || BigInt(v) > 0xffffffffffffffffn)
      fail(path, 'must be unsigned 64-bit nanoseconds');
    return BigInt(v).toString();
  }
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return BigInt(v).toString();
  fail(path, 'must be unsigned 64-bit nanoseconds (a decimal string or an integer)');
}

const SIGNED = /^-?\d{1,20}$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** int64 → a number when safe, else a decimal string. */
function int64(v: unknown, path: string): number | string {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) fail(path, 'must be an integer');
    return Number.isSafeInteger(v) ? v : BigInt(v).toString();
  }
  if (typeof v === 'string' && SIGNED.test(v)) {
    const b = BigInt(v);
    if (b < INT64_MIN || b > INT64_MAX) fail(path, 'is outside the int64 range');
    const n = Number(b);
    return Number.isSafeInteger(n) ? n : b.toString();
  }
  fail(path, 'must be an int64 (a decimal string or an integer)');
}

function double(v: unknown, path: string): number | string {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return v;
    const n = Number(v);
    if (v.trim() !== '' && !Number.isNaN(n)) return jsonDouble(n);
  }
  fail(path, 'must be a number (or "NaN", "Infinity", "-Infinity")');
}

function enumValue(
  v: unknown,
  path: string,
  names: readonly string[],
  prefix: string,
  byNumber: (n: number) => string,
): string {
  if (v === undefined || v === null) return names[0]!;
  if (typeof v === 'number' && Number.isInteger(v)) return byNumber(v);
  if (typeof v === 'string') {
    const name = v.startsWith(prefix) ? v.slice(prefix.length) : v;
    if (names.includes(name)) return name;
    if (/^\d+$/.test(v)) return byNumber(Number(v));
  }
  fail(path, `must be one of ${names.map((n) => prefix + n).join(', ')} or its number`);
}

const HEX = /^[0-9a-fA-F]*$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * A trace or span id → lowercase hex. Hex of the right length (OTLP/JSON), else base64 that
 * decodes to the right number of bytes; anything else is returned as it came, and the span is
 * rejected by the hygiene step (wrong length), not the whole request.
 */
function id(v: unknown, bytes: number, path: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') fail(path, 'must be a string');
  if (v.length === bytes * 2 && HEX.test(v)) return v.toLowerCase();
  if (v.length > 0 && BASE64.test(v)) {
    const decoded = Buffer.from(v, 'base64');
    if (decoded.length === bytes) return decoded.toString('hex');
  }
  return v;
}

function decodeSpan(
  v: unknown,
  path: string,
  resourceIndex: number,
  scope: IngestedSpan['scope'],
): IngestedSpan {
  const s = object(v, path);
  const status = optionalObject(s.status, `${path}.status`);
  const span: IngestedSpan = {
    traceId: id(field(s, 'traceId', 'trace_id'), 16, `${path}.traceId`),
    spanId: id(field(s, 'spanId', 'span_id'), 8, `${path}.spanId`),
    parentSpanId: id(field(s, 'parentSpanId', 'parent_span_id'), 8, `${path}.parentSpanId`) || null,
    traceState: string(field(s, 'traceState', 'trace_state'), `${path}.traceState`) || null,
    name: string(s.name, `${path}.name`) ?? '',
    kind: enumValue(
      s.kind,
      `${path}.kind`,
      SPAN_KINDS,
      'SPAN_KIND_',
      spanKindOf,
    ) as IngestedSpan['kind'],
    startTimeUnixNano: unixNano(
      field(s, 'startTimeUnixNano', 'start_time_unix_nano'),
      `${path}.startTimeUnixNano`,
    ),
    endTimeUnixNano: unixNano(
      field(s, 'endTimeUnixNano', 'end_time_unix_nano'),
      `${path}.endTimeUnixNano`,
    ),
    status: {
      code: status
        ? (enumValue(
            status.code,
            `${path}.status.code`,
            STATUS_CODES,
            'STATUS_CODE_',
            statusCodeOf,
          ) as IngestedSpan['status']['code'])
        : 'UNSET',
      message: status ? string(status.message, `${path}.status.message`) || null : null,
    },
    attributes: keyValues(s.attributes, `${path}.attributes`, {}),
    events: list(s.events, `${path}.events`).map((e, i) => decodeEvent(e, `${path}.events[${i}]`)),
    links: list(s.links, `${path}.links`).map((l, i) => decodeLink(l, `${path}.links[${i}]`)),
    resourceIndex,
    scope,
    droppedAttributesCount: count(
      field(s, 'droppedAttributesCount', 'dropped_attributes_count'),
      `${path}.droppedAttributesCount`,
    ),
    droppedEventsCount: count(
      field(s, 'droppedEventsCount', 'dropped_events_count'),
      `${path}.droppedEventsCount`,
    ),
    droppedLinksCount: count(
      field(s, 'droppedLinksCount', 'dropped_links_count'),
      `${path}.droppedLinksCount`,
    ),
  };
  return span;
}

function decodeEvent(v: unknown, path: string): SpanEvent {
  const e = object(v, path);
  return {
    name: string(e.name, `${path}.name`) ?? '',
    timeUnixNano: unixNano(field(e, 'timeUnixNano', 'time_unix_nano'), `${path}.timeUnixNano`),
    attributes: keyValues(e.attributes, `${path}.attributes`, {}),
  };
}

function decodeLink(v: unknown, path: string): SpanLink {
  const l = object(v, path);
  return {
    traceId: id(field(l, 'traceId', 'trace_id'), 16, `${path}.traceId`),
    spanId: id(field(l, 'spanId', 'span_id'), 8, `${path}.spanId`),
    attributes: keyValues(l.attributes, `${path}.attributes`, {}),
  };
}

/** A list of KeyValue → `target` (a later duplicate key wins). */
function keyValues(v: unknown, path: string, target: AttributeMap): AttributeMap {
  const items = list(v, path);
  for (let i = 0; i < items.length; i++) {
    const kv = object(items[i], `${path}[${i}]`);
    const key = string(kv.key, `${path}[${i}].key`) ?? '';
    setKey(target, key, anyValue(kv.value, `${path}[${i}].value`));
  }
  return target;
}

/** AnyValue → JSON; an empty AnyValue is null. */
function anyValue(v: unknown, path: string): unknown {
  if (v === undefined || v === null) return null;
  const a = object(v, path);
  let x = field(a, 'stringValue', 'string_value');
  if (x !== undefined) return string(x, `${path}.stringValue`) ?? null;
  x = field(a, 'boolValue', 'bool_value');
  if (x !== undefined) {
    if (typeof x !== 'boolean') fail(`${path}.boolValue`, 'must be a boolean');
    return x;
  }
  x = field(a, 'intValue', 'int_value');
  if (x !== undefined) return int64(x, `${path}.intValue`);
  x = field(a, 'doubleValue', 'double_value');
  if (x !== undefined) return double(x, `${path}.doubleValue`);
  x = field(a, 'arrayValue', 'array_value');
  if (x !== undefined) {
    const values = list(object(x, `${path}.arrayValue`).values, `${path}.arrayValue.values`);
    return values.map((item, i) => anyValue(item, `${path}.arrayValue.values[${i}]`));
  }
  x = field(a, 'kvlistValue', 'kvlist_value');
  if (x !== undefined)
    return keyValues(object(x, `${path}.kvlistValue`).values, `${path}.kvlistValue.values`, {});
  x = field(a, 'bytesValue', 'bytes_value');
  if (x !== undefined) {
    const b = string(x, `${path}.bytesValue`) ?? '';
    if (!BASE64.test(b)) fail(`${path}.bytesValue`, 'must be base64');
    return b;
  }
  return null;
}
