import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Event consumers (docs/events.md, "Checkpoints"): where each named consumer of the Postgres log
// (`@cairn/consumer`, local mode) stands, as a (transaction id, global position) pair like
// `log_checkpoints`, and the filter it was started with, so that a restart with a different
// filter under the same name is refused instead of silently missing events. Not a read model:
// nothing rebuilds it; a consumer's checkpoint covers every workspace it reads (`filter`).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE consumer_checkpoints (
      consumer text PRIMARY KEY,
      transaction_id xid8 NOT NULL,
      global_position bigint NOT NULL,
      filter jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS consumer_checkpoints`.execute(db);
}
