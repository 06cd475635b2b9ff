import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { getJson, postJson, request, startLoggedServer, waitUntil } from './http.ts';
import type { KV, Point } from './data.ts';

export const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'apps/cli/bin/cairn.js');

/** `#!/usr/bin/env -S node --flag …` → the flags, as users get them through `npx cairn`. */
function binNodeFlags(): string[] {
  const first = readFileSync(CLI, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env -S node((?: \S+)*)$/.exec(first);
  return m?.[1]?.trim().split(' ').filter(Boolean) ?? [];
}

interface GraphQLResponse<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export interface CairnOptions {
  port: number;
  /** Local mode: the CLI starts its embedded PostgreSQL here. */
  home?: string;
  /** Scale mode: an external PostgreSQL and Kafka. */
  databaseUrl?: string;
  kafkaBrokers?: string;
  logFile: string;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
}

export interface Readiness {
  projections: { projection: string; events: number; seconds?: number }[];
  relay?: { events: number };
}

/** A Cairn server process (`cairn server`) and a thin GraphQL client for it. */
export class Cairn {
  readonly base: URL;
  private child: ChildProcess | null = null;
  /** Metric points acknowledged by this server (durability check at the end). */
  ackedPoints = 0;

  constructor(readonly opts: CairnOptions) {
    this.base = new URL(`http://127.0.0.1:${opts.port}`);
  }

  get mode(): 'local' | 'scale' {
    return this.opts.kafkaBrokers ? 'scale' : 'local';
  }

  async start(): Promise<void> {
    // The node flags of the bin's first line (`npx cairn` runs it as a program), then ours.
    const args = [
      ...binNodeFlags(),
      ...(this.opts.nodeFlags ?? []),
      CLI,
      'server',
      '--port',
      String(this.opts.port),
    ];
    if (this.opts.home) args.push('--home', this.opts.home);
    if (this.opts.databaseUrl) args.push('--database-url', this.opts.databaseUrl);
    if (this.opts.kafkaBrokers) args.push('--kafka-brokers', this.opts.kafkaBrokers);
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    await startLoggedServer({
      name: 'Cairn',
      child,
      logFile: this.opts.logFile,
      base: this.base,
      healthPath: '/readyz',
      timeoutMs: 120_000,
      intervalMs: 200,
    });
    // Warm up (first requests compile and plan lazily), as for MLflow.
    const exp = await this.createExperiment(`warmup-${Date.now()}`);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const id = await this.createRun(exp);
        await this.logBatch(
          id,
          [{ key: 'w', value: 1, step: 0, timestamp: Date.now() }],
          [{ key: 'p', value: '1' }],
          [],
          true,
        );
        await this.gql(
          'query($e: [String!]!) { runs(experimentIds: $e, first: 10) { edges { node { id } } } }',
          { e: [exp] },
        );
      }),
    );
  }

  /** SIGINT (graceful: the CLI stops API, projector and its PostgreSQL) and wait. */
  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await done;
    clearTimeout(timer);
    this.child = null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Connection string of the local-mode embedded PostgreSQL (port from postmaster.pid). */
  async localDatabaseUrl(): Promise<string> {
    if (this.opts.databaseUrl) return this.opts.databaseUrl;
    const dir = path.join(this.opts.home!, 'postgres');
    const pid = await readFile(path.join(dir, 'pgdata', 'postmaster.pid'), 'utf8');
    const port = pid.split('\n')[3]!.trim();
    const password = (await readFile(path.join(dir, 'superuser-password'), 'utf8')).trim();
    return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/cairn`;
  }

  async gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await postJson<GraphQLResponse<T>>(
      this.base,
      '/graphql',
      { query, variables },
      'cairn graphql',
    );
    if (res.errors?.length)
      throw new Error(`cairn graphql: ${res.errors.map((e) => e.message).join('; ')}`);
    return res.data!;
  }

  /** Raw request with a pre-serialised body (hot loops). */
  async gqlRaw(body: string): Promise<void> {
    const res = await request(this.base, 'POST', '/graphql', body);
    if (res.status !== 200 || res.body.includes('"errors"')) {
      throw new Error(`cairn graphql: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    }
  }

  async createExperiment(name: string): Promise<string> {
    const d = await this.gql<{ createExperiment: { id: string } }>(
      'mutation($name: String!) { createExperiment(name: $name) { id } }',
      { name },
    );
    return d.createExperiment.id;
  }

  async createRun(experimentId: string, tags: KV[] = [], startTime?: number): Promise<string> {
    const d = await this.gql<{ createRun: { id: string } }>(
      'mutation($e: String!, $tags: [KeyValueInput!], $t: Timestamp) { createRun(experimentId: $e, tags: $tags, startTime: $t) { id } }',
      { e: experimentId, tags, t: startTime ?? null },
    );
    return d.createRun.id;
  }

  static logBatchBody(
    runId: string,
    metrics: Point[],
    params: KV[] = [],
    tags: KV[] = [],
    sync = false,
  ): string {
    return JSON.stringify({
      query:
        'mutation($r: String!, $m: [MetricInput!], $p: [KeyValueInput!], $t: [KeyValueInput!], $s: Boolean) { logBatch(runId: $r, metrics: $m, params: $p, tags: $t, sync: $s) { id } }',
      variables: { r: runId, m: metrics, p: params, t: tags, s: sync },
    });
  }

  async logBatch(
    runId: string,
    metrics: Point[],
    params: KV[] = [],
    tags: KV[] = [],
    sync = false,
  ): Promise<void> {
    await this.gqlRaw(Cairn.logBatchBody(runId, metrics, params, tags, sync));
    this.ackedPoints += metrics.length;
  }

  async readiness(): Promise<Readiness> {
    return getJson<Readiness>(this.base, '/readyz');
  }

  /** Events not yet projected (relay + projections in scale mode); -1 when unknown. */
  async lag(): Promise<number> {
    const r = await this.readiness();
    let total = r.relay?.events ?? 0;
    for (const p of r.projections) {
      if (p.events < 0) return -1;
      total += p.events;
    }
    return total;
  }

  /** Resolves when every acknowledged write is queryable (lag 0 twice in a row); returns the time. */
  async waitQueryable(timeoutMs = 600_000): Promise<number> {
    let zeros = 0;
    await waitUntil(
      'projection lag 0',
      async () => {
        zeros = (await this.lag()) === 0 ? zeros + 1 : 0;
        return zeros >= (this.mode === 'scale' ? 2 : 1);
      },
      timeoutMs,
      25,
    );
    return performance.now();
  }

  /** Which `runs` arguments the running server supports (filter/orderBy are recent). */
  async runsArgs(): Promise<string[]> {
    const d = await this.gql<{ __type: { fields: { name: string; args: { name: string }[] }[] } }>(
      '{ __type(name: "Query") { fields { name args { name } } } }',
    );
    return d.__type.fields.find((f) => f.name === 'runs')?.args.map((a) => a.name) ?? [];
  }
}
