/**
 * Read-model dumps for tests that compare two states of the read models (live against rebuilt,
 * before against after a redelivery). No projection code lives here (packages never import
 * apps/*): a caller that rebuilds passes its projections and rebuild function to `rebuildAll`.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '@cairn/db';

/**
 * Every read-model table (and the projections' guards and dead letters), each with the column that
 * holds its workspace. Interned metric key ids are resolved to names (a rebuild may number keys
 * differently); dead letters leave out their generated id and time. Nothing else is left out.
 */
export const DUMP_QUERIES: Readonly<Record<string, { query: string; workspaceColumn: string }>> = {
  experiments: { query: 'SELECT * FROM experiments', workspaceColumn: 'workspace_id' },
  experiment_tags: { query: 'SELECT * FROM experiment_tags', workspaceColumn: 'workspace_id' },
  runs: { query: 'SELECT * FROM runs', workspaceColumn: 'workspace_id' },
  run_params: { query: 'SELECT * FROM run_params', workspaceColumn: 'workspace_id' },
  run_tags: { query: 'SELECT * FROM run_tags', workspaceColumn: 'workspace_id' },
  metric_keys: {
    query: 'SELECT workspace_id, key FROM metric_keys',
    workspaceColumn: 'workspace_id',
  },
  run_latest_metrics: {
    query: 'SELECT * FROM run_latest_metrics',
    workspaceColumn: 'workspace_id',
  },
  metric_points: {
    query: `SELECT p.workspace_id, p.run_id, k.key, p.step, p.timestamp, p.value
            FROM metric_points p LEFT JOIN metric_keys k ON k.workspace_id = p.workspace_id AND k.key_id = p.key_id`,
    workspaceColumn: 'p.workspace_id',
  },
  metric_rollups: {
    query: `SELECT r.workspace_id, r.run_id, k.key, r.level, r.bucket, r.count,
                   r.first_step, r.first_timestamp, r.first_value, r.last_step, r.last_timestamp, r.last_value,
                   r.min_step, r.min_timestamp, r.min_value, r.max_step, r.max_timestamp, r.max_value
            FROM metric_rollups r LEFT JOIN metric_keys k ON k.workspace_id = r.workspace_id AND k.key_id = r.key_id`,
    workspaceColumn: 'r.workspace_id',
  },
  metric_series: {
    query: `SELECT s.workspace_id, s.run_id, k.key, s.min_step, s.max_step, s.count
            FROM metric_series s LEFT JOIN metric_keys k ON k.workspace_id = s.workspace_id AND k.key_id = s.key_id`,
    workspaceColumn: 's.workspace_id',
  },
  registered_models: { query: 'SELECT * FROM registered_models', workspaceColumn: 'workspace_id' },
  registered_model_tags: {
    query: 'SELECT * FROM registered_model_tags',
    workspaceColumn: 'workspace_id',
  },
  model_versions: { query: 'SELECT * FROM model_versions', workspaceColumn: 'workspace_id' },
  model_version_tags: {
    query: 'SELECT * FROM model_version_tags',
    workspaceColumn: 'workspace_id',
  },
  model_aliases: { query: 'SELECT * FROM model_aliases', workspaceColumn: 'workspace_id' },
  model_history: { query: 'SELECT * FROM model_history', workspaceColumn: 'workspace_id' },
  run_artifacts: { query: 'SELECT * FROM run_artifacts', workspaceColumn: 'workspace_id' },
  run_dataset_inputs: {
    query: 'SELECT * FROM run_dataset_inputs',
    workspaceColumn: 'workspace_id',
  },
  webhooks: { query: 'SELECT * FROM webhooks', workspaceColumn: 'workspace_id' },
  trace_spans: { query: 'SELECT * FROM trace_spans', workspaceColumn: 'workspace_id' },
  traces: { query: 'SELECT * FROM traces', workspaceColumn: 'workspace_id' },
  trace_tags: { query: 'SELECT * FROM trace_tags', workspaceColumn: 'workspace_id' },
  trace_metadata: { query: 'SELECT * FROM trace_metadata', workspaceColumn: 'workspace_id' },
  model_prices: { query: 'SELECT * FROM model_prices', workspaceColumn: 'workspace_id' },
  retention_policies: {
    query: 'SELECT * FROM retention_policies',
    workspaceColumn: 'workspace_id',
  },
  metric_retention_cutoffs: {
    query: 'SELECT * FROM metric_retention_cutoffs',
    workspaceColumn: 'workspace_id',
  },
  prompts: { query: 'SELECT * FROM prompts', workspaceColumn: 'workspace_id' },
  prompt_tags: { query: 'SELECT * FROM prompt_tags', workspaceColumn: 'workspace_id' },
  prompt_versions: { query: 'SELECT * FROM prompt_versions', workspaceColumn: 'workspace_id' },
  prompt_version_tags: {
    query: 'SELECT * FROM prompt_version_tags',
    workspaceColumn: 'workspace_id',
  },
  prompt_aliases: { query: 'SELECT * FROM prompt_aliases', workspaceColumn: 'workspace_id' },
  prompt_alias_history: {
    query: 'SELECT * FROM prompt_alias_history',
    workspaceColumn: 'workspace_id',
  },
  deployments: { query: 'SELECT * FROM deployments', workspaceColumn: 'workspace_id' },
  deployment_variants: {
    query: 'SELECT * FROM deployment_variants',
    workspaceColumn: 'workspace_id',
  },
  deployment_history: {
    query: 'SELECT * FROM deployment_history',
    workspaceColumn: 'workspace_id',
  },
  deployment_metrics: {
    query: 'SELECT * FROM deployment_metrics',
    workspaceColumn: 'workspace_id',
  },
  assessments: { query: 'SELECT * FROM assessments', workspaceColumn: 'workspace_id' },
  evaluation_datasets: {
    query: 'SELECT * FROM evaluation_datasets',
    workspaceColumn: 'workspace_id',
  },
  evaluation_dataset_records: {
    query: 'SELECT * FROM evaluation_dataset_records',
    workspaceColumn: 'workspace_id',
  },
  evaluation_runs: { query: 'SELECT * FROM evaluation_runs', workspaceColumn: 'workspace_id' },
  evaluation_rows: { query: 'SELECT * FROM evaluation_rows', workspaceColumn: 'workspace_id' },
  evaluation_rules: { query: 'SELECT * FROM evaluation_rules', workspaceColumn: 'workspace_id' },
  annotation_queues: { query: 'SELECT * FROM annotation_queues', workspaceColumn: 'workspace_id' },
  annotation_queue_items: {
    query: 'SELECT * FROM annotation_queue_items',
    workspaceColumn: 'workspace_id',
  },
  users: { query: 'SELECT * FROM users', workspaceColumn: 'workspace_id' },
  workspace_members: { query: 'SELECT * FROM workspace_members', workspaceColumn: 'workspace_id' },
  workspace_invitations: {
    query: 'SELECT * FROM workspace_invitations',
    workspaceColumn: 'workspace_id',
  },
  workspaces: { query: 'SELECT * FROM workspaces', workspaceColumn: 'workspace_id' },
  custom_roles: { query: 'SELECT * FROM custom_roles', workspaceColumn: 'workspace_id' },
  api_keys: { query: 'SELECT * FROM api_keys', workspaceColumn: 'workspace_id' },
  service_accounts: { query: 'SELECT * FROM service_accounts', workspaceColumn: 'workspace_id' },
  projection_stream_positions: {
    query: 'SELECT * FROM projection_stream_positions',
    workspaceColumn: 'workspace_id',
  },
  dead_letters: {
    query: `SELECT workspace_id, projection, event_id, global_position, stream_id, stream_position, event_type, error
            FROM dead_letters`,
    workspaceColumn: 'workspace_id',
  },
};

/** A dump: per table (the keys of DUMP_QUERIES), its rows as sorted canonical JSON. */
export type ReadModelDump = Record<string, string[]>;

/**
 * A row as JSON with sorted keys; dates as ISO strings, and NaN, ±Infinity and -0 kept apart
 * (JSON would turn the first three into null and the last into 0).
 */
export function canonical(row: Record<string, unknown>): string {
  const entries = Object.entries(row)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => {
      if (v instanceof Date) return [k, v.toISOString()];
      if (typeof v === 'number' && !Number.isFinite(v)) return [k, `<float ${String(v)}>`];
      if (typeof v === 'number' && Object.is(v, -0)) return [k, '<float -0>'];
      return [k, v];
    });
  return JSON.stringify(Object.fromEntries(entries));
}

/** Dumps every read-model table; with `workspaces`, only the rows of those workspaces. */
export async function dumpReadModels(
  target: Kysely<DB>,
  workspaces?: readonly string[],
): Promise<ReadModelDump> {
  const dump: ReadModelDump = {};
  for (const [table, { query, workspaceColumn }] of Object.entries(DUMP_QUERIES)) {
    const filter = workspaces
      ? sql` WHERE ${sql.raw(workspaceColumn)} = ANY(${[...workspaces]}::text[])`
      : sql``;
    const { rows } = await sql<Record<string, unknown>>`${sql.raw(query)}${filter}`.execute(target);
    dump[table] = rows.map(canonical).sort();
  }
  return dump;
}

/**
 * Differences between two dumps as short readable lines (multiset per table); [] when equal.
 * `labels` name the two sides in the lines (e.g. ['live', 'rebuilt']).
 */
export function diffDumps(
  before: ReadModelDump,
  after: ReadModelDump,
  labels: readonly [string, string] = ['before', 'after'],
): string[] {
  const [b, a] = labels;
  const lines: string[] = [];
  for (const table of Object.keys(DUMP_QUERIES)) {
    const counts = new Map<string, number>();
    for (const row of before[table] ?? []) counts.set(row, (counts.get(row) ?? 0) + 1);
    for (const row of after[table] ?? []) counts.set(row, (counts.get(row) ?? 0) - 1);
    const onlyBefore = [...counts].filter(([, n]) => n > 0);
    const onlyAfter = [...counts].filter(([, n]) => n < 0);
    if (onlyBefore.length === 0 && onlyAfter.length === 0) continue;
    lines.push(
      `${table}: ${before[table]?.length ?? 0} rows ${b}, ${after[table]?.length ?? 0} ${a}; ` +
        `${onlyBefore.length} only ${b} (e.g. ${onlyBefore
          .slice(0, 2)
          .map(([r, n]) => `${n}× ${r}`)
          .join(' | ')}); ` +
        `${onlyAfter.length} only ${a} (e.g. ${onlyAfter
          .slice(0, 2)
          .map(([r, n]) => `${-n}× ${r}`)
          .join(' | ')})`,
    );
  }
  return lines;
}

/**
 * Rebuilds each projection from the log, one after the other, with the caller's rebuild function
 * (e.g. `rebuildAll(db, allProjections, rebuildProjection)` from `@cairn/projector`). Returns the
 * number of events read in all.
 */
export async function rebuildAll<P>(
  target: Kysely<DB>,
  projections: readonly P[],
  rebuild: (target: Kysely<DB>, projection: P) => Promise<{ events: number }>,
): Promise<number> {
  let events = 0;
  for (const projection of projections) events += (await rebuild(target, projection)).events;
  return events;
}
