/**
 * The storage quota (issue 20: "quotas per key and workspace (... storage)"): artifact bytes per
 * workspace. A write that cannot fit is refused with RESOURCE_EXHAUSTED / HTTP 507 (waiting does
 * not help, so not 429) and stores nothing; replacing a file frees its old size; a chunked body
 * that grows past the room is cut off; multipart uploads are checked on complete; MLflow's
 * artifact proxy answers the same. Other workspaces are not affected. Real server and Postgres.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

const LIMIT = 10_000;
let api: ApiHarness;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url, storageQuotaBytes: LIMIT });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

async function newRun(ws: string): Promise<{ experimentId: string; runId: string }> {
  const h = { 'x-cairn-workspace': ws };
  const exp = await api.gql<{ createExperiment: { id: string } }>(
    `mutation { createExperiment(name: "s-${ws}") { id } }`,
    {},
    h,
  );
  const experimentId = exp.data!.createExperiment.id;
  const run = await api.gql<{ createRun: { id: string } }>(
    `mutation { createRun(experimentId: "${experimentId}") { id } }`,
    {},
    h,
  );
  return { experimentId, runId: run.data!.createRun.id };
}

type Answer = { error?: { code: string; message: string } } & Record<string, unknown>;

async function put(
  ws: string,
  url: string,
  body: Buffer | Readable,
  method = 'PUT',
): Promise<{ status: number; json: Answer }> {
  const res = await fetch(`${api.url}${url}`, {
    method,
    headers: { 'x-cairn-workspace': ws, 'content-type': 'application/octet-stream' },
    body: body instanceof Readable ? (Readable.toWeb(body) as ReadableStream) : body,
    ...(body instanceof Readable ? { duplex: 'half' } : {}),
  } as RequestInit);
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Answer) : {} };
}

async function storedPaths(ws: string, runId: string): Promise<string[]> {
  const rows = await api.db
    .selectFrom('run_artifacts')
    .select('path')
    .where('workspace_id', '=', ws)
    .where('run_id', '=', runId)
    .orderBy('path')
    .execute();
  return rows.map((r) => r.path);
}

describe('storage quota', () => {
  it('refuses what does not fit with 507 RESOURCE_EXHAUSTED; replacing frees the old size', async () => {
    const ws = randomWorkspaceId();
    const { runId } = await newRun(ws);
    const base = `/api/runs/${runId}/artifacts`;
    expect((await put(ws, `${base}/a.bin`, Buffer.alloc(6_000, 1))).status).toBe(201);
    const refused = await put(ws, `${base}/b.bin`, Buffer.alloc(5_000, 2));
    expect(refused.status).toBe(507);
    expect(refused.json.error?.code).toBe('RESOURCE_EXHAUSTED');
    expect(refused.json.error?.message).toMatch(/6000 of 10000 bytes used, 5000 more requested/);
    expect(await storedPaths(ws, runId)).toEqual(['a.bin']);
    // Replacing a.bin with 9,000 bytes fits: its 6,000 are freed.
    expect((await put(ws, `${base}/a.bin`, Buffer.alloc(9_000, 3))).status).toBe(201);
    expect((await put(ws, `${base}/c.bin`, Buffer.alloc(1_000, 4))).status).toBe(201);
    expect((await put(ws, `${base}/d.bin`, Buffer.alloc(1, 5))).status).toBe(507);
    expect(await storedPaths(ws, runId)).toEqual(['a.bin', 'c.bin']);

    // Another workspace has a quota of its own.
    const other = randomWorkspaceId();
    const o = await newRun(other);
    expect(
      (await put(other, `/api/runs/${o.runId}/artifacts/x.bin`, Buffer.alloc(9_999))).status,
    ).toBe(201);
  });

  it('cuts off a chunked body that grows past the room, and checks multipart uploads on complete', async () => {
    const ws = randomWorkspaceId();
    const { runId } = await newRun(ws);
    const base = `/api/runs/${runId}/artifacts`;
    expect((await put(ws, `${base}/a.bin`, Buffer.alloc(4_000))).status).toBe(201);
    // No content-length: the body streams until it passes the 6,000 bytes of room.
    const chunks = Readable.from(
      (function* () {
        for (let i = 0; i < 8; i++) yield Buffer.alloc(1_000, i);
      })(),
    );
    const chunked = await put(ws, `${base}/big.bin`, chunks);
    expect(chunked.status).toBe(507);
    expect(chunked.json.error?.code).toBe('RESOURCE_EXHAUSTED');
    expect(await storedPaths(ws, runId)).toEqual(['a.bin']);

    // Multipart: two parts of 3,500 bytes each fit one at a time, not together.
    const created = await fetch(`${api.url}/api/runs/${runId}/artifact-uploads`, {
      method: 'POST',
      headers: { 'x-cairn-workspace': ws, 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'multi.bin' }),
    });
    expect(created.status).toBe(201);
    const { uploadId } = (await created.json()) as { uploadId: string };
    const uploads = `/api/runs/${runId}/artifact-uploads/${uploadId}`;
    for (const n of [1, 2])
      expect((await put(ws, `${uploads}/parts/${n}`, Buffer.alloc(3_500, n))).status).toBe(200);
    const complete = await put(ws, `${uploads}/complete`, Buffer.alloc(0), 'POST');
    expect(complete.status).toBe(507);
    expect(complete.json.error?.code).toBe('RESOURCE_EXHAUSTED');
    expect(await storedPaths(ws, runId)).toEqual(['a.bin']);
    // The refused upload's parts are discarded.
    const gone = await fetch(`${api.url}${uploads}`, { headers: { 'x-cairn-workspace': ws } });
    expect(gone.status).toBe(404);
  });

  it('answers MLflow artifact uploads over the quota with RESOURCE_EXHAUSTED (507)', async () => {
    const ws = randomWorkspaceId();
    const { experimentId, runId } = await newRun(ws);
    const root = `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts`;
    expect((await put(ws, `${root}/m.bin`, Buffer.alloc(8_000))).status).toBe(200);
    const res = await fetch(`${api.url}${root}/n.bin`, {
      method: 'PUT',
      headers: { 'x-cairn-workspace': ws, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(3_000),
    });
    expect(res.status).toBe(507);
    expect(((await res.json()) as { error_code: string }).error_code).toBe('RESOURCE_EXHAUSTED');
    expect(await storedPaths(ws, runId)).toEqual(['m.bin']);
  });
});
