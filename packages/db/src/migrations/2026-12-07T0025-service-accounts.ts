import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Service accounts (docs/auth.md, "Service accounts"): principals of their own, per workspace,
// that act through the API keys issued to them.
// - `service_accounts`: read model of the `auth` projection (ServiceAccountCreated adds a row,
//   ServiceAccountDeleted removes it), rebuilt from the log.
// - `api_keys.service_account_id`: the service account a key acts as (ApiKeyCreated v2); null
//   for a plain key (every key created before this migration).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE service_accounts (
      workspace_id text NOT NULL,
      service_account_id text NOT NULL,
      name text NOT NULL,
      description text NOT NULL,
      role text NOT NULL,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, service_account_id)
    )`.execute(db);
  await sql`CREATE INDEX service_accounts_name ON service_accounts (workspace_id, name)`.execute(
    db,
  );
  await sql`CREATE INDEX service_accounts_created ON service_accounts (workspace_id, created_at DESC, service_account_id)`.execute(
    db,
  );
  await sql`ALTER TABLE api_keys ADD COLUMN service_account_id text`.execute(db);
  await sql`CREATE INDEX api_keys_service_account ON api_keys (service_account_id) WHERE service_account_id IS NOT NULL`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS api_keys_service_account`.execute(db);
  await sql`ALTER TABLE api_keys DROP COLUMN IF EXISTS service_account_id`.execute(db);
  await sql`DROP TABLE IF EXISTS service_accounts`.execute(db);
}
