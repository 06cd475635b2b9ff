import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryProjection, rebuildProjection } from '@cairn/projector';
import {
  createTestDatabase,
  diffDumps,
  dumpReadModels,
  randomWorkspaceId,
  type ReadModelDump,
} from '@cairn/testing';
import { startApiHarness, type ApiHarness, type GqlResponse } from './helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
const queries: string[] = [];
let counting = false;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({
    databaseUrl: database.url,
    onQuery: (sql) => {
      // Background pollers (projector, webhooks) share the handle: count registry reads only.
      if (counting && /registered_model|model_versions?|model_aliases|model_history/.test(sql))
        queries.push(sql);
    },
  });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

const ws = (workspace: string) => ({ 'x-cairn-workspace': workspace });

function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors).toBeUndefined();
  return response.data!;
}

function errorOf(response: GqlResponse<unknown>): { code?: string; message: string } {
  expect(response.errors?.length).toBeGreaterThan(0);
  const error = response.errors![0]!;
  return { code: error.extensions?.code, message: error.message };
}

const MODEL_FIELDS = `id name description tags{key value} createdAt updatedAt
  aliases{alias version modelVersion{version}}
  latestVersions{version stage}
  versions(first: 100){totalCount edges{cursor node{version}} pageInfo{hasNextPage endCursor}}
  history{kind version fromStage toStage alias previousVersion actor at}`;
const VERSION_FIELDS = `id modelName version source runId run{id} description tags{key value} stage status aliases createdAt updatedAt`;

interface Version {
  id: string;
  modelName: string;
  version: number;
  source: string;
  runId: string | null;
  run: { id: string } | null;
  description: string | null;
  tags: { key: string; value: string }[];
  stage: string;
  status: string;
  aliases: string[];
}

interface HistoryEntry {
  kind: string;
  version: number | null;
  fromStage: string | null;
  toStage: string | null;
  alias: string | null;
  previousVersion: number | null;
  actor: string | null;
  at: number;
}

interface Model {
  id: string;
  name: string;
  description: string | null;
  createdAt: number;
  updatedAt: number;
  tags: { key: string; value: string }[];
  aliases: { alias: string; version: number; modelVersion: { version: number } }[];
  latestVersions: { version: number; stage: string }[];
  versions: {
    totalCount: number;
    edges: { cursor: string; node: { version: number } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
  history: HistoryEntry[];
}

function client(workspace: string) {
  const h = ws(workspace);
  return {
    raw: <T>(query: string, variables: Record<string, unknown> = {}) =>
      api.gql<T>(query, variables, h),
    createModel: async (name: string, extra: Record<string, unknown> = {}) =>
      ok(
        await api.gql<{ createRegisteredModel: Model }>(
          `mutation($n:String!,$d:String,$t:[KeyValueInput!]){createRegisteredModel(name:$n,description:$d,tags:$t){${MODEL_FIELDS}}}`,
          { n: name, ...extra },
          h,
        ),
      ).createRegisteredModel,
    model: async (name: string) =>
      ok(
        await api.gql<{ registeredModel: Model | null }>(
          `query($n:String!){registeredModel(name:$n){${MODEL_FIELDS}}}`,
          { n: name },
          h,
        ),
      ).registeredModel,
    createVersionRaw: (vars: Record<string, unknown>) =>
      api.gql<{ createModelVersion: Version }>(
        `mutation($n:String!,$s:String!,$r:String,$d:String,$t:[KeyValueInput!],$c:Boolean){createModelVersion(name:$n,source:$s,runId:$r,description:$d,tags:$t,createModelIfMissing:$c){${VERSION_FIELDS}}}`,
        vars,
        h,
      ),
    createVersion: async (name: string, source = 's3://bucket/model', extra = {}) =>
      ok(
        await api.gql<{ createModelVersion: Version }>(
          `mutation($n:String!,$s:String!,$r:String,$d:String,$t:[KeyValueInput!],$c:Boolean){createModelVersion(name:$n,source:$s,runId:$r,description:$d,tags:$t,createModelIfMissing:$c){${VERSION_FIELDS}}}`,
          { n: name, s: source, ...extra },
          h,
        ),
      ).createModelVersion,
    transitionRaw: (name: string, version: number, stage: string, archive = false) =>
      api.gql<{ transitionModelVersionStage: Version }>(
        `mutation($n:String!,$v:Int!,$s:ModelStage!,$a:Boolean){transitionModelVersionStage(name:$n,version:$v,stage:$s,archiveExistingVersions:$a){${VERSION_FIELDS}}}`,
        { n: name, v: version, s: stage, a: archive },
        h,
      ),
    setAliasRaw: (name: string, alias: string, version: number) =>
      api.gql<{ setModelAlias: Version }>(
        `mutation($n:String!,$a:String!,$v:Int!){setModelAlias(name:$n,alias:$a,version:$v){${VERSION_FIELDS}}}`,
        { n: name, a: alias, v: version },
        h,
      ),
    resolve: (uri: string) =>
      api.gql<{ resolveModelUri: Version }>(
        `query($u:String!){resolveModelUri(uri:$u){${VERSION_FIELDS}}}`,
        { u: uri },
        h,
      ),
    newRun: async () => {
      const exp = ok(
        await api.gql<{ createExperiment: { id: string } }>(
          'mutation($n:String!){createExperiment(name:$n){id}}',
          { n: `exp-${Math.random().toString(36).slice(2)}` },
          h,
        ),
      ).createExperiment.id;
      return ok(
        await api.gql<{ createRun: { id: string } }>(
          'mutation($e:String!){createRun(experimentId:$e){id}}',
          { e: exp },
          h,
        ),
      ).createRun.id;
    },
  };
}

describe('model registry: models', () => {
  it('creates, describes, tags, renames and deletes a model, with typed errors', async () => {
    const c = client(randomWorkspaceId());
    const created = await c.createModel('iris', {
      d: 'first',
      t: [
        { key: 'team', value: 'a' },
        { key: 'team', value: 'b' },
      ],
    });
    expect(created).toMatchObject({ name: 'iris', description: 'first', aliases: [] });
    expect(created.tags).toEqual([{ key: 'team', value: 'b' }]);
    expect(created.history.map((h) => h.kind)).toEqual(['MODEL_CREATED']);
    expect(created.history[0]!.actor).toBeTruthy();

    expect(errorOf(await c.raw('mutation{createRegisteredModel(name:"iris"){id}}')).code).toBe(
      'ALREADY_EXISTS',
    );
    for (const bad of ['', 'a/b', 'x@y', ' -lead', 'n'.repeat(257)]) {
      const r = await c.raw('mutation($n:String!){createRegisteredModel(name:$n){id}}', { n: bad });
      expect(errorOf(r).code, bad).toBe('INVALID_ARGUMENT');
    }

    const described = ok(
      await c.raw<{ updateRegisteredModel: Model }>(
        'mutation{updateRegisteredModel(name:"iris", description:"second"){description}}',
      ),
    ).updateRegisteredModel;
    expect(described.description).toBe('second');

    const tagged = ok(
      await c.raw<{ setRegisteredModelTag: Model }>(
        'mutation{setRegisteredModelTag(name:"iris", key:"owner", value:"me"){tags{key value}}}',
      ),
    ).setRegisteredModelTag;
    expect(tagged.tags).toEqual([
      { key: 'owner', value: 'me' },
      { key: 'team', value: 'b' },
    ]);
    const untagged = ok(
      await c.raw<{ deleteRegisteredModelTag: Model }>(
        'mutation{deleteRegisteredModelTag(name:"iris", key:"team"){tags{key value}}}',
      ),
    ).deleteRegisteredModelTag;
    expect(untagged.tags).toEqual([{ key: 'owner', value: 'me' }]);
    expect(
      errorOf(await c.raw('mutation{deleteRegisteredModelTag(name:"iris", key:"team"){id}}')).code,
    ).toBe('NOT_FOUND');
    expect(
      errorOf(
        await c.raw('mutation{setRegisteredModelTag(name:"iris", key:"../x", value:"v"){id}}'),
      ).code,
    ).toBe('INVALID_ARGUMENT');
    expect(
      errorOf(await c.raw('mutation{updateRegisteredModel(name:"nope", description:"x"){id}}'))
        .code,
    ).toBe('NOT_FOUND');

    // Rename moves the name: the old one is free, the new one is taken.
    await c.createModel('other');
    expect(
      errorOf(await c.raw('mutation{renameRegisteredModel(name:"iris", newName:"other"){id}}'))
        .code,
    ).toBe('ALREADY_EXISTS');
    const renamed = ok(
      await c.raw<{ renameRegisteredModel: Model }>(
        `mutation{renameRegisteredModel(name:"iris", newName:"iris-2"){${MODEL_FIELDS}}}`,
      ),
    ).renameRegisteredModel;
    expect(renamed.id).toBe(created.id);
    expect(renamed.name).toBe('iris-2');
    expect(renamed.history.map((h) => h.kind)).toEqual(['MODEL_RENAMED', 'MODEL_CREATED']);
    expect(await c.model('iris')).toBeNull();
    const reused = await c.createModel('iris');
    expect(reused.id).not.toBe(created.id);

    // Delete releases the name; a new model of that name starts from version 1.
    await c.createVersion('iris-2');
    await c.createVersion('iris-2');
    expect(
      ok(
        await c.raw<{ deleteRegisteredModel: boolean }>(
          'mutation{deleteRegisteredModel(name:"iris-2")}',
        ),
      ).deleteRegisteredModel,
    ).toBe(true);
    expect(await c.model('iris-2')).toBeNull();
    expect(errorOf(await c.raw('mutation{deleteRegisteredModel(name:"iris-2")}')).code).toBe(
      'NOT_FOUND',
    );
    const again = await c.createModel('iris-2');
    expect(again.id).not.toBe(created.id);
    expect((await c.createVersion('iris-2')).version).toBe(1);
  });
});

describe('model registry: versions', () => {
  it('creates versions from runs, with descriptions, tags and errors', async () => {
    const workspace = randomWorkspaceId();
    const c = client(workspace);
    const runId = await c.newRun();
    await c.createModel('clf');
    const v1 = await c.createVersion('clf', `runs:/${runId}/model`, {
      d: 'from a run',
      t: [{ key: 'k', value: 'v' }],
    });
    expect(v1).toMatchObject({
      modelName: 'clf',
      version: 1,
      source: `runs:/${runId}/model`,
      runId,
      run: { id: runId },
      description: 'from a run',
      tags: [{ key: 'k', value: 'v' }],
      stage: 'NONE',
      status: 'READY',
      aliases: [],
    });
    const v2 = await c.createVersion('clf', 's3://bucket/clf/2', { r: runId });
    expect(v2).toMatchObject({ version: 2, runId, run: { id: runId } });

    const cases: [Record<string, unknown>, string][] = [
      [{ n: 'clf', s: '/etc/passwd' }, 'INVALID_ARGUMENT'],
      [{ n: 'clf', s: 'http://example.com/x' }, 'INVALID_ARGUMENT'],
      [{ n: 'clf', s: 'runs:/not-a-run/model' }, 'INVALID_ARGUMENT'],
      [{ n: 'clf', s: '' }, 'INVALID_ARGUMENT'],
      [{ n: 'clf', s: 's3://b/m', r: '0'.repeat(32) }, 'NOT_FOUND'],
      [{ n: 'clf', s: `runs:/${'0'.repeat(32)}/model` }, 'NOT_FOUND'],
      [{ n: 'clf', s: `runs:/${runId}/model`, r: 'f'.repeat(32) }, 'INVALID_ARGUMENT'],
      [{ n: 'missing', s: 's3://b/m' }, 'NOT_FOUND'],
      [{ n: 'clf', s: 's3://b/m', t: [{ key: '', value: 'x' }] }, 'INVALID_ARGUMENT'],
    ];
    const eventCount = async () =>
      (
        await api.db
          .selectFrom('events')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('workspace_id', '=', workspace)
          .executeTakeFirstOrThrow()
      ).n;
    const before = await eventCount();
    for (const [vars, code] of cases) {
      expect(errorOf(await c.createVersionRaw(vars)).code, JSON.stringify(vars)).toBe(code);
    }
    // Rejected commands append nothing.
    expect(await eventCount()).toBe(before);
    // A run of another workspace is not a run of this one.
    const foreignRun = await client(randomWorkspaceId()).newRun();
    expect(
      errorOf(await c.createVersionRaw({ n: 'clf', s: `runs:/${foreignRun}/model` })).code,
    ).toBe('NOT_FOUND');

    const described = ok(
      await c.raw<{ updateModelVersion: Version }>(
        'mutation{updateModelVersion(name:"clf", version:2, description:"better"){description}}',
      ),
    ).updateModelVersion;
    expect(described.description).toBe('better');
    const tagged = ok(
      await c.raw<{ setModelVersionTag: Version }>(
        'mutation{setModelVersionTag(name:"clf", version:2, key:"a", value:"1"){tags{key value}}}',
      ),
    ).setModelVersionTag;
    expect(tagged.tags).toEqual([{ key: 'a', value: '1' }]);
    const untagged = ok(
      await c.raw<{ deleteModelVersionTag: Version }>(
        'mutation{deleteModelVersionTag(name:"clf", version:2, key:"a"){tags{key value}}}',
      ),
    ).deleteModelVersionTag;
    expect(untagged.tags).toEqual([]);
    expect(
      errorOf(await c.raw('mutation{deleteModelVersionTag(name:"clf", version:2, key:"a"){id}}'))
        .code,
    ).toBe('NOT_FOUND');
    expect(
      errorOf(
        await c.raw('mutation{updateModelVersion(name:"clf", version:9, description:"x"){id}}'),
      ).code,
    ).toBe('NOT_FOUND');

    // Deleting a version removes its aliases; its number is never reused.
    ok(await c.setAliasRaw('clf', 'champion', 2));
    ok(await c.setAliasRaw('clf', 'backup', 1));
    expect(
      ok(
        await c.raw<{ deleteModelVersion: boolean }>(
          'mutation{deleteModelVersion(name:"clf", version:2)}',
        ),
      ).deleteModelVersion,
    ).toBe(true);
    expect(errorOf(await c.raw('mutation{deleteModelVersion(name:"clf", version:2)}')).code).toBe(
      'NOT_FOUND',
    );
    const model = (await c.model('clf'))!;
    expect(model.aliases.map((a) => a.alias)).toEqual(['backup']);
    expect(model.versions.edges.map((e) => e.node.version)).toEqual([1]);
    expect(model.history.slice(0, 2).map((h) => [h.kind, h.alias, h.version])).toEqual([
      ['VERSION_DELETED', null, 2],
      ['ALIAS_DELETED', 'champion', 2],
    ]);
    expect((await c.createVersion('clf')).version).toBe(3);
    const byVersion = ok(
      await c.raw<{ modelVersion: Version | null }>(
        'query{a: modelVersion(name:"clf", version:2){version} b: modelVersion(name:"clf", version:3){version}}',
      ),
    ) as unknown as { a: null; b: { version: number } };
    expect(byVersion).toEqual({ a: null, b: { version: 3 } });
  });

  it('allocates versions 1..N to concurrent creations, without gaps or duplicates', async () => {
    const c = client(randomWorkspaceId());
    for (const n of [20, 50]) {
      const name = `concurrent-${n}`;
      await c.createModel(name);
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          c.createVersionRaw({ n: name, s: `s3://bucket/${name}/${i}` }),
        ),
      );
      const versions = results.map((r) => ok(r).createModelVersion.version).sort((a, b) => a - b);
      expect(versions).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      const model = (await c.model(name))!;
      expect(model.versions.totalCount).toBe(n);
      // Each source got exactly one version.
      const sources = new Set(results.map((r) => ok(r).createModelVersion.source));
      expect(sources.size).toBe(n);
    }
  }, 120_000);

  it('creates a missing model once when first versions race (createModelIfMissing)', async () => {
    const c = client(randomWorkspaceId());
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        c.createVersionRaw({ n: 'fresh', s: `s3://b/fresh/${i}`, c: true }),
      ),
    );
    const versions = results.map((r) => ok(r).createModelVersion.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    const listed = ok(
      await c.raw<{ registeredModels: { totalCount: number } }>(
        'query{registeredModels{totalCount}}',
      ),
    ).registeredModels;
    expect(listed.totalCount).toBe(1);
    // Without the flag a missing model is NOT_FOUND.
    expect(errorOf(await c.createVersionRaw({ n: 'absent', s: 's3://b/x' })).code).toBe(
      'NOT_FOUND',
    );
  }, 60_000);
});

describe('model registry: stages, aliases and URIs', () => {
  it('transitions stages (archiving the holder), moves aliases and resolves models:/ URIs', async () => {
    const c = client(randomWorkspaceId());
    await c.createModel('m');
    for (let i = 0; i < 3; i++) await c.createVersion('m');

    const p1 = ok(await c.transitionRaw('m', 1, 'PRODUCTION')).transitionModelVersionStage;
    expect(p1.stage).toBe('PRODUCTION');
    ok(await c.transitionRaw('m', 2, 'STAGING'));
    const p2 = ok(await c.transitionRaw('m', 2, 'PRODUCTION', true)).transitionModelVersionStage;
    expect(p2.stage).toBe('PRODUCTION');
    let model = (await c.model('m'))!;
    expect(model.latestVersions).toEqual([
      { version: 3, stage: 'NONE' },
      { version: 2, stage: 'PRODUCTION' },
      { version: 1, stage: 'ARCHIVED' },
    ]);
    expect(model.history[0]).toMatchObject({
      kind: 'STAGE_TRANSITIONED',
      version: 2,
      fromStage: 'STAGING',
      toStage: 'PRODUCTION',
    });
    expect(errorOf(await c.transitionRaw('m', 3, 'NONE', true)).code).toBe('INVALID_ARGUMENT');
    expect(errorOf(await c.transitionRaw('m', 7, 'STAGING')).code).toBe('NOT_FOUND');
    expect(errorOf(await c.transitionRaw('m', 1, 'LIVE')).code).toBeTruthy();

    // Aliases: set, move (previousVersion), rollback in one call.
    const champion = ok(await c.setAliasRaw('m', 'champion', 3)).setModelAlias;
    expect(champion.aliases).toEqual(['champion']);
    ok(await c.setAliasRaw('m', 'champion', 2));
    const rolledBack = ok(await c.setAliasRaw('m', 'champion', 3)).setModelAlias;
    expect(rolledBack).toMatchObject({ version: 3, aliases: ['champion'] });
    model = (await c.model('m'))!;
    expect(model.aliases).toEqual([
      { alias: 'champion', version: 3, modelVersion: { version: 3 } },
    ]);
    expect(model.history[0]).toMatchObject({
      kind: 'ALIAS_SET',
      alias: 'champion',
      version: 3,
      previousVersion: 2,
    });
    expect(
      model.history.filter((h) => h.kind === 'ALIAS_SET').map((h) => h.previousVersion),
    ).toEqual([2, 3, null]);
    for (const bad of ['latest', 'LATEST', 'v3', 'V12', 'with space', 'a/b', '']) {
      expect(errorOf(await c.setAliasRaw('m', bad, 1)).code, bad).toBe('INVALID_ARGUMENT');
    }
    expect(errorOf(await c.setAliasRaw('m', 'x', 99)).code).toBe('NOT_FOUND');

    const resolved = async (uri: string) => ok(await c.resolve(uri)).resolveModelUri.version;
    expect(await resolved('models:/m@champion')).toBe(3);
    expect(await resolved('models:/m/Production')).toBe(2);
    expect(await resolved('models:/m/production')).toBe(2);
    expect(await resolved('models:/m/Archived')).toBe(1);
    expect(await resolved('models:/m/3')).toBe(3);
    expect(await resolved('models:/m/1')).toBe(1);
    expect(await resolved('models:/m/latest')).toBe(3);
    expect(errorOf(await c.resolve('models:/m/Staging')).code).toBe('NOT_FOUND');
    expect(errorOf(await c.resolve('models:/m@nobody')).code).toBe('NOT_FOUND');
    expect(errorOf(await c.resolve('models:/m/42')).code).toBe('NOT_FOUND');
    expect(errorOf(await c.resolve('models:/zzz/1')).code).toBe('NOT_FOUND');
    for (const bad of [
      'runs:/x/model',
      'models:/m',
      'models:/m/Prod',
      'models:/@x',
      'models:/m/0',
    ]) {
      expect(errorOf(await c.resolve(bad)).code, bad).toBe('INVALID_ARGUMENT');
    }

    const deleted = ok(
      await c.raw<{ deleteModelAlias: Model }>(
        'mutation{deleteModelAlias(name:"m", alias:"champion"){aliases{alias}}}',
      ),
    ).deleteModelAlias;
    expect(deleted.aliases).toEqual([]);
    expect(
      errorOf(await c.raw('mutation{deleteModelAlias(name:"m", alias:"champion"){id}}')).code,
    ).toBe('NOT_FOUND');
    expect((await c.model('m'))!.history[0]).toMatchObject({
      kind: 'ALIAS_DELETED',
      alias: 'champion',
      version: 3,
    });
  });
});

describe('model registry: workspaces', () => {
  it('keeps every model, name and operation inside its workspace', async () => {
    const a = client(randomWorkspaceId());
    const b = client(randomWorkspaceId());
    await a.createModel('shared-name');
    await a.createVersion('shared-name');
    ok(await a.setAliasRaw('shared-name', 'prod', 1));
    expect(await b.model('shared-name')).toBeNull();
    expect(errorOf(await b.resolve('models:/shared-name@prod')).code).toBe('NOT_FOUND');
    expect(errorOf(await b.setAliasRaw('shared-name', 'prod', 1)).code).toBe('NOT_FOUND');
    expect(errorOf(await b.transitionRaw('shared-name', 1, 'STAGING')).code).toBe('NOT_FOUND');
    const n = 'name:"shared-name"';
    const foreign = [
      `mutation{renameRegisteredModel(${n}, newName:"stolen"){id}}`,
      `mutation{updateRegisteredModel(${n}, description:"x"){id}}`,
      `mutation{setRegisteredModelTag(${n}, key:"k", value:"v"){id}}`,
      `mutation{deleteRegisteredModelTag(${n}, key:"k"){id}}`,
      `mutation{deleteRegisteredModel(${n})}`,
      `mutation{createModelVersion(${n}, source:"s3://b/x"){id}}`,
      `mutation{updateModelVersion(${n}, version:1, description:"x"){id}}`,
      `mutation{setModelVersionTag(${n}, version:1, key:"k", value:"v"){id}}`,
      `mutation{deleteModelVersionTag(${n}, version:1, key:"k"){id}}`,
      `mutation{deleteModelVersion(${n}, version:1)}`,
      `mutation{deleteModelAlias(${n}, alias:"prod"){id}}`,
    ];
    for (const mutation of foreign) {
      expect(errorOf(await b.raw(mutation)).code, mutation).toBe('NOT_FOUND');
    }
    expect(
      ok(
        await b.raw<{ modelVersion: null }>(
          'query{modelVersion(name:"shared-name", version:1){id}}',
        ),
      ).modelVersion,
    ).toBeNull();
    const untouched = (await a.model('shared-name'))!;
    expect(untouched.history.map((h) => h.kind)).toEqual([
      'ALIAS_SET',
      'VERSION_CREATED',
      'MODEL_CREATED',
    ]);
    const listed = ok(
      await b.raw<{
        registeredModels: { totalCount: number };
        modelVersions: { totalCount: number };
      }>('query{registeredModels{totalCount} modelVersions{totalCount}}'),
    );
    expect(listed).toEqual({
      registeredModels: { totalCount: 0 },
      modelVersions: { totalCount: 0 },
    });
    // The same name is free in the other workspace.
    const other = await b.createModel('shared-name');
    expect((await b.createVersion('shared-name')).version).toBe(1);
    expect(other.id).not.toBe((await a.model('shared-name'))!.id);
    expect((await a.model('shared-name'))!.versions.totalCount).toBe(1);
  });
});

describe('model registry: search', () => {
  it('filters and orders models and versions with the search grammar', async () => {
    const workspace = randomWorkspaceId();
    const c = client(workspace);
    const runId = await c.newRun();
    await c.createModel('fx-alpha', { t: [{ key: 'team', value: 'a' }] });
    await c.createModel('fx-beta', { t: [{ key: 'team', value: 'b' }] });
    await c.createModel('other');
    await c.createVersion('fx-alpha', `runs:/${runId}/model`);
    await c.createVersion('fx-alpha');
    await c.createVersion('fx-beta', 's3://b/beta', { t: [{ key: 'flavor', value: 'sklearn' }] });
    ok(await c.transitionRaw('fx-alpha', 2, 'PRODUCTION'));

    const models = async (filter: string, orderBy?: string[]) =>
      ok(
        await c.raw<{ registeredModels: { totalCount: number; nodes: { name: string }[] } }>(
          'query($f:String,$o:[String!]){registeredModels(filter:$f, orderBy:$o){totalCount nodes{name}}}',
          { f: filter, o: orderBy },
        ),
      ).registeredModels.nodes.map((n) => n.name);
    expect(await models('')).toEqual(['fx-alpha', 'fx-beta', 'other']);
    expect(await models("name LIKE 'fx-%'")).toEqual(['fx-alpha', 'fx-beta']);
    expect(await models("name = 'other'")).toEqual(['other']);
    expect(await models("tags.team = 'b'")).toEqual(['fx-beta']);
    expect(await models("tags.team = 'a' OR name = 'other'")).toEqual(['fx-alpha', 'other']);
    expect(await models("NOT (name LIKE 'fx-%') AND tags.team IS NULL")).toEqual(['other']);
    expect(await models('', ['name DESC'])).toEqual(['other', 'fx-beta', 'fx-alpha']);
    const beta = (await c.model('fx-beta'))!;
    expect(await models(`created_at >= ${beta.createdAt}`)).toEqual(['fx-beta', 'other']);
    expect(await models('', ['created_at DESC'])).toEqual(['other', 'fx-beta', 'fx-alpha']);
    const tagOrder = await c.raw('query{registeredModels(orderBy:["tags.team"]){totalCount}}');
    expect(errorOf(tagOrder).code).toBe('INVALID_ARGUMENT');
    const ordered = ok(
      await c.raw<{ modelVersions: { nodes: { modelName: string; version: number }[] } }>(
        'query{modelVersions(orderBy:["name ASC", "version DESC"]){nodes{modelName version}}}',
      ),
    ).modelVersions.nodes.map((n) => `${n.modelName}/${n.version}`);
    expect(ordered).toEqual(['fx-alpha/2', 'fx-alpha/1', 'fx-beta/1']);

    const versions = async (filter: string) =>
      ok(
        await c.raw<{
          modelVersions: { totalCount: number; nodes: { modelName: string; version: number }[] };
        }>('query($f:String){modelVersions(filter:$f){totalCount nodes{modelName version}}}', {
          f: filter,
        }),
      ).modelVersions.nodes.map((n) => `${n.modelName}/${n.version}`);
    expect(await versions("name = 'fx-alpha'")).toEqual(['fx-alpha/2', 'fx-alpha/1']);
    expect(await versions(`run_id = '${runId}'`)).toEqual(['fx-alpha/1']);
    expect(await versions("stage = 'Production'")).toEqual(['fx-alpha/2']);
    expect(await versions("stage = 'production'")).toEqual(['fx-alpha/2']);
    expect(await versions("stage IN ('None') AND name LIKE 'fx%'")).toEqual([
      'fx-beta/1',
      'fx-alpha/1',
    ]);
    expect(await versions("tags.flavor = 'sklearn'")).toEqual(['fx-beta/1']);
    expect(await versions('version >= 2')).toEqual(['fx-alpha/2']);
    expect(await versions("run_id IS NULL AND (name = 'fx-beta' OR stage = 'Production')")).toEqual(
      ['fx-beta/1', 'fx-alpha/2'],
    );

    // Errors name the position.
    const bad: [string, number][] = [
      ["nme = 'x'", 0],
      ["name = 'x' AND metrics.loss < 1", 15],
      ["name = 'x' AND", 14],
      ['name = 3', 7],
      ["stage = 'Prod'", 0],
    ];
    for (const [filter, position] of bad) {
      const isVersion = filter.startsWith('stage');
      const r = await c.raw(
        isVersion
          ? 'query($f:String){modelVersions(filter:$f){totalCount}}'
          : 'query($f:String){registeredModels(filter:$f){totalCount}}',
        { f: filter },
      );
      const error = errorOf(r);
      expect(error.code, filter).toBe('INVALID_ARGUMENT');
      expect(error.message, filter).toContain(`position ${position}`);
    }

    // Keyset pagination over the default order.
    const page1 = ok(
      await c.raw<{
        registeredModels: {
          nodes: { name: string }[];
          pageInfo: { hasNextPage: boolean; endCursor: string };
        };
      }>('query{registeredModels(first:2){nodes{name} pageInfo{hasNextPage endCursor}}}'),
    ).registeredModels;
    expect(page1.nodes.map((n) => n.name)).toEqual(['fx-alpha', 'fx-beta']);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = ok(
      await c.raw<{
        registeredModels: { nodes: { name: string }[]; pageInfo: { hasNextPage: boolean } };
      }>(
        'query($a:String){registeredModels(first:2, after:$a){nodes{name} pageInfo{hasNextPage}}}',
        {
          a: page1.pageInfo.endCursor,
        },
      ),
    ).registeredModels;
    expect(page2.nodes.map((n) => n.name)).toEqual(['other']);
    expect(page2.pageInfo.hasNextPage).toBe(false);

    // A model's versions page newest first with cursors.
    const m = (await c.model('fx-alpha'))!;
    const first = ok(
      await c.raw<{ registeredModel: { versions: Model['versions'] } }>(
        'query{registeredModel(name:"fx-alpha"){versions(first:1){totalCount edges{cursor node{version}} pageInfo{hasNextPage endCursor}}}}',
      ),
    ).registeredModel.versions;
    expect(first.edges.map((e) => e.node.version)).toEqual([2]);
    expect(first.totalCount).toBe(2);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = ok(
      await c.raw<{ registeredModel: { versions: Model['versions'] } }>(
        'query($a:String){registeredModel(name:"fx-alpha"){versions(first:5, after:$a){edges{node{version}} pageInfo{hasNextPage}}}}',
        { a: first.pageInfo.endCursor },
      ),
    ).registeredModel.versions;
    expect(rest.edges.map((e) => e.node.version)).toEqual([1]);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    expect(m.versions.totalCount).toBe(2);
  });

  it('serves a page of models with versions, aliases, tags and history in a constant number of queries', async () => {
    const c = client(randomWorkspaceId());
    for (let i = 0; i < 12; i++) {
      const name = `loader-${String(i).padStart(2, '0')}`;
      await c.createModel(name, { t: [{ key: 'i', value: String(i) }] });
      await c.createVersion(name, 's3://b/x', { t: [{ key: 'v', value: '1' }] });
      await c.createVersion(name);
      ok(await c.setAliasRaw(name, 'champion', 1));
    }
    const PAGE = `query($n:Int!){registeredModels(first:$n){nodes{name tags{key value}
      aliases{alias modelVersion{version tags{key value}}} latestVersions{version}
      versions(first:10){totalCount nodes{version aliases tags{key value}}} history{kind}}}}`;
    const counts: number[] = [];
    for (const n of [2, 6, 12]) {
      queries.length = 0;
      counting = true;
      const page = ok(
        await c.raw<{ registeredModels: { nodes: { versions: { nodes: unknown[] } }[] } }>(PAGE, {
          n,
        }),
      ).registeredModels;
      counting = false;
      expect(page.nodes).toHaveLength(n);
      expect(page.nodes.every((m) => m.versions.nodes.length === 2)).toBe(true);
      counts.push(queries.length);
      if (queries.length > 9) console.log(queries.map((q) => q.slice(0, 120)));
    }
    // One page query plus one batch per loader (model tags, aliases, latest versions, versions
    // by key, version pages, history), and version tags reached at two depths (through aliases
    // and through the versions page), so at most two batches of those: 9 whatever the page size.
    for (const count of counts) {
      expect(count).toBeGreaterThanOrEqual(8);
      expect(count).toBeLessThanOrEqual(9);
    }
  });
});

describe('model registry: rebuild', () => {
  it('rebuilds registry state and history identical to the live read models', async () => {
    const workspace = randomWorkspaceId();
    const c = client(workspace);
    const runId = await c.newRun();
    await c.createModel('rb', { d: 'x', t: [{ key: 't', value: '1' }] });
    for (let i = 0; i < 4; i++)
      await c.createVersion('rb', `runs:/${runId}/m${i}`, { t: [{ key: 'n', value: `${i}` }] });
    ok(await c.transitionRaw('rb', 1, 'PRODUCTION'));
    ok(await c.transitionRaw('rb', 2, 'PRODUCTION', true));
    ok(await c.setAliasRaw('rb', 'champion', 2));
    ok(await c.setAliasRaw('rb', 'champion', 1));
    ok(await c.setAliasRaw('rb', 'champion', 2));
    ok(await c.raw('mutation{deleteModelVersion(name:"rb", version:3)}'));
    ok(await c.raw('mutation{renameRegisteredModel(name:"rb", newName:"rb2"){id}}'));
    ok(await c.raw('mutation{setRegisteredModelTag(name:"rb2", key:"u", value:"2"){id}}'));
    ok(await c.raw('mutation{deleteRegisteredModelTag(name:"rb2", key:"t"){id}}'));
    ok(await c.raw('mutation{setModelVersionTag(name:"rb2", version:4, key:"z", value:"2"){id}}'));
    await c.createModel('gone');
    await c.createVersion('gone');
    ok(await c.raw('mutation{deleteRegisteredModel(name:"gone")}'));

    const registryTables = (dump: ReadModelDump) =>
      Object.fromEntries(
        registryProjection.tables.map((t): [string, string[]] => [t, dump[t] ?? []]),
      );
    const before = await dumpReadModels(api.db, [workspace]);
    const graphBefore = await c.model('rb2');
    expect(before.model_history!.length).toBeGreaterThan(5);
    await rebuildProjection(api.db, registryProjection);
    const after = await dumpReadModels(api.db, [workspace]);
    expect(diffDumps(registryTables(before), registryTables(after), ['live', 'rebuilt'])).toEqual(
      [],
    );
    expect(diffDumps(before, after, ['live', 'rebuilt'])).toEqual([]);
    expect(await c.model('rb2')).toEqual(graphBefore);
    expect(graphBefore!.history.map((h) => h.kind)).toEqual([
      'MODEL_RENAMED',
      'VERSION_DELETED',
      'ALIAS_SET',
      'ALIAS_SET',
      'ALIAS_SET',
      'STAGE_TRANSITIONED',
      'STAGE_TRANSITIONED',
      'VERSION_CREATED',
      'VERSION_CREATED',
      'VERSION_CREATED',
      'VERSION_CREATED',
      'MODEL_CREATED',
    ]);
  });
});
