import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type { DB } from '@cairn/db';
import { CairnError } from '../errors.ts';
import type { KV } from '../runs/runs.queries.ts';
import {
  compileTraceFilter,
  decodeTraceCursor,
  encodeTraceCursor,
  keysetCondition,
  orderByClause,
  sortKeySelections,
  toSortValue,
  type TraceFilter,
  type TraceOrder,
} from './trace-search.ts';

/** A `traces` row as the API reads it: nanosecond times as exact decimal text. */
export interface TraceRow {
  trace_id: string;
  name: string;
  status: string;
  start_ns: string;
  end_ns: string | null;
  start_time: Date;
  end_time: Date | null;
  duration_ms: number | null;
  inputs: unknown;
  outputs: unknown;
  session_id: string | null;
  user_id: string | null;
  environment: string | null;
  run_id: string | null;
  model_version: string | null;
  prompt_versions: string[];
  span_count: number;
  error_count: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  cost_usd: number | null;
}

export interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  kind: string;
  span_type: string;
  start_ns: string;
  end_ns: string | null;
  start_time: Date;
  duration_ms: number | null;
  status_code: string;
  status_message: string | null;
  attributes: Record<string, unknown>;
  events: unknown[];
  links: unknown[];
  resource: Record<string, unknown>;
  scope: unknown;
  inputs: unknown;
  outputs: unknown;
  model: string | null;
  provider: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  total_tokens: number | null;
  cached_tokens: number | null;
  reasoning_tokens: number | null;
  cost_usd: number | null;
}

export interface SessionRow {
  session_id: string;
  user_id: string | null;
  trace_count: number;
  first_trace_at: Date;
  last_trace_at: Date;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  cost_usd: number | null;
}

const TRACE_COLUMNS = sql`t.trace_id, t.name, t.status, t.start_ns::text AS start_ns, t.end_ns::text AS end_ns,
  t.start_time, t.end_time, t.duration_ms, t.inputs, t.outputs, t.session_id, t.user_id, t.environment,
  t.run_id, t.model_version, t.prompt_versions, t.span_count, t.error_count, t.input_tokens,
  t.output_tokens, t.total_tokens, t.cached_tokens, t.reasoning_tokens, t.cost_usd`;

const SPAN_COLUMNS = sql`s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.span_type,
  s.start_ns::text AS start_ns, s.end_ns::text AS end_ns, s.start_time, s.duration_ms, s.status_code,
  s.status_message, s.attributes, s.events, s.links, s.resource, s.scope, s.inputs, s.outputs, s.model,
  s.provider, s.input_tokens, s.output_tokens, s.total_tokens, s.cached_tokens, s.reasoning_tokens, s.cost_usd`;

/** Every trace query: the workspace, and never a deleted trace. */
const visible = (workspaceId: string) =>
  sql<SqlBool>`t.workspace_id = ${workspaceId} AND NOT t.deleted`;

const ids = (values: readonly string[]) => sql.join(values.map((v) => sql`${v}`));

/** Visible traces by id (those matching `filter` when given), in no particular order. */
export async function getTracesByIds(
  db: Kysely<DB>,
  workspaceId: string,
  traceIds: readonly string[],
  filter: TraceFilter | null = null,
): Promise<TraceRow[]> {
  if (traceIds.length === 0) return [];
  const where = filter ? sql` AND ${compileTraceFilter(filter, workspaceId)}` : sql``;
  const { rows } = await sql<TraceRow>`SELECT ${TRACE_COLUMNS} FROM traces t
    WHERE ${visible(workspaceId)} AND t.trace_id IN (${ids(traceIds)})${where}`.execute(db);
  return rows;
}

/** Spans of many traces, grouped by trace, ordered by start time then span id (one query). */
export async function getSpans(
  db: Kysely<DB>,
  workspaceId: string,
  traceIds: readonly string[],
): Promise<Map<string, SpanRow[]>> {
  const out = new Map<string, SpanRow[]>();
  if (traceIds.length === 0) return out;
  const { rows } = await sql<SpanRow>`SELECT ${SPAN_COLUMNS} FROM trace_spans s
    WHERE s.workspace_id = ${workspaceId} AND s.trace_id IN (${ids(traceIds)})
    ORDER BY s.trace_id, s.start_ns, s.span_id`.execute(db);
  for (const row of rows) {
    const list = out.get(row.trace_id) ?? [];
    list.push(row);
    out.set(row.trace_id, list);
  }
  return out;
}

/** Effective tags or metadata of many traces (the user's value wins), ordered by key. */
export async function getTraceKeyValues(
  db: Kysely<DB>,
  view: 'trace_tags_effective' | 'trace_metadata_effective',
  workspaceId: string,
  traceIds: readonly string[],
): Promise<Map<string, KV[]>> {
  const out = new Map<string, KV[]>();
  if (traceIds.length === 0) return out;
  const rows = await db
    .selectFrom(view)
    .select(['trace_id', 'key', 'value'])
    .where('workspace_id', '=', workspaceId)
    .where('trace_id', 'in', [...traceIds])
    .orderBy('key')
    .execute();
  for (const r of rows) {
    const list = out.get(r.trace_id) ?? [];
    list.push({ key: r.key, value: r.value });
    out.set(r.trace_id, list);
  }
  return out;
}

/** Whether each trace has a row in the read model, deleted or not (for the write side). */
export async function getTraceStates(
  db: Kysely<DB>,
  workspaceId: string,
  traceIds: readonly string[],
): Promise<Map<string, { deleted: boolean }>> {
  if (traceIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('traces')
    .select(['trace_id', 'deleted'])
    .where('workspace_id', '=', workspaceId)
    .where('trace_id', 'in', [...traceIds])
    .execute();
  return new Map(rows.map((r) => [r.trace_id, { deleted: r.deleted }]));
}

export interface Page<T> {
  edges: { node: T; cursor: string }[];
  hasNextPage: boolean;
  totalCount: () => Promise<number>;
}

function toPage<T>(
  rows: Record<string, unknown>[],
  first: number,
  order: TraceOrder,
): { edges: { node: T; cursor: string }[]; hasNextPage: boolean } {
  const edges = rows.slice(0, first).map((row) => {
    const node: Record<string, unknown> = { ...row };
    const values = order.columns.map((c, i) => {
      const alias = `_k${i}`;
      delete node[alias];
      return toSortValue(c, row[alias]);
    });
    return { node: node as T, cursor: encodeTraceCursor(order, values) };
  });
  return { edges, hasNextPage: rows.length > first };
}

/** One page of the trace search, keyset-paginated; the count only when asked for. */
export async function listTraces(
  db: Kysely<DB>,
  workspaceId: string,
  args: {
    filter: TraceFilter | null;
    order: TraceOrder;
    first: number;
    after: string | null;
    /** Extra condition over `t` (a session's traces). */
    where?: RawBuilder<SqlBool>;
  },
): Promise<Page<TraceRow>> {
  const after = decodeTraceCursor(args.after, args.order);
  const conditions: RawBuilder<unknown>[] = [visible(workspaceId)];
  if (args.where) conditions.push(args.where);
  if (args.filter) conditions.push(compileTraceFilter(args.filter, workspaceId));
  const where = sql.join(conditions, sql` AND `);
  const keyset = after ? sql` AND ${keysetCondition(args.order.columns, after)}` : sql``;
  const { rows } = await sql<
    Record<string, unknown>
  >`SELECT ${TRACE_COLUMNS}, ${sortKeySelections(args.order.columns)}
    FROM traces t WHERE ${where}${keyset}
    ORDER BY ${orderByClause(args.order.columns)} LIMIT ${args.first + 1}`.execute(db);
  let counted: Promise<number> | null = null;
  const totalCount = () =>
    (counted ??= sql<{ n: number }>`SELECT count(*)::int AS n FROM traces t WHERE ${where}`
      .execute(db)
      .then((r) => r.rows[0]?.n ?? 0));
  return { ...toPage<TraceRow>(rows, args.first, args.order), totalCount };
}

const SESSION_AGGREGATES = sql`t.session_id,
  (array_agg(t.user_id ORDER BY t.start_time) FILTER (WHERE t.user_id IS NOT NULL))[1] AS user_id,
  count(*)::int AS trace_count, min(t.start_time) AS first_trace_at, max(t.start_time) AS last_trace_at,
  sum(t.input_tokens)::int8 AS input_tokens, sum(t.output_tokens)::int8 AS output_tokens,
  sum(t.total_tokens)::int8 AS total_tokens, sum(t.cached_tokens)::int8 AS cached_tokens,
  sum(t.reasoning_tokens)::int8 AS reasoning_tokens, sum(t.cost_usd) AS cost_usd`;

/**
 * Sessions (traces sharing a session id), newest activity first. A filter selects sessions with
 * at least one matching trace; a session's figures cover all its traces.
 */
export async function listSessions(
  db: Kysely<DB>,
  workspaceId: string,
  args: { filter: TraceFilter | null; first: number; after: string | null },
): Promise<Page<SessionRow>> {
  let after: { t: number; s: string } | null = null;
  if (args.after) {
    try {
      const v = JSON.parse(Buffer.from(args.after, 'base64url').toString('utf8')) as unknown;
      if (
        typeof v === 'object' &&
        v !== null &&
        Number.isSafeInteger((v as { t?: unknown }).t) &&
        typeof (v as { s?: unknown }).s === 'string'
      )
        after = v as { t: number; s: string };
    } catch {
      // below
    }
    if (!after)
      throw new CairnError(
        'INVALID_ARGUMENT',
        'Invalid cursor "after": not a cursor of this query',
        {
          argument: 'after',
        },
      );
  }
  const matching = args.filter
    ? sql` AND t.session_id IN (SELECT t.session_id FROM traces t WHERE ${visible(workspaceId)} AND t.session_id IS NOT NULL AND ${compileTraceFilter(args.filter, workspaceId)})`
    : sql``;
  const base = sql`FROM traces t WHERE ${visible(workspaceId)} AND t.session_id IS NOT NULL${matching}`;
  const lastUs = sql`(floor(extract(epoch from max(t.start_time)) * 1000000))::int8`;
  const having = after
    ? sql` HAVING (${lastUs} < ${after.t} OR (${lastUs} = ${after.t} AND t.session_id < ${after.s}))`
    : sql``;
  const { rows } = await sql<
    SessionRow & { _k: number }
  >`SELECT ${SESSION_AGGREGATES}, ${lastUs} AS _k ${base}
    GROUP BY t.session_id${having} ORDER BY ${lastUs} DESC, t.session_id DESC LIMIT ${args.first + 1}`.execute(
    db,
  );
  const edges = rows.slice(0, args.first).map(({ _k, ...node }) => ({
    node,
    cursor: Buffer.from(JSON.stringify({ t: _k, s: node.session_id })).toString('base64url'),
  }));
  let counted: Promise<number> | null = null;
  const totalCount = () =>
    (counted ??= sql<{ n: number }>`SELECT count(DISTINCT t.session_id)::int AS n ${base}`
      .execute(db)
      .then((r) => r.rows[0]?.n ?? 0));
  return { edges, hasNextPage: rows.length > args.first, totalCount };
}

export async function getSessionsByIds(
  db: Kysely<DB>,
  workspaceId: string,
  sessionIds: readonly string[],
): Promise<SessionRow[]> {
  if (sessionIds.length === 0) return [];
  const { rows } = await sql<SessionRow>`SELECT ${SESSION_AGGREGATES} FROM traces t
    WHERE ${visible(workspaceId)} AND t.session_id IN (${ids(sessionIds)}) GROUP BY t.session_id`.execute(
    db,
  );
  return rows;
}

export type StatsGroupBy = 'NONE' | 'MODEL' | 'DAY' | 'HOUR' | 'USER' | 'SESSION';

export interface StatsRow {
  key: string | null;
  count: number;
  error_count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost: number | null;
}

/** At most this many buckets (the largest first for MODEL, USER and SESSION; the latest for DAY and HOUR). */
export const MAX_STATS_BUCKETS = 1000;

const isoKey = (unit: 'day' | 'hour') =>
  sql`to_char(date_trunc(${unit}, t.start_time AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Aggregates over the traces matching the filter: per trace (NONE, DAY, HOUR, USER, SESSION), or
 * per span model over the LLM spans of those traces (MODEL: count and errors are spans).
 */
export async function getTraceStats(
  db: Kysely<DB>,
  workspaceId: string,
  filter: TraceFilter | null,
  groupBy: StatsGroupBy,
): Promise<StatsRow[]> {
  const where = filter
    ? sql`${visible(workspaceId)} AND ${compileTraceFilter(filter, workspaceId)}`
    : visible(workspaceId);
  if (groupBy === 'MODEL') {
    const { rows } = await sql<StatsRow>`SELECT s.model AS key, count(*)::int AS count,
        (count(*) FILTER (WHERE s.status_code = 'ERROR'))::int AS error_count,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY s.duration_ms) AS p50,
        percentile_cont(0.95) WITHIN GROUP (ORDER BY s.duration_ms) AS p95,
        percentile_cont(0.99) WITHIN GROUP (ORDER BY s.duration_ms) AS p99,
        coalesce(sum(s.input_tokens), 0)::int8 AS input_tokens,
        coalesce(sum(s.output_tokens), 0)::int8 AS output_tokens,
        coalesce(sum(s.total_tokens), 0)::int8 AS total_tokens, sum(s.cost_usd) AS cost
      FROM trace_spans s JOIN traces t ON t.workspace_id = s.workspace_id AND t.trace_id = s.trace_id
      WHERE s.workspace_id = ${workspaceId} AND s.model IS NOT NULL AND ${where}
      GROUP BY s.model ORDER BY count(*) DESC, s.model LIMIT ${MAX_STATS_BUCKETS}`.execute(db);
    return rows;
  }
  const key =
    groupBy === 'DAY'
      ? isoKey('day')
      : groupBy === 'HOUR'
        ? isoKey('hour')
        : groupBy === 'USER'
          ? sql.ref('t.user_id')
          : groupBy === 'SESSION'
            ? sql.ref('t.session_id')
            : sql`NULL::text`;
  const grouping = groupBy === 'NONE' ? sql`` : sql` GROUP BY 1`;
  const ordering =
    groupBy === 'NONE'
      ? sql``
      : groupBy === 'DAY' || groupBy === 'HOUR'
        ? sql` ORDER BY 1 DESC LIMIT ${MAX_STATS_BUCKETS}`
        : sql` ORDER BY count(*) DESC, 1 LIMIT ${MAX_STATS_BUCKETS}`;
  const { rows } = await sql<StatsRow>`SELECT ${key} AS key, count(*)::int AS count,
      (count(*) FILTER (WHERE t.status = 'ERROR'))::int AS error_count,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY t.duration_ms) AS p50,
      percentile_cont(0.95) WITHIN GROUP (ORDER BY t.duration_ms) AS p95,
      percentile_cont(0.99) WITHIN GROUP (ORDER BY t.duration_ms) AS p99,
      coalesce(sum(t.input_tokens), 0)::int8 AS input_tokens,
      coalesce(sum(t.output_tokens), 0)::int8 AS output_tokens,
      coalesce(sum(t.total_tokens), 0)::int8 AS total_tokens, sum(t.cost_usd) AS cost
    FROM traces t WHERE ${where}${grouping}${ordering}`.execute(db);
  // DAY and HOUR: the latest buckets, returned oldest first.
  return groupBy === 'DAY' || groupBy === 'HOUR' ? rows.reverse() : rows;
}

export interface ModelPriceRow {
  price_id: string;
  model_pattern: string;
  provider: string | null;
  input_per_million: number;
  output_per_million: number;
  cached_input_per_million: number | null;
  effective_from: Date;
}

export function getModelPrices(db: Kysely<DB>, workspaceId: string): Promise<ModelPriceRow[]> {
  return db
    .selectFrom('model_prices')
    .select([
      'price_id',
      'model_pattern',
      'provider',
      'input_per_million',
      'output_per_million',
      'cached_input_per_million',
      'effective_from',
    ])
    .where('workspace_id', '=', workspaceId)
    .orderBy('model_pattern')
    .orderBy('effective_from')
    .execute();
}

/** A price entry as the API shows it: the workspace's rows and the shipped defaults. */
export interface ModelPriceView {
  id: string;
  modelPattern: string;
  provider: string | null;
  inputPerMillion: number;
  outputPerMillion: number;
  cachedInputPerMillion: number | null;
  effectiveFrom: number;
  builtIn: boolean;
}
