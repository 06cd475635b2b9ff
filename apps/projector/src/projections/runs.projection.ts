import { sql, type RawBuilder, type Transaction } from 'kysely';
import { float8Array, int8Array, type DB } from '@cairn/db';
import { assertNever, decodeMetricValue, type CairnEvent, type EventType } from '@cairn/events';
import type { Projection } from '../projection.ts';
import { runRowFromStarted } from './initial-rows.ts';
import { comparePoints, type RankedPoint } from './latest-metric.ts';
import { RollupCollector, writeMetricStorage } from './metric-rollups.ts';
import { metricCutoffs, purgeMetricPoints } from './metric-retention.ts';

const handles = [
  'RunStarted',
  'RunParamsLogged',
  'RunMetricsLogged',
  'RunTagsSet',
  'RunTagDeleted',
  'RunStatusChanged',
  'RunRenamed',
  'RunDeleted',
  'RunRestored',
  'MetricPointsPurged',
] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;
type MetricsLogged = Extract<CairnEvent, { type: 'RunMetricsLogged' }>;
type MetricPointsPurged = Extract<CairnEvent, { type: 'MetricPointsPurged' }>;

/**
 * The experiment of an existing run, for the search side tables' `experiment_id` (runs never
 * change experiment). A missing run yields NULL, which the NOT NULL column rejects loudly.
 */
function experimentOf(ws: string, runId: string): RawBuilder<string> {
  return sql<string>`(SELECT experiment_id FROM runs WHERE workspace_id = ${ws} AND run_id = ${runId})`;
}

async function applyRunEvent(
  trx: Transaction<DB>,
  event: Exclude<Handled, MetricsLogged | MetricPointsPurged>,
): Promise<void> {
  const ws = event.workspaceId;
  const at = event.recordedAt;
  const run = (runId: string) =>
    trx.updateTable('runs').where('workspace_id', '=', ws).where('run_id', '=', runId);
  switch (event.type) {
    case 'RunStarted': {
      const d = event.data;
      await trx.insertInto('runs').values(runRowFromStarted(event)).execute();
      if (d.tags.length > 0) await upsertTags(trx, ws, d.experimentId, d.runId, d.tags);
      return;
    }
    case 'RunParamsLogged': {
      const experimentId = experimentOf(ws, event.data.runId);
      await trx
        .insertInto('run_params')
        .values(
          event.data.params.map((p) => ({
            workspace_id: ws,
            experiment_id: experimentId,
            run_id: event.data.runId,
            key: p.key,
            value: p.value,
          })),
        )
        .onConflict((oc) => oc.columns(['workspace_id', 'run_id', 'key']).doNothing())
        .execute();
      await run(event.data.runId).set({ updated_at: at }).execute();
      return;
    }
    case 'RunTagsSet':
      await upsertTags(
        trx,
        ws,
        experimentOf(ws, event.data.runId),
        event.data.runId,
        event.data.tags,
      );
      await run(event.data.runId).set({ updated_at: at }).execute();
      return;
    case 'RunTagDeleted':
      await trx
        .deleteFrom('run_tags')
        .where('workspace_id', '=', ws)
        .where('run_id', '=', event.data.runId)
        .where('key', '=', event.data.key)
        .execute();
      await run(event.data.runId).set({ updated_at: at }).execute();
      return;
    case 'RunStatusChanged':
      await run(event.data.runId)
        .set({ status: event.data.status, end_time: event.data.endTime, updated_at: at })
        .execute();
      return;
    case 'RunRenamed':
      await run(event.data.runId).set({ name: event.data.name, updated_at: at }).execute();
      return;
    case 'RunDeleted':
      await run(event.data.runId).set({ lifecycle_stage: 'deleted', updated_at: at }).execute();
      return;
    case 'RunRestored':
      await run(event.data.runId).set({ lifecycle_stage: 'active', updated_at: at }).execute();
      return;
    default:
      assertNever(event);
  }
}

async function upsertTags(
  trx: Transaction<DB>,
  ws: string,
  experimentId: string | RawBuilder<string>,
  runId: string,
  tags: readonly { key: string; value: string }[],
): Promise<void> {
  // The last value of a key within one event wins, as if the tags were set one by one.
  const latest = new Map(tags.map((t) => [t.key, t.value]));
  await trx
    .insertInto('run_tags')
    .values(
      [...latest].map(([key, value]) => ({
        workspace_id: ws,
        experiment_id: experimentId,
        run_id: runId,
        key,
        value,
      })),
    )
    .onConflict((oc) =>
      oc
        .columns(['workspace_id', 'run_id', 'key'])
        .doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })),
    )
    .execute();
}

/**
 * All metric batches of a projector batch become one key-interning statement, one insert of point
 * chunks (per series, up to 1,024 points a row), one rollup upsert and one latest-value upsert.
 */
async function applyMetrics(trx: Transaction<DB>, events: readonly MetricsLogged[]): Promise<void> {
  if (events.length === 0) return;
  const keyPairs = new Map<string, [string, string]>();
  for (const e of events) {
    for (const key of e.data.keys)
      keyPairs.set(`${e.workspaceId}\u0000${key}`, [e.workspaceId, key]);
  }
  const pairs = [...keyPairs.values()];
  await sql`
    INSERT INTO metric_keys (workspace_id, key)
    SELECT * FROM unnest(${pairs.map((p) => p[0])}::text[], ${pairs.map((p) => p[1])}::text[])
    ON CONFLICT (workspace_id, key) DO NOTHING`.execute(trx);
  const ids = await sql<{ workspace_id: string; key: string; key_id: number }>`
    SELECT k.workspace_id, k.key, k.key_id FROM metric_keys k
    JOIN unnest(${pairs.map((p) => p[0])}::text[], ${pairs.map((p) => p[1])}::text[]) AS u(w, k2)
      ON k.workspace_id = u.w AND k.key = u.k2`.execute(trx);
  const keyIds = new Map(ids.rows.map((r) => [`${r.workspace_id}\u0000${r.key}`, r.key_id]));

  const latest = new Map<string, { ws: string; runId: string; key: string; point: RankedPoint }>();
  const rollups = new RollupCollector();
  // Points older than the workspace's retention cut-off stay out of the history (metric-retention.ts).
  const cutoffs = await metricCutoffs(trx, [...new Set(events.map((e) => e.workspaceId))]);
  for (const e of events) {
    const { runId, keys, keyIndex, value, step, timestamp } = e.data;
    const cut = cutoffs.get(e.workspaceId) ?? -Infinity;
    const ids = keys.map((key) => keyIds.get(`${e.workspaceId}\u0000${key}`)!);
    // The batch's latest point per key first, then one map lookup per key (not per point).
    const best = new Array<RankedPoint | undefined>(keys.length);
    for (let i = 0; i < keyIndex.length; i++) {
      const k = keyIndex[i]!;
      const point = {
        step: step[i]!,
        timestamp: timestamp[i]!,
        value: decodeMetricValue(value[i]!),
      };
      if (point.timestamp >= cut) rollups.add(e.workspaceId, runId, ids[k]!, point);
      const b = best[k];
      if (!b || comparePoints(point, b) > 0) best[k] = point;
    }
    for (let k = 0; k < keys.length; k++) {
      const point = best[k];
      if (!point) continue;
      const lk = `${e.workspaceId}\u0000${runId}\u0000${keys[k]}`;
      const current = latest.get(lk);
      if (!current || comparePoints(point, current.point) > 0) {
        latest.set(lk, { ws: e.workspaceId, runId, key: keys[k]!, point });
      }
    }
  }
  await writeMetricStorage(trx, rollups);
  const l = [...latest.values()];
  await sql`
    INSERT INTO run_latest_metrics AS t (workspace_id, experiment_id, run_id, key, value, step, timestamp)
    SELECT u.ws,
           (SELECT r.experiment_id FROM runs r WHERE r.workspace_id = u.ws AND r.run_id = u.run_id),
           u.run_id, u.key, u.value, u.step, u.timestamp
    FROM unnest(${l.map((x) => x.ws)}::text[], ${l.map((x) => x.runId)}::text[],
                ${l.map((x) => x.key)}::text[], ${float8Array(l.map((x) => x.point.value))}::float8[],
                ${int8Array(l.map((x) => x.point.step))}::int8[], ${int8Array(l.map((x) => x.point.timestamp))}::int8[])
      AS u(ws, run_id, key, value, step, timestamp)
    ON CONFLICT (workspace_id, run_id, key) DO UPDATE
      SET value = excluded.value, step = excluded.step, timestamp = excluded.timestamp
      WHERE (excluded.step, excluded.timestamp, excluded.value) > (t.step, t.timestamp, t.value)`.execute(
    trx,
  );
}

export const runsProjection: Projection = {
  name: 'runs',
  version: 1,
  handles,
  tables: [
    'runs',
    'run_params',
    'run_tags',
    'metric_keys',
    'run_latest_metrics',
    'metric_point_chunks',
    'metric_rollups',
    'metric_series',
    'metric_retention_cutoffs',
  ],
  async apply(trx, events) {
    // Run rows, params and tags first, in order; metric points (no dependency on them) batched.
    const metrics: MetricsLogged[] = [];
    for (const event of events as readonly Handled[]) {
      if (event.type === 'RunMetricsLogged') metrics.push(event);
      else if (event.type === 'MetricPointsPurged') await purgeMetricPoints(trx, event);
      else await applyRunEvent(trx, event);
    }
    await applyMetrics(trx, metrics);
  },
};
