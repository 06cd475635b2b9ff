import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
export async function up(db: Kysely<any>): Promise<void> {
  // The event log: the source of truth. global_position orders the log; transaction_id (xid8)
  // lets readers stay below the visibility boundary (see event-store/read-all.ts).
  await sql`
    CREATE TABLE events (
      global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
      event_id uuid NOT NULL UNIQUE,
      workspace_id text NOT NULL,
      stream_id text NOT NULL,
      stream_position integer NOT NULL,
      type text NOT NULL,
      schema_version integer NOT NULL,
      data jsonb NOT NULL,
      actor text NOT NULL,
      correlation_id text NOT NULL,
      causation_id text,
      occurred_at timestamptz NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      CONSTRAINT events_stream_position_unique UNIQUE (workspace_id, stream_id, stream_position)
    )`.execute(db);
  await sql`CREATE INDEX events_tx_order ON events (transaction_id, global_position)`.execute(db);

  // One row per stream: its type and version. The row is the lock point for optimistic
  // concurrency: appends update it with the expected version in the WHERE clause.
  await sql`
    CREATE TABLE streams (
      workspace_id text NOT NULL,
      stream_id text NOT NULL,
      stream_type text NOT NULL,
      version integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (workspace_id, stream_id)
    )`.execute(db);

  // Unique names (experiment names per workspace, ...) are claimed here in the same transaction
  // as the append, never decided on an eventually consistent read model.
  await sql`
    CREATE TABLE unique_keys (
      workspace_id text NOT NULL,
      scope text NOT NULL,
      key text NOT NULL,
      stream_id text NOT NULL,
      PRIMARY KEY (workspace_id, scope, key)
    )`.execute(db);

  // Checkpoints of log readers (projections on the postgres transport, the Kafka relay).
  await sql`
    CREATE TABLE log_checkpoints (
      reader text PRIMARY KEY,
      transaction_id xid8 NOT NULL,
      global_position bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  // Per-stream guard of every projection: an event at or below the stored position has been
  // applied already (delivery is at least once; the effect is exactly once).
  await sql`
    CREATE TABLE projection_stream_positions (
      workspace_id text NOT NULL,
      projection text NOT NULL,
      stream_id text NOT NULL,
      position integer NOT NULL,
      PRIMARY KEY (workspace_id, projection, stream_id)
    )`.execute(db);

  await sql`
    CREATE TABLE dead_letters (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      workspace_id text NOT NULL,
      projection text NOT NULL,
      event_id uuid NOT NULL,
      global_position bigint NOT NULL,
      stream_id text NOT NULL,
      stream_position integer NOT NULL,
      event_type text NOT NULL,
      error text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (projection, event_id)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'dead_letters',
    'projection_stream_positions',
    'log_checkpoints',
    'unique_keys',
    'streams',
    'events',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
