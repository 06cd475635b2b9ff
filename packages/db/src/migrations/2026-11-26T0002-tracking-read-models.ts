import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Read models of the experiments and runs projections. Workspace first in every key.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE experiments (
      workspace_id text NOT NULL,
      experiment_id text NOT NULL,
      name text NOT NULL,
      artifact_location text,
      lifecycle_stage text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, experiment_id)
    )`.execute(db);
  await sql`CREATE INDEX experiments_name ON experiments (workspace_id, name)`.execute(db);
  await sql`
    CREATE TABLE experiment_tags (
      workspace_id text NOT NULL,
      experiment_id text NOT NULL,
      key text NOT NULL,
      value text NOT NULL,
      PRIMARY KEY (workspace_id, experiment_id, key)
    )`.execute(db);

  await sql`
    CREATE TABLE runs (
      workspace_id text NOT NULL,
      run_id text NOT NULL,
      experiment_id text NOT NULL,
      name text NOT NULL,
      status text NOT NULL,
      start_time bigint NOT NULL,
      end_time bigint,
      lifecycle_stage text NOT NULL,
      parent_run_id text,
      source_git_commit text,
      source_entry_point text,
      source_type text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, run_id)
    )`.execute(db);
  await sql`CREATE INDEX runs_experiment_start ON runs (workspace_id, experiment_id, start_time DESC, run_id)`.execute(
    db,
  );
  await sql`CREATE INDEX runs_parent ON runs (workspace_id, parent_run_id) WHERE parent_run_id IS NOT NULL`.execute(
    db,
  );
  await sql`
    CREATE TABLE run_params (
      workspace_id text NOT NULL,
      run_id text NOT NULL,
      key text NOT NULL,
      value text NOT NULL,
      PRIMARY KEY (workspace_id, run_id, key)
    )`.execute(db);
  await sql`
    CREATE TABLE run_tags (
      workspace_id text NOT NULL,
      run_id text NOT NULL,
      key text NOT NULL,
      value text NOT NULL,
      PRIMARY KEY (workspace_id, run_id, key)
    )`.execute(db);

  // Metric keys are interned per workspace so that a point row stays narrow.
  await sql`
    CREATE TABLE metric_keys (
      workspace_id text NOT NULL,
      key_id integer GENERATED ALWAYS AS IDENTITY,
      key text NOT NULL,
      PRIMARY KEY (workspace_id, key_id),
      UNIQUE (workspace_id, key)
    )`.execute(db);
  await sql`
    CREATE TABLE run_latest_metrics (
      workspace_id text NOT NULL,
      run_id text NOT NULL,
      key text NOT NULL,
      value double precision NOT NULL,
      step bigint NOT NULL,
      timestamp bigint NOT NULL,
      PRIMARY KEY (workspace_id, run_id, key)
    )`.execute(db);
  // One row per point. No primary key: points may legitimately repeat (same step twice), and
  // duplicates from redelivery are impossible because of projection_stream_positions.
  await sql`
    CREATE TABLE metric_points (
      workspace_id text NOT NULL,
      run_id text NOT NULL,
      key_id integer NOT NULL,
      step bigint NOT NULL,
      timestamp bigint NOT NULL,
      value double precision NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX metric_points_series ON metric_points (workspace_id, run_id, key_id, step)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'metric_points',
    'run_latest_metrics',
    'metric_keys',
    'run_tags',
    'run_params',
    'runs',
    'experiment_tags',
    'experiments',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
