import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Loading an aggregate skips metric batches (they change no decision state): this partial index
// lets that read touch only the stream's other events, however many batches a run has logged.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE INDEX events_stream_state ON events (workspace_id, stream_id, stream_position)
    WHERE type <> 'RunMetricsLogged'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX events_stream_state`.execute(db);
}
