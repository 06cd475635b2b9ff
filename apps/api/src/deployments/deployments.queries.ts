import { sql, type Kysely, type Selectable } from 'kysely';
import DataLoader from 'dataloader';
import type {
  DB,
  DeploymentHistoryTable,
  DeploymentsTable,
  DeploymentVariantsTable,
} from '@cairn/db';
import { DEPLOYMENT_LATENCY_BUCKETS_MS } from '@cairn/events';

export type DeploymentRow = Selectable<DeploymentsTable>;
export type DeploymentVariantRow = Selectable<DeploymentVariantsTable>;
export type DeploymentHistoryRow = Selectable<DeploymentHistoryTable>;

export async function getDeploymentsByIds(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<DeploymentRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('deployments')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('deployment_id', 'in', ids)
    .execute();
}

export async function getVariants(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<Map<string, DeploymentVariantRow[]>> {
  const out = new Map<string, DeploymentVariantRow[]>();
  if (ids.length === 0) return out;
  const rows = await db
    .selectFrom('deployment_variants')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('deployment_id', 'in', ids)
    .orderBy('deployment_id')
    .orderBy('ordinal')
    .execute();
  for (const r of rows) {
    const list = out.get(r.deployment_id) ?? [];
    list.push(r);
    out.set(r.deployment_id, list);
  }
  return out;
}

export function createDeploymentLoaders(db: Kysely<DB>, workspaceId: string) {
  return {
    deployment: new DataLoader<string, DeploymentRow | null>(async (ids) => {
      const rows = await getDeploymentsByIds(db, workspaceId, ids);
      const byId = new Map(rows.map((r) => [r.deployment_id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    variants: new DataLoader<string, DeploymentVariantRow[]>(async (ids) => {
      const found = await getVariants(db, workspaceId, ids);
      return ids.map((id) => found.get(id) ?? []);
    }),
  };
}
export type DeploymentLoaders = ReturnType<typeof createDeploymentLoaders>;

export type NameCursor = { n: string; id: string };

/** Deployments by name (then id), keyset paged; `target` narrows to one target. */
export async function listDeployments(
  db: Kysely<DB>,
  workspaceId: string,
  opts: { first: number; after: NameCursor | null; target: string | null },
): Promise<{ rows: DeploymentRow[]; hasNextPage: boolean }> {
  let q = db.selectFrom('deployments').selectAll().where('workspace_id', '=', workspaceId);
  if (opts.target !== null) q = q.where('target', '=', opts.target);
  if (opts.after) {
    const { n, id } = opts.after;
    q = q.where((eb) =>
      eb.or([eb('name', '>', n), eb.and([eb('name', '=', n), eb('deployment_id', '>', id)])]),
    );
  }
  const rows = await q
    .orderBy('name')
    .orderBy('deployment_id')
    .limit(opts.first + 1)
    .execute();
  return { rows: rows.slice(0, opts.first), hasNextPage: rows.length > opts.first };
}

export async function countDeployments(
  db: Kysely<DB>,
  workspaceId: string,
  target: string | null,
): Promise<number> {
  let q = db
    .selectFrom('deployments')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('workspace_id', '=', workspaceId);
  if (target !== null) q = q.where('target', '=', target);
  const row = await q.executeTakeFirst();
  return Number(row?.n ?? 0);
}

export type HistoryCursor = { p: number; o: number };

/** History rows newest first, keyset paged by (global position, ordinal). */
export async function getHistoryPage(
  db: Kysely<DB>,
  workspaceId: string,
  deploymentId: string,
  first: number,
  after: HistoryCursor | null,
): Promise<{
  rows: DeploymentHistoryRow[];
  hasNextPage: boolean;
  totalCount: () => Promise<number>;
}> {
  let q = db
    .selectFrom('deployment_history')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('deployment_id', '=', deploymentId);
  if (after)
    q = q.where((eb) =>
      eb.or([
        eb('global_position', '<', after.p),
        eb.and([eb('global_position', '=', after.p), eb('ordinal', '<', after.o)]),
      ]),
    );
  const rows = await q
    .orderBy('global_position', 'desc')
    .orderBy('ordinal', 'desc')
    .limit(first + 1)
    .execute();
  return {
    rows: rows.slice(0, first),
    hasNextPage: rows.length > first,
    totalCount: async () => {
      const r = await db
        .selectFrom('deployment_history')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('workspace_id', '=', workspaceId)
        .where('deployment_id', '=', deploymentId)
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },
  };
}

/**
 * The latency at quantile `q` from fixed bucket counts (13: the bounds, then +inf), linearly
 * interpolated inside the bucket; null without counts. The open bucket answers its lower bound.
 */
export function quantileFromBuckets(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i]!;
    if (count > 0 && seen + count >= rank) {
      const lower = i === 0 ? 0 : DEPLOYMENT_LATENCY_BUCKETS_MS[i - 1]!;
      const upper = DEPLOYMENT_LATENCY_BUCKETS_MS[i];
      if (upper === undefined) return lower;
      return lower + ((upper - lower) * (rank - seen)) / count;
    }
    seen += count;
  }
  return DEPLOYMENT_LATENCY_BUCKETS_MS.at(-1)!;
}

export interface VariantMetrics {
  variant: string;
  version: string | null;
  requests: number;
  errors: number;
  errorRate: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyMeanMs: number | null;
  series: { at: Date; requests: number; errors: number; latencyMeanMs: number | null }[];
}

/** Points per series at most: older windows are summed into time buckets server-side. */
const MAX_POINTS = 120;

export async function getDeploymentMetrics(
  db: Kysely<DB>,
  workspaceId: string,
  deploymentId: string,
  sinceSeconds: number,
  now: Date = new Date(),
): Promise<VariantMetrics[]> {
  const since = new Date(now.getTime() - sinceSeconds * 1000);
  const totals = await sql<{
    variant: string;
    requests: string;
    errors: string;
    latency_sum: number;
    buckets: (string | null)[] | null;
    version: string | null;
  }>`
    SELECT variant,
           sum(requests)::bigint AS requests,
           sum(errors)::bigint AS errors,
           sum(latency_ms_sum)::float8 AS latency_sum,
           (SELECT array_agg(s ORDER BY i) FROM (
              SELECT i, sum(b)::bigint AS s
              FROM deployment_metrics m2, unnest(m2.latency_buckets) WITH ORDINALITY AS u(b, i)
              WHERE m2.workspace_id = ${workspaceId} AND m2.deployment_id = ${deploymentId}
                AND m2.window_end > ${since} AND m2.variant = m.variant
              GROUP BY i) x) AS buckets,
           (array_agg(version ORDER BY global_position DESC))[1] AS version
    FROM deployment_metrics m
    WHERE workspace_id = ${workspaceId} AND deployment_id = ${deploymentId} AND window_end > ${since}
    GROUP BY variant
    ORDER BY variant`.execute(db);
  const step = Math.max(1, Math.ceil(sinceSeconds / MAX_POINTS));
  const series = await sql<{
    variant: string;
    bucket: string;
    requests: string;
    errors: string;
    latency_sum: number;
  }>`
    SELECT variant,
           floor(extract(epoch FROM window_end) / ${step})::bigint AS bucket,
           sum(requests)::bigint AS requests,
           sum(errors)::bigint AS errors,
           sum(latency_ms_sum)::float8 AS latency_sum
    FROM deployment_metrics
    WHERE workspace_id = ${workspaceId} AND deployment_id = ${deploymentId} AND window_end > ${since}
    GROUP BY variant, bucket
    ORDER BY variant, bucket`.execute(db);
  return totals.rows.map((t) => {
    const requests = Number(t.requests);
    const errors = Number(t.errors);
    const buckets = (t.buckets ?? []).map((b) => Number(b ?? 0));
    return {
      variant: t.variant,
      version: t.version,
      requests,
      errors,
      errorRate: requests === 0 ? 0 : errors / requests,
      latencyP50Ms: quantileFromBuckets(buckets, 0.5),
      latencyP95Ms: quantileFromBuckets(buckets, 0.95),
      latencyMeanMs: requests === 0 ? null : t.latency_sum / requests,
      series: series.rows
        .filter((s) => s.variant === t.variant)
        .map((s) => {
          const r = Number(s.requests);
          return {
            at: new Date(Number(s.bucket) * step * 1000),
            requests: r,
            errors: Number(s.errors),
            latencyMeanMs: r === 0 ? null : s.latency_sum / r,
          };
        }),
    };
  });
}
