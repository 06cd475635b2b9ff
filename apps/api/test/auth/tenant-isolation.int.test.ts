/**
 * The tenant-isolation suite (issue 20 acceptance), generated from the printed schema
 * (packages/schema/schema.graphql) and the HTTP route table (auth/http-rules.ts), not from a
 * hand-picked list: a caller holding an owner key of workspace B calls every query, mutation,
 * subscription and HTTP route with each of workspace A's identifiers, and
 *  - reads: the answer is the same as for an identifier that exists nowhere (B cannot tell A's
 *    ids from random ones) and never contains A's secret marker;
 *  - writes: afterwards A's read models and A's event log are exactly as before;
 *  - subscriptions: no push arrives while A changes.
 * And a root field or an MLflow route without a rule fails (the schema refuses to build).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildSchema, extendSchema, parse, type GraphQLObjectType } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, diffDumps, dumpReadModels, randomWorkspaceId } from '@cairn/testing';
import { getSchema } from '../../src/index.ts';
import { createApiKey } from '../../src/auth/access.commands.ts';
import { checkGraphQLRules, ruleCoverage } from '../../src/auth/graphql-rules.ts';
import { httpRouteTable, mlflowRouteScope } from '../../src/auth/http-rules.ts';
import { mlflowRoutes } from '../../src/mlflow/routes.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';
import { operationFor } from '../helpers/operations.ts';

const printed = buildSchema(
  readFileSync(
    path.resolve(import.meta.dirname, '../../../../packages/schema/schema.graphql'),
    'utf8',
  ),
);
const served = getSchema();
const MARKER = `zzsecret${randomBytes(6).toString('hex')}`;

let api: ApiHarness;
let dropDb: () => Promise<void>;
const A = randomWorkspaceId();
const B = randomWorkspaceId();
const C = randomWorkspaceId();
let keyA: string;
let keyB: string;
/** An owner key of a third, untouched workspace: the read phase of the HTTP routes. */
let keyC: string;
/** A's identifiers, and for each a twin of the same shape that exists nowhere. */
const ids: { real: string; twin: string }[] = [];

const hex = (n: number) => randomBytes(n / 2).toString('hex');
function twinOf(id: string): string {
  if (/^[0-9a-f]+$/.test(id)) return hex(id.length);
  return `${id.slice(0, 1)}${randomBytes(16).toString('hex')}`.slice(0, id.length);
}

async function as(key: string, query: string) {
  const res = await api.gql<Record<string, unknown>>(query, {}, { authorization: `Bearer ${key}` });
  return res;
}

async function must<T>(key: string, query: string): Promise<T> {
  const res = await as(key, query);
  if (res.errors?.length) throw new Error(`${query}: ${JSON.stringify(res.errors)}`);
  return res.data as T;
}

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url, auth: { mode: 'required' } });
  const caller = (ws: string) => ({
    workspaceId: ws,
    metadata: { actor: 'test', correlationId: 'c', causationId: null },
  });
  keyA = (await createApiKey(api.deps, caller(A), { name: 'a', role: 'owner' }, null)).secret;
  keyB = (await createApiKey(api.deps, caller(B), { name: 'b', role: 'owner' }, null)).secret;
  keyC = (await createApiKey(api.deps, caller(C), { name: 'c', role: 'owner' }, null)).secret;
  // A's data: every kind of entity, with the marker in values that are not identifiers.
  const exp = await must<{ createExperiment: { id: string } }>(
    keyA,
    `mutation { createExperiment(name: "exp-a", tags: [{ key: "t", value: "${MARKER}" }]) { id } }`,
  );
  const run = await must<{ createRun: { id: string } }>(
    keyA,
    `mutation { createRun(experimentId: "${exp.createExperiment.id}", name: "run-a") { id } }`,
  );
  const runId = run.createRun.id;
  await must(keyA, `mutation { logParam(runId: "${runId}", key: "p", value: "${MARKER}") { id } }`);
  await must(keyA, `mutation { setTag(runId: "${runId}", key: "k", value: "${MARKER}") { id } }`);
  await must(
    keyA,
    `mutation { createRegisteredModel(name: "model-a", description: "${MARKER}") { name } }`,
  );
  await must(
    keyA,
    `mutation { createModelVersion(name: "model-a", source: "runs:/${runId}/model", runId: "${runId}", description: "${MARKER}") { version } }`,
  );
  await must(
    keyA,
    `mutation { setModelAlias(name: "model-a", alias: "champion", version: 1) { __typename } }`,
  );
  await must(
    keyA,
    `mutation { createPromptVersion(name: "prompt-a", createPromptIfMissing: true, template: "${MARKER} {{q}}") { version } }`,
  );
  const ds = await must<{ createEvaluationDataset: { id: string } }>(
    keyA,
    `mutation { createEvaluationDataset(input: { name: "ds-a", tags: [{ key: "t", value: "${MARKER}" }] }) { id } }`,
  );
  const queue = await must<{ createAnnotationQueue: { id: string } }>(
    keyA,
    `mutation { createAnnotationQueue(input: { name: "queue-a", description: "${MARKER}", labelSchema: [{ name: "ok", kind: BOOL }] }) { id } }`,
  );
  const dep = await must<{ createDeployment: { id: string } }>(
    keyA,
    `mutation { createDeployment(input: { name: "dep-a", target: "kubernetes", modelUri: "models:/model-a@champion", config: { image: "img-a", env: { SECRET: "${MARKER}" } } }) { id } }`,
  );
  const traceId = hex(32);
  const otlp = await fetch(`${api.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${keyA}` },
    body: JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [] },
          scopeSpans: [
            {
              scope: { name: 'suite' },
              spans: [
                {
                  traceId,
                  spanId: hex(16),
                  name: 'root',
                  kind: 1,
                  startTimeUnixNano: '1700000000000000000',
                  endTimeUnixNano: '1700000001000000000',
                  attributes: [{ key: 'secret', value: { stringValue: MARKER } }],
                },
              ],
            },
          ],
        },
      ],
    }),
  });
  expect(otlp.status).toBe(200);
  const keys = await must<{ apiKeys: { nodes: { id: string }[] } }>(
    keyA,
    '{ apiKeys { nodes { id } } }',
  );
  for (const real of [
    exp.createExperiment.id,
    'exp-a',
    runId,
    'model-a',
    'prompt-a',
    ds.createEvaluationDataset.id,
    queue.createAnnotationQueue.id,
    traceId,
    keys.apiKeys.nodes[0]!.id,
    'dep-a',
    dep.createDeployment.id,
    A,
  ])
    ids.push({ real, twin: twinOf(real) });
  // Wait until the trace is projected (the reads below must have something to leak).
  for (let i = 0; i < 100; i++) {
    const t = await as(keyA, `{ trace(id: "${traceId}") { id } }`);
    if ((t.data as { trace?: unknown } | undefined)?.trace) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

/** An answer with the filled identifier (and correlation ids, times) made neutral. */
function neutral(value: unknown, fill: string): string {
  return JSON.stringify(value)
    .split(fill)
    .join('<FILL>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<UUID>')
    .replace(/\b1[0-9]{12}\b/g, '<MS>');
}

function rootFields(type: GraphQLObjectType | null | undefined): string[] {
  return type ? Object.keys(type.getFields()).sort() : [];
}

async function snapshotA() {
  const dump = await dumpReadModels(api.db, [A]);
  const events = await api.db
    .selectFrom('events')
    .select(['stream_id', 'stream_position', 'type'])
    .where('workspace_id', '=', A)
    .orderBy('global_position')
    .execute();
  return { dump, events: JSON.stringify(events) };
}

describe('every operation has a rule', () => {
  it('the printed schema and the served one have the same root fields, each with a rule', () => {
    for (const [p, s] of [
      [printed.getQueryType(), served.getQueryType()],
      [printed.getMutationType(), served.getMutationType()],
      [printed.getSubscriptionType(), served.getSubscriptionType()],
    ] as const)
      expect(rootFields(p)).toEqual(rootFields(s));
    expect(ruleCoverage(served)).toEqual({ missing: [], stray: [] });
  });

  it('a new root field without a rule, or a new MLflow route family, fails', () => {
    const extended = extendSchema(served, parse('extend type Mutation { sneakyDrop: Boolean }'));
    expect(() => checkGraphQLRules(extended)).toThrow(/Mutation\.sneakyDrop/);
    expect(() => httpRouteTable(mlflowRoutes)).not.toThrow();
    expect(() => mlflowRouteScope({ method: 'POST', path: '/mlflow/sneaky/drop' })).toThrow(
      /no rule/,
    );
  });
});

describe("a key of workspace B cannot read or change workspace A's data", () => {
  it('queries: every Query field answers B the same for A’s identifiers as for ones that exist nowhere', async () => {
    const leaks: string[] = [];
    for (const field of Object.values(served.getQueryType()!.getFields())) {
      for (const { real, twin } of ids) {
        const a = await as(keyB, operationFor('query', field, real, 3));
        const b = await as(keyB, operationFor('query', field, twin, 3));
        const left = neutral(a, real);
        if (left.includes(MARKER) || left !== neutral(b, twin))
          leaks.push(
            `Query.${field.name}(${real}): ${left.slice(0, 300)} vs ${neutral(b, twin).slice(0, 300)}`,
          );
      }
    }
    expect(leaks).toEqual([]);
    // The suite can fail: the same generated operations show A's own key its marker.
    const q = served.getQueryType()!.getFields();
    for (const [field, id] of [
      ['run', ids[2]!.real],
      ['experiment', ids[0]!.real],
      ['registeredModel', 'model-a'],
      ['trace', ids[7]!.real],
    ] as const) {
      const own = await as(keyA, operationFor('query', q[field]!, id, 3));
      expect(JSON.stringify(own), field).toContain(MARKER);
    }
  }, 180_000);

  it('mutations: no Mutation field called by B with A’s identifiers changes A', async () => {
    const before = await snapshotA();
    for (const field of Object.values(served.getMutationType()!.getFields()))
      for (const { real } of ids) await as(keyB, operationFor('mutation', field, real));
    const after = await snapshotA();
    expect(diffDumps(before.dump, after.dump)).toEqual([]);
    expect(after.events).toBe(before.events);
  }, 180_000);

  it('subscriptions: nothing of A is pushed to B while A changes', async () => {
    const pushes: string[] = [];
    const clients = ids.map(() =>
      createClient({
        url: `${api.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${keyB}` },
        retryAttempts: 0,
      }),
    );
    const fields = Object.values(served.getSubscriptionType()!.getFields());
    ids.forEach(({ real }, i) => {
      for (const field of fields)
        clients[i]!.subscribe(
          { query: operationFor('subscription', field, real, 2) },
          {
            next: (m) => {
              if (m.data) pushes.push(`${field.name}(${real}): ${JSON.stringify(m.data)}`);
            },
            error: () => undefined,
            complete: () => undefined,
          },
        );
    });
    await new Promise((r) => setTimeout(r, 800));
    const runId = ids[2]!.real;
    await must(keyA, `mutation { setTag(runId: "${runId}", key: "k2", value: "v") { id } }`);
    await must(keyA, `mutation { logMetric(runId: "${runId}", key: "m", value: 1) { id } }`);
    await must(
      keyA,
      `mutation { setExperimentTag(id: "${ids[0]!.real}", key: "t2", value: "v") { id } }`,
    );
    await must(
      keyA,
      'mutation { setRegisteredModelTag(name: "model-a", key: "t", value: "v") { name } }',
    );
    await must(
      keyA,
      'mutation { createPromptVersion(name: "prompt-a", template: "v2 {{q}}") { version } }',
    );
    await must(
      keyA,
      `mutation { setTraceTag(traceId: "${ids[7]!.real}", key: "t", value: "v") { id } }`,
    );
    await must(
      keyA,
      'mutation { createApiKey(input: { name: "another", role: "viewer" }) { secret } }',
    );
    await new Promise((r) => setTimeout(r, 1500));
    for (const c of clients) await c.dispose();
    expect(pushes).toEqual([]);
  }, 60_000);

  it('HTTP routes: every route of the table answers B the same for A’s identifiers, and changes nothing of A', async () => {
    const before = await snapshotA();
    const leaks: string[] = [];
    const routes = httpRouteTable(mlflowRoutes).filter(
      (r) => r.rule !== 'graphql' && !('public' in r.rule),
    );
    expect(routes.length).toBeGreaterThan(60);
    const call = async (method: string, template: string, fill: string, key: string) => {
      const keys = [
        'run_id',
        'run_uuid',
        'experiment_id',
        'name',
        'key',
        'model_id',
        'trace_id',
        'request_id',
        'alias',
        'path',
      ];
      const url = new URL(
        template.replace(/\{[a-z_]+(\.\.\.)?\}/g, encodeURIComponent(fill)),
        api.url,
      );
      for (const k of keys) url.searchParams.set(k, fill);
      url.searchParams.set('version', '1');
      const body: Record<string, unknown> = Object.fromEntries(keys.map((k) => [k, fill]));
      body.experiment_ids = [fill];
      body.request_ids = [fill];
      body.version = '1';
      const res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        ...(method === 'GET' || method === 'HEAD' ? {} : { body: JSON.stringify(body) }),
      });
      return `${res.status} ${await res.text()}`;
    };
    // Writes first, as B; then reads as C, whose workspace those writes did not touch.
    for (const route of routes.filter((r) => r.method !== 'GET'))
      for (const { real } of ids) {
        const a = await call(route.method, route.path, real, keyB);
        if (a.includes(MARKER)) leaks.push(`${route.method} ${route.path} (${real}): ${a}`);
      }
    for (const route of routes.filter((r) => r.method === 'GET'))
      for (const { real, twin } of ids) {
        const a = neutral(await call(route.method, route.path, real, keyC), real);
        const b = neutral(await call(route.method, route.path, twin, keyC), twin);
        if (a.includes(MARKER) || a !== b)
          leaks.push(`GET ${route.path} (${real}): ${a.slice(0, 200)} vs ${b.slice(0, 200)}`);
      }
    expect(leaks).toEqual([]);
    const after = await snapshotA();
    expect(diffDumps(before.dump, after.dump)).toEqual([]);
    expect(after.events).toBe(before.events);
  }, 240_000);
});
