import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Read models of the model registry projection (registry.projection.ts). Workspace first in
// every key. Names are not unique here: uniqueness is decided on the event store's unique_keys,
// and across streams a projection may see a new model before the deletion of an old namesake.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE registered_models (
      workspace_id text NOT NULL,
      model_id text NOT NULL,
      name text NOT NULL,
      description text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, model_id)
    )`.execute(db);
  await sql`CREATE INDEX registered_models_name ON registered_models (workspace_id, name)`.execute(
    db,
  );
  await sql`
    CREATE TABLE registered_model_tags (
      workspace_id text NOT NULL,
      model_id text NOT NULL,
      key text NOT NULL,
      value text NOT NULL,
      PRIMARY KEY (workspace_id, model_id, key)
    )`.execute(db);
  await sql`
    CREATE TABLE model_versions (
      workspace_id text NOT NULL,
      model_id text NOT NULL,
      version integer NOT NULL,
      model_name text NOT NULL,
      source text NOT NULL,
      run_id text,
      description text,
      stage text NOT NULL,
      status text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, model_id, version)
    )`.execute(db);
  await sql`CREATE INDEX model_versions_run ON model_versions (workspace_id, run_id) WHERE run_id IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE INDEX model_versions_name ON model_versions (workspace_id, model_name, version DESC)`.execute(
    db,
  );
  await sql`
    CREATE TABLE model_version_tags (
      workspace_id text NOT NULL,
      model_id text NOT NULL,
      version integer NOT NULL,
      key text NOT NULL,
      value text NOT NULL,
      PRIMARY KEY (workspace_id, model_id, version, key)
    )`.execute(db);
  await sql`
    CREATE TABLE model_aliases (
      workspace_id text NOT NULL,
      model_id text NOT NULL,
      alias text NOT NULL,
      version integer NOT NULL,
      PRIMARY KEY (workspace_id, model_id, alias)
    )`.execute(db);
  // One row per model-level event worth showing; the stream position orders it.
  await sql`
    CREATE TABLE model_history (
      workspace_id text NOT NULL,
      model_id text NOT NULL,
      stream_position integer NOT NULL,
      event_id text NOT NULL,
      kind text NOT NULL,
      at timestamptz NOT NULL,
      actor text,
      version integer,
      from_stage text,
      to_stage text,
      alias text,
      previous_version integer,
      PRIMARY KEY (workspace_id, model_id, stream_position)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'model_history',
    'model_aliases',
    'model_version_tags',
    'model_versions',
    'registered_model_tags',
    'registered_models',
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  }
}
