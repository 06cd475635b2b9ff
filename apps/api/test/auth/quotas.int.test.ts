/**
 * Volume quotas (issue 20: "points/s, spans/s"): a metric batch or a span export over the
 * quota of its credential is refused whole with RESOURCE_EXHAUSTED (GraphQL), 429 +
 * REQUEST_LIMIT_EXCEEDED (MLflow REST) or 429 + Retry-After (OTLP), and nothing of it is stored;
 * a credential's budget is shared across the workspaces it writes to. Real server, real Postgres.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  // 10 points and 2 spans of burst, refilled slowly: one test's calls cannot refill them.
  api = await startApiHarness({
    databaseUrl: database.url,
    quotas: { pointsPerSecond: 0.5, spansPerSecond: 0.1, burstSeconds: 20 },
  });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

async function newRun(ws: string): Promise<string> {
  const h = { 'x-cairn-workspace': ws };
  const exp = await api.gql<{ createExperiment: { id: string } }>(
    `mutation { createExperiment(name: "q-${ws}") { id } }`,
    {},
    h,
  );
  const run = await api.gql<{ createRun: { id: string } }>(
    `mutation { createRun(experimentId: "${exp.data!.createExperiment.id}") { id } }`,
    {},
    h,
  );
  return run.data!.createRun.id;
}

const batch = (runId: string, n: number, from = 0) =>
  `mutation { logBatch(runId: "${runId}", metrics: [${Array.from(
    { length: n },
    (_, i) => `{ key: "m", value: ${i}, step: ${from + i}, timestamp: 1 }`,
  ).join(', ')}]) { id } }`;

describe('volume quotas', () => {
  it('metric points: a batch over the quota is refused whole, over GraphQL and MLflow REST', async () => {
    const ws = randomWorkspaceId();
    const runId = await newRun(ws);
    const ok = await api.gql(batch(runId, 8), {}, { 'x-cairn-workspace': ws });
    expect(ok.errors).toBeUndefined();
    const refused = await api.gql(batch(runId, 8, 100), {}, { 'x-cairn-workspace': ws });
    expect(refused.errors?.[0]?.extensions?.code).toBe('RESOURCE_EXHAUSTED');
    expect(refused.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    const mlflow = await fetch(`${api.url}/api/2.0/mlflow/runs/log-batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-cairn-workspace': ws },
      body: JSON.stringify({
        run_id: runId,
        metrics: Array.from({ length: 5 }, (_, i) => ({
          key: 'm',
          value: 1,
          step: 200 + i,
          timestamp: 1,
        })),
      }),
    });
    expect(mlflow.status).toBe(429);
    expect(((await mlflow.json()) as { error_code: string }).error_code).toBe(
      'REQUEST_LIMIT_EXCEEDED',
    );
    const stored = await api.db
      .selectFrom('events')
      .select('data')
      .where('workspace_id', '=', ws)
      .where('type', '=', 'RunMetricsLogged')
      .execute();
    expect(JSON.stringify(stored)).not.toContain('"step":100');
    // The credential's budget is spent in every workspace it writes to (anonymous here).
    const other = randomWorkspaceId();
    const otherRun = await newRun(other);
    const elsewhere = await api.gql(batch(otherRun, 8), {}, { 'x-cairn-workspace': other });
    expect(elsewhere.errors?.[0]?.extensions?.code).toBe('RESOURCE_EXHAUSTED');
  });

  it('spans: an export over the quota gets 429 with Retry-After and stores nothing', async () => {
    const ws = randomWorkspaceId();
    const post = (traceId: string) =>
      fetch(`${api.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-cairn-workspace': ws },
        body: JSON.stringify({
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: [0, 1].map(() => ({
                    traceId,
                    spanId: randomBytes(8).toString('hex'),
                    name: 's',
                    startTimeUnixNano: '1700000000000000000',
                    endTimeUnixNano: '1700000001000000000',
                  })),
                },
              ],
            },
          ],
        }),
      });
    const first = randomBytes(16).toString('hex');
    expect((await post(first)).status).toBe(200);
    const second = randomBytes(16).toString('hex');
    const refused = await post(second);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const events = await api.db
      .selectFrom('events')
      .select('data')
      .where('workspace_id', '=', ws)
      .where('type', '=', 'SpansIngested')
      .execute();
    expect(JSON.stringify(events)).toContain(first);
    expect(JSON.stringify(events)).not.toContain(second);
  });
});
