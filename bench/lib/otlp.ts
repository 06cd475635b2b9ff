/**
 * OTLP/HTTP protobuf bodies for B5: a small hand-written encoder of `ExportTraceServiceRequest`
 * (opentelemetry/proto/collector/trace/v1, the messages and field numbers below) and a
 * generator of GenAI-shaped traces. Both systems receive the very same bytes.
 *
 * Only what the benchmark sends is encoded: resource and span attributes (string, int, double,
 * bool values), events, status, kind, ids and times. Field numbers from
 * opentelemetry-proto v1 (trace.proto, common.proto, resource.proto, trace_service.proto).
 */
import { randomBytes } from 'node:crypto';

// ---------------------------------------------------------------------------------------------
// Wire format

const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  Len = 2,
  Fixed32 = 5,
}

/** A growable byte buffer with the protobuf primitives (lengths are patched in place). */
export class ProtoWriter {
  private buf = Buffer.allocUnsafe(1 << 16);
  pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    if (x < 0x80n) {
      this.ensure(1);
      this.buf[this.pos++] = Number(x);
      return;
    }
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  /** Small non-negative integers without BigInt (tags, lengths). */
  uvarint(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  tag(field: number, wire: WireType): void {
    this.uvarint((field << 3) | wire);
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, WireType.Len);
    this.uvarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(field: number, s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.tag(field, WireType.Len);
    this.uvarint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  fixed64(field: number, v: bigint): void {
    this.tag(field, WireType.Fixed64);
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.pos);
    this.pos += 8;
  }

  double(field: number, v: number): void {
    this.tag(field, WireType.Fixed64);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** Length slots of sub-messages, in position order: where, and the canonical length. */
  private slots: { at: number; len: number }[] = [];
  /** Per open message: how many bytes its finished sub-messages' slots shrink by. */
  private shrinkStack: number[] = [];

  /**
   * A length-delimited sub-message. The body is written after a 5-byte length slot, so that
   * nothing is copied while encoding; `finish()` then writes every length as its minimal varint
   * (the canonical encoding protobuf libraries produce).
   */
  message(field: number, body: () => void): void {
    this.tag(field, WireType.Len);
    this.ensure(5);
    const slot = { at: this.pos, len: 0 };
    this.slots.push(slot);
    this.pos += 5;
    this.shrinkStack.push(0);
    body();
    const inner = this.shrinkStack.pop()!;
    slot.len = this.pos - slot.at - 5 - inner;
    const shrink = 5 - varintSize(slot.len);
    if (this.shrinkStack.length > 0)
      this.shrinkStack[this.shrinkStack.length - 1]! += inner + shrink;
  }

  finish(): Buffer {
    let size = this.pos;
    for (const s of this.slots) size -= 5 - varintSize(s.len);
    const out = Buffer.allocUnsafe(size);
    let from = 0;
    let to = 0;
    for (const s of this.slots) {
      to += this.buf.copy(out, to, from, s.at);
      let v = s.len;
      while (v >= 0x80) {
        out[to++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      out[to++] = v;
      from = s.at + 5;
    }
    to += this.buf.copy(out, to, from, this.pos);
    if (to !== size) throw new Error(`protobuf writer: wrote ${to} of ${size} bytes`);
    return out;
  }
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// OTLP messages

export type AttrValue = string | number | boolean | { int: number | bigint };

export interface OtlpEvent {
  name: string;
  timeUnixNano: bigint;
  attributes?: Record<string, AttrValue>;
}

export interface OtlpSpan {
  traceId: Uint8Array; // 16 bytes
  spanId: Uint8Array; // 8 bytes
  parentSpanId?: Uint8Array;
  name: string;
  /** SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, AttrValue>;
  events?: OtlpEvent[];
  /** StatusCode: 0 unset, 1 ok, 2 error. */
  status?: { code: number; message?: string };
}

export interface OtlpResourceSpans {
  resource: Record<string, AttrValue>;
  scope: { name: string; version?: string };
  spans: OtlpSpan[];
}

function anyValue(w: ProtoWriter, v: AttrValue): void {
  // AnyValue: string_value 1, bool_value 2, int_value 3, double_value 4
  if (typeof v === 'string') w.string(1, v);
  else if (typeof v === 'boolean') {
    w.tag(2, WireType.Varint);
    w.uvarint(v ? 1 : 0);
  } else if (typeof v === 'number') {
    if (Number.isInteger(v)) {
      w.tag(3, WireType.Varint);
      w.varint(v);
    } else w.double(4, v);
  } else {
    w.tag(3, WireType.Varint);
    w.varint(v.int);
  }
}

function keyValues(w: ProtoWriter, field: number, attrs: Record<string, AttrValue>): void {
  for (const [k, v] of Object.entries(attrs)) {
    // KeyValue: key 1, value 2
    w.message(field, () => {
      w.string(1, k);
      w.message(2, () => anyValue(w, v));
    });
  }
}

/** Encodes an `ExportTraceServiceRequest`. */
export function encodeExportTraceServiceRequest(resourceSpans: OtlpResourceSpans[]): Buffer {
  const w = new ProtoWriter();
  for (const rs of resourceSpans) {
    // ExportTraceServiceRequest.resource_spans 1
    w.message(1, () => {
      // ResourceSpans: resource 1, scope_spans 2
      w.message(1, () => keyValues(w, 1, rs.resource)); // Resource.attributes 1
      w.message(2, () => {
        // ScopeSpans: scope 1, spans 2
        w.message(1, () => {
          w.string(1, rs.scope.name); // InstrumentationScope.name 1
          if (rs.scope.version) w.string(2, rs.scope.version); // version 2
        });
        for (const s of rs.spans) w.message(2, () => span(w, s));
      });
    });
  }
  return w.finish();
}

function span(w: ProtoWriter, s: OtlpSpan): void {
  // Span: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6, start 7, end 8,
  // attributes 9, events 11, status 15
  w.bytes(1, s.traceId);
  w.bytes(2, s.spanId);
  if (s.parentSpanId) w.bytes(4, s.parentSpanId);
  w.string(5, s.name);
  if (s.kind) {
    w.tag(6, WireType.Varint);
    w.uvarint(s.kind);
  }
  w.fixed64(7, s.startTimeUnixNano);
  w.fixed64(8, s.endTimeUnixNano);
  keyValues(w, 9, s.attributes);
  for (const e of s.events ?? []) {
    // Event: time_unix_nano 1, name 2, attributes 3
    w.message(11, () => {
      w.fixed64(1, e.timeUnixNano);
      w.string(2, e.name);
      keyValues(w, 3, e.attributes ?? {});
    });
  }
  if (s.status) {
    const st = s.status;
    // Status: message 2, code 3
    w.message(15, () => {
      if (st.message) w.string(2, st.message);
      if (st.code) {
        w.tag(3, WireType.Varint);
        w.uvarint(st.code);
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// GenAI-shaped traces

/** The span attribute B5's read query filters on (set on root spans, 100 distinct values). */
export const FILTER_KEY = 'app.customer_id';
export const FILTER_VALUES = 100;
export const filterValue = (i: number): string =>
  `cust-${String(i % FILTER_VALUES).padStart(4, '0')}`;

const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4-5', 'claude-haiku-4-5'];
const TOOLS = ['search_docs', 'get_weather', 'sql_query', 'calculator'];
const WORDS =
  'the a user asks about retrieval augmented generation vector store embeddings latency token budget answer context chunk passage policy refund order shipping invoice account'.split(
    ' ',
  );

/** Deterministic filler text of about `bytes` UTF-8 bytes. */
function text(bytes: number, seed: number): string {
  const parts: string[] = [];
  let n = 0;
  let x = seed >>> 0 || 1;
  while (n < bytes) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const w = WORDS[x % WORDS.length]!;
    parts.push(w);
    n += w.length + 1;
  }
  return parts.join(' ').slice(0, Math.max(0, bytes));
}

export interface TraceShape {
  spans: number;
  /** Approximate bytes of attribute values per span (inputs ~60 %, outputs ~35 %, the rest). */
  attrBytes: number;
}

/** The filter attribute's value on the ingest cells' traces (never searched for). */
export const INGEST_FILTER_VALUE = 'cust-ingest';

/**
 * One trace of `shape.spans` spans: an AGENT root, a 10-ary tree of LLM / TOOL / RETRIEVER
 * children with `cairn.span.inputs` / `cairn.span.outputs` JSON strings sized to the shape,
 * OTel GenAI model, provider and token attributes on LLM spans, and on the root `session.id`,
 * `user.id` and the filter attribute `FILTER_KEY` = `filterValue(traceIndex)` (a negative index:
 * `INGEST_FILTER_VALUE`).
 */
export function genTrace(
  traceId: Uint8Array,
  traceIndex: number,
  shape: TraceShape,
  startMs: number,
): OtlpResourceSpans {
  const spans: OtlpSpan[] = [];
  const t0 = BigInt(startMs) * 1_000_000n;
  const inBytes = Math.max(16, Math.round(shape.attrBytes * 0.6) - 40);
  const outBytes = Math.max(16, Math.round(shape.attrBytes * 0.35) - 40);
  const spanId = (i: number) => {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(0x5eed0000 | (traceIndex & 0xffff), 0);
    b.writeUInt32BE(i + 1, 4);
    return b;
  };
  for (let i = 0; i < shape.spans; i++) {
    const start = t0 + BigInt(i) * 1_000_000n;
    const end = i === 0 ? t0 + BigInt(shape.spans + 5) * 1_000_000n : start + 800_000n;
    const role = i === 0 ? 'AGENT' : (['LLM', 'TOOL', 'RETRIEVER'] as const)[i % 3]!;
    const model = MODELS[(traceIndex + i) % MODELS.length]!;
    const attributes: Record<string, AttrValue> = { 'cairn.span.type': role };
    if (role === 'LLM') {
      attributes['gen_ai.operation.name'] = 'chat';
      attributes['gen_ai.request.model'] = model;
      attributes['gen_ai.response.model'] = model;
      attributes['gen_ai.provider.name'] = model.startsWith('gpt') ? 'openai' : 'anthropic';
      attributes['gen_ai.usage.input_tokens'] = 200 + ((traceIndex * 7 + i * 13) % 800);
      attributes['gen_ai.usage.output_tokens'] = 50 + ((traceIndex * 3 + i * 5) % 300);
      attributes['gen_ai.request.temperature'] = 0.2;
      attributes['cairn.span.inputs'] = JSON.stringify({
        messages: [
          { role: 'system', content: 'You are a helpful support agent.' },
          { role: 'user', content: text(inBytes - 90, traceIndex * 31 + i) },
        ],
      });
      attributes['cairn.span.outputs'] = JSON.stringify({
        role: 'assistant',
        content: text(outBytes - 30, traceIndex * 17 + i),
      });
    } else if (role === 'TOOL') {
      attributes['gen_ai.operation.name'] = 'execute_tool';
      attributes['gen_ai.tool.name'] = TOOLS[i % TOOLS.length]!;
      attributes['cairn.span.inputs'] = JSON.stringify({ query: text(inBytes, i) });
      attributes['cairn.span.outputs'] = JSON.stringify({ result: text(outBytes, i + 7) });
    } else if (role === 'RETRIEVER') {
      attributes['cairn.span.inputs'] = JSON.stringify({ query: text(inBytes, i + 3) });
      attributes['cairn.span.outputs'] = JSON.stringify({
        documents: [{ id: `doc-${i}`, score: 0.87, text: text(outBytes - 40, i + 11) }],
      });
    } else {
      attributes['session.id'] = `session-${traceIndex % 997}`;
      attributes['user.id'] = `user-${traceIndex % 211}`;
      attributes[FILTER_KEY] = traceIndex < 0 ? INGEST_FILTER_VALUE : filterValue(traceIndex);
      attributes['cairn.span.inputs'] = JSON.stringify({ question: text(inBytes, traceIndex) });
      attributes['cairn.span.outputs'] = JSON.stringify({ answer: text(outBytes, traceIndex + 1) });
    }
    spans.push({
      traceId,
      spanId: spanId(i),
      ...(i === 0 ? {} : { parentSpanId: spanId(Math.floor((i - 1) / 10)) }),
      name: i === 0 ? 'support_agent' : `${role.toLowerCase()}_${i}`,
      kind: role === 'LLM' ? 3 : 1,
      startTimeUnixNano: start,
      endTimeUnixNano: end,
      attributes,
      ...(role === 'LLM'
        ? {
            events: [
              {
                name: 'gen_ai.choice',
                timeUnixNano: start + 700_000n,
                attributes: { index: 0, finish_reason: 'stop' },
              },
            ],
          }
        : {}),
      status: { code: 1 },
    });
  }
  return {
    resource: {
      'service.name': 'support-bot',
      'service.version': '1.4.2',
      'deployment.environment.name': 'bench',
      'telemetry.sdk.language': 'python',
      'telemetry.sdk.name': 'opentelemetry',
    },
    scope: { name: 'cairn.bench', version: '1' },
    spans,
  };
}

/**
 * A pre-encoded trace body whose trace id is replaced per request: the template's random id
 * is located once (16 random bytes do not occur by chance elsewhere in the body) and each
 * `next()` copies the body and writes a fresh random id at those offsets. This keeps the load
 * generator's CPU (it shares the 2 cores with both servers) far below a full re-encode.
 */
export class TraceTemplate {
  readonly body: Buffer;
  readonly offsets: number[] = [];
  readonly spans: number;

  constructor(shape: TraceShape, traceIndex = 0, startMs = Date.now()) {
    const id = randomBytes(16);
    this.body = encodeExportTraceServiceRequest([genTrace(id, traceIndex, shape, startMs)]);
    this.spans = shape.spans;
    for (let at = this.body.indexOf(id); at >= 0; at = this.body.indexOf(id, at + 16))
      this.offsets.push(at);
    if (this.offsets.length !== shape.spans)
      throw new Error(`trace template: ${this.offsets.length} trace ids for ${shape.spans} spans`);
  }

  /** A copy of the body with a new random trace id; returns the body and the id (hex). */
  next(): { body: Buffer; traceId: string } {
    const id = randomBytes(16);
    return { body: patched(this.body, this.offsets, id), traceId: id.toString('hex') };
  }
}

function patched(template: Buffer, offsets: readonly number[], id: Buffer): Buffer {
  const body = Buffer.allocUnsafe(template.length);
  template.copy(body);
  for (const at of offsets) id.copy(body, at);
  return body;
}

/**
 * The same trace cut the way MLflow's Python client exports it: its `BatchSpanProcessor` sends
 * at most `chunk` spans per OTLP request (MLFLOW_ASYNC_TRACE_LOGGING_MAX_SPAN_BATCH_SIZE,
 * default 5), in the order spans end (children before the root).
 */
export class ChunkedTraceTemplate {
  readonly bodies: { body: Buffer; offsets: number[] }[] = [];
  readonly spans: number;
  readonly startMs: number;
  readonly durationMs: number;
  readonly rootName: string;

  constructor(shape: TraceShape, chunk: number, traceIndex = 0, startMs = Date.now()) {
    const id = randomBytes(16);
    const rs = genTrace(id, traceIndex, shape, startMs);
    const ordered = [...rs.spans.slice(1), rs.spans[0]!];
    for (let i = 0; i < ordered.length; i += chunk) {
      const body = encodeExportTraceServiceRequest([{ ...rs, spans: ordered.slice(i, i + chunk) }]);
      const offsets: number[] = [];
      for (let at = body.indexOf(id); at >= 0; at = body.indexOf(id, at + 16)) offsets.push(at);
      this.bodies.push({ body, offsets });
    }
    this.spans = shape.spans;
    this.startMs = startMs;
    this.durationMs = shape.spans + 5;
    this.rootName = rs.spans[0]!.name;
  }

  next(): { bodies: Buffer[]; traceId: string } {
    const id = randomBytes(16);
    return {
      bodies: this.bodies.map((b) => patched(b.body, b.offsets, id)),
      traceId: id.toString('hex'),
    };
  }
}
