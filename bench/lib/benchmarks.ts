import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { b6 } from './b6.ts';
import { bulkLoadCairnRuns } from './bulk-cairn.ts';
import type { Ctx } from './context.ts';
import {
  historyValue,
  ingestBatch,
  searchRun,
  SEARCH_FILTER,
  SEARCH_ORDER,
  type Point,
} from './data.ts';
import { closedLoop, mapConcurrent, paced, type LoadResult } from './load.ts';
import { fmtMs, fmtRate, median, summarize } from './stats.ts';

type System = 'cairn' | 'mlflow';

/** ABBA interleaving: which system goes first in repetition `rep` of cell `cell`. */
export function order(rep: number, cell: number): System[] {
  return (rep + cell) % 2 === 0 ? ['cairn', 'mlflow'] : ['mlflow', 'cairn'];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

/** Steps are unique per system across the whole run (MLflow's metric key includes the step). */
let nextSeq = 1;

function verdict(ok: boolean): string {
  return ok ? 'met' : 'missed';
}

async function createRuns(
  ctx: Ctx,
  n: number,
  label: string,
): Promise<{ cairn: string[]; mlflow: string[]; cairnExp: string; mlflowExp: string }> {
  const name = `${label}-${Date.now()}`;
  const cairnExp = await ctx.cairn.createExperiment(name);
  const mlflowExp = await ctx.mlflow.createExperiment(name);
  const cairn = await mapConcurrent(range(n), 16, () => ctx.cairn.createRun(cairnExp));
  const mlflow = await mapConcurrent(range(n), 16, () => ctx.mlflow.createRun(mlflowExp));
  return { cairn, mlflow, cairnExp, mlflowExp };
}

// ---------------------------------------------------------------------------------------------
// B1 metric ingest

interface B1Sample {
  acked: number;
  queryable: number;
  latencies: number[];
}

export const B1_CELLS_FULL: [number, number][] = [8, 32, 64].flatMap((c) =>
  [10, 100, 1000].map((b) => [c, b] as [number, number]),
);
export const B1_CELLS_QUICK: [number, number][] = [
  [16, 100],
  [16, 1000],
];

/** B1 over `cells` ([clients, batch]); returns Cairn's 1k run ids (B7 logs into them). */
export async function b1(ctx: Ctx, cells: [number, number][], mode = 'local'): Promise<string[]> {
  const { settings, cairn, mlflow } = ctx;
  const tag = mode === 'local' ? '' : `, ${mode}`;
  ctx.log(`B1: creating 1,000 active runs per system`);
  const runs = await createRuns(ctx, 1000, 'b1');
  const samples = new Map<string, { cairn: B1Sample[]; mlflow: B1Sample[] }>();
  for (let rep = 0; rep < settings.reps; rep++) {
    for (const [ci, [clients, batch]] of cells.entries()) {
      const key = `${clients}|${batch}`;
      if (!samples.has(key)) samples.set(key, { cairn: [], mlflow: [] });
      for (const system of order(rep, ci)) {
        const ids = runs[system];
        const op = async (client: number, it: number) => {
          const runId = ids[(client * 37 + it * 101) % ids.length]!;
          const points = ingestBatch(batch, nextSeq++, Date.now());
          if (system === 'cairn') await cairn.logBatch(runId, points);
          else await mlflow.logBatch(runId, points);
          return batch;
        };
        const r = await closedLoop({
          clients,
          warmupMs: settings.warmupS * 1000,
          durationMs: settings.windowS * 1000,
          op,
        });
        let queryable = r.items / r.seconds;
        if (system === 'cairn') {
          const t = await cairn.waitQueryable();
          queryable = r.totalItems / ((t - r.startedAt) / 1000);
        }
        const s: B1Sample = { acked: r.items / r.seconds, queryable, latencies: r.latencies };
        samples.get(key)![system].push(s);
        ctx.log(
          `  B1 ${system} ${clients} clients × ${batch}: ${fmtRate(s.acked, 'pts/s')} acked, ${fmtRate(s.queryable, 'pts/s')} queryable, p99 ${fmtMs(summarize(r.latencies).p99)}${r.errors ? `, ${r.errors} errors (${r.firstError})` : ''}`,
        );
        await sleep(500);
      }
    }
  }
  let peakC = 0;
  let peakCA = 0;
  let peakM = 0;
  let peakCell = '';
  for (const [key, s] of samples) {
    const [clients, batch] = key.split('|').map(Number) as [number, number];
    const cA = median(s.cairn.map((x) => x.acked));
    const cQ = median(s.cairn.map((x) => x.queryable));
    const mA = median(s.mlflow.map((x) => x.acked));
    const cL = summarize(s.cairn.flatMap((x) => x.latencies));
    const mL = summarize(s.mlflow.flatMap((x) => x.latencies));
    if (cQ > peakC) {
      peakC = cQ;
      peakCell = `${clients} clients × ${batch}`;
    }
    peakCA = Math.max(peakCA, cA);
    peakM = Math.max(peakM, mA);
    const workload = `${clients} clients × ${batch} pts/batch, 1k runs`;
    const p99ok = cL.p99 <= mL.p99;
    ctx.rows.push({
      bench: `B1 ingest (durable${tag})`,
      workload,
      cairn: `${fmtRate(cA, 'pts/s')} (p99 ${fmtMs(cL.p99)})`,
      mlflow: `${fmtRate(mA, 'pts/s')} (p99 ${fmtMs(mL.p99)})`,
      ratio: cA / mA,
      target: '≥ 10× at ≤ p99',
      verdict: verdict(cA / mA >= 10 && p99ok),
    });
    ctx.rows.push({
      bench: `B1 ingest (queryable${tag})`,
      workload,
      cairn: fmtRate(cQ, 'pts/s'),
      mlflow: `${fmtRate(mA, 'pts/s')} (sync)`,
      ratio: cQ / mA,
      target: '',
      verdict: '',
    });
    ctx.details.push(
      {
        bench: 'B1',
        workload,
        system: `cairn${tag}`,
        metric: 'acked pts/s',
        reps: s.cairn.length,
        median: fmtRate(cA, 'pts/s'),
        latency: cL,
      },
      {
        bench: 'B1',
        workload,
        system: `cairn${tag}`,
        metric: 'queryable pts/s',
        reps: s.cairn.length,
        median: fmtRate(cQ, 'pts/s'),
      },
      {
        bench: 'B1',
        workload,
        system: 'mlflow',
        metric: 'acked pts/s',
        reps: s.mlflow.length,
        median: fmtRate(mA, 'pts/s'),
        latency: mL,
      },
    );
  }
  ctx.cairnPeakQueryable = peakC;
  ctx.cairnPeakAcked = peakCA;
  ctx.mlflowPeak = peakM;
  ctx.rows.push({
    bench: `B1 peak queryable (${mode})`,
    workload: `best cell (${peakCell})`,
    cairn: fmtRate(peakC, 'pts/s'),
    mlflow: fmtRate(peakM, 'pts/s'),
    ratio: peakC / peakM,
    target: '≥ 100k pts/s queryable',
    verdict: verdict(peakC >= 100_000),
  });
  return runs.cairn;
}

// ---------------------------------------------------------------------------------------------
// B2 small calls

export async function b2(ctx: Ctx): Promise<void> {
  const { settings, cairn, mlflow } = ctx;
  const clients = 20;
  ctx.log('B2: creating 200 runs per system');
  const runs = await createRuns(ctx, 200, 'b2');
  const ops = ['createRun', 'logParam', 'logMetric'] as const;
  const results = new Map<string, { cairn: LoadResult[]; mlflow: LoadResult[] }>();
  const cairnBody = (op: (typeof ops)[number], runId: string, seq: number) => {
    if (op === 'createRun') {
      return JSON.stringify({
        query: 'mutation($e: String!) { createRun(experimentId: $e) { id } }',
        variables: { e: runs.cairnExp },
      });
    }
    if (op === 'logParam') {
      return JSON.stringify({
        query:
          'mutation($r: String!, $k: String!, $v: String!) { logParam(runId: $r, key: $k, value: $v) { id } }',
        variables: { r: runId, k: `p${seq}`, v: String(seq) },
      });
    }
    return JSON.stringify({
      query:
        'mutation($r: String!, $v: MetricValue!, $s: Long, $t: Timestamp) { logMetric(runId: $r, key: "loss", value: $v, step: $s, timestamp: $t) { id } }',
      variables: { r: runId, v: Math.random(), s: seq, t: Date.now() },
    });
  };
  const mlflowCall = (op: (typeof ops)[number], runId: string, seq: number): [string, unknown] => {
    if (op === 'createRun')
      return ['runs/create', { experiment_id: runs.mlflowExp, start_time: Date.now() }];
    if (op === 'logParam')
      return ['runs/log-parameter', { run_id: runId, key: `p${seq}`, value: String(seq) }];
    return [
      'runs/log-metric',
      { run_id: runId, key: 'loss', value: Math.random(), step: seq, timestamp: Date.now() },
    ];
  };
  for (let rep = 0; rep < settings.reps; rep++) {
    for (const [ci, op] of ops.entries()) {
      if (!results.has(op)) results.set(op, { cairn: [], mlflow: [] });
      for (const system of order(rep, ci)) {
        const ids = runs[system];
        const r = await closedLoop({
          clients,
          warmupMs: settings.warmupS * 1000,
          durationMs: settings.windowS * 1000,
          op: async (client, it) => {
            const runId = ids[(client + it * clients) % ids.length]!;
            const seq = nextSeq++;
            if (system === 'cairn') {
              await cairn.gqlRaw(cairnBody(op, runId, seq));
              if (op === 'logMetric') cairn.ackedPoints += 1;
            } else {
              const [endpoint, payload] = mlflowCall(op, runId, seq);
              await mlflow.api(endpoint, payload);
            }
            return 1;
          },
        });
        results.get(op)![system].push(r);
        ctx.log(
          `  B2 ${system} ${op}: ${fmtRate(r.ops / r.seconds, 'req/s')}, p99 ${fmtMs(summarize(r.latencies).p99)}`,
        );
        if (system === 'cairn') await cairn.waitQueryable();
        await sleep(300);
      }
    }
  }
  for (const [op, r] of results) {
    const cR = median(r.cairn.map((x) => x.ops / x.seconds));
    const mR = median(r.mlflow.map((x) => x.ops / x.seconds));
    const cL = summarize(r.cairn.flatMap((x) => x.latencies));
    const mL = summarize(r.mlflow.flatMap((x) => x.latencies));
    ctx.rows.push({
      bench: 'B2 small calls',
      workload: `${op}, 20 clients`,
      cairn: `${fmtRate(cR, 'req/s')} (p99 ${fmtMs(cL.p99)})`,
      mlflow: `${fmtRate(mR, 'req/s')} (p99 ${fmtMs(mL.p99)})`,
      ratio: cR / mR,
      target: '≥ 4× req/s, p99 ≤ ¼',
      verdict: verdict(cR / mR >= 4 && cL.p99 <= mL.p99 / 4),
    });
    ctx.details.push(
      {
        bench: 'B2',
        workload: op,
        system: 'cairn',
        metric: 'req/s',
        reps: r.cairn.length,
        median: fmtRate(cR, 'req/s'),
        latency: cL,
      },
      {
        bench: 'B2',
        workload: op,
        system: 'mlflow',
        metric: 'req/s',
        reps: r.mlflow.length,
        median: fmtRate(mR, 'req/s'),
        latency: mL,
      },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// B3 run search

const CAIRN_SEARCH = `query($e: [String!]!, $f: String, $o: [String!], $n: Int) {
  runs(experimentIds: $e, filter: $f, orderBy: $o, first: $n) {
    edges { node { id name status startTime endTime
      params { key value } tags { key value } latestMetrics { key value step timestamp } } }
  }
}`;
const CAIRN_SEARCH_NO_FILTER = `query($e: [String!]!, $n: Int) {
  runs(experimentIds: $e, first: $n) {
    edges { node { id name status startTime endTime
      params { key value } tags { key value } latestMetrics { key value step timestamp } } }
  }
}`;

async function loadSearchRuns(
  ctx: Ctx,
  n: number,
): Promise<{ cairnExp: string; mlflowExp: string }> {
  const name = `b3-${n}-${Date.now()}`;
  const t0 = Date.UTC(2026, 0, 1);
  const startTime = (i: number) => t0 + i * 1000;
  const cairnExp = await ctx.cairn.createExperiment(name);
  const mlflowExp = await ctx.mlflow.createExperiment(name);
  const tc = performance.now();
  const viaApi = n <= 10_000;
  if (viaApi) {
    await mapConcurrent(range(n), 24, async (i) => {
      const g = searchRun(i, startTime(i));
      const d = await ctx.cairn.gql<{ createRun: { id: string } }>(
        'mutation($e: String!, $n: String, $tags: [KeyValueInput!], $t: Timestamp) { createRun(experimentId: $e, name: $n, tags: $tags, startTime: $t) { id } }',
        { e: cairnExp, n: `run-${i}`, tags: g.tags, t: startTime(i) },
      );
      await ctx.cairn.logBatch(d.createRun.id, g.metrics, g.params, [], false);
    });
  } else {
    await bulkLoadCairnRuns(
      await ctx.cairn.localDatabaseUrl(),
      cairnExp,
      range(n),
      (i) => searchRun(i, startTime(i)),
      startTime,
    );
    ctx.cairn.ackedPoints += n * 5;
  }
  await ctx.cairn.waitQueryable();
  const cairnLoad = (performance.now() - tc) / 1000;
  const tm = performance.now();
  await ctx.mlflow.bulkLoadRuns(mlflowExp, range(n), (i) => searchRun(i, startTime(i)), startTime);
  const mlflowLoad = (performance.now() - tm) / 1000;
  const how = viaApi
    ? 'through its GraphQL API (24 concurrent clients, createRun + logBatch per run)'
    : "by appending the same events (RunStarted, RunParamsLogged, RunMetricsLogged) with the event store's own append, 250 runs per transaction, then projected by the running server";
  ctx.log(
    `  B3 loaded ${n} runs: Cairn ${cairnLoad.toFixed(1)} s (${fmtRate(n / cairnLoad, 'runs/s')}, until queryable), MLflow ${mlflowLoad.toFixed(1)} s (SQL bulk load)`,
  );
  ctx.notes.push(
    `B3 data load, ${n.toLocaleString('en')} runs (10 params, 5 tags, 5 metrics each): Cairn ${how}, in ${cairnLoad.toFixed(1)} s until queryable (${fmtRate(n / cairnLoad, 'runs/s')}); MLflow by SQL bulk copy of a REST-created template run in ${mlflowLoad.toFixed(1)} s. Loading is not what B3 measures.`,
  );
  return { cairnExp, mlflowExp };
}

export async function b3(ctx: Ctx, sizes: number[]): Promise<void> {
  const { cairn, mlflow, settings } = ctx;
  const args = await cairn.runsArgs();
  const hasFilter = args.includes('filter') && args.includes('orderBy');
  if (!hasFilter) {
    ctx.notes.push(
      'B3: this Cairn build has no `filter`/`orderBy` on `runs` yet: measured the filterless first page (default order) on both systems instead of the filtered, metric-ordered query.',
    );
  }
  for (const n of sizes) {
    ctx.log(`B3: loading ${n} runs per system`);
    const { cairnExp, mlflowExp } = await loadSearchRuns(ctx, n);
    await sql(await cairn.localDatabaseUrl(), 'ANALYZE');
    await mlflow.analyze();
    const lat = { cairn: [] as number[], mlflow: [] as number[] };
    const firstNames = { cairn: '', mlflow: '' };
    const counts = { cairn: 0, mlflow: 0 };
    const reps = settings.quick ? 10 : 30;
    const budgetMs = settings.quick ? 20_000 : 90_000;
    const started = performance.now();
    for (let rep = 0; rep < reps + 2; rep++) {
      for (const system of order(rep, 0)) {
        const t0 = performance.now();
        if (system === 'cairn') {
          const d = hasFilter
            ? await cairn.gql<{ runs: { edges: { node: { name: string } }[] } }>(CAIRN_SEARCH, {
                e: [cairnExp],
                f: SEARCH_FILTER,
                o: [SEARCH_ORDER],
                n: 100,
              })
            : await cairn.gql<{ runs: { edges: { node: { name: string } }[] } }>(
                CAIRN_SEARCH_NO_FILTER,
                { e: [cairnExp], n: 100 },
              );
          counts.cairn = d.runs.edges.length;
          firstNames.cairn = d.runs.edges[0]?.node.name ?? '';
        } else {
          const d = await mlflow.api<{ runs?: { info: { run_name: string } }[] }>('runs/search', {
            experiment_ids: [mlflowExp],
            ...(hasFilter ? { filter: SEARCH_FILTER, order_by: [SEARCH_ORDER] } : {}),
            max_results: 100,
          });
          counts.mlflow = d.runs?.length ?? 0;
          firstNames.mlflow = d.runs?.[0]?.info.run_name ?? '';
        }
        if (rep >= 2) lat[system].push(performance.now() - t0); // 2 warm-up rounds
      }
      if (rep >= 6 && performance.now() - started > budgetMs) break;
    }
    if (hasFilter && firstNames.cairn !== firstNames.mlflow) {
      ctx.notes.push(
        `B3 ${n}: first result differs: Cairn ${firstNames.cairn}, MLflow ${firstNames.mlflow}.`,
      );
    }
    const c = summarize(lat.cairn);
    const m = summarize(lat.mlflow);
    const workload = `${n.toLocaleString('en')} runs, ${hasFilter ? 'metric+param+tag filter, order by metric' : 'no filter (not available), default order'}, page of 100 (${counts.cairn}/${counts.mlflow} rows, top ${firstNames.cairn})`;
    const target = n >= 100_000 ? 'p95 < 200 ms' : '≥ 10× faster';
    const ok = n >= 100_000 ? c.p95 < 200 : m.p50 / c.p50 >= 10;
    ctx.rows.push({
      bench: 'B3 run search',
      workload,
      cairn: `p50 ${fmtMs(c.p50)}, p95 ${fmtMs(c.p95)}`,
      mlflow: `p50 ${fmtMs(m.p50)}, p95 ${fmtMs(m.p95)}`,
      ratio: m.p50 / c.p50,
      target,
      verdict: verdict(ok),
    });
    ctx.details.push(
      {
        bench: 'B3',
        workload: `${n} runs`,
        system: 'cairn',
        metric: 'latency',
        reps: c.n,
        median: fmtMs(c.p50),
        latency: c,
      },
      {
        bench: 'B3',
        workload: `${n} runs`,
        system: 'mlflow',
        metric: 'latency',
        reps: m.n,
        median: fmtMs(m.p50),
        latency: m,
      },
    );
    ctx.b3 ??= [];
    ctx.b3.push({ n, cairn: c, mlflow: m });
    // B6 reads the dashboard's way from the same experiments (no data of its own).
    ctx.log(`B6: dashboard reads on ${n} runs, 50 users`);
    await b6(ctx, n, cairnExp, mlflowExp);
  }
  const b = ctx.b3 ?? [];
  if (b.length >= 2) {
    const [a, z] = [b[0]!, b.at(-1)!];
    const growth = z.cairn.p50 / a.cairn.p50;
    const size = z.n / a.n;
    ctx.rows.push({
      bench: 'B3 growth',
      workload: `${a.n.toLocaleString('en')} → ${z.n.toLocaleString('en')} runs (${size}× data)`,
      cairn: `p50 × ${growth.toFixed(1)}`,
      mlflow: `p50 × ${(z.mlflow.p50 / a.mlflow.p50).toFixed(1)}`,
      ratio: z.mlflow.p50 / z.cairn.p50,
      target: 'sublinear',
      verdict: verdict(growth < size),
    });
  }
}

// ---------------------------------------------------------------------------------------------
// B4 metric history

export async function b4(ctx: Ctx, sizes: number[]): Promise<void> {
  const { cairn, mlflow, settings } = ctx;
  const name = `b4-${Date.now()}`;
  const cairnExp = await cairn.createExperiment(name);
  const mlflowExp = await mlflow.createExperiment(name);
  const t0 = Date.UTC(2026, 0, 1);
  for (const n of sizes) {
    ctx.log(`B4: loading a ${n}-point history per system`);
    const cairnRun = await cairn.createRun(cairnExp);
    const tc = performance.now();
    const chunk = 10_000;
    await mapConcurrent(range(Math.ceil(n / chunk)), 3, async (c) => {
      const pts: Point[] = [];
      for (let s = c * chunk; s < Math.min(n, (c + 1) * chunk); s++)
        pts.push({ key: 'loss', value: historyValue(s), step: s, timestamp: t0 + s });
      await cairn.logBatch(cairnRun, pts);
    });
    await cairn.waitQueryable();
    const cairnLoad = (performance.now() - tc) / 1000;
    const mlflowRun = await mlflow.createRun(mlflowExp);
    const tm = performance.now();
    await mlflow.bulkLoadHistory(mlflowRun, 'loss', n, historyValue, t0);
    const mlflowLoad = (performance.now() - tm) / 1000;
    ctx.log(
      `  loaded: Cairn ${cairnLoad.toFixed(1)} s (API, 10k-point logBatch calls, until queryable), MLflow ${mlflowLoad.toFixed(1)} s (SQL)`,
    );
    if (n >= 1_000_000) {
      ctx.notes.push(
        `B4 data load, ${n.toLocaleString('en')} points in one series: Cairn through logBatch (10,000 points per call, 3 concurrent, until queryable) in ${cairnLoad.toFixed(1)} s = ${fmtRate(n / cairnLoad, 'pts/s')}; MLflow by SQL in ${mlflowLoad.toFixed(1)} s.`,
      );
    }
    await sql(await cairn.localDatabaseUrl(), 'ANALYZE metric_point_chunks, metric_rollups');
    await mlflow.analyze();
    const lat = { cairn: [] as number[], mlflow: [] as number[] };
    const sizesOut = { cairn: 0, mlflow: 0 };
    let cairnLastOk = false;
    const reps = settings.quick ? 10 : 30;
    const started = performance.now();
    for (let rep = 0; rep < reps + 2; rep++) {
      for (const system of order(rep, 0)) {
        const ts = performance.now();
        if (system === 'cairn') {
          const d = await cairn.gql<{ run: { metricHistory: { step: number }[] } }>(
            'query($id: String!) { run(id: $id) { metricHistory(key: "loss", maxPoints: 1000) { step timestamp value } } }',
            { id: cairnRun },
          );
          sizesOut.cairn = d.run.metricHistory.length;
          cairnLastOk = d.run.metricHistory.at(-1)?.step === n - 1;
        } else {
          const d = await mlflow.get<{ metrics?: unknown[] }>(
            `/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids=${mlflowRun}&metric_key=loss&max_results=1000`,
          );
          sizesOut.mlflow = d.metrics?.length ?? 0;
        }
        if (rep >= 2) lat[system].push(performance.now() - ts);
      }
      if (rep >= 6 && performance.now() - started > (settings.quick ? 15_000 : 60_000)) break;
    }
    if (!cairnLastOk)
      ctx.notes.push(`B4 ${n}: Cairn's downsampled history does not end with the last point.`);
    const c = summarize(lat.cairn);
    const m = summarize(lat.mlflow);
    const target = n >= 1_000_000 ? '≥ 5×; p95 < 100 ms' : '≥ 5×';
    ctx.rows.push({
      bench: 'B4 metric history',
      workload: `${n.toLocaleString('en')} points → ≤ 1,000 (${sizesOut.cairn}/${sizesOut.mlflow} returned)`,
      cairn: `p50 ${fmtMs(c.p50)}, p95 ${fmtMs(c.p95)}`,
      mlflow: `p50 ${fmtMs(m.p50)}, p95 ${fmtMs(m.p95)}`,
      ratio: m.p50 / c.p50,
      target,
      verdict: verdict(m.p50 / c.p50 >= 5 && (n < 1_000_000 || c.p95 < 100)),
    });
    ctx.details.push(
      {
        bench: 'B4',
        workload: `${n} points, maxPoints 1000`,
        system: 'cairn',
        metric: 'latency',
        reps: c.n,
        median: fmtMs(c.p50),
        latency: c,
      },
      {
        bench: 'B4',
        workload: `${n} points, get-history-bulk-interval max_results=1000`,
        system: 'mlflow',
        metric: 'latency',
        reps: m.n,
        median: fmtMs(m.p50),
        latency: m,
      },
    );
    // MLflow's plain get-history (the whole series: what its REST API offers besides the UI's
    // sampling endpoint), for context.
    if (n <= 100_000 || !settings.quick) {
      const full: number[] = [];
      for (let i = 0; i < (n >= 1_000_000 ? 1 : 3); i++) {
        const ts = performance.now();
        await mlflow.get(`/api/2.0/mlflow/metrics/get-history?run_id=${mlflowRun}&metric_key=loss`);
        full.push(performance.now() - ts);
      }
      ctx.details.push({
        bench: 'B4',
        workload: `${n} points, full get-history`,
        system: 'mlflow',
        metric: 'latency',
        reps: full.length,
        median: fmtMs(median(full)),
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// B7 freshness and rebuild

export async function b7(ctx: Ctx, runIds: string[], mode = 'local'): Promise<void> {
  const { cairn, settings } = ctx;
  const peak = ctx.cairnPeakQueryable ?? 40_000;
  const rate = peak / 2;
  const batch = 100;
  const steps = 10; // ingestBatch(100): 10 keys × 10 steps; a batch is known by its first m0 step
  // Enough lanes that a lane's latency never exceeds its pacing interval (open loop).
  const clients = 32;
  const subscribed = runIds.slice(0, 50);
  const pending = new Map<string, { sent: number; acked: number }>();
  const ack: number[] = [];
  const send: number[] = [];
  const client = createClient({
    url: `ws://127.0.0.1:${cairn.base.port}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
  });
  const visibleAt = new Map<string, number>();
  const onPoints = (runId: string, points: { key: string; step: number }[]) => {
    const now = performance.now();
    for (const p of points) {
      if (p.step % steps !== 0) continue;
      const k = `${runId}|${p.step}`;
      const e = pending.get(k);
      if (e) {
        pending.delete(k);
        if (e.acked > 0) {
          ack.push(Math.max(0, now - e.acked));
          send.push(now - e.sent);
        } else visibleAt.set(k, now);
      }
    }
  };
  const unsubscribes: (() => void)[] = [];
  let ready = 0;
  for (const runId of subscribed) {
    unsubscribes.push(
      client.subscribe<{
        metricsLogged: { runId: string; points: { key: string; step: number }[] };
      }>(
        {
          query:
            'subscription($r: String!) { metricsLogged(runId: $r, keys: ["m0"]) { runId points { key step } } }',
          variables: { r: runId },
        },
        {
          next: (msg) => {
            if (msg.data) onPoints(msg.data.metricsLogged.runId, msg.data.metricsLogged.points);
          },
          error: (e) => ctx.log(`  B7 subscription error: ${JSON.stringify(e).slice(0, 200)}`),
          complete: () => undefined,
        },
      ),
    );
  }
  // Let the subscriptions register (graphql-ws subscribes lazily on the open socket).
  await new Promise<void>((resolve) => {
    const t = setInterval(() => {
      ready += 1;
      if (ready > 10) {
        clearInterval(t);
        resolve();
      }
    }, 100);
  });
  ctx.log(
    `B7: pacing ${fmtRate(rate, 'pts/s')} (half of Cairn's B1 peak queryable ${fmtRate(peak, 'pts/s')}), ${clients} clients × ${batch}-point batches into ${subscribed.length} subscribed runs`,
  );
  const durationMs = (settings.quick ? 6 : 20) * 1000;
  const p = await paced({
    clients,
    ratePerSecond: rate / batch,
    durationMs,
    op: async (c, i) => {
      const runId = subscribed[(c * 7 + i) % subscribed.length]!;
      const seq = nextSeq++;
      const k = `${runId}|${seq * steps}`;
      const entry = { sent: performance.now(), acked: 0 };
      pending.set(k, entry);
      await cairn.logBatch(runId, ingestBatch(batch, seq, Date.now()));
      entry.acked = performance.now();
      const early = visibleAt.get(k);
      if (early !== undefined) {
        visibleAt.delete(k);
        ack.push(0);
        send.push(early - entry.sent);
      }
    },
  });
  const deadline = performance.now() + 10_000;
  while (pending.size > 0 && performance.now() < deadline) await sleep(50);
  const missing = pending.size;
  for (const u of unsubscribes) u();
  await client.dispose();
  const a = summarize(ack);
  const s = summarize(send);
  ctx.rows.push({
    bench: `B7 freshness (${mode})`,
    workload: `${fmtRate((p.sent * batch) / (durationMs / 1000), 'pts/s')} (half B1 peak), ack → metricsLogged push`,
    cairn: `p50 ${fmtMs(a.p50)}, p99 ${fmtMs(a.p99)}`,
    mlflow: 'visible at ack (synchronous)',
    ratio: NaN,
    target: 'p50 < 100 ms, p99 < 1 s',
    verdict: verdict(a.p50 < 100 && a.p99 < 1000 && missing === 0),
  });
  ctx.details.push(
    {
      bench: 'B7',
      workload: 'ack → visible (subscription)',
      system: `cairn ${mode}`,
      metric: 'latency',
      reps: a.n,
      median: fmtMs(a.p50),
      latency: a,
      note: missing ? `${missing} batches never seen` : undefined,
    },
    {
      bench: 'B7',
      workload: 'send → visible (subscription)',
      system: `cairn ${mode}`,
      metric: 'latency',
      reps: s.n,
      median: fmtMs(s.p50),
      latency: s,
    },
  );
  if (p.late > 0)
    ctx.notes.push(
      `B7: the client fell behind its pace ${p.late} times (client or server saturated).`,
    );
  await cairn.waitQueryable();
}

export async function sql(url: string, text: string): Promise<unknown[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as unknown[];
  } finally {
    await client.end();
  }
}
