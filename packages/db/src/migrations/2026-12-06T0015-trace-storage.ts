import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
// The wide JSONB values of the traces projection are stored out of line without compression
// (docs/benchmarks.md, B5), as events.data is since 2026-11-26T0010: span attributes (1–10 KB,
// inputs and outputs included), the normalised inputs and outputs (a second copy of most of
// them), events, and a trace's root inputs and outputs. pglz on these was about 40 % of the
// time of the trace_spans upsert at 5 KB attributes (1.6k → 2.2k spans/s projected in
// bench/trace-profile.ts), and every trace read decompressed them again; this build has no lz4.
// The price is disk. Values below the TOAST threshold (2 KB) were never compressed. Only new
// rows are stored this way; rows already written stay as they are, and both read the same.
const COLUMNS = [
  ['trace_spans', 'attributes'],
  ['trace_spans', 'inputs'],
  ['trace_spans', 'outputs'],
  ['trace_spans', 'events'],
  ['traces', 'inputs'],
  ['traces', 'outputs'],
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
