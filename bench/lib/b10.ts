/**
 * B10 MLflow client against both (../shared/BENCHMARKS.md): the same Python script
 * (bench/b10_client.py: set_experiment, start_run, log_params, MlflowClient.log_batch, set_tags,
 * end_run, search_runs, in N parallel processes) run with the bench venv's `mlflow` client,
 * MLFLOW_TRACKING_URI pointing at MLflow's `mlflow server` and at Cairn's MLflow-compatible REST
 * (`/api/2.0/mlflow/…`, docs/mlflow-compatibility.md). End-to-end wall time, runs/s and the
 * latency of each call kind, plus what each server holds afterwards.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { order } from './benchmarks.ts';
import { REPO } from './cairn.ts';
import type { Ctx } from './context.ts';
import { MLFLOW_VENV } from './mlflow.ts';
import { fmtMs, fmtRate, median, summarize } from './stats.ts';

const exec = promisify(execFile);

/** Runs per second, with a decimal below 100 (fmtRate rounds to whole units there). */
const runsPerS = (x: number) => (x >= 100 ? fmtRate(x, 'runs/s') : `${x.toFixed(1)} runs/s`);

export interface B10Options {
  /** Parallel client processes. */
  procs: number;
  /** Runs per process. */
  runs: number;
  /** log_batch calls (one step of 5 metrics each) per run. */
  steps: number;
}
export const B10_QUICK: B10Options = { procs: 4, runs: 5, steps: 20 };
export const B10_FULL: B10Options = { procs: 8, runs: 10, steps: 50 };

/** The call kinds the script times, in the order a run makes them. */
const KINDS = [
  'set_experiment',
  'start_run',
  'log_params',
  'log_batch',
  'set_tags',
  'end_run',
  'search_runs',
] as const;

interface Counts {
  runs: number;
  params: number;
  metrics: number;
  points: number;
  tags: number;
  finished: number;
  filtered: number;
  first: string | null;
}

interface ClientResult {
  wall_s: number;
  /** CPU seconds of the client processes themselves (the Python side of every call). */
  client_cpu_s: number;
  procs: number;
  runs: number;
  calls: number;
  lat: Record<string, number[]>;
  found: number[];
  counts: Counts;
  mlflow: string;
}

async function runClient(base: URL, experiment: string, opts: B10Options): Promise<ClientResult> {
  const python = path.join(MLFLOW_VENV, 'bin', 'python');
  const script = path.join(REPO, 'bench/b10_client.py');
  const argv = [
    script,
    '--experiment',
    experiment,
    '--procs',
    String(opts.procs),
    '--runs',
    String(opts.runs),
    '--steps',
    String(opts.steps),
  ];
  const env = {
    ...process.env,
    MLFLOW_TRACKING_URI: base.origin,
    MLFLOW_DISABLE_TELEMETRY: 'true',
    // No retries hiding failures or adding back-off time to either system.
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
  };
  let stdout: string;
  try {
    ({ stdout } = await exec(python, argv, {
      cwd: REPO,
      env,
      maxBuffer: 256 << 20,
      timeout: 30 * 60_000,
    }));
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    const line = e.stdout?.trim().split('\n').at(-1) ?? '';
    throw new Error(
      `b10_client.py against ${base.origin}: ${line || e.stderr?.trim().split('\n').at(-1) || e.message}`,
    );
  }
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ClientResult;
}

export async function b10(ctx: Ctx, opts: B10Options): Promise<void> {
  const { settings } = ctx;
  const results = { cairn: [] as ClientResult[], mlflow: [] as ClientResult[] };
  const totalRuns = opts.procs * opts.runs;
  ctx.log(
    `B10: ${opts.procs} mlflow client processes × ${opts.runs} runs × ${opts.steps} log_batch steps, ${settings.reps} rep(s)`,
  );
  for (let rep = 0; rep < settings.reps; rep++) {
    for (const system of order(rep, 0)) {
      const base = system === 'cairn' ? ctx.cairn.base : ctx.mlflow.base;
      const r = await runClient(base, `b10-${rep}-${Date.now()}`, opts);
      if (system === 'cairn') ctx.cairn.ackedPoints += totalRuns * 5 * opts.steps;
      results[system].push(r);
      ctx.log(
        `  B10 ${system}: ${r.wall_s.toFixed(2)} s, ${runsPerS(r.runs / r.wall_s)}, ${r.calls} calls, client CPU ${r.client_cpu_s.toFixed(2)} s; log_batch p50 ${fmtMs(summarize(r.lat.log_batch ?? []).p50)}; holds ${r.counts.runs} runs / ${r.counts.params} params / ${r.counts.metrics} metrics / ${r.counts.points} points`,
      );
    }
  }
  const cWall = median(results.cairn.map((r) => r.wall_s));
  const mWall = median(results.mlflow.map((r) => r.wall_s));
  const ratio = mWall / cWall;
  const workload = `${opts.procs} processes × ${opts.runs} runs (10 params, ${opts.steps} log_batch × 5 metrics, 5 tags) + search_runs; mlflow ${results.mlflow[0]!.mlflow} client`;
  ctx.rows.push({
    bench: 'B10 mlflow client',
    workload,
    cairn: `${cWall.toFixed(2)} s (${runsPerS(totalRuns / cWall)})`,
    mlflow: `${mWall.toFixed(2)} s (${runsPerS(totalRuns / mWall)})`,
    ratio,
    target: '≥ 5× end to end',
    verdict: ratio >= 5 ? 'met' : 'missed',
  });
  for (const kind of KINDS) {
    const c = summarize(results.cairn.flatMap((r) => r.lat[kind] ?? []));
    const m = summarize(results.mlflow.flatMap((r) => r.lat[kind] ?? []));
    ctx.rows.push({
      bench: 'B10 mlflow client',
      workload: `\`${kind}\` latency`,
      cairn: `p50 ${fmtMs(c.p50)}, p99 ${fmtMs(c.p99)}`,
      mlflow: `p50 ${fmtMs(m.p50)}, p99 ${fmtMs(m.p99)}`,
      ratio: m.p50 / c.p50,
      target: '',
      verdict: '',
    });
    for (const [system, l] of [
      ['cairn', c],
      ['mlflow', m],
    ] as const) {
      ctx.details.push({
        bench: 'B10',
        workload: kind,
        system,
        metric: 'latency',
        reps: l.n,
        median: fmtMs(l.p50),
        latency: l,
      });
    }
  }
  for (const system of ['cairn', 'mlflow'] as const) {
    ctx.details.push({
      bench: 'B10',
      workload: 'end to end',
      system,
      metric: 'wall',
      reps: results[system].length,
      median: `${median(results[system].map((r) => r.wall_s)).toFixed(2)} s`,
      note: `${results[system][0]!.calls} client calls per rep; walls ${results[system].map((r) => `${r.wall_s.toFixed(2)} s`).join(', ')}; client CPU ${results[system].map((r) => `${r.client_cpu_s.toFixed(2)} s`).join(', ')}`,
    });
  }
  // Correctness: after each script both servers must hold what it wrote, counted through the
  // client's own search_runs (and get_metric_history for the points).
  const expected: Omit<Counts, 'first'> = {
    runs: totalRuns,
    params: totalRuns * 10,
    metrics: totalRuns * 5,
    points: totalRuns * 5 * opts.steps,
    tags: totalRuns * 5,
    finished: totalRuns,
    filtered: results.mlflow[0]!.counts.filtered,
  };
  const bad: string[] = [];
  for (const system of ['cairn', 'mlflow'] as const) {
    for (const [i, r] of results[system].entries()) {
      for (const [k, v] of Object.entries(expected)) {
        const got = r.counts[k as keyof Counts];
        if (got !== v) bad.push(`${system} rep ${i + 1}: ${k} ${String(got)}, expected ${v}`);
      }
      if (r.counts.first !== results.mlflow[0]!.counts.first)
        bad.push(
          `${system} rep ${i + 1}: first filtered run ${r.counts.first}, MLflow's ${results.mlflow[0]!.counts.first}`,
        );
    }
  }
  ctx.notes.push(
    bad.length === 0
      ? `B10 correctness check: after every script both systems hold the same data, counted through the client's search_runs / get_metric_history: ${expected.runs} FINISHED runs, ${expected.params} params, ${expected.tags} user tags, ${expected.metrics} metric keys, ${expected.points.toLocaleString('en')} metric points; the filtered, ordered search (\`params.optimizer = 'adam' and metrics.loss < 0.5\`, \`metrics.accuracy DESC\`) finds ${expected.filtered} runs on both, the same one first.`
      : `B10 correctness check FAILED: ${bad.slice(0, 8).join('; ')}${bad.length > 8 ? ` (+${bad.length - 8} more)` : ''}.`,
  );
  ctx.notes.push(
    `B10: the wall time runs from the workers' common start (a barrier after \`import mlflow\` and the fork) to the last worker's end; the client's Python CPU (request building, entity parsing, pandas for search_runs) is in both systems' figures, on the same 2 cores as the servers. MLFLOW_HTTP_REQUEST_MAX_RETRIES=0: no retry hides an error or adds back-off.`,
  );
}
