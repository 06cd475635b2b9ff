/**
 * Exactly once from the SDK (issue 19): a `logBatch` retried with the same `idempotencyKey`
 * after its response was lost stores its points once. The loss is real: a proxy in front of the
 * server forwards the request, lets the server answer, and drops the answer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from './helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
let proxy: http.Server;
let proxyUrl = '';
/** Answers still to drop (the server has handled each before it is dropped). */
let dropNext = 0;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url });
  const upstream = new URL(api.url);
  proxy = http.createServer((req, res) => {
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          if (dropNext > 0) {
            dropNext -= 1;
            // The server applied the call; its client never hears of it.
            req.socket.destroy();
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(chunks));
        });
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => proxy.close(resolve));
  await api.stop();
  await dropDb();
});

interface GqlBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** POST through the proxy; retries (same body, so the same key) when the answer is lost. */
async function postWithRetries(
  workspace: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<{ attempts: number; body: GqlBody }> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      const res = await fetch(`${proxyUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-cairn-workspace': workspace },
        body: JSON.stringify({ query, variables }),
      });
      return { attempts: attempt, body: (await res.json()) as GqlBody };
    } catch {
      // The connection closed without an answer: retry, as an SDK does.
    }
  }
  throw new Error('no answer after 5 attempts');
}

const LOG_BATCH = `mutation($r:String!,$m:[MetricInput!],$p:[KeyValueInput!],$k:String){
  logBatch(runId:$r, metrics:$m, params:$p, idempotencyKey:$k){ id } }`;

async function newRun(workspace: string): Promise<string> {
  const ws = { 'x-cairn-workspace': workspace };
  const exp = await api.gql<{ createExperiment: { id: string } }>(
    'mutation($n:String!){createExperiment(name:$n){id}}',
    { n: `idem-${Math.random()}` },
    ws,
  );
  const run = await api.gql<{ createRun: { id: string } }>(
    'mutation($e:String!){createRun(experimentId:$e){id}}',
    { e: exp.data!.createExperiment.id },
    ws,
  );
  return run.data!.createRun.id;
}

async function history(workspace: string, runId: string, key: string): Promise<number[]> {
  const res = await api.gql<{ run: { metricHistory: { step: number }[] } }>(
    'query($r:String!,$k:String!){run(id:$r){metricHistory(key:$k,maxPoints:10000){step}}}',
    { r: runId, k: key },
    { 'x-cairn-workspace': workspace },
  );
  return res.data!.run.metricHistory.map((p) => p.step);
}

async function eventCount(workspace: string, runId: string): Promise<number> {
  const row = await api.db
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('workspace_id', '=', workspace)
    .where('stream_id', '=', `run-${runId}`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

const points = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: 'loss', value: 1 / (i + 1), step: i }));

describe('logBatch idempotencyKey', () => {
  it('a retry after a dropped answer stores the points once and answers with them', async () => {
    const w = randomWorkspaceId();
    const runId = await newRun(w);
    const before = await eventCount(w, runId);
    dropNext = 2;
    const { attempts, body } = await postWithRetries(w, LOG_BATCH, {
      r: runId,
      m: points(100),
      p: [{ key: 'lr', value: '0.1' }],
      k: 'batch-0001',
    });
    expect(attempts).toBe(3);
    expect(body.errors).toBeUndefined();
    const steps = await history(w, runId, 'loss');
    expect(steps).toHaveLength(100);
    expect(new Set(steps).size).toBe(100);
    // One params event and one metrics event, from the first attempt only.
    expect(await eventCount(w, runId)).toBe(before + 2);
  });

  it('without a key the same dropped answer duplicates the points (what the key prevents)', async () => {
    const w = randomWorkspaceId();
    const runId = await newRun(w);
    dropNext = 1;
    const { attempts } = await postWithRetries(w, LOG_BATCH, { r: runId, m: points(10) });
    expect(attempts).toBe(2);
    expect(await history(w, runId, 'loss')).toHaveLength(20);
  });

  it('concurrent calls with one key store once; other keys, runs and workspaces are apart', async () => {
    const w = randomWorkspaceId();
    const runA = await newRun(w);
    const runB = await newRun(w);
    const send = (r: string, k: string, workspace = w) =>
      api.gql(LOG_BATCH, { r, m: points(50), k }, { 'x-cairn-workspace': workspace });
    const answers = await Promise.all(Array.from({ length: 8 }, () => send(runA, 'same')));
    for (const a of answers) expect(a.errors).toBeUndefined();
    expect(await history(w, runA, 'loss')).toHaveLength(50);
    // A new key is a new batch; the same key on another run is that run's own.
    expect((await send(runA, 'other')).errors).toBeUndefined();
    expect((await send(runB, 'same')).errors).toBeUndefined();
    expect(await history(w, runA, 'loss')).toHaveLength(100);
    expect(await history(w, runB, 'loss')).toHaveLength(50);
  });

  it('refuses a malformed key with INVALID_ARGUMENT and stores nothing', async () => {
    const w = randomWorkspaceId();
    const runId = await newRun(w);
    const before = await eventCount(w, runId);
    for (const k of ['', 'a b', 'x'.repeat(129), 'naïve', 'k\u0000']) {
      const res = await api.gql(
        LOG_BATCH,
        { r: runId, m: points(3), k },
        { 'x-cairn-workspace': w },
      );
      expect(res.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
    }
    expect(await eventCount(w, runId)).toBe(before);
  });
});
