/**
 * MetricValue travels as a JSON number or as "NaN", "Infinity", "-Infinity" (JSON has no literal
 * for them). Charts need numbers, tables need text.
 */
export type WireMetricValue = number | string;

export function toNumber(value: WireMetricValue | null | undefined): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN' || value === null || value === undefined) return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  const n = Number(value);
  return Number.isNaN(n) ? Number.NaN : n;
}

/** A compact, exact-enough text for a metric value (6 significant digits, never exponent noise). */
export function formatMetric(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '∞';
  if (value === Number.NEGATIVE_INFINITY) return '−∞';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (Number.isInteger(value) && abs < 1e15) return String(value);
  if (abs >= 1e6 || abs < 1e-4) return value.toExponential(4);
  return String(Number(value.toPrecision(6)));
}
