/**
 * Encoders of what the OTLP/HTTP route answers: `ExportTraceServiceResponse`
 * (`1 partial_success { 1 rejected_spans int64, 2 error_message string }`) and
 * `google.rpc.Status` (`1 code int32, 2 message string, 3 details`) for errors, in protobuf and in
 * OTLP/JSON.
 */

export interface PartialSuccess {
  rejectedSpans: number;
  errorMessage: string;
}

/** gRPC status codes used in error bodies. */
export const RPC_CODE = {
  INVALID_ARGUMENT: 3,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

function varint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function lengthDelimited(out: number[], field: number, bytes: ArrayLike<number>): void {
  varint(out, (field << 3) | 2);
  varint(out, bytes.length);
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]!);
}

/** An empty message (zero bytes) when nothing was rejected. */
export function encodeExportResponseProtobuf(partial: PartialSuccess | null): Buffer {
  if (!partial) return Buffer.alloc(0);
  const inner: number[] = [];
  if (partial.rejectedSpans > 0) {
    varint(inner, (1 << 3) | 0);
    varint(inner, partial.rejectedSpans);
  }
  if (partial.errorMessage) lengthDelimited(inner, 2, Buffer.from(partial.errorMessage, 'utf8'));
  const out: number[] = [];
  lengthDelimited(out, 1, inner);
  return Buffer.from(out);
}

export function encodeExportResponseJson(partial: PartialSuccess | null): string {
  if (!partial) return '{}';
  return JSON.stringify({
    partialSuccess: {
      rejectedSpans: String(partial.rejectedSpans),
      errorMessage: partial.errorMessage,
    },
  });
}

export function encodeStatusProtobuf(code: number, message: string): Buffer {
  const out: number[] = [];
  varint(out, (1 << 3) | 0);
  varint(out, code);
  lengthDelimited(out, 2, Buffer.from(message, 'utf8'));
  return Buffer.from(out);
}

export function encodeStatusJson(code: number, message: string): string {
  return JSON.stringify({ code, message });
}
