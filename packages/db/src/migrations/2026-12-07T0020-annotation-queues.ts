import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// Annotation queues for human review, the `annotation-queues` projection's read model
// (docs/evaluation.md, "Annotation queues"). Items are ordered by the stream position of the
// event that added them and their index in it, so a rebuild reproduces the order exactly.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE annotation_queues (
      workspace_id text NOT NULL,
      queue_id text NOT NULL,
      name text NOT NULL,
      description text,
      label_schema jsonb NOT NULL,
      item_count integer NOT NULL DEFAULT 0,
      pending_count integer NOT NULL DEFAULT 0,
      assigned_count integer NOT NULL DEFAULT 0,
      completed_count integer NOT NULL DEFAULT 0,
      skipped_count integer NOT NULL DEFAULT 0,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, queue_id)
    )`.execute(db);
  await sql`
    CREATE TABLE annotation_queue_items (
      workspace_id text NOT NULL,
      queue_id text NOT NULL,
      trace_id text NOT NULL,
      added_position integer NOT NULL,
      added_index integer NOT NULL,
      status text NOT NULL,
      assignee text,
      completed_by text,
      added_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, queue_id, trace_id)
    )`.execute(db);
  await sql`CREATE INDEX annotation_queue_items_order ON annotation_queue_items (workspace_id, queue_id, added_position, added_index)`.execute(
    db,
  );
  await sql`CREATE INDEX annotation_queue_items_status ON annotation_queue_items (workspace_id, queue_id, status, added_position, added_index)`.execute(
    db,
  );
  await sql`CREATE INDEX annotation_queue_items_trace ON annotation_queue_items (workspace_id, trace_id)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS annotation_queue_items`.execute(db);
  await sql`DROP TABLE IF EXISTS annotation_queues`.execute(db);
}
