/**
 * The metric rollup pyramid (table `metric_rollups`, migration 0008): for every series
 * (workspace, run, metric key) and every level k of ROLLUP_LEVELS, one row per non-empty bucket
 * of 4^k consecutive steps (bucket = floor(step / 4^k)), holding the bucket's point count and four
 * of its points: the first and the last (by step, timestamp, value), the minimum and the maximum
 * (by value; NaN ranks above +Infinity, as PostgreSQL orders float8). The runs projection
 * maintains it in the transaction that inserts the points; the history query reads the coarsest
 * level that still gives enough buckets, so it reads O(maxPoints) rows whatever the series length.
 *
 * A step logged twice keeps both points, in `metric_points` and here (both are counted, either
 * may be an extreme), exactly as the raw history returns both.
 *
 * The merge below is what the projector applies in memory and, for rows already stored, in SQL
 * (`ON CONFLICT DO UPDATE`, runs.projection.ts): both keep the stored point on a tie, so the
 * result depends only on the points and their log order, not on how batches were cut.
 */

/**
 * Level k has buckets of 4^k steps: 16, 64, … 67,108,864 steps (each level 4× the one below: a
 * read touches < 4 buckets per output group; 12 rows per series per write — 16× apart halved the
 * writes but doubled B4's read time). Frozen with migration 0008.
 */
export const ROLLUP_LEVELS = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] as const;

export function rollupWidth(level: number): number {
  return 4 ** level;
}

/** floor(step / 4^level); exact for every safe-integer step (the width is a power of two). */
export function rollupBucket(step: number, level: number): number {
  return Math.floor(step / rollupWidth(level));
}

export interface RollupPoint {
  step: number;
  timestamp: number;
  value: number;
}

/** A bucket's summary (a stored rollup row, or a single raw point). */
export interface RollupCell {
  count: number;
  first: RollupPoint;
  last: RollupPoint;
  min: RollupPoint;
  max: RollupPoint;
}

/** float8 order: NaN equals NaN and ranks above everything else; -0 equals 0. */
export function compareFloat8(a: number, b: number): number {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  return a === b ? 0 : a < b ? -1 : 1;
}

function compareInts(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/** History order: step, then timestamp, then value. */
export function compareByStep(a: RollupPoint, b: RollupPoint): number {
  return (
    compareInts(a.step, b.step) ||
    compareInts(a.timestamp, b.timestamp) ||
    compareFloat8(a.value, b.value)
  );
}

/** Is `b` a better minimum than `a`: a lower value, or the same value earlier in the history. */
function betterMin(a: RollupPoint, b: RollupPoint): boolean {
  const byValue = compareFloat8(b.value, a.value);
  if (byValue !== 0) return byValue < 0;
  return compareInts(b.step, a.step) < 0 || (b.step === a.step && b.timestamp < a.timestamp);
}

/** Is `b` a better maximum than `a`: a higher value, or the same value earlier in the history. */
function betterMax(a: RollupPoint, b: RollupPoint): boolean {
  const byValue = compareFloat8(b.value, a.value);
  if (byValue !== 0) return byValue > 0;
  return compareInts(b.step, a.step) < 0 || (b.step === a.step && b.timestamp < a.timestamp);
}

export function pointCell(p: RollupPoint): RollupCell {
  return { count: 1, first: p, last: p, min: p, max: p };
}

/** Folds `next` into `into` (mutates it). Ties keep what `into` holds. */
export function mergeCell(into: RollupCell, next: RollupCell): void {
  into.count += next.count;
  if (compareByStep(next.first, into.first) < 0) into.first = next.first;
  if (compareByStep(next.last, into.last) > 0) into.last = next.last;
  if (betterMin(into.min, next.min)) into.min = next.min;
  if (betterMax(into.max, next.max)) into.max = next.max;
}

export function copyCell(c: RollupCell): RollupCell {
  return { count: c.count, first: c.first, last: c.last, min: c.min, max: c.max };
}
