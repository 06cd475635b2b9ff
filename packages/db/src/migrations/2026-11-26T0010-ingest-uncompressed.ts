import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// The wide values of the metric ingest path are stored out of line without compression
// (docs/benchmarks.md, B1): events.data (about 40 KB of JSON per 1,000 points since
// RunMetricsLogged v2) and the step and timestamp arrays of metric_point_chunks (8 KB each per
// full chunk; its values were EXTERNAL from the start, in 2026-11-26T0008). pglz on every one of
// them was about a seventh of PostgreSQL's CPU at 100k points/s, and each reader (projector,
// subscriptions, history reads, rebuilds) decompressed them again; this build has no lz4. The
// price is disk: steps and timestamps of a chunk take their full 8 bytes a point. Values below
// the TOAST threshold (2 KB: nearly all events) were never compressed. Only new rows are stored
// this way; rows already written stay as they are, and both read the same.
const COLUMNS = [
  ['events', 'data'],
  ['metric_point_chunks', 'steps'],
  ['metric_point_chunks', 'timestamps'],
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  for (const [table, column] of COLUMNS)
    await sql`ALTER TABLE ${sql.table(table)} ALTER COLUMN ${sql.ref(column)} SET STORAGE EXTERNAL`.execute(
      db,
    );
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [table, column] of COLUMNS)
    await sql`ALTER TABLE ${sql.table(table)} ALTER COLUMN ${sql.ref(column)} SET STORAGE EXTENDED`.execute(
      db,
    );
}
