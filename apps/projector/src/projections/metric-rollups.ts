import { sql, type Transaction } from 'kysely';
import {
  float8Array,
  int2Array,
  int4Array,
  int8Array,
  mergeCell,
  pointCell,
  ROLLUP_LEVELS,
  rollupBucket,
  copyCell,
  type DB,
  type RollupCell,
  type RollupPoint,
} from '@cairn/db';

/** One `metric_rollups` row to merge into the stored one. */
export interface RollupRow {
  workspaceId: string;
  runId: string;
  keyId: number;
  level: number;
  bucket: number;
  cell: RollupCell;
}

interface Series {
  workspaceId: string;
  runId: string;
  keyId: number;
  /** Finest level's buckets, folded in log order. */
  cells: Map<number, RollupCell>;
  /** The points, in log order. */
  points: RollupPoint[];
}

/** One `metric_point_chunks` row: points of one series sorted by step. */
export interface ChunkRow {
  workspaceId: string;
  runId: string;
  keyId: number;
  points: RollupPoint[];
}

/** A series' step span and point count (a `metric_series` row, or a batch's share of it). */
export interface SeriesSummary {
  workspaceId: string;
  runId: string;
  keyId: number;
  minStep: number;
  maxStep: number;
  count: number;
}

/** Points per chunk row: small enough that a narrow step range reads little. */
export const CHUNK_POINTS = 1024;

const FINEST = ROLLUP_LEVELS[0];
const FINEST_WIDTH = 4 ** FINEST;

/**
 * Collects the points of a projector batch into the rollup pyramid (see @cairn/db
 * metric-rollups.ts): points fold into the finest level's buckets in log order, and each coarser
 * level is folded from the level below (a bucket of the next level is 4 buckets of this one).
 */
export class RollupCollector {
  private readonly series = new Map<string, Series>();
  private current: Series | undefined;
  private currentKey = '';

  add(workspaceId: string, runId: string, keyId: number, point: RollupPoint): void {
    const k = `${workspaceId}\u0000${runId}\u0000${keyId}`;
    if (k !== this.currentKey || !this.current) {
      let s = this.series.get(k);
      if (!s) this.series.set(k, (s = { workspaceId, runId, keyId, cells: new Map(), points: [] }));
      this.current = s;
      this.currentKey = k;
    }
    this.current.points.push(point);
    const bucket = Math.floor(point.step / FINEST_WIDTH);
    const cell = this.current.cells.get(bucket);
    if (cell) mergeCell(cell, pointCell(point));
    else this.current.cells.set(bucket, pointCell(point));
  }

  /** The points of every series, sorted by step (stable), cut into chunks of CHUNK_POINTS. */
  chunks(): ChunkRow[] {
    const rows: ChunkRow[] = [];
    for (const s of this.series.values()) {
      const sorted = [...s.points].sort((a, b) => a.step - b.step);
      for (let i = 0; i < sorted.length; i += CHUNK_POINTS) {
        rows.push({
          workspaceId: s.workspaceId,
          runId: s.runId,
          keyId: s.keyId,
          points: sorted.slice(i, i + CHUNK_POINTS),
        });
      }
    }
    return rows;
  }

  /** Per series touched: its points' step span and count in this batch. */
  summaries(): SeriesSummary[] {
    return [...this.series.values()].map((s) => {
      let minStep = Infinity;
      let maxStep = -Infinity;
      for (const p of s.points) {
        if (p.step < minStep) minStep = p.step;
        if (p.step > maxStep) maxStep = p.step;
      }
      return {
        workspaceId: s.workspaceId,
        runId: s.runId,
        keyId: s.keyId,
        minStep,
        maxStep,
        count: s.points.length,
      };
    });
  }

  /** Every level's rows of every series touched. */
  rows(): RollupRow[] {
    const rows: RollupRow[] = [];
    for (const s of this.series.values()) {
      let level: Map<number, RollupCell> = s.cells;
      for (const [i, lvl] of ROLLUP_LEVELS.entries()) {
        const next = new Map<number, RollupCell>();
        for (const [bucket, cell] of level) {
          rows.push({
            workspaceId: s.workspaceId,
            runId: s.runId,
            keyId: s.keyId,
            level: lvl,
            bucket,
            cell,
          });
          const up = ROLLUP_LEVELS[i + 1];
          if (up === undefined) continue;
          const parent = Math.floor(bucket / 4 ** (up - lvl));
          const p = next.get(parent);
          if (p) mergeCell(p, cell);
          else next.set(parent, copyCell(cell));
        }
        level = next;
      }
    }
    return rows;
  }
}

// float8 comparisons in PostgreSQL treat NaN as equal to NaN and above every other value, as
// compareFloat8 does.
const firstWins = sql.raw(
  '(excluded.first_step, excluded.first_timestamp, excluded.first_value) < (t.first_step, t.first_timestamp, t.first_value)',
);
const lastWins = sql.raw(
  '(excluded.last_step, excluded.last_timestamp, excluded.last_value) > (t.last_step, t.last_timestamp, t.last_value)',
);
const minWins = sql.raw(
  '(excluded.min_value, excluded.min_step, excluded.min_timestamp) < (t.min_value, t.min_step, t.min_timestamp)',
);
const maxWins = sql.raw(
  '(excluded.max_value > t.max_value OR (excluded.max_value = t.max_value AND (excluded.max_step, excluded.max_timestamp) < (t.max_step, t.max_timestamp)))',
);

/** Inserts point chunks, a few thousand rows per statement (bind parameter limit). */
export async function insertChunks(trx: Transaction<DB>, rows: readonly ChunkRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 5000) {
    await trx
      .insertInto('metric_point_chunks')
      .values(
        rows.slice(i, i + 5000).map((r) => ({
          workspace_id: r.workspaceId,
          run_id: r.runId,
          key_id: r.keyId,
          min_step: r.points[0]!.step,
          max_step: r.points.at(-1)!.step,
          // Binary arrays (see @cairn/db binary-arrays.ts), typed by their columns.
          steps: sql<number[]>`${int8Array(r.points.map((p) => p.step))}`,
          timestamps: sql<number[]>`${int8Array(r.points.map((p) => p.timestamp))}`,
          vals: sql<string[]>`${float8Array(r.points.map((p) => p.value))}`,
        })),
      )
      .execute();
  }
}

/**
 * Merges rows into `metric_rollups` in one statement. A stored point wins every tie, like
 * mergeCell: the stored row holds the earlier part of the series' log.
 */
export async function upsertRollups(
  trx: Transaction<DB>,
  rows: readonly RollupRow[],
): Promise<void> {
  if (rows.length === 0) return;
  const col = <T>(f: (r: RollupRow) => T) => rows.map(f);
  await sql`
    INSERT INTO metric_rollups AS t (workspace_id, run_id, key_id, level, bucket, count,
      first_step, first_timestamp, first_value, last_step, last_timestamp, last_value,
      min_step, min_timestamp, min_value, max_step, max_timestamp, max_value)
    SELECT * FROM unnest(
      ${col((r) => r.workspaceId)}::text[], ${col((r) => r.runId)}::text[], ${int4Array(col((r) => r.keyId))}::int[],
      ${int2Array(col((r) => r.level))}::int2[], ${int8Array(col((r) => r.bucket))}::int8[], ${int8Array(col((r) => r.cell.count))}::int8[],
      ${int8Array(col((r) => r.cell.first.step))}::int8[], ${int8Array(col((r) => r.cell.first.timestamp))}::int8[], ${float8Array(col((r) => r.cell.first.value))}::float8[],
      ${int8Array(col((r) => r.cell.last.step))}::int8[], ${int8Array(col((r) => r.cell.last.timestamp))}::int8[], ${float8Array(col((r) => r.cell.last.value))}::float8[],
      ${int8Array(col((r) => r.cell.min.step))}::int8[], ${int8Array(col((r) => r.cell.min.timestamp))}::int8[], ${float8Array(col((r) => r.cell.min.value))}::float8[],
      ${int8Array(col((r) => r.cell.max.step))}::int8[], ${int8Array(col((r) => r.cell.max.timestamp))}::int8[], ${float8Array(col((r) => r.cell.max.value))}::float8[])
    ON CONFLICT (workspace_id, run_id, key_id, level, bucket) DO UPDATE SET
      count = t.count + excluded.count,
      first_step = CASE WHEN ${firstWins} THEN excluded.first_step ELSE t.first_step END,
      first_timestamp = CASE WHEN ${firstWins} THEN excluded.first_timestamp ELSE t.first_timestamp END,
      first_value = CASE WHEN ${firstWins} THEN excluded.first_value ELSE t.first_value END,
      last_step = CASE WHEN ${lastWins} THEN excluded.last_step ELSE t.last_step END,
      last_timestamp = CASE WHEN ${lastWins} THEN excluded.last_timestamp ELSE t.last_timestamp END,
      last_value = CASE WHEN ${lastWins} THEN excluded.last_value ELSE t.last_value END,
      min_step = CASE WHEN ${minWins} THEN excluded.min_step ELSE t.min_step END,
      min_timestamp = CASE WHEN ${minWins} THEN excluded.min_timestamp ELSE t.min_timestamp END,
      min_value = CASE WHEN ${minWins} THEN excluded.min_value ELSE t.min_value END,
      max_step = CASE WHEN ${maxWins} THEN excluded.max_step ELSE t.max_step END,
      max_timestamp = CASE WHEN ${maxWins} THEN excluded.max_timestamp ELSE t.max_timestamp END,
      max_value = CASE WHEN ${maxWins} THEN excluded.max_value ELSE t.max_value END`.execute(trx);
}

const seriesKey = (s: { workspaceId: string; runId: string; keyId: number }) =>
  `${s.workspaceId}\u0000${s.runId}\u0000${s.keyId}`;

/**
 * Writes a batch's points: chunks, rollups and the series' span (`metric_series`).
 *
 * Rollup levels are lazy: a series keeps level k only once its steps span two level-k buckets
 * (`isMaintained`); a single bucket would summarise the whole series, which no read needs. So a
 * short series writes one or two rollup rows per batch instead of one per level. When a batch
 * widens a series' span past a level's bucket boundary, that level is first backfilled with the
 * series' earlier points — all in one bucket of it — summarised from the coarsest level kept so
 * far, or from the raw points (before this batch's chunks are written). The result depends only
 * on the points, so a rebuild and migration 0008 produce the same rows.
 */
export async function writeMetricStorage(
  trx: Transaction<DB>,
  collector: RollupCollector,
): Promise<void> {
  const batch = collector.summaries();
  if (batch.length === 0) return;
  const { rows: stored } = await sql<{
    workspace_id: string;
    run_id: string;
    key_id: number;
    min_step: number;
    max_step: number;
  }>`
    SELECT s.workspace_id, s.run_id, s.key_id, s.min_step, s.max_step
    FROM metric_series s
    JOIN unnest(${batch.map((b) => b.workspaceId)}::text[], ${batch.map((b) => b.runId)}::text[],
                ${batch.map((b) => b.keyId)}::int[]) AS u(w, r, k)
      ON s.workspace_id = u.w AND s.run_id = u.r AND s.key_id = u.k`.execute(trx);
  const before = new Map(
    stored.map((r) => [
      seriesKey({ workspaceId: r.workspace_id, runId: r.run_id, keyId: r.key_id }),
      { minStep: r.min_step, maxStep: r.max_step },
    ]),
  );
  const kept = new Map<string, Set<number>>();
  const backfills: Backfill[] = [];
  for (const b of batch) {
    const old = before.get(seriesKey(b));
    const minStep = Math.min(b.minStep, old?.minStep ?? Infinity);
    const maxStep = Math.max(b.maxStep, old?.maxStep ?? -Infinity);
    const levels = ROLLUP_LEVELS.filter((k) => isMaintained(minStep, maxStep, k));
    kept.set(seriesKey(b), new Set(levels));
    if (!old) continue;
    const added = levels.filter((k) => !isMaintained(old.minStep, old.maxStep, k));
    if (added.length === 0) continue;
    const from = ROLLUP_LEVELS.filter((k) => isMaintained(old.minStep, old.maxStep, k)).at(-1);
    for (const level of added) {
      backfills.push({
        series: b,
        from: from ?? null,
        level,
        bucket: rollupBucket(old.minStep, level),
      });
    }
  }
  await backfillLevels(
    trx,
    backfills.filter((x) => x.from === null),
    null,
  );
  await backfillLevels(
    trx,
    backfills.filter((x) => x.from !== null),
    'rollups',
  );
  await insertChunks(trx, collector.chunks());
  await upsertRollups(
    trx,
    collector.rows().filter((r) => kept.get(seriesKey(r))?.has(r.level) ?? false),
  );
  await sql`
    INSERT INTO metric_series AS t (workspace_id, run_id, key_id, min_step, max_step, count)
    SELECT * FROM unnest(${batch.map((b) => b.workspaceId)}::text[], ${batch.map((b) => b.runId)}::text[],
                         ${batch.map((b) => b.keyId)}::int[], ${batch.map((b) => b.minStep)}::int8[],
                         ${batch.map((b) => b.maxStep)}::int8[], ${batch.map((b) => b.count)}::int8[])
    ON CONFLICT (workspace_id, run_id, key_id) DO UPDATE SET
      min_step = LEAST(t.min_step, excluded.min_step),
      max_step = GREATEST(t.max_step, excluded.max_step),
      count = t.count + excluded.count`.execute(trx);
}

/** Does a series spanning [minStep, maxStep] keep rollup level k (two buckets or more)? */
export function isMaintained(minStep: number, maxStep: number, level: number): boolean {
  return rollupBucket(minStep, level) !== rollupBucket(maxStep, level);
}

interface Backfill {
  series: { workspaceId: string; runId: string; keyId: number };
  /** The coarsest level the series kept before this batch; null: none (read the raw points). */
  from: number | null;
  level: number;
  bucket: number;
}

/**
 * For each backfill, one row of its level summarising every stored point of the series (they all
 * lie in one bucket of that level), from the rows of level `from` or from the raw points. One
 * statement for all; ties as in migration 0008 (array order, float8 semantics).
 */
async function backfillLevels(
  trx: Transaction<DB>,
  backfills: readonly Backfill[],
  source: 'rollups' | null,
): Promise<void> {
  if (backfills.length === 0) return;
  const summary =
    source === null
      ? sql`
        SELECT count(*)::int8 AS n,
               min(ARRAY[p.step::float8, p.timestamp::float8, p.value]) AS f,
               max(ARRAY[p.step::float8, p.timestamp::float8, p.value]) AS l,
               min(ARRAY[p.value, p.step::float8, p.timestamp::float8]) AS lo,
               max(ARRAY[p.value, -p.step::float8, -p.timestamp::float8]) AS hi
        FROM metric_point_chunks c
        CROSS JOIN LATERAL unnest(c.steps, c.timestamps, c.vals) AS p(step, timestamp, value)
        WHERE c.workspace_id = s.w AND c.run_id = s.r AND c.key_id = s.k`
      : sql`
        SELECT sum(r.count)::int8 AS n,
               min(ARRAY[r.first_step::float8, r.first_timestamp::float8, r.first_value]) AS f,
               max(ARRAY[r.last_step::float8, r.last_timestamp::float8, r.last_value]) AS l,
               min(ARRAY[r.min_value, r.min_step::float8, r.min_timestamp::float8]) AS lo,
               max(ARRAY[r.max_value, -r.max_step::float8, -r.max_timestamp::float8]) AS hi
        FROM metric_rollups r
        WHERE r.workspace_id = s.w AND r.run_id = s.r AND r.key_id = s.k AND r.level = s.from_level`;
  await sql`
    WITH t AS (
      SELECT * FROM unnest(${backfills.map((x) => x.series.workspaceId)}::text[],
                           ${backfills.map((x) => x.series.runId)}::text[],
                           ${backfills.map((x) => x.series.keyId)}::int[],
                           ${backfills.map((x) => x.from ?? 0)}::int2[],
                           ${backfills.map((x) => x.level)}::int2[],
                           ${backfills.map((x) => x.bucket)}::int8[])
        AS t(w, r, k, from_level, level, bucket)
    ),
    g AS (
      SELECT s.w, s.r, s.k, a.*
      FROM (SELECT DISTINCT w, r, k, from_level FROM t) s
      CROSS JOIN LATERAL (${summary}) a
    )
    INSERT INTO metric_rollups (workspace_id, run_id, key_id, level, bucket, count,
      first_step, first_timestamp, first_value, last_step, last_timestamp, last_value,
      min_step, min_timestamp, min_value, max_step, max_timestamp, max_value)
    SELECT t.w, t.r, t.k, t.level, t.bucket, g.n,
           g.f[1]::int8, g.f[2]::int8, g.f[3], g.l[1]::int8, g.l[2]::int8, g.l[3],
           g.lo[2]::int8, g.lo[3]::int8, g.lo[1], (-g.hi[2])::int8, (-g.hi[3])::int8, g.hi[1]
    FROM t JOIN g ON g.w = t.w AND g.r = t.r AND g.k = t.k
    WHERE g.n > 0`.execute(trx);
}
