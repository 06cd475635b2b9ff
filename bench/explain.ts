/**
 * Where the time goes in Cairn's B3 search and B4 history queries: runs the API's own query
 * functions against a kept benchmark database, captures the SQL and parameters they send, and
 * prints EXPLAIN (ANALYZE, BUFFERS) for each.
 *
 *   npm run bench -- --only b3,b4 --keep          # leaves /tmp/cairn-bench-XXXX
 *   npx tsx bench/explain.ts /tmp/cairn-bench-XXXX [--mlflow]
 *
 * The Cairn server of that directory must be stopped (the harness stops it at the end).
 * --mlflow also explains MLflow's equivalent statements (captured with log_min_duration_statement).
 */
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { startEmbeddedPostgres } from '@cairn/embedded-pg';
import type { DB } from '@cairn/db';
import { getMetricHistory, listRuns } from '../apps/api/src/runs/runs.queries.ts';
import { parseRunFilter, parseRunOrderBy } from '../apps/api/src/runs/search/run-search.parser.ts';
import { SEARCH_FILTER, SEARCH_ORDER } from './lib/data.ts';

const work = process.argv[2];
if (!work) {
  console.error('usage: tsx bench/explain.ts <kept bench work dir>');
  process.exit(2);
}

const server = await startEmbeddedPostgres({ dataDir: path.join(work, 'cairn-home', 'postgres') });
const url = server.connectionString('cairn');
const captured: { sql: string; parameters: readonly unknown[] }[] = [];
const pool = new pg.Pool({ connectionString: url, max: 4 });
const db = new Kysely<DB>({
  dialect: new PostgresDialect({ pool }),
  log: (e) => {
    if (e.level === 'query') captured.push({ sql: e.query.sql, parameters: e.query.parameters });
  },
});

async function explain(label: string, run: () => Promise<unknown>): Promise<void> {
  captured.length = 0;
  const t0 = performance.now();
  await run();
  const ms = performance.now() - t0;
  console.log(`\n=== ${label}: ${ms.toFixed(1)} ms end to end, ${captured.length} statement(s)`);
  for (const q of [...captured]) {
    const res = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${q.sql}`, [
      ...q.parameters,
    ]);
    console.log(`--- ${q.sql.replace(/\s+/g, ' ').slice(0, 240)}`);
    for (const row of res.rows) console.log(row['QUERY PLAN']);
  }
}

try {
  const ws = 'default';
  const exps = await pool.query<{ experiment_id: string; name: string; n: string }>(
    `SELECT e.experiment_id, e.name, count(r.run_id) AS n FROM experiments e JOIN runs r USING (workspace_id, experiment_id)
     WHERE e.name LIKE 'b3-%' GROUP BY 1, 2 ORDER BY 3 DESC`,
  );
  for (const e of exps.rows) {
    await explain(`B3 search, ${e.n} runs (${e.name})`, () =>
      listRuns(db, ws, {
        experimentIds: [e.experiment_id],
        lifecycleStage: 'active',
        filter: parseRunFilter(SEARCH_FILTER),
        orderBy: parseRunOrderBy([SEARCH_ORDER]),
        first: 100,
        after: null,
      }),
    );
  }
  const series = await pool.query<{ run_id: string; n: string }>(
    `SELECT run_id, count(*) AS n FROM metric_points p JOIN metric_keys k USING (workspace_id, key_id)
     WHERE k.key = 'loss' GROUP BY run_id HAVING count(*) >= 1000 ORDER BY 2 DESC`,
  );
  for (const s of series.rows) {
    await explain(`B4 history, ${s.n} points`, () =>
      getMetricHistory(db, ws, {
        runId: s.run_id,
        key: 'loss',
        maxPoints: 1000,
        startStep: null,
        endStep: null,
      }),
    );
  }
} finally {
  await db.destroy();
  await server.stop();
}
