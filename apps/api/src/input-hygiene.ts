import { invalidArgument } from './errors.ts';

/**
 * The one shared check for every string the API stores or looks up (docs/api.md, "Security"):
 *
 * - NUL (`\u0000`): Postgres text and jsonb cannot hold it (it used to surface as INTERNAL).
 * - Lone UTF-16 surrogates (`"\ud800"` in JSON): not Unicode; Postgres refuses them in jsonb.
 * - Invalid UTF-8 never reaches this check: HTTP bodies are refused before JSON parsing
 *   (`isUtf8`, 400) and WebSocket text frames by `ws` (close 1007), so a U+FFFD that arrives
 *   here was sent as that character on purpose and is kept.
 * - Length: each field's documented limit (STRING_LIMITS and the domain limits), and
 *   MAX_STORED_STRING for any stored string without a limit of its own.
 *
 * Lengths count UTF-16 code units (JavaScript's `length`), as every other limit of the API.
 */
export const MAX_STORED_STRING = 65_536;

/** Documented in docs/api.md ("Security", string limits table). */
export const STRING_LIMITS = {
  artifactLocation: 4096,
  /** Each of `gitCommit`, `entryPoint`, `sourceType`. */
  runSourceField: 4096,
  webhookUrl: 2048,
} as const;

// Lone high surrogate (not followed by a low one) or lone low surrogate (not preceded by a high).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string may not be stored, or null when it may (length aside). */
export function textProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'contains a NUL character (\\u0000)';
  if (LONE_SURROGATE.test(value)) return 'is not valid Unicode (a lone surrogate)';
  return null;
}

/** INVALID_ARGUMENT naming the field when `value` has a NUL, a lone surrogate or is too long. */
export function checkText(field: string, value: string, maxLength = MAX_STORED_STRING): string {
  const problem = textProblem(value);
  if (problem !== null) throw invalidArgument(`${field} ${problem}`, { field });
  if (value.length > maxLength)
    throw invalidArgument(`${field} is longer than ${maxLength} characters (${value.length})`, {
      field,
      maxLength,
      length: value.length,
    });
  return value;
}

/** `checkText` for an optional value. */
export function checkOptionalText(
  field: string,
  value: string | null | undefined,
  maxLength = MAX_STORED_STRING,
): string | null {
  return value === null || value === undefined ? null : checkText(field, value, maxLength);
}

const joinPath = (path: string, key: string | number) =>
  typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;

/**
 * Walks a value (GraphQL arguments, event data) and applies `checkText` to every string in it,
 * keys included, naming the path of the first bad one (`input.tags[2].value`). `maxLength`
 * applies to every string; null skips the length check (arguments that are only looked up).
 */
export function assertCleanStrings(
  value: unknown,
  path: string,
  maxLength: number | null = MAX_STORED_STRING,
): void {
  const limit = maxLength ?? Number.POSITIVE_INFINITY;
  const walk = (v: unknown, at: string, depth: number): void => {
    if (typeof v === 'string') {
      checkText(at || 'value', v, limit);
      return;
    }
    if (v === null || typeof v !== 'object' || depth > 64) return;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], joinPath(at, i), depth + 1);
      return;
    }
    if (ArrayBuffer.isView(v) || v instanceof Date) return;
    for (const [key, child] of Object.entries(v)) {
      checkText(`${joinPath(at, key)} (key)`, key, limit);
      walk(child, joinPath(at, key), depth + 1);
    }
  };
  walk(value, path, 0);
}

const INT_RANGES = {
  int4: { min: -(2 ** 31), max: 2 ** 31 - 1 },
  int8: { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
} as const;

/**
 * A number compared with an integer column in a search filter: an integer within the column's
 * range (else Postgres fails the cast and the caller would see INTERNAL).
 */
export function checkFilterInteger(
  value: unknown,
  column: keyof typeof INT_RANGES,
  identifier: string,
  position: number,
): void {
  if (typeof value !== 'number') return;
  const { min, max } = INT_RANGES[column];
  if (!Number.isInteger(value) || value < min || value > max)
    throw invalidArgument(
      `Invalid filter at position ${position}: ${identifier} compares with integers from ${min} to ${max}, got ${value}`,
      { argument: 'filter', position },
    );
}
