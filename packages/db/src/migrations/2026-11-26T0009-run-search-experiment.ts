import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// The run search always names its experiments (docs/benchmarks.md, B3): the side tables of the
// search carry the run's experiment, and their value indexes lead with it, so that a filter reads
// only the rows of the searched experiments instead of the whole workspace's. A run never changes
// experiment, so the column is written once, on insert (apps/projector runs projection).
//
// The indexes keep the 200-character value prefix of 2026-11-26T0003 (the contract with
// apps/api/src/runs/search/run-search.sql.ts), now as a stored generated column `value_prefix`
// of run_params/run_tags: Postgres answers from an index alone (index-only scan) only when the
// query's columns are index columns, never through an expression index. They replace that
// migration's workspace-wide indexes: every search filters by experiment, nothing else reads them.
const TABLES = ['run_latest_metrics', 'run_params', 'run_tags'] as const;

export async function up(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) {
    await sql`ALTER TABLE ${sql.table(table)} ADD COLUMN experiment_id text`.execute(db);
    await sql`
      UPDATE ${sql.table(table)} AS t SET experiment_id = r.experiment_id
      FROM runs r WHERE r.workspace_id = t.workspace_id AND r.run_id = t.run_id`.execute(db);
    // Fails (and rolls the migration back) if a row has no run: none should.
    await sql`ALTER TABLE ${sql.table(table)} ALTER COLUMN experiment_id SET NOT NULL`.execute(db);
  }
  for (const table of ['run_params', 'run_tags'] as const) {
    await sql`
      ALTER TABLE ${sql.table(table)}
        ADD COLUMN value_prefix text GENERATED ALWAYS AS (left(value, 200)) STORED`.execute(db);
  }
  await sql`
    CREATE INDEX run_latest_metrics_experiment_key_value
      ON run_latest_metrics (workspace_id, experiment_id, key, value) INCLUDE (run_id)`.execute(db);
  await sql`
    CREATE INDEX run_params_experiment_key_value
      ON run_params (workspace_id, experiment_id, key, value_prefix) INCLUDE (run_id)`.execute(db);
  await sql`
    CREATE INDEX run_tags_experiment_key_value
      ON run_tags (workspace_id, experiment_id, key, value_prefix) INCLUDE (run_id)`.execute(db);
  for (const index of [
    'run_latest_metrics_key_value',
    'run_params_key_value',
    'run_tags_key_value',
  ]) {
    await db.schema.dropIndex(index).execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE INDEX run_latest_metrics_key_value ON run_latest_metrics (workspace_id, key, value) INCLUDE (run_id)`.execute(
    db,
  );
  await sql`CREATE INDEX run_params_key_value ON run_params (workspace_id, key, left(value, 200))`.execute(
    db,
  );
  await sql`CREATE INDEX run_tags_key_value ON run_tags (workspace_id, key, left(value, 200))`.execute(
    db,
  );
  for (const index of [
    'run_tags_experiment_key_value',
    'run_params_experiment_key_value',
    'run_latest_metrics_experiment_key_value',
  ]) {
    await db.schema.dropIndex(index).execute();
  }
  for (const table of ['run_params', 'run_tags'] as const) {
    await sql`ALTER TABLE ${sql.table(table)} DROP COLUMN value_prefix`.execute(db);
  }
  for (const table of TABLES) {
    await sql`ALTER TABLE ${sql.table(table)} DROP COLUMN experiment_id`.execute(db);
  }
}
