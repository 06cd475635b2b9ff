import { z } from 'zod';

export const entityId = z.string().regex(/^[0-9a-f]{32}$/, 'must be a 32-character hex id');
export const isoTimestamp = z.iso.datetime({ offset: true });

/** JSON has no NaN or infinities: those travel as strings and come back as numbers. */
export const metricValue = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]);
export type EncodedMetricValue = z.infer<typeof metricValue>;

export function encodeMetricValue(value: number): EncodedMetricValue {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  return value;
}

export function decodeMetricValue(value: EncodedMetricValue): number {
  switch (value) {
    case 'NaN':
      return Number.NaN;
    case 'Infinity':
      return Number.POSITIVE_INFINITY;
    case '-Infinity':
      return Number.NEGATIVE_INFINITY;
    default:
      return value;
  }
}

export const keyValue = z.object({ key: z.string(), value: z.string() });
export type KeyValue = z.infer<typeof keyValue>;

export function assertNever(value: never, message = 'Unexpected value'): never {
  throw new Error(`${message}: ${JSON.stringify(value)}`);
}
