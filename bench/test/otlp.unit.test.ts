import { describe, expect, it } from 'vitest';
import {
  ChunkedTraceTemplate,
  encodeExportTraceServiceRequest,
  FILTER_KEY,
  filterValue,
  genTrace,
  ProtoWriter,
  TraceTemplate,
} from '../lib/otlp.ts';

/** A generic protobuf wire-format reader: field number → list of raw values. */
type Field = { wire: number; value: bigint | Buffer };
function decode(buf: Buffer): Map<number, Field[]> {
  const out = new Map<number, Field[]>();
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    let value: bigint | Buffer;
    if (wire === 0) value = varint();
    else if (wire === 1) {
      value = buf.readBigUInt64LE(pos);
      pos += 8;
    } else if (wire === 2) {
      const n = Number(varint());
      value = buf.subarray(pos, pos + n);
      pos += n;
    } else if (wire === 5) {
      value = BigInt(buf.readUInt32LE(pos));
      pos += 4;
    } else throw new Error(`wire type ${wire}`);
    if (!out.has(field)) out.set(field, []);
    out.get(field)!.push({ wire, value });
  }
  if (pos !== buf.length) throw new Error('trailing bytes');
  return out;
}
const msgs = (m: Map<number, Field[]>, f: number) => (m.get(f) ?? []).map((x) => x.value as Buffer);
const one = (m: Map<number, Field[]>, f: number) => msgs(m, f)[0]!;
const str = (m: Map<number, Field[]>, f: number) => one(m, f).toString('utf8');

/** KeyValue list → plain object (string / int / double / bool). */
function attrs(list: Buffer[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const kv of list) {
    const d = decode(kv);
    const v = decode(one(d, 2));
    if (v.has(1)) o[str(d, 1)] = str(v, 1);
    else if (v.has(2)) o[str(d, 1)] = v.get(2)![0]!.value === 1n;
    else if (v.has(3)) o[str(d, 1)] = BigInt.asIntN(64, v.get(3)![0]!.value as bigint);
    else if (v.has(4)) {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(v.get(4)![0]!.value as bigint);
      o[str(d, 1)] = b.readDoubleLE(0);
    }
  }
  return o;
}

describe('OTLP protobuf encoder', () => {
  it('encodes primitives as protobuf does (known bytes)', () => {
    const w = new ProtoWriter();
    w.varint(150);
    w.string(2, 'testing');
    w.varint(-1);
    expect(w.finish().toString('hex')).toBe('9601' + '120774657374696e67' + 'ffffffffffffffffff01');
    const m = new ProtoWriter();
    m.message(3, () => {
      m.uvarint(0x96);
      m.message(1, () => m.string(2, 'x'.repeat(200))); // a 2-byte length inside
    });
    // Lengths are minimal varints, nested ones included.
    expect(m.finish().toString('hex')).toBe(
      '1a' + 'd001' + '9601' + '0a' + 'cb01' + '12' + 'c801' + '78'.repeat(200),
    );
  });

  it('round-trips an ExportTraceServiceRequest', () => {
    const traceId = Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex');
    const rs = genTrace(traceId, 42, { spans: 12, attrBytes: 1024 }, 1_767_225_600_000);
    const body = encodeExportTraceServiceRequest([rs]);
    const req = decode(body);
    const resourceSpans = msgs(req, 1);
    expect(resourceSpans).toHaveLength(1);
    const r = decode(resourceSpans[0]!);
    expect(attrs(msgs(decode(one(r, 1)), 1))['service.name']).toBe('support-bot');
    const scopeSpans = decode(one(r, 2));
    expect(str(decode(one(scopeSpans, 1)), 1)).toBe('cairn.bench');
    const spans = msgs(scopeSpans, 2).map(decode);
    expect(spans).toHaveLength(12);
    const [root, child] = [spans[0]!, spans[3]!]; // span 3 is an LLM span
    expect(one(root, 1).toString('hex')).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(one(root, 2)).toHaveLength(8);
    expect(root.has(4)).toBe(false); // no parent
    expect(str(root, 5)).toBe('support_agent');
    expect(root.get(7)![0]!.value).toBe(1_767_225_600_000n * 1_000_000n);
    expect(root.get(7)![0]!.wire).toBe(1); // fixed64
    const rootAttrs = attrs(msgs(root, 9));
    expect(rootAttrs[FILTER_KEY]).toBe(filterValue(42));
    expect(rootAttrs['cairn.span.type']).toBe('AGENT');
    expect(JSON.parse(rootAttrs['cairn.span.inputs'] as string)).toHaveProperty('question');
    expect(one(child, 4).equals(one(root, 2))).toBe(true);
    expect(child.get(6)![0]!.value).toBe(3n); // CLIENT (LLM span)
    const llm = attrs(msgs(child, 9));
    expect(llm['gen_ai.request.model']).toBeTypeOf('string');
    expect(llm['gen_ai.usage.input_tokens']).toBeTypeOf('bigint');
    expect(llm['gen_ai.request.temperature']).toBe(0.2);
    const event = decode(one(child, 11));
    expect(str(event, 2)).toBe('gen_ai.choice');
    expect(decode(one(child, 15)).get(3)![0]!.value).toBe(1n); // STATUS_CODE_OK
    // The attribute budget is roughly met.
    const size = Object.values(llm).reduce<number>((n, v) => n + String(v).length, 0);
    expect(size).toBeGreaterThan(800);
    expect(size).toBeLessThan(1300);
  });

  it('template bodies differ only in the trace id', () => {
    const t = new TraceTemplate({ spans: 25, attrBytes: 512 });
    const a = t.next();
    const b = t.next();
    expect(a.traceId).not.toBe(b.traceId);
    expect(a.body.length).toBe(t.body.length);
    const spans = msgs(decode(one(decode(one(decode(a.body), 1)), 2)), 2).map(decode);
    expect(spans).toHaveLength(25);
    for (const s of spans) expect(one(s, 1).toString('hex')).toBe(a.traceId);
  });

  it("cuts a trace the way MLflow's client exports it (5 spans per request, root last)", () => {
    const t = new ChunkedTraceTemplate({ spans: 12, attrBytes: 256 }, 5);
    const { bodies, traceId } = t.next();
    expect(bodies).toHaveLength(3);
    const spansOf = (b: Buffer) => msgs(decode(one(decode(one(decode(b), 1)), 2)), 2).map(decode);
    expect(bodies.map((b) => spansOf(b).length)).toEqual([5, 5, 2]);
    const last = spansOf(bodies[2]!).at(-1)!;
    expect(str(last, 5)).toBe('support_agent');
    for (const b of bodies)
      for (const s of spansOf(b)) expect(one(s, 1).toString('hex')).toBe(traceId);
  });
});
