import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Retention (docs/governance.md, "Retention"). `retention_policies`: each workspace's policy (the
// `retention` projection, from RetentionPolicySet / RetentionPolicyRemoved). `metric_retention_cutoffs`:
// the latest MetricPointsPurged cut-off per workspace (the `runs` projection): points older than
// it are not kept in the metric history, whenever they arrive, so the result of a purge does not
// depend on how the log was cut into batches.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE retention_policies (
      workspace_id text PRIMARY KEY,
      trace_days int4,
      metric_days int4,
      updated_at timestamptz NOT NULL,
      updated_by text NOT NULL
    )`.execute(db);
  await sql`
    CREATE TABLE metric_retention_cutoffs (
      workspace_id text PRIMARY KEY,
      before_ms int8 NOT NULL
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS metric_retention_cutoffs`.execute(db);
  await sql`DROP TABLE IF EXISTS retention_policies`.execute(db);
}
