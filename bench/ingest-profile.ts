/**
 * Where the time of one big `logBatch` goes in local mode, phase by phase, without HTTP or
 * GraphQL in the way: the run decider, the event's JSON size, the append (its own transaction and
 * fsync), the projector reading the event back, and the runs projection's transaction, split per
 * SQL statement. A scratch embedded PostgreSQL (the benchmark settings) in a temp directory.
 *
 *   npx tsx bench/ingest-profile.ts [--batches 40] [--points 10000] [--keys 10] [--runs 4]
 *
 * Prints medians per phase and the statements of the projector transaction by total time. For an
 * A/B under the same machine load, each batch's points are also inserted the way the projection
 * did before migration 0008 (one row per point through unnest, into a copy of the old table with
 * its index), timed apart ("legacy").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Kysely, PostgresDialect, sql } from 'kysely';
import {
  appendToStream,
  createPool,
  LOG_START,
  migrateToLatest,
  readAllAfter,
  type DB,
  type LogPosition,
} from '@cairn/db';
import { startEmbeddedPostgres } from '@cairn/embedded-pg';
import { newEntityId, runStreamId } from '@cairn/events';
import { applyBatch, runsProjection } from '@cairn/projector';
import { aMetadata, aRunStarted } from '@cairn/testing';
import { runDecider, type RunState } from '../apps/api/src/runs/run.decider.ts';

const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '40' },
    points: { type: 'string', default: '10000' },
    keys: { type: 'string', default: '10' },
    runs: { type: 'string', default: '4' },
    /** Project after every N appended batches (the live tailer reads up to 500 events at once). */
    'apply-every': { type: 'string', default: '1' },
    /** Storage of events.data to try: pglz (PostgreSQL's default), lz4, external (uncompressed). */
    'events-storage': { type: 'string' },
  },
});
const batches = Number(args.batches);
const pointsPerBatch = Number(args.points);
const keys = Number(args.keys);
const runCount = Number(args.runs);
const applyEvery = Number(args['apply-every']);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** Statement kind: the first words of its SQL, literals and parameters left out. */
function kind(sqlText: string): string {
  const s = sqlText.replace(/\s+/g, ' ').trim();
  const m = /^(insert into \S+|update \S+|delete from \S+|select .{0,60}? from \S+|\S+ \S+)/i.exec(
    s,
  );
  return (m?.[1] ?? s.slice(0, 40)).replace(/"/g, '');
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'cairn-ingest-profile-'));
  const pg = await startEmbeddedPostgres({ dataDir: path.join(work, 'pg') });
  const statements = new Map<string, { n: number; ms: number }>();
  let recording = false;
  const pool = createPool(pg.connectionString(), { maxConnections: 4 });
  const db = new Kysely<DB>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (!recording || event.level !== 'query') return;
      const k = kind(event.query.sql);
      const s = statements.get(k) ?? { n: 0, ms: 0 };
      s.n += 1;
      s.ms += event.queryDurationMillis;
      statements.set(k, s);
    },
  });
  try {
    await migrateToLatest(db);
    const storage = args['events-storage'];
    if (storage === 'external') {
      await sql`ALTER TABLE events ALTER COLUMN data SET STORAGE EXTERNAL`.execute(db);
    } else if (storage === 'lz4' || storage === 'pglz') {
      await sql`ALTER TABLE events ALTER COLUMN data SET COMPRESSION ${sql.raw(storage)}`.execute(
        db,
      );
    }
    await sql`
      CREATE TABLE legacy_metric_points (workspace_id text NOT NULL, run_id text NOT NULL,
        key_id integer NOT NULL, step bigint NOT NULL, timestamp bigint NOT NULL,
        value double precision NOT NULL)`.execute(db);
    await sql`CREATE INDEX legacy_metric_points_series ON legacy_metric_points (workspace_id, run_id, key_id, step)`.execute(
      db,
    );
    const ws = 'default';
    const ctx = { now: () => new Date(), newId: () => crypto.randomUUID() };
    const runs: { id: string; state: RunState }[] = [];
    for (let r = 0; r < runCount; r++) {
      const id = newEntityId();
      const started = aRunStarted({ runId: id });
      await appendToStream(db, {
        workspaceId: ws,
        streamId: runStreamId(id),
        streamType: 'run',
        expectedVersion: 'no_stream',
        events: [started],
        metadata: aMetadata(),
      });
      let state = runDecider.initialState();
      state = runDecider.evolve(state, { ...started, type: 'RunStarted' } as never);
      runs.push({ id, state });
    }
    let checkpoint: LogPosition = LOG_START;
    const first = await readAllAfter(db, checkpoint, 1000);
    await applyBatch(db, runsProjection, first);
    checkpoint = {
      transactionId: first.at(-1)!.transactionId,
      globalPosition: first.at(-1)!.globalPosition,
    };

    const phase = { decide: [], json: [], append: [], read: [], project: [], legacy: [] } as Record<
      string,
      number[]
    >;
    let bytes = 0;
    let applies = 0;
    let pending: { key: string; step: number; timestamp: number; value: number; runId: string }[] =
      [];
    for (let b = 0; b < batches; b++) {
      const run = runs[b % runs.length]!;
      const base = Math.floor(b / runs.length) * Math.ceil(pointsPerBatch / keys);
      const metrics = Array.from({ length: pointsPerBatch }, (_, i) => ({
        key: `m${i % keys}`,
        value: Math.sin(i) * 100,
        step: base + Math.floor(i / keys),
        timestamp: Date.now(),
      }));
      let t = performance.now();
      const events = runDecider.decide(
        { type: 'LogRunBatch', metrics, params: [], tags: [] },
        run.state,
        ctx,
      );
      phase['decide']!.push(performance.now() - t);
      t = performance.now();
      bytes = events.reduce((sum, e) => sum + JSON.stringify(e.data).length, 0);
      phase['json']!.push(performance.now() - t);
      t = performance.now();
      await appendToStream(db, {
        workspaceId: ws,
        streamId: runStreamId(run.id),
        streamType: 'run',
        expectedVersion: 'any',
        events,
        metadata: aMetadata(),
      });
      phase['append']!.push(performance.now() - t);
      pending.push(...metrics.map((m) => ({ ...m, runId: run.id })));
      if ((b + 1) % applyEvery !== 0) continue;
      t = performance.now();
      const stored = await readAllAfter(db, checkpoint, 500);
      phase['read']!.push(performance.now() - t);
      const last = stored.at(-1)!;
      checkpoint = { transactionId: last.transactionId, globalPosition: last.globalPosition };
      recording = b >= 2 * applyEvery; // the first applies warm caches up
      applies += recording ? 1 : 0;
      t = performance.now();
      await applyBatch(db, runsProjection, stored, { checkpoint });
      phase['project']!.push(performance.now() - t);
      recording = false;
      t = performance.now();
      await db.transaction().execute(async (trx) => {
        await sql`
          INSERT INTO legacy_metric_points (workspace_id, run_id, key_id, step, timestamp, value)
          SELECT * FROM unnest(${pending.map(() => ws)}::text[], ${pending.map((m) => m.runId)}::text[],
                               ${pending.map((m) => Number(m.key.slice(1)))}::int[], ${pending.map((m) => m.step)}::int8[],
                               ${pending.map((m) => m.timestamp)}::int8[], ${pending.map((m) => String(m.value))}::float8[])`.execute(
          trx,
        );
      });
      phase['legacy']!.push(performance.now() - t);
      pending = [];
    }
    console.log(
      `${batches} batches × ${pointsPerBatch.toLocaleString('en')} points (${keys} keys, ${runCount} runs); events.data storage ${storage ?? 'as migrated'}; event data ${(bytes / 1024).toFixed(0)} KiB JSON; load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' / ')}`,
    );
    console.log(
      '\nphase (median per batch; legacy = the pre-0008 point insert alone, for comparison)',
    );
    const perApply = new Set(['read', 'project', 'legacy']);
    const points = (name: string) => pointsPerBatch * (perApply.has(name) ? applyEvery : 1);
    for (const [name, xs] of Object.entries(phase)) {
      const m = median(xs);
      console.log(
        `  ${name.padEnd(28)} ${ms(m).padStart(9)}  ${(points(name) / (m / 1000)).toFixed(0).padStart(10)}`,
      );
    }
    // Per batch of pointsPerBatch points.
    const total = Object.entries(phase)
      .filter(([name]) => name !== 'legacy')
      .reduce((s, [name, xs]) => s + (median(xs) * pointsPerBatch) / points(name), 0);
    console.log(
      `  ${'total'.padEnd(28)} ${ms(total).padStart(9)}  ${(pointsPerBatch / (total / 1000)).toFixed(0).padStart(10)}`,
    );
    const recorded = applies;
    console.log(
      `\nprojector transaction (${applyEvery} batches), mean over ${recorded} transactions, by statement:`,
    );
    for (const [k, s] of [...statements].sort((a, b) => b[1].ms - a[1].ms)) {
      console.log(
        `  ${ms(s.ms / recorded).padStart(9)}  ${String(s.n / recorded).padStart(4)}×  ${k}`,
      );
    }
  } finally {
    await db.destroy();
    await pg.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
