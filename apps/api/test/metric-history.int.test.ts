/**
 * Downsampled metric histories served from the rollup pyramid (metric_rollups), against the raw
 * points: the contract (extremes and the last point kept, at most maxPoints, history order),
 * ranges, NaN/±Infinity, out-of-order and re-logged steps, and the rollups themselves: equal to a
 * brute-force summary of the raw points, to a rebuild from the log, and to migration 0008's
 * backfill.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLLUP_LEVELS, rollupBucket } from '@cairn/db';
import { rebuildProjection, runsProjection } from '@cairn/projector';
import {
  createTestDatabase,
  diffDumps,
  dumpReadModels,
  randomWorkspaceId,
  seededRandom,
  testSeed,
} from '@cairn/testing';
import * as m0008 from '../../../packages/db/src/migrations/2026-11-26T0008-metric-rollups.ts';
import { startApiHarness, type ApiHarness, type GqlResponse } from './helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

interface Point {
  step: number;
  timestamp: number;
  value: number;
}

function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors).toBeUndefined();
  return response.data!;
}

const fromWire = (v: number | string) => (typeof v === 'number' ? v : Number(v));
const toWire = (v: number) => (Number.isFinite(v) ? v : String(v));

/** float8 order: NaN above everything. */
function cmpValue(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number(Number.isNaN(a)) - Number(Number.isNaN(b));
  return a === b ? 0 : a < b ? -1 : 1;
}
function cmpPoint(a: Point, b: Point): number {
  return a.step - b.step || a.timestamp - b.timestamp || cmpValue(a.value, b.value);
}
const same = (a: Point, b: Point) => cmpPoint(a, b) === 0;

async function newRun(w: string): Promise<string> {
  const e = ok(
    await api.gql<{ createExperiment: { id: string } }>(
      'mutation($n:String!){createExperiment(name:$n){id}}',
      { n: `exp-${Math.random().toString(36).slice(2)}` },
      { 'x-cairn-workspace': w },
    ),
  );
  const r = ok(
    await api.gql<{ createRun: { id: string } }>(
      'mutation($e:String!){createRun(experimentId:$e){id}}',
      { e: e.createExperiment.id },
      { 'x-cairn-workspace': w },
    ),
  );
  return r.createRun.id;
}

async function log(w: string, runId: string, key: string, points: readonly Point[]) {
  for (let i = 0; i < points.length; i += 10_000) {
    ok(
      await api.gql(
        'mutation($r:String!,$m:[MetricInput!]){logBatch(runId:$r, metrics:$m){id}}',
        {
          r: runId,
          m: points
            .slice(i, i + 10_000)
            .map((p) => ({ key, step: p.step, timestamp: p.timestamp, value: toWire(p.value) })),
        },
        { 'x-cairn-workspace': w },
      ),
    );
  }
}

async function history(
  w: string,
  runId: string,
  key: string,
  maxPoints: number,
  startStep: number | null = null,
  endStep: number | null = null,
): Promise<Point[]> {
  const d = ok(
    await api.gql<{ run: { metricHistory: { step: number; timestamp: number; value: number }[] } }>(
      'query($r:String!,$k:String!,$m:Int,$s:Long,$e:Long){run(id:$r){metricHistory(key:$k,maxPoints:$m,startStep:$s,endStep:$e){step timestamp value}}}',
      { r: runId, k: key, m: maxPoints, s: startStep, e: endStep },
      { 'x-cairn-workspace': w },
    ),
  );
  return d.run.metricHistory.map((p) => ({ ...p, value: fromWire(p.value) }));
}

/**
 * The contract, checked against the raw points of the range: every returned point is a logged
 * point; history order; at most maxPoints; all points when they fit; otherwise the range's first
 * and last points, its minimum and maximum, and a reasonable share of maxPoints.
 */
function checkContract(out: Point[], raw: readonly Point[], maxPoints: number, label: string) {
  const sorted = [...raw].sort(cmpPoint);
  expect(out.length, label).toBeLessThanOrEqual(maxPoints);
  for (let i = 1; i < out.length; i++)
    expect(cmpPoint(out[i - 1]!, out[i]!), label).toBeLessThan(0);
  const logged = new Set(raw.map((p) => `${p.step}|${p.timestamp}|${String(p.value)}`));
  for (const p of out) {
    expect(logged.has(`${p.step}|${p.timestamp}|${String(p.value)}`), `${label}: logged`).toBe(
      true,
    );
  }
  if (sorted.length <= maxPoints) {
    expect(out, `${label}: all points`).toEqual(sorted);
    return;
  }
  expect(same(out[0]!, sorted[0]!), `${label}: first`).toBe(true);
  expect(same(out.at(-1)!, sorted.at(-1)!), `${label}: last`).toBe(true);
  const min = sorted.reduce((a, b) => (cmpValue(b.value, a.value) < 0 ? b : a));
  const max = sorted.reduce((a, b) => (cmpValue(b.value, a.value) > 0 ? b : a));
  if (maxPoints >= 4) {
    expect(
      out.some((p) => cmpValue(p.value, min.value) === 0),
      `${label}: minimum`,
    ).toBe(true);
  }
  expect(
    out.some((p) => cmpValue(p.value, max.value) === 0),
    `${label}: maximum`,
  ).toBe(true);
  expect(out.length, `${label}: resolution`).toBeGreaterThan(maxPoints / 3);
}

describe('metric history from the rollup pyramid', () => {
  const w = randomWorkspaceId();
  let runId = '';
  const raw: Point[] = [];
  const seed = testSeed();

  beforeAll(async () => {
    runId = await newRun(w);
    // 60,000 points on steps 0 … 59,999, logged in shuffled batches (out of order), with a spike,
    // a dip, NaN and ±Infinity in the middle, then 2,000 steps logged a second time.
    const rand = seededRandom(seed);
    const base: Point[] = Array.from({ length: 60_000 }, (_, s) => ({
      step: s,
      timestamp: 1_000 + s,
      value: Math.sin(s / 500) + rand.next() * 0.01,
    }));
    base[12_345]!.value = 1e6;
    base[23_456]!.value = -1e6;
    base[34_567]!.value = NaN;
    base[45_678]!.value = Infinity;
    base[45_690]!.value = -Infinity;
    const batches: Point[][] = [];
    for (let i = 0; i < base.length; i += 5_000) batches.push(base.slice(i, i + 5_000));
    for (let i = batches.length - 1; i > 0; i--) {
      const j = rand.int(0, i);
      [batches[i], batches[j]] = [batches[j]!, batches[i]!];
    }
    const again: Point[] = Array.from({ length: 2_000 }, () => {
      const s = rand.int(0, 59_999);
      return { step: s, timestamp: 500_000 + s, value: rand.next() * 0.5 };
    });
    again.push({ step: 59_999, timestamp: 999_999, value: 0.125 }); // a later last point
    for (const b of [...batches, again]) {
      await log(w, runId, 'loss', b);
      raw.push(...b);
    }
  }, 120_000);

  async function storedRollups() {
    const { rows } = await sql<{
      level: number;
      bucket: number;
      count: number;
      first_step: number;
      first_timestamp: number;
      first_value: number;
      last_step: number;
      last_timestamp: number;
      last_value: number;
      min_step: number;
      min_value: number;
      max_step: number;
      max_value: number;
    }>`
      SELECT r.* FROM metric_rollups r JOIN metric_keys k USING (workspace_id, key_id)
      WHERE r.workspace_id = ${w} AND r.run_id = ${runId} AND k.key = 'loss'`.execute(api.db);
    return rows;
  }

  it('keeps rollups equal to a brute-force summary of the raw points at every level', async () => {
    // The chunks hold every point once (metric_points is their one-row-per-point view).
    const stored = await sql<Point>`
      SELECT p.step, p.timestamp, p.value FROM metric_points p JOIN metric_keys k USING (workspace_id, key_id)
      WHERE p.workspace_id = ${w} AND p.run_id = ${runId} AND k.key = 'loss'`.execute(api.db);
    expect(stored.rows.sort(cmpPoint)).toEqual([...raw].sort(cmpPoint));
    const rows = await storedRollups();
    const expected = new Map<string, Point[]>();
    // Only the levels whose buckets split the series (lazy levels): the span 0 … 59,999 needs two
    // buckets or more at every level below 4^8 = 65,536 steps.
    const minStep = Math.min(...raw.map((p) => p.step));
    const maxStep = Math.max(...raw.map((p) => p.step));
    const kept = ROLLUP_LEVELS.filter((k) => rollupBucket(minStep, k) !== rollupBucket(maxStep, k));
    expect(kept).toEqual([2, 3, 4, 5, 6, 7]);
    for (const p of raw) {
      for (const level of kept) {
        const k = `${level}|${rollupBucket(p.step, level)}`;
        const list = expected.get(k) ?? [];
        list.push(p);
        expected.set(k, list);
      }
    }
    expect(rows.length).toBe(expected.size);
    for (const r of rows) {
      const pts = expected.get(`${r.level}|${r.bucket}`)!;
      const sorted = [...pts].sort(cmpPoint);
      expect(r.count).toBe(pts.length);
      expect([r.first_step, r.first_timestamp, r.first_value]).toEqual([
        sorted[0]!.step,
        sorted[0]!.timestamp,
        sorted[0]!.value,
      ]);
      expect([r.last_step, r.last_timestamp, r.last_value]).toEqual([
        sorted.at(-1)!.step,
        sorted.at(-1)!.timestamp,
        sorted.at(-1)!.value,
      ]);
      const byValue = [...pts].sort((a, b) => cmpValue(a.value, b.value) || cmpPoint(a, b));
      expect([r.min_step, r.min_value]).toEqual([byValue[0]!.step, byValue[0]!.value]);
      const top = byValue.filter((p) => cmpValue(p.value, byValue.at(-1)!.value) === 0);
      expect([r.max_step, r.max_value]).toEqual([top[0]!.step, top[0]!.value]);
    }
  });

  it('downsamples the whole series: spike, dip, NaN, ±Infinity and the last point survive', async () => {
    for (const maxPoints of [1000, 300, 57, 3]) {
      const out = await history(w, runId, 'loss', maxPoints);
      checkContract(out, raw, maxPoints, `seed ${seed}, maxPoints ${maxPoints}`);
      if (maxPoints < 300) continue;
      expect(out.find((p) => p.step === 12_345)?.value).toBe(1e6);
      expect(out.find((p) => p.step === 23_456)?.value).toBe(-1e6);
      expect(out.some((p) => p.step === 34_567 && Number.isNaN(p.value))).toBe(true);
      expect(out.find((p) => p.step === 45_678)?.value).toBe(Infinity);
      expect(out.find((p) => p.step === 45_690)?.value).toBe(-Infinity);
      expect(out.at(-1)).toEqual({ step: 59_999, timestamp: 999_999, value: 0.125 });
    }
  });

  it('serves ranges exactly: unaligned bounds, small ranges in full, re-logged steps twice', async () => {
    const rand = seededRandom(seed + 1);
    const ranges: [number | null, number | null][] = [
      [null, 29_999],
      [30_001, null],
      [12_000, 12_999],
      [17, 40_003],
      [45_000, 46_000],
      [59_990, 59_999],
      [-50, 10],
      [70_000, 80_000],
    ];
    for (let i = 0; i < 6; i++) {
      const a = rand.int(0, 59_999);
      ranges.push([a, a + rand.int(0, 60_000 - a)]);
    }
    for (const [s, e] of ranges) {
      for (const maxPoints of [1000, 100]) {
        const inRange = raw.filter(
          (p) => (s === null || p.step >= s) && (e === null || p.step <= e),
        );
        const out = await history(w, runId, 'loss', maxPoints, s, e);
        checkContract(
          out,
          inRange,
          maxPoints,
          `seed ${seed}, [${s}, ${e}], maxPoints ${maxPoints}`,
        );
      }
    }
    // A re-logged step comes back twice, as in the raw history, in (step, timestamp) order.
    const twice = raw.filter((p) => p.step === 59_999).sort(cmpPoint);
    expect(twice.length).toBeGreaterThanOrEqual(2);
    expect(await history(w, runId, 'loss', 1000, 59_999, 59_999)).toEqual(twice);
  });

  it('answers metricHistories like metricHistory for each series', async () => {
    const d = ok(
      await api.gql<{ metricHistories: { key: string; points: { step: number }[] }[] }>(
        'query($r:String!){metricHistories(runIds:[$r], keys:["loss"], maxPoints:200){key points{step}}}',
        { r: runId },
        { 'x-cairn-workspace': w },
      ),
    );
    const single = await history(w, runId, 'loss', 200);
    expect(d.metricHistories[0]?.points.map((p) => p.step)).toEqual(single.map((p) => p.step));
  });

  it('rebuilds the rollups from the log and backfills them in migration 0008 identically', async () => {
    // A second series with negative steps and all points on few steps (re-logged a lot).
    const other = await newRun(w);
    await log(
      w,
      other,
      'acc',
      Array.from({ length: 3_000 }, (_, i) => ({
        step: (i % 7) * -1_000,
        timestamp: i,
        value: i % 11 === 0 ? NaN : i / 7,
      })),
    );
    const out = await history(w, other, 'acc', 100);
    checkContract(
      out,
      Array.from({ length: 3_000 }, (_, i) => ({
        step: (i % 7) * -1_000,
        timestamp: i,
        value: i % 11 === 0 ? NaN : i / 7,
      })),
      100,
      'few steps',
    );

    // A series that starts inside one bucket and widens batch by batch: its levels appear one by
    // one, backfilled from the raw points first, then from the coarsest level kept.
    const growing = await newRun(w);
    const grown: Point[] = [];
    for (const steps of [[0, 1], [3], [40, 2], [1_000], [900, 70_000], [-5]]) {
      const pts = steps.map((step, i) => ({
        step,
        timestamp: i,
        value: step % 3 === 0 ? NaN : step,
      }));
      await log(w, growing, 'g', pts);
      grown.push(...pts);
    }
    checkContract(await history(w, growing, 'g', 5), grown, 5, 'growing');
    const rollupRows = await sql<{ level: number; count: number }>`
      SELECT r.level, sum(r.count)::int AS count FROM metric_rollups r JOIN metric_keys k USING (workspace_id, key_id)
      WHERE r.workspace_id = ${w} AND r.run_id = ${growing} AND k.key = 'g' GROUP BY r.level ORDER BY r.level`.execute(
      api.db,
    );
    // Span -5 … 70,000: step -5 is in bucket -1 of every level, 70,000 in bucket 0 or above, so
    // every level is kept, each holding all points.
    expect(rollupRows.rows).toEqual(ROLLUP_LEVELS.map((level) => ({ level, count: grown.length })));

    const live = await dumpReadModels(api.db, [w]);
    expect(live['metric_rollups']?.length).toBeGreaterThan(1000);
    await rebuildProjection(api.db, runsProjection);
    expect(diffDumps(live, await dumpReadModels(api.db, [w]), ['live', 'rebuilt'])).toEqual([]);

    // A database upgraded with points already in it: back to one row per point (down), then
    // migration 0008 chunks the points and backfills the rollups: the same points and rollups.
    await m0008.down(api.db);
    expect(
      (
        await sql<{
          kind: string;
        }>`SELECT relkind::text AS kind FROM pg_class WHERE relname = 'metric_points'`.execute(
          api.db,
        )
      ).rows,
    ).toEqual([{ kind: 'r' }]);
    await m0008.up(api.db);
    expect(diffDumps(live, await dumpReadModels(api.db, [w]), ['live', 'backfilled'])).toEqual([]);
  }, 120_000);
});
