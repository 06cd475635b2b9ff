/**
 * B9-ONNX (../shared/BENCHMARKS.md, B9 "also the ONNX path"): B9's scikit-learn model converted
 * to ONNX and served by the TypeScript server (`cairn models serve`, onnxruntime-node, no
 * Python), against `mlflow models serve --env-manager local` serving the same fitted estimator
 * (its sklearn flavor, as in B9). 1-row and 100-row `dataframe_split` requests from 16
 * closed-loop clients on keep-alive connections.
 *
 *   npx tsx bench/b9-onnx.ts [--quick] [--reps N] [--workers 1,2] [--clients 16] [--out FILE] [--keep]
 *
 * `--workers` is MLflow's worker count; the TypeScript server is one process with one
 * onnxruntime intra-op thread (`--threads 1`) in every cell. Before the load both must answer
 * the same labels for the same payloads. Writes bench/results/b9-onnx.md (quick:
 * b9-onnx-quick.md, git-ignored).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { REPO } from './lib/cairn.ts';
import { request, startLoggedServer } from './lib/http.ts';
import { closedLoop } from './lib/load.ts';
import { ensureMlflowInstalled, MLFLOW_VENV } from './lib/mlflow.ts';
import { fmtMs, fmtRatio, median, summarize } from './lib/stats.ts';

const run = promisify(execFile);
const ORT_VERSION = (
  JSON.parse(
    readFileSync(path.join(REPO, 'node_modules/onnxruntime-node/package.json'), 'utf8'),
  ) as { version: string }
).version;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    workers: { type: 'string' },
    clients: { type: 'string' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const quick = args.quick ?? false;
const reps = Number(args.reps ?? (quick ? 1 : 3));
const workerCounts = (args.workers ?? (quick ? '1' : '1,2')).split(',').map(Number);
const clients = Number(args.clients ?? 16);
const warmupMs = quick ? 1000 : 2000;
const durationMs = quick ? 3000 : 8000;
const outFile =
  args.out ?? path.join(REPO, 'bench/results', quick ? 'b9-onnx-quick.md' : 'b9-onnx.md');

const SDK_PYTHON = path.join(REPO, 'sdks/python/.venv/bin/python');
const MLFLOW_PYTHON = path.join(MLFLOW_VENV, 'bin/python');
const COLUMNS = Array.from({ length: 8 }, (_, i) => `f${i}`);
const ENV = {
  ...process.env,
  OMP_NUM_THREADS: '1',
  OPENBLAS_NUM_THREADS: '1',
  MKL_NUM_THREADS: '1',
};

function log(msg: string): void {
  console.log(`[b9-onnx ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** Deterministic rows (a small LCG), so that both systems get byte-identical bodies. */
function rows(n: number, seed: number): number[][] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.round(((s / 2 ** 32) * 6 - 3) * 1e4) / 1e4;
  };
  return Array.from({ length: n }, () => COLUMNS.map(() => next()));
}

function body(n: number, seed: number): string {
  return JSON.stringify({ dataframe_split: { columns: COLUMNS, data: rows(n, seed) } });
}

interface Server {
  name: 'Cairn' | 'MLflow';
  base: URL;
  child: ChildProcess;
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function startServer(name: Server['name'], work: string, workers: number): Promise<Server> {
  const port = await freePort();
  const base = new URL(`http://127.0.0.1:${port}`);
  const child =
    name === 'Cairn'
      ? spawn(
          process.execPath,
          [
            path.join(REPO, 'apps/cli/bin/cairn.js'),
            'models',
            'serve',
            '-m',
            path.join(work, 'cairn-onnx-model'),
            '--port',
            String(port),
            '--threads',
            '1',
            '--no-follow',
          ],
          { env: ENV, stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO },
        )
      : spawn(
          path.join(MLFLOW_VENV, 'bin/mlflow'),
          [
            'models',
            'serve',
            '-m',
            path.join(work, 'mlflow-model'),
            '--env-manager',
            'local',
            '--host',
            '127.0.0.1',
            '--port',
            String(port),
            '--workers',
            String(workers),
          ],
          {
            env: { ...ENV, PATH: `${path.join(MLFLOW_VENV, 'bin')}:${process.env.PATH ?? ''}` },
            stdio: ['ignore', 'pipe', 'pipe'],
            detached: true,
          },
        );
  await startLoggedServer({
    name,
    child,
    logFile: path.join(work, `${name.toLowerCase()}-w${workers}.log`),
    base,
    healthPath: '/ping',
    timeoutMs: 120_000,
    intervalMs: 200,
  });
  return { name, base, child };
}

async function stopServer(s: Server): Promise<void> {
  const exited = new Promise<void>((resolve) => s.child.once('exit', () => resolve()));
  // mlflow's CLI runs uvicorn as a child: signal the whole process group it leads.
  try {
    if (s.name === 'MLflow' && s.child.pid) process.kill(-s.child.pid, 'SIGTERM');
    else s.child.kill('SIGTERM');
  } catch {
    // already gone
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
}

/** CPU time (ms, user + system) of a process and all its descendants, from /proc. */
async function treeCpuMs(rootPid: number): Promise<number> {
  const { readdir, readFile } = await import('node:fs/promises');
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = await readFile(`/proc/${entry}/stat`, 'utf8');
      // fields after the parenthesised command: state ppid … utime(14) stime(15)
      const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), {
        ppid: Number(rest[1]),
        ticks: Number(rest[11]) + Number(rest[12]),
      });
    } catch {
      // exited meanwhile
    }
  }
  let ticks = 0;
  const stack = [rootPid];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    ticks += stats.get(pid)?.ticks ?? 0;
    for (const [child, st] of stats) if (st.ppid === pid) stack.push(child);
  }
  return (ticks * 1000) / CLOCK_TICKS;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

async function predictions(s: Server, payload: string): Promise<unknown> {
  const res = await request(s.base, 'POST', '/invocations', payload);
  if (res.status !== 200)
    throw new Error(`${s.name} /invocations: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  return (JSON.parse(res.body) as { predictions: unknown }).predictions;
}

interface Cell {
  workers: number;
  rowsPerRequest: number;
  rps: Record<Server['name'], number[]>;
  latencies: Record<Server['name'], number[]>;
  errors: Record<Server['name'], number>;
  /** server CPU ms (all its processes) per request, one value per rep */
  cpuPerRequest: Record<Server['name'], number[]>;
}

async function measure(
  s: Server,
  payloads: string[],
): Promise<{ rps: number; lat: number[]; errors: number; cpuMs: number }> {
  const cpu0 = await treeCpuMs(s.child.pid!);
  const result = await closedLoop({
    clients,
    warmupMs,
    durationMs,
    op: async (client, i) => {
      const res = await request(
        s.base,
        'POST',
        '/invocations',
        payloads[(client + i) % payloads.length],
      );
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
      return 1;
    },
  });
  const cpuMs = (await treeCpuMs(s.child.pid!)) - cpu0;
  const done = result.totalItems;
  return {
    rps: result.ops / result.seconds,
    lat: result.latencies,
    errors: result.errors,
    cpuMs: done > 0 ? cpuMs / done : NaN,
  };
}

async function main(): Promise<void> {
  const mlflowVersion = await ensureMlflowInstalled();
  const work = await mkdtemp(path.join(os.tmpdir(), 'cairn-b9-'));
  log(
    `work dir ${work}; ${mlflowVersion}; workers ${workerCounts.join(',')}; ${clients} clients; ${reps} rep(s)`,
  );
  await run(SDK_PYTHON, [path.join(REPO, 'bench/b9_model.py'), 'cairn', work], { env: ENV });
  await run(SDK_PYTHON, [path.join(REPO, 'bench/b9_onnx_model.py'), work], { env: ENV });
  await run(MLFLOW_PYTHON, [path.join(REPO, 'bench/b9_model.py'), 'mlflow', work], { env: ENV });
  const { stdout: versions } = await run(
    SDK_PYTHON,
    [
      '-c',
      'import sklearn, skl2onnx, sys; print(f"Python {sys.version.split()[0]}, scikit-learn {sklearn.__version__}, skl2onnx {skl2onnx.__version__}")',
    ],
    { env: ENV },
  );
  const cells: Cell[] = [];
  try {
    for (const workers of workerCounts) {
      const servers = [
        await startServer('Cairn', work, workers),
        await startServer('MLflow', work, workers),
      ];
      try {
        // Same answers first: 1, 7 and 100 rows.
        for (const [n, seed] of [
          [1, 1],
          [7, 2],
          [100, 3],
        ] as const) {
          const [onnx, b] = await Promise.all(servers.map((s) => predictions(s, body(n, seed))));
          // the ONNX graph answers records {label, probabilities}; MLflow the labels
          const a = (onnx as { label: number }[]).map((r) => r.label);
          if (JSON.stringify(a) !== JSON.stringify(b))
            throw new Error(
              `different predictions for ${n} rows: Cairn ${JSON.stringify(a)} MLflow ${JSON.stringify(b)}`,
            );
        }
        for (const rowsPerRequest of [1, 100]) {
          const payloads = Array.from({ length: 32 }, (_, i) => body(rowsPerRequest, 100 + i));
          const cell: Cell = {
            workers,
            rowsPerRequest,
            rps: { Cairn: [], MLflow: [] },
            latencies: { Cairn: [], MLflow: [] },
            errors: { Cairn: 0, MLflow: 0 },
            cpuPerRequest: { Cairn: [], MLflow: [] },
          };
          for (let rep = 0; rep < reps; rep++) {
            const order = (rep + rowsPerRequest) % 2 === 0 ? servers : [...servers].reverse();
            for (const s of order) {
              const r = await measure(s, payloads);
              cell.rps[s.name].push(r.rps);
              cell.latencies[s.name].push(...r.lat);
              cell.errors[s.name] += r.errors;
              cell.cpuPerRequest[s.name].push(r.cpuMs);
              log(
                `${workers}w ${rowsPerRequest} row(s) rep ${rep + 1} ${s.name}: ${r.rps.toFixed(0)} req/s, p99 ${fmtMs(summarize(r.lat).p99)}, server CPU ${r.cpuMs.toFixed(2)} ms/request`,
              );
            }
          }
          cells.push(cell);
        }
      } finally {
        for (const s of servers) await stopServer(s);
      }
    }
  } finally {
    if (!args.keep) await rm(work, { recursive: true, force: true });
  }

  const lines = [
    `# B9-ONNX: the TypeScript ONNX server (\`npx tsx bench/b9-onnx.ts${quick ? ' --quick' : ''}\`)`,
    '',
    `${new Date().toISOString().slice(0, 10)}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB; ${versions.trim()}; ${mlflowVersion}.`,
    `Model: B9's scikit-learn LogisticRegression (8 float columns, column signature; bench/b9_model.py); Cairn serves its skl2onnx conversion (bench/b9_onnx_model.py, answers label + probabilities), MLflow the estimator itself (sklearn flavor, answers labels).`,
    `Cairn: \`npx cairn models serve --threads 1\` (one Node process, onnxruntime-node ${ORT_VERSION}); MLflow: \`mlflow models serve --env-manager local --workers N\` (uvicorn + FastAPI; its default is 1 worker). "workers" is MLflow's.`,
    `Load: ${clients} closed-loop clients (one Node process, keep-alive), \`dataframe_split\` bodies, ${warmupMs / 1000} s warm-up + ${durationMs / 1000} s window, ${reps} rep(s) interleaved ABBA; req/s = median over reps, latency percentiles over all samples.`,
    '',
    "Server CPU/request: user + system CPU of all the server's processes (from /proc) over warm-up and window, divided by the requests answered: the figure least moved by other load on the box (median over reps).",
    '',
    '| workers | rows/request | Cairn req/s | MLflow req/s | ratio | Cairn p50 / p99 | MLflow p50 / p99 | server CPU/request Cairn / MLflow | CPU ratio | errors (Cairn / MLflow) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of cells) {
    const a = median(c.rps.Cairn);
    const b = median(c.rps.MLflow);
    const la = summarize(c.latencies.Cairn);
    const lb = summarize(c.latencies.MLflow);
    const ca = median(c.cpuPerRequest.Cairn);
    const cb = median(c.cpuPerRequest.MLflow);
    lines.push(
      `| ${c.workers} | ${c.rowsPerRequest} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${fmtRatio(a / b)} | ${fmtMs(la.p50)} / ${fmtMs(la.p99)} | ${fmtMs(lb.p50)} / ${fmtMs(lb.p99)} | ${fmtMs(ca)} / ${fmtMs(cb)} | ${fmtRatio(cb / ca)} | ${c.errors.Cairn} / ${c.errors.MLflow} |`,
    );
  }
  lines.push('');
  await writeFile(outFile, lines.join('\n'));
  console.log(lines.join('\n'));
  log(`wrote ${outFile}`);
}

await main();
