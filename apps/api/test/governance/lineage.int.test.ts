/**
 * Lineage (issue 17): a run logs a dataset input, a model version is registered from the run, a
 * deployment follows the version's alias, and the served model's trace arrives over OTLP with
 * `cairn.trace.model_version` and `cairn.deployment.name` (as `cairn models serve --log-traces`
 * sends it). `lineage(TRACE, UPSTREAM)` reaches the deployment, the version, the run and the
 * dataset; DOWNSTREAM from the dataset reaches the trace; a prompt version reaches its trace.
 * Typed errors for bad refs and depths, a node cap that says it truncated, tenant scoping, and
 * the run-inputs read model rebuilt equal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProjection, rebuildProjection } from '@cairn/projector';
import { createTestDatabase, dumpReadModels, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

let api: ApiHarness;
let drop: () => Promise<void>;
const W = randomWorkspaceId();
const H = { 'x-cairn-workspace': W };

interface Graph {
  centre: string;
  truncated: boolean;
  nodes: {
    id: string;
    kind: string;
    label: string;
    refId: string | null;
    name: string | null;
    version: number | null;
    digest: string | null;
  }[];
  edges: { from: string; to: string; relation: string; context: string | null }[];
}
const GRAPH =
  '{ centre truncated nodes { id kind label refId name version digest } edges { from to relation context } }';

async function ok<T>(
  query: string,
  variables: Record<string, unknown> = {},
  headers = H,
): Promise<T> {
  const res = await api.gql<T>(query, variables, headers);
  expect(res.errors).toBeUndefined();
  return res.data!;
}

async function lineageOf(ref: Record<string, unknown>, direction: string, depth = 4, headers = H) {
  return api.gql<{ lineage: Graph }>(
    `query($r: LineageRef!, $d: LineageDirection, $n: Int) { lineage(ref: $r, direction: $d, depth: $n) ${GRAPH} }`,
    { r: ref, d: direction, n: depth },
    headers,
  );
}

const hex = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

async function postTrace(traceId: string, attrs: Record<string, string>): Promise<void> {
  const now = BigInt(Date.now()) * 1_000_000n;
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'scoring' } }] },
        scopeSpans: [
          {
            scope: { name: 'cairn' },
            spans: [
              {
                traceId,
                spanId: hex(16),
                name: 'churn /invocations',
                kind: 2,
                startTimeUnixNano: String(now),
                endTimeUnixNano: String(now + 5_000_000n),
                attributes: Object.entries(attrs).map(([key, v]) => ({
                  key,
                  value: { stringValue: v },
                })),
                status: { code: 1 },
              },
            ],
          },
        ],
      },
    ],
  };
  const res = await fetch(`${api.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...H },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const row = await api.db
      .selectFrom('traces')
      .select('trace_id')
      .where('workspace_id', '=', W)
      .where('trace_id', '=', traceId)
      .executeTakeFirst();
    if (row) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`trace ${traceId} not projected`);
}

let runId = '';
let traceId = '';
let promptTraceId = '';
let deploymentId = '';
const DATASET = { name: 'churn-train', digest: 'a1b2c3d4' };

beforeAll(async () => {
  const database = await createTestDatabase();
  drop = database.drop;
  api = await startApiHarness({ databaseUrl: database.url, workspaceId: W });
  const exp = await ok<{ createExperiment: { id: string } }>(
    'mutation { createExperiment(name: "lineage") { id } }',
  );
  runId = (
    await ok<{ createRun: { id: string } }>(
      `mutation { createRun(experimentId: "${exp.createExperiment.id}", name: "train-1") { id } }`,
    )
  ).createRun.id;
  await ok(
    `mutation($r: String!, $d: [DatasetInputInput!]!) { logRunInputs(runId: $r, datasets: $d) { id } }`,
    {
      r: runId,
      d: [
        {
          ...DATASET,
          sourceType: 'local',
          source: '{"uri": "/data/churn.csv"}',
          context: 'training',
          profile: '{"num_rows": 10}',
        },
        {
          name: 'churn-eval',
          digest: 'ffff0000',
          sourceType: 'local',
          source: '{}',
          context: 'eval',
        },
      ],
    },
  );
  await ok(
    `mutation($r: String!) { createModelVersion(name: "churn", source: "runs:/${runId}/model", runId: $r, createModelIfMissing: true) { version } }`,
    { r: runId },
  );
  await ok('mutation { setModelAlias(name: "churn", alias: "champion", version: 1) { version } }');
  deploymentId = (
    await ok<{ createDeployment: { id: string } }>(
      'mutation { createDeployment(input: { name: "churn-api", target: "kubernetes", modelUri: "models:/churn@champion", config: { image: "img" } }) { id } }',
    )
  ).createDeployment.id;
  await ok(
    'mutation { createPromptVersion(name: "qa", template: "Hi {{x}}", createPromptIfMissing: true) { version } }',
  );
  traceId = hex(32);
  await postTrace(traceId, {
    'cairn.model.uri': 'models:/churn@champion',
    'cairn.deployment.name': 'churn-api',
    'cairn.trace.model_version': 'churn/1',
  });
  promptTraceId = hex(32);
  await postTrace(promptTraceId, { 'cairn.trace.prompt_versions': '["prompts:/qa/1"]' });
});

afterAll(async () => {
  await api?.stop();
  await drop?.();
});

const has = (g: Graph, kind: string, pred: (n: Graph['nodes'][number]) => boolean = () => true) =>
  g.nodes.find((n) => n.kind === kind && pred(n));
const edge = (g: Graph, from: string, to: string, relation: string) =>
  g.edges.find((e) => e.from === from && e.to === to && e.relation === relation);

describe('lineage', () => {
  it('records run inputs once and shows them on the run', async () => {
    await ok(
      `mutation($r: String!, $d: [DatasetInputInput!]!) { logRunInputs(runId: $r, datasets: $d) { id } }`,
      { r: runId, d: [{ ...DATASET, sourceType: 'local', source: '{}', context: 'training' }] },
    );
    const { run } = await ok<{
      run: {
        inputs: {
          name: string;
          digest: string;
          context: string | null;
          profile: string | null;
          source: string;
        }[];
      };
    }>(
      `query($r: String!) { run(id: $r) { inputs { name digest context profile source sourceType tags { key value } } } }`,
      { r: runId },
    );
    expect(run.inputs.map((i) => [i.name, i.digest, i.context])).toEqual([
      ['churn-train', 'a1b2c3d4', 'training'],
      ['churn-eval', 'ffff0000', 'eval'],
    ]);
    expect(run.inputs[0]!.profile).toBe('{"num_rows": 10}');
    expect(run.inputs[0]!.source).toBe('{"uri": "/data/churn.csv"}');
  });

  it('walks a served trace upstream to the deployment, the model version, the run and the dataset', async () => {
    const res = await lineageOf({ kind: 'TRACE', id: traceId }, 'UPSTREAM', 4);
    expect(res.errors).toBeUndefined();
    const g = res.data!.lineage;
    const trace = has(g, 'TRACE', (n) => n.refId === traceId)!;
    expect(g.centre).toBe(trace.id);
    const dep = has(g, 'DEPLOYMENT', (n) => n.refId === deploymentId)!;
    const mv = has(g, 'MODEL_VERSION', (n) => n.name === 'churn' && n.version === 1)!;
    const run = has(g, 'RUN', (n) => n.refId === runId)!;
    const ds = has(g, 'DATASET', (n) => n.name === 'churn-train' && n.digest === 'a1b2c3d4')!;
    expect(run.label).toBe('train-1');
    expect(edge(g, dep.id, trace.id, 'SERVED')).toBeDefined();
    expect(edge(g, mv.id, trace.id, 'PRODUCED')).toBeDefined();
    expect(edge(g, mv.id, dep.id, 'DEPLOYED_AS')).toBeDefined();
    expect(edge(g, run.id, mv.id, 'REGISTERED_AS')).toBeDefined();
    expect(edge(g, ds.id, run.id, 'INPUT_OF')?.context).toBe('training');
    expect(has(g, 'DATASET', (n) => n.name === 'churn-eval')).toBeDefined();
    expect(g.truncated).toBe(false);
    // Upstream never turns downstream: the prompt's trace is not part of it.
    expect(has(g, 'TRACE', (n) => n.refId === promptTraceId)).toBeUndefined();
    // Depth bounds the walk: one hop reaches the version and the deployment, not the run.
    const near = (await lineageOf({ kind: 'TRACE', id: traceId }, 'UPSTREAM', 1)).data!.lineage;
    expect(near.nodes.map((n) => n.kind).sort()).toEqual(['DEPLOYMENT', 'MODEL_VERSION', 'TRACE']);
  });

  it('walks from the dataset downstream to the trace, and from a prompt version to its trace', async () => {
    const g = (await lineageOf({ kind: 'DATASET', ...DATASET }, 'DOWNSTREAM', 4)).data!.lineage;
    expect(has(g, 'RUN', (n) => n.refId === runId)).toBeDefined();
    expect(has(g, 'MODEL_VERSION', (n) => n.name === 'churn')).toBeDefined();
    expect(has(g, 'DEPLOYMENT', (n) => n.name === 'churn-api')).toBeDefined();
    expect(has(g, 'TRACE', (n) => n.refId === traceId)).toBeDefined();
    expect(has(g, 'DATASET', (n) => n.name === 'churn-eval')).toBeUndefined();
    const p = (await lineageOf({ kind: 'PROMPT_VERSION', name: 'qa', version: 1 }, 'BOTH', 2)).data!
      .lineage;
    expect(p.nodes.map((n) => [n.kind, n.refId ?? n.name])).toEqual([
      ['PROMPT_VERSION', 'qa'],
      ['TRACE', promptTraceId],
    ]);
    expect(p.edges).toEqual([
      {
        from: 'PROMPT_VERSION:qa/1',
        to: `TRACE:${promptTraceId}`,
        relation: 'USED_BY',
        context: null,
      },
    ]);
  });

  it('caps nodes with truncated, answers typed errors and stays in its workspace', async () => {
    const capped = await api.gql<{ lineage: Graph }>(
      `query($r: LineageRef!) { lineage(ref: $r, direction: UPSTREAM, depth: 6, maxNodes: 2) ${GRAPH} }`,
      { r: { kind: 'TRACE', id: traceId } },
    );
    expect(capped.data!.lineage.nodes).toHaveLength(2);
    expect(capped.data!.lineage.truncated).toBe(true);
    const code = (r: { errors?: { extensions?: { code?: string } }[] }) =>
      r.errors?.[0]?.extensions?.code;
    expect(code(await lineageOf({ kind: 'TRACE', id: traceId }, 'UPSTREAM', 7))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(code(await lineageOf({ kind: 'TRACE', id: traceId }, 'UPSTREAM', 0))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(code(await lineageOf({ kind: 'RUN', id: hex(32) }, 'BOTH'))).toBe('NOT_FOUND');
    expect(code(await lineageOf({ kind: 'MODEL_VERSION', name: 'churn' }, 'BOTH'))).toBe(
      'INVALID_ARGUMENT',
    );
    const other = { 'x-cairn-workspace': randomWorkspaceId() };
    expect(code(await lineageOf({ kind: 'TRACE', id: traceId }, 'UPSTREAM', 4, other))).toBe(
      'NOT_FOUND',
    );
    expect(code(await lineageOf({ kind: 'DATASET', ...DATASET }, 'DOWNSTREAM', 4, other))).toBe(
      'NOT_FOUND',
    );
    const bad = await api.gql(
      `mutation($r: String!) { logRunInputs(runId: $r, datasets: [{ name: "", digest: "x", sourceType: "local", source: "" }]) { id } }`,
      { r: runId },
    );
    expect(code(bad as never)).toBe('INVALID_ARGUMENT');
  });

  it('rebuilds the run-inputs read model equal', async () => {
    const before = await dumpReadModels(api.db, [W]);
    await rebuildProjection(api.db, findProjection('run-inputs')!);
    expect(await dumpReadModels(api.db, [W])).toEqual(before);
    expect(before.run_dataset_inputs).toHaveLength(2);
  });
});
