import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Subject keys for crypto-shredding (docs/governance.md, "Erasure").
// - `subject_keys`: one AES-256-GCM key per data subject (a person named by an email in one
//   organisation). Personal fields of event bodies are stored encrypted with it. Written by the
//   API, not a read model (never rebuilt, excluded from rebuild comparisons): erasure sets `key`
//   and `lookup` to null, and what the log holds under the subject can no longer be read.
//   `lookup` is the SHA-256 (hex) of the email, to find an email's subject while it is not
//   erased: one subject per email over all workspaces, so that an invitation (workspace) and
//   the user it becomes (organisation) share one key and one placeholder.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE subject_keys (
      workspace_id text NOT NULL,
      subject_id text NOT NULL,
      key bytea,
      lookup text,
      created_at timestamptz NOT NULL DEFAULT now(),
      erased_at timestamptz,
      PRIMARY KEY (workspace_id, subject_id)
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX subject_keys_subject ON subject_keys (subject_id)`.execute(db);
  await sql`CREATE UNIQUE INDEX subject_keys_lookup ON subject_keys (lookup) WHERE lookup IS NOT NULL`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS subject_keys`.execute(db);
}
