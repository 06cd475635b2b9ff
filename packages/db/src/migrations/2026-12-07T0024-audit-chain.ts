import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Tamper evidence for the event log (docs/governance.md, "The hash chain"). The sealer follows
// the log like a projection and writes, per workspace and in log order, one row per event:
// hash = SHA-256(previous hash || canonical bytes of the event). The append path is untouched.
// `audit_chain_heads` holds each workspace's last link; the sealer's checkpoint is the
// log_checkpoints row `audit:chain.v1`, written in the same transaction.
// `events.origin` (nullable) records where a change came from: client, address, user agent.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE audit_chain (
      workspace_id text NOT NULL,
      seq bigint NOT NULL,
      global_position bigint NOT NULL,
      stream_id text NOT NULL,
      type text NOT NULL,
      hash bytea NOT NULL,
      PRIMARY KEY (workspace_id, seq),
      CONSTRAINT audit_chain_position_unique UNIQUE (global_position)
    )`.execute(db);
  await sql`
    CREATE TABLE audit_chain_heads (
      workspace_id text PRIMARY KEY,
      seq bigint NOT NULL,
      global_position bigint NOT NULL,
      hash bytea NOT NULL,
      sealed_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`ALTER TABLE events ADD COLUMN origin jsonb`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE events DROP COLUMN IF EXISTS origin`.execute(db);
  await sql`DROP TABLE IF EXISTS audit_chain_heads`.execute(db);
  await sql`DROP TABLE IF EXISTS audit_chain`.execute(db);
}
