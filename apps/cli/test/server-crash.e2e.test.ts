/**
 * The real `cairn server` (local mode: embedded PostgreSQL under --home, projector tailing the
 * log in-process) as a child process:
 *
 * - `kill -9` in the middle of writes (requests in flight), start again on the same home: every
 *   acknowledged write is there, batches are all-or-nothing, and /readyz reports lag 0;
 * - SIGINT shuts down cleanly (exit 0, PostgreSQL stopped) and a restart keeps the data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allProjections } from '@cairn/projector';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const cairnBin = path.join(repoRoot, 'apps/cli/bin/cairn.js');

interface RunningServer {
  proc: ChildProcess;
  url: string;
  /** Start attempts it took ("already running" while the previous PostgreSQL was still stopping). */
  attempts: number;
  startMs: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let home: string;
let port: number;
let server: RunningServer | undefined;
const notes: string[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

async function httpStatus(url: string): Promise<number | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return null;
  }
}

function spawnServer(): Omit<RunningServer, 'attempts' | 'startMs'> {
  const proc = spawn(
    process.execPath,
    [cairnBin, 'server', '--home', home, '--port', String(port)],
    {
      cwd: repoRoot,
      env: { ...process.env, CAIRN_DATABASE_URL: '', CAIRN_KAFKA_BROKERS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, url: `http://127.0.0.1:${port}`, output: () => output, exited };
}

/**
 * Starts `cairn server` and waits for /healthz 200. A start right after a kill -9 may find the
 * old PostgreSQL still owned by its watchdog ("already running"): retried for up to 30 s.
 */
async function startServer(): Promise<RunningServer> {
  const t0 = Date.now();
  for (let attempt = 1; ; attempt++) {
    const s = spawnServer();
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void s.exited.then((e) => (exit = e));
    const deadline = Date.now() + 90_000;
    while (!exit && (await httpStatus(`${s.url}/healthz`)) !== 200) {
      if (Date.now() > deadline) {
        s.proc.kill('SIGKILL');
        throw new Error(`cairn server not healthy after 90 s:\n${s.output()}`);
      }
      await sleep(100);
    }
    if (!exit) return { ...s, attempts: attempt, startMs: Date.now() - t0 };
    if (/already running/i.test(s.output()) && Date.now() - t0 < 30_000) {
      await sleep(500);
      continue;
    }
    throw new Error(
      `cairn server exited (${JSON.stringify(exit)}) before it was healthy:\n${s.output()}`,
    );
  }
}

async function stopWith(s: RunningServer, signal: NodeJS.Signals, timeoutMs = 60_000) {
  s.proc.kill(signal);
  const result = await Promise.race([s.exited, sleep(timeoutMs).then(() => null)]);
  if (!result) {
    s.proc.kill('SIGKILL');
    throw new Error(
      `cairn server did not exit within ${timeoutMs} ms after ${signal}:\n${s.output()}`,
    );
  }
  return result;
}

interface GqlResult<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

async function gql<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GqlResult<T>> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GqlResult<T>;
}

function ok<T>(result: GqlResult<T>): T {
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!;
}

interface Readiness {
  ready: boolean;
  transport: string;
  projections: { projection: string; events: number; seconds: number }[];
}

async function waitForLagZero(url: string, timeoutMs = 30_000): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const response = await fetch(`${url}/readyz`).catch(() => null);
    if (response) {
      const body = (await response.json()) as Readiness;
      last = body;
      if (
        response.status === 200 &&
        body.projections.length > 0 &&
        body.projections.every((p) => p.events === 0)
      )
        return body;
    }
    if (Date.now() > deadline)
      throw new Error(`/readyz never reported lag 0: ${JSON.stringify(last)}`);
    await sleep(100);
  }
}

const POINTS_PER_BATCH = 20;
const metricValue = (step: number) => Math.sin(step) * 10 + step / 1000;

interface Snapshot {
  runs: Record<
    string,
    { steps: number[]; values: number[]; params: Record<string, string>; latest: unknown }
  >;
}

/** What GraphQL shows of the runs: full metric history (no downsampling below 100k), params, latest. */
async function snapshot(url: string, runIds: readonly string[]): Promise<Snapshot> {
  const runs: Snapshot['runs'] = {};
  for (const id of runIds) {
    const data = ok(
      await gql<{
        run: {
          history: { step: number; value: number }[];
          params: { key: string; value: string }[];
          latestMetrics: { key: string; step: number; value: number }[];
        } | null;
      }>(
        url,
        `query($id: String!) { run(id: $id) {
          history: metricHistory(key: "loss", maxPoints: 100000) { step value }
          params { key value }
          latestMetrics { key step value }
        } }`,
        { id },
      ),
    );
    expect(data.run, `run ${id}`).not.toBeNull();
    runs[id] = {
      steps: data.run!.history.map((p) => p.step),
      values: data.run!.history.map((p) => p.value),
      params: Object.fromEntries(data.run!.params.map((p) => [p.key, p.value])),
      latest: data.run!.latestMetrics,
    };
  }
  return { runs };
}

beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'cairn-crash-home-'));
  port = await freePort();
});

afterAll(async () => {
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) {
    await stopWith(server, 'SIGINT').catch(() => undefined);
  }
  // Give a watchdog-driven PostgreSQL shutdown time to finish before the directory goes.
  const lock = path.join(home, 'postgres', 'pgdata', 'postmaster.pid');
  for (let i = 0; i < 100 && existsSync(lock); i++) await sleep(100);
  await rm(home, { recursive: true, force: true });
  console.info(`[server-crash] ${notes.join('; ')}`);
}, 120_000);

describe('cairn server (local mode) survives kill -9 and stops cleanly', () => {
  const runIds: string[] = [];
  let acknowledgedSnapshot: Snapshot | undefined;

  it('kill -9 during writes (3 times, at random moments) loses no acknowledged write; each restart catches up to lag 0', async () => {
    server = await startServer();
    notes.push(`first start (initdb included) ${server.startMs} ms`);

    const exp = ok(
      await gql<{ createExperiment: { id: string } }>(
        server.url,
        `mutation { createExperiment(name: "crash test") { id } }`,
      ),
    );
    for (let i = 0; i < 4; i++) {
      const run = ok(
        await gql<{ createRun: { id: string } }>(
          server.url,
          `mutation($e: String!) { createRun(experimentId: $e, name: "writer ${i}") { id } }`,
          {
            e: exp.createExperiment.id,
          },
        ),
      );
      runIds.push(run.createRun.id);
    }

    type Batch = { runId: string; index: number };
    const acked: Batch[] = [];
    const sentButUnanswered: Batch[] = [];
    const nextIndex = new Map(runIds.map((id) => [id, 0]));
    const seed = Number(process.env['CAIRN_TEST_SEED'] ?? Date.now() % 100_000);
    let random = seed;
    const rand = () => (random = (random * 48271) % 2147483647) / 2147483647;

    for (let cycle = 1; cycle <= 3; cycle++) {
      const url = server.url;
      // One writer per run; two wait for read-your-writes, two ingest in bulk (sync: false).
      const inFlight = new Set<Batch>();
      const otherFailures: string[] = [];
      let killed = false;
      let ackedThisCycle = 0;
      const writers = runIds.map(async (runId, w) => {
        for (;;) {
          const index = nextIndex.get(runId)!;
          nextIndex.set(runId, index + 1);
          const batch = { runId, index };
          const metrics = Array.from({ length: POINTS_PER_BATCH }, (_, i) => {
            const step = index * POINTS_PER_BATCH + i;
            return {
              key: 'loss',
              value: metricValue(step),
              step,
              timestamp: 1_750_000_000_000 + step,
            };
          });
          inFlight.add(batch);
          let result: GqlResult<unknown>;
          try {
            result = await gql(
              url,
              `mutation($runId: String!, $metrics: [MetricInput!], $params: [KeyValueInput!], $sync: Boolean) {
                logBatch(runId: $runId, metrics: $metrics, params: $params, sync: $sync) { id }
              }`,
              {
                runId,
                metrics,
                params: [{ key: `batch-${index}`, value: `${runId}:${index}` }],
                sync: w < 2,
              },
            );
          } catch (error) {
            inFlight.delete(batch);
            if (!killed) otherFailures.push(`before the kill: ${String(error)}`);
            sentButUnanswered.push(batch);
            return; // the server is gone
          }
          inFlight.delete(batch);
          if (result.errors) {
            otherFailures.push(JSON.stringify(result.errors));
            return;
          }
          acked.push(batch);
          ackedThisCycle += 1;
        }
      });

      // Let writes flow for a random while, then kill -9 while requests are in flight.
      const writeMs = 300 + Math.floor(rand() * 1500);
      await sleep(writeMs);
      const deadline = Date.now() + 30_000;
      while (ackedThisCycle < 20 && Date.now() < deadline) await sleep(10);
      expect(ackedThisCycle).toBeGreaterThanOrEqual(20);
      while (inFlight.size === 0) await sleep(1);
      const inFlightAtKill = inFlight.size;
      killed = true;
      expect(server.proc.kill('SIGKILL')).toBe(true);
      expect(await server.exited).toEqual({ code: null, signal: 'SIGKILL' });
      await Promise.all(writers);
      expect(otherFailures).toEqual([]);
      expect(inFlightAtKill).toBeGreaterThan(0);

      // Start again on the same home, right away.
      server = await startServer();
      const ready = await waitForLagZero(server.url);
      expect(ready.transport).toBe('postgres');
      expect(ready.projections.map((p) => p.projection).sort()).toEqual(
        allProjections.map((p) => p.name).sort(),
      );

      const snap = await snapshot(server.url, runIds);
      let unansweredPersisted = 0;
      for (const runId of runIds) {
        const run = snap.runs[runId]!;
        // No point twice, and each point has its value.
        expect(new Set(run.steps).size).toBe(run.steps.length);
        run.steps.forEach((step, i) =>
          expect(run.values[i], `step ${step}`).toBe(metricValue(step)),
        );
        // Batches are all-or-nothing: points and param together.
        const present = new Set(run.steps.map((s) => Math.floor(s / POINTS_PER_BATCH)));
        for (const index of present) {
          for (let i = 0; i < POINTS_PER_BATCH; i++)
            expect(run.steps).toContain(index * POINTS_PER_BATCH + i);
          expect(run.params[`batch-${index}`]).toBe(`${runId}:${index}`);
        }
        expect(Object.keys(run.params).length).toBe(present.size);
        // Every acknowledged batch is there; beyond them only requests that went unanswered.
        const ackedHere = new Set(acked.filter((b) => b.runId === runId).map((b) => b.index));
        for (const index of ackedHere)
          expect(
            present.has(index),
            `cycle ${cycle}: acknowledged batch ${index} of ${runId}`,
          ).toBe(true);
        const unanswered = sentButUnanswered.filter((b) => b.runId === runId).map((b) => b.index);
        const extra = [...present].filter((i) => !ackedHere.has(i));
        expect(
          extra.every((i) => unanswered.includes(i)),
          `unacknowledged batches present: ${extra.join(',')}`,
        ).toBe(true);
        unansweredPersisted += extra.length;
        const maxStep = Math.max(...run.steps);
        expect(run.latest).toEqual([{ key: 'loss', step: maxStep, value: metricValue(maxStep) }]);
      }
      notes.push(
        `cycle ${cycle}: kill -9 after ${writeMs}+ ms with ${inFlightAtKill} requests in flight, ${acked.length} acknowledged batches ` +
          `(${acked.length * POINTS_PER_BATCH} points) so far, all present; ${unansweredPersisted} of ${sentButUnanswered.length} unanswered ` +
          `batches had committed; restart ${server.startMs} ms, ${server.attempts} attempt(s)`,
      );
    }
    notes.push(`seed ${seed}`);

    // The restarted server takes new writes.
    const more = ok(
      await gql<{ logBatch: { latestMetrics: { step: number }[] } }>(
        server.url,
        `mutation($runId: String!) { logBatch(runId: $runId, metrics: [{ key: "loss", value: 1, step: 1000000 }]) { latestMetrics { step } } }`,
        { runId: runIds[0] },
      ),
    );
    expect(more.logBatch.latestMetrics).toEqual([{ step: 1_000_000 }]);
    await waitForLagZero(server.url);
    acknowledgedSnapshot = await snapshot(server.url, runIds);
  });

  it('SIGINT shuts down cleanly (exit 0, PostgreSQL stopped) and a restart keeps the data', async () => {
    expect(acknowledgedSnapshot, 'needs the kill -9 test first').toBeDefined();
    const running = server!;
    const lockFile = path.join(home, 'postgres', 'pgdata', 'postmaster.pid');
    expect(existsSync(lockFile), 'the embedded PostgreSQL runs under --home').toBe(true);
    const t0 = Date.now();
    const exit = await stopWith(running, 'SIGINT');
    expect(exit, running.output()).toEqual({ code: 0, signal: null });
    expect(running.output()).toMatch(/stopped/);
    // The embedded PostgreSQL went down with it: no lock file left behind.
    expect(existsSync(lockFile)).toBe(false);
    const stopMs = Date.now() - t0;

    server = await startServer();
    expect(server.attempts).toBe(1); // nothing left running to wait for
    notes.push(`SIGINT exit 0 in ${stopMs} ms; clean restart ${server.startMs} ms`);
    await waitForLagZero(server.url);
    expect(await snapshot(server.url, runIds)).toEqual(acknowledgedSnapshot);
    const experiments = ok(
      await gql<{ experiments: { totalCount: number; nodes: { name: string }[] } }>(
        server.url,
        `{ experiments { totalCount nodes { name } } }`,
      ),
    );
    expect(experiments.experiments).toEqual({ totalCount: 1, nodes: [{ name: 'crash test' }] });

    const exit2 = await stopWith(server, 'SIGINT');
    expect(exit2, server.output()).toEqual({ code: 0, signal: null });
  });
});
