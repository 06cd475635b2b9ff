/**
 * Deployments through GraphQL (issue 16): create / update / delete with typed errors, keyset
 * paging, history (alias moves become VERSION_CHANGED rows from the registry's own events),
 * rollback through the registry's alias command, metrics per variant from bucket counts,
 * deploymentChanged over graphql-ws, a viewer key that cannot mutate, the local target's
 * supervision (a server that exits is FAILED with its message), and a rebuild identical to the
 * live read models. One server (auth required), one database.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentsProjection, rebuildProjection } from '@cairn/projector';
import { createTestDatabase, diffDumps, dumpReadModels, randomWorkspaceId } from '@cairn/testing';
import { createApiKey } from '../../src/auth/access.commands.ts';
import { startApiHarness, type ApiHarness, type GqlResponse } from '../helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
const ws = randomWorkspaceId();
let owner: Record<string, string>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url, auth: { mode: 'required' } });
  const secret = (
    await createApiKey(
      api.deps,
      { workspaceId: ws, metadata: { actor: 'test', correlationId: 'c', causationId: null } },
      { name: 'owner', role: 'owner' },
      null,
    )
  ).secret;
  owner = { authorization: `Bearer ${secret}` };
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors).toBeUndefined();
  return response.data!;
}

const gql = <T = Record<string, unknown>>(q: string, v: Record<string, unknown> = {}) =>
  api.gql<T>(q, v, owner);

const DEPLOYMENT = `id name target modelUri config status statusMessage endpoint manifests createdAt updatedAt
  variants { name modelUri modelName alias servedVersion weight }`;

interface Variant {
  name: string;
  modelUri: string;
  modelName: string;
  alias: string | null;
  servedVersion: string | null;
  weight: number;
}
interface Deployment {
  id: string;
  name: string;
  target: string;
  modelUri: string;
  config: Record<string, unknown>;
  status: string;
  statusMessage: string | null;
  endpoint: string | null;
  manifests: string | null;
  variants: Variant[];
}
interface HistoryRow {
  kind: string;
  variant: string | null;
  fromVersion: string | null;
  toVersion: string | null;
  actor: string;
  summary: string;
}

async function newRun(): Promise<string> {
  const exp = ok(
    await gql<{ createExperiment: { id: string } }>(
      'mutation($n:String!){createExperiment(name:$n){id}}',
      { n: `exp-${Math.random().toString(36).slice(2)}` },
    ),
  ).createExperiment.id;
  return ok(
    await gql<{ createRun: { id: string } }>(
      'mutation($e:String!){createRun(experimentId:$e){id}}',
      {
        e: exp,
      },
    ),
  ).createRun.id;
}

/** A registered model with `versions` versions; `champion` points at the first. */
async function model(name: string, versions: number): Promise<void> {
  const run = await newRun();
  for (let i = 0; i < versions; i++)
    ok(
      await gql(
        'mutation($n:String!,$s:String!){createModelVersion(name:$n,source:$s,createModelIfMissing:true){version}}',
        { n: name, s: `runs:/${run}/model` },
      ),
    );
  await setAlias(name, 'champion', 1);
}

const setAlias = async (name: string, alias: string, version: number) =>
  ok(
    await gql(
      'mutation($n:String!,$a:String!,$v:Int!){setModelAlias(name:$n,alias:$a,version:$v){version}}',
      {
        n: name,
        a: alias,
        v: version,
      },
    ),
  );

const K8S = { image: 'registry.example/churn:1', replicas: 2 };

const create = (input: Record<string, unknown>) =>
  gql<{ createDeployment: Deployment }>(
    `mutation($i:CreateDeploymentInput!){createDeployment(input:$i){${DEPLOYMENT}}}`,
    { i: input },
  );

const read = async (name: string) =>
  ok(
    await gql<{ deployment: (Deployment & { history: { nodes: HistoryRow[] } }) | null }>(
      `query($n:String!){deployment(name:$n){${DEPLOYMENT} history(first:50){nodes{kind variant fromVersion toVersion actor summary}}}}`,
      { n: name },
    ),
  ).deployment;

/** Retries an assertion until it holds (projections are asynchronous), at most 15 s. */
async function until(check: () => unknown): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const codeOf = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.code;

describe('deployments', () => {
  it('creates, pages, updates traffic and deletes, with typed errors that change nothing', async () => {
    await model('churn', 2);
    const created = ok(
      await create({
        name: 'churn-prod',
        target: 'kubernetes',
        modelUri: 'models:/churn@champion',
        config: K8S,
      }),
    ).createDeployment;
    expect(created).toMatchObject({
      name: 'churn-prod',
      target: 'kubernetes',
      modelUri: 'models:/churn@champion',
      status: 'PENDING',
      statusMessage: 'manifests rendered, not applied (config.apply is false)',
      variants: [
        {
          name: 'primary',
          modelUri: 'models:/churn@champion',
          modelName: 'churn',
          alias: 'champion',
          servedVersion: '1',
          weight: 100,
        },
      ],
    });
    expect(created.manifests).toContain('kind: HorizontalPodAutoscaler');

    const bad: [Record<string, unknown>, string, string][] = [
      [{ name: '-bad', modelUri: 'models:/churn/1' }, 'INVALID_ARGUMENT', 'name'],
      [{ name: 'x', modelUri: 'models:/churn/Production' }, 'INVALID_ARGUMENT', 'modelUri'],
      [{ name: 'x', modelUri: 'not-a-uri' }, 'INVALID_ARGUMENT', 'modelUri'],
      [{ name: 'x', modelUri: 'models:/nope@champion' }, 'NOT_FOUND', 'modelUri'],
      [{ name: 'x', modelUri: 'models:/churn@nope' }, 'NOT_FOUND', 'modelUri'],
      [{ name: 'x', modelUri: 'models:/churn/9' }, 'NOT_FOUND', 'modelUri'],
      [
        { name: 'x', modelUri: 'models:/churn/1', target: 'sagemaker' },
        'INVALID_ARGUMENT',
        'target',
      ],
      [
        { name: 'x', modelUri: 'models:/churn/1', config: { replicas: 2 } },
        'INVALID_ARGUMENT',
        'config.image',
      ],
      [
        {
          name: 'x',
          modelUri: 'models:/churn/1',
          variants: [
            { name: 'primary', modelUri: 'models:/churn/1', weight: 90 },
            { name: 'candidate', modelUri: 'models:/churn/2', weight: 20 },
          ],
        },
        'INVALID_ARGUMENT',
        'variants',
      ],
      [
        {
          name: 'x',
          modelUri: 'models:/churn/1',
          variants: [
            { name: 'a', modelUri: 'models:/churn/1', weight: 50 },
            { name: 'a', modelUri: 'models:/churn/2', weight: 50 },
          ],
        },
        'INVALID_ARGUMENT',
        'variants',
      ],
      [
        {
          name: 'x',
          modelUri: 'models:/churn/1',
          variants: [
            { name: 'a', modelUri: 'models:/churn/1', weight: 40 },
            { name: 'b', modelUri: 'models:/churn/2', weight: 30 },
            { name: 'c', modelUri: 'models:/churn/2', weight: 30 },
          ],
        },
        'INVALID_ARGUMENT',
        'variants',
      ],
      [{ name: 'churn-prod', modelUri: 'models:/churn/1' }, 'ALREADY_EXISTS', ''],
    ];
    for (const [input, code, field] of bad) {
      const r = await create({ target: 'kubernetes', config: K8S, ...input });
      expect(codeOf(r), JSON.stringify(input)).toBe(code);
      if (field) expect(r.errors![0]!.extensions!.field, JSON.stringify(input)).toBe(field);
    }
    expect(await read('x')).toBeNull();

    // A 90/10 split between the alias and a fixed version.
    ok(
      await create({
        name: 'churn-ab',
        target: 'kubernetes',
        modelUri: 'models:/churn@champion',
        config: K8S,
        variants: [
          { name: 'primary', modelUri: 'models:/churn@champion', weight: 90 },
          { name: 'candidate', modelUri: 'models:/churn/2', weight: 10 },
        ],
      }),
    );
    ok(
      await create({
        name: 'churn-a',
        target: 'kubernetes',
        modelUri: 'models:/churn/1',
        config: K8S,
      }),
    );

    // Keyset paging by name, and the target filter.
    const names: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: {
        deployments: {
          totalCount: number;
          nodes: { name: string }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      } = ok(
        await gql(
          'query($a:String){deployments(first:2,after:$a,target:"kubernetes"){totalCount nodes{name} pageInfo{hasNextPage endCursor}}}',
          { a: after },
        ),
      );
      expect(page.deployments.totalCount).toBe(3);
      names.push(...page.deployments.nodes.map((n) => n.name));
      if (!page.deployments.pageInfo.hasNextPage) break;
      after = page.deployments.pageInfo.endCursor;
    }
    expect(names).toEqual(['churn-a', 'churn-ab', 'churn-prod']);
    expect(
      ok(
        await gql<{ deployments: { totalCount: number } }>(
          '{deployments(target:"local"){totalCount}}',
        ),
      ).deployments.totalCount,
    ).toBe(0);

    // Traffic 50/50: one TRAFFIC_CHANGED row; bad weights change nothing.
    const update = (input: Record<string, unknown>) =>
      gql<{ updateDeployment: Deployment }>(
        `mutation($i:UpdateDeploymentInput!){updateDeployment(input:$i){${DEPLOYMENT}}}`,
        { i: input },
      );
    const split = (a: number, b: number) => [
      { name: 'primary', modelUri: 'models:/churn@champion', weight: a },
      { name: 'candidate', modelUri: 'models:/churn/2', weight: b },
    ];
    expect(codeOf(await update({ name: 'churn-ab', variants: split(50, 60) }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(await update({ name: 'nope', variants: split(50, 50) }))).toBe('NOT_FOUND');
    const updated = ok(
      await update({ name: 'churn-ab', variants: split(50, 50) }),
    ).updateDeployment;
    expect(updated.variants.map((v) => [v.name, v.weight, v.servedVersion])).toEqual([
      ['primary', 50, '1'],
      ['candidate', 50, '2'],
    ]);
    const ab = (await read('churn-ab'))!;
    expect(ab.history.nodes.map((h) => h.kind)).toEqual([
      'TRAFFIC_CHANGED',
      'STATUS_CHANGED',
      'CREATED',
    ]);
    expect(ab.history.nodes[0]!.summary).toBe(
      'traffic primary 50%, candidate 50% (was primary 90%, candidate 10%)',
    );

    // Delete: the name reads as null and is free again.
    expect(
      ok(await gql<{ deleteDeployment: boolean }>('mutation{deleteDeployment(name:"churn-a")}'))
        .deleteDeployment,
    ).toBe(true);
    expect(await read('churn-a')).toBeNull();
    expect(codeOf(await gql('mutation{deleteDeployment(name:"churn-a")}'))).toBe('NOT_FOUND');
    ok(
      await create({
        name: 'churn-a',
        target: 'kubernetes',
        modelUri: 'models:/churn/2',
        config: K8S,
      }),
    );
    expect((await read('churn-a'))!.variants[0]!.servedVersion).toBe('2');
  });

  it('follows alias moves into servedVersion and history, and rolls back through the registry', async () => {
    await model('fraud', 3);
    ok(
      await create({
        name: 'fraud',
        target: 'kubernetes',
        modelUri: 'models:/fraud@champion',
        config: K8S,
      }),
    );
    ok(
      await create({
        name: 'fraud-fixed',
        target: 'kubernetes',
        modelUri: 'models:/fraud/1',
        config: K8S,
      }),
    );

    // The registry moves the alias; the deployment sees it from the registry's event.
    await setAlias('fraud', 'champion', 2);
    await until(async () => {
      expect((await read('fraud'))!.variants[0]!.servedVersion).toBe('2');
    });
    const afterMove = (await read('fraud'))!;
    expect(afterMove.history.nodes[0]).toMatchObject({
      kind: 'VERSION_CHANGED',
      variant: 'primary',
      fromVersion: '1',
      toVersion: '2',
    });
    // The fixed-version deployment did not move.
    expect((await read('fraud-fixed'))!.variants[0]!.servedVersion).toBe('1');

    // Rollback: the alias goes back to 1 (a registry event: the registry shows it too).
    const rolled = ok(
      await gql<{ rollbackDeployment: Deployment }>(
        `mutation{rollbackDeployment(name:"fraud"){${DEPLOYMENT}}}`,
      ),
    ).rollbackDeployment;
    expect(rolled.variants[0]!.servedVersion).toBe('1');
    const aliases = ok(
      await gql<{ registeredModel: { aliases: { alias: string; version: number }[] } }>(
        '{registeredModel(name:"fraud"){aliases{alias version}}}',
      ),
    ).registeredModel.aliases;
    expect(aliases).toContainEqual(expect.objectContaining({ alias: 'champion', version: 1 }));
    const history = (await read('fraud'))!.history.nodes;
    expect(history.slice(0, 2).map((h) => [h.kind, h.fromVersion, h.toVersion])).toEqual([
      ['ROLLED_BACK', '2', '1'],
      ['VERSION_CHANGED', '2', '1'],
    ]);

    // A fixed-version variant: toVersion rewrites the URI.
    const fixed = ok(
      await gql<{ rollbackDeployment: Deployment }>(
        `mutation{rollbackDeployment(name:"fraud-fixed",toVersion:"3"){${DEPLOYMENT}}}`,
      ),
    ).rollbackDeployment;
    expect(fixed.variants[0]).toMatchObject({ modelUri: 'models:/fraud/3', servedVersion: '3' });
    expect(fixed.modelUri).toBe('models:/fraud/3');
    expect(
      codeOf(await gql('mutation{rollbackDeployment(name:"fraud-fixed",toVersion:"3"){id}}')),
    ).toBe('FAILED_PRECONDITION');
    expect(
      codeOf(await gql('mutation{rollbackDeployment(name:"fraud-fixed",toVersion:"9"){id}}')),
    ).toBe('NOT_FOUND');
    expect(codeOf(await gql('mutation{rollbackDeployment(name:"fraud",variant:"nope"){id}}'))).toBe(
      'NOT_FOUND',
    );
  });

  it('records metrics per variant (p50 from buckets) and pushes deploymentChanged', async () => {
    await model('reco', 2);
    ok(
      await create({
        name: 'reco',
        target: 'kubernetes',
        modelUri: 'models:/reco@champion',
        config: K8S,
        variants: [
          { name: 'primary', modelUri: 'models:/reco@champion', weight: 90 },
          { name: 'candidate', modelUri: 'models:/reco/2', weight: 10 },
        ],
      }),
    );
    const url = api.url.replace(/^http/u, 'ws') + '/graphql';
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: owner.authorization },
      retryAttempts: 0,
    });
    const pushes: { status: string; variants: { servedVersion: string }[] }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe<{
        deploymentChanged: { status: string; variants: { servedVersion: string }[] };
      }>(
        { query: 'subscription{deploymentChanged(name:"reco"){status variants{servedVersion}}}' },
        {
          next: (m) => {
            if (m.errors) reject(new Error(JSON.stringify(m.errors)));
            if (m.data) pushes.push(m.data.deploymentChanged);
          },
          error: reject,
          complete: resolve,
        },
      );
    });
    // Let the subscription attach before the changes.
    await new Promise((r) => setTimeout(r, 300));
    const record = (variants: Record<string, unknown>[], start: string, end: string) =>
      gql<{ recordDeploymentMetrics: boolean }>(
        'mutation($i:RecordDeploymentMetricsInput!){recordDeploymentMetrics(input:$i)}',
        { i: { name: 'reco', windowStart: start, windowEnd: end, variants } },
      );
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    // 13 buckets [1,2,5,10,20,50,100,...]: primary's 100 requests all between 5 and 10 ms.
    const b = (i: number, n: number) => Array.from({ length: 13 }, (_, j) => (j === i ? n : 0));
    ok(
      await record(
        [
          {
            variant: 'primary',
            version: '1',
            requests: 100,
            errors: 2,
            latencyMsSum: 750,
            latencyMsBuckets: b(3, 100),
          },
          {
            variant: 'candidate',
            version: '2',
            requests: 10,
            errors: 5,
            latencyMsSum: 300,
            latencyMsBuckets: b(5, 10),
          },
        ],
        iso(now - 4000),
        iso(now - 2000),
      ),
    );
    ok(
      await record(
        [
          {
            variant: 'primary',
            version: '1',
            requests: 100,
            errors: 0,
            latencyMsSum: 750,
            latencyMsBuckets: b(3, 100),
          },
        ],
        iso(now - 2000),
        iso(now),
      ),
    );
    expect(
      codeOf(
        await record(
          [
            {
              variant: 'primary',
              requests: 5,
              errors: 0,
              latencyMsSum: 1,
              latencyMsBuckets: b(3, 4),
            },
          ],
          iso(now - 2000),
          iso(now),
        ),
      ),
    ).toBe('INVALID_ARGUMENT');
    expect(
      codeOf(
        await gql('mutation($i:RecordDeploymentMetricsInput!){recordDeploymentMetrics(input:$i)}', {
          i: { name: 'nope', windowStart: iso(now), windowEnd: iso(now), variants: [] },
        }),
      ),
    ).toBe('NOT_FOUND');
    const metrics = ok(
      await gql<{ deployment: { metrics: Record<string, unknown>[] } }>(
        '{deployment(name:"reco"){metrics(sinceSeconds:600){variant version requests errors errorRate latencyP50Ms latencyP95Ms latencyMeanMs series{requests errors}}}}',
      ),
    ).deployment.metrics;
    expect(metrics).toHaveLength(2);
    const [candidate, primary] = metrics as {
      variant: string;
      requests: number;
      errors: number;
      errorRate: number;
      latencyP50Ms: number;
      latencyP95Ms: number;
      latencyMeanMs: number;
      version: string;
      series: { requests: number }[];
    }[];
    expect(primary).toMatchObject({
      variant: 'primary',
      version: '1',
      requests: 200,
      errors: 2,
      errorRate: 0.01,
      latencyMeanMs: 7.5,
    });
    expect(primary!.latencyP50Ms).toBeCloseTo(7.5, 5);
    expect(primary!.latencyP95Ms).toBeCloseTo(9.75, 5);
    expect(primary!.series.reduce((a, s) => a + s.requests, 0)).toBe(200);
    expect(candidate).toMatchObject({
      variant: 'candidate',
      requests: 10,
      errors: 5,
      errorRate: 0.5,
      latencyMeanMs: 30,
    });
    expect(candidate!.latencyP50Ms).toBeCloseTo(35, 5);

    // An alias move and the deletion reach the subscriber; deletion ends it.
    await setAlias('reco', 'champion', 2);
    await until(() => expect(pushes.some((p) => p.variants[0]?.servedVersion === '2')).toBe(true));
    ok(await gql('mutation{deleteDeployment(name:"reco")}'));
    await done;
    expect(pushes.length).toBeGreaterThanOrEqual(3);
    expect(pushes.at(-1)!.status).toBe('DELETED');
    await client.dispose();
  });

  it('marks a local deployment FAILED with the message when its server exits', async () => {
    await model('local-model', 1);
    const previous = process.env.CAIRN_PYTHON;
    process.env.CAIRN_PYTHON = '/bin/false';
    try {
      const created = ok(
        await create({
          name: 'loc',
          target: 'local',
          modelUri: 'models:/local-model@champion',
          config: { workers: 1 },
        }),
      ).createDeployment;
      // The exit may be recorded before the answer is read: PENDING (with the endpoint) first.
      expect(['PENDING', 'FAILED']).toContain(created.status);
      await until(async () => {
        const d = (await read('loc'))!;
        expect(d.status).toBe('FAILED');
        expect(d.statusMessage).toContain('the scoring server exited (code 1)');
        expect(d.history.nodes.slice(0, 2).map((h) => h.summary)).toEqual([
          expect.stringMatching(/^FAILED: the scoring server exited \(code 1\)/u),
          expect.stringMatching(/^PENDING at http:\/\/127\.0\.0\.1:\d+$/u),
        ]);
      });
      expect(
        codeOf(
          await create({
            name: 'loc2',
            target: 'local',
            modelUri: 'models:/local-model/1',
            config: { gpus: 1 },
          }),
        ),
      ).toBe('INVALID_ARGUMENT');
      const notStarted = ok(
        await create({
          name: 'loc3',
          target: 'local',
          modelUri: 'models:/local-model/1',
          config: { start: false },
        }),
      ).createDeployment;
      expect(notStarted).toMatchObject({ status: 'PENDING', endpoint: null });
    } finally {
      if (previous === undefined) delete process.env.CAIRN_PYTHON;
      else process.env.CAIRN_PYTHON = previous;
    }
  });

  it('refuses every deployment mutation to a viewer key', async () => {
    const viewer = await gql<{ createApiKey: { secret: string } }>(
      'mutation { createApiKey(input: { name: "viewer", role: "viewer" }) { secret } }',
    );
    const h = { authorization: `Bearer ${ok(viewer).createApiKey.secret}` };
    expect(
      ok(await api.gql<{ deployments: { totalCount: number } }>('{deployments{totalCount}}', {}, h))
        .deployments.totalCount,
    ).toBeGreaterThan(0);
    for (const m of [
      'mutation{createDeployment(input:{name:"v",target:"kubernetes",modelUri:"models:/churn/1",config:{image:"x"}}){id}}',
      'mutation{updateDeployment(input:{name:"churn-prod",config:{image:"y"}}){id}}',
      'mutation{deleteDeployment(name:"churn-prod")}',
      'mutation{rollbackDeployment(name:"churn-prod",toVersion:"2"){id}}',
      'mutation{recordDeploymentMetrics(input:{name:"churn-prod",windowStart:"2026-01-01T00:00:00Z",windowEnd:"2026-01-01T00:00:01Z",variants:[]})}',
    ])
      expect(codeOf(await api.gql(m, {}, h)), m).toBe('PERMISSION_DENIED');
    expect((await read('churn-prod'))!.config).toEqual(
      expect.objectContaining({ image: K8S.image }),
    );
  });

  it('rebuilds the deployment read models identical to the live ones', async () => {
    const before = await dumpReadModels(api.db, [ws]);
    expect(before.deployment_history!.length).toBeGreaterThan(5);
    await rebuildProjection(api.db, deploymentsProjection);
    const after = await dumpReadModels(api.db, [ws]);
    expect(diffDumps(before, after, ['live', 'rebuilt'])).toEqual([]);
  });
});
