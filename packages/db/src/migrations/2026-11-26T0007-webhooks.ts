import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Webhooks: the subscriptions read model (projection `webhooks`), the delivery outbox the same
// projection fills, and the log of every delivery attempt the sender makes.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE webhooks (
      workspace_id text NOT NULL,
      webhook_id text NOT NULL,
      url text NOT NULL,
      events text[] NOT NULL,
      model_name text,
      description text,
      active boolean NOT NULL,
      encrypted_secret text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, webhook_id)
    )`.execute(db);

  // Not owned by any projection's rebuild: a rebuild of `webhooks` keeps these rows, and the
  // unique (webhook, event) pair makes replayed inserts no-ops, so nothing is sent twice.
  await sql`
    CREATE TABLE webhook_deliveries (
      workspace_id text NOT NULL,
      delivery_id text NOT NULL,
      webhook_id text NOT NULL,
      event_id text NOT NULL,
      event text NOT NULL,
      status text NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      last_status_code integer,
      last_error text,
      next_attempt_at timestamptz,
      payload text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      delivered_at timestamptz,
      PRIMARY KEY (workspace_id, delivery_id),
      UNIQUE (workspace_id, webhook_id, event_id)
    )`.execute(db);
  await sql`CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (workspace_id, webhook_id, created_at DESC, delivery_id DESC)`.execute(
    db,
  );
  await sql`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status IN ('PENDING', 'RETRYING')`.execute(
    db,
  );

  await sql`
    CREATE TABLE webhook_delivery_attempts (
      workspace_id text NOT NULL,
      delivery_id text NOT NULL,
      attempt integer NOT NULL,
      started_at timestamptz NOT NULL,
      duration_ms integer NOT NULL,
      status_code integer,
      error text,
      PRIMARY KEY (workspace_id, delivery_id, attempt)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS webhook_delivery_attempts`.execute(db);
  await sql`DROP TABLE IF EXISTS webhook_deliveries`.execute(db);
  await sql`DROP TABLE IF EXISTS webhooks`.execute(db);
}
