import { sql, type Transaction } from 'kysely';
import {
  mergeCell,
  pointCell,
  ROLLUP_LEVELS,
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

const f8 = (v: number) => String(v);

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
          steps: r.points.map((p) => p.step),
          timestamps: r.points.map((p) => p.timestamp),
          vals: r.points.map((p) => f8(p.value)),
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
      ${col((r) => r.workspaceId)}::text[], ${col((r) => r.runId)}::text[], ${col((r) => r.keyId)}::int[],
      ${col((r) => r.level)}::int2[], ${col((r) => r.bucket)}::int8[], ${col((r) => r.cell.count)}::int8[],
      ${col((r) => r.cell.first.step)}::int8[], ${col((r) => r.cell.first.timestamp)}::int8[], ${col((r) => f8(r.cell.first.value))}::float8[],
      ${col((r) => r.cell.last.step)}::int8[], ${col((r) => r.cell.last.timestamp)}::int8[], ${col((r) => f8(r.cell.last.value))}::float8[],
      ${col((r) => r.cell.min.step)}::int8[], ${col((r) => r.cell.min.timestamp)}::int8[], ${col((r) => f8(r.cell.min.value))}::float8[],
      ${col((r) => r.cell.max.step)}::int8[], ${col((r) => r.cell.max.timestamp)}::int8[], ${col((r) => f8(r.cell.max.value))}::float8[])
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
