import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, EvaluationRulesTable } from '@cairn/db';
import { invalidArgument } from '../errors.ts';

export type EvaluationRuleRow = Selectable<EvaluationRulesTable>;

export function getRulesByIds(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<EvaluationRuleRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('evaluation_rules')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('rule_id', 'in', [...ids])
    .execute();
}

/** Newest first (rule ids are uuidv7: their order is creation order); keyset on the id. */
export async function listRules(
  db: Kysely<DB>,
  workspaceId: string,
  first: number,
  after: string | null,
): Promise<{ rows: EvaluationRuleRow[]; hasNextPage: boolean }> {
  let q = db.selectFrom('evaluation_rules').selectAll().where('workspace_id', '=', workspaceId);
  if (after !== null) q = q.where('rule_id', '<', after);
  const rows = await q
    .orderBy('rule_id', 'desc')
    .limit(first + 1)
    .execute();
  return { rows: rows.slice(0, first), hasNextPage: rows.length > first };
}

export function countRules(db: Kysely<DB>, workspaceId: string): Promise<number> {
  return db
    .selectFrom('evaluation_rules')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirstOrThrow()
    .then((r) => Number(r.n));
}

/** Every workspace's active rules, or one workspace's (the online consumer). */
export function getActiveRules(db: Kysely<DB>, workspaceIds: readonly string[]) {
  if (workspaceIds.length === 0) return Promise.resolve([] as EvaluationRuleRow[]);
  return db
    .selectFrom('evaluation_rules')
    .selectAll()
    .where('workspace_id', 'in', [...workspaceIds])
    .where('active', '=', true)
    .execute();
}

/** Traces each rule has scored (distinct traces with at least one of its assessments). */
export async function getScoredTraceCounts(
  db: Kysely<DB>,
  workspaceId: string,
  ruleIds: readonly string[],
): Promise<Map<string, number>> {
  if (ruleIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('assessments')
    .select(['rule_id', sql<number>`count(DISTINCT trace_id)::int`.as('n')])
    .where('workspace_id', '=', workspaceId)
    .where('rule_id', 'in', [...ruleIds])
    .groupBy('rule_id')
    .execute();
  return new Map(rows.map((r) => [r.rule_id!, r.n]));
}

export const SCORE_BUCKETS = ['minute', 'hour', 'day', 'week'] as const;
export type ScoreBucketSize = (typeof SCORE_BUCKETS)[number];
export const MAX_SCORE_BUCKETS = 1000;

export interface ScoreBucketRow {
  start: Date;
  count: number;
  mean: number | null;
  error_count: number;
}

/**
 * `true` / "yes" count as 1, `false` / "no" as 0, numbers as themselves (the contract's value
 * model); other values are not averaged.
 */
const NUMERIC_VALUE = sql<number | null>`CASE jsonb_typeof(value)
  WHEN 'boolean' THEN CASE WHEN value = 'true'::jsonb THEN 1.0 ELSE 0.0 END
  WHEN 'number' THEN (value #>> '{}')::float8
  WHEN 'string' THEN CASE lower(value #>> '{}') WHEN 'yes' THEN 1.0 WHEN 'no' THEN 0.0 END
  END`;

export function parseBucket(bucket: string | null | undefined): ScoreBucketSize {
  const b = (bucket ?? 'hour').toLowerCase();
  if (!(SCORE_BUCKETS as readonly string[]).includes(b))
    throw invalidArgument(`bucket must be one of ${SCORE_BUCKETS.join(', ')}`, {
      argument: 'bucket',
    });
  return b as ScoreBucketSize;
}

/**
 * Rules' scores of one scorer over time, oldest bucket first (at most MAX_SCORE_BUCKETS per
 * rule), for many rules in one query.
 */
export async function getScoreBuckets(
  db: Kysely<DB>,
  workspaceId: string,
  ruleIds: readonly string[],
  scorer: string,
  bucket: ScoreBucketSize,
  from: number | null,
  to: number | null,
): Promise<Map<string, ScoreBucketRow[]>> {
  const out = new Map<string, ScoreBucketRow[]>();
  if (ruleIds.length === 0) return out;
  const fromCond = from === null ? sql`` : sql`AND created_at >= ${new Date(from)}`;
  const toCond = to === null ? sql`` : sql`AND created_at < ${new Date(to)}`;
  const { rows } = await sql<ScoreBucketRow & { rule_id: string; n: number }>`
    SELECT * FROM (
      SELECT g.*, row_number() OVER (PARTITION BY g.rule_id ORDER BY g.start) AS n FROM (
        SELECT rule_id, date_trunc(${bucket}, created_at, 'UTC') AS start,
               count(*)::int AS count,
               avg(${NUMERIC_VALUE}) FILTER (WHERE error IS NULL) AS mean,
               (count(*) FILTER (WHERE error IS NOT NULL))::int AS error_count
        FROM assessments
        WHERE workspace_id = ${workspaceId} AND rule_id = ANY(${[...ruleIds]}::text[])
          AND name = ${scorer} ${fromCond} ${toCond}
        GROUP BY rule_id, 2
      ) g
    ) b WHERE n <= ${MAX_SCORE_BUCKETS} ORDER BY rule_id, start`.execute(db);
  for (const { rule_id, n: _n, ...row } of rows) {
    const list = out.get(rule_id) ?? [];
    list.push(row);
    out.set(rule_id, list);
  }
  return out;
}
