import { describe, expect, it } from 'vitest';
import { ROLLUP_LEVELS, rollupBucket, type RollupCell, type RollupPoint } from '@cairn/db';
import { seededRandom, testSeed } from '@cairn/testing';
import { RollupCollector, type RollupRow } from '../src/projections/metric-rollups.ts';

/** float8 order written out independently of the code under test: NaN above everything. */
function rank(v: number): [number, number] {
  return Number.isNaN(v) ? [1, 0] : [0, v];
}
function lessValue(a: number, b: number): boolean {
  const [ra, va] = rank(a);
  const [rb, vb] = rank(b);
  return ra !== rb ? ra < rb : va < vb;
}
function sameValue(a: number, b: number): boolean {
  return Number.isNaN(a) ? Number.isNaN(b) : a === b;
}

/** A bucket's summary by brute force over its points, in log order (ties: the earlier logged). */
function reference(points: readonly RollupPoint[]): RollupCell {
  const byStep = (a: RollupPoint, b: RollupPoint) =>
    a.step !== b.step
      ? a.step < b.step
      : a.timestamp !== b.timestamp
        ? a.timestamp < b.timestamp
        : lessValue(a.value, b.value);
  let first = points[0]!;
  let last = points[0]!;
  let min = points[0]!;
  let max = points[0]!;
  for (const p of points) {
    if (byStep(p, first)) first = p;
    if (byStep(last, p)) last = p;
    const earlier = p.step < min.step || (p.step === min.step && p.timestamp < min.timestamp);
    if (lessValue(p.value, min.value) || (sameValue(p.value, min.value) && earlier)) min = p;
    const earlierMax = p.step < max.step || (p.step === max.step && p.timestamp < max.timestamp);
    if (lessValue(max.value, p.value) || (sameValue(p.value, max.value) && earlierMax)) max = p;
  }
  return { count: points.length, first, last, min, max };
}

type Logged = { ws: string; runId: string; keyId: number; point: RollupPoint };

function referenceRows(logged: readonly Logged[]): Map<string, RollupCell> {
  const groups = new Map<string, RollupPoint[]>();
  for (const l of logged) {
    for (const level of ROLLUP_LEVELS) {
      const k = `${l.ws}|${l.runId}|${l.keyId}|${level}|${rollupBucket(l.point.step, level)}`;
      const list = groups.get(k) ?? [];
      list.push(l.point);
      groups.set(k, list);
    }
  }
  return new Map([...groups].map(([k, pts]) => [k, reference(pts)]));
}

function rowsByKey(rows: readonly RollupRow[]): Map<string, RollupCell> {
  const out = new Map<string, RollupCell>();
  for (const r of rows) {
    const k = `${r.workspaceId}|${r.runId}|${r.keyId}|${r.level}|${r.bucket}`;
    expect(out.has(k), `row ${k} emitted twice`).toBe(false);
    out.set(k, r.cell);
  }
  return out;
}

function randomLog(seed: number, n: number): Logged[] {
  const rand = seededRandom(seed);
  const specials = [NaN, Infinity, -Infinity, 0, 1e300, -1e300];
  const logged: Logged[] = [];
  let step = rand.int(-100, 100);
  for (let i = 0; i < n; i++) {
    // Mostly forward, sometimes a step again (re-logged), sometimes far back or far ahead.
    const r = rand.next();
    if (r < 0.6) step += rand.int(1, 40);
    else if (r < 0.75) step -= rand.int(0, 5000);
    else if (r < 0.8) step += rand.int(10_000, 3_000_000);
    const value = rand.chance(0.05)
      ? rand.pick(specials)
      : rand.chance(0.2)
        ? rand.int(-3, 3)
        : rand.next() * 10 - 5;
    logged.push({
      ws: rand.pick(['w1', 'w2']),
      runId: rand.pick(['r1', 'r2']),
      keyId: rand.int(1, 2),
      point: { step, timestamp: rand.int(0, 3), value },
    });
  }
  return logged;
}

describe('metric rollup pyramid (projector side)', () => {
  it('summarises every bucket of every level like a brute-force fold over its points', () => {
    const seed = testSeed();
    const logged = randomLog(seed, 4000);
    const collector = new RollupCollector();
    for (const l of logged) collector.add(l.ws, l.runId, l.keyId, l.point);
    const got = rowsByKey(collector.rows());
    const want = referenceRows(logged);
    expect([...got.keys()].sort(), `seed ${seed}`).toEqual([...want.keys()].sort());
    for (const [k, cell] of want) expect(got.get(k), `seed ${seed}, ${k}`).toEqual(cell);
  });

  it('keeps spikes, NaN and ±Infinity as extremes and counts a step logged twice twice', () => {
    const collector = new RollupCollector();
    const pts: RollupPoint[] = [
      { step: 3, timestamp: 1, value: 0.5 },
      { step: 3, timestamp: 2, value: 0.25 }, // step 3 again
      { step: 5, timestamp: 1, value: Infinity },
      { step: 1, timestamp: 1, value: -Infinity }, // out of order
      { step: 7, timestamp: 1, value: NaN },
      { step: 9, timestamp: 1, value: 1e9 },
    ];
    for (const p of pts) collector.add('w', 'r', 1, p);
    const rows = collector.rows();
    expect(rows.map((r) => r.level)).toEqual([...ROLLUP_LEVELS]); // one bucket per level
    for (const r of rows) {
      expect(r.bucket).toBe(0);
      expect(r.cell).toEqual({
        count: 6,
        first: pts[3],
        last: pts[5],
        min: pts[3],
        max: pts[4], // NaN ranks above +Infinity, as PostgreSQL orders float8
      });
    }
  });

  it('does not depend on how the log is cut into batches (stored rows merged like new ones)', () => {
    const seed = testSeed() + 1;
    const logged = randomLog(seed, 3000);
    const whole = new RollupCollector();
    for (const l of logged) whole.add(l.ws, l.runId, l.keyId, l.point);
    // Three batches; the later ones are merged into the earlier results with the same merge.
    const merged = new Map<string, RollupCell>();
    for (const part of [logged.slice(0, 700), logged.slice(700, 2100), logged.slice(2100)]) {
      const c = new RollupCollector();
      for (const l of part) c.add(l.ws, l.runId, l.keyId, l.point);
      for (const [k, cell] of rowsByKey(c.rows())) {
        const stored = merged.get(k);
        if (!stored) merged.set(k, cell);
        else {
          const pts = [stored.first, stored.last, stored.min, stored.max];
          const add = [cell.first, cell.last, cell.min, cell.max];
          const ref = reference([...pts, ...add]);
          merged.set(k, { ...ref, count: stored.count + cell.count });
        }
      }
    }
    expect(merged, `seed ${seed}`).toEqual(rowsByKey(whole.rows()));
  });

  it('buckets negative steps by floor division', () => {
    const c = new RollupCollector();
    c.add('w', 'r', 1, { step: -1, timestamp: 0, value: 1 });
    c.add('w', 'r', 1, { step: -16, timestamp: 0, value: 2 });
    c.add('w', 'r', 1, { step: -17, timestamp: 0, value: 3 });
    const finest = c.rows().filter((r) => r.level === ROLLUP_LEVELS[0]);
    expect(finest.map((r) => [r.bucket, r.cell.count]).sort()).toEqual([
      [-1, 2],
      [-2, 1],
    ]);
  });
});
