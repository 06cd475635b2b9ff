import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has been released; add a new one.
//
// The metric rollup pyramid that serves downsampled histories (packages/db/src/metric-rollups.ts,
// kept by the runs projection in the transaction that inserts the points). Level k holds one row
// per non-empty bucket of 4^k steps of a series, for k = 2 … 13 (16 … 2^26 steps), with the
// bucket's count and its first, last, minimum and maximum points.
//
// Existing points are rolled up here, so a database that already holds data serves the new
// history query at once (a rebuild of the runs projection produces the same rows).
//
// Points move from one row per point (`metric_points`, whose insert and index dominated ingest)
// to chunks: one row per series and up to 1,024 points of one projector batch, sorted by step,
// with the chunk's step range for pruning. `metric_points` stays as a view (one row per point)
// for ad-hoc SQL and read-model comparisons; the API reads the chunks directly.
const LEVELS = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE metric_rollups (
      workspace_id text NOT NULL,
      run_id text NOT NULL,
      key_id integer NOT NULL,
      level smallint NOT NULL,
      bucket bigint NOT NULL,
      count bigint NOT NULL,
      first_step bigint NOT NULL,
      first_timestamp bigint NOT NULL,
      first_value double precision NOT NULL,
      last_step bigint NOT NULL,
      last_timestamp bigint NOT NULL,
      last_value double precision NOT NULL,
      min_step bigint NOT NULL,
      min_timestamp bigint NOT NULL,
      min_value double precision NOT NULL,
      max_step bigint NOT NULL,
      max_timestamp bigint NOT NULL,
      max_value double precision NOT NULL,
      PRIMARY KEY (workspace_id, run_id, key_id, level, bucket)
    ) WITH (fillfactor = 75)`.execute(db); // room on the page for HOT updates of open buckets

  await sql`
    CREATE TABLE metric_point_chunks (
      workspace_id text NOT NULL,
      run_id text NOT NULL,
      key_id integer NOT NULL,
      min_step bigint NOT NULL,
      max_step bigint NOT NULL,
      steps bigint[] NOT NULL,
      timestamps bigint[] NOT NULL,
      vals double precision[] NOT NULL
    )`.execute(db);
  // Doubles hardly compress: store them out of line uncompressed instead of trying pglz.
  await sql`ALTER TABLE metric_point_chunks ALTER COLUMN vals SET STORAGE EXTERNAL`.execute(db);
  await sql`
    CREATE INDEX metric_point_chunks_series
    ON metric_point_chunks (workspace_id, run_id, key_id, min_step) INCLUDE (max_step)`.execute(db);
  await sql`
    INSERT INTO metric_point_chunks
    SELECT workspace_id, run_id, key_id, min(step), max(step),
           array_agg(step ORDER BY step, timestamp, value),
           array_agg(timestamp ORDER BY step, timestamp, value),
           array_agg(value ORDER BY step, timestamp, value)
    FROM metric_points
    GROUP BY workspace_id, run_id, key_id, step >> 10`.execute(db);

  // Backfill. Steps and timestamps are safe integers (the API enforces it), so float8 arrays hold
  // them exactly, and array comparison orders them lexicographically with float8's order (NaN
  // above everything): min/max over such arrays pick the first, last, minimum and maximum points
  // with the same ties as the projector (the maximum prefers the earliest step: steps negated).
  const columns = sql`(workspace_id, run_id, key_id, level, bucket, count,
      first_step, first_timestamp, first_value, last_step, last_timestamp, last_value,
      min_step, min_timestamp, min_value, max_step, max_timestamp, max_value)`;
  const finest = LEVELS[0]!;
  await sql`
    INSERT INTO metric_rollups ${columns}
    SELECT workspace_id, run_id, key_id, ${sql.lit(finest)}::int2, bucket, n,
           f[1]::int8, f[2]::int8, f[3], l[1]::int8, l[2]::int8, l[3],
           lo[2]::int8, lo[3]::int8, lo[1], (-hi[2])::int8, (-hi[3])::int8, hi[1]
    FROM (
      SELECT workspace_id, run_id, key_id, step >> ${sql.lit(2 * finest)} AS bucket, count(*) AS n,
             min(ARRAY[step::float8, timestamp::float8, value]) AS f,
             max(ARRAY[step::float8, timestamp::float8, value]) AS l,
             min(ARRAY[value, step::float8, timestamp::float8]) AS lo,
             max(ARRAY[value, -step::float8, -timestamp::float8]) AS hi
      FROM metric_points
      GROUP BY workspace_id, run_id, key_id, step >> ${sql.lit(2 * finest)}
    ) g`.execute(db);
  for (const [i, level] of LEVELS.entries()) {
    if (i === 0) continue;
    const below = LEVELS[i - 1]!;
    const shift = sql.lit(2 * (level - below));
    await sql`
      INSERT INTO metric_rollups ${columns}
      SELECT workspace_id, run_id, key_id, ${sql.lit(level)}::int2, bucket, n,
             f[1]::int8, f[2]::int8, f[3], l[1]::int8, l[2]::int8, l[3],
             lo[2]::int8, lo[3]::int8, lo[1], (-hi[2])::int8, (-hi[3])::int8, hi[1]
      FROM (
        SELECT workspace_id, run_id, key_id, bucket >> ${shift} AS bucket, sum(count)::int8 AS n,
               min(ARRAY[first_step::float8, first_timestamp::float8, first_value]) AS f,
               max(ARRAY[last_step::float8, last_timestamp::float8, last_value]) AS l,
               min(ARRAY[min_value, min_step::float8, min_timestamp::float8]) AS lo,
               max(ARRAY[max_value, -max_step::float8, -max_timestamp::float8]) AS hi
        FROM metric_rollups
        WHERE level = ${sql.lit(below)}
        GROUP BY workspace_id, run_id, key_id, bucket >> ${shift}
      ) g`.execute(db);
  }

  // Levels are lazy: a series keeps level k only while its steps span two level-k buckets or more
  // (a single bucket would summarise the whole series). metric_series holds the span.
  await sql`
    CREATE TABLE metric_series (
      workspace_id text NOT NULL,
      run_id text NOT NULL,
      key_id integer NOT NULL,
      min_step bigint NOT NULL,
      max_step bigint NOT NULL,
      count bigint NOT NULL,
      PRIMARY KEY (workspace_id, run_id, key_id)
    )`.execute(db);
  await sql`
    INSERT INTO metric_series
    SELECT workspace_id, run_id, key_id, min(step), max(step), count(*)
    FROM metric_points GROUP BY workspace_id, run_id, key_id`.execute(db);
  await sql`
    DELETE FROM metric_rollups r USING metric_series s
    WHERE r.workspace_id = s.workspace_id AND r.run_id = s.run_id AND r.key_id = s.key_id
      AND (s.min_step >> (2 * r.level)) = (s.max_step >> (2 * r.level))`.execute(db);

  await sql`DROP TABLE metric_points`.execute(db);
  await sql`
    CREATE VIEW metric_points AS
    SELECT c.workspace_id, c.run_id, c.key_id, p.step, p.timestamp, p.value
    FROM metric_point_chunks c
    CROSS JOIN LATERAL unnest(c.steps, c.timestamps, c.vals) AS p(step, timestamp, value)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER VIEW metric_points RENAME TO metric_points_view`.execute(db);
  await sql`CREATE TABLE metric_points AS SELECT * FROM metric_points_view`.execute(db);
  for (const column of ['workspace_id', 'run_id', 'key_id', 'step', 'timestamp', 'value']) {
    await sql`ALTER TABLE metric_points ALTER COLUMN ${sql.id(column)} SET NOT NULL`.execute(db);
  }
  await sql`CREATE INDEX metric_points_series ON metric_points (workspace_id, run_id, key_id, step)`.execute(
    db,
  );
  await sql`DROP VIEW metric_points_view`.execute(db);
  await db.schema.dropTable('metric_point_chunks').execute();
  await db.schema.dropTable('metric_series').execute();
  await db.schema.dropTable('metric_rollups').execute();
}
