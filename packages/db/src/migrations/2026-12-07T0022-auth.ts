import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Workspaces, custom roles and API keys (docs/auth.md).
// - `workspaces`, `custom_roles`, `api_keys`: read models of the `auth` projection, rebuilt from
//   the log. An organisation-wide key's `workspace_id` is its organisation's id and its
//   `scope_workspace_id` is null.
// - `api_key_usage`: operational state written by the API (last use, at most once a minute per
//   key), not a read model: excluded from rebuild comparisons, like `sessions`.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE workspaces (
      workspace_id text PRIMARY KEY,
      organization_id text NOT NULL,
      name text NOT NULL,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX workspaces_organization ON workspaces (organization_id, workspace_id)`.execute(
    db,
  );
  await sql`
    CREATE TABLE custom_roles (
      workspace_id text NOT NULL,
      name text NOT NULL,
      scopes jsonb NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, name)
    )`.execute(db);
  await sql`
    CREATE TABLE api_keys (
      workspace_id text NOT NULL,
      key_id text PRIMARY KEY,
      scope_workspace_id text,
      organization_id text NOT NULL,
      name text NOT NULL,
      role text NOT NULL,
      secret_hash text NOT NULL,
      expires_at timestamptz,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL,
      revoked_at timestamptz,
      revoked_by text
    )`.execute(db);
  await sql`CREATE INDEX api_keys_workspace ON api_keys (workspace_id, created_at DESC, key_id)`.execute(
    db,
  );
  await sql`
    CREATE TABLE api_key_usage (
      key_id text PRIMARY KEY,
      last_used_at timestamptz NOT NULL
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS api_key_usage`.execute(db);
  await sql`DROP TABLE IF EXISTS api_keys`.execute(db);
  await sql`DROP TABLE IF EXISTS custom_roles`.execute(db);
  await sql`DROP TABLE IF EXISTS workspaces`.execute(db);
}
