import { type Kysely, type Selectable } from 'kysely';
import { decodeEventData, decodeMetricValue } from '@cairn/events';
import type { DB, RunsTable } from '@cairn/db';
import type { FilterExpr, OrderTerm } from './search/run-search.ast.ts';
import { decodeRunCursor, encodeRunCursor } from './search/run-search.cursor.ts';
import {
  buildRunSearch,
  compileOrder,
  sortKeyAlias,
  toSortValue,
} from './search/run-search.sql.ts';

export type RunRow = Selectable<RunsTable>;
export interface KV {
  key: string;
  value: string;
}
export interface LatestMetric {
  key: string;
  value: number;
  step: number;
  timestamp: number;
}
export interface MetricPointRow {
  step: number;
  timestamp: number;
  value: number;
}

export function getRunsByIds(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<RunRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('runs')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('run_id', 'in', [...ids])
    .execute();
}

function groupByRun<T extends { run_id: string }, V>(
  rows: T[],
  map: (row: T) => V,
): Map<string, V[]> {
  const byRun = new Map<string, V[]>();
  for (const row of rows) {
    const list = byRun.get(row.run_id) ?? [];
    list.push(map(row));
    byRun.set(row.run_id, list);
  }
  return byRun;
}

/** Params or tags of many runs, grouped by run, ordered by key (one query for a page). */
export async function getKeyValues(
  db: Kysely<DB>,
  table: 'run_params' | 'run_tags',
  workspaceId: string,
  runIds: readonly string[],
): Promise<Map<string, KV[]>> {
  if (runIds.length === 0) return new Map();
  const rows = await db
    .selectFrom(table)
    .select(['run_id', 'key', 'value'])
    .where('workspace_id', '=', workspaceId)
    .where('run_id', 'in', [...runIds])
    .orderBy('key')
    .execute();
  return groupByRun(rows, (r) => ({ key: r.key, value: r.value }));
}

export async function getLatestMetrics(
  db: Kysely<DB>,
  workspaceId: string,
  runIds: readonly string[],
): Promise<Map<string, LatestMetric[]>> {
  if (runIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('run_latest_metrics')
    .select(['run_id', 'key', 'value', 'step', 'timestamp'])
    .where('workspace_id', '=', workspaceId)
    .where('run_id', 'in', [...runIds])
    .orderBy('key')
    .execute();
  return groupByRun(rows, (r) => ({
    key: r.key,
    value: r.value,
    step: r.step,
    timestamp: r.timestamp,
  }));
}

export async function getChildRunIds(
  db: Kysely<DB>,
  workspaceId: string,
  parentIds: readonly string[],
): Promise<Map<string, string[]>> {
  if (parentIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('runs')
    .select(['run_id', 'parent_run_id'])
    .where('workspace_id', '=', workspaceId)
    .where('parent_run_id', 'in', [...parentIds])
    .orderBy('start_time')
    .execute();
  const byParent = new Map<string, string[]>();
  for (const r of rows) {
    const list = byParent.get(r.parent_run_id!) ?? [];
    list.push(r.run_id);
    byParent.set(r.parent_run_id!, list);
  }
  return byParent;
}

export { getMetricHistory, type HistoryArgs } from './metric-history.queries.ts';

export async function getMetricKeys(
  db: Kysely<DB>,
  workspaceId: string,
  runId: string,
): Promise<string[]> {
  const rows = await db
    .selectFrom('run_latest_metrics')
    .select('key')
    .where('workspace_id', '=', workspaceId)
    .where('run_id', '=', runId)
    .orderBy('key')
    .execute();
  return rows.map((r) => r.key);
}

export interface RunSearchArgs {
  experimentIds: readonly string[];
  lifecycleStage: 'active' | 'deleted' | null;
  /** Parsed with parseRunFilter; null matches every run. */
  filter: FilterExpr | null;
  /** Parsed with parseRunOrderBy; ties (and an empty list) sort by start_time DESC, run_id ASC. */
  orderBy: readonly OrderTerm[];
  first: number;
  /** A cursor from an edge of a previous page with the same orderBy. */
  after: string | null;
}

export interface RunSearchPage {
  edges: { node: RunRow; cursor: string }[];
  hasNextPage: boolean;
  /**
   * Runs matching the filter (all pages). A second query, run only when asked for: a page that
   * does not select `totalCount` costs one query.
   */
  totalCount: () => Promise<number>;
}

/**
 * The run search (docs/search.md): one page of runs matching the filter, in the requested order,
 * with keyset pagination — a cursor carries the last row's sort values, so runs added between
 * pages neither repeat nor push others out. One query for the page, one for the count.
 */
export async function listRuns(
  db: Kysely<DB>,
  workspaceId: string,
  args: RunSearchArgs,
): Promise<RunSearchPage> {
  const order = compileOrder(args.orderBy, workspaceId, args.experimentIds);
  const after = decodeRunCursor(args.after, args.orderBy, order.columns);
  if (args.experimentIds.length === 0) {
    return { edges: [], hasNextPage: false, totalCount: () => Promise.resolve(0) };
  }
  const { page, count } = buildRunSearch(workspaceId, {
    experimentIds: args.experimentIds,
    lifecycleStage: args.lifecycleStage,
    filter: args.filter,
    order,
    limit: args.first + 1,
    after,
  });
  const rows = (await page.execute(db)).rows;
  const edges = rows.slice(0, args.first).map((row) => {
    const node: Record<string, unknown> = { ...row };
    const values = order.columns.map((column, i) => {
      const alias = sortKeyAlias(i);
      delete node[alias];
      return toSortValue(column.type, row[alias]);
    });
    return { node: node as RunRow, cursor: encodeRunCursor(args.orderBy, values) };
  });
  let counted: Promise<number> | null = null;
  const totalCount = () => (counted ??= count.execute(db).then((r) => r.rows[0]?.n ?? 0));
  return { edges, hasNextPage: rows.length > args.first, totalCount };
}

export interface LoggedPoint extends MetricPointRow {
  key: string;
}

/**
 * Points of the metric batches at stream positions (after, upTo] of one run, read from the
 * committed log through the (workspace, stream, position) index: what a subscriber has not
 * seen yet, without scanning the run's history.
 */
export async function getPointsLoggedBetween(
  db: Kysely<DB>,
  workspaceId: string,
  streamId: string,
  after: number,
  upTo: number,
  keys: ReadonlySet<string> | null,
): Promise<LoggedPoint[]> {
  const rows = await db
    .selectFrom('events')
    .select(['event_id', 'schema_version', 'data'])
    .where('workspace_id', '=', workspaceId)
    .where('stream_id', '=', streamId)
    .where('stream_position', '>', after)
    .where('stream_position', '<=', upTo)
    .where('type', '=', 'RunMetricsLogged')
    .orderBy('stream_position')
    .execute();
  const points: LoggedPoint[] = [];
  for (const row of rows) {
    const data = decodeEventData('RunMetricsLogged', row.schema_version, row.data, row.event_id);
    for (let i = 0; i < data.keyIndex.length; i++) {
      const key = data.keys[data.keyIndex[i]!]!;
      if (keys && !keys.has(key)) continue;
      points.push({
        key,
        step: data.step[i]!,
        timestamp: data.timestamp[i]!,
        value: decodeMetricValue(data.value[i]!),
      });
    }
  }
  return points;
}

export async function getAppliedPosition(
  db: Kysely<DB>,
  workspaceId: string,
  projection: string,
  streamId: string,
): Promise<number> {
  const row = await db
    .selectFrom('projection_stream_positions')
    .select('position')
    .where('workspace_id', '=', workspaceId)
    .where('projection', '=', projection)
    .where('stream_id', '=', streamId)
    .executeTakeFirst();
  return row?.position ?? 0;
}

export async function getRunExperimentIds(
  db: Kysely<DB>,
  workspaceId: string,
  runIds: readonly string[],
): Promise<Map<string, string>> {
  if (runIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('runs')
    .select(['run_id', 'experiment_id'])
    .where('workspace_id', '=', workspaceId)
    .where('run_id', 'in', [...runIds])
    .execute();
  return new Map(rows.map((r) => [r.run_id, r.experiment_id]));
}
