import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Read models of the prompt registry projection (prompts.projection.ts, docs/prompts.md).
// Workspace first in every key. Names are not unique here: uniqueness is decided on the event
// store's unique_keys, and across streams a projection may see a new prompt before the deletion
// of an old namesake.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE prompts (
      workspace_id text NOT NULL,
      prompt_id text NOT NULL,
      name text NOT NULL,
      description text,
      archived boolean NOT NULL DEFAULT false,
      latest_version integer,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, prompt_id)
    )`.execute(db);
  await sql`CREATE INDEX prompts_name ON prompts (workspace_id, name)`.execute(db);
  await sql`
    CREATE TABLE prompt_tags (
      workspace_id text NOT NULL,
      prompt_id text NOT NULL,
      key text NOT NULL,
      value text NOT NULL,
      PRIMARY KEY (workspace_id, prompt_id, key)
    )`.execute(db);
  await sql`CREATE INDEX prompt_tags_key_value ON prompt_tags (workspace_id, key, value)`.execute(
    db,
  );
  // template: {type: 'text', text} | {type: 'chat', messages: [{role, content}]}, as in the event.
  await sql`
    CREATE TABLE prompt_versions (
      workspace_id text NOT NULL,
      prompt_id text NOT NULL,
      version integer NOT NULL,
      prompt_name text NOT NULL,
      template_type text NOT NULL,
      template jsonb NOT NULL,
      variables jsonb NOT NULL,
      response_format jsonb,
      model_config jsonb,
      commit_message text,
      author text,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, prompt_id, version)
    )`.execute(db);
  await sql`
    CREATE TABLE prompt_version_tags (
      workspace_id text NOT NULL,
      prompt_id text NOT NULL,
      version integer NOT NULL,
      key text NOT NULL,
      value text NOT NULL,
      PRIMARY KEY (workspace_id, prompt_id, version, key)
    )`.execute(db);
  await sql`
    CREATE TABLE prompt_aliases (
      workspace_id text NOT NULL,
      prompt_id text NOT NULL,
      alias text NOT NULL,
      version integer NOT NULL,
      updated_at timestamptz NOT NULL,
      updated_by text,
      PRIMARY KEY (workspace_id, prompt_id, alias)
    )`.execute(db);
  // One row per alias event; the stream position orders it (newest first = highest).
  await sql`
    CREATE TABLE prompt_alias_history (
      workspace_id text NOT NULL,
      prompt_id text NOT NULL,
      stream_position integer NOT NULL,
      event_id text NOT NULL,
      alias text NOT NULL,
      kind text NOT NULL,
      from_version integer,
      to_version integer,
      actor text,
      at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, prompt_id, stream_position)
    )`.execute(db);
  // Lineage (PromptVersion.traces): containment lookups on the traces projection's links.
  await sql`CREATE INDEX traces_prompt_versions ON traces USING gin (prompt_versions jsonb_path_ops)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS traces_prompt_versions`.execute(db);
  for (const table of [
    'prompt_alias_history',
    'prompt_aliases',
    'prompt_version_tags',
    'prompt_versions',
    'prompt_tags',
    'prompts',
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  }
}
