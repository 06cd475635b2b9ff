import { sql, type Transaction } from 'kysely';
import type { DB } from '@cairn/db';
import type { CairnEvent } from '@cairn/events';
import { RollupCollector, writeMetricStorage } from './metric-rollups.ts';

type MetricPointsPurged = Extract<CairnEvent, { type: 'MetricPointsPurged' }>;

/** The latest MetricPointsPurged cut-off (ms) of each given workspace that has one. */
export async function metricCutoffs(
  trx: Transaction<DB>,
  workspaces: readonly string[],
): Promise<Map<string, number>> {
  if (workspaces.length === 0) return new Map();
  const rows = await trx
    .selectFrom('metric_retention_cutoffs')
    .select(['workspace_id', 'before_ms'])
    .where('workspace_id', 'in', workspaces)
    .execute();
  return new Map(rows.map((r) => [r.workspace_id, r.before_ms]));
}

/**
 * Retention for metric points (docs/governance.md, "Retention"): every point of the workspace with
 * a timestamp before the event's cut-off leaves the metric history (chunks, rollups, series). The
 * cut-off is stored (it only rises), and the runs projection keeps later-arriving points below it
 * out too, so the outcome is the same however the log is cut into batches: the points stored are
 * those at or after the highest cut-off applied. The series that lose points are rewritten from
 * the points they keep (rollups depend only on the points, so a rebuild writes the same rows).
 * `run_latest_metrics` is left alone: a run's latest value stays what the log says it is.
 */
export async function purgeMetricPoints(
  trx: Transaction<DB>,
  event: MetricPointsPurged,
): Promise<void> {
  const w = event.workspaceId;
  const eventCut = Date.parse(event.data.before);
  await sql`
    INSERT INTO metric_retention_cutoffs AS t (workspace_id, before_ms) VALUES (${w}, ${eventCut})
    ON CONFLICT (workspace_id) DO UPDATE SET before_ms = GREATEST(t.before_ms, excluded.before_ms)`.execute(
    trx,
  );
  const cut = (await metricCutoffs(trx, [w])).get(w) ?? eventCut;
  const affected = await sql<{ run_id: string; key_id: number }>`
    SELECT DISTINCT c.run_id, c.key_id FROM metric_point_chunks c
    WHERE c.workspace_id = ${w}
      AND EXISTS (SELECT 1 FROM unnest(c.timestamps) AS t(ts) WHERE t.ts < ${cut})`.execute(trx);
  if (affected.rows.length === 0) return;
  const runs = affected.rows.map((r) => r.run_id);
  const keys = affected.rows.map((r) => r.key_id);
  const kept = await sql<{
    run_id: string;
    key_id: number;
    step: number;
    ts: number;
    value: number;
  }>`
    SELECT c.run_id, c.key_id, p.step, p.ts, p.value
    FROM metric_point_chunks c
    JOIN unnest(${runs}::text[], ${keys}::int[]) AS u(r, k) ON c.run_id = u.r AND c.key_id = u.k
    CROSS JOIN LATERAL unnest(c.steps, c.timestamps, c.vals) WITH ORDINALITY AS p(step, ts, value, i)
    WHERE c.workspace_id = ${w} AND p.ts >= ${cut}
    ORDER BY c.run_id, c.key_id, p.step, p.ts, c.min_step, p.i`.execute(trx);
  for (const table of ['metric_point_chunks', 'metric_rollups', 'metric_series'] as const) {
    await sql`
      DELETE FROM ${sql.table(table)} x
      USING unnest(${runs}::text[], ${keys}::int[]) AS u(r, k)
      WHERE x.workspace_id = ${w} AND x.run_id = u.r AND x.key_id = u.k`.execute(trx);
  }
  const collector = new RollupCollector();
  for (const p of kept.rows)
    collector.add(w, p.run_id, p.key_id, { step: p.step, timestamp: p.ts, value: p.value });
  await writeMetricStorage(trx, collector);
}
