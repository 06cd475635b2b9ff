import { toNumber, type WireMetricValue } from './metric-values.ts';

/**
 * Metric series for charts: points from the API as parallel number arrays, sorted by step,
 * merged with live points, aligned on one x axis for overlays. Pure.
 */

export interface WirePoint {
  step: number;
  timestamp: number;
  value: WireMetricValue;
}

export interface Series {
  steps: number[];
  timestamps: number[];
  values: number[];
}

export const emptySeries = (): Series => ({ steps: [], timestamps: [], values: [] });

export function fromWire(points: readonly WirePoint[]): Series {
  const s = emptySeries();
  for (const p of points) {
    s.steps.push(p.step);
    s.timestamps.push(p.timestamp);
    s.values.push(toNumber(p.value));
  }
  return sortSeries(s);
}

function isSorted(s: Series): boolean {
  for (let i = 1; i < s.steps.length; i++) {
    const a = s.steps[i - 1]!;
    const b = s.steps[i]!;
    if (b < a || (b === a && s.timestamps[i]! < s.timestamps[i - 1]!)) return false;
  }
  return true;
}

/** Sorted by step, then timestamp (a step logged twice keeps both points, in time order). */
export function sortSeries(s: Series): Series {
  if (isSorted(s)) return s;
  const idx = s.steps.map((_, i) => i);
  idx.sort((a, b) => s.steps[a]! - s.steps[b]! || s.timestamps[a]! - s.timestamps[b]!);
  return {
    steps: idx.map((i) => s.steps[i]!),
    timestamps: idx.map((i) => s.timestamps[i]!),
    values: idx.map((i) => s.values[i]!),
  };
}

/** A new series with the live points added (in order; usually they go at the end). */
export function appendPoints(s: Series, points: readonly WirePoint[]): Series {
  if (points.length === 0) return s;
  const next: Series = {
    steps: s.steps.concat(points.map((p) => p.step)),
    timestamps: s.timestamps.concat(points.map((p) => p.timestamp)),
    values: s.values.concat(points.map((p) => toNumber(p.value))),
  };
  return sortSeries(next);
}

export type XMode = 'step' | 'time' | 'relative';

/** The x values of a series: step, wall time in seconds (uPlot's time unit), or seconds since start. */
export function xValues(s: Series, mode: XMode, startTime: number): number[] {
  switch (mode) {
    case 'step':
      return s.steps;
    case 'time':
      return s.timestamps.map((t) => t / 1000);
    case 'relative':
      return s.timestamps.map((t) => (t - startTime) / 1000);
  }
}

/** Values for a chart: non-finite → null (a gap); with a log scale, non-positive → null too. */
export function chartValues(values: readonly number[], log: boolean): (number | null)[] {
  return values.map((v) => (Number.isFinite(v) && (!log || v > 0) ? v : null));
}

export interface SeriesStats {
  count: number;
  last: number | null;
  min: number | null;
  max: number | null;
  nonFinite: number;
}

export function seriesStats(s: Series): SeriesStats {
  let min: number | null = null;
  let max: number | null = null;
  let nonFinite = 0;
  for (const v of s.values) {
    if (!Number.isFinite(v)) {
      nonFinite += 1;
      continue;
    }
    if (min === null || v < min) min = v;
    if (max === null || v > max) max = v;
  }
  const last = s.values.length > 0 ? s.values[s.values.length - 1]! : null;
  return { count: s.values.length, last, min, max, nonFinite };
}

/**
 * Aligns several (x, y) series on the union of their x values, as uPlot wants:
 * `[xs, ys0, ys1, …]` with null where a series has no point at that x. xs must be sorted.
 */
export function alignSeries(
  series: readonly { xs: readonly number[]; ys: readonly (number | null)[] }[],
): [number[], ...(number | null)[][]] {
  const all: number[] = [];
  for (const s of series) for (const x of s.xs) all.push(x);
  all.sort((a, b) => a - b);
  const xs: number[] = [];
  for (const x of all) if (xs.length === 0 || xs[xs.length - 1] !== x) xs.push(x);
  const index = new Map<number, number>();
  xs.forEach((x, i) => index.set(x, i));
  const columns = series.map((s) => {
    const col = new Array<number | null>(xs.length).fill(null);
    s.xs.forEach((x, i) => {
      col[index.get(x)!] = s.ys[i] ?? null;
    });
    return col;
  });
  return [xs, ...columns];
}
