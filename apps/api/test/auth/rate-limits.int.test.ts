/**
 * Rate limits per credential and per workspace (issue 20) through the real server
 * (startCairnApp, real Postgres): a flood gets 429 with Retry-After and runs nothing, other
 * credentials and workspaces keep working, health checks are never limited, and the budget
 * comes back after Retry-After.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { RateLimiter } from '../../src/auth/rate-limits.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

let perKey: ApiHarness;
let perWorkspace: ApiHarness;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  perKey = await startApiHarness({
    databaseUrl: database.url,
    security: {
      // 4 requests of burst, refilled at one per 2 s: a loaded machine cannot refill the bucket
      // between the requests of one test.
      rateLimits: { keyRequestsPerSecond: 0.5, workspaceRequestsPerSecond: 0, burstSeconds: 8 },
    },
  });
  perWorkspace = await startApiHarness({
    databaseUrl: database.url,
    security: {
      rateLimits: { keyRequestsPerSecond: 0, workspaceRequestsPerSecond: 0.5, burstSeconds: 6 },
    },
  });
});

afterAll(async () => {
  await perKey?.stop();
  await perWorkspace?.stop();
  await dropDb?.();
});

const keyA = 'cairn_aaaaaaaaaaaa_0123456789abcdefghijABCDEFGHIJ0123';
const keyB = 'cairn_bbbbbbbbbbbb_0123456789abcdefghijABCDEFGHIJ0123';

async function post(
  base: string,
  query: string,
  headers: Record<string, string>,
): Promise<Response> {
  return fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
}

describe('per credential', () => {
  it('the fifth request of a key within a second is 429 with Retry-After; nothing runs', async () => {
    const ws = randomWorkspaceId();
    // In parallel: four sequential round trips on a loaded machine can take longer than the
    // quarter second in which the bucket refills one request.
    const statuses = await Promise.all(
      [0, 1, 2, 3].map(
        async () => (await post(perKey.url, '{ __typename }', { 'x-cairn-workspace': ws })).status,
      ),
    );
    expect(statuses.every((s) => s !== 429)).toBe(true);
    // The anonymous budget was spent above (no Authorization): a mutation now is refused.
    const refused = await post(
      perKey.url,
      `mutation { createExperiment(input: { name: "flood-${ws}" }) { experiment { id } } }`,
      { 'x-cairn-workspace': ws },
    );
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('RESOURCE_EXHAUSTED');
    // Other credentials have their own budget; health checks are never limited.
    const other = await post(perKey.url, '{ __typename }', {
      'x-cairn-workspace': ws,
      authorization: `Bearer ${keyB}`,
    });
    expect(other.status).not.toBe(429);
    expect((await fetch(`${perKey.url}/healthz`)).status).toBe(200);
    // After Retry-After the budget is back, and the refused mutation had stored nothing.
    await new Promise((r) => setTimeout(r, retryAfter * 1000));
    const list = await post(perKey.url, '{ experiments(first: 50) { nodes { name } } }', {
      'x-cairn-workspace': ws,
    });
    expect(list.status).toBe(200);
    const listed = (await list.json()) as { data: { experiments: { nodes: { name: string }[] } } };
    expect(listed.data.experiments.nodes.map((n) => n.name)).not.toContain(`flood-${ws}`);
  }, 30_000);

  it('Bearer, Basic (MLflow) and the same key id share one budget', async () => {
    const ws = randomWorkspaceId();
    const basic = Buffer.from(`user:${keyA}`).toString('base64');
    const seen: number[] = [];
    for (const authorization of [
      `Bearer ${keyA}`,
      `Basic ${basic}`,
      `Bearer ${keyA}`,
      `Basic ${basic}`,
      `Bearer ${keyA}`,
    ])
      seen.push(
        (await post(perKey.url, '{ __typename }', { 'x-cairn-workspace': ws, authorization }))
          .status,
      );
    expect(seen.slice(0, 4).every((s) => s !== 429)).toBe(true);
    expect(seen[4]).toBe(429);
  });
});

describe('per workspace', () => {
  it('all credentials of one workspace share its budget; another workspace is not affected', async () => {
    const busy = randomWorkspaceId();
    const quiet = randomWorkspaceId();
    const seen: number[] = [];
    for (const key of [keyA, keyB, keyA, keyB])
      seen.push(
        (
          await post(perWorkspace.url, '{ __typename }', {
            'x-cairn-workspace': busy,
            authorization: `Bearer ${key}`,
          })
        ).status,
      );
    expect(seen.slice(0, 3).every((s) => s !== 429)).toBe(true);
    expect(seen[3]).toBe(429);
    const other = await post(perWorkspace.url, '{ __typename }', { 'x-cairn-workspace': quiet });
    expect(other.status).not.toBe(429);
  });
});

describe('token buckets', () => {
  it('refill at the rate, up to the burst, and say how long to wait', () => {
    let now = 0;
    const limiter = new RateLimiter(
      { keyRequestsPerSecond: 2, workspaceRequestsPerSecond: 0, burstSeconds: 2 },
      () => now,
    );
    const subject = { credential: 'key:x', workspace: 'w' };
    for (let i = 0; i < 4; i++) expect(limiter.request(subject).ok).toBe(true);
    expect(limiter.request(subject)).toEqual({ ok: false, retryAfterSeconds: 1 });
    now = 500; // one token back
    expect(limiter.request(subject).ok).toBe(true);
    expect(limiter.request(subject).ok).toBe(false);
    now = 60_000; // full again, never more than the burst
    for (let i = 0; i < 4; i++) expect(limiter.request(subject).ok).toBe(true);
    expect(limiter.request(subject).ok).toBe(false);
  });
});
