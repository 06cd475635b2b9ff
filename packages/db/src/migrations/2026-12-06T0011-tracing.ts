import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// The `traces` projection (docs/tracing.md): spans, traces, their tags and metadata, and the
// workspace's model price table. Nanosecond times are int8 (`*_ns`): read them as `::text`,
// because the DB client maps int8 to a JS number (exact only below 2^53, and ns since 1970 are
// ~1.8e18). `start_time` (timestamptz, µs) is what lists order and filter by.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE trace_spans (
      workspace_id text NOT NULL,
      trace_id text NOT NULL,
      span_id text NOT NULL,
      parent_span_id text,
      trace_state text,
      name text NOT NULL,
      kind text NOT NULL,
      span_type text NOT NULL,
      start_ns int8 NOT NULL,
      end_ns int8,
      start_time timestamptz NOT NULL,
      duration_ms float8,
      status_code text NOT NULL,
      status_message text,
      attributes jsonb NOT NULL,
      events jsonb NOT NULL,
      links jsonb NOT NULL,
      resource jsonb NOT NULL,
      scope jsonb NOT NULL,
      dropped_attributes_count int4 NOT NULL DEFAULT 0,
      dropped_events_count int4 NOT NULL DEFAULT 0,
      dropped_links_count int4 NOT NULL DEFAULT 0,
      inputs jsonb,
      outputs jsonb,
      model text,
      provider text,
      input_tokens int8,
      output_tokens int8,
      total_tokens int8,
      cached_tokens int8,
      reasoning_tokens int8,
      cost_usd float8,
      -- The trace-level fields this span sets (session, user, environment, links, tags,
      -- metadata; normalised by the projection), NULL when none: the traces roll-up picks them
      -- by precedence without re-reading attributes.
      trace_fields jsonb,
      PRIMARY KEY (workspace_id, trace_id, span_id)
    )`.execute(db);
  await sql`CREATE INDEX trace_spans_attributes ON trace_spans USING gin (attributes jsonb_path_ops)`.execute(
    db,
  );
  await sql`CREATE INDEX trace_spans_model ON trace_spans (workspace_id, model, start_time) WHERE model IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE INDEX trace_spans_name ON trace_spans (workspace_id, name)`.execute(db);

  await sql`
    CREATE TABLE traces (
      workspace_id text NOT NULL,
      trace_id text NOT NULL,
      name text NOT NULL DEFAULT '',
      root_span_id text,
      status text NOT NULL DEFAULT 'UNSET',
      start_ns int8 NOT NULL DEFAULT 0,
      end_ns int8,
      start_time timestamptz NOT NULL DEFAULT 'epoch',
      end_time timestamptz,
      duration_ms float8,
      inputs jsonb,
      outputs jsonb,
      session_id text,
      user_id text,
      environment text,
      run_id text,
      model_version text,
      prompt_versions jsonb NOT NULL DEFAULT '[]',
      span_count int4 NOT NULL DEFAULT 0,
      error_count int4 NOT NULL DEFAULT 0,
      input_tokens int8 NOT NULL DEFAULT 0,
      output_tokens int8 NOT NULL DEFAULT 0,
      total_tokens int8 NOT NULL DEFAULT 0,
      cached_tokens int8 NOT NULL DEFAULT 0,
      reasoning_tokens int8 NOT NULL DEFAULT 0,
      cost_usd float8,
      deleted boolean NOT NULL DEFAULT false,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (workspace_id, trace_id)
    )`.execute(db);
  await sql`CREATE INDEX traces_recent ON traces (workspace_id, start_time DESC, trace_id DESC) WHERE NOT deleted`.execute(
    db,
  );
  await sql`CREATE INDEX traces_session ON traces (workspace_id, session_id, start_time) WHERE session_id IS NOT NULL AND NOT deleted`.execute(
    db,
  );
  await sql`CREATE INDEX traces_user ON traces (workspace_id, user_id, start_time) WHERE user_id IS NOT NULL AND NOT deleted`.execute(
    db,
  );
  await sql`CREATE INDEX traces_run ON traces (workspace_id, run_id) WHERE run_id IS NOT NULL`.execute(
    db,
  );

  // Tags and metadata of a trace come from span attributes (source 'span') and from people
  // (source 'user'; a NULL value is a deletion). The effective value of a key is the user's row
  // if there is one, else the spans'; a user's NULL hides the key. The views below say so once
  // for every reader.
  for (const table of ['trace_tags', 'trace_metadata']) {
    await sql`
      CREATE TABLE ${sql.table(table)} (
        workspace_id text NOT NULL,
        trace_id text NOT NULL,
        key text NOT NULL,
        source text NOT NULL CHECK (source IN ('span', 'user')),
        value text,
        PRIMARY KEY (workspace_id, trace_id, key, source)
      )`.execute(db);
    await sql`CREATE INDEX ${sql.ref(`${table}_key_value`)} ON ${sql.table(table)} (workspace_id, key, value)`.execute(
      db,
    );
    await sql`
      CREATE VIEW ${sql.table(`${table}_effective`)} AS
      SELECT workspace_id, trace_id, key, value FROM (
        SELECT DISTINCT ON (workspace_id, trace_id, key) workspace_id, trace_id, key, value
        FROM ${sql.table(table)}
        ORDER BY workspace_id, trace_id, key, (source = 'user') DESC
      ) winners
      WHERE value IS NOT NULL`.execute(db);
  }

  await sql`
    CREATE TABLE model_prices (
      workspace_id text NOT NULL,
      price_id text NOT NULL,
      model_pattern text NOT NULL,
      provider text,
      input_per_million float8 NOT NULL,
      output_per_million float8 NOT NULL,
      cached_input_per_million float8,
      effective_from timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, price_id)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE model_prices`.execute(db);
  await sql`DROP VIEW trace_metadata_effective`.execute(db);
  await sql`DROP VIEW trace_tags_effective`.execute(db);
  await sql`DROP TABLE trace_metadata`.execute(db);
  await sql`DROP TABLE trace_tags`.execute(db);
  await sql`DROP TABLE traces`.execute(db);
  await sql`DROP TABLE trace_spans`.execute(db);
}
