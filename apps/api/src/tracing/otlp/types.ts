import type { AttributeMap, IngestedSpan, SpanKind, SpanStatusCode } from '@cairn/events';

/**
 * What both OTLP decoders (protobuf and JSON) produce: the request's spans already in the
 * `SpansIngested` span shape, and one attribute map per `ResourceSpans` (`resourceIndex` points
 * into `resources`). Nothing is validated or cleaned yet: ids may have the wrong length (hex of
 * whatever bytes came), strings may hold NUL, values may be of any size. `span-hygiene.ts`
 * decides what is kept.
 */
export interface DecodedRequest {
  resources: AttributeMap[];
  spans: IngestedSpan[];
}

/** A body that is not a well-formed OTLP request: the route answers 400 with the message. */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
}

/** More spans in one request than the route accepts (400). */
export class TooManySpansError extends Error {
  override readonly name = 'TooManySpansError';
  constructor(readonly limit: number) {
    super(`More than ${limit} spans in one request; send them in smaller batches`);
  }
}

export interface DecodeOptions {
  /** Stop decoding (TooManySpansError) past this many spans. */
  maxSpans: number;
}

export const SPAN_KINDS: readonly SpanKind[] = [
  'UNSPECIFIED',
  'INTERNAL',
  'SERVER',
  'CLIENT',
  'PRODUCER',
  'CONSUMER',
];
export const STATUS_CODES: readonly SpanStatusCode[] = ['UNSET', 'OK', 'ERROR'];

/** An enum number outside the known values maps to the enum's zero value, as proto3 does. */
export function spanKindOf(n: number): SpanKind {
  return SPAN_KINDS[n] ?? 'UNSPECIFIED';
}
export function statusCodeOf(n: number): SpanStatusCode {
  return STATUS_CODES[n] ?? 'UNSET';
}

/**
 * Sets an attribute on a map built by a decoder. `__proto__` is an ordinary key here (an
 * assignment would change the object's prototype instead of adding the key).
 */
export function setKey(map: AttributeMap, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(map, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else map[key] = value;
}
