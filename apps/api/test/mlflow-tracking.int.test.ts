/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment -- MLflow's JSON answers are read field by field, untyped on purpose (as the client sees them) */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from './helpers/api-harness.ts';

/**
 * MLflow's tracking REST API (experiments, runs, metrics) over HTTP, called as the `mlflow`
 * client calls it (mlflow/store/tracking/rest_store.py): request bodies in proto-JSON, answers
 * checked field by field against MLflow's wire format (mlflow/protos/service.proto), MLflow's
 * error codes and statuses, nothing appended on refused input, and every write visible through
 * GraphQL (the same commands and read models).
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

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const BASE = '/api/2.0/mlflow';

async function call(
  workspace: string,
  method: 'GET' | 'POST',
  path: string,
  body?: Record<string, unknown> | URLSearchParams,
): Promise<{ status: number; json: Json }> {
  let url = `${api.url}${path.startsWith('/') && !path.startsWith('/api') && !path.startsWith('/ajax') ? BASE + path : path}`;
  const init: RequestInit = { method, headers: { 'x-cairn-workspace': workspace } };
  if (method === 'GET' && body)
    url += `?${body instanceof URLSearchParams ? body : new URLSearchParams(body as Record<string, string>)}`;
  if (method === 'POST') {
    init.headers = { ...init.headers, 'content-type': 'application/json' };
    init.body = JSON.stringify(body ?? {});
  }
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Json) };
}

const post = (ws: string, path: string, body: Record<string, unknown> = {}) =>
  call(ws, 'POST', path, body);
const get = (ws: string, path: string, query?: Record<string, string> | URLSearchParams) =>
  call(ws, 'GET', path, query);

async function ok(promise: Promise<{ status: number; json: Json }>): Promise<Json> {
  const { status, json } = await promise;
  expect({ status, json }).toMatchObject({ status: 200 });
  return json;
}

async function eventCount(workspace: string): Promise<number> {
  const { rows } = await sql<{
    n: number;
  }>`SELECT count(*)::int AS n FROM events WHERE workspace_id = ${workspace}`.execute(api.db);
  return rows[0]!.n;
}

/** The answer is MLflow's error body with `code` and `status`; nothing was appended. */
async function refused(
  workspace: string,
  request: () => Promise<{ status: number; json: Json }>,
  status: number,
  code: string,
  message?: RegExp,
) {
  const before = await eventCount(workspace);
  const { status: got, json } = await request();
  expect(got).toBe(status);
  expect(json.error_code).toBe(code);
  expect(typeof json.message).toBe('string');
  if (message) expect(json.message).toMatch(message);
  expect(Object.keys(json).sort()).toEqual(['error_code', 'message']);
  expect(await eventCount(workspace)).toBe(before);
}

const uniqueName = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

async function newExperiment(ws: string, name = uniqueName('exp')): Promise<string> {
  const created = await ok(post(ws, '/experiments/create', { name }));
  return created.experiment_id as string;
}

async function newRun(ws: string, experimentId: string, extra: Record<string, unknown> = {}) {
  const created = await ok(
    post(ws, '/runs/create', {
      experiment_id: experimentId,
      start_time: 1_700_000_000_000,
      ...extra,
    }),
  );
  return created.run as Json;
}

describe('MLflow experiments', () => {
  it('creates, reads, renames, tags, deletes and restores an experiment as MLflow does', async () => {
    const ws = randomWorkspaceId();
    const name = uniqueName('exp');
    const before = Date.now();
    const created = await ok(
      post(ws, '/experiments/create', { name, tags: [{ key: 'team', value: 'vision' }] }),
    );
    expect(Object.keys(created)).toEqual(['experiment_id']);
    const id = created.experiment_id as string;
    expect(id).toMatch(/^[a-zA-Z0-9][\w-]*$/);

    const got = await ok(get(ws, '/experiments/get', { experiment_id: id }));
    expect(got.experiment).toEqual({
      experiment_id: id,
      name,
      artifact_location: `mlflow-artifacts:/${id}`,
      lifecycle_stage: 'active',
      last_update_time: expect.any(Number),
      creation_time: expect.any(Number),
      tags: [{ key: 'team', value: 'vision' }],
    });
    expect(got.experiment.creation_time).toBeGreaterThanOrEqual(before - 1000);
    expect(
      (await ok(get(ws, '/experiments/get-by-name', { experiment_name: name }))).experiment,
    ).toEqual(got.experiment);

    await ok(post(ws, '/experiments/update', { experiment_id: id, new_name: `${name}-renamed` }));
    await ok(
      post(ws, '/experiments/set-experiment-tag', {
        experiment_id: id,
        key: 'stage',
        value: 'dev',
      }),
    );
    const renamed = (await ok(get(ws, '/experiments/get', { experiment_id: id }))).experiment;
    expect(renamed.name).toBe(`${name}-renamed`);
    expect(renamed.tags).toEqual([
      { key: 'stage', value: 'dev' },
      { key: 'team', value: 'vision' },
    ]);

    await ok(post(ws, '/experiments/delete', { experiment_id: id }));
    expect(
      (await ok(get(ws, '/experiments/get', { experiment_id: id }))).experiment.lifecycle_stage,
    ).toBe('deleted');
    const active = await ok(post(ws, '/experiments/search', { max_results: 10 }));
    expect((active.experiments ?? []).map((e: Json) => e.experiment_id)).not.toContain(id);
    const deleted = await ok(post(ws, '/experiments/search', { view_type: 'DELETED_ONLY' }));
    expect(deleted.experiments.map((e: Json) => e.experiment_id)).toEqual([id]);
    await ok(post(ws, '/experiments/restore', { experiment_id: id }));
    expect(
      (await ok(get(ws, '/experiments/get', { experiment_id: id }))).experiment.lifecycle_stage,
    ).toBe('active');

    // The same experiment through GraphQL.
    const gql = await api.gql<{ experiment: { name: string } }>(
      `query($id: String!) { experiment(id: $id) { name } }`,
      { id },
      { 'x-cairn-workspace': ws },
    );
    expect(gql.data?.experiment.name).toBe(`${name}-renamed`);
  });

  it('answers MLflow errors for a taken name, a missing experiment and bad input', async () => {
    const ws = randomWorkspaceId();
    const name = uniqueName('exp');
    await newExperiment(ws, name);
    await refused(
      ws,
      () => post(ws, '/experiments/create', { name }),
      400,
      'RESOURCE_ALREADY_EXISTS',
    );
    await refused(
      ws,
      () => post(ws, '/experiments/create', {}),
      400,
      'INVALID_PARAMETER_VALUE',
      /'name'/,
    );
    await refused(
      ws,
      () => post(ws, '/experiments/create', { name: 42 }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      ws,
      () => get(ws, '/experiments/get', { experiment_id: 'nope' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      ws,
      () => get(ws, '/experiments/get-by-name', { experiment_name: 'nope' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      /Could not find experiment with name 'nope'/,
    );
    await refused(
      ws,
      () => post(ws, '/experiments/search', { filter: 'name = ' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      ws,
      () => post(ws, '/experiments/search', { max_results: 50_001 }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      ws,
      () => post(ws, '/experiments/search', { page_token: 'garbage' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(ws, () => get(ws, '/experiments/nope'), 404, 'ENDPOINT_NOT_FOUND');
    const id = await newExperiment(ws);
    await refused(
      ws,
      () => post(ws, '/experiments/update', { experiment_id: id }),
      400,
      'INVALID_PARAMETER_VALUE',
      /'new_name'/,
    );
  });

  it('searches with MLflow filters, order_by and page tokens', async () => {
    const ws = randomWorkspaceId();
    const ids: string[] = [];
    for (const n of ['alpha', 'beta', 'gamma']) ids.push(await newExperiment(ws, `search-${n}`));
    await ok(
      post(ws, '/experiments/set-experiment-tag', { experiment_id: ids[1], key: 'k', value: 'v' }),
    );
    const filtered = await ok(post(ws, '/experiments/search', { filter: "name LIKE '%et%'" }));
    expect(filtered.experiments.map((e: Json) => e.name)).toEqual(['search-beta']);
    const insensitive = await ok(
      post(ws, '/experiments/search', { filter: "name ILIKE 'SEARCH-G%'" }),
    );
    expect(insensitive.experiments.map((e: Json) => e.name)).toEqual(['search-gamma']);
    const tagged = await ok(post(ws, '/experiments/search', { filter: "tags.k = 'v'" }));
    expect(tagged.experiments.map((e: Json) => e.experiment_id)).toEqual([ids[1]]);
    const byAttr = await ok(
      post(ws, '/experiments/search', { filter: "attribute.name = 'search-alpha'" }),
    );
    expect(byAttr.experiments.map((e: Json) => e.experiment_id)).toEqual([ids[0]]);

    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await ok(
        post(ws, '/experiments/search', {
          max_results: 2,
          order_by: ['name DESC'],
          ...(token ? { page_token: token } : {}),
        }),
      );
      seen.push(...page.experiments.map((e: Json) => e.name as string));
      token = page.next_page_token as string | undefined;
    } while (token);
    expect(seen).toEqual(['search-gamma', 'search-beta', 'search-alpha']);
    // GET, as the client's search_experiments may send it.
    const viaGet = await ok(
      get(ws, '/experiments/search', { max_results: '1', order_by: 'name ASC' }),
    );
    expect(viaGet.experiments.map((e: Json) => e.name)).toEqual(['search-alpha']);
  });

  it('deletes an experiment tag as MLflow does (absent tag, missing or deleted experiment refused)', async () => {
    const ws = randomWorkspaceId();
    const created = await ok(
      post(ws, '/experiments/create', {
        name: uniqueName('exp'),
        tags: [
          { key: 'team', value: 'vision' },
          { key: 'stage', value: 'dev' },
        ],
      }),
    );
    const id = created.experiment_id as string;
    await ok(
      post(ws, '/experiments/set-experiment-tag', { experiment_id: id, key: 'k', value: 'v' }),
    );
    expect(
      await ok(post(ws, '/experiments/delete-experiment-tag', { experiment_id: id, key: 'team' })),
    ).toEqual({});
    // The same endpoint under /ajax-api, as the MLflow UI calls it.
    await ok(
      post(ws, '/ajax-api/2.0/mlflow/experiments/delete-experiment-tag', {
        experiment_id: id,
        key: 'k',
      }),
    );
    const got = (await ok(get(ws, '/experiments/get', { experiment_id: id }))).experiment;
    expect(got.tags).toEqual([{ key: 'stage', value: 'dev' }]);
    const tagged = await ok(post(ws, '/experiments/search', { filter: "tags.team = 'vision'" }));
    expect(tagged.experiments ?? []).toEqual([]);

    await refused(
      ws,
      () => post(ws, '/experiments/delete-experiment-tag', { experiment_id: id, key: 'team' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      new RegExp(`^No tag with name: team in experiment with id ${id}$`),
    );
    await refused(
      ws,
      () => post(ws, '/experiments/delete-experiment-tag', { experiment_id: 'nope', key: 'stage' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      ws,
      () => post(ws, '/experiments/delete-experiment-tag', { experiment_id: id }),
      400,
      'INVALID_PARAMETER_VALUE',
      /'key'/,
    );
    await ok(post(ws, '/experiments/delete', { experiment_id: id }));
    await refused(
      ws,
      () => post(ws, '/experiments/delete-experiment-tag', { experiment_id: id, key: 'stage' }),
      400,
      'INVALID_PARAMETER_VALUE',
      /must be in the 'active' state/,
    );
    await ok(post(ws, '/experiments/restore', { experiment_id: id }));

    // A tag set again after its delete is back; GraphQL's deleteExperimentTag is the same command.
    await ok(
      post(ws, '/experiments/set-experiment-tag', { experiment_id: id, key: 'team', value: 'nlp' }),
    );
    const viaGql = await api.gql<{
      deleteExperimentTag: { tags: { key: string; value: string }[] };
    }>(
      'mutation($id: String!, $key: String!) { deleteExperimentTag(id: $id, key: $key) { tags { key value } } }',
      { id, key: 'stage' },
      { 'x-cairn-workspace': ws },
    );
    expect(viaGql.errors).toBeUndefined();
    expect(viaGql.data?.deleteExperimentTag.tags).toEqual([{ key: 'team', value: 'nlp' }]);
    const again = await api.gql(
      'mutation($id: String!, $key: String!) { deleteExperimentTag(id: $id, key: $key) { id } }',
      { id, key: 'stage' },
      { 'x-cairn-workspace': ws },
    );
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await ok(get(ws, '/experiments/get', { experiment_id: id }))).experiment.tags).toEqual([
      { key: 'team', value: 'nlp' },
    ]);
  });

  it('resolves MLflow default experiment "0" to the workspace default experiment', async () => {
    const ws = randomWorkspaceId();
    const got = await ok(get(ws, '/experiments/get', { experiment_id: '0' }));
    expect(got.experiment.name).toBe('Default');
    const again = await ok(get(ws, '/experiments/get', { experiment_id: '0' }));
    expect(again.experiment.experiment_id).toBe(got.experiment.experiment_id);
    const run = await ok(post(ws, '/runs/create', { experiment_id: '0' }));
    expect(run.run.info.experiment_id).toBe(got.experiment.experiment_id);
  });
});

describe('MLflow runs', () => {
  it('creates a run with the Run message the client parses, and reads it back', async () => {
    const ws = randomWorkspaceId();
    const experimentId = await newExperiment(ws);
    const created = await ok(
      post(ws, '/runs/create', {
        experiment_id: experimentId,
        user_id: 'alice',
        start_time: 1_700_000_000_123,
        run_name: 'first',
        tags: [
          { key: 'mlflow.user', value: 'alice' },
          { key: 'mlflow.source.name', value: 'train.py' },
          { key: 'mlflow.source.type', value: 'LOCAL' },
          { key: 'mlflow.runName', value: 'first' },
        ],
      }),
    );
    const run = created.run as Json;
    const runId = run.info.run_id as string;
    expect(run).toEqual({
      info: {
        run_id: runId,
        run_uuid: runId,
        run_name: 'first',
        experiment_id: experimentId,
        user_id: 'alice',
        status: 'RUNNING',
        start_time: 1_700_000_000_123,
        artifact_uri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts`,
        lifecycle_stage: 'active',
      },
      data: {
        tags: expect.arrayContaining([
          { key: 'mlflow.user', value: 'alice' },
          { key: 'mlflow.source.name', value: 'train.py' },
          { key: 'mlflow.source.type', value: 'LOCAL' },
          { key: 'mlflow.runName', value: 'first' },
        ]),
      },
      inputs: {},
    });
    expect(run.data.tags).toHaveLength(4);
    expect((await ok(get(ws, '/runs/get', { run_id: runId }))).run).toEqual(run);
    // Older clients send run_uuid.
    expect((await ok(get(ws, '/runs/get', { run_uuid: runId }))).run.info.run_id).toBe(runId);
    // The same API under /ajax-api and 3.0.
    expect(
      (await ok(get(ws, '/ajax-api/2.0/mlflow/runs/get', { run_id: runId }))).run.info.run_id,
    ).toBe(runId);
    expect((await ok(get(ws, '/api/3.0/mlflow/runs/get', { run_id: runId }))).run.info.run_id).toBe(
      runId,
    );

    // Cairn's own source fields are filled from the MLflow tags.
    const gql = await api.gql<{
      run: { name: string; source: { entryPoint: string; sourceType: string } };
    }>(
      `query($id: String!) { run(id: $id) { name source { entryPoint sourceType } } }`,
      { id: runId },
      { 'x-cairn-workspace': ws },
    );
    expect(gql.data?.run).toEqual({
      name: 'first',
      source: { entryPoint: 'train.py', sourceType: 'LOCAL' },
    });
  });

  it('nests runs through the mlflow.parentRunId tag, visible as Cairn parent and child', async () => {
    const ws = randomWorkspaceId();
    const experimentId = await newExperiment(ws);
    const parent = await newRun(ws, experimentId, { run_name: 'parent' });
    const child = await newRun(ws, experimentId, {
      tags: [{ key: 'mlflow.parentRunId', value: parent.info.run_id }],
    });
    expect(child.data.tags).toContainEqual({
      key: 'mlflow.parentRunId',
      value: parent.info.run_id,
    });
    // A run created without a name gets one, shown as run_name and the mlflow.runName tag.
    expect(child.info.run_name).toMatch(/\S+/);
    expect(child.data.tags).toContainEqual({ key: 'mlflow.runName', value: child.info.run_name });
    const gql = await api.gql<{
      run: { parentRun: { id: string } };
      p: { childRuns: { id: string }[] };
    }>(
      `query($c: String!, $p: String!) { run(id: $c) { parentRun { id } } p: run(id: $p) { childRuns { id } } }`,
      { c: child.info.run_id, p: parent.info.run_id },
      { 'x-cairn-workspace': ws },
    );
    expect(gql.data?.run.parentRun.id).toBe(parent.info.run_id);
    expect(gql.data?.p.childRuns.map((r) => r.id)).toEqual([child.info.run_id]);
    const found = await ok(
      post(ws, '/runs/search', {
        experiment_ids: [experimentId],
        filter: `tags.mlflow.parentRunId = '${parent.info.run_id}'`,
      }),
    );
    expect(found.runs.map((r: Json) => r.info.run_id)).toEqual([child.info.run_id]);
  });

  it('refuses a run in a missing experiment and conflicting names, appending nothing', async () => {
    const ws = randomWorkspaceId();
    const experimentId = await newExperiment(ws);
    await refused(
      ws,
      () => post(ws, '/runs/create', { experiment_id: 'f'.repeat(32) }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      ws,
      () =>
        post(ws, '/runs/create', {
          experiment_id: experimentId,
          run_name: 'a',
          tags: [{ key: 'mlflow.runName', value: 'b' }],
        }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      ws,
      () => post(ws, '/runs/create', { experiment_id: experimentId, start_time: 'soon' }),
      400,
      'INVALID_PARAMETER_VALUE',
      /start_time/,
    );
    await refused(
      ws,
      () => get(ws, '/runs/get', { run_id: 'f'.repeat(32) }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      /Run with id=f+ not found/,
    );
    await refused(ws, () => get(ws, '/runs/get'), 400, 'INVALID_PARAMETER_VALUE', /'run_id'/);
    await refused(ws, () => call(ws, 'GET', '/runs/create'), 405, 'BAD_REQUEST');
    await ok(post(ws, '/experiments/delete', { experiment_id: experimentId }));
    await refused(
      ws,
      () => post(ws, '/runs/create', { experiment_id: experimentId }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
  });

  it('updates status, end time and name; set-tag mlflow.runName renames; delete and restore', async () => {
    const ws = randomWorkspaceId();
    const experimentId = await newExperiment(ws);
    const run = await newRun(ws, experimentId, { run_name: 'before' });
    const runId = run.info.run_id as string;
    const updated = await ok(
      post(ws, '/runs/update', {
        run_id: runId,
        status: 'FINISHED',
        end_time: 1_700_000_009_000,
        run_name: 'after',
      }),
    );
    expect(updated).toEqual({
      run_info: {
        ...run.info,
        run_name: 'after',
        status: 'FINISHED',
        end_time: 1_700_000_009_000,
      },
    });
    await ok(post(ws, '/runs/set-tag', { run_id: runId, key: 'mlflow.runName', value: 'renamed' }));
    const got = (await ok(get(ws, '/runs/get', { run_id: runId }))).run;
    expect(got.info.run_name).toBe('renamed');
    expect(got.data.tags).toEqual([{ key: 'mlflow.runName', value: 'renamed' }]);

    await refused(
      ws,
      () => post(ws, '/runs/update', { run_id: runId, status: 'DONE' }),
      400,
      'INVALID_PARAMETER_VALUE',
      /status/,
    );
    await refused(
      ws,
      () => post(ws, '/runs/update', { run_id: 'f'.repeat(32), status: 'FAILED' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );

    await ok(post(ws, '/runs/delete', { run_id: runId }));
    expect((await ok(get(ws, '/runs/get', { run_id: runId }))).run.info.lifecycle_stage).toBe(
      'deleted',
    );
    // A second delete succeeds without appending, as in MLflow.
    const count = await eventCount(ws);
    await ok(post(ws, '/runs/delete', { run_id: runId }));
    expect(await eventCount(ws)).toBe(count);
    await refused(
      ws,
      () => post(ws, '/runs/log-parameter', { run_id: runId, key: 'p', value: '1' }),
      400,
      'INVALID_PARAMETER_VALUE',
      /deleted/,
    );
    await ok(post(ws, '/runs/restore', { run_id: runId }));
    expect((await ok(get(ws, '/runs/get', { run_id: runId }))).run.info.lifecycle_stage).toBe(
      'active',
    );
    const gql = await api.gql<{
      run: { name: string; status: string; lifecycleStage: string; endTime: number };
    }>(
      `query($id: String!) { run(id: $id) { name status lifecycleStage endTime } }`,
      { id: runId },
      { 'x-cairn-workspace': ws },
    );
    expect(gql.data?.run).toMatchObject({
      name: 'renamed',
      status: 'FINISHED',
      lifecycleStage: 'ACTIVE',
    });
  });

  it('logs params, metrics and tags singly and in batches, read back in MLflow and GraphQL', async () => {
    const ws = randomWorkspaceId();
    const experimentId = await newExperiment(ws);
    const runId = (await newRun(ws, experimentId)).info.run_id as string;
    await ok(post(ws, '/runs/log-parameter', { run_id: runId, key: 'lr', value: '0.01' }));
    await ok(
      post(ws, '/runs/log-metric', {
        run_id: runId,
        key: 'loss',
        value: 0.5,
        timestamp: 1000,
        step: 1,
      }),
    );
    await ok(
      post(ws, '/runs/log-metric', {
        run_id: runId,
        key: 'loss',
        value: 0.25,
        timestamp: '2000',
        step: '2',
      }),
    );
    await ok(
      post(ws, '/runs/log-metric', { run_id: runId, key: 'odd', value: 'NaN', timestamp: 1000 }),
    );
    await ok(post(ws, '/runs/set-tag', { run_id: runId, key: 'team', value: 'vision' }));
    await ok(
      post(ws, '/runs/log-batch', {
        run_id: runId,
        metrics: [
          { key: 'acc', value: 0.9, timestamp: 3000, step: 0 },
          { key: 'acc', value: 0.95, timestamp: 3001, step: 1 },
        ],
        params: [
          { key: 'epochs', value: '3' },
          { key: 'lr', value: '0.01' },
        ],
        tags: [{ key: 'note', value: 'ok' }],
      }),
    );
    const run = (await ok(get(ws, '/runs/get', { run_id: runId }))).run;
    expect(run.data.metrics).toEqual([
      { key: 'acc', value: 0.95, timestamp: 3001, step: 1 },
      { key: 'loss', value: 0.25, timestamp: 2000, step: 2 },
      { key: 'odd', value: 'NaN', timestamp: 1000, step: 0 },
    ]);
    expect(run.data.params).toEqual([
      { key: 'epochs', value: '3' },
      { key: 'lr', value: '0.01' },
    ]);
    expect(run.data.tags).toEqual(
      expect.arrayContaining([
        { key: 'team', value: 'vision' },
        { key: 'note', value: 'ok' },
      ]),
    );
    const gql = await api.gql<{
      run: {
        params: { key: string; value: string }[];
        latestMetrics: { key: string; value: number }[];
      };
    }>(
      `query($id: String!) { run(id: $id) { params { key value } latestMetrics { key value } } }`,
      { id: runId },
      { 'x-cairn-workspace': ws },
    );
    expect(gql.data?.run.params).toEqual([
      { key: 'epochs', value: '3' },
      { key: 'lr', value: '0.01' },
    ]);
    expect(gql.data?.run.latestMetrics.find((m) => m.key === 'acc')?.value).toBe(0.95);

    // Params are immutable, as in MLflow.
    await refused(
      ws,
      () => post(ws, '/runs/log-parameter', { run_id: runId, key: 'lr', value: '0.1' }),
      400,
      'INVALID_PARAMETER_VALUE',
      /Changing param values is not allowed\. Param with key='lr' was already logged with value='0\.01'/,
    );
    await ok(post(ws, '/runs/delete-tag', { run_id: runId, key: 'note' }));
    expect((await ok(get(ws, '/runs/get', { run_id: runId }))).run.data.tags).not.toContainEqual({
      key: 'note',
      value: 'ok',
    });
    await refused(
      ws,
      () => post(ws, '/runs/delete-tag', { run_id: runId, key: 'note' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
  });

  it("enforces MLflow's log-batch limits and required fields with its messages, appending nothing", async () => {
    const ws = randomWorkspaceId();
    const experimentId = await newExperiment(ws);
    const runId = (await newRun(ws, experimentId)).info.run_id as string;
    const metric = (i: number) => ({ key: 'm', value: i, timestamp: 1, step: i });
    const kv = (i: number) => ({ key: `k${i}`, value: 'v' });
    await refused(
      ws,
      () =>
        post(ws, '/runs/log-batch', {
          run_id: runId,
          metrics: Array.from({ length: 1001 }, (_, i) => metric(i)),
        }),
      400,
      'INVALID_PARAMETER_VALUE',
      /at most 1000 metrics\. Got 1001 metrics/,
    );
    await refused(
      ws,
      () =>
        post(ws, '/runs/log-batch', {
          run_id: runId,
          params: Array.from({ length: 101 }, (_, i) => kv(i)),
        }),
      400,
      'INVALID_PARAMETER_VALUE',
      /at most 100 params\. Got 101 params/,
    );
    await refused(
      ws,
      () =>
        post(ws, '/runs/log-batch', {
          run_id: runId,
          tags: Array.from({ length: 101 }, (_, i) => kv(i)),
        }),
      400,
      'INVALID_PARAMETER_VALUE',
      /at most 100 tags/,
    );
    await refused(
      ws,
      () =>
        post(ws, '/runs/log-batch', {
          run_id: runId,
          metrics: Array.from({ length: 950 }, (_, i) => metric(i)),
          params: Array.from({ length: 60 }, (_, i) => kv(i)),
        }),
      400,
      'INVALID_PARAMETER_VALUE',
      /at most 1000 metrics, params, and tags\. Got 1010/,
    );
    await refused(
      ws,
      () => post(ws, '/runs/log-batch', { run_id: runId, metrics: [{ key: 'm', value: 1 }] }),
      400,
      'INVALID_PARAMETER_VALUE',
      /metrics\[0\]\.timestamp/,
    );
    await refused(
      ws,
      () =>
        post(ws, '/runs/log-batch', {
          run_id: runId,
          params: [
            { key: 'a', value: '1' },
            { key: 'a', value: '2' },
          ],
        }),
      400,
      'INVALID_PARAMETER_VALUE',
      /Duplicate parameter keys have been submitted: \['a'\]/,
    );
    await refused(
      ws,
      () =>
        post(ws, '/runs/log-batch', {
          run_id: runId,
          params: [{ key: 'p', value: 'x'.repeat(6001) }],
        }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      ws,
      () => post(ws, '/runs/log-metric', { run_id: runId, key: 'm', value: 'high', timestamp: 1 }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      ws,
      () => post(ws, '/runs/log-metric', { run_id: runId, key: 'm', value: 1 }),
      400,
      'INVALID_PARAMETER_VALUE',
      /timestamp/,
    );
    await refused(
      ws,
      () => post(ws, '/runs/log-batch', { run_id: 'f'.repeat(32), metrics: [metric(1)] }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    // At the limits exactly, the batch is taken.
    await ok(
      post(ws, '/runs/log-batch', {
        run_id: runId,
        metrics: Array.from({ length: 800 }, (_, i) => metric(i)),
        params: Array.from({ length: 100 }, (_, i) => kv(i)),
        tags: Array.from({ length: 100 }, (_, i) => kv(i)),
      }),
    );
    const run = (await ok(get(ws, '/runs/get', { run_id: runId }))).run;
    expect(run.data.params).toHaveLength(100);
    expect(run.data.tags).toHaveLength(101);
    expect(run.data.metrics).toEqual([{ key: 'm', value: 799, timestamp: 1, step: 799 }]);
  });

  it("refuses a log-batch body over MLflow's 1,000,000 bytes with its message, storing nothing", async () => {
    const ws = randomWorkspaceId();
    const experimentId = await newExperiment(ws);
    const runId = (await newRun(ws, experimentId)).info.run_id as string;
    /** A log-batch whose JSON (as `call` sends it) is exactly `bytes` long, within count limits. */
    const sized = (bytes: number, tagValue: string) => {
      const tags = Array.from({ length: 100 }, (_, i) => ({ key: `t${i}`, value: tagValue }));
      const params: { key: string; value: string }[] = [];
      const body = { run_id: runId, tags, params };
      const size = () => Buffer.byteLength(JSON.stringify(body), 'utf8');
      while (size() + 5900 < bytes)
        params.push({ key: `p${params.length}`, value: 'y'.repeat(6000) });
      params.push({ key: `p${params.length}`, value: '' });
      params.at(-1)!.value = 'y'.repeat(bytes - size());
      expect(size()).toBe(bytes);
      return body;
    };
    await refused(
      ws,
      () => post(ws, '/runs/log-batch', sized(1_000_001, 'x'.repeat(5000))),
      400,
      'INVALID_PARAMETER_VALUE',
      /^Batched logging API requests must be at most 1000000 bytes, got a request of size 1000001\.$/,
    );
    // Multi-byte characters count as bytes, not characters.
    await refused(
      ws,
      () => post(ws, '/runs/log-batch', sized(1_000_002, 'é'.repeat(2500))),
      400,
      'INVALID_PARAMETER_VALUE',
      /got a request of size 1000002\./,
    );
    let run = (await ok(get(ws, '/runs/get', { run_id: runId }))).run;
    expect(run.data.params ?? []).toEqual([]);
    expect((run.data.tags ?? []).filter((t: Json) => t.key.startsWith('t'))).toEqual([]);
    // At the limit exactly, the batch is taken.
    const atLimit = sized(1_000_000, 'x'.repeat(5000));
    await ok(post(ws, '/runs/log-batch', atLimit));
    run = (await ok(get(ws, '/runs/get', { run_id: runId }))).run;
    expect(run.data.params).toHaveLength(atLimit.params.length);
    expect(run.data.tags.filter((t: Json) => /^t\d+$/.test(t.key))).toHaveLength(100);
  });

  it('records log-model in the mlflow.log-model.history tag and records dataset inputs (model inputs are refused clearly)', async () => {
    const ws = randomWorkspaceId();
    const experimentId = await newExperiment(ws);
    const runId = (await newRun(ws, experimentId)).info.run_id as string;
    const model = (path: string) => ({
      artifact_path: path,
      flavors: { python_function: { loader_module: 'mlflow.sklearn' } },
      utc_time_created: '2026-12-06 23:00:00.000000',
      run_id: runId,
    });
    await ok(
      post(ws, '/runs/log-model', { run_id: runId, model_json: JSON.stringify(model('m1')) }),
    );
    await ok(
      post(ws, '/runs/log-model', { run_id: runId, model_json: JSON.stringify(model('m2')) }),
    );
    const tags = (await ok(get(ws, '/runs/get', { run_id: runId }))).run.data.tags as Json[];
    const history = tags.find((t) => t.key === 'mlflow.log-model.history');
    expect(JSON.parse(history!.value as string)).toEqual([model('m1'), model('m2')]);
    await refused(
      ws,
      () => post(ws, '/runs/log-model', { run_id: runId, model_json: '{' }),
      400,
      'INVALID_PARAMETER_VALUE',
      /not a valid JSON/,
    );
    await refused(
      ws,
      () =>
        post(ws, '/runs/log-model', {
          run_id: runId,
          model_json: JSON.stringify({ artifact_path: 'x' }),
        }),
      400,
      'INVALID_PARAMETER_VALUE',
      /missing mandatory fields/,
    );
    await ok(post(ws, '/runs/log-inputs', { run_id: runId }));
    await refused(
      ws,
      () => post(ws, '/runs/outputs', { run_id: runId }),
      400,
      'INVALID_PARAMETER_VALUE',
      /'models'/,
    );
    await refused(
      ws,
      () =>
        post(ws, '/runs/outputs', {
          run_id: runId,
          models: [{ model_id: `m-${'0'.repeat(40)}`, step: 0 }],
        }),
      501,
      'NOT_IMPLEMENTED',
      /source run/,
    );
    // Datasets are recorded (once per name, digest and context); model inputs are not yet.
    const dataset = {
      dataset: { name: 'd', digest: 'abc', source_type: 'code', source: '{}', profile: '{"n":1}' },
      tags: [{ key: 'mlflow.data.context', value: 'training' }],
    };
    await ok(post(ws, '/runs/log-inputs', { run_id: runId, datasets: [dataset] }));
    await ok(post(ws, '/runs/log-inputs', { run_id: runId, datasets: [dataset] }));
    expect((await ok(get(ws, '/runs/get', { run_id: runId }))).run.inputs).toEqual({
      dataset_inputs: [dataset],
    });
    await refused(
      ws,
      () =>
        post(ws, '/runs/log-inputs', {
          run_id: runId,
          datasets: [{ dataset: { name: 'd', source_type: 'code', source: '{}' } }],
        }),
      400,
      'INVALID_PARAMETER_VALUE',
      /digest/,
    );
    await refused(
      ws,
      () => post(ws, '/runs/log-inputs', { run_id: runId, models: [{ model_id: 'm-1' }] }),
      501,
      'NOT_IMPLEMENTED',
    );
  });
});

describe('MLflow run search', () => {
  it('filters on metrics, params, tags and attributes, orders, and pages with tokens', async () => {
    const ws = randomWorkspaceId();
    const experimentId = await newExperiment(ws);
    const other = await newExperiment(ws);
    const runs: string[] = [];
    for (const [i, acc] of [0.2, 0.9, 0.6].entries()) {
      const run = await newRun(ws, experimentId, {
        run_name: `r${i}`,
        start_time: 1_700_000_000_000 + i,
      });
      runs.push(run.info.run_id as string);
      await ok(
        post(ws, '/runs/log-batch', {
          run_id: run.info.run_id,
          metrics: [{ key: 'acc', value: acc, timestamp: 1, step: 0 }],
          params: [{ key: 'opt', value: i === 1 ? 'adam' : 'sgd' }],
          tags: [{ key: 'team', value: i === 2 ? 'nlp' : 'vision' }],
        }),
      );
    }
    await newRun(ws, other, { run_name: 'elsewhere' });
    const search = async (body: Record<string, unknown>) =>
      (
        (await ok(post(ws, '/runs/search', { experiment_ids: [experimentId], ...body }))).runs ?? []
      ).map((r: Json) => r.info.run_name as string);
    expect(await search({})).toEqual(['r2', 'r1', 'r0']);
    expect(await search({ filter: 'metrics.acc > 0.5' })).toEqual(['r2', 'r1']);
    expect(await search({ filter: "params.opt = 'adam'" })).toEqual(['r1']);
    expect(await search({ filter: "tags.team = 'vision' and metrics.acc < 0.5" })).toEqual(['r0']);
    expect(await search({ filter: "attributes.run_name = 'r2'" })).toEqual(['r2']);
    expect(await search({ filter: "tags.mlflow.runName = 'r0'" })).toEqual(['r0']);
    expect(await search({ filter: "attributes.status = 'RUNNING'" })).toEqual(['r2', 'r1', 'r0']);
    expect(await search({ order_by: ['metrics.acc DESC'] })).toEqual(['r1', 'r2', 'r0']);
    expect(await search({ order_by: ['tags.mlflow.runName ASC'] })).toEqual(['r0', 'r1', 'r2']);
    expect(await search({ order_by: ['attributes.start_time ASC'] })).toEqual(['r0', 'r1', 'r2']);

    // Full Run messages, with data.
    const full = await ok(
      post(ws, '/runs/search', { experiment_ids: [experimentId], filter: "params.opt = 'adam'" }),
    );
    expect(full.runs[0].data).toEqual({
      metrics: [{ key: 'acc', value: 0.9, timestamp: 1, step: 0 }],
      params: [{ key: 'opt', value: 'adam' }],
      tags: expect.arrayContaining([
        { key: 'team', value: 'vision' },
        { key: 'mlflow.runName', value: 'r1' },
      ]),
    });
    expect(full.next_page_token).toBeUndefined();

    // Page tokens: max_results 1 walks all three once.
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await ok(
        post(ws, '/runs/search', {
          experiment_ids: [experimentId],
          order_by: ['metrics.acc ASC'],
          max_results: 1,
          ...(token ? { page_token: token } : {}),
        }),
      );
      seen.push(...page.runs.map((r: Json) => r.info.run_name as string));
      token = page.next_page_token as string | undefined;
    } while (token);
    expect(seen).toEqual(['r0', 'r2', 'r1']);

    // Both experiments, and run_view_type.
    expect(
      (await ok(post(ws, '/runs/search', { experiment_ids: [experimentId, other] }))).runs,
    ).toHaveLength(4);
    await ok(post(ws, '/runs/delete', { run_id: runs[0] }));
    expect(await search({})).toEqual(['r2', 'r1']);
    expect(await search({ run_view_type: 'DELETED_ONLY' })).toEqual(['r0']);
    expect(await search({ run_view_type: 'ALL' })).toEqual(['r2', 'r1', 'r0']);

    await refused(
      ws,
      () => post(ws, '/runs/search', { experiment_ids: [experimentId], filter: 'metrics.acc >' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      ws,
      () =>
        post(ws, '/runs/search', {
          experiment_ids: [experimentId],
          filter: "metrics.acc = 'high'",
        }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      ws,
      () => post(ws, '/runs/search', { experiment_ids: [experimentId], max_results: 50_001 }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      ws,
      () => post(ws, '/runs/search', { experiment_ids: [experimentId], page_token: 'x' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      ws,
      () => post(ws, '/runs/search', { experiment_ids: [experimentId], run_view_type: 'SOME' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
  });

  it('keeps workspaces apart', async () => {
    const ws = randomWorkspaceId();
    const otherWs = randomWorkspaceId();
    const experimentId = await newExperiment(ws);
    const run = await newRun(ws, experimentId);
    await refused(
      otherWs,
      () => get(otherWs, '/runs/get', { run_id: run.info.run_id }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      otherWs,
      () => post(otherWs, '/runs/log-parameter', { run_id: run.info.run_id, key: 'a', value: 'b' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expect(
      (await ok(post(otherWs, '/runs/search', { experiment_ids: [experimentId] }))).runs,
    ).toBeUndefined();
  });
});

describe('MLflow metric history', () => {
  it('answers get-history whole or in pages, and get-history-bulk-interval across runs', async () => {
    const ws = randomWorkspaceId();
    const experimentId = await newExperiment(ws);
    const a = (await newRun(ws, experimentId)).info.run_id as string;
    const b = (await newRun(ws, experimentId)).info.run_id as string;
    await ok(
      post(ws, '/runs/log-batch', {
        run_id: a,
        metrics: [0, 1, 2, 3, 4].map((s) => ({
          key: 'loss',
          value: 1 / (s + 1),
          timestamp: 100 + s,
          step: s,
        })),
      }),
    );
    await ok(
      post(ws, '/runs/log-batch', {
        run_id: b,
        metrics: [0, 2, 4, 6].map((s) => ({ key: 'loss', value: s, timestamp: 200 + s, step: s })),
      }),
    );
    const all = await ok(get(ws, '/metrics/get-history', { run_id: a, metric_key: 'loss' }));
    expect(all.next_page_token).toBeUndefined();
    expect(all.metrics).toEqual(
      [0, 1, 2, 3, 4].map((s) => ({
        key: 'loss',
        value: 1 / (s + 1),
        timestamp: 100 + s,
        step: s,
      })),
    );
    const steps: number[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await ok(
        get(ws, '/metrics/get-history', {
          run_id: a,
          metric_key: 'loss',
          max_results: '2',
          ...(token ? { page_token: token } : {}),
        }),
      );
      pages++;
      steps.push(...page.metrics.map((m: Json) => m.step as number));
      token = page.next_page_token as string | undefined;
    } while (token);
    expect(steps).toEqual([0, 1, 2, 3, 4]);
    expect(pages).toBe(3);
    expect(await ok(get(ws, '/metrics/get-history', { run_id: a, metric_key: 'nothing' }))).toEqual(
      {},
    );

    const bulk = await ok(
      get(
        ws,
        '/metrics/get-history-bulk-interval',
        new URLSearchParams([
          ['run_ids', a],
          ['run_ids', b],
          ['metric_key', 'loss'],
        ]),
      ),
    );
    expect(bulk.metrics.filter((m: Json) => m.run_id === a).map((m: Json) => m.step)).toEqual([
      0, 1, 2, 3, 4,
    ]);
    expect(bulk.metrics.filter((m: Json) => m.run_id === b)).toEqual(
      [0, 2, 4, 6].map((s) => ({ key: 'loss', value: s, timestamp: 200 + s, step: s, run_id: b })),
    );
    const sampled = await ok(
      get(
        ws,
        '/metrics/get-history-bulk-interval',
        new URLSearchParams([
          ['run_ids', a],
          ['metric_key', 'loss'],
          ['max_results', '2'],
          ['start_step', '1'],
          ['end_step', '4'],
        ]),
      ),
    );
    // Sampled steps of [1, 4] plus each run's first/last step inside the range.
    expect(sampled.metrics.map((m: Json) => m.step)).toEqual([1, 3, 4]);

    await refused(
      ws,
      () => get(ws, '/metrics/get-history', { run_id: a }),
      400,
      'INVALID_PARAMETER_VALUE',
      /metric_key/,
    );
    await refused(
      ws,
      () => get(ws, '/metrics/get-history', { run_id: 'f'.repeat(32), metric_key: 'loss' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      ws,
      () => get(ws, '/metrics/get-history', { run_id: a, metric_key: 'loss', page_token: '!!' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      ws,
      () =>
        get(
          ws,
          '/metrics/get-history-bulk-interval',
          new URLSearchParams([
            ['run_ids', a],
            ['metric_key', 'loss'],
            ['start_step', '1'],
          ]),
        ),
      400,
      'INVALID_PARAMETER_VALUE',
      /both must be specified/,
    );
    await refused(
      ws,
      () =>
        get(
          ws,
          '/metrics/get-history-bulk-interval',
          new URLSearchParams([
            ['run_ids', a],
            ['metric_key', 'loss'],
            ['max_results', '2501'],
          ]),
        ),
      400,
      'INVALID_PARAMETER_VALUE',
      /between 1 and 2500/,
    );
    await refused(
      ws,
      () =>
        get(
          ws,
          '/metrics/get-history-bulk-interval',
          new URLSearchParams([
            ...Array.from({ length: 101 }, (_, i) => ['run_ids', `r${i}`]),
            ['metric_key', 'loss'],
          ]),
        ),
      400,
      'INVALID_PARAMETER_VALUE',
      /at most 100 run_ids/,
    );
  });

  it('serves GET /version as MLflow does', async () => {
    const response = await fetch(`${api.url}/version`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toMatch(/^3\.\d+\.\d+$/);
  });
});
