import { MlflowError } from './mlflow.errors.ts';

/**
 * Reading proto-JSON request messages (docs/mlflow-compatibility.md): a field may be absent or
 * null; int64 comes as a string or a number; GET query parameters are strings (repeated ones
 * lists). Every wrong type is INVALID_PARAMETER_VALUE naming the field, as MLflow's server does.
 */
export type Message = Record<string, unknown>;

const bad = (message: string) => new MlflowError('INVALID_PARAMETER_VALUE', message);

export function optionalString(msg: Message, field: string): string | null {
  const v = msg[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string')
    throw bad(`Invalid value ${JSON.stringify(v)} for parameter '${field}': expected a string`);
  return v;
}

export function requireString(msg: Message, field: string): string {
  const v = optionalString(msg, field);
  if (v === null || v === '')
    throw bad(
      `Missing value for required parameter '${field}'. See the API docs for more information about request parameters.`,
    );
  return v;
}

/** An int64 field: a JSON number or a decimal string (proto-JSON writes int64 as strings). */
export function optionalInt(msg: Message, field: string): number | null {
  const v = msg[field];
  if (v === undefined || v === null || v === '') return null;
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n))
    throw bad(`Invalid value ${JSON.stringify(v)} for parameter '${field}': expected an integer`);
  return n;
}

export function requireInt(msg: Message, field: string): number {
  const v = optionalInt(msg, field);
  if (v === null) throw bad(`Missing value for required parameter '${field}'.`);
  return v;
}

/**
 * A double field: a number, or one of proto-JSON's strings "NaN", "Infinity", "-Infinity"
 * (a decimal string is accepted too, as protobuf's parser does).
 */
export function requireDouble(msg: Message, field: string): number {
  const v = msg[field];
  if (v === undefined || v === null) throw bad(`Missing value for required parameter '${field}'.`);
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity' || v === 'inf') return Infinity;
    if (v === '-Infinity' || v === '-inf') return -Infinity;
    if (/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v.trim())) return Number(v);
  }
  throw bad(`Invalid value ${JSON.stringify(v)} for parameter '${field}': expected a number`);
}

export function optionalBool(msg: Message, field: string): boolean | null {
  const v = msg[field];
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'True') return true;
  if (v === 'false' || v === 'False') return false;
  throw bad(`Invalid value ${JSON.stringify(v)} for parameter '${field}': expected a boolean`);
}

/** A repeated field: absent → [], a single GET value → [value]. */
export function list(msg: Message, field: string): unknown[] {
  const v = msg[field];
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

export function stringList(msg: Message, field: string): string[] {
  return list(msg, field).map((v, i) => {
    if (typeof v !== 'string')
      throw bad(
        `Invalid value ${JSON.stringify(v)} for parameter '${field}[${i}]': expected a string`,
      );
    return v;
  });
}

/** A repeated message field: every element must be an object. */
export function messageList(msg: Message, field: string): Message[] {
  return list(msg, field).map((v, i) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw bad(`Invalid value for parameter '${field}[${i}]': expected an object`);
    return v as Message;
  });
}

/** `{key, value}` entries (tags, params); a missing value is "" as in proto2. */
export function keyValues(msg: Message, field: string): { key: string; value: string }[] {
  return messageList(msg, field).map((entry) => ({
    key: requireString(entry, 'key'),
    value: optionalString(entry, 'value') ?? '',
  }));
}
