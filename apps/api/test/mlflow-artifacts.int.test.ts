import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from './helpers/api-harness.ts';

/**
 * MLflow's artifact proxy and `artifacts/list` over HTTP, as the `mlflow` client calls them
 * (mlflow/store/artifact/http_artifact_repo.py): PUT of the bytes, GET, listing, and the
 * errors MLflow answers, with what was written visible through GraphQL.
 */

let api: ApiHarness;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

const ws = (workspace: string) => ({ 'x-cairn-workspace': workspace });

async function call(
  workspace: string,
  method: string,
  path: string,
  body?: BodyInit,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: { ...ws(workspace), ...headers },
    body,
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { status: response.status, headers: response.headers, bytes, json };
}

async function eventCount(workspace: string): Promise<number> {
  const { rows } = await sql<{
    n: number;
  }>`SELECT count(*)::int AS n FROM events WHERE workspace_id = ${workspace}`.execute(api.db);
  return rows[0]!.n;
}

async function newRun(workspace: string): Promise<{ experimentId: string; runId: string }> {
  const created = await api.gql<{ createExperiment: { id: string } }>(
    `mutation($name: String!) { createExperiment(name: $name) { id } }`,
    { name: `exp-${Math.random().toString(36).slice(2)}` },
    ws(workspace),
  );
  expect(created.errors).toBeUndefined();
  const experimentId = created.data!.createExperiment.id;
  const run = await api.gql<{ createRun: { id: string } }>(
    `mutation($e: String!) { createRun(experimentId: $e) { id } }`,
    { e: experimentId },
    ws(workspace),
  );
  expect(run.errors).toBeUndefined();
  return { experimentId, runId: run.data!.createRun.id };
}

const PROXY = '/api/2.0/mlflow-artifacts/artifacts';

describe('mlflow-artifacts proxy', () => {
  it('uploads with PUT, downloads with GET, lists as MLflow does, and shows in GraphQL', async () => {
    const workspace = randomWorkspaceId();
    const { experimentId, runId } = await newRun(workspace);
    const root = `${experimentId}/${runId}/artifacts`;
    const text = Buffer.from('hello from mlflow\n', 'utf8');
    const json = Buffer.from(JSON.stringify({ a: 1 }), 'utf8');

    const put = await call(workspace, 'PUT', `${PROXY}/${root}/dir/hello.txt`, text, {
      'content-type': 'text/plain',
    });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({});
    const put2 = await call(workspace, 'PUT', `${PROXY}/${root}/config.json`, json, {
      'content-type': 'application/json',
    });
    expect(put2.status).toBe(200);
    // The ajax-api prefix the web UI uses reaches the same endpoint.
    const put3 = await call(
      workspace,
      'PUT',
      `/ajax-api/2.0/mlflow-artifacts/artifacts/${root}/dir/sub/empty.bin`,
      Buffer.alloc(0),
      { 'content-type': 'application/octet-stream' },
    );
    expect(put3.status).toBe(200);

    const got = await call(workspace, 'GET', `${PROXY}/${root}/dir/hello.txt`);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(text)).toBe(true);
    expect(got.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(got.headers.get('content-length')).toBe(String(text.length));
    const empty = await call(workspace, 'GET', `${PROXY}/${root}/dir/sub/empty.bin`);
    expect(empty.status).toBe(200);
    expect(empty.bytes.length).toBe(0);

    // Proxy listing: paths relative to the listed directory, directories without a size.
    const top = await call(workspace, 'GET', `${PROXY}?path=${encodeURIComponent(root)}`);
    expect(top.status).toBe(200);
    expect(top.json).toEqual({
      files: [
        { path: 'config.json', is_dir: false, file_size: json.length },
        { path: 'dir', is_dir: true },
      ],
    });
    const dir = await call(workspace, 'GET', `${PROXY}?path=${encodeURIComponent(`${root}/dir`)}`);
    expect(dir.json).toEqual({
      files: [
        { path: 'hello.txt', is_dir: false, file_size: text.length },
        { path: 'sub', is_dir: true },
      ],
    });
    // Listing a file lists nothing.
    const file = await call(
      workspace,
      'GET',
      `${PROXY}?path=${encodeURIComponent(`${root}/config.json`)}`,
    );
    expect(file.json).toEqual({ files: [] });

    // artifacts/list: paths relative to the run's artifact root, and the root URI.
    const listed = await call(
      workspace,
      'GET',
      `/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=dir`,
    );
    expect(listed.status).toBe(200);
    expect(listed.json).toEqual({
      root_uri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts`,
      files: [
        { path: 'dir/hello.txt', is_dir: false, file_size: text.length },
        { path: 'dir/sub', is_dir: true },
      ],
    });
    const listedRoot = await call(
      workspace,
      'GET',
      `/api/2.0/mlflow/artifacts/list?run_id=${runId}`,
    );
    expect((listedRoot.json!.files as { path: string }[]).map((f) => f.path)).toEqual([
      'config.json',
      'dir',
    ]);

    // The same artifacts through GraphQL: RunArtifactLogged events in the run's history.
    const gql = await api.gql<{
      run: {
        artifacts: { path: string; isDir: boolean; size: number | null; sha256: string | null }[];
      };
    }>(
      `query($id: String!) { run(id: $id) { artifacts(path: "dir") { path isDir size sha256 } } }`,
      { id: runId },
      ws(workspace),
    );
    expect(gql.errors).toBeUndefined();
    expect(gql.data!.run.artifacts).toEqual([
      { path: 'dir/sub', isDir: true, size: null, sha256: null },
      {
        path: 'dir/hello.txt',
        isDir: false,
        size: text.length,
        sha256: createHash('sha256').update(text).digest('hex'),
      },
    ]);

    // Another workspace sees nothing of it.
    const other = await call(randomWorkspaceId(), 'GET', `${PROXY}/${root}/dir/hello.txt`);
    expect(other.status).toBe(404);
    expect(other.json).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
  });

  it('overwrites a path with a new upload', async () => {
    const workspace = randomWorkspaceId();
    const { experimentId, runId } = await newRun(workspace);
    const url = `${PROXY}/${experimentId}/${runId}/artifacts/model/MLmodel`;
    expect(
      (await call(workspace, 'PUT', url, 'one', { 'content-type': 'text/plain' })).status,
    ).toBe(200);
    expect(
      (await call(workspace, 'PUT', url, 'two!', { 'content-type': 'text/plain' })).status,
    ).toBe(200);
    const got = await call(workspace, 'GET', url);
    expect(got.bytes.toString('utf8')).toBe('two!');
  });

  it('answers bad input with MLflow error codes and appends nothing', async () => {
    const workspace = randomWorkspaceId();
    const { experimentId, runId } = await newRun(workspace);
    const before = await eventCount(workspace);
    const root = `${experimentId}/${runId}/artifacts`;
    const missingRun = 'f'.repeat(32);
    const cases: [string, string, string, number, string][] = [
      [
        'PUT',
        `${PROXY}/${experimentId}/${missingRun}/artifacts/a.txt`,
        'x',
        404,
        'RESOURCE_DOES_NOT_EXIST',
      ],
      [
        'PUT',
        `${PROXY}/${experimentId}/not-a-run/artifacts/a.txt`,
        'x',
        404,
        'RESOURCE_DOES_NOT_EXIST',
      ],
      // The run exists, but not in that experiment.
      [
        'PUT',
        `${PROXY}/${'1'.repeat(32)}/${runId}/artifacts/a.txt`,
        'x',
        404,
        'RESOURCE_DOES_NOT_EXIST',
      ],
      ['PUT', `${PROXY}/${root}/a/..%2F..%2Fb.txt`, 'x', 400, 'INVALID_PARAMETER_VALUE'],
      ['PUT', `${PROXY}/${root}/a%5Cb.txt`, 'x', 400, 'INVALID_PARAMETER_VALUE'],
      [
        'PUT',
        `${PROXY}/${experimentId}/models/m-1/artifacts/a.txt`,
        'x',
        404,
        'RESOURCE_DOES_NOT_EXIST',
      ],
      ['GET', `${PROXY}/${root}/missing.txt`, '', 404, 'RESOURCE_DOES_NOT_EXIST'],
      ['DELETE', `${PROXY}/${root}/a.txt`, '', 501, 'NOT_IMPLEMENTED'],
      [
        'POST',
        `/api/2.0/mlflow-artifacts/mpu/create/${root}/big.bin`,
        '{}',
        501,
        'NOT_IMPLEMENTED',
      ],
      [
        'GET',
        `/api/2.0/mlflow/artifacts/list?run_id=${missingRun}`,
        '',
        404,
        'RESOURCE_DOES_NOT_EXIST',
      ],
      ['GET', `/api/2.0/mlflow/artifacts/list`, '', 400, 'INVALID_PARAMETER_VALUE'],
      [
        'GET',
        `/api/2.0/mlflow/artifacts/list?run_id=${runId}&page_token=abc`,
        '',
        400,
        'INVALID_PARAMETER_VALUE',
      ],
      [
        'GET',
        `${PROXY}?path=${encodeURIComponent(`${root}/../../x`)}`,
        '',
        400,
        'INVALID_PARAMETER_VALUE',
      ],
    ];
    for (const [method, path, body, status, code] of cases) {
      const answer = await call(
        workspace,
        method,
        path,
        method === 'GET' ? undefined : body,
        method === 'GET' ? {} : { 'content-type': 'application/json' },
      );
      expect({ method, path, status: answer.status, code: answer.json?.error_code }).toEqual({
        method,
        path,
        status,
        code,
      });
      expect(typeof answer.json?.message).toBe('string');
    }
    expect(await eventCount(workspace)).toBe(before);
  });

  it('refuses uploads to a deleted run', async () => {
    const workspace = randomWorkspaceId();
    const { experimentId, runId } = await newRun(workspace);
    const deleted = await api.gql(
      `mutation($id: String!) { deleteRun(runId: $id) { id } }`,
      { id: runId },
      ws(workspace),
    );
    expect(deleted.errors).toBeUndefined();
    const before = await eventCount(workspace);
    const answer = await call(
      workspace,
      'PUT',
      `${PROXY}/${experimentId}/${runId}/artifacts/a.txt`,
      'x',
      {
        'content-type': 'text/plain',
      },
    );
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error_code: 'INVALID_STATE' });
    expect(await eventCount(workspace)).toBe(before);
  });
});
