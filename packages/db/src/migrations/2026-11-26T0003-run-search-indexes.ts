import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Indexes of the run search (docs/search.md): find the runs having a metric, param or tag by key
// and value without visiting every run.
//
// Param and tag values may be up to 6,000 / 8,000 characters, beyond btree's ~2.7 kB entry limit,
// so their indexes hold a 200-character prefix of the value (at most 800 bytes); the search tests
// `left(value, 200) = left($1, 200) AND value = $1`. The prefix length is part of that contract
// (apps/api/src/runs/search/run-search.sql.ts).
export async function up(db: Kysely<any>): Promise<void> {
  // run_id included: the semi-joins and sort joins of a search can then read the index alone.
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
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of [
    'run_tags_key_value',
    'run_params_key_value',
    'run_latest_metrics_key_value',
  ]) {
    await db.schema.dropIndex(index).execute();
  }
}
