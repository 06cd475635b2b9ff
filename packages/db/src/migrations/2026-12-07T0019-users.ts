import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Users and workspace members (docs/auth.md, "Users and sessions").
// - `users`, `workspace_members`, `workspace_invitations`: read models of the `users`
//   projection, rebuilt from the log. A user's `workspace_id` is its organisation's id (the
//   workspace id of its events).
// - `sessions`: operational state written by the API (like api_key_usage), not a read model:
//   excluded from rebuild comparisons. Only hashes of the session and CSRF tokens are stored.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE users (
      workspace_id text NOT NULL,
      user_id text NOT NULL,
      email text NOT NULL,
      display_name text NOT NULL,
      password_hash text,
      oidc_subject text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, user_id)
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX users_email ON users (workspace_id, email)`.execute(db);
  await sql`CREATE INDEX users_oidc_subject ON users (oidc_subject) WHERE oidc_subject IS NOT NULL`.execute(
    db,
  );
  await sql`
    CREATE TABLE workspace_members (
      workspace_id text NOT NULL,
      user_id text NOT NULL,
      role text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, user_id)
    )`.execute(db);
  await sql`CREATE INDEX workspace_members_user ON workspace_members (user_id)`.execute(db);
  await sql`
    CREATE TABLE workspace_invitations (
      workspace_id text NOT NULL,
      email text NOT NULL,
      role text NOT NULL,
      invited_by text NOT NULL,
      invited_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, email)
    )`.execute(db);
  await sql`CREATE INDEX workspace_invitations_email ON workspace_invitations (email)`.execute(db);
  await sql`
    CREATE TABLE sessions (
      id_hash text PRIMARY KEY,
      user_id text NOT NULL,
      organization_id text NOT NULL,
      created_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      csrf_token_hash text NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX sessions_user ON sessions (user_id)`.execute(db);
  await sql`CREATE INDEX sessions_expires ON sessions (expires_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS sessions`.execute(db);
  await sql`DROP TABLE IF EXISTS workspace_invitations`.execute(db);
  await sql`DROP TABLE IF EXISTS workspace_members`.execute(db);
  await sql`DROP TABLE IF EXISTS users`.execute(db);
}
