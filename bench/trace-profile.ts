/**
 * Where the time of span ingest and the `traces` projection goes in local mode, without HTTP:
 * B5's OTLP protobuf bodies decoded, cleaned and packed as `POST /v1/traces` does, appended (one
 * transaction each), then projected in batches as the live tailer would, split per SQL
 * statement. A scratch embedded PostgreSQL in a temp directory.
 *
 *   npx tsx bench/trace-profile.ts [--traces 60] [--spans 100] [--kb 5] [--apply-every 10]
 *   node --cpu-prof --import tsx bench/trace-profile.ts …   (a CPU profile of the same run)
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
import { currentSchemas, spanBatchStreamId } from '@cairn/events';
import { applyBatch, tracesProjection } from '@cairn/projector';
import { aMetadata } from '@cairn/testing';
import { packSpanBatches } from '../apps/api/src/tracing/ingest.ts';
import { maskRules } from '../apps/api/src/tracing/masking.ts';
import { decodeTraceRequestProtobuf } from '../apps/api/src/tracing/otlp/protobuf-decode.ts';
import { cleanRequest } from '../apps/api/src/tracing/span-hygiene.ts';
import { TraceTemplate } from './lib/otlp.ts';

const { values: args } = parseArgs({
  options: {
    traces: { type: 'string', default: '60' },
    spans: { type: 'string', default: '100' },
    kb: { type: 'string', default: '5' },
    'apply-every': { type: 'string', default: '10' },
    /** SQL run after the migrations (an A/B of a storage or index change). */
    sql: { type: 'string', multiple: true, default: [] },
  },
});
const traces = Number(args.traces);
const spans = Number(args.spans);
const applyEvery = Number(args['apply-every']);

const ms = (x: number) => `${x.toFixed(1)} ms`;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function kind(sqlText: string): string {
  const s = sqlText.replace(/\s+/g, ' ').trim();
  const m =
    /^(with .{0,40}|insert into \S+|update \S+|delete from \S+|select .{0,50}? from \S+|\S+ \S+)/i.exec(
      s,
    );
  return (m?.[1] ?? s.slice(0, 40)).replace(/"/g, '');
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'cairn-trace-profile-'));
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
    for (const statement of args.sql) await sql.raw(statement).execute(db);
    const template = new TraceTemplate({ spans, attrBytes: Number(args.kb) * 1024 }, -1);
    const rules = maskRules();
    const phase = { decode: [] as number[], append: [] as number[], project: [] as number[] };
    let checkpoint: LogPosition = LOG_START;
    const project = async () => {
      const events = await readAllAfter(db, checkpoint, 500);
      if (events.length === 0) return;
      recording = true;
      const t0 = performance.now();
      await applyBatch(db, tracesProjection, events);
      phase.project.push(performance.now() - t0);
      recording = false;
      const last = events.at(-1)!;
      checkpoint = { transactionId: last.transactionId, globalPosition: last.globalPosition };
    };
    for (let t = 0; t < traces; t++) {
      const t0 = performance.now();
      const decoded = decodeTraceRequestProtobuf(template.next().body, { maxSpans: 10_000 });
      const clean = cleanRequest(decoded, { rules });
      const batchId = crypto.randomUUID().replaceAll('-', '');
      const events = packSpanBatches(batchId, clean).map((data) => ({
        id: crypto.randomUUID(),
        type: 'SpansIngested' as const,
        schemaVersion: currentSchemas.SpansIngested.version,
        occurredAt: new Date().toISOString(),
        data,
      }));
      const t1 = performance.now();
      await appendToStream(db, {
        workspaceId: 'default',
        streamId: spanBatchStreamId(batchId),
        streamType: 'span-batch',
        expectedVersion: 'no_stream',
        events,
        metadata: aMetadata(),
      });
      phase.decode.push(t1 - t0);
      phase.append.push(performance.now() - t1);
      if ((t + 1) % applyEvery === 0) await project();
    }
    await project();
    const total = traces * spans;
    const { rows } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM trace_spans`.execute(
      db,
    );
    console.log(
      `${total} spans (${traces} traces × ${spans}, ${args.kb} KB), ${rows[0]!.n} projected`,
    );
    for (const [name, xs] of Object.entries(phase))
      console.log(
        `${name.padEnd(8)} total ${ms(sum(xs))}  → ${Math.round(total / (sum(xs) / 1000))} spans/s`,
      );
    console.log('projector statements by total time:');
    for (const [k, s] of [...statements].sort((a, b) => b[1].ms - a[1].ms))
      console.log(`  ${ms(s.ms).padStart(10)}  ×${s.n}  ${k}`);
  } finally {
    await db.destroy();
    await pg.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
