import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// The `artifacts` projection: one row per logged artifact file (newest RunArtifactLogged wins).
// Paths compare byte-wise (COLLATE "C") so that a directory's subtree is a primary-key range
// scan: `path >= 'dir/' AND path < 'dir0'`.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE run_artifacts (
      workspace_id text NOT NULL,
      run_id text NOT NULL,
      path text COLLATE "C" NOT NULL,
      size int8 NOT NULL,
      sha256 text NOT NULL,
      content_type text NOT NULL,
      logged_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, run_id, path)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE run_artifacts`.execute(db);
}
