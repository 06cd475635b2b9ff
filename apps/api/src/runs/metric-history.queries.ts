import { sql, type Kysely, type RawBuilder } from 'kysely';
import {
  compareByStep,
  copyCell,
  mergeCell,
  pointCell,
  ROLLUP_LEVELS,
  rollupWidth,
  type DB,
  type RollupCell,
  type RollupPoint,
} from '@cairn/db';

type MetricPointRow = RollupPoint;

export interface HistoryArgs {
  runId: string;
  key: string;
  maxPoints: number;
  startStep: number | null;
  endStep: number | null;
}

/** Stand-ins for an open end of a step range in SQL (every step is within ±(2^53 − 1)). */
const BELOW_ALL = -(2 ** 62);
const ABOVE_ALL = 2 ** 62;

/** Buckets of one rollup level, [lo, hi] (null: open end), or raw steps when level is 0. */
export interface CoverPiece {
  level: number;
  lo: number | null;
  hi: number | null;
}

/**
 * Covers the steps [lo, hi] exactly with whole buckets: as many as possible of the level at
 * `levelIndex` (of ROLLUP_LEVELS), the uncovered ends (each narrower than one such bucket) with
 * buckets of the finer levels, and what no bucket fits with raw steps (level 0). A null bound is
 * an open end. At most two pieces per level below `levelIndex`, so O(levels) pieces.
 */
export function coverRange(
  lo: number | null,
  hi: number | null,
  levelIndex: number,
  out: CoverPiece[] = [],
): CoverPiece[] {
  if (lo !== null && hi !== null && lo > hi) return out;
  const level = ROLLUP_LEVELS[levelIndex];
  if (level === undefined) {
    out.push({ level: 0, lo, hi });
    return out;
  }
  const w = rollupWidth(level);
  const fullLo = lo === null ? null : Math.ceil(lo / w) + 0; // + 0: no -0
  const fullHi = hi === null ? null : Math.floor((hi + 1) / w) - 1;
  if (fullLo !== null && fullHi !== null && fullLo > fullHi) {
    return coverRange(lo, hi, levelIndex - 1, out);
  }
  if (lo !== null && fullLo !== null) coverRange(lo, fullLo * w - 1, levelIndex - 1, out);
  out.push({ level, lo: fullLo, hi: fullHi });
  if (hi !== null && fullHi !== null) coverRange((fullHi + 1) * w, hi, levelIndex - 1, out);
  return out;
}

/**
 * The downsampling contract on cells (rollup buckets or single points) in history order that
 * together hold `n` > maxPoints points: they are split into (maxPoints − 2) / 2 groups of about
 * equal point count; each group gives its minimum and its maximum point, and the first and the
 * last point of the whole range are always kept (with maxPoints 3, only the maximum besides
 * them). A spike survives (it is its group's maximum); the result is in history order and never
 * longer than maxPoints.
 */
export function downsampleCells(cells: readonly RollupCell[], maxPoints: number): RollupPoint[] {
  if (cells.length === 0) return [];
  const n = cells.reduce((sum, c) => sum + c.count, 0);
  const groups = Math.max(1, Math.floor((maxPoints - 2) / 2));
  // maxPoints 3 leaves room for one extreme besides the first and last point: the maximum.
  const keepMin = maxPoints >= 4;
  const picked = new Set<RollupPoint>([cells[0]!.first, cells.at(-1)!.last]);
  let seen = 0;
  let group = -1;
  let acc: RollupCell | undefined;
  for (const cell of cells) {
    const g = Math.floor((seen * groups) / n);
    seen += cell.count;
    if (g !== group || !acc) {
      if (acc) picked.add(keepMin ? acc.min : acc.max).add(acc.max);
      acc = copyCell(cell);
      group = g;
    } else {
      mergeCell(acc, cell);
    }
  }
  if (acc) picked.add(keepMin ? acc.min : acc.max).add(acc.max);
  // A rollup row holds its first, last, minimum and maximum as separate copies of what may be one
  // point: keep each point once.
  const sorted = [...picked].sort(compareByStep);
  return sorted.filter((p, i) => i === 0 || compareByStep(sorted[i - 1]!, p) !== 0);
}

async function metricKeyId(db: Kysely<DB>, workspaceId: string, key: string) {
  const row = await db
    .selectFrom('metric_keys')
    .select('key_id')
    .where('workspace_id', '=', workspaceId)
    .where('key', '=', key)
    .executeTakeFirst();
  return row?.key_id;
}

interface Series {
  workspaceId: string;
  runId: string;
  keyId: number;
}

/**
 * The points of a series with steps in [lo, hi] (SQL expressions), as rows (step, timestamp,
 * value): the chunks whose step range meets [lo, hi], unnested and filtered.
 */
function pointsIn(s: Series, lo: RawBuilder<unknown>, hi: RawBuilder<unknown>) {
  return sql`
    SELECT p.step, p.timestamp, p.value
    FROM metric_point_chunks c
    CROSS JOIN LATERAL unnest(c.steps, c.timestamps, c.vals) AS p(step, timestamp, value)
    WHERE c.workspace_id = ${s.workspaceId} AND c.run_id = ${s.runId} AND c.key_id = ${s.keyId}
      AND c.min_step <= ${hi} AND c.max_step >= ${lo} AND p.step BETWEEN ${lo} AND ${hi}`;
}

/** All points of the range in history order (only called when there are few). */
async function rawPoints(db: Kysely<DB>, s: Series, lo: number, hi: number) {
  const { rows } = await sql<MetricPointRow>`
    SELECT step, timestamp, value FROM (${pointsIn(s, sql`${lo}::int8`, sql`${hi}::int8`)}) p
    ORDER BY step, timestamp, value`.execute(db);
  return rows;
}

/**
 * The downsampling contract computed from the raw points (equal-count buckets over the points
 * in history order): used when the range spans too few buckets of even the finest rollup level,
 * i.e. it holds at most a few thousand steps.
 */
async function rawDownsampled(
  db: Kysely<DB>,
  s: Series,
  lo: number,
  hi: number,
  maxPoints: number,
): Promise<MetricPointRow[]> {
  const buckets = Math.max(1, Math.floor((maxPoints - 2) / 2));
  const result = await sql<MetricPointRow>`
    WITH pts AS (
      SELECT step, timestamp, value,
             row_number() OVER (ORDER BY step, timestamp, value) - 1 AS rn,
             count(*) OVER () AS n
      FROM (${pointsIn(s, sql`${lo}::int8`, sql`${hi}::int8`)}) p
    ),
    bucketed AS (
      SELECT *, CASE WHEN n <= ${maxPoints} THEN rn ELSE floor(rn * ${buckets}::float8 / n) END AS bucket FROM pts
    ),
    ranked AS (
      SELECT *,
             row_number() OVER (PARTITION BY bucket ORDER BY value ASC, rn) AS by_min,
             row_number() OVER (PARTITION BY bucket ORDER BY value DESC, rn) AS by_max
      FROM bucketed
    )
    SELECT step, timestamp, value FROM ranked
    WHERE n <= ${maxPoints} OR (by_min = 1 AND ${maxPoints >= 4}) OR by_max = 1 OR rn = 0 OR rn = n - 1
    ORDER BY rn`.execute(db);
  return result.rows;
}

interface CellRow {
  count: number;
  first_step: number;
  first_timestamp: number;
  first_value: number;
  last_step: number;
  last_timestamp: number;
  last_value: number;
  min_step: number;
  min_timestamp: number;
  min_value: number;
  max_step: number;
  max_timestamp: number;
  max_value: number;
}

function toCell(r: CellRow): RollupCell {
  if (r.count === 1)
    return pointCell({ step: r.first_step, timestamp: r.first_timestamp, value: r.first_value });
  return {
    count: r.count,
    first: { step: r.first_step, timestamp: r.first_timestamp, value: r.first_value },
    last: { step: r.last_step, timestamp: r.last_timestamp, value: r.last_value },
    min: { step: r.min_step, timestamp: r.min_timestamp, value: r.min_value },
    max: { step: r.max_step, timestamp: r.max_timestamp, value: r.max_value },
  };
}

/** The cells of a cover: stored rollup rows for bucket pieces, single points for raw pieces. */
async function loadCover(db: Kysely<DB>, s: Series, pieces: readonly CoverPiece[]) {
  const buckets = pieces.filter((p) => p.level > 0);
  const raw = pieces.filter((p) => p.level === 0);
  const lo = (ps: CoverPiece[]) => ps.map((p) => p.lo ?? BELOW_ALL);
  const hi = (ps: CoverPiece[]) => ps.map((p) => p.hi ?? ABOVE_ALL);
  const { rows } = await sql<CellRow>`
    SELECT r.count, r.first_step, r.first_timestamp, r.first_value, r.last_step, r.last_timestamp,
           r.last_value, r.min_step, r.min_timestamp, r.min_value, r.max_step, r.max_timestamp, r.max_value
    FROM unnest(${buckets.map((p) => p.level)}::int2[], ${lo(buckets)}::int8[], ${hi(buckets)}::int8[]) AS p(level, lo, hi)
    CROSS JOIN LATERAL (
      SELECT * FROM metric_rollups r
      WHERE r.workspace_id = ${s.workspaceId} AND r.run_id = ${s.runId} AND r.key_id = ${s.keyId}
        AND r.level = p.level AND r.bucket BETWEEN p.lo AND p.hi
    ) r
    UNION ALL
    SELECT 1, m.step, m.timestamp, m.value, m.step, m.timestamp, m.value,
           m.step, m.timestamp, m.value, m.step, m.timestamp, m.value
    FROM unnest(${lo(raw)}::int8[], ${hi(raw)}::int8[]) AS q(lo, hi)
    CROSS JOIN LATERAL (${pointsIn(s, sql`q.lo`, sql`q.hi`)}) m`.execute(db);
  // Pieces cover disjoint step ranges, so ordering cells by their first point is history order.
  return rows.map(toCell).sort((a, b) => compareByStep(a.first, b.first));
}

/**
 * Per rollup level (coarsest last), how many of its buckets meet [lo, hi], counted up to `cap`:
 * at most cap × levels index entries, whatever the series length.
 */
async function bucketCounts(db: Kysely<DB>, s: Series, lo: number, hi: number, cap: number) {
  const levels = [...ROLLUP_LEVELS];
  const { rows } = await sql<{ level: number; n: number; upper: number }>`
    SELECT l.level, (
      SELECT coalesce(max(m.count), 0) FROM metric_series m
      WHERE m.workspace_id = ${s.workspaceId} AND m.run_id = ${s.runId} AND m.key_id = ${s.keyId}
    )::int8 AS upper, (
      SELECT count(*) FROM (
        SELECT 1 FROM metric_rollups r
        WHERE r.workspace_id = ${s.workspaceId} AND r.run_id = ${s.runId} AND r.key_id = ${s.keyId}
          AND r.level = l.level AND r.bucket BETWEEN l.lo AND l.hi
        LIMIT ${cap}
      ) c
    )::int AS n
    FROM unnest(${levels}::int2[], ${levels.map((k) => Math.floor(lo / rollupWidth(k)))}::int8[],
                ${levels.map((k) => Math.floor(hi / rollupWidth(k)))}::int8[]) AS l(level, lo, hi)`.execute(
    db,
  );
  // upper: the series' point count (an upper bound for any range). Levels a series does not keep
  // (its steps within one of their buckets) count 0 and are never chosen.
  return { counts: new Map(rows.map((r) => [r.level, r.n])), upper: rows[0]?.upper ?? 0 };
}

/**
 * Metric history with server-side downsampling that keeps extremes (see downsampleCells): the
 * whole range when it holds at most maxPoints points, otherwise at most maxPoints points including
 * every group's minimum and maximum and the range's first and last point.
 *
 * Long series are served from the rollup pyramid (`metric_rollups`): the coarsest level that
 * still has at least one bucket per output group in the range, covered exactly (coverRange), so
 * the rows read are O(maxPoints) whatever the series length. A range within a few thousand steps
 * is downsampled from its raw points.
 */
export async function getMetricHistory(
  db: Kysely<DB>,
  workspaceId: string,
  args: HistoryArgs,
): Promise<MetricPointRow[]> {
  const keyId = await metricKeyId(db, workspaceId, args.key);
  if (keyId === undefined) return [];
  const s: Series = { workspaceId, runId: args.runId, keyId };
  const lo = args.startStep ?? BELOW_ALL;
  const hi = args.endStep ?? ABOVE_ALL;
  if (lo > hi) return [];
  const groups = Math.max(1, Math.floor((args.maxPoints - 2) / 2));
  const { counts, upper } = await bucketCounts(db, s, lo, hi, groups);
  if (upper <= args.maxPoints) return rawPoints(db, s, lo, hi);
  let chosen = -1;
  for (const [i, level] of ROLLUP_LEVELS.entries()) {
    if ((counts.get(level) ?? 0) >= groups) chosen = i;
  }
  if (chosen < 0) return rawDownsampled(db, s, lo, hi, args.maxPoints);
  const cells = await loadCover(db, s, coverRange(args.startStep, args.endStep, chosen));
  const n = cells.reduce((sum, c) => sum + c.count, 0);
  if (n <= args.maxPoints) return rawPoints(db, s, lo, hi);
  return downsampleCells(cells, args.maxPoints);
}
