import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalArtifactStore } from '@cairn/artifacts';
import { allProjections, rebuildProjection } from '@cairn/projector';
import {
  createTestDatabase,
  diffDumps,
  dumpReadModels,
  randomWorkspaceId,
  rebuildAll,
} from '@cairn/testing';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';
import { artifactClient, artifactSuite, SUITE_MAX_UPLOAD_BYTES } from './artifact-suite.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
let storeDir: string;
const queries: string[] = [];

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  storeDir = await mkdtemp(path.join(tmpdir(), 'cairn-artifacts-local-'));
  api = await startApiHarness({
    databaseUrl: database.url,
    artifactStore: new LocalArtifactStore(storeDir),
    maxUploadBytes: SUITE_MAX_UPLOAD_BYTES,
    onQuery: (text) => queries.push(text),
  });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
  if (storeDir) await rm(storeDir, { recursive: true, force: true });
});

artifactSuite('local filesystem', () => api);

it('lists the artifacts of many runs with one query (per-request loader)', async () => {
  const c = artifactClient(() => api, randomWorkspaceId());
  const runIds = [await c.newRun(), await c.newRun(), await c.newRun()];
  await c.put(runIds[0]!, 'a/x.txt', Buffer.from('0'));
  await c.put(runIds[1]!, 'b.txt', Buffer.from('1'));
  const { experimentId } = (
    await api.gql<{ run: { experimentId: string } }>(
      'query($id:String!){run(id:$id){experimentId}}',
      { id: runIds[0] },
      c.headers,
    )
  ).data!.run;
  const experimentIds = [experimentId];
  for (const id of runIds.slice(1)) {
    const r = await api.gql<{ run: { experimentId: string } }>(
      'query($id:String!){run(id:$id){experimentId}}',
      { id },
      c.headers,
    );
    experimentIds.push(r.data!.run.experimentId);
  }
  queries.length = 0;
  const response = await api.gql<{
    runs: { edges: { node: { id: string; artifacts: { path: string; isDir: boolean }[] } }[] };
  }>(
    'query($e:[String!]!){runs(experimentIds:$e){edges{node{id artifacts{path isDir}}}}}',
    { e: experimentIds },
    c.headers,
  );
  expect(response.errors).toBeUndefined();
  const byRun = new Map(response.data!.runs.edges.map((e) => [e.node.id, e.node.artifacts]));
  expect(byRun.get(runIds[0]!)).toEqual([{ path: 'a', isDir: true }]);
  expect(byRun.get(runIds[1]!)).toEqual([{ path: 'b.txt', isDir: false }]);
  expect(byRun.get(runIds[2]!)).toEqual([]);
  expect(queries.filter((q) => q.includes('run_artifacts'))).toHaveLength(1);
});

it('leaves nothing behind when a client breaks off an upload', async () => {
  const c = artifactClient(() => api, randomWorkspaceId());
  const runId = await c.newRun();
  const { hostname, port } = new URL(api.url);
  const req = http.request({
    host: hostname,
    port,
    method: 'PUT',
    path: `/api/runs/${runId}/artifacts/broken.bin`,
    headers: { ...c.headers, 'content-length': 4 * 1024 * 1024 },
  });
  req.on('error', () => undefined);
  req.write(Buffer.alloc(1024 * 1024, 1));
  // The upload is under way: its temporary file exists.
  const started = Date.now() + 10_000;
  while ((await readdir(path.join(storeDir, '.tmp')).catch(() => [])).length === 0) {
    expect(Date.now()).toBeLessThan(started);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  req.destroy();
  const deadline = Date.now() + 10_000;
  let leftovers = await readdir(path.join(storeDir, '.tmp')).catch(() => []);
  while (leftovers.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    leftovers = await readdir(path.join(storeDir, '.tmp'));
  }
  expect(leftovers).toEqual([]);
  expect(await c.list(runId)).toEqual([]);
  expect((await c.get(runId, 'broken.bin')).response.status).toBe(404);
  expect(
    await api.artifactStore.stat({ workspaceId: c.workspace, runId }, 'broken.bin'),
  ).toBeNull();
});

it('removes the bytes again when the run is deleted while its upload streams', async () => {
  const c = artifactClient(() => api, randomWorkspaceId());
  const runId = await c.newRun();
  const { hostname, port } = new URL(api.url);
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({
      host: hostname,
      port,
      method: 'PUT',
      path: `/api/runs/${runId}/artifacts/late.bin`,
      headers: { ...c.headers, 'content-length': 2 * 1024 * 1024 },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.write(Buffer.alloc(1024 * 1024, 2));
    void (async () => {
      // Once the bytes are streaming into the store, the run is deleted; then the rest is sent.
      const until = Date.now() + 10_000;
      while ((await readdir(path.join(storeDir, '.tmp')).catch(() => [])).length === 0) {
        if (Date.now() > until) return reject(new Error('the upload never started'));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const deleted = await api.gql(
        'mutation($id:String!){deleteRun(runId:$id){id}}',
        { id: runId },
        c.headers,
      );
      if (deleted.errors) return reject(new Error(JSON.stringify(deleted.errors)));
      req.end(Buffer.alloc(1024 * 1024, 3));
    })();
  });
  const { status, body } = await answer;
  expect(status).toBe(400);
  expect(body).toContain('deleted');
  expect(await api.artifactStore.stat({ workspaceId: c.workspace, runId }, 'late.bin')).toBeNull();
  expect(await c.list(runId)).toEqual([]);
});

it('rebuilds run_artifacts identical to the live projection', async () => {
  // Runs after the suite (same file, in order): every artifact it logged, replaced or refused.
  const live = await dumpReadModels(api.db);
  expect(live.run_artifacts!.length).toBeGreaterThan(10);
  await rebuildAll(
    api.db,
    allProjections.filter((p) => p.name === 'artifacts'),
    rebuildProjection,
  );
  const rebuilt = await dumpReadModels(api.db);
  expect(diffDumps(live, rebuilt)).toEqual([]);
  expect(api.errors).toEqual([]);
});

it('takes the workspace as ?ws= on reads only, and answers CORS preflights', async () => {
  const c = artifactClient(() => api, randomWorkspaceId());
  const runId = await c.newRun();
  await c.put(runId, 'img/plot.txt', Buffer.from('plot'));
  const base = `${api.url}/api/runs/${runId}/artifacts`;

  // A plain link (no header) reads with ?ws=, file and archive alike.
  const file = await fetch(`${base}/img/plot.txt?ws=${c.workspace}`);
  expect(file.status).toBe(200);
  expect(await file.text()).toBe('plot');
  expect(file.headers.get('access-control-allow-origin')).toBe('*');
  expect(file.headers.get('access-control-expose-headers')).toContain('x-cairn-sha256');
  const archive = await fetch(`${base}/img?archive=tar.gz&ws=${c.workspace}`);
  expect(archive.status).toBe(200);
  await archive.arrayBuffer();
  // Without it the default workspace is meant, which does not have the run.
  expect((await fetch(`${base}/img/plot.txt`)).status).toBe(404);
  // The header wins over ?ws=; an invalid ?ws= is a 400.
  const other = await fetch(`${base}/img/plot.txt?ws=${c.workspace}`, {
    headers: { 'x-cairn-workspace': randomWorkspaceId() },
  });
  expect(other.status).toBe(404);
  await other.arrayBuffer();
  expect((await fetch(`${base}/img/plot.txt?ws=..%2Fetc`)).status).toBe(400);
  // Writes need the header: ?ws= on a PUT is ignored (default workspace → run not found).
  const put = await fetch(`${base}/x.txt?ws=${c.workspace}`, { method: 'PUT', body: 'x' });
  expect(put.status).toBe(404);
  expect(await c.list(runId)).toHaveLength(1);

  // Any origin may read (`*`, never with credentials); writes from another origin are refused
  // (issue 20: docs/api.md, "Security").
  const preflight = await fetch(`${base}/img/plot.txt`, {
    method: 'OPTIONS',
    headers: {
      origin: 'http://dashboard.example',
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'x-cairn-workspace, range',
    },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
  expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
  expect(preflight.headers.get('access-control-allow-headers')).toContain('x-cairn-workspace');
  expect(preflight.headers.get('access-control-allow-headers')).toContain('range');
  const writePreflight = await fetch(`${base}/x.txt`, {
    method: 'OPTIONS',
    headers: {
      origin: 'http://dashboard.example',
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'x-cairn-workspace, x-cairn-sha256',
    },
  });
  expect(writePreflight.status).toBe(403);
  expect(writePreflight.headers.get('access-control-allow-origin')).toBeNull();
  await writePreflight.arrayBuffer();
});
