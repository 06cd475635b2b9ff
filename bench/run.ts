/**
 * Cairn vs MLflow tracking server, side by side on this machine (../shared/BENCHMARKS.md B1–B5, B7, B10;
 * B8, the soak, against Cairn alone).
 *
 *   npm run bench -- --quick        # smoke run, < 5 min, prints the table, writes results/quick.md
 *   npm run bench                   # full run, writes results/latest.md
 *
 * Options: --only b1,b2,b3,b4,b5,b7,b8,b10,rebuild,scale  --no-scale  --reps N  --keep (leave the work dir)
 *          --out FILE  --cpu-prof (Cairn server CPU profile into the work dir)
 *          --b3-sizes 10000,100000  --b4-sizes 1000,100000,1000000
 *          --b5-cells 10x1,100x5 (spans per trace x KB of attributes)  --b5-read-spans 1000000
 *          --b5-cairn-otlp-spans 100000 (of the read load through OTLP; the rest cloned in SQL)
 *          --b10-size 8x10x50 (client processes x runs each x log_batch steps per run)
 *          --section NAME (replace only that section of the results file; `--only b5` full runs
 *          default to the section b5 of results/latest.md)
 *          --soak (B8 alone, 1 h: section b8 of results/latest.md)  --soak-minutes N (default 60
 *          with --soak, 5 in the full bench and with --only b8)  --soak-rate OPS (default 40)
 * See bench/README.md.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startEmbeddedPostgres, DEFAULT_SETTINGS, type EmbeddedPostgres } from '@cairn/embedded-pg';
import { b1, b2, b3, b4, b7, B1_CELLS_FULL, B1_CELLS_QUICK, sql } from './lib/benchmarks.ts';
import { b5, B5_CELLS_FULL, B5_CELLS_QUICK, type B5Cell } from './lib/b5.ts';
import { b10, B10_FULL, B10_QUICK } from './lib/b10.ts';
import { b8 } from './lib/soak.ts';
import { Cairn, REPO } from './lib/cairn.ts';
import type { Ctx, Settings } from './lib/context.ts';
import { ensureMlflowInstalled, Mlflow, MLFLOW_VENV, MLFLOW_WORKERS } from './lib/mlflow.ts';
import { fmtMs, fmtRate, fmtRatio } from './lib/stats.ts';

const exec = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-scale': { type: 'boolean', default: false },
    reps: { type: 'string' },
    keep: { type: 'boolean', default: false },
    out: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'b3-sizes': { type: 'string' },
    'b4-sizes': { type: 'string' },
    'b5-cells': { type: 'string' },
    'b5-read-spans': { type: 'string' },
    'b5-cairn-otlp-spans': { type: 'string' },
    'b10-size': { type: 'string' },
    section: { type: 'string' },
    soak: { type: 'boolean', default: false },
    'soak-minutes': { type: 'string' },
    'soak-rate': { type: 'string' },
  },
});
const quick = args.quick ?? false;
const all = ['b2', 'b1', 'b7', 'b4', 'b3', 'b5', 'b10', 'rebuild', 'b8', 'scale'];
const only = new Set(
  args.soak ? ['b8'] : args.only ? args.only.split(',').map((s) => s.trim().toLowerCase()) : all,
);
if (quick && !args.only) only.delete('b8');
/** B8 alone (`--soak`, `--only b8`) needs no MLflow: the soak reports Cairn's figures only. */
const soakOnly = only.size === 1 && only.has('b8');
/** `--soak`: 1 h; in the full bench (and `--only b8`): 5 min. */
const soakMinutes = Number(args['soak-minutes'] ?? (args.soak ? 60 : 5));
const soakRate = Number(args['soak-rate'] ?? 40);
if (quick || args['no-scale']) only.delete('scale');
const settings: Settings = {
  quick,
  reps: Number(args.reps ?? (quick ? 1 : 3)),
  windowS: quick ? 4 : 8,
  warmupS: 1,
};
const b3Sizes = (args['b3-sizes'] ?? (quick ? '2000' : '10000,100000')).split(',').map(Number);
const b4Sizes = (args['b4-sizes'] ?? '1000,100000,1000000').split(',').map(Number);
const b5Cells: B5Cell[] = args['b5-cells']
  ? args['b5-cells'].split(',').map((c) => c.split('x').map(Number) as B5Cell)
  : quick
    ? B5_CELLS_QUICK
    : B5_CELLS_FULL;
const b5ReadSpans = Number(args['b5-read-spans'] ?? (quick ? 20_000 : 1_000_000));
const [b10Procs, b10Runs, b10Steps] = (args['b10-size'] ?? '').split('x').map(Number);
const b10Size = args['b10-size']
  ? { procs: b10Procs!, runs: b10Runs!, steps: b10Steps! }
  : quick
    ? B10_QUICK
    : B10_FULL;
const outFile = args.out ?? path.join(REPO, 'bench/results', quick ? 'quick.md' : 'latest.md');
/** A run of one benchmark updates its own section of latest.md and keeps the rest. */
const section =
  args.section ??
  (!quick && !args.out && only.size === 1 && (only.has('b5') || only.has('b8'))
    ? [...only][0]
    : undefined);

const t0 = performance.now();
const log = (msg: string) =>
  console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function sh(cmd: string, argv: string[], cwd = REPO): Promise<string> {
  const { stdout, stderr } = await exec(cmd, argv, { cwd, maxBuffer: 64 << 20 });
  return stdout + stderr;
}

async function machine(): Promise<Record<string, string>> {
  const cpus = os.cpus();
  const commit = (await sh('git', ['rev-parse', '--short', 'HEAD']).catch(() => '?')).trim();
  const dirty = (await sh('git', ['status', '--porcelain']).catch(() => '')).trim()
    ? ' (with uncommitted changes)'
    : '';
  return {
    date: new Date().toISOString(),
    cpu: `${cpus.length} × ${cpus[0]?.model ?? '?'}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    cairn: `${commit}${dirty}`,
  };
}

async function rebuild(ctx: Ctx, home: string): Promise<void> {
  const url = await ctx.cairn.localDatabaseUrl();
  const { points } = (
    await sql(
      url,
      'SELECT coalesce(sum(cardinality(steps)), 0)::int8 AS points FROM metric_point_chunks',
    )
  )[0] as {
    points: string;
  };
  const { events } = (await sql(url, 'SELECT count(*)::int8 AS events FROM events'))[0] as {
    events: string;
  };
  const stored = Number(points);
  if (stored !== ctx.cairn.ackedPoints) {
    ctx.notes.push(
      `Durability check: ${ctx.cairn.ackedPoints} metric points acknowledged, ${stored} in the read model.`,
    );
  } else {
    ctx.notes.push(
      `Durability check: all ${stored.toLocaleString('en')} acknowledged metric points are in the read model (no loss).`,
    );
  }
  log(
    `rebuild: stopping Cairn, rebuilding ${Number(events).toLocaleString('en')} events / ${stored.toLocaleString('en')} points`,
  );
  await ctx.cairn.stop();
  const started = performance.now();
  const out = await sh(process.execPath, [
    path.join(REPO, 'apps/cli/bin/cairn.js'),
    'projections',
    'rebuild',
    '--home',
    home,
  ]);
  const wall = (performance.now() - started) / 1000;
  const runs = /rebuilt runs: (\d+) events in ([\d.]+) s/.exec(out);
  const seconds = runs ? Number(runs[2]) : wall;
  const runEvents = runs ? Number(runs[1]) : Number(events);
  const rate = stored / seconds;
  const live = ctx.cairnPeakQueryable ?? NaN;
  log(`rebuild: ${out.trim().split('\n').join(' | ')}`);
  ctx.rows.push({
    bench: 'B7 rebuild (local)',
    workload: `${runEvents.toLocaleString('en')} run events, ${stored.toLocaleString('en')} points; vs B1 peak queryable ${fmtRate(live, 'pts/s')}`,
    cairn: `${fmtRate(rate, 'pts/s')} (${fmtRate(runEvents / seconds, 'events/s')}, ${seconds.toFixed(1)} s)`,
    mlflow: 'n/a',
    ratio: rate / live,
    target: '≥ 5× live ingest',
    verdict: rate / live >= 5 ? 'met' : 'missed',
  });
  ctx.details.push({
    bench: 'B7',
    workload: 'rebuild (CLI output)',
    system: 'cairn',
    metric: 'wall',
    reps: 1,
    median: `${wall.toFixed(1)} s`,
    note: out.trim().replaceAll('\n', '; '),
  });
}

function report(
  ctx: Pick<Ctx, 'rows' | 'notes' | 'details'>,
  info: Record<string, string>,
  elapsedS: number,
): string {
  const lines: string[] = [];
  lines.push(
    `# Cairn vs MLflow tracking server${quick ? ' (quick mode: smoke figures, not the reference)' : ''}`,
  );
  lines.push('');
  lines.push(
    `Reproduce: \`npm run bench${quick ? ' -- --quick' : ''}\` (see bench/README.md). Targets: ../shared/BENCHMARKS.md.`,
  );
  lines.push('');
  for (const [k, v] of Object.entries(info)) lines.push(`- **${k}**: ${v}`);
  lines.push(
    `- **duration**: ${(elapsedS / 60).toFixed(1)} min; ${settings.reps} repetition(s) per load cell, ${settings.windowS} s windows after ${settings.warmupS} s warm-up; systems interleaved (ABBA)`,
  );
  lines.push('');
  lines.push(
    'Ratio = Cairn ÷ MLflow for throughput, MLflow ÷ Cairn for latency (p50): > 1 means Cairn is better.',
  );
  lines.push('');
  lines.push('| Benchmark | Workload | Cairn | MLflow | Ratio | Target | Verdict |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const r of ctx.rows) {
    lines.push(
      `| ${r.bench} | ${r.workload} | ${r.cairn} | ${r.mlflow} | ${fmtRatio(r.ratio)} | ${r.target} | ${r.verdict} |`,
    );
  }
  lines.push('');
  if (ctx.notes.length > 0) {
    lines.push('## Notes');
    lines.push('');
    for (const n of ctx.notes) lines.push(`- ${n}`);
    lines.push('');
  }
  lines.push('## Details (latency over all repetitions)');
  lines.push('');
  lines.push(
    '| Bench | Workload | System | Metric (median of reps) | Samples | p50 | p95 | p99 | max | Note |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const d of ctx.details) {
    const l = d.latency;
    lines.push(
      `| ${d.bench} | ${d.workload} | ${d.system} | ${d.metric}: ${d.median} | ${l ? l.n : d.reps} | ${l ? fmtMs(l.p50) : ''} | ${l ? fmtMs(l.p95) : ''} | ${l ? fmtMs(l.p99) : ''} | ${l ? fmtMs(l.max) : ''} | ${d.note ?? ''} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * Writes `md` as the section `name` of `file`: between `<!-- section:name -->` markers, its
 * headings one level down; an existing section of that name is replaced, else the new one goes
 * before the file's first `## ` section (newest first). The rest of the file is kept.
 */
async function writeSection(file: string, name: string, md: string): Promise<void> {
  const old = await readFile(file, 'utf8').catch(() => '');
  const lines = md.trimEnd().split('\n');
  lines[0] = `# ${name.toUpperCase()}: \`npm run bench -- --only ${[...only].join(',')}\``;
  const body = lines.map((l) => (l.startsWith('#') ? `#${l}` : l)).join('\n');
  const start = `<!-- section:${name} -->`;
  const end = `<!-- /section:${name} -->`;
  const block = `${start}\n${body}\n${end}\n`;
  let next: string;
  const a = old.indexOf(start);
  const b = old.indexOf(end);
  if (a >= 0 && b > a) next = old.slice(0, a) + block + old.slice(b + end.length + 1);
  else if (old.includes('\n## ')) {
    const at = old.indexOf('\n## ') + 1;
    next = `${old.slice(0, at)}${block}\n${old.slice(at)}`;
  } else next = `${old}${old ? '\n' : ''}${block}`;
  await writeFile(file, next);
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'cairn-bench-'));
  log(`work dir ${work}; ${quick ? 'quick' : 'full'} mode; benchmarks: ${[...only].join(', ')}`);
  const cleanups: (() => Promise<unknown>)[] = [];
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: stopping the servers…');
    void (async () => {
      for (const c of [...cleanups].reverse()) await c().catch(() => undefined);
      process.exit(130);
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const info = await machine();
  if (soakOnly) {
    await soakAlone(work, info, cleanups);
    return;
  }
  try {
    const mlflowVersion = await ensureMlflowInstalled();
    const mlflowPg: EmbeddedPostgres = await startEmbeddedPostgres({
      dataDir: path.join(work, 'mlflow-pg'),
    });
    cleanups.push(() => mlflowPg.stop());
    await mlflowPg.ensureDatabase('mlflow');
    const cairnHome = path.join(work, 'cairn-home');
    const profDir = path.join(work, 'profiles');
    await mkdir(profDir, { recursive: true });
    const cairn = new Cairn({
      port: await freePort(),
      home: cairnHome,
      logFile: path.join(work, 'cairn.log'),
      nodeFlags: args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
    });
    const mlflowWork = path.join(work, 'mlflow');
    await mkdir(mlflowWork, { recursive: true });
    const mlflow = new Mlflow({
      port: await freePort(),
      databaseUrl: mlflowPg.connectionString('mlflow'),
      logFile: path.join(work, 'mlflow.log'),
      workDir: mlflowWork,
    });
    log('starting Cairn (local mode) and MLflow');
    cleanups.push(
      () => cairn.stop(),
      () => mlflow.stop(),
    );
    await Promise.all([cairn.start(), mlflow.start()]);
    const cairnUrl = await cairn.localDatabaseUrl();
    const { version: pgCairn } = (await sql(cairnUrl, 'SELECT version()'))[0] as {
      version: string;
    };
    const { version: pgMlflow } = (
      await sql(mlflowPg.connectionString('mlflow'), 'SELECT version()')
    )[0] as { version: string };
    const settingsText = Object.entries(DEFAULT_SETTINGS)
      .filter(([k]) =>
        [
          'shared_buffers',
          'work_mem',
          'max_connections',
          'synchronous_commit',
          'fsync',
          'jit',
        ].includes(k),
      )
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    info.postgres = `${pgCairn === pgMlflow ? pgCairn.split(' on ')[0] : `${pgCairn} / ${pgMlflow}`} (embedded-postgres, one server per system, same settings: ${settingsText})`;
    info.mlflow = `${mlflowVersion} from PyPI (venv ${path.relative(REPO, MLFLOW_VENV)}), \`mlflow server\` with ${MLFLOW_WORKERS} workers (its default), PostgreSQL backend store, SQLAlchemy pool 10 + 30 per worker (default 5 + 10 deadlocks at ≥ 32 concurrent log-batch clients), job runner off, no artifact traffic`;
    info['cairn server'] =
      `\`cairn server\` local mode (API + projector in one Node process, embedded PostgreSQL)${only.has('scale') ? '; scale mode: `cairn server --database-url --kafka-brokers` with Kafka on the same box' : ''}`;
    info.load = `load average at start ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ')} (other developers share this machine)`;

    const ctx: Ctx = { settings, cairn, mlflow, rows: [], details: [], notes: [], log };
    let b1Runs: string[] | null = null;
    /** One failing benchmark is reported and does not lose the others. */
    const guarded = async (name: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log(`${name} FAILED: ${message}`);
        ctx.notes.push(`${name} failed: ${message.split('\n')[0]!.slice(0, 300)}`);
      }
    };
    if (only.has('b2')) await guarded('B2', () => b2(ctx));
    if (only.has('b1') || only.has('b7'))
      await guarded(
        'B1',
        async () => (b1Runs = await b1(ctx, quick ? B1_CELLS_QUICK : B1_CELLS_FULL)),
      );
    if (only.has('b7') && b1Runs) await guarded('B7', () => b7(ctx, b1Runs!));
    if (only.has('b4')) await guarded('B4', () => b4(ctx, b4Sizes));
    if (only.has('b3')) await guarded('B3', () => b3(ctx, b3Sizes));
    if (only.has('b5'))
      await guarded('B5', () =>
        b5(ctx, {
          cells: b5Cells,
          clients: 8,
          readSpans: b5ReadSpans,
          mlflowOtlpLoadCap: quick ? Math.min(b5ReadSpans, 10_000) : 50_000,
          cairnOtlpLoadCap: Number(args['b5-cairn-otlp-spans'] ?? (quick ? b5ReadSpans : 100_000)),
        }),
      );
    if (only.has('b10')) await guarded('B10', () => b10(ctx, b10Size));
    const localPeak = ctx.cairnPeakQueryable;
    if (only.has('rebuild')) await guarded('Rebuild', () => rebuild(ctx, cairnHome));
    else await cairn.stop();
    if (only.has('b8'))
      await guarded('B8', async () =>
        b8(ctx, {
          minutes: soakMinutes,
          rate: soakRate,
          lanes: 16,
          port: await freePort(),
          home: path.join(work, 'cairn-soak-home'),
          logFile: path.join(work, 'cairn-soak.log'),
        }),
      );

    if (only.has('scale')) {
      await guarded('Scale mode', async () => {
        const kafkaPort = await freePort();
        const kafkaDir = path.join(work, 'kafka');
        log(`scale mode: starting Kafka on ${kafkaPort}`);
        cleanups.push(() =>
          sh('bash', [path.join(REPO, 'infra/kafka/stop.sh'), '--data-dir', kafkaDir]),
        );
        await sh('bash', [
          path.join(REPO, 'infra/kafka/start.sh'),
          '--port',
          String(kafkaPort),
          '--controller-port',
          String(await freePort()),
          '--data-dir',
          kafkaDir,
        ]);
        const scalePg = await startEmbeddedPostgres({ dataDir: path.join(work, 'cairn-scale-pg') });
        cleanups.push(() => scalePg.stop());
        await scalePg.ensureDatabase('cairn');
        const scale = new Cairn({
          port: await freePort(),
          databaseUrl: scalePg.connectionString('cairn'),
          kafkaBrokers: `127.0.0.1:${kafkaPort}`,
          logFile: path.join(work, 'cairn-scale.log'),
        });
        cleanups.push(() => scale.stop());
        await scale.start();
        const sctx: Ctx = {
          ...ctx,
          cairn: scale,
          settings: { ...settings, reps: Math.min(settings.reps, 2) },
        };
        const runs = await b1(
          sctx,
          [
            [32, 100],
            [32, 1000],
          ],
          'scale',
        );
        await b7(sctx, runs, 'scale');
        ctx.notes.push(
          'Scale mode: the Kafka broker (infra/kafka/start.sh defaults: 384 MB heap, serial GC), the relay, the API and the projector share the same 2 cores with PostgreSQL and MLflow.',
        );
        await scale.stop();
      });
    }
    ctx.cairnPeakQueryable = localPeak;
    info.load += `; at end ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ')}`;
    const md = report(ctx, info, (performance.now() - t0) / 1000);
    await mkdir(path.dirname(outFile), { recursive: true });
    if (section) await writeSection(outFile, section, md);
    else await writeFile(outFile, md);
    console.log(`\n${md}`);
    log(`wrote ${path.relative(process.cwd(), outFile)}`);
    if (args['cpu-prof']) log(`CPU profiles in ${profDir}`);
  } finally {
    for (const c of cleanups.reverse())
      await c().catch((e: unknown) => console.error('cleanup:', e));
    if (!args.keep && !args['cpu-prof'])
      await rm(work, { recursive: true, force: true }).catch(() => undefined);
    else log(`kept ${work}`);
  }
}

/** `--soak` / `--only b8`: the soak against Cairn alone, written as section b8 of the results. */
async function soakAlone(
  work: string,
  info: Record<string, string>,
  cleanups: (() => Promise<unknown>)[],
): Promise<void> {
  const ctx: Pick<Ctx, 'rows' | 'details' | 'notes' | 'log'> = {
    rows: [],
    details: [],
    notes: [],
    log,
  };
  info['cairn server'] =
    '`cairn server` local mode (API + projector in one Node process, embedded PostgreSQL, DEFAULT_SETTINGS); MLflow not run (B8 reports Cairn only)';
  info.load = `load average at start ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')} (other developers share this machine)`;
  try {
    await b8(ctx, {
      minutes: soakMinutes,
      rate: soakRate,
      lanes: 16,
      port: await freePort(),
      home: path.join(work, 'cairn-soak-home'),
      logFile: path.join(work, 'cairn-soak.log'),
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`B8 FAILED: ${message}`);
    ctx.notes.push(`B8 failed: ${message.split('\n')[0]!.slice(0, 300)}`);
  }
  info.load += `; at end ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')}`;
  const md = report(ctx, info, (performance.now() - t0) / 1000);
  await mkdir(path.dirname(outFile), { recursive: true });
  if (section) await writeSection(outFile, section, md);
  else await writeFile(outFile, md);
  console.log(`\n${md}`);
  log(`wrote ${path.relative(process.cwd(), outFile)}`);
  for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.error('cleanup:', e));
  if (!args.keep) await rm(work, { recursive: true, force: true }).catch(() => undefined);
  else log(`kept ${work}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
