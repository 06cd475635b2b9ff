/**
 * JSON-safe conversion of span inputs and outputs. Never throws: a value that cannot be
 * converted becomes a short description, so recording a span can never break the traced call.
 * Mirrors the Python SDK's `cairn.tracing._json`.
 */

/** Nesting deeper than this is cut (a description of the rest). */
export const MAX_DEPTH = 20;
/** Items of one array/object kept (the rest summarised). */
export const MAX_ITEMS = 10_000;

export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * `value` as plain JSON data: `toJSON()` is honoured (Dates become ISO strings), Maps become
 * objects, Sets and typed arrays arrays, bytes (Buffer, Uint8Array, ArrayBuffer) base64, bigints
 * decimal strings, NaN/±Infinity the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, Errors
 * `{name, message, stack}`, functions and symbols a description; cycles and very deep nesting
 * are cut; `undefined` object members are left out.
 */
export function toJsonable(value: unknown): JsonValue {
  try {
    return convert(value, 0, new Set());
  } catch {
    return describe(value);
  }
}

/** `toJsonable(value)` as a compact JSON string. */
export function dumps(value: unknown): string {
  try {
    return JSON.stringify(toJsonable(value));
  } catch {
    return JSON.stringify(describe(value));
  }
}

function describe(value: unknown): string {
  try {
    if (typeof value === 'function') return `<function ${value.name || 'anonymous'}>`;
    if (typeof value === 'symbol') return value.toString();
    return String(value);
  } catch {
    return `<unrepresentable ${typeof value}>`;
  }
}

function number(value: number): JsonValue {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function convert(value: unknown, depth: number, seen: Set<object>): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return number(value);
    case 'bigint':
      return value.toString();
    case 'undefined':
      return null;
    case 'function':
    case 'symbol':
      return describe(value);
    case 'object':
      break;
  }
  if (value === null) return null;
  const obj = value;
  if (depth >= MAX_DEPTH) return describe(obj);
  if (seen.has(obj)) return '<cycle>';
  seen.add(obj);
  try {
    return convertObject(obj, depth, seen);
  } finally {
    seen.delete(obj);
  }
}

function convertItems(items: Iterable<unknown>, depth: number, seen: Set<object>): JsonValue[] {
  const out: JsonValue[] = [];
  let count = 0;
  for (const item of items) {
    count++;
    if (count <= MAX_ITEMS) out.push(convert(item, depth + 1, seen));
  }
  if (count > MAX_ITEMS) out.push(`... ${count - MAX_ITEMS} more item(s)`);
  return out;
}

function convertEntries(
  entries: Iterable<[unknown, unknown]>,
  depth: number,
  seen: Set<object>,
): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  let count = 0;
  for (const [key, item] of entries) {
    if (item === undefined || typeof item === 'function') continue;
    count++;
    if (count > MAX_ITEMS) continue;
    const name = typeof key === 'string' ? key : JSON.stringify(convert(key, depth + 1, seen));
    out[name] = convert(item, depth + 1, seen);
  }
  if (count > MAX_ITEMS) out['...'] = `${count - MAX_ITEMS} more item(s)`;
  return out;
}

function convertObject(obj: object, depth: number, seen: Set<object>): JsonValue {
  if (Array.isArray(obj)) return convertItems(obj, depth, seen);
  if (obj instanceof Uint8Array) return base64(obj);
  if (obj instanceof ArrayBuffer) return base64(new Uint8Array(obj));
  if (ArrayBuffer.isView(obj)) {
    const view = obj as unknown as ArrayLike<number | bigint>;
    return convertItems(Array.from(view), depth, seen);
  }
  if (obj instanceof Map) return convertEntries(obj.entries(), depth, seen);
  if (obj instanceof Set) return convertItems(obj, depth, seen);
  if (obj instanceof Error) {
    const out: { [key: string]: JsonValue } = { name: obj.name, message: obj.message };
    if (obj.stack) out.stack = obj.stack;
    return out;
  }
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  if (obj instanceof Promise) return '<Promise>';
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    try {
      return convert((toJSON as () => unknown).call(obj), depth + 1, seen);
    } catch {
      return describe(obj);
    }
  }
  return convertEntries(Object.entries(obj), depth, seen);
}
