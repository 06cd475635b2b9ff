import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Lineage (docs/governance.md, "Lineage"):
// - `run_dataset_inputs`: the datasets a run used (RunInputsLogged), read model of the
//   `run-inputs` projection, one row per (run, dataset name, digest, context); rebuilt from the log.
//   `dataset_key` is name + NUL + digest: the dataset node of the lineage graph.
// - `traces_model_version`: traces of a model version (`name/version`), the lineage graph's
//   model version → traces hop.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE run_dataset_inputs (
      workspace_id text NOT NULL,
      run_id text NOT NULL,
      ordinal int4 NOT NULL,
      name text NOT NULL,
      digest text NOT NULL,
      context text NOT NULL,
      source_type text NOT NULL,
      source text NOT NULL,
      schema text,
      profile text,
      tags jsonb NOT NULL,
      logged_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, run_id, name, digest, context)
    )`.execute(db);
  await sql`CREATE INDEX run_dataset_inputs_dataset ON run_dataset_inputs (workspace_id, name, digest, run_id)`.execute(
    db,
  );
  await sql`CREATE INDEX traces_model_version ON traces (workspace_id, model_version) WHERE model_version IS NOT NULL`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS traces_model_version`.execute(db);
  await sql`DROP TABLE IF EXISTS run_dataset_inputs`.execute(db);
}
