import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Retention of webhook deliveries (docs/webhooks.md, "Retention"): finished deliveries older than
// the retention period are deleted by the sender. A rebuild of the `webhooks` projection replays
// old registry events, and the (webhook, event) unique key that made those replays no-ops is gone
// with the deleted rows; `webhook_delivery_horizons` keeps, per webhook, the highest log position
// whose deliveries were pruned, and the dispatcher queues nothing at or below it. Like the
// deliveries, it records effects on the outside world and no rebuild empties it.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE webhook_delivery_horizons (
      workspace_id text NOT NULL,
      webhook_id text NOT NULL,
      through_position bigint NOT NULL,
      PRIMARY KEY (workspace_id, webhook_id)
    )`.execute(db);
  await sql`CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (created_at) WHERE status IN ('SUCCEEDED', 'FAILED')`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS webhook_deliveries_finished`.execute(db);
  await sql`DROP TABLE IF EXISTS webhook_delivery_horizons`.execute(db);
}
