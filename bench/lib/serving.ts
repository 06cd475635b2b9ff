/**
 * What the B9 serving benches share: deterministic `dataframe_split` bodies, a free port, the CPU
 * time of a server's whole process tree, one closed-loop measurement of `/invocations`, and the
 * B9 run itself (two scoring servers, same model, interleaved ABBA; bench/b9.ts and
 * bench/b9-onnx.ts differ only in how Cairn's server is started and what they print).
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { REPO } from './cairn.ts';
import { request, startLoggedServer, type HttpResponse } from './http.ts';
import { closedLoop } from './load.ts';
import { ensureMlflowInstalled, MLFLOW_VENV } from './mlflow.ts';
import { fmtMs, fmtRatio, median, summarize } from './stats.ts';

export const run = promisify(execFile);

export const SDK_PYTHON = path.join(REPO, 'sdks/python/.venv/bin/python');
export const MLFLOW_PYTHON = path.join(MLFLOW_VENV, 'bin/python');
export const COLUMNS = Array.from({ length: 8 }, (_, i) => `f${i}`);
/** One BLAS/OpenMP thread per server process, so worker counts mean what they say. */
export const SERVING_ENV = {
  ...process.env,
  OMP_NUM_THREADS: '1',
  OPENBLAS_NUM_THREADS: '1',
  MKL_NUM_THREADS: '1',
};

export function logger(tag: string): (msg: string) => void {
  return (msg) => console.log(`[${tag} ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** Deterministic rows (a small LCG), so that every system gets byte-identical bodies. */
export function rows(n: number, seed: number): number[][] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.round(((s / 2 ** 32) * 6 - 3) * 1e4) / 1e4;
  };
  return Array.from({ length: n }, () => COLUMNS.map(() => next()));
}

export function body(n: number, seed: number): string {
  return JSON.stringify({ dataframe_split: { columns: COLUMNS, data: rows(n, seed) } });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU time (ms, user + system) of a process and all its descendants, from /proc. */
export async function treeCpuMs(rootPid: number): Promise<number> {
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

/** SIGTERM (the whole process group when the server leads one), then wait up to `waitMs`. */
export async function stopProcess(
  child: ChildProcess,
  group = false,
  waitMs = 15_000,
): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    if (group && child.pid) process.kill(-child.pid, 'SIGTERM');
    else child.kill('SIGTERM');
  } catch {
    // already gone
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, waitMs))]);
}

export interface LoadShape {
  clients: number;
  warmupMs: number;
  durationMs: number;
}

export interface Measured {
  rps: number;
  lat: number[];
  errors: number;
  /** server CPU ms (all its processes) per answered request */
  cpuMs: number;
}

/**
 * One closed-loop window against `/invocations`, the payloads taken round-robin. `check` sees
 * each 200 answer (e.g. to count variants); a non-200 answer counts as an error.
 */
export async function measureInvocations(
  base: URL,
  pid: number,
  payloads: string[],
  shape: LoadShape,
  check?: (res: HttpResponse) => void,
): Promise<Measured> {
  const cpu0 = await treeCpuMs(pid);
  const result = await closedLoop({
    ...shape,
    op: async (client, i) => {
      const res = await request(
        base,
        'POST',
        '/invocations',
        payloads[(client + i) % payloads.length],
      );
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
      check?.(res);
      return 1;
    },
  });
  const cpuMs = (await treeCpuMs(pid)) - cpu0;
  const done = result.totalItems;
  return {
    rps: result.ops / result.seconds,
    lat: result.latencies,
    errors: result.errors,
    cpuMs: done > 0 ? cpuMs / done : NaN,
  };
}

type Name = 'Cairn' | 'MLflow';

interface Server {
  name: Name;
  base: URL;
  child: ChildProcess;
}

interface Cell {
  workers: number;
  rowsPerRequest: number;
  rps: Record<Name, number[]>;
  latencies: Record<Name, number[]>;
  errors: Record<Name, number>;
  cpuPerRequest: Record<Name, number[]>;
}

/** How one B9 variant differs from the others. */
export interface ServingBench {
  /** log tag and result file stem: `b9` → bench/results/b9.md (quick: b9-quick.md) */
  tag: string;
  /** Cairn's scoring server for a model folder under `work`, on `port`, with MLflow's worker count */
  cairnCommand(
    work: string,
    port: number,
    workers: number,
  ): { command: string; args: string[]; options: SpawnOptions };
  /** writes the models into `work` (after bench/b9_model.py has written both formats) */
  prepare?(work: string): Promise<void>;
  /** a Python one-liner printing the versions that matter */
  versionsScript: string;
  /** Cairn's predictions in MLflow's shape, for the equality check */
  labels?: (cairnPredictions: unknown) => unknown;
  /** the result file's title and the lines describing model and servers */
  title(quick: boolean): string;
  describe: string[];
}

async function startServer(
  bench: ServingBench,
  name: Name,
  work: string,
  workers: number,
): Promise<Server> {
  const port = await freePort();
  const base = new URL(`http://127.0.0.1:${port}`);
  let child: ChildProcess;
  if (name === 'Cairn') {
    const c = bench.cairnCommand(work, port, workers);
    child = spawn(c.command, c.args, { stdio: ['ignore', 'pipe', 'pipe'], ...c.options });
  } else {
    child = spawn(
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
        env: {
          ...SERVING_ENV,
          PATH: `${path.join(MLFLOW_VENV, 'bin')}:${process.env.PATH ?? ''}`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        // mlflow's CLI runs uvicorn as a child: it leads a process group, stopped as a whole
        detached: true,
      },
    );
  }
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

async function predictions(s: Server, payload: string): Promise<unknown> {
  const res = await request(s.base, 'POST', '/invocations', payload);
  if (res.status !== 200)
    throw new Error(`${s.name} /invocations: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  return (JSON.parse(res.body) as { predictions: unknown }).predictions;
}

/**
 * The B9 run: `[--quick] [--reps N] [--workers 1,2] [--clients 16] [--out FILE] [--keep]`. Both
 * servers must answer the same predictions for 1, 7 and 100 rows before any load.
 */
export async function runServingBench(bench: ServingBench): Promise<void> {
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
  const shape: LoadShape = {
    clients: Number(args.clients ?? 16),
    warmupMs: quick ? 1000 : 2000,
    durationMs: quick ? 3000 : 8000,
  };
  const outFile =
    args.out ??
    path.join(REPO, 'bench/results', quick ? `${bench.tag}-quick.md` : `${bench.tag}.md`);
  const log = logger(bench.tag);

  const mlflowVersion = await ensureMlflowInstalled();
  const work = await mkdtemp(path.join(os.tmpdir(), `cairn-${bench.tag}-`));
  log(
    `work dir ${work}; ${mlflowVersion}; workers ${workerCounts.join(',')}; ${shape.clients} clients; ${reps} rep(s)`,
  );
  const model = path.join(REPO, 'bench/b9_model.py');
  await run(SDK_PYTHON, [model, 'cairn', work], { env: SERVING_ENV });
  await run(MLFLOW_PYTHON, [model, 'mlflow', work], { env: SERVING_ENV });
  await bench.prepare?.(work);
  const { stdout: versions } = await run(SDK_PYTHON, ['-c', bench.versionsScript], {
    env: SERVING_ENV,
  });
  const labels = bench.labels ?? ((p: unknown) => p);
  const cells: Cell[] = [];
  try {
    for (const workers of workerCounts) {
      const servers = [
        await startServer(bench, 'Cairn', work, workers),
        await startServer(bench, 'MLflow', work, workers),
      ];
      try {
        for (const [n, seed] of [
          [1, 1],
          [7, 2],
          [100, 3],
        ] as const) {
          const [cairn, mlflow] = await Promise.all(
            servers.map((s) => predictions(s, body(n, seed))),
          );
          const a = labels(cairn);
          if (JSON.stringify(a) !== JSON.stringify(mlflow))
            throw new Error(
              `different predictions for ${n} rows: Cairn ${JSON.stringify(a)} MLflow ${JSON.stringify(mlflow)}`,
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
              const r = await measureInvocations(s.base, s.child.pid!, payloads, shape);
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
        for (const s of servers) await stopProcess(s.child, s.name === 'MLflow');
      }
    }
  } finally {
    if (!args.keep) await rm(work, { recursive: true, force: true });
  }

  const lines = [
    bench.title(quick),
    '',
    `${new Date().toISOString().slice(0, 10)}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB; ${versions.trim()}; ${mlflowVersion}.`,
    ...bench.describe,
    `Load: ${shape.clients} closed-loop clients (one Node process, keep-alive), \`dataframe_split\` bodies, ${shape.warmupMs / 1000} s warm-up + ${shape.durationMs / 1000} s window, ${reps} rep(s) interleaved ABBA; req/s = median over reps, latency percentiles over all samples.`,
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
