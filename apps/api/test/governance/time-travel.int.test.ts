/**
 * Issue 17 acceptance: "registeredModel(name, asOf: t) returns the aliases and stages as they
 * were at t, for a sequence of 50 alias moves checked at every step". Also a run's params,
 * metrics and tags, a prompt's versions and aliases and a deployment's served version as of a
 * time; a model created after t is null; a question over more events than the bound is a typed
 * FAILED_PRECONDITION; a repeated question is answered from the cache. One server, one database.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoricalStateReader } from '@cairn/projector';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness, type GqlResponse } from '../helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
const W = randomWorkspaceId();
const headers = { 'x-cairn-workspace': W };

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url, workspaceId: W });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

type Data = Record<string, unknown>;

async function must<T = Data>(query: string, vars: Data = {}): Promise<T> {
  const res = await api.gql<T>(query, vars, headers);
  if (res.errors?.length) throw new Error(`${query}: ${JSON.stringify(res.errors)}`);
  return res.data!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A time after everything appended so far and before anything appended next, on the database's
 * clock (events' recorded_at; the test process's clock may differ by milliseconds).
 */
async function mark(): Promise<string> {
  const { rows } = await sql<{ us: string }>`
    SELECT (extract(epoch FROM coalesce(max(recorded_at), clock_timestamp())) * 1000000)::bigint AS us
    FROM events WHERE workspace_id = ${W}`.execute(api.db);
  const at = new Date(Math.floor(Number(rows[0]!.us) / 1000) + 1).toISOString();
  await sleep(5);
  return at;
}

interface ModelAsOf {
  registeredModel: {
    aliases: { alias: string; version: number }[];
    versions: { edges: { node: { version: number; stage: string } }[] };
  } | null;
}

const MODEL_AS_OF = `query($n: String!, $t: DateTime) { registeredModel(name: $n, asOf: $t) {
  aliases { alias version } versions(first: 10) { edges { node { version stage } } } } }`;

describe('time travel (asOf)', () => {
  it('registeredModel(asOf) shows the aliases and stages of every step of 50 alias moves', async () => {
    const beforeModel = await mark();
    await must('mutation { createRegisteredModel(name: "tt-model") { name } }');
    for (let v = 1; v <= 3; v++)
      await must(
        `mutation { createModelVersion(name: "tt-model", source: "s3://b/tt/${v}") { version } }`,
      );
    const aliases = new Map<string, number>();
    const stages = new Map<number, string>([
      [1, 'NONE'],
      [2, 'NONE'],
      [3, 'NONE'],
    ]);
    const steps: { at: string; aliases: [string, number][]; stages: [number, string][] }[] = [];
    const STAGES = ['STAGING', 'PRODUCTION', 'ARCHIVED'];
    for (let i = 0; i < 50; i++) {
      const alias = ['champion', 'challenger', 'shadow'][i % 3]!;
      const version = ((i * 2 + Math.floor(i / 3)) % 3) + 1;
      await must(
        `mutation { setModelAlias(name: "tt-model", alias: "${alias}", version: ${version}) { version } }`,
      );
      aliases.set(alias, version);
      if (i % 9 === 4) {
        const v = (i % 3) + 1;
        const stage = STAGES[i % 3]!;
        await must(
          `mutation { transitionModelVersionStage(name: "tt-model", version: ${v}, stage: ${stage}) { version } }`,
        );
        stages.set(v, stage);
      }
      if (i === 30) {
        await must('mutation { deleteModelAlias(name: "tt-model", alias: "shadow") { name } }');
        aliases.delete('shadow');
      }
      steps.push({
        at: await mark(),
        aliases: [...aliases].sort(([a], [b]) => a.localeCompare(b)),
        stages: [...stages].sort(([a], [b]) => a - b),
      });
    }
    for (const [i, step] of steps.entries()) {
      const { registeredModel: m } = await must<ModelAsOf>(MODEL_AS_OF, {
        n: 'tt-model',
        t: step.at,
      });
      const got = {
        aliases: m!.aliases.map((a) => [a.alias, a.version]),
        stages: m!.versions.edges
          .map((e) => [e.node.version, e.node.stage] as [number, string])
          .sort(([a], [b]) => a - b),
      };
      expect(got, `step ${i} at ${step.at}`).toEqual({
        aliases: step.aliases,
        stages: step.stages,
      });
    }
    // Before the model existed: null. Without asOf: the live read equals the last step.
    expect(
      (await must<ModelAsOf>(MODEL_AS_OF, { n: 'tt-model', t: beforeModel })).registeredModel,
    ).toBeNull();
    const live = (await must<ModelAsOf>(MODEL_AS_OF, { n: 'tt-model', t: null })).registeredModel!;
    expect(live.aliases.map((a) => [a.alias, a.version])).toEqual(steps.at(-1)!.aliases);
    // An asOf in the future is the live read.
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(
      (await must<ModelAsOf>(MODEL_AS_OF, { n: 'tt-model', t: future })).registeredModel,
    ).toEqual(live);
    // registeredModels(asOf) lists what existed then.
    const list = await must<{ registeredModels: { edges: { node: { name: string } }[] } }>(
      `query($t: DateTime) { registeredModels(asOf: $t) { edges { node { name } } } }`,
      { t: beforeModel },
    );
    expect(list.registeredModels.edges.map((e) => e.node.name)).not.toContain('tt-model');
  });

  it('answers a repeated question from the cache', async () => {
    const at = await mark();
    const reader = api.deps.history as HistoricalStateReader;
    const first = await must<ModelAsOf>(MODEL_AS_OF, { n: 'tt-model', t: at });
    const hits = reader.stats.cacheHits;
    const again = await must<ModelAsOf>(MODEL_AS_OF, { n: 'tt-model', t: at });
    expect(again).toEqual(first);
    expect(reader.stats.cacheHits).toBe(hits + 1);
  });

  it('run(asOf) shows params, tags and metrics as they were', async () => {
    const { createExperiment: e } = await must<{ createExperiment: { id: string } }>(
      'mutation { createExperiment(name: "tt-exp") { id } }',
    );
    const { createRun: r } = await must<{ createRun: { id: string } }>(
      `mutation { createRun(experimentId: "${e.id}", name: "tt-run") { id } }`,
    );
    await must(`mutation { logParam(runId: "${r.id}", key: "lr", value: "0.1") { id } }`);
    await must(`mutation { setTag(runId: "${r.id}", key: "stage", value: "one") { id } }`);
    const t1 = await mark();
    await must(`mutation { setTag(runId: "${r.id}", key: "stage", value: "two") { id } }`);
    await must(
      `mutation { logBatch(runId: "${r.id}", metrics: [{ key: "acc", value: 0.9 }], params: [{ key: "bs", value: "8" }]) { id } }`,
    );
    const RUN = `query($id: String!, $t: DateTime) { run(id: $id, asOf: $t) {
      params { key value } tags { key value } latestMetrics { key value } } }`;
    type RunAsOf = {
      run: {
        params: { key: string; value: string }[];
        tags: { key: string; value: string }[];
        latestMetrics: { key: string; value: number }[];
      };
    };
    const then = (await must<RunAsOf>(RUN, { id: r.id, t: t1 })).run;
    expect(then.params).toEqual([{ key: 'lr', value: '0.1' }]);
    expect(then.tags.filter((t) => t.key === 'stage')).toEqual([{ key: 'stage', value: 'one' }]);
    expect(then.latestMetrics).toEqual([]);
    const now = (await must<RunAsOf>(RUN, { id: r.id, t: null })).run;
    expect(now.tags.filter((t) => t.key === 'stage')).toEqual([{ key: 'stage', value: 'two' }]);
    expect(now.latestMetrics.map((m) => m.key)).toEqual(['acc']);
    const runs = await must<{ runs: { totalCount: number } }>(
      `query($e: [String!]!, $t: DateTime) { runs(experimentIds: $e, asOf: $t) { totalCount } }`,
      { e: [e.id], t: t1 },
    );
    expect(runs.runs.totalCount).toBe(1);
  });

  it('prompt(asOf) shows its versions and aliases as they were', async () => {
    await must('mutation { createPrompt(name: "tt-prompt") { name } }');
    await must(
      'mutation { createPromptVersion(name: "tt-prompt", template: "A {{q}}") { version } }',
    );
    await must(
      'mutation { setPromptAlias(name: "tt-prompt", alias: "prod", version: 1) { version } }',
    );
    const t = await mark();
    await must(
      'mutation { createPromptVersion(name: "tt-prompt", template: "B {{q}}") { version } }',
    );
    await must(
      'mutation { setPromptAlias(name: "tt-prompt", alias: "prod", version: 2) { version } }',
    );
    const PROMPT = `query($t: DateTime) { prompt(name: "tt-prompt", asOf: $t) {
      aliases { alias version promptVersion { template } } versions { totalCount } } }`;
    type PromptAsOf = {
      prompt: {
        aliases: { alias: string; version: number; promptVersion: { template: string } }[];
        versions: { totalCount: number };
      };
    };
    expect((await must<PromptAsOf>(PROMPT, { t })).prompt).toEqual({
      aliases: [{ alias: 'prod', version: 1, promptVersion: { template: 'A {{q}}' } }],
      versions: { totalCount: 1 },
    });
    expect((await must<PromptAsOf>(PROMPT, { t: null })).prompt.versions.totalCount).toBe(2);
  });

  it('deployment(asOf) serves the version the alias named then', async () => {
    await must(
      'mutation { setModelAlias(name: "tt-model", alias: "champion", version: 1) { version } }',
    );
    await must(
      'mutation { createDeployment(input: { name: "tt-dep", target: "kubernetes", modelUri: "models:/tt-model@champion", config: { image: "img:1" } }) { id } }',
    );
    const t = await mark();
    await must(
      'mutation { setModelAlias(name: "tt-model", alias: "champion", version: 3) { version } }',
    );
    const DEP = `query($t: DateTime) { deployment(name: "tt-dep", asOf: $t) { variants { servedVersion } } }`;
    type DepAsOf = { deployment: { variants: { servedVersion: string }[] } | null };
    const until = Date.now() + 10_000;
    // The deployments projection follows the alias move asynchronously (live read).
    while ((await must<DepAsOf>(DEP, { t: null })).deployment?.variants[0]?.servedVersion !== '3') {
      if (Date.now() > until) throw new Error('deployment did not follow the alias');
      await sleep(50);
    }
    expect((await must<DepAsOf>(DEP, { t })).deployment!.variants[0]!.servedVersion).toBe('1');
  });

  it('refuses a question over more events than the bound, with a typed error', async () => {
    const deps = api.deps;
    const original = deps.history;
    deps.history = new HistoricalStateReader(api.db, { maxEvents: 5 });
    try {
      const res: GqlResponse<unknown> = await api.gql(
        MODEL_AS_OF,
        { n: 'tt-model', t: new Date(Date.now() - 1000).toISOString() },
        headers,
      );
      expect(res.errors?.[0]?.extensions?.code).toBe('FAILED_PRECONDITION');
      expect(res.errors?.[0]?.message).toMatch(/more than the limit of 5/);
    } finally {
      deps.history = original;
    }
    const bad: GqlResponse<unknown> = await api.gql(
      MODEL_AS_OF,
      { n: 'tt-model', t: 'x' },
      headers,
    );
    expect(bad.errors?.[0]?.extensions?.code).toBeDefined();
  });
});
