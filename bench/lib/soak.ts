/**
 * B8 soak (../shared/BENCHMARKS.md): mixed load against `cairn server` (local mode) for
 * `minutes`, with one server restart in the middle (SIGTERM, start again on the same home),
 * then every acknowledged write is checked.
 *
 * Load: `lanes` paced lanes share a fixed rate (`rate` operations/s, open loop: a lane that falls
 * behind skips ahead instead of bursting), each operation drawn 80 % reads / 20 % writes:
 *   reads   runs search (the B3 query on a 1,000-run experiment, page of 100)  40 %
 *           run detail (params, tags, latest metrics) of a seeded or a soak run 25 %
 *           metric history (a 10k-point key downsampled to 1,000, or a soak run's key) 15 %
 *   writes  createRun 4 %, logBatch (5 steps × 2 keys, sync: false) 10 %, logParam 6 %
 * A lane owns its current run (createRun, then batches and params into it; a new one after 20
 * writes). Failed calls (connection refused or reset while the server restarts, HTTP 5xx) are
 * retried every 200 ms for up to 120 s; a call's latency includes its retries.
 *
 * Reported: lost acknowledged writes (runs, points, params acknowledged but absent at the end,
 * read back through the API after the projections caught up: must be 0), p99 per minute and its
 * drift (all samples of the last third vs the first third: < 20 %), and the server's RSS
 * (VmRSS of its /proc/<pid>/status every 5 s) per minute, at the start and end of each process
 * life.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { sql } from './benchmarks.ts';
import { Cairn } from './cairn.ts';
import type { Ctx } from './context.ts';
import { searchRun, SEARCH_FILTER, SEARCH_ORDER, unit, type Point } from './data.ts';
import { mapConcurrent, paced } from './load.ts';
import { fmtMs, fmtRate, summarize } from './stats.ts';

export interface SoakOptions {
  minutes: number;
  /** Operations per second over all lanes. */
  rate: number;
  lanes: number;
  port: number;
  home: string;
  logFile: string;
}

type SoakCtx = Pick<Ctx, 'rows' | 'details' | 'notes' | 'log'>;

type OpKind = 'search' | 'runDetail' | 'metricHistory' | 'createRun' | 'logBatch' | 'logParam';
const MIX: [OpKind, number][] = [
  ['search', 0.4],
  ['runDetail', 0.25],
  ['metricHistory', 0.15],
  ['createRun', 0.04],
  ['logBatch', 0.1],
  ['logParam', 0.06],
];
const WRITES = new Set<OpKind>(['createRun', 'logBatch', 'logParam']);
const SEEDED_RUNS = 1000;
const DEEP_POINTS = 10_000;
const WRITES_PER_RUN = 20;
const RETRY_FOR_MS = 120_000;

const SEARCH = `query($e: [String!]!, $f: String, $o: [String!]) {
  runs(experimentIds: $e, filter: $f, orderBy: $o, first: 100) {
    edges { node { id name status params { key value } tags { key value } latestMetrics { key value step } } }
  }
}`;
const DETAIL = `query($id: String!) { run(id: $id) { id name status startTime
  params { key value } tags { key value } latestMetrics { key value step timestamp } } }`;
const HISTORY = `query($id: String!, $k: String!) { run(id: $id) { metricHistory(key: $k, maxPoints: 1000) { step value } } }`;

/** What a lane's run holds once acknowledged. */
interface AckedRun {
  id: string;
  steps: number[];
  params: Map<string, string>;
  writes: number;
}

function pick(r: number): OpKind {
  let acc = 0;
  for (const [kind, share] of MIX) {
    acc += share;
    if (r < acc) return kind;
  }
  return 'search';
}

async function rssKb(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) : null;
}

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

export async function b8(ctx: SoakCtx, opts: SoakOptions): Promise<void> {
  const cairn = new Cairn({ port: opts.port, home: opts.home, logFile: opts.logFile });
  ctx.log(`B8: starting cairn server (local mode) on ${opts.home}`);
  await cairn.start();
  try {
    await soak(ctx, cairn, opts);
  } finally {
    await cairn.stop();
  }
}

async function soak(ctx: SoakCtx, cairn: Cairn, opts: SoakOptions): Promise<void> {
  // --- seed: a 1,000-run search experiment (the B3 shape) and one deep history
  const searchExp = await cairn.createExperiment(`b8-search-${Date.now()}`);
  const t0 = Date.UTC(2026, 0, 1);
  const seeded = await mapConcurrent(
    Array.from({ length: SEEDED_RUNS }, (_, i) => i),
    16,
    async (i) => {
      const g = searchRun(i, t0 + i * 1000);
      const id = await cairn.createRun(searchExp, g.tags, t0 + i * 1000);
      await cairn.logBatch(id, g.metrics, g.params, [], false);
      return id;
    },
  );
  const deepRun = await cairn.createRun(searchExp);
  for (let s = 0; s < DEEP_POINTS; s += 1000) {
    const pts: Point[] = Array.from({ length: 1000 }, (_, j) => ({
      key: 'loss',
      value: unit(s + j, 31),
      step: s + j,
      timestamp: t0 + s + j,
    }));
    await cairn.logBatch(deepRun, pts, [], [], false);
  }
  await cairn.waitQueryable();
  // As B3 does: planner statistics for the freshly loaded read models (else the first minutes
  // measure plans made before autovacuum's analyze came round).
  await sql(await cairn.localDatabaseUrl(), 'ANALYZE');
  const writeExp = await cairn.createExperiment(`b8-writes-${Date.now()}`);
  ctx.log(
    `B8: seeded ${SEEDED_RUNS} runs + a ${DEEP_POINTS}-point history; load for ${opts.minutes} min`,
  );

  // --- load
  const durationMs = opts.minutes * 60_000;
  const started = performance.now();
  const samples: { at: number; ms: number; kind: OpKind }[] = [];
  const rss: { at: number; kb: number; life: number }[] = [];
  /** The machine's 1-minute load average at each minute's end (other agents share the cores). */
  const loadAvg: number[] = [];
  const runs: AckedRun[] = [];
  const current: (AckedRun | null)[] = Array.from({ length: opts.lanes }, () => null);
  let life = 1;
  let retries = 0;
  let failed = 0;
  let firstFailure: string | null = null;
  let seq = 0;
  let restartDowntimeMs = NaN;

  /** Retries `fn` across the restart; false when it never succeeded. */
  const withRetry = async (fn: () => Promise<void>): Promise<boolean> => {
    const deadline = performance.now() + RETRY_FOR_MS;
    for (;;) {
      try {
        await fn();
        return true;
      } catch (error) {
        if (performance.now() > deadline) {
          failed += 1;
          firstFailure ??= error instanceof Error ? error.message : String(error);
          return false;
        }
        retries += 1;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const soakRunIds = () => runs.filter((r) => r.steps.length > 0);

  const op = async (lane: number): Promise<void> => {
    const n = seq++;
    let kind = pick(unit(n, 41));
    let run = current[lane] ?? null;
    if (WRITES.has(kind) && (!run || run.writes >= WRITES_PER_RUN)) kind = 'createRun';
    const begin = performance.now();
    let ok = false;
    switch (kind) {
      case 'search':
        ok = await withRetry(async () => {
          await cairn.gql(SEARCH, { e: [searchExp], f: SEARCH_FILTER, o: [SEARCH_ORDER] });
        });
        break;
      case 'runDetail': {
        const own = soakRunIds();
        const id =
          own.length > 0 && unit(n, 42) < 0.3
            ? own[Math.floor(unit(n, 43) * own.length)]!.id
            : seeded[Math.floor(unit(n, 44) * seeded.length)]!;
        ok = await withRetry(async () => {
          await cairn.gql(DETAIL, { id });
        });
        break;
      }
      case 'metricHistory': {
        const own = soakRunIds();
        const target =
          own.length > 0 && unit(n, 45) < 0.5
            ? { id: own[Math.floor(unit(n, 46) * own.length)]!.id, k: 'acc' }
            : { id: deepRun, k: 'loss' };
        ok = await withRetry(async () => {
          await cairn.gql(HISTORY, target);
        });
        break;
      }
      case 'createRun': {
        let id = '';
        ok = await withRetry(async () => {
          id = await cairn.createRun(writeExp, [{ key: 'lane', value: String(lane) }]);
        });
        if (ok) {
          run = { id, steps: [], params: new Map(), writes: 0 };
          runs.push(run);
          current[lane] = run;
        }
        break;
      }
      case 'logBatch': {
        const r = run!;
        const step = r.steps.length === 0 ? 0 : r.steps.at(-1)! + 1;
        const steps = [step, step + 1, step + 2, step + 3, step + 4];
        const now = Date.now();
        const points: Point[] = steps.flatMap((s) => [
          { key: 'loss', value: unit(n * 8 + s, 47), step: s, timestamp: now },
          { key: 'acc', value: unit(n * 8 + s, 48), step: s, timestamp: now },
        ]);
        ok = await withRetry(() => cairn.logBatch(r.id, points, [], [], false));
        r.writes += 1;
        if (ok) r.steps.push(...steps);
        break;
      }
      case 'logParam': {
        const r = run!;
        const key = `p${r.writes}`;
        const value = String(n);
        ok = await withRetry(async () => {
          await cairn.gql(
            'mutation($r: String!, $k: String!, $v: String!) { logParam(runId: $r, key: $k, value: $v) { id } }',
            { r: r.id, k: key, v: value },
          );
        });
        r.writes += 1;
        if (ok) r.params.set(key, value);
        break;
      }
    }
    if (ok) samples.push({ at: performance.now() - started, ms: performance.now() - begin, kind });
  };

  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const kb = await rssKb(cairn.pid);
      if (kb !== null) rss.push({ at: performance.now() - started, kb, life });
      await new Promise((r) => setTimeout(r, 5000));
    }
  })();
  const restarter = (async () => {
    await new Promise((r) => setTimeout(r, durationMs / 2));
    ctx.log('B8: restarting the server (SIGTERM, then start on the same home)');
    const t = performance.now();
    await cairn.stop('SIGTERM');
    life = 2;
    await cairn.start();
    restartDowntimeMs = performance.now() - t;
    ctx.log(`B8: server back after ${(restartDowntimeMs / 1000).toFixed(1)} s`);
  })();
  const progress = setInterval(() => {
    loadAvg.push(os.loadavg()[0]!);
    const done = samples.length;
    ctx.log(
      `B8: ${((performance.now() - started) / 60_000).toFixed(1)} min, ${done} ops, ${retries} retries`,
    );
  }, 60_000);
  const load = await paced({
    clients: opts.lanes,
    ratePerSecond: opts.rate,
    durationMs,
    op: (lane) => op(lane),
  });
  clearInterval(progress);
  if (loadAvg.length < Math.ceil(opts.minutes)) loadAvg.push(os.loadavg()[0]!);
  await restarter;
  sampling = false;
  await sampler;
  const elapsedS = (performance.now() - started) / 1000;

  // --- every acknowledged write, read back
  ctx.log(`B8: load done (${samples.length} ops); checking ${runs.length} acknowledged runs`);
  await cairn.waitQueryable();
  let lostRuns = 0;
  let lostPoints = 0;
  let lostParams = 0;
  let duplicatePoints = 0;
  const ackedPoints = runs.reduce((s, r) => s + r.steps.length * 2, 0);
  const ackedParams = runs.reduce((s, r) => s + r.params.size, 0);
  await mapConcurrent(runs, 8, async (r) => {
    const d = await cairn.gql<{
      run: {
        params: { key: string; value: string }[];
        loss: { step: number }[];
        acc: { step: number }[];
      } | null;
    }>(
      `query($id: String!) { run(id: $id) { params { key value }
        loss: metricHistory(key: "loss", maxPoints: 1000) { step }
        acc: metricHistory(key: "acc", maxPoints: 1000) { step } } }`,
      { id: r.id },
    );
    if (!d.run) {
      lostRuns += 1;
      lostPoints += r.steps.length * 2;
      lostParams += r.params.size;
      return;
    }
    for (const series of [d.run.loss, d.run.acc]) {
      const have = new Set(series.map((p) => p.step));
      duplicatePoints += series.length - have.size;
      for (const s of r.steps) if (!have.has(s)) lostPoints += 1;
    }
    const params = new Map(d.run.params.map((p) => [p.key, p.value]));
    for (const [k, v] of r.params) if (params.get(k) !== v) lostParams += 1;
  });
  const lost = lostRuns + lostPoints + lostParams;

  // --- latency per minute, drift, RSS
  const minutes = Math.ceil(opts.minutes);
  const perMinute = Array.from({ length: minutes }, (_, m) =>
    samples.filter((s) => s.at >= m * 60_000 && s.at < (m + 1) * 60_000),
  );
  const third = durationMs / 3;
  const first = summarize(samples.filter((s) => s.at < third).map((s) => s.ms));
  const last = summarize(samples.filter((s) => s.at >= 2 * third).map((s) => s.ms));
  const drift = (last.p99 - first.p99) / first.p99;
  const lifeStats = [1, 2].map((l) => {
    const xs = rss.filter((x) => x.life === l);
    // The first minute of a life is warm-up (JIT, caches, pools): growth is measured after it.
    // The first process served the seeding before the load began; the second starts mid-soak.
    const lifeStart = l === 1 ? -Infinity : (xs[0]?.at ?? 0);
    const settled = xs.filter((x) => x.at >= lifeStart + 60_000);
    const from = settled[0] ?? xs[0];
    const to = xs.at(-1);
    const peak = Math.max(...xs.map((x) => x.kb));
    return { from, to, peak, growth: from && to ? (to.kb - from.kb) / from.kb : NaN };
  });
  const growths = lifeStats.map((s) => s.growth).filter(Number.isFinite);
  const rssGrowth = growths.length > 0 ? Math.max(...growths) : NaN;

  const writes = samples.filter((s) => WRITES.has(s.kind)).length;
  const workload = `${opts.minutes} min, ${opts.rate} ops/s paced over ${opts.lanes} lanes (80 % reads: search, run detail, metric history; 20 % writes: createRun, logBatch, logParam), restart (SIGTERM) at ${(opts.minutes / 2).toFixed(1)} min`;
  ctx.rows.push({
    bench: 'B8 lost acknowledged writes',
    workload,
    cairn: `${lost} lost of ${runs.length.toLocaleString('en')} runs, ${ackedPoints.toLocaleString('en')} points, ${ackedParams.toLocaleString('en')} params acknowledged`,
    mlflow: 'n/a',
    ratio: NaN,
    target: '0',
    verdict: lost === 0 ? 'met' : 'missed',
  });
  ctx.rows.push({
    bench: 'B8 p99 drift',
    workload: 'p99 of all operations, last third vs first third of the soak',
    cairn: `${fmtMs(first.p99)} → ${fmtMs(last.p99)} (${(drift * 100).toFixed(1)} %)`,
    mlflow: 'n/a',
    ratio: NaN,
    target: '< 20 % (either way)',
    // Either way: a p99 that falls by more than 20 % is the machine getting quieter, not a pass.
    verdict: Math.abs(drift) < 0.2 ? 'met' : 'missed',
  });
  ctx.rows.push({
    bench: 'B8 server RSS',
    workload:
      'VmRSS every 5 s; growth within each process life (the restarted one after its first minute)',
    cairn: lifeStats
      .map(
        (s, i) =>
          `life ${i + 1}: ${s.from ? mb(s.from.kb) : 'n/a'} → ${s.to ? mb(s.to.kb) : 'n/a'} (peak ${mb(s.peak)}, ${(s.growth * 100).toFixed(1)} %)`,
      )
      .join('; '),
    mlflow: 'n/a',
    ratio: NaN,
    target: 'flat (< 20 % growth)',
    verdict: rssGrowth < 0.2 ? 'met' : 'missed',
  });
  for (const [m, xs] of perMinute.entries()) {
    const inMinute = rss.filter((x) => x.at >= m * 60_000 && x.at < (m + 1) * 60_000);
    const restartMinute =
      Number.isFinite(restartDowntimeMs) && m === Math.floor(durationMs / 2 / 60_000);
    ctx.details.push({
      bench: 'B8',
      workload: `minute ${m + 1}${restartMinute ? ' (restart)' : ''}`,
      system: 'cairn',
      metric: 'ops/s',
      reps: 1,
      median: fmtRate(xs.length / 60, 'ops/s'),
      latency: summarize(xs.map((s) => s.ms)),
      note: `${
        inMinute.length
          ? `RSS ${mb(Math.min(...inMinute.map((x) => x.kb)))}–${mb(Math.max(...inMinute.map((x) => x.kb)))}`
          : 'RSS n/a (restarting)'
      }; machine load ${loadAvg[m]?.toFixed(1) ?? '?'}`,
    });
  }
  for (const [kind] of MIX) {
    const xs = samples.filter((s) => s.kind === kind);
    ctx.details.push({
      bench: 'B8',
      workload: `whole soak, ${kind}`,
      system: 'cairn',
      metric: 'ops',
      reps: 1,
      median: xs.length.toLocaleString('en'),
      latency: summarize(xs.map((s) => s.ms)),
    });
  }
  ctx.notes.push(
    `B8 soak: ${samples.length.toLocaleString('en')} operations in ${(elapsedS / 60).toFixed(1)} min (${fmtRate(samples.length / elapsedS, 'ops/s')} achieved of ${opts.rate} paced; ${load.late} late lane slots), ${writes.toLocaleString('en')} writes; the restart took ${(restartDowntimeMs / 1000).toFixed(1)} s from SIGTERM to ready (latencies include the retries across it: ${retries} retried attempts); ${failed} operations failed after ${RETRY_FOR_MS / 1000} s of retries${firstFailure ? ` (first: ${String(firstFailure).slice(0, 200)})` : ''}; lost: ${lostRuns} runs, ${lostPoints} points, ${lostParams} params; ${duplicatePoints} duplicate points (a logBatch retried after its response was lost). Reads: a 1,000-run experiment (the B3 query) and a 10k-point history, plus the soak's own runs.`,
  );
  ctx.log(
    `B8: lost ${lost}; p99 ${fmtMs(first.p99)} → ${fmtMs(last.p99)} (${(drift * 100).toFixed(1)} %); RSS growth ${(rssGrowth * 100).toFixed(1)} %`,
  );
}
