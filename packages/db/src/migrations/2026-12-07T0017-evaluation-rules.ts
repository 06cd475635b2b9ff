import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Online evaluation rules, the `evaluation-rules` projection's read model (docs/evaluation.md,
// "Online evaluation"). The online consumer's checkpoint lives in log_checkpoints; what it has
// scored is the assessments it appended (deterministic ids), so it needs no table of its own.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE evaluation_rules (
      workspace_id text NOT NULL,
      rule_id text NOT NULL,
      name text NOT NULL,
      filter text,
      sampling_rate float8 NOT NULL,
      scorers jsonb NOT NULL,
      active boolean NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, rule_id)
    )`.execute(db);
  await sql`CREATE INDEX evaluation_rules_active ON evaluation_rules (workspace_id) WHERE active`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS evaluation_rules`.execute(db);
}
