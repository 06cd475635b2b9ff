/**
 * B6 dashboard reads (issue 19): what the experiment page and the run page ask of the server,
 * with many people looking at once. Each simulated user, back to back: the runs table's first
 * page (the dashboard's own `RUNS_QUERY`, 200 runs with their params, tags and latest metrics —
 * the 20 metric/param columns of B3's runs — sorted by a metric column), then the detail of one
 * run of that page (the run page's `RUN_QUERY`). Target: p95 < 300 ms for each, at every size.
 * MLflow's UI makes the equivalent calls (`runs/search` with `max_results` 200 ordered by the
 * metric, `runs/get`); its figures are context, the target is Cairn's own.
 *
 * Runs on the experiments B3 loaded (10k and 100k runs in the full run, more than the issue's
 * 75k), so it needs no data of its own.
 */
import type { Ctx } from './context.ts';
import { closedLoop } from './load.ts';
import { fmtMs, summarize, type LatencySummary } from './stats.ts';
import { RUNS_QUERY, RUN_QUERY } from '../../apps/web/lib/graphql/documents.ts';

const USERS = 50;
const PAGE = 200;
const ORDER = 'metrics.accuracy DESC';

interface Samples {
  table: number[];
  detail: number[];
}

export async function b6(ctx: Ctx, n: number, cairnExp: string, mlflowExp: string): Promise<void> {
  const { cairn, mlflow, settings } = ctx;
  const windowMs = (settings.quick ? 4 : 8) * 1000;
  const warmupMs = 1000;
  const samples: Record<'cairn' | 'mlflow', Samples> = {
    cairn: { table: [], detail: [] },
    mlflow: { table: [], detail: [] },
  };
  const errors: Record<'cairn' | 'mlflow', string | null> = { cairn: null, mlflow: null };
  const systems = ['cairn', 'mlflow'] as const;
  for (let rep = 0; rep < settings.reps; rep++) {
    for (const system of rep % 2 === 0 ? systems : [...systems].reverse()) {
      const started = performance.now();
      const inWindow = (t: number) => t >= started + warmupMs && t <= started + warmupMs + windowMs;
      const r = await closedLoop({
        clients: USERS,
        warmupMs,
        durationMs: windowMs,
        op: async (user, it) => {
          // Users page at different offsets of the sorted table: not one cached answer.
          const t0 = performance.now();
          let ids: string[];
          if (system === 'cairn') {
            const d = await cairn.gql<{ runs: { edges: { node: { id: string } }[] } }>(RUNS_QUERY, {
              experimentIds: [cairnExp],
              filter: it % 2 === 0 ? null : `metrics.loss < ${((user % 9) + 1) / 10}`,
              orderBy: [ORDER],
              first: PAGE,
              after: null,
            });
            ids = d.runs.edges.map((e) => e.node.id);
          } else {
            const d = await mlflow.api<{ runs?: { info: { run_id: string } }[] }>('runs/search', {
              experiment_ids: [mlflowExp],
              ...(it % 2 === 0 ? {} : { filter: `metrics.loss < ${((user % 9) + 1) / 10}` }),
              order_by: [ORDER],
              max_results: PAGE,
            });
            ids = (d.runs ?? []).map((x) => x.info.run_id);
          }
          const t1 = performance.now();
          const id = ids[(user * 7 + it) % Math.max(1, ids.length)];
          if (!id) throw new Error(`B6 ${system}: the runs page came back empty`);
          if (system === 'cairn') await cairn.gql(RUN_QUERY, { id });
          else await mlflow.get(`/api/2.0/mlflow/runs/get?run_id=${encodeURIComponent(id)}`);
          const t2 = performance.now();
          if (inWindow(t1)) samples[system].table.push(t1 - t0);
          if (inWindow(t2)) samples[system].detail.push(t2 - t1);
          return 1;
        },
      });
      if (r.errors > 0) errors[system] ??= `${r.errors} errors, first: ${r.firstError}`;
      ctx.log(
        `  B6 ${system} ${n} runs rep ${rep + 1}: ${r.ops} page+detail views in ${r.seconds.toFixed(0)} s`,
      );
    }
  }
  const sum = (s: Samples) => ({ table: summarize(s.table), detail: summarize(s.detail) });
  const c = sum(samples.cairn);
  const m = sum(samples.mlflow);
  const cell = (l: LatencySummary) => `p50 ${fmtMs(l.p50)}, p95 ${fmtMs(l.p95)}`;
  for (const [what, label] of [
    ['table', `runs table page (${PAGE} runs, 20 param/metric columns, sorted)`],
    ['detail', 'run detail'],
  ] as const) {
    ctx.rows.push({
      bench: 'B6 dashboard reads',
      workload: `${n.toLocaleString('en')} runs, ${USERS} concurrent users: ${label}`,
      cairn: cell(c[what]),
      mlflow: cell(m[what]),
      ratio: m[what].p50 / c[what].p50,
      target: 'p95 < 300 ms',
      verdict: c[what].p95 < 300 && !errors.cairn ? 'met' : 'missed',
    });
    for (const system of systems) {
      const l = (system === 'cairn' ? c : m)[what];
      ctx.details.push({
        bench: 'B6',
        workload: `${n} runs, ${what}`,
        system,
        metric: 'latency',
        reps: l.n,
        median: fmtMs(l.p50),
        latency: l,
        ...(errors[system] ? { note: errors[system] } : {}),
      });
    }
  }
  if (errors.cairn || errors.mlflow)
    ctx.notes.push(
      `B6 ${n} runs: errors during the load (${systems.map((s) => `${s}: ${errors[s] ?? 'none'}`).join('; ')}).`,
    );
}
