import { sql, type Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import { getRunsByIds } from '../runs/runs.queries.ts';
import type { MlflowContext, MlflowRoute } from './mlflow-route.ts';
import { doesNotExist, invalidParameter } from './mlflow.errors.ts';
import { optionalInt, requireString, stringList, type Message } from './mlflow-input.ts';
import { decodePageToken, encodePageToken } from './mlflow-paging.ts';
import { loadRunRow, metricMessage, mlflowDouble } from './run-message.ts';

/**
 * MLflow's metric history endpoints over Cairn's stored points (the runs projection's
 * `metric_point_chunks`, the same rows GraphQL's `metricHistory` reads): `metrics/get-history`
 * (every point, in offset pages as MLflow's own store) and `metrics/get-history-bulk-interval`
 * (MLflow's step sampling across runs, mlflow/server/handlers.py).
 */

/** MLflow's bounds (mlflow/server/handlers.py). */
export const BULK_INTERVAL_LIMITS = { runIds: 100, maxResultsPerRun: 2500 } as const;

interface Point {
  step: number;
  timestamp: number;
  value: number;
}

/** The points of one series in MLflow's history order (timestamp, step, value), paged by offset. */
async function seriesPoints(
  db: Kysely<DB>,
  workspaceId: string,
  runId: string,
  key: string,
  page: { offset: number; limit: number | null },
): Promise<Point[]> {
  const { rows } = await sql<Point>`
    SELECT p.step, p.timestamp, p.value
    FROM metric_keys k
    JOIN metric_point_chunks c
      ON c.workspace_id = k.workspace_id AND c.key_id = k.key_id AND c.run_id = ${runId}
    CROSS JOIN LATERAL unnest(c.steps, c.timestamps, c.vals) AS p(step, timestamp, value)
    WHERE k.workspace_id = ${workspaceId} AND k.key = ${key}
    ORDER BY p.timestamp, p.step, p.value
    ${page.limit === null ? sql`` : sql`LIMIT ${page.limit}`} OFFSET ${page.offset}`.execute(db);
  return rows;
}

async function getHistory(ctx: MlflowContext, body: Message) {
  const runId =
    (typeof body.run_id === 'string' && body.run_id) ||
    (typeof body.run_uuid === 'string' && body.run_uuid) ||
    requireString(body, 'run_id');
  const key = requireString(body, 'metric_key');
  const limit = optionalInt(body, 'max_results');
  if (limit !== null && (limit < 1 || limit > 1_000_000))
    throw invalidParameter(`Invalid value ${limit} for parameter 'max_results': use 1 to 1000000`);
  const token = decodePageToken(body, 'metric-history');
  const offset = token === null ? 0 : Number(token);
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalidParameter('Invalid page token');
  await loadRunRow(ctx.deps.db, ctx.workspaceId, runId);
  // Without max_results MLflow answers the whole history in one response.
  const points = await seriesPoints(ctx.deps.db, ctx.workspaceId, runId, key, {
    offset,
    limit: limit === null ? null : limit + 1,
  });
  const more = limit !== null && points.length > limit;
  const metrics = (more ? points.slice(0, limit) : points).map((p) => metricMessage({ key, ...p }));
  return {
    ...(metrics.length > 0 ? { metrics } : {}),
    ...(more ? { next_page_token: encodePageToken('metric-history', offset + limit) } : {}),
  };
}

/** MLflow's sampling: at most max_results steps spread evenly over [start, end], plus the last. */
export function sampleSteps(
  start: number,
  end: number,
  maxResults: number,
  allSteps: readonly number[],
): Set<number> {
  const lower = (x: number) => {
    let lo = 0;
    let hi = allSteps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (allSteps[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const upper = (x: number) => {
    let lo = 0;
    let hi = allSteps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (allSteps[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const startIdx = lower(start);
  const endIdx = upper(end);
  if (endIdx - startIdx <= maxResults) return new Set(allSteps.slice(startIdx, endIdx));
  const count = endIdx - startIdx;
  const interval = count / maxResults;
  const sampled = new Set<number>();
  for (let i = 0; i < maxResults; i++) {
    const idx = startIdx + Math.floor(i * interval);
    // MLflow's bound (idx < number of steps in range), kept as it is.
    if (idx < count) sampled.add(allSteps[idx]!);
  }
  sampled.add(allSteps[endIdx - 1]!);
  return sampled;
}

async function bulkInterval(ctx: MlflowContext, body: Message) {
  const runIds = stringList(body, 'run_ids');
  if (runIds.length === 0)
    throw invalidParameter(
      "Missing value for required parameter 'run_ids'. See the API docs for more information about request parameters.",
    );
  if (runIds.length > BULK_INTERVAL_LIMITS.runIds)
    throw invalidParameter(
      `GetMetricHistoryBulkInterval request must specify at most ${BULK_INTERVAL_LIMITS.runIds} run_ids. Received ${runIds.length} run_ids.`,
    );
  const key = requireString(body, 'metric_key');
  const maxResults = optionalInt(body, 'max_results') ?? BULK_INTERVAL_LIMITS.maxResultsPerRun;
  if (maxResults < 1 || maxResults > BULK_INTERVAL_LIMITS.maxResultsPerRun)
    throw invalidParameter(
      `max_results must be between 1 and ${BULK_INTERVAL_LIMITS.maxResultsPerRun}.`,
    );
  let start = optionalInt(body, 'start_step');
  let end = optionalInt(body, 'end_step');
  if (start !== null && end !== null) {
    if (start > end)
      throw invalidParameter(
        `end_step must be greater than start_step. Found start_step=${start} and end_step=${end}.`,
      );
  } else if (start !== null || end !== null) {
    throw invalidParameter(
      'If either start step or end step are specified, both must be specified.',
    );
  }
  const unique = [...new Set(runIds)];
  const rows = await getRunsByIds(ctx.deps.db, ctx.workspaceId, unique);
  const known = new Set(rows.map((r) => r.run_id));
  const missing = unique.find((id) => !known.has(id));
  if (missing !== undefined) throw doesNotExist(`Run with id=${missing} not found`);

  const { rows: series } = await sql<{ run_id: string; steps: number[] }>`
    SELECT c.run_id, array_agg(DISTINCT s.step ORDER BY s.step) AS steps
    FROM metric_keys k
    JOIN metric_point_chunks c ON c.workspace_id = k.workspace_id AND c.key_id = k.key_id
    CROSS JOIN LATERAL unnest(c.steps) AS s(step)
    WHERE k.workspace_id = ${ctx.workspaceId} AND k.key = ${key} AND c.run_id = ANY(${unique}::text[])
    GROUP BY c.run_id`.execute(ctx.deps.db);
  const stepsByRun = new Map(series.map((s) => [s.run_id, s.steps.map(Number)]));
  const all = [...new Set([...stepsByRun.values()].flat())].sort((a, b) => a - b);
  if (start === null || end === null) {
    start = 0;
    end = all.at(-1) ?? 0;
  }
  const lo = start;
  const hi = end;
  const extremes = new Set<number>();
  for (const steps of stepsByRun.values()) {
    for (const s of [steps[0], steps.at(-1)])
      if (s !== undefined && s >= lo && s <= hi) extremes.add(s);
  }
  const chosen = [...new Set([...sampleSteps(lo, hi, maxResults, all), ...extremes])];
  if (chosen.length === 0) return {};
  const { rows: points } = await sql<Point & { run_id: string }>`
    SELECT c.run_id, p.step, p.timestamp, p.value
    FROM metric_keys k
    JOIN metric_point_chunks c ON c.workspace_id = k.workspace_id AND c.key_id = k.key_id
    CROSS JOIN LATERAL unnest(c.steps, c.timestamps, c.vals) AS p(step, timestamp, value)
    WHERE k.workspace_id = ${ctx.workspaceId} AND k.key = ${key} AND c.run_id = ANY(${unique}::text[])
      AND p.step = ANY(${chosen}::int8[])
    ORDER BY p.step, p.timestamp`.execute(ctx.deps.db);
  const byRun = new Map<string, (Point & { run_id: string })[]>();
  for (const p of points) {
    const list = byRun.get(p.run_id) ?? [];
    list.push(p);
    byRun.set(p.run_id, list);
  }
  // Runs in the order asked (MLflow's), each run's points by step then timestamp.
  const metrics = unique.flatMap((runId) =>
    (byRun.get(runId) ?? []).map((p) => ({
      key,
      value: mlflowDouble(p.value),
      timestamp: Number(p.timestamp),
      step: Number(p.step),
      run_id: runId,
    })),
  );
  return metrics.length > 0 ? { metrics } : {};
}

export const metricRoutes: MlflowRoute[] = [
  { method: 'GET', path: '/mlflow/metrics/get-history', handler: getHistory },
  { method: 'GET', path: '/mlflow/metrics/get-history-bulk-interval', handler: bulkInterval },
];
