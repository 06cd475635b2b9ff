import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Read models of the `deployments` projection (deployments.projection.ts, docs/deployment.md).
// Workspace first in every key. Names are not unique here: uniqueness is decided on the event
// store's unique_keys, and across streams a projection may see a new deployment before the
// deletion of an old namesake.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE deployments (
      workspace_id text NOT NULL,
      deployment_id text NOT NULL,
      name text NOT NULL,
      target text NOT NULL,
      model_uri text NOT NULL,
      config jsonb NOT NULL,
      status text NOT NULL,
      status_message text,
      endpoint text,
      manifests text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, deployment_id)
    )`.execute(db);
  await sql`CREATE INDEX deployments_name ON deployments (workspace_id, name, deployment_id)`.execute(
    db,
  );
  // One row per variant; (model_id, alias) finds the variants an alias move concerns.
  await sql`
    CREATE TABLE deployment_variants (
      workspace_id text NOT NULL,
      deployment_id text NOT NULL,
      name text NOT NULL,
      ordinal integer NOT NULL,
      model_uri text NOT NULL,
      model_id text NOT NULL,
      model_name text NOT NULL,
      alias text,
      served_version integer NOT NULL,
      weight integer NOT NULL,
      PRIMARY KEY (workspace_id, deployment_id, name)
    )`.execute(db);
  await sql`CREATE INDEX deployment_variants_alias ON deployment_variants (workspace_id, model_id, alias)`.execute(
    db,
  );
  // One row per change; the global log position (and an ordinal within one event) orders it,
  // newest first = highest. Rows from the registry's alias events carry that event's position.
  await sql`
    CREATE TABLE deployment_history (
      workspace_id text NOT NULL,
      deployment_id text NOT NULL,
      global_position bigint NOT NULL,
      ordinal integer NOT NULL,
      event_id text NOT NULL,
      kind text NOT NULL,
      variant text,
      from_version integer,
      to_version integer,
      actor text NOT NULL,
      summary text NOT NULL,
      at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, deployment_id, global_position, ordinal)
    )`.execute(db);
  // One row per reported window per variant; latency_buckets holds the 13 fixed bucket counts.
  await sql`
    CREATE TABLE deployment_metrics (
      workspace_id text NOT NULL,
      deployment_id text NOT NULL,
      global_position bigint NOT NULL,
      variant text NOT NULL,
      version text,
      window_start timestamptz NOT NULL,
      window_end timestamptz NOT NULL,
      requests integer NOT NULL,
      errors integer NOT NULL,
      latency_ms_sum double precision NOT NULL,
      latency_buckets integer[] NOT NULL,
      PRIMARY KEY (workspace_id, deployment_id, global_position, variant)
    )`.execute(db);
  await sql`CREATE INDEX deployment_metrics_window ON deployment_metrics (workspace_id, deployment_id, window_end)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'deployment_metrics',
    'deployment_history',
    'deployment_variants',
    'deployments',
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.raw(table)}`.execute(db);
  }
}
