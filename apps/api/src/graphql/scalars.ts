import { GraphQLError, Kind, valueFromASTUntyped } from 'graphql';
import { builder } from './builder.ts';

function invalid(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'INVALID_ARGUMENT' } });
}

builder.scalarType('Timestamp', {
  description: 'Unix epoch milliseconds (an integer).',
  serialize: (value) => value,
  parseValue: (value) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value))
      throw invalid('Timestamp must be an integer of epoch milliseconds');
    return value;
  },
  parseLiteral: (ast) => {
    const value = ast.kind === Kind.INT ? Number(ast.value) : Number.NaN;
    if (!Number.isSafeInteger(value))
      throw invalid('Timestamp must be an integer of epoch milliseconds');
    return value;
  },
});

builder.scalarType('Long', {
  description: 'An integer between -(2^53-1) and 2^53-1 (metric steps).',
  serialize: (value) => value,
  parseValue: (value) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value))
      throw invalid('Long must be an integer within ±(2^53-1)');
    return value;
  },
  parseLiteral: (ast) => {
    const value = ast.kind === Kind.INT ? Number(ast.value) : Number.NaN;
    if (!Number.isSafeInteger(value)) throw invalid('Long must be an integer within ±(2^53-1)');
    return value;
  },
});

const SPECIAL: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

function parseMetricValue(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value in SPECIAL) return SPECIAL[value]!;
  throw invalid('MetricValue must be a number or one of "NaN", "Infinity", "-Infinity"');
}

builder.scalarType('MetricValue', {
  description:
    'A metric value: a JSON number, or "NaN", "Infinity", "-Infinity" (JSON has no literal for them).',
  serialize: (value) => {
    if (Number.isNaN(value)) return 'NaN';
    if (value === Number.POSITIVE_INFINITY) return 'Infinity';
    if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
    return value;
  },
  parseValue: parseMetricValue,
  parseLiteral: (ast) => {
    if (ast.kind === Kind.FLOAT || ast.kind === Kind.INT) return Number(ast.value);
    if (ast.kind === Kind.STRING) return parseMetricValue(ast.value);
    throw invalid('MetricValue must be a number or one of "NaN", "Infinity", "-Infinity"');
  },
});

/** Any JSON value, passed through as it is (inputs, outputs, attributes of spans). */
builder.scalarType('JSON', {
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast) => valueFromASTUntyped(ast),
});

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/u;

function parseDateTime(value: unknown): string {
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value) || Number.isNaN(Date.parse(value)))
    throw invalid('DateTime must be an ISO-8601 date-time with an offset (2026-12-07T13:00:00Z)');
  return value;
}

/** ISO-8601 date-times (the deployments API; older types answer epoch-millisecond Timestamps). */
builder.scalarType('DateTime', {
  description: 'An ISO-8601 date-time with an offset, e.g. 2026-12-07T13:00:00.000Z.',
  serialize: (value) => (value instanceof Date ? value.toISOString() : value),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : null),
});

export const KeyValueRef = builder.objectType('KeyValue', {
  fields: (t) => ({ key: t.exposeString('key'), value: t.exposeString('value') }),
});

export const KeyValueInput = builder.inputType('KeyValueInput', {
  fields: (t) => ({ key: t.string({ required: true }), value: t.string({ required: true }) }),
});

export const PageInfo = builder
  .objectRef<{ hasNextPage: boolean; endCursor: string | null }>('PageInfo')
  .implement({
    fields: (t) => ({
      hasNextPage: t.exposeBoolean('hasNextPage'),
      endCursor: t.exposeString('endCursor', { nullable: true }),
    }),
  });

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(
  cursor: string | null | undefined,
  check: (v: unknown) => v is T,
): T | null {
  if (cursor === null || cursor === undefined) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    if (check(value)) return value;
  } catch {
    // fall through
  }
  throw invalid('Invalid cursor "after"');
}

export function pageSize(first: number | null | undefined, max = 1000): number {
  const n = first ?? 100;
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw invalid(`"first" must be between 1 and ${max}`);
  return n;
}
