/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment -- MLflow's JSON answers are read field by field, untyped on purpose (as the client sees them) */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from './helpers/api-harness.ts';

/**
 * MLflow's model registry (model_registry.proto) over HTTP as the `mlflow` client calls it
 * (mlflow/store/model_registry/rest_store.py): bodies checked field by field, MLflow's error
 * codes and statuses for bad input with nothing appended, and every write visible in GraphQL.
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

const ws = (workspace: string) => ({ 'x-cairn-workspace': workspace });

async function mlflow(
  workspace: string,
  method: string,
  endpoint: string,
  body?: Json,
): Promise<{ status: number; json: Json }> {
  let url = `${api.url}/api/2.0/mlflow/${endpoint}`;
  const init: RequestInit = { method, headers: { ...ws(workspace) } };
  if (method === 'GET' && body) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(body))
      for (const item of Array.isArray(v) ? v : [v]) query.append(k, String(item));
    url += `?${query}`;
  } else if (body) {
    init.body = JSON.stringify(body);
    init.headers = { ...ws(workspace), 'content-type': 'application/json' };
  }
  const response = await fetch(url, init);
  return { status: response.status, json: (await response.json()) as Json };
}

async function ok(workspace: string, method: string, endpoint: string, body?: Json) {
  const answer = await mlflow(workspace, method, endpoint, body);
  expect({ endpoint, status: answer.status, body: answer.json }).toMatchObject({
    endpoint,
    status: 200,
  });
  return answer.json;
}

async function eventCount(workspace: string): Promise<number> {
  const { rows } = await sql<{
    n: number;
  }>`SELECT count(*)::int AS n FROM events WHERE workspace_id = ${workspace}`.execute(api.db);
  return rows[0]!.n;
}

async function gql<T = Json>(workspace: string, query: string, variables: Json = {}): Promise<T> {
  const response = await api.gql<T>(query, variables, ws(workspace));
  expect(response.errors).toBeUndefined();
  return response.data!;
}

async function newRun(workspace: string): Promise<{ experimentId: string; runId: string }> {
  const { createExperiment } = await gql<{ createExperiment: { id: string } }>(
    workspace,
    `mutation($name: String!) { createExperiment(name: $name) { id } }`,
    { name: `exp-${Math.random().toString(36).slice(2)}` },
  );
  const { createRun } = await gql<{ createRun: { id: string } }>(
    workspace,
    `mutation($e: String!) { createRun(experimentId: $e) { id } }`,
    { e: createExperiment.id },
  );
  return { experimentId: createExperiment.id, runId: createRun.id };
}

async function put(workspace: string, artifactUri: string, path: string, content: string) {
  const tail = artifactUri.replace(/^mlflow-artifacts:\//u, '');
  const response = await fetch(`${api.url}/api/2.0/mlflow-artifacts/artifacts/${tail}/${path}`, {
    method: 'PUT',
    headers: { ...ws(workspace), 'content-type': 'text/plain' },
    body: content,
  });
  expect(response.status).toBe(200);
}

/** Expects MLflow's error body and status, and that nothing was appended. */
async function refused(
  workspace: string,
  method: string,
  endpoint: string,
  body: Json | undefined,
  status: number,
  code: string,
) {
  const before = await eventCount(workspace);
  const answer = await mlflow(workspace, method, endpoint, body);
  expect({ endpoint, body, status: answer.status, code: answer.json.error_code }).toEqual({
    endpoint,
    body,
    status,
    code,
  });
  expect(typeof answer.json.message).toBe('string');
  expect(Object.keys(answer.json).sort()).toEqual(['error_code', 'message']);
  expect(await eventCount(workspace)).toBe(before);
}

describe('registered models', () => {
  it('create, get, update, rename, tags, aliases, latest versions, search and delete', async () => {
    const workspace = randomWorkspaceId();
    const { runId, experimentId } = await newRun(workspace);
    const t0 = Date.now();
    const created = await ok(workspace, 'POST', 'registered-models/create', {
      name: 'fraud',
      description: 'catches fraud',
      tags: [{ key: 'team', value: 'risk' }],
    });
    const model = created.registered_model;
    expect(Object.keys(model).sort()).toEqual([
      'creation_timestamp',
      'description',
      'last_updated_timestamp',
      'name',
      'tags',
    ]);
    expect(model.name).toBe('fraud');
    expect(model.description).toBe('catches fraud');
    expect(model.tags).toEqual([{ key: 'team', value: 'risk' }]);
    expect(typeof model.creation_timestamp).toBe('number');
    expect(model.creation_timestamp).toBeGreaterThanOrEqual(t0 - 1000);
    expect(model.last_updated_timestamp).toBeGreaterThanOrEqual(model.creation_timestamp);

    expect(
      (await ok(workspace, 'GET', 'registered-models/get', { name: 'fraud' })).registered_model,
    ).toEqual(model);

    // Versions: a runs:/ source and the proxy's mlflow-artifacts:/ spelling of another.
    const v1 = (
      await ok(workspace, 'POST', 'model-versions/create', {
        name: 'fraud',
        source: `runs:/${runId}/model`,
        run_id: runId,
        description: 'first',
        tags: [{ key: 'k', value: 'v' }],
      })
    ).model_version;
    expect(v1).toEqual({
      name: 'fraud',
      version: '1',
      creation_timestamp: expect.any(Number),
      last_updated_timestamp: expect.any(Number),
      current_stage: 'None',
      description: 'first',
      source: `runs:/${runId}/model`,
      run_id: runId,
      status: 'READY',
      tags: [{ key: 'k', value: 'v' }],
    });
    const v2 = (
      await ok(workspace, 'POST', 'model-versions/create', {
        name: 'fraud',
        source: `mlflow-artifacts:/${experimentId}/${runId}/artifacts/model2`,
      })
    ).model_version;
    expect(v2).toMatchObject({ version: '2', source: `runs:/${runId}/model2`, run_id: runId });

    await ok(workspace, 'PATCH', 'registered-models/update', {
      name: 'fraud',
      description: 'catches more fraud',
    });
    await ok(workspace, 'POST', 'registered-models/set-tag', {
      name: 'fraud',
      key: 'owner',
      value: 'ana',
    });
    await ok(workspace, 'DELETE', 'registered-models/delete-tag', { name: 'fraud', key: 'team' });
    await ok(workspace, 'POST', 'registered-models/alias', {
      name: 'fraud',
      alias: 'champion',
      version: '1',
    });
    await ok(workspace, 'POST', 'registered-models/alias', {
      name: 'fraud',
      alias: 'challenger',
      version: '2',
    });
    await ok(workspace, 'DELETE', 'registered-models/alias', {
      name: 'fraud',
      alias: 'challenger',
    });
    const byAlias = await ok(workspace, 'GET', 'registered-models/alias', {
      name: 'fraud',
      alias: 'champion',
    });
    expect(byAlias.model_version).toMatchObject({
      name: 'fraud',
      version: '1',
      aliases: ['champion'],
    });

    await ok(workspace, 'POST', 'model-versions/transition-stage', {
      name: 'fraud',
      version: '1',
      stage: 'production',
      archive_existing_versions: false,
    });
    const latest = await ok(workspace, 'POST', 'registered-models/get-latest-versions', {
      name: 'fraud',
      stages: ['Production'],
    });
    expect(latest.model_versions.map((v: Json) => [v.version, v.current_stage])).toEqual([
      ['1', 'Production'],
    ]);
    const allLatest = await ok(workspace, 'GET', 'registered-models/get-latest-versions', {
      name: 'fraud',
    });
    expect(allLatest.model_versions.map((v: Json) => [v.version, v.current_stage])).toEqual([
      ['2', 'None'],
      ['1', 'Production'],
    ]);

    const got = (await ok(workspace, 'GET', 'registered-models/get', { name: 'fraud' }))
      .registered_model;
    expect(got.description).toBe('catches more fraud');
    expect(got.tags).toEqual([{ key: 'owner', value: 'ana' }]);
    expect(got.aliases).toEqual([{ alias: 'champion', version: '1' }]);
    expect(got.latest_versions.map((v: Json) => v.version)).toEqual(['2', '1']);

    // What was written is Cairn's registry: GraphQL sees it.
    const seen = await gql<{ registeredModel: Json }>(
      workspace,
      `query { registeredModel(name: "fraud") { name description tags { key value }
        aliases { alias version } versions(first: 10) { nodes { version source runId stage tags { key value } } } } }`,
    );
    expect(seen.registeredModel).toEqual({
      name: 'fraud',
      description: 'catches more fraud',
      tags: [{ key: 'owner', value: 'ana' }],
      aliases: [{ alias: 'champion', version: 1 }],
      versions: {
        nodes: [
          { version: 2, source: `runs:/${runId}/model2`, runId, stage: 'NONE', tags: [] },
          {
            version: 1,
            source: `runs:/${runId}/model`,
            runId,
            stage: 'PRODUCTION',
            tags: [{ key: 'k', value: 'v' }],
          },
        ],
      },
    });

    const renamed = await ok(workspace, 'POST', 'registered-models/rename', {
      name: 'fraud',
      new_name: 'fraud-v2',
    });
    expect(renamed.registered_model.name).toBe('fraud-v2');
    await refused(
      workspace,
      'GET',
      'registered-models/get',
      { name: 'fraud' },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );

    await ok(workspace, 'DELETE', 'registered-models/delete', { name: 'fraud-v2' });
    await refused(
      workspace,
      'GET',
      'registered-models/get',
      { name: 'fraud-v2' },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    const gone = await gql<{ registeredModel: Json | null }>(
      workspace,
      `query { registeredModel(name: "fraud-v2") { name } }`,
    );
    expect(gone.registeredModel).toBeNull();
  });

  it('searches with filter, order_by and page tokens', async () => {
    const workspace = randomWorkspaceId();
    for (const name of ['alpha', 'beta', 'gamma', 'delta', 'other'])
      await ok(workspace, 'POST', 'registered-models/create', {
        name,
        tags: name === 'other' ? [] : [{ key: 'group', value: 'greek' }],
      });
    const page1 = await ok(workspace, 'GET', 'registered-models/search', {
      filter: "tags.group = 'greek'",
      order_by: ['name DESC'],
      max_results: 3,
    });
    expect(page1.registered_models.map((m: Json) => m.name)).toEqual(['gamma', 'delta', 'beta']);
    expect(typeof page1.next_page_token).toBe('string');
    const page2 = await ok(workspace, 'GET', 'registered-models/search', {
      filter: "tags.group = 'greek'",
      order_by: ['name DESC'],
      max_results: 3,
      page_token: page1.next_page_token,
    });
    expect(page2.registered_models.map((m: Json) => m.name)).toEqual(['alpha']);
    expect(page2.next_page_token).toBeUndefined();
    const like = await ok(workspace, 'GET', 'registered-models/search', {
      filter: "name LIKE '%ta'",
    });
    expect(like.registered_models.map((m: Json) => m.name)).toEqual(['beta', 'delta']);
    // The filter the 3.x client adds to keep prompts out of model searches.
    const noPrompts = await ok(workspace, 'GET', 'registered-models/search', {
      filter: "name = 'other' AND tag.`mlflow.prompt.is_prompt` != 'true'",
    });
    expect(noPrompts.registered_models.map((m: Json) => m.name)).toEqual(['other']);
    await ok(workspace, 'POST', 'registered-models/create', {
      name: 'prompty',
      tags: [{ key: 'mlflow.prompt.is_prompt', value: 'true' }],
    });
    const models = await ok(workspace, 'GET', 'registered-models/search', {
      filter: "tag.`mlflow.prompt.is_prompt` != 'true'",
      order_by: ['name ASC'],
    });
    expect(models.registered_models.map((m: Json) => m.name)).toEqual([
      'alpha',
      'beta',
      'delta',
      'gamma',
      'other',
    ]);
    const prompts = await ok(workspace, 'GET', 'registered-models/search', {
      filter: "tag.`mlflow.prompt.is_prompt` = 'true'",
    });
    expect(prompts.registered_models.map((m: Json) => m.name)).toEqual(['prompty']);
    const none = await ok(workspace, 'GET', 'registered-models/search', { filter: "name = 'zzz'" });
    expect(none).toEqual({ registered_models: [] });

    await refused(
      workspace,
      'GET',
      'registered-models/search',
      { filter: 'name = ' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'GET',
      'registered-models/search',
      { max_results: 0 },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'GET',
      'registered-models/search',
      { page_token: 'garbage' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
  });

  it('answers bad input with MLflow error codes and appends nothing', async () => {
    const workspace = randomWorkspaceId();
    await ok(workspace, 'POST', 'registered-models/create', { name: 'm' });
    await refused(
      workspace,
      'POST',
      'registered-models/create',
      {},
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'POST',
      'registered-models/create',
      { name: 7 },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'POST',
      'registered-models/create',
      { name: 'm' },
      400,
      'RESOURCE_ALREADY_EXISTS',
    );
    await refused(
      workspace,
      'POST',
      'registered-models/create',
      { name: 'a/b' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'GET',
      'registered-models/get',
      { name: 'nope' },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      workspace,
      'POST',
      'registered-models/rename',
      { name: 'm' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'PATCH',
      'registered-models/update',
      { name: 'nope', description: 'x' },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      workspace,
      'DELETE',
      'registered-models/delete',
      { name: 'nope' },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      workspace,
      'POST',
      'registered-models/set-tag',
      { name: 'm', value: 'v' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'POST',
      'registered-models/alias',
      { name: 'm', alias: 'a', version: '9' },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      workspace,
      'POST',
      'registered-models/alias',
      { name: 'm', alias: 'a', version: 'x' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'GET',
      'registered-models/alias',
      { name: 'm', alias: 'nope' },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      workspace,
      'POST',
      'registered-models/get-latest-versions',
      { name: 'm', stages: ['Prod'] },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(workspace, 'GET', 'registered-models/create', undefined, 405, 'BAD_REQUEST');
  });
});

describe('model versions', () => {
  it('get, update, stages, tags, search, download URI and delete', async () => {
    const workspace = randomWorkspaceId();
    const { runId, experimentId } = await newRun(workspace);
    await ok(workspace, 'POST', 'registered-models/create', { name: 'clf' });
    for (const path of ['model', 'model-b', 'model-c'])
      await ok(workspace, 'POST', 'model-versions/create', {
        name: 'clf',
        source: `runs:/${runId}/${path}`,
      });
    await ok(workspace, 'PATCH', 'model-versions/update', {
      name: 'clf',
      version: '2',
      description: 'second',
    });
    await ok(workspace, 'POST', 'model-versions/set-tag', {
      name: 'clf',
      version: '2',
      key: 'validated',
      value: 'yes',
    });
    await ok(workspace, 'POST', 'model-versions/set-tag', {
      name: 'clf',
      version: '2',
      key: 'tmp',
      value: '1',
    });
    await ok(workspace, 'DELETE', 'model-versions/delete-tag', {
      name: 'clf',
      version: '2',
      key: 'tmp',
    });
    await ok(workspace, 'POST', 'model-versions/transition-stage', {
      name: 'clf',
      version: '1',
      stage: 'Production',
      archive_existing_versions: false,
    });
    const moved = await ok(workspace, 'POST', 'model-versions/transition-stage', {
      name: 'clf',
      version: '2',
      stage: 'Production',
      archive_existing_versions: true,
    });
    expect(moved.model_version).toMatchObject({ version: '2', current_stage: 'Production' });
    const v1 = (await ok(workspace, 'GET', 'model-versions/get', { name: 'clf', version: '1' }))
      .model_version;
    expect(v1.current_stage).toBe('Archived');
    const v2 = (await ok(workspace, 'GET', 'model-versions/get', { name: 'clf', version: 2 }))
      .model_version;
    expect(v2).toEqual({
      name: 'clf',
      version: '2',
      creation_timestamp: expect.any(Number),
      last_updated_timestamp: expect.any(Number),
      current_stage: 'Production',
      description: 'second',
      source: `runs:/${runId}/model-b`,
      run_id: runId,
      status: 'READY',
      tags: [{ key: 'validated', value: 'yes' }],
    });

    const searched = await ok(workspace, 'GET', 'model-versions/search', {
      filter: `name = 'clf' AND run_id = '${runId}'`,
      order_by: ['version_number ASC'],
      max_results: 2,
    });
    expect(searched.model_versions.map((v: Json) => v.version)).toEqual(['1', '2']);
    const rest = await ok(workspace, 'GET', 'model-versions/search', {
      filter: `name = 'clf' AND run_id = '${runId}'`,
      order_by: ['version_number ASC'],
      max_results: 2,
      page_token: searched.next_page_token,
    });
    expect(rest.model_versions.map((v: Json) => v.version)).toEqual(['3']);
    const tagged = await ok(workspace, 'GET', 'model-versions/search', {
      filter: "tags.validated = 'yes'",
    });
    expect(tagged.model_versions.map((v: Json) => v.version)).toEqual(['2']);

    const uri = await ok(workspace, 'GET', 'model-versions/get-download-uri', {
      name: 'clf',
      version: '2',
    });
    expect(uri).toEqual({
      artifact_uri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts/model-b`,
    });

    await ok(workspace, 'DELETE', 'model-versions/delete', { name: 'clf', version: '3' });
    await refused(
      workspace,
      'GET',
      'model-versions/get',
      { name: 'clf', version: '3' },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    const seen = await gql<{ modelVersion: Json }>(
      workspace,
      `query { modelVersion(name: "clf", version: 2) { stage description tags { key value } run { id } } }`,
    );
    expect(seen.modelVersion).toEqual({
      stage: 'PRODUCTION',
      description: 'second',
      tags: [{ key: 'validated', value: 'yes' }],
      run: { id: runId },
    });
  });

  it('answers bad input with MLflow error codes and appends nothing', async () => {
    const workspace = randomWorkspaceId();
    const { runId } = await newRun(workspace);
    await ok(workspace, 'POST', 'registered-models/create', { name: 'm' });
    await ok(workspace, 'POST', 'model-versions/create', { name: 'm', source: `runs:/${runId}/x` });
    const missingRun = 'a'.repeat(32);
    await refused(
      workspace,
      'POST',
      'model-versions/create',
      { name: 'm' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'POST',
      'model-versions/create',
      { name: 'nope', source: `runs:/${runId}/x` },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      workspace,
      'POST',
      'model-versions/create',
      { name: 'm', source: `runs:/${missingRun}/x` },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      workspace,
      'POST',
      'model-versions/create',
      { name: 'm', source: `runs:/${runId}/../../etc` },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'POST',
      'model-versions/create',
      { name: 'm', source: 'http://evil/x' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'POST',
      'model-versions/create',
      { name: 'm', source: 'models:/m-unknown' },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      workspace,
      'GET',
      'model-versions/get',
      { name: 'm', version: 'one' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'GET',
      'model-versions/get',
      { name: 'm', version: '5' },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      workspace,
      'POST',
      'model-versions/transition-stage',
      { name: 'm', version: '1', stage: 'Live' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'POST',
      'model-versions/set-tag',
      { name: 'm', version: '1' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'DELETE',
      'model-versions/delete',
      { name: 'm', version: '7' },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      workspace,
      'GET',
      'model-versions/search',
      { filter: 'nonsense ~ 1' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'GET',
      'model-versions/get-download-uri',
      { name: 'm', version: '2' },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
  });
});

describe('logged models (MLflow 3)', () => {
  it('log_model then register_model and load by alias, as the 3.x client does', async () => {
    const workspace = randomWorkspaceId();
    const { experimentId, runId } = await newRun(workspace);

    // mlflow.sklearn.log_model: create the logged model in the active run …
    const created = await ok(workspace, 'POST', 'logged-models', {
      experiment_id: experimentId,
      name: 'model',
      source_run_id: runId,
      params: [{ key: 'n_estimators', value: '10' }],
      tags: [{ key: 'mlflow.source.name', value: 'train.py' }],
    });
    const info = created.model.info;
    const modelId: string = info.model_id;
    expect(modelId).toMatch(/^m-[0-9a-f]{40}$/u);
    expect(created.model).toEqual({
      info: {
        model_id: modelId,
        experiment_id: experimentId,
        name: 'model',
        creation_timestamp_ms: expect.any(Number),
        last_updated_timestamp_ms: expect.any(Number),
        artifact_uri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts/models/${modelId}`,
        status: 'LOGGED_MODEL_PENDING',
        source_run_id: runId,
        tags: [{ key: 'mlflow.source.name', value: 'train.py' }],
      },
      data: { params: [{ key: 'n_estimators', value: '10' }] },
    });

    // … upload its files to its artifact_uri through the proxy, and finalize it.
    await put(workspace, info.artifact_uri, 'MLmodel', 'flavors: {}\n');
    await put(workspace, info.artifact_uri, 'model.pkl', 'pickle-bytes');
    await put(workspace, info.artifact_uri, 'env/requirements.txt', 'scikit-learn\n');
    const finalized = await ok(workspace, 'PATCH', `logged-models/${modelId}`, {
      model_id: modelId,
      status: 'LOGGED_MODEL_READY',
    });
    expect(finalized.model.info.status).toBe('LOGGED_MODEL_READY');
    await ok(workspace, 'POST', `logged-models/${modelId}/params`, {
      model_id: modelId,
      params: [{ key: 'max_depth', value: '3' }],
    });
    const got = (await ok(workspace, 'GET', `logged-models/${modelId}`)).model;
    expect(got.data.params).toEqual([
      { key: 'n_estimators', value: '10' },
      { key: 'max_depth', value: '3' },
    ]);
    expect(got.info.status).toBe('LOGGED_MODEL_READY');

    const files = await ok(workspace, 'GET', `logged-models/${modelId}/artifacts/directories`);
    expect(files).toEqual({
      root_uri: info.artifact_uri,
      files: [
        { path: 'MLmodel', is_dir: false, file_size: 12 },
        { path: 'env', is_dir: true },
        { path: 'model.pkl', is_dir: false, file_size: 12 },
      ],
    });
    const sub = await ok(workspace, 'GET', `logged-models/${modelId}/artifacts/directories`, {
      artifact_directory_path: 'env',
    });
    expect(sub.files).toEqual([{ path: 'env/requirements.txt', is_dir: false, file_size: 13 }]);

    // runs:/<run>/model resolves through a name search, as RunsArtifactRepository does.
    const found = await ok(workspace, 'POST', 'logged-models/search', {
      experiment_ids: [experimentId],
      filter: "name = 'model'",
    });
    expect(found.models.map((m: Json) => m.info.model_id)).toEqual([modelId]);
    expect(found.next_page_token).toBeUndefined();

    // register_model("models:/<id>", "iris"): create the model, then the version.
    await ok(workspace, 'POST', 'registered-models/create', { name: 'iris' });
    const version = (
      await ok(workspace, 'POST', 'model-versions/create', {
        name: 'iris',
        source: `models:/${modelId}`,
        model_id: modelId,
      })
    ).model_version;
    expect(version).toMatchObject({
      name: 'iris',
      version: '1',
      source: `models:/${modelId}`,
      model_id: modelId,
      run_id: runId,
      status: 'READY',
    });
    await ok(workspace, 'PATCH', `logged-models/${modelId}/tags`, {
      tags: [{ key: 'mlflow.modelVersions', value: '[{"name": "iris", "version": "1"}]' }],
    });
    await ok(workspace, 'POST', 'registered-models/alias', {
      name: 'iris',
      alias: 'prod',
      version: '1',
    });

    // load_model("models:/iris@prod"): alias → version → download URI → the files.
    const byAlias = (
      await ok(workspace, 'GET', 'registered-models/alias', { name: 'iris', alias: 'prod' })
    ).model_version;
    expect(byAlias.model_id).toBe(modelId);
    const download = await ok(workspace, 'GET', 'model-versions/get-download-uri', {
      name: 'iris',
      version: byAlias.version,
    });
    expect(download.artifact_uri).toBe(info.artifact_uri);
    const listing = await fetch(
      `${api.url}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(download.artifact_uri.replace('mlflow-artifacts:/', ''))}`,
      { headers: ws(workspace) },
    );
    expect(((await listing.json()) as Json).files.map((f: Json) => f.path)).toEqual([
      'MLmodel',
      'env',
      'model.pkl',
    ]);
    const pkl = await fetch(
      `${api.url}/api/2.0/mlflow-artifacts/artifacts/${download.artifact_uri.replace('mlflow-artifacts:/', '')}/model.pkl`,
      { headers: ws(workspace) },
    );
    expect(await pkl.text()).toBe('pickle-bytes');

    // Cairn's view: a registry version of the run's artifacts, and the files on the run.
    const seen = await gql<{ modelVersion: Json; run: Json }>(
      workspace,
      `query($run: String!) {
        modelVersion(name: "iris", version: 1) { source runId aliases }
        run(id: $run) { artifacts(path: "models") { path isDir } }
      }`,
      { run: runId },
    );
    expect(seen.modelVersion).toEqual({
      source: `runs:/${runId}/models/${modelId}`,
      runId,
      aliases: ['prod'],
    });
    expect(seen.run.artifacts).toEqual([{ path: `models/${modelId}`, isDir: true }]);

    // Tags: set, delete; delete; search by tag; deleted models are gone.
    await ok(workspace, 'DELETE', `logged-models/${modelId}/tags/mlflow.source.name`);
    const tags = (await ok(workspace, 'GET', `logged-models/${modelId}`)).model.info.tags;
    expect(tags).toEqual([
      { key: 'mlflow.modelVersions', value: '[{"name": "iris", "version": "1"}]' },
    ]);
    await ok(workspace, 'DELETE', `logged-models/${modelId}`);
    await refused(
      workspace,
      'GET',
      `logged-models/${modelId}`,
      undefined,
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    const deleted = await ok(workspace, 'GET', `logged-models/${modelId}`, {
      allow_deleted: 'true',
    });
    expect(deleted.model.info.model_id).toBe(modelId);
  });

  it('searches by name, status and tags with order and paging', async () => {
    const workspace = randomWorkspaceId();
    const { experimentId, runId } = await newRun(workspace);
    const ids: string[] = [];
    for (const [name, type] of [
      ['a', 'agent'],
      ['b', 'agent'],
      ['c', 'clf'],
    ] as const) {
      const created = await ok(workspace, 'POST', 'logged-models', {
        experiment_id: experimentId,
        name,
        model_type: type,
        source_run_id: runId,
      });
      ids.push(created.model.info.model_id);
    }
    const page1 = await ok(workspace, 'POST', 'logged-models/search', {
      experiment_ids: [experimentId],
      filter: "model_type = 'agent'",
      order_by: [{ field_name: 'name', ascending: false }],
      max_results: 1,
    });
    expect(page1.models.map((m: Json) => m.info.name)).toEqual(['b']);
    const page2 = await ok(workspace, 'POST', 'logged-models/search', {
      experiment_ids: [experimentId],
      filter: "model_type = 'agent'",
      order_by: [{ field_name: 'name', ascending: false }],
      max_results: 1,
      page_token: page1.next_page_token,
    });
    expect(page2.models.map((m: Json) => m.info.name)).toEqual(['a']);
    expect(page2.next_page_token).toBeUndefined();
    const pending = await ok(workspace, 'POST', 'logged-models/search', {
      experiment_ids: [experimentId],
      filter: "status = 'PENDING' AND name LIKE '%c'",
    });
    expect(pending.models.map((m: Json) => m.info.model_id)).toEqual([ids[2]]);
  });

  it('answers bad input with MLflow error codes and appends nothing', async () => {
    const workspace = randomWorkspaceId();
    const { experimentId, runId } = await newRun(workspace);
    const other = await newRun(workspace);
    const created = await ok(workspace, 'POST', 'logged-models', {
      experiment_id: experimentId,
      source_run_id: runId,
    });
    const modelId = created.model.info.model_id;
    expect(created.model.info.name).toMatch(/^model-/u);
    await refused(
      workspace,
      'POST',
      'logged-models',
      { source_run_id: runId },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'POST',
      'logged-models',
      { experiment_id: experimentId },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'POST',
      'logged-models',
      { experiment_id: experimentId, source_run_id: 'b'.repeat(32) },
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      workspace,
      'POST',
      'logged-models',
      { experiment_id: other.experimentId, source_run_id: runId },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'GET',
      'logged-models/m-123',
      undefined,
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      workspace,
      'GET',
      `logged-models/m-${other.runId}00000000`,
      undefined,
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(
      workspace,
      'PATCH',
      `logged-models/${modelId}`,
      { status: 'LOGGED_MODEL_PENDING' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'PATCH',
      `logged-models/${modelId}`,
      { status: 'DONE' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'PATCH',
      `logged-models/${modelId}/tags`,
      { tags: [{ value: 'x' }] },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'DELETE',
      `logged-models/${modelId}/tags/none`,
      undefined,
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    await refused(workspace, 'POST', 'logged-models/search', {}, 400, 'INVALID_PARAMETER_VALUE');
    await refused(
      workspace,
      'POST',
      'logged-models/search',
      { experiment_ids: [experimentId], filter: 'metrics.acc > 1' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'GET',
      `logged-models/${modelId}/artifacts/directories`,
      { artifact_directory_path: '../x' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    // A registry version naming another model's directory under model_id.
    await ok(workspace, 'POST', 'registered-models/create', { name: 'r' });
    await refused(
      workspace,
      'POST',
      'model-versions/create',
      { name: 'r', source: `runs:/${runId}/elsewhere`, model_id: modelId },
      400,
      'INVALID_PARAMETER_VALUE',
    );
  });
});

describe('prompts as the MLflow 3 client stores them', () => {
  it('register_prompt and load_prompt through registered models and versions', async () => {
    const workspace = randomWorkspaceId();
    const promptTags = [
      { key: 'mlflow.prompt.is_prompt', value: 'true' },
      { key: '_mlflow_prompt_type', value: 'text' },
      { key: 'mlflow.prompt.text', value: 'Hello {{name}}!' },
    ];
    await ok(workspace, 'POST', 'registered-models/create', {
      name: 'greet',
      tags: [{ key: 'mlflow.prompt.is_prompt', value: 'true' }],
      description: 'first',
    });
    const created = await ok(workspace, 'POST', 'model-versions/create', {
      name: 'greet',
      source: 'dummy-source',
      tags: promptTags,
      description: 'first',
    });
    expect(created.model_version).toMatchObject({
      name: 'greet',
      version: '1',
      source: 'dummy-source',
      description: 'first',
      status: 'READY',
    });
    expect(created.model_version.tags).toEqual(
      [...promptTags].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    expect(created.model_version.run_id).toBeUndefined();
    await ok(workspace, 'POST', 'registered-models/alias', {
      name: 'greet',
      alias: 'prod',
      version: '1',
    });
    const loaded = await ok(workspace, 'GET', 'registered-models/alias', {
      name: 'greet',
      alias: 'prod',
    });
    expect(loaded.model_version).toMatchObject({ version: '1', source: 'dummy-source' });
    expect(loaded.model_version.tags).toContainEqual({
      key: 'mlflow.prompt.text',
      value: 'Hello {{name}}!',
    });
    await ok(workspace, 'POST', 'model-versions/create', {
      name: 'greet',
      source: 'dummy-source',
      tags: promptTags,
    });
    // prompts:/greet@latest: the newest version.
    const latest = await ok(workspace, 'GET', 'registered-models/alias', {
      name: 'greet',
      alias: 'latest',
    });
    expect(latest.model_version.version).toBe('2');
    const search = await ok(workspace, 'GET', 'registered-models/search', {
      filter: "tag.`mlflow.prompt.is_prompt` = 'true'",
    });
    expect(search.registered_models.map((m: Json) => m.name)).toEqual(['greet']);
    // Only MLflow's placeholders are prompt sources; without the prompt tag they are no source.
    await refused(
      workspace,
      'POST',
      'model-versions/create',
      { name: 'greet', source: 'file:/etc/passwd', tags: promptTags },
      400,
      'INVALID_PARAMETER_VALUE',
    );
    await refused(
      workspace,
      'POST',
      'model-versions/create',
      { name: 'greet', source: 'dummy-source' },
      400,
      'INVALID_PARAMETER_VALUE',
    );
  });
});
