import { ASSESSMENT_SOURCE_TYPES, type AssessmentSource } from '@cairn/events';
import { invalidArgument } from '../errors.ts';
import { checkText } from '../input-hygiene.ts';

/** Documented in docs/evaluation.md ("Limits"). Lengths count UTF-16 code units, sizes UTF-8 bytes of JSON. */
export const EVALUATION_LIMITS = {
  assessmentName: 256,
  sourceId: 256,
  valueBytes: 64 * 1024,
  rationale: 16 * 1024,
  error: 16 * 1024,
  metadataBytes: 16 * 1024,
  datasetName: 256,
  datasetTags: 50,
  recordsPerAppend: 500,
  recordBytes: 128 * 1024,
  tracesPerAppend: 500,
  rowsPerCall: 100,
  scoresPerRow: 50,
  rowFieldBytes: 128 * 1024,
  rowKey: 128,
  scorers: 100,
  modelId: 500,
  /** One event must fit a Kafka record (below 1 MB) with its envelope. */
  eventBytes: 768 * 1024,
} as const;

const HEX32 = /^[0-9a-f]{32}$/u;
const HEX16 = /^[0-9a-f]{16}$/u;
const ROW_KEY = /^[A-Za-z0-9_.:-]+$/u;

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
}

export function checkHexId(field: string, value: string, what = 'id'): string {
  if (!HEX32.test(value))
    throw invalidArgument(`${field} must be a ${what} of 32 lowercase hex characters`, { field });
  return value;
}

export function checkTraceId(field: string, value: string): string {
  return checkHexId(field, value, 'trace id');
}

export function checkSpanId(field: string, value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (!HEX16.test(value))
    throw invalidArgument(`${field} must be a span id of 16 lowercase hex characters`, { field });
  return value;
}

export function checkName(field: string, raw: string, max: number): string {
  const name = raw.trim();
  if (name.length === 0) throw invalidArgument(`${field} must not be empty`, { field });
  return checkText(field, name, max);
}

export function checkJsonSize(field: string, value: unknown, maxBytes: number): void {
  const size = jsonBytes(value);
  if (size > maxBytes)
    throw invalidArgument(`${field} is larger than ${maxBytes} bytes of JSON (${size})`, {
      field,
      maxBytes,
      size,
    });
}

export function checkJsonObject(
  field: string,
  value: unknown,
  maxBytes: number,
): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw invalidArgument(`${field} must be a JSON object`, { field });
  checkJsonSize(field, value, maxBytes);
  return value as Record<string, unknown>;
}

export function checkSource(
  field: string,
  source: { type: string; id: string } | null | undefined,
  fallbackId: string,
): AssessmentSource {
  if (!source) return { type: 'HUMAN', id: fallbackId || 'unknown' };
  if (!(ASSESSMENT_SOURCE_TYPES as readonly string[]).includes(source.type))
    throw invalidArgument(`${field}.type must be one of ${ASSESSMENT_SOURCE_TYPES.join(', ')}`, {
      field,
    });
  return {
    type: source.type as AssessmentSource['type'],
    id: checkName(`${field}.id`, source.id, EVALUATION_LIMITS.sourceId),
  };
}

export function checkRowKey(field: string, value: string): string {
  if (value.length === 0 || value.length > EVALUATION_LIMITS.rowKey || !ROW_KEY.test(value))
    throw invalidArgument(
      `${field} must be 1 to ${EVALUATION_LIMITS.rowKey} characters of letters, digits, "_", ".", ":" and "-" (the contract's key is the sha256 hex of the canonical inputs)`,
      { field },
    );
  return value;
}

export function checkEventSize(field: string, data: unknown): void {
  const size = jsonBytes(data);
  if (size > EVALUATION_LIMITS.eventBytes)
    throw invalidArgument(
      `${field}: one call may carry at most ${EVALUATION_LIMITS.eventBytes} bytes of JSON (${size}); send fewer per call`,
      { field, maxBytes: EVALUATION_LIMITS.eventBytes, size },
    );
}

/**
 * The value model (docs/evaluation.md): true / "yes" → 1, false / "no" → 0, finite numbers as
 * themselves; anything else (other strings, objects, null) has no numeric value.
 */
export function numericValue(value: unknown): number | null {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (v === 'yes') return 1;
    if (v === 'no') return 0;
  }
  return null;
}
