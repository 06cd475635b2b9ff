import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Read models of the evaluation projection (evaluation.projection.ts, docs/evaluation.md).
// Workspace first in every key. Dataset names are not unique here: uniqueness is decided on the
// event store's unique_keys (as for prompts).
export async function up(db: Kysely<any>): Promise<void> {
  // value: the JSON value (SQL NULL for a JSON null); history: earlier revisions, oldest first
  // ([{value, rationale, source: {type, id}, author, at}]). row_key: the evaluation row it scores.
  await sql`
    CREATE TABLE assessments (
      workspace_id text NOT NULL,
      assessment_id text NOT NULL,
      trace_id text NOT NULL,
      span_id text,
      kind text NOT NULL,
      name text NOT NULL,
      value jsonb,
      rationale text,
      error text,
      source_type text NOT NULL,
      source_id text NOT NULL,
      author text NOT NULL,
      run_id text,
      row_key text,
      rule_id text,
      metadata jsonb NOT NULL,
      history jsonb NOT NULL DEFAULT '[]'::jsonb,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, assessment_id)
    )`.execute(db);
  await sql`CREATE INDEX assessments_trace ON assessments (workspace_id, trace_id, created_at)`.execute(
    db,
  );
  await sql`CREATE INDEX assessments_run ON assessments (workspace_id, run_id, row_key) WHERE run_id IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE INDEX assessments_rule ON assessments (workspace_id, rule_id, name, created_at) WHERE rule_id IS NOT NULL`.execute(
    db,
  );
  await sql`
    CREATE TABLE evaluation_datasets (
      workspace_id text NOT NULL,
      dataset_id text NOT NULL,
      name text NOT NULL,
      experiment_id text,
      version integer NOT NULL,
      record_count integer NOT NULL,
      tags jsonb NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, dataset_id)
    )`.execute(db);
  await sql`CREATE INDEX evaluation_datasets_name ON evaluation_datasets (workspace_id, name)`.execute(
    db,
  );
  // position: order of the record in the dataset (append order), version: the append that added it.
  await sql`
    CREATE TABLE evaluation_dataset_records (
      workspace_id text NOT NULL,
      dataset_id text NOT NULL,
      record_id text NOT NULL,
      version integer NOT NULL,
      position integer NOT NULL,
      inputs jsonb NOT NULL,
      expectations jsonb NOT NULL,
      tags jsonb NOT NULL,
      source_trace_id text,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, dataset_id, record_id)
    )`.execute(db);
  await sql`CREATE INDEX evaluation_dataset_records_position ON evaluation_dataset_records (workspace_id, dataset_id, position)`.execute(
    db,
  );
  await sql`
    CREATE TABLE evaluation_runs (
      workspace_id text NOT NULL,
      run_id text NOT NULL,
      experiment_id text NOT NULL,
      scorers jsonb NOT NULL,
      dataset_id text,
      dataset_version integer,
      model_id text,
      row_count integer NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, run_id)
    )`.execute(db);
  await sql`CREATE INDEX evaluation_runs_experiment ON evaluation_runs (workspace_id, experiment_id, created_at)`.execute(
    db,
  );
  // position: order of recording within the run.
  await sql`
    CREATE TABLE evaluation_rows (
      workspace_id text NOT NULL,
      run_id text NOT NULL,
      row_key text NOT NULL,
      position integer NOT NULL,
      trace_id text NOT NULL,
      inputs jsonb NOT NULL,
      outputs jsonb,
      expectations jsonb,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, run_id, row_key)
    )`.execute(db);
  await sql`CREATE INDEX evaluation_rows_position ON evaluation_rows (workspace_id, run_id, position)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'evaluation_rows',
    'evaluation_runs',
    'evaluation_dataset_records',
    'evaluation_datasets',
    'assessments',
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  }
}
