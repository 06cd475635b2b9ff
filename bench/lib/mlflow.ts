import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { REPO } from './cairn.ts';
import { postJson, request, startLoggedServer } from './http.ts';
import type { KV, Point } from './data.ts';

const run = promisify(execFile);

/** The pinned MLflow version; bench/setup-mlflow.sh installs it. */
export const MLFLOW_VERSION = '3.17.2';
/**
 * The venv lives under <repo>/.cache (git- and lint-ignored): MLflow ships JavaScript (its UI
 * bundle, matplotlib's) that `eslint .` would otherwise try to lint. MLFLOW_VENV overrides.
 */
export const MLFLOW_VENV =
  process.env.MLFLOW_VENV ?? path.join(REPO, '.cache/bench', `mlflow-${MLFLOW_VERSION}`);
export const MLFLOW_WORKERS = 4; // `mlflow server` default (uvicorn), stated by `mlflow server --help`

export async function ensureMlflowInstalled(): Promise<string> {
  const bin = path.join(MLFLOW_VENV, 'bin', 'mlflow');
  if (!existsSync(bin)) {
    console.log(`installing MLflow ${MLFLOW_VERSION} into ${MLFLOW_VENV} (one time)…`);
    await run('bash', [path.join(REPO, 'bench/setup-mlflow.sh')], {
      env: { ...process.env, MLFLOW_VENV },
      maxBuffer: 64 << 20,
    });
  }
  const { stdout } = await run(bin, ['--version']);
  return stdout.trim();
}

/** `mlflow server` on a PostgreSQL backend store, driven through its REST API. */
export class Mlflow {
  readonly base: URL;
  private child: ChildProcess | null = null;
  readonly pool: pg.Pool;

  constructor(
    readonly opts: { port: number; databaseUrl: string; logFile: string; workDir: string },
  ) {
    this.base = new URL(`http://127.0.0.1:${opts.port}`);
    this.pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 4 });
  }

  /** SQLAlchemy URL: MLflow 3 defaults postgresql:// to psycopg 3; the venv has psycopg2. */
  private get storeUri(): string {
    return this.opts.databaseUrl.replace(/^postgres(ql)?:/, 'postgresql+psycopg2:');
  }

  async start(): Promise<void> {
    const bin = path.join(MLFLOW_VENV, 'bin', 'mlflow');
    // The server's background job runner (on by default since MLflow 3.x: online scoring, trace
    // archival; nothing this benchmark uses) is switched off so that it takes no CPU from either
    // system: conservative for Cairn's ratios.
    // Its SQLAlchemy pool is raised from 5 + 10 to 10 + 30 connections per worker (160 in all,
    // under max_connections=200): log_batch holds one connection while its helpers check out
    // another, so with the default pool ≥ 32 concurrent log-batch clients exhaust it and every
    // request then fails after 30 s (QueuePool timeout). Favourable to MLflow.
    const env = {
      ...process.env,
      MLFLOW_TRACKING_URI: '',
      MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
      // No usage telemetry from the server process (B5's OTLP handler records an event per
      // request with traces; nothing here may call out to the network).
      MLFLOW_DISABLE_TELEMETRY: 'true',
      MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: '10',
      MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: '30',
    };
    const upgrade = await run(bin, ['db', 'upgrade', this.storeUri], { env, maxBuffer: 64 << 20 });
    await appendFile(this.opts.logFile, upgrade.stdout + upgrade.stderr);
    const child = spawn(
      bin,
      [
        'server',
        '--backend-store-uri',
        this.storeUri,
        '--default-artifact-root',
        path.join(this.opts.workDir, 'mlartifacts'),
        '--host',
        '127.0.0.1',
        '--port',
        String(this.opts.port),
        '--workers',
        String(MLFLOW_WORKERS),
      ],
      { cwd: this.opts.workDir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    this.child = child;
    await startLoggedServer({
      name: 'MLflow',
      child,
      logFile: this.opts.logFile,
      base: this.base,
      healthPath: '/health',
      timeoutMs: 180_000,
      intervalMs: 250,
    });
    // Every worker imports lazily on its first requests: warm them all up before measuring.
    const exp = await this.createExperiment(`warmup-${Date.now()}`);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const id = await this.createRun(exp);
        await this.logBatch(
          id,
          [{ key: 'w', value: 1, step: 0, timestamp: Date.now() }],
          [{ key: 'p', value: '1' }],
        );
        await this.api('runs/search', { experiment_ids: [exp], max_results: 10 });
      }),
    );
  }

  async stop(): Promise<void> {
    await this.pool.end().catch(() => undefined);
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Its own process group (detached): the uvicorn workers go with it.
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      child.kill('SIGTERM');
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, 20_000);
    await done;
    clearTimeout(timer);
    this.child = null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  api<T>(endpoint: string, payload: unknown): Promise<T> {
    return postJson<T>(this.base, `/api/2.0/mlflow/${endpoint}`, payload, `mlflow ${endpoint}`);
  }

  async get<T>(pathAndQuery: string): Promise<T> {
    const res = await request(this.base, 'GET', pathAndQuery);
    if (res.status !== 200)
      throw new Error(`mlflow GET ${pathAndQuery}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    return JSON.parse(res.body) as T;
  }

  async createExperiment(name: string): Promise<string> {
    const r = await this.api<{ experiment_id: string }>('experiments/create', { name });
    return r.experiment_id;
  }

  async createRun(
    experimentId: string,
    tags: KV[] = [],
    startTime = Date.now(),
    name?: string,
  ): Promise<string> {
    const r = await this.api<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: experimentId,
      start_time: startTime,
      tags,
      ...(name ? { run_name: name } : {}),
    });
    return r.run.info.run_id;
  }

  static logBatchBody(runId: string, metrics: Point[], params: KV[] = [], tags: KV[] = []): string {
    return JSON.stringify({ run_id: runId, metrics, params, tags });
  }

  async logBatch(
    runId: string,
    metrics: Point[],
    params: KV[] = [],
    tags: KV[] = [],
  ): Promise<void> {
    for (let i = 0; i < Math.max(1, metrics.length); i += 1000) {
      const res = await request(
        this.base,
        'POST',
        '/api/2.0/mlflow/runs/log-batch',
        Mlflow.logBatchBody(
          runId,
          metrics.slice(i, i + 1000),
          i === 0 ? params : [],
          i === 0 ? tags : [],
        ),
      );
      if (res.status !== 200)
        throw new Error(`mlflow log-batch: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    }
  }

  /**
   * Bulk-loads runs straight into MLflow's tables (loading only; every measurement goes through
   * the REST API). The first run is created through the REST API and serves as the template: each
   * other run copies its rows in every table, with this run's id, name, start time and values.
   */
  async bulkLoadRuns(
    experimentId: string,
    indices: readonly number[],
    gen: (i: number) => { tags: KV[]; params: KV[]; metrics: Point[] },
    startTime: (i: number) => number,
  ): Promise<void> {
    const first = indices[0]!;
    const g0 = gen(first);
    const templateId = await this.createRun(
      experimentId,
      g0.tags,
      startTime(first),
      `run-${first}`,
    );
    await this.logBatch(templateId, g0.metrics, g0.params);
    const rowsOf = async (table: string) =>
      (
        await this.pool.query<{ r: Record<string, unknown> }>(
          `SELECT row_to_json(t) AS r FROM ${table} t WHERE run_uuid = $1`,
          [templateId],
        )
      ).rows.map((x) => x.r);
    const template = {
      runs: await rowsOf('runs'),
      tags: await rowsOf('tags'),
      params: await rowsOf('params'),
      metrics: await rowsOf('metrics'),
      latest_metrics: await rowsOf('latest_metrics'),
    };
    const chunk = 2000;
    for (let c = 1; c < indices.length; c += chunk) {
      const out: Record<keyof typeof template, Record<string, unknown>[]> = {
        runs: [],
        tags: [],
        params: [],
        metrics: [],
        latest_metrics: [],
      };
      for (const i of indices.slice(c, c + chunk)) {
        const id = randomUUID().replaceAll('-', '');
        const name = `run-${i}`;
        const g = gen(i);
        const tagv = new Map(g.tags.map((t) => [t.key, t.value]));
        const paramv = new Map(g.params.map((t) => [t.key, t.value]));
        const metricv = new Map(g.metrics.map((m) => [m.key, m]));
        for (const r of template.runs) {
          out.runs.push({
            ...r,
            run_uuid: id,
            name,
            start_time: startTime(i),
            artifact_uri: String(r.artifact_uri).replace(templateId, id),
          });
        }
        for (const r of template.tags) {
          const key = String(r.key);
          out.tags.push({
            ...r,
            run_uuid: id,
            value: key === 'mlflow.runName' ? name : (tagv.get(key) ?? r.value),
          });
        }
        for (const r of template.params)
          out.params.push({ ...r, run_uuid: id, value: paramv.get(String(r.key)) ?? r.value });
        for (const table of ['metrics', 'latest_metrics'] as const) {
          for (const r of template[table]) {
            const m = metricv.get(String(r.key));
            out[table].push({
              ...r,
              run_uuid: id,
              ...(m ? { value: m.value, step: m.step, timestamp: m.timestamp } : {}),
            });
          }
        }
      }
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        for (const table of Object.keys(out) as (keyof typeof out)[]) {
          if (out[table].length === 0) continue;
          await client.query(
            `INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1::json)`,
            [JSON.stringify(out[table])],
          );
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    }
  }

  /** Bulk-loads a deep metric history into one run (template: its first point, logged via REST). */
  async bulkLoadHistory(
    runId: string,
    key: string,
    n: number,
    value: (step: number) => number,
    t0: number,
  ): Promise<void> {
    await this.logBatch(runId, [{ key, value: value(0), step: 0, timestamp: t0 }]);
    const chunk = 50_000;
    for (let s = 1; s < n; s += chunk) {
      const steps: number[] = [];
      const values: number[] = [];
      for (let i = s; i < Math.min(n, s + chunk); i++) {
        steps.push(i);
        values.push(value(i));
      }
      await this.pool.query(
        `INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)
         SELECT $1, v, $2::bigint + st, $3, st, false FROM unnest($4::float8[], $5::int8[]) AS u(v, st)`,
        [key, t0, runId, values, steps],
      );
    }
    await this.pool.query(
      `UPDATE latest_metrics SET value = $1, step = $2, timestamp = $3 WHERE run_uuid = $4 AND key = $5`,
      [value(n - 1), n - 1, t0 + n - 1, runId, key],
    );
  }

  async analyze(): Promise<void> {
    await this.pool.query('ANALYZE');
  }
}
