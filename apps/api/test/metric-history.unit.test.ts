import { describe, expect, it } from 'vitest';
import { pointCell, ROLLUP_LEVELS, rollupWidth, type RollupPoint } from '@cairn/db';
import { seededRandom, testSeed } from '@cairn/testing';
import { coverRange, downsampleCells } from '../src/runs/metric-history.queries.ts';

/** The step interval a cover piece stands for. */
function stepsOf(p: { level: number; lo: number | null; hi: number | null }) {
  const w = p.level === 0 ? 1 : rollupWidth(p.level);
  return { lo: p.lo === null ? null : p.lo * w, hi: p.hi === null ? null : p.hi * w + w - 1 };
}

describe('coverRange', () => {
  it('covers a step range exactly with disjoint, ordered pieces, O(levels) of them', () => {
    const seed = testSeed();
    const rand = seededRandom(seed);
    for (let i = 0; i < 2000; i++) {
      const lo = rand.chance(0.1) ? null : rand.int(-5_000_000, 5_000_000);
      const hi = rand.chance(0.1) ? null : (lo ?? 0) + rand.int(0, 20_000_000);
      const levelIndex = rand.int(0, ROLLUP_LEVELS.length - 1);
      const pieces = coverRange(lo, hi, levelIndex);
      const ranges = pieces.map(stepsOf);
      expect(ranges[0]?.lo ?? null, `seed ${seed}`).toBe(lo);
      expect(ranges.at(-1)?.hi ?? null, `seed ${seed}`).toBe(hi);
      for (let j = 1; j < ranges.length; j++) {
        expect(ranges[j]!.lo, `seed ${seed}: contiguous`).toBe(ranges[j - 1]!.hi! + 1);
      }
      for (const p of pieces) {
        expect(p.level === 0 || ROLLUP_LEVELS.indexOf(p.level as 2) <= levelIndex).toBe(true);
        if (p.lo !== null && p.hi !== null) expect(p.lo).toBeLessThanOrEqual(p.hi);
      }
      // At most two pieces per finer level, one of the chosen level, two raw ones.
      expect(pieces.length).toBeLessThanOrEqual(2 * levelIndex + 3);
    }
  });

  it('uses one piece for an open range and nothing for an empty one', () => {
    expect(coverRange(null, null, 3)).toEqual([{ level: ROLLUP_LEVELS[3], lo: null, hi: null }]);
    expect(coverRange(10, 9, 3)).toEqual([]);
    expect(coverRange(5, 7, 0)).toEqual([{ level: 0, lo: 5, hi: 7 }]);
  });
});

/** The downsampling contract over raw points, written out plainly (equal-count buckets). */
function contract(points: readonly RollupPoint[], maxPoints: number): RollupPoint[] {
  const n = points.length;
  if (n <= maxPoints) return [...points];
  const buckets = Math.max(1, Math.floor((maxPoints - 2) / 2));
  const keep = new Set<number>([0, n - 1]);
  const rank = (v: number) => (Number.isNaN(v) ? Infinity : v);
  for (let b = 0; b < buckets; b++) {
    const idx = points.map((_, i) => i).filter((i) => Math.floor((i * buckets) / n) === b);
    if (idx.length === 0) continue;
    let lo = idx[0]!;
    let hi = idx[0]!;
    for (const i of idx) {
      const v = points[i]!.value;
      const isNaN = Number.isNaN(v);
      if (!isNaN && (Number.isNaN(points[lo]!.value) || rank(v) < rank(points[lo]!.value))) lo = i;
      if (!Number.isNaN(points[hi]!.value) && (isNaN || rank(v) > rank(points[hi]!.value))) hi = i;
    }
    if (maxPoints >= 4) keep.add(lo); // maxPoints 3: first, last and the maximum
    keep.add(hi);
  }
  return [...keep].sort((a, b) => a - b).map((i) => points[i]!);
}

describe('downsampleCells', () => {
  it('on single points is exactly the equal-count contract (extremes per bucket, first, last)', () => {
    const seed = testSeed();
    const rand = seededRandom(seed);
    for (let t = 0; t < 30; t++) {
      const n = rand.int(50, 3000);
      const points: RollupPoint[] = Array.from({ length: n }, (_, i) => ({
        step: i,
        timestamp: 0,
        value: rand.chance(0.02)
          ? rand.pick([NaN, Infinity, -Infinity])
          : rand.chance(0.3)
            ? rand.int(0, 3)
            : rand.next(),
      }));
      const maxPoints = rand.int(3, 45);
      expect(downsampleCells(points.map(pointCell), maxPoints), `seed ${seed}`).toEqual(
        contract(points, maxPoints),
      );
    }
  });

  it('keeps a spike, a NaN, the last point and stays within maxPoints over rollup cells', () => {
    const cells = Array.from({ length: 400 }, (_, i) => {
      const base = i * 16;
      const pts = Array.from({ length: 16 }, (_, j) => ({
        step: base + j,
        timestamp: 0,
        value: base + j === 3333 ? 1e9 : base + j === 5000 ? NaN : Math.sin(base + j),
      }));
      const min = pts.reduce((a, b) => (b.value < a.value ? b : a));
      const max = pts.reduce((a, b) => (Number.isNaN(b.value) || b.value > a.value ? b : a));
      return { count: 16, first: pts[0]!, last: pts[15]!, min, max };
    });
    const out = downsampleCells(cells, 100);
    expect(out.length).toBeLessThanOrEqual(100);
    expect(out.length).toBeGreaterThan(80);
    expect(out.find((p) => p.step === 3333)?.value).toBe(1e9);
    expect(Number.isNaN(out.find((p) => p.step === 5000)?.value)).toBe(true);
    expect(out[0]?.step).toBe(0);
    expect(out.at(-1)?.step).toBe(6399);
    expect(out.map((p) => p.step)).toEqual([...out.map((p) => p.step)].sort((a, b) => a - b));
  });
});
