/**
 * Prompt registry through GraphQL (issue 13): prompts, immutable versions, aliases with history,
 * diff, URIs, typed errors that change nothing, concurrent version numbering, lineage to traces,
 * promptChanged over graphql-ws, signed webhooks, and a rebuild identical to the live read model.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { newEntityId, spanBatchStreamId, type IngestedSpan } from '@cairn/events';
import { generateSecretKey, promptsProjection, rebuildProjection } from '@cairn/projector';
import {
  aNewEvent,
  appendEvents,
  createTestDatabase,
  diffDumps,
  dumpReadModels,
  randomWorkspaceId,
} from '@cairn/testing';
import { startApiHarness, type ApiHarness, type GqlResponse } from './helpers/api-harness.ts';
import { eventually, expectSigned, Receiver } from './helpers/webhook-receiver.ts';

let api: ApiHarness;
let receiver: Receiver;
let dropDb: () => Promise<void>;
const queries: string[] = [];
let counting = false;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  receiver = new Receiver();
  await receiver.start();
  api = await startApiHarness({
    databaseUrl: database.url,
    webhooks: {
      secretKey: generateSecretKey(),
      retry: { baseDelayMs: 200, jitter: 0.2, maxAttempts: 4 },
      timeoutMs: 2000,
    },
    onQuery: (text) => {
      // Background pollers share the handle: count prompt read-model reads only.
      if (
        counting &&
        /\bprompt_|\bprompts\b/u.test(text) &&
        !/unique_keys|projection_stream_positions/u.test(text)
      )
        queries.push(text);
    },
  });
});

afterAll(async () => {
  await api?.stop();
  await receiver?.stop();
  await dropDb?.();
});

function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors).toBeUndefined();
  return response.data!;
}

const errorOf = (r: GqlResponse<unknown>) => {
  expect(r.errors?.length).toBeGreaterThan(0);
  return r.errors![0]!;
};

const VERSION = `id promptId name version uri templateType template messages{role content}
  variables responseFormat modelConfig commitMessage author createdAt tags{key value} aliases`;
const PROMPT = `id name description tags{key value} archived createdAt updatedAt
  latestVersion{version} aliases{alias version updatedBy promptVersion{version}}
  versions(first: 100){totalCount edges{node{version}}}`;

interface Version {
  id: string;
  name: string;
  version: number;
  uri: string;
  templateType: string;
  template: string | null;
  messages: { role: string; content: string }[] | null;
  variables: string[];
  responseFormat: unknown;
  modelConfig: unknown;
  commitMessage: string | null;
  author: string | null;
  tags: { key: string; value: string }[];
  aliases: string[];
}

function client(workspace: string) {
  const h = { 'x-cairn-workspace': workspace };
  const raw = <T>(query: string, variables: Record<string, unknown> = {}) =>
    api.gql<T>(query, variables, h);
  return {
    raw,
    gql: async <T>(query: string, variables: Record<string, unknown> = {}) =>
      ok(await raw<T>(query, variables)),
    createVersionRaw: (vars: Record<string, unknown>) =>
      raw<{ createPromptVersion: Version }>(
        `mutation($n:String!,$t:String,$m:[PromptMessageInput!],$rf:JSON,$mc:JSON,$c:String,$tags:[KeyValueInput!],$cm:Boolean){
          createPromptVersion(name:$n, template:$t, messages:$m, responseFormat:$rf, modelConfig:$mc,
            commitMessage:$c, tags:$tags, createPromptIfMissing:$cm){${VERSION}}}`,
        vars,
      ),
    events: async () =>
      Number(
        (
          await api.db
            .selectFrom('events')
            .select(sql<string>`count(*)`.as('n'))
            .where('workspace_id', '=', workspace)
            .executeTakeFirstOrThrow()
        ).n,
      ),
  };
}

describe('prompt registry API', () => {
  it('creates prompts and immutable versions, text and chat, with read-your-writes', async () => {
    const c = client(randomWorkspaceId());
    const { createPrompt } = await c.gql<{ createPrompt: { name: string; tags: unknown[] } }>(
      `mutation{ createPrompt(name:"summarise", description:"sum", tags:[{key:"team", value:"nlp"}]){${PROMPT}} }`,
    );
    expect(createPrompt).toMatchObject({
      name: 'summarise',
      description: 'sum',
      tags: [{ key: 'team', value: 'nlp' }],
      archived: false,
      latestVersion: null,
      versions: { totalCount: 0, edges: [] },
    });
    const v1 = ok(
      await c.createVersionRaw({
        n: 'summarise',
        t: 'Summarise {{ text }} in {{n}} words.\nBe {{tone}}.',
        mc: { provider: 'openai', model: 'gpt-4o', temperature: 0.2 },
        c: 'first',
        tags: [{ key: 'k', value: 'v' }],
      }),
    ).createPromptVersion;
    expect(v1).toMatchObject({
      name: 'summarise',
      version: 1,
      uri: 'prompts:/summarise/1',
      templateType: 'TEXT',
      template: 'Summarise {{ text }} in {{n}} words.\nBe {{tone}}.',
      messages: null,
      variables: ['text', 'n', 'tone'],
      modelConfig: { provider: 'openai', model: 'gpt-4o', temperature: 0.2 },
      responseFormat: null,
      commitMessage: 'first',
      author: 'anonymous',
      tags: [{ key: 'k', value: 'v' }],
      aliases: [],
    });
    const v2 = ok(
      await c.createVersionRaw({
        n: 'summarise',
        m: [
          { role: 'system', content: 'You summarise {{text}}.' },
          { role: 'user', content: 'In {{n}} words.' },
        ],
        rf: { type: 'object', properties: { summary: { type: 'string' } } },
        mc: { provider: 'openai', model: 'gpt-4o', temperature: 0.7, max_tokens: 200 },
      }),
    ).createPromptVersion;
    expect(v2).toMatchObject({
      version: 2,
      templateType: 'CHAT',
      template: null,
      messages: [
        { role: 'system', content: 'You summarise {{text}}.' },
        { role: 'user', content: 'In {{n}} words.' },
      ],
      variables: ['text', 'n'],
      responseFormat: { type: 'object', properties: { summary: { type: 'string' } } },
    });
    const { prompt } = await c.gql<{
      prompt: { latestVersion: { version: number }; versions: { totalCount: number } };
    }>(`{ prompt(name:"summarise"){${PROMPT}} }`);
    expect(prompt.latestVersion.version).toBe(2);
    expect(prompt.versions.totalCount).toBe(2);
    const { promptVersion } = await c.gql<{ promptVersion: Version }>(
      `{ promptVersion(name:"summarise", version:1){${VERSION}} }`,
    );
    expect(promptVersion).toEqual(v1);

    // createPromptIfMissing makes the prompt and its version 1 together
    const fresh = ok(
      await c.createVersionRaw({ n: 'fresh', t: 'x', cm: true }),
    ).createPromptVersion;
    expect(fresh).toMatchObject({ name: 'fresh', version: 1 });

    // version pages: newest first, cursor, totalCount
    for (let i = 0; i < 3; i++) ok(await c.createVersionRaw({ n: 'fresh', t: `x${i}` }));
    const page1 = await c.gql<{
      prompt: {
        versions: {
          totalCount: number;
          edges: { node: { version: number } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string };
        };
      };
    }>(
      '{ prompt(name:"fresh"){ versions(first:3){ totalCount edges{node{version}} pageInfo{hasNextPage endCursor} } } }',
    );
    expect(page1.prompt.versions.edges.map((e) => e.node.version)).toEqual([4, 3, 2]);
    expect(page1.prompt.versions.pageInfo.hasNextPage).toBe(true);
    const page2 = await c.gql<typeof page1>(
      '{ prompt(name:"fresh"){ versions(first:3, after:$a){ totalCount edges{node{version}} pageInfo{hasNextPage endCursor} } } }'.replace(
        '$a',
        JSON.stringify(page1.prompt.versions.pageInfo.endCursor),
      ),
    );
    expect(page2.prompt.versions.edges.map((e) => e.node.version)).toEqual([1]);
    expect(page2.prompt.versions).toMatchObject({
      totalCount: 4,
      pageInfo: { hasNextPage: false },
    });
  });

  it('answers bad input with typed errors and appends nothing', async () => {
    const c = client(randomWorkspaceId());
    await c.gql('mutation{ createPrompt(name:"p"){ id } }');
    ok(await c.createVersionRaw({ n: 'p', t: 'hello {{x}}' }));
    const before = await c.events();
    const bad: [Promise<GqlResponse<unknown>>, string, Record<string, unknown>][] = [
      [c.raw('mutation{ createPrompt(name:"p"){ id } }'), 'ALREADY_EXISTS', {}],
      [c.raw('mutation{ createPrompt(name:"a/b"){ id } }'), 'INVALID_ARGUMENT', { field: 'name' }],
      [c.createVersionRaw({ n: 'p' }), 'INVALID_ARGUMENT', { field: 'template' }],
      [
        c.createVersionRaw({ n: 'p', t: 'x', m: [{ role: 'user', content: 'y' }] }),
        'INVALID_ARGUMENT',
        { field: 'template' },
      ],
      [c.createVersionRaw({ n: 'p', t: '' }), 'INVALID_ARGUMENT', { field: 'template' }],
      [
        c.createVersionRaw({ n: 'p', m: [{ role: '', content: 'y' }] }),
        'INVALID_ARGUMENT',
        { field: 'messages[0].role' },
      ],
      [
        c.createVersionRaw({ n: 'p', t: 'x', mc: [1] }),
        'INVALID_ARGUMENT',
        { field: 'modelConfig' },
      ],
      [
        c.createVersionRaw({ n: 'p', t: 'x', rf: 'schema' }),
        'INVALID_ARGUMENT',
        { field: 'responseFormat' },
      ],
      [c.createVersionRaw({ n: 'p', t: 'bad \u0000' }), 'INVALID_ARGUMENT', {}],
      [c.createVersionRaw({ n: 'missing', t: 'x' }), 'NOT_FOUND', {}],
      [
        c.raw('mutation{ setPromptAlias(name:"p", alias:"latest", version:1){ version } }'),
        'INVALID_ARGUMENT',
        { field: 'alias' },
      ],
      [
        c.raw('mutation{ setPromptAlias(name:"p", alias:"prod", version:7){ version } }'),
        'NOT_FOUND',
        {},
      ],
      [c.raw('mutation{ deletePromptAlias(name:"p", alias:"nope"){ id } }'), 'NOT_FOUND', {}],
      [c.raw('mutation{ deletePromptTag(name:"p", key:"nope"){ id } }'), 'NOT_FOUND', {}],
      [
        c.raw('mutation{ setPromptVersionTag(name:"p", version:5, key:"k", value:"v"){ id } }'),
        'NOT_FOUND',
        {},
      ],
      [c.raw('mutation{ deletePrompt(name:"nope") }'), 'NOT_FOUND', {}],
      [
        c.raw('{ resolvePromptUri(uri:"models:/p/1"){ version } }'),
        'INVALID_ARGUMENT',
        { reason: 'SCHEME' },
      ],
      [
        c.raw('{ resolvePromptUri(uri:"prompts:/p/x"){ version } }'),
        'INVALID_ARGUMENT',
        { reason: 'VERSION' },
      ],
      [c.raw('{ resolvePromptUri(uri:"prompts:/p@prod"){ version } }'), 'NOT_FOUND', {}],
      [c.raw('{ resolvePromptUri(uri:"prompts:/p/9"){ version } }'), 'NOT_FOUND', {}],
      [c.raw('{ resolvePromptUri(uri:"prompts:/q/1"){ version } }'), 'NOT_FOUND', {}],
      [
        c.raw('{ promptVersionDiff(name:"p", from:1, to:2){ name } }'),
        'NOT_FOUND',
        { field: 'to' },
      ],
      [c.raw(`{ prompts(filter:"name = "){ totalCount } }`), 'INVALID_ARGUMENT', {}],
      [c.raw(`{ prompts(filter:"metrics.x > 1"){ totalCount } }`), 'INVALID_ARGUMENT', {}],
      [c.raw(`{ prompts(after:"garbage"){ totalCount } }`), 'INVALID_ARGUMENT', {}],
      [c.raw(`{ prompts(first:0){ totalCount } }`), 'INVALID_ARGUMENT', {}],
    ];
    for (const [call, code, details] of bad) {
      const error = errorOf(await call);
      expect({ message: error.message, code: error.extensions?.code }).toMatchObject({ code });
      expect(error.extensions).toMatchObject(details);
    }
    expect(await c.events()).toBe(before);
    // another workspace cannot see or change this prompt
    const other = client(randomWorkspaceId());
    expect((await other.gql<{ prompt: unknown }>('{ prompt(name:"p"){ id } }')).prompt).toBeNull();
    for (const call of [
      other.raw('mutation{ setPromptAlias(name:"p", alias:"prod", version:1){ version } }'),
      other.createVersionRaw({ n: 'p', t: 'x' }),
      other.raw('{ resolvePromptUri(uri:"prompts:/p/1"){ version } }'),
      other.raw('mutation{ deletePrompt(name:"p") }'),
    ])
      expect(errorOf(await call).extensions?.code).toBe('NOT_FOUND');
    expect(await c.events()).toBe(before);
    // archived: no new versions until unarchived; hidden from the list unless asked
    await c.gql('mutation{ archivePrompt(name:"p"){ archived } }');
    const archivedError = errorOf(await c.createVersionRaw({ n: 'p', t: 'x' }));
    expect(archivedError.extensions).toMatchObject({
      code: 'INVALID_ARGUMENT',
      reason: 'archived',
    });
    expect(
      (await c.gql<{ prompts: { totalCount: number } }>('{ prompts{ totalCount } }')).prompts
        .totalCount,
    ).toBe(0);
    expect(
      (
        await c.gql<{ prompts: { totalCount: number } }>(
          '{ prompts(includeArchived:true){ totalCount } }',
        )
      ).prompts.totalCount,
    ).toBe(1);
    const { unarchivePrompt } = await c.gql<{ unarchivePrompt: { archived: boolean } }>(
      'mutation{ unarchivePrompt(name:"p"){ archived } }',
    );
    expect(unarchivePrompt.archived).toBe(false);
    expect(ok(await c.createVersionRaw({ n: 'p', t: 'x' })).createPromptVersion.version).toBe(2);
  });

  it('gives concurrent createPromptVersion calls versions 1..N with no gap or duplicate', async () => {
    const c = client(randomWorkspaceId());
    await c.gql('mutation{ createPrompt(name:"race"){ id } }');
    const n = 16;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => c.createVersionRaw({ n: 'race', t: `v{{i}} ${i}` })),
    );
    const versions = results.map((r) => ok(r).createPromptVersion.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const rows = await api.db
      .selectFrom('prompt_versions')
      .select(['version', 'template'])
      .where('prompt_name', '=', 'race')
      .where(
        'workspace_id',
        '=',
        (
          await api.db
            .selectFrom('prompts')
            .select('workspace_id')
            .where('name', '=', 'race')
            .executeTakeFirstOrThrow()
        ).workspace_id,
      )
      .orderBy('version')
      .execute();
    expect(rows.map((r) => r.version)).toEqual(versions);
    // each caller got back its own template
    for (const r of results) {
      const v = ok(r).createPromptVersion;
      expect(rows[v.version - 1]!.template).toEqual({ type: 'text', text: v.template });
    }
    // concurrent creates of one name: exactly one wins
    const creates = await Promise.all(
      Array.from({ length: 6 }, () => c.raw('mutation{ createPrompt(name:"once"){ id } }')),
    );
    expect(creates.filter((r) => !r.errors).length).toBe(1);
    expect(creates.filter((r) => r.errors?.[0]?.extensions?.code === 'ALREADY_EXISTS').length).toBe(
      5,
    );
  });

  it('moves aliases, keeps their history, resolves URIs and diffs versions', async () => {
    const c = client(randomWorkspaceId());
    ok(
      await c.createVersionRaw({
        n: 'x',
        t: 'Hello {{name}}.\nBye.',
        mc: { model: 'gpt-4o', temperature: 0.2, stop: ['a'] },
        cm: true,
      }),
    );
    ok(await c.createVersionRaw({ n: 'x', t: 'Hello {{name}}!\nBye.', mc: { model: 'gpt-4o' } }));
    ok(
      await c.createVersionRaw({
        n: 'x',
        t: 'Hi {{name}} from {{place}}.\nBye.',
        mc: { model: 'gpt-4o-mini', temperature: 0.5 },
        c: 'shorter',
      }),
    );
    const set = (alias: string, v: number) =>
      c.gql<{ setPromptAlias: { version: number; aliases: string[] } }>(
        `mutation{ setPromptAlias(name:"x", alias:"${alias}", version:${v}){ version aliases } }`,
      );
    expect((await set('production', 2)).setPromptAlias).toEqual({
      version: 2,
      aliases: ['production'],
    });
    await set('staging', 3);
    await set('production', 3); // 2 → 3
    const resolve = async (uri: string) =>
      (
        await c.gql<{ resolvePromptUri: { version: number } }>(
          `{ resolvePromptUri(uri:${JSON.stringify(uri)}){ version } }`,
        )
      ).resolvePromptUri.version;
    expect(await resolve('prompts:/x@production')).toBe(3);
    expect(await resolve('prompts:/x@latest')).toBe(3);
    expect(await resolve('prompts:/x/latest')).toBe(3);
    expect(await resolve('prompts:/x/1')).toBe(1);
    await set('production', 2); // rollback 3 → 2
    expect(await resolve('prompts:/x@production')).toBe(2);
    await c.gql('mutation{ deletePromptAlias(name:"x", alias:"staging"){ id } }');

    type History = {
      prompt: {
        aliases: { alias: string; version: number }[];
        aliasHistory: {
          totalCount: number;
          edges: {
            node: {
              alias: string;
              kind: string;
              fromVersion: number | null;
              toVersion: number | null;
              actor: string;
              at: number;
            };
          }[];
          pageInfo: { hasNextPage: boolean; endCursor: string };
        };
      };
    };
    const history = (args: string) =>
      c.gql<History>(
        `{ prompt(name:"x"){ aliases{alias version} aliasHistory(${args}){ totalCount edges{node{alias kind fromVersion toVersion actor at}} pageInfo{hasNextPage endCursor} } } }`,
      );
    const all = await history('first: 3');
    expect(all.prompt.aliases).toEqual([{ alias: 'production', version: 2 }]);
    expect(all.prompt.aliasHistory.totalCount).toBe(5);
    const entries = all.prompt.aliasHistory.edges.map((e) => e.node);
    expect(
      entries.map(({ alias, kind, fromVersion, toVersion }) => [
        alias,
        kind,
        fromVersion,
        toVersion,
      ]),
    ).toEqual([
      ['staging', 'DELETED', 3, null],
      ['production', 'SET', 3, 2],
      ['production', 'SET', 2, 3],
    ]);
    expect(entries.every((e) => e.actor === 'anonymous' && e.at > 0)).toBe(true);
    const rest = await history(
      `first: 3, after: ${JSON.stringify(all.prompt.aliasHistory.pageInfo.endCursor)}`,
    );
    expect(
      rest.prompt.aliasHistory.edges.map((e) => [
        e.node.alias,
        e.node.fromVersion,
        e.node.toVersion,
      ]),
    ).toEqual([
      ['staging', null, 3],
      ['production', null, 2],
    ]);
    expect(rest.prompt.aliasHistory.pageInfo.hasNextPage).toBe(false);
    const production = await history('alias: "production"');
    expect(production.prompt.aliasHistory.totalCount).toBe(3);

    const { promptVersionDiff } = await c.gql<{
      promptVersionDiff: {
        templateTypeChanged: boolean;
        template: { op: string; text: string; fromLine: number | null; toLine: number | null }[];
        variablesAdded: string[];
        variablesRemoved: string[];
        modelConfig: { path: string; op: string; from: unknown; to: unknown }[];
        responseFormat: unknown[];
        commitMessage: string;
      };
    }>(
      `{ promptVersionDiff(name:"x", from:1, to:3){ templateTypeChanged template{op text fromLine toLine}
         variablesAdded variablesRemoved modelConfig{path op from to} responseFormat{path} commitMessage } }`,
    );
    expect(promptVersionDiff).toEqual({
      templateTypeChanged: false,
      template: [
        { op: 'ADDED', text: 'Hi {{name}} from {{place}}.', fromLine: null, toLine: 1 },
        { op: 'REMOVED', text: 'Hello {{name}}.', fromLine: 1, toLine: null },
        { op: 'EQUAL', text: 'Bye.', fromLine: 2, toLine: 2 },
      ],
      variablesAdded: ['place'],
      variablesRemoved: [],
      modelConfig: [
        { path: '/model', op: 'CHANGED', from: 'gpt-4o', to: 'gpt-4o-mini' },
        { path: '/stop', op: 'REMOVED', from: ['a'], to: null },
        { path: '/temperature', op: 'CHANGED', from: 0.2, to: 0.5 },
      ],
      responseFormat: [],
      commitMessage: 'shorter',
    });
  });

  it('searches prompts by name and tags with totalCount and cursors', async () => {
    const c = client(randomWorkspaceId());
    for (const [name, team] of [
      ['alpha', 'a'],
      ['beta', 'b'],
      ['gamma', 'a'],
      ['delta', 'a'],
    ] as const)
      await c.gql(
        `mutation{ createPrompt(name:"${name}", tags:[{key:"team", value:"${team}"}]){ id } }`,
      );
    await c.gql('mutation{ setPromptTag(name:"beta", key:"team", value:"a"){ id } }');
    await c.gql('mutation{ deletePromptTag(name:"delta", key:"team"){ id } }');
    type Page = {
      prompts: {
        totalCount: number;
        edges: { node: { name: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    };
    const search = (args: string) =>
      c.gql<Page>(
        `{ prompts(${args}){ totalCount edges{node{name}} pageInfo{hasNextPage endCursor} } }`,
      );
    const teamA = await search(`filter:"tags.team = 'a'", first: 2`);
    expect(teamA.prompts.totalCount).toBe(3);
    expect(teamA.prompts.edges.map((e) => e.node.name)).toEqual(['alpha', 'beta']);
    const next = await search(
      `filter:"tags.team = 'a'", first: 2, after: ${JSON.stringify(teamA.prompts.pageInfo.endCursor)}`,
    );
    expect(next.prompts.edges.map((e) => e.node.name)).toEqual(['gamma']);
    expect(
      (
        await search(`filter:"name LIKE '%a' AND NOT name = 'beta'", orderBy:["name DESC"]`)
      ).prompts.edges.map((e) => e.node.name),
    ).toEqual(['gamma', 'delta', 'alpha']);
    // other workspaces see nothing
    expect(
      (
        await client(randomWorkspaceId()).gql<Page>(
          '{ prompts{ totalCount edges{node{name}} pageInfo{hasNextPage endCursor} } }',
        )
      ).prompts.totalCount,
    ).toBe(0);
  });
});

/** Appends one SpansIngested batch and waits until the traces projection applied it. */
async function ingest(w: string, spans: IngestedSpan[]): Promise<void> {
  const batchId = newEntityId();
  const streamId = spanBatchStreamId(batchId);
  await appendEvents(
    api.db,
    w,
    streamId,
    'span-batch',
    [aNewEvent('SpansIngested', { batchId, resources: [{ 'service.name': 'svc' }], spans })],
    'no_stream',
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    const row = await api.db
      .selectFrom('projection_stream_positions')
      .select('position')
      .where('workspace_id', '=', w)
      .where('projection', '=', 'traces')
      .where('stream_id', '=', streamId)
      .executeTakeFirst();
    if ((row?.position ?? 0) >= 1) return;
    if (Date.now() > deadline) throw new Error(`traces projection did not apply ${streamId}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const hex = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

function rootSpan(traceId: string, ms: number, promptVersions: string[]): IngestedSpan {
  const start = 1_764_583_200_000n * 1_000_000n + BigInt(ms) * 1_000_000n;
  return {
    traceId,
    spanId: hex(16),
    parentSpanId: null,
    traceState: null,
    name: 'answer',
    kind: 'INTERNAL',
    startTimeUnixNano: `${start}`,
    endTimeUnixNano: `${start + 10_000_000n}`,
    status: { code: 'OK', message: null },
    attributes: { 'cairn.trace.prompt_versions': JSON.stringify(promptVersions) },
    events: [],
    links: [],
    resourceIndex: 0,
    scope: { name: 'test', version: null },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

describe('prompt loaders', () => {
  it('reads a page of prompts with their tags, aliases and versions in a fixed number of queries', async () => {
    const w = randomWorkspaceId();
    const c = client(w);
    const seed = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const name = `p${String(i).padStart(2, '0')}`;
        ok(
          await c.createVersionRaw({ n: name, t: 'a', cm: true, tags: [{ key: 'k', value: 'v' }] }),
        );
        ok(await c.createVersionRaw({ n: name, t: 'b' }));
        await c.gql(`mutation{ setPromptTag(name:"${name}", key:"team", value:"x"){ id } }`);
        await c.gql(
          `mutation{ setPromptAlias(name:"${name}", alias:"production", version:1){ version } }`,
        );
      }
    };
    const read = async () => {
      queries.length = 0;
      counting = true;
      const { prompts } = await c.gql<{ prompts: { totalCount: number; nodes: unknown[] } }>(
        `{ prompts(first: 50){ totalCount nodes{ name tags{key} aliases{ alias promptVersion{ version tags{key} } }
           latestVersion{ version tags{key} aliases } versions(first: 5){ totalCount nodes{ version tags{key} } } } } }`,
      );
      counting = false;
      return { n: prompts.nodes.length, total: prompts.totalCount, queries: queries.length };
    };
    await seed(0, 3);
    const small = await read();
    await seed(3, 8);
    const large = await read();
    expect([small.n, small.total, large.n, large.total]).toEqual([3, 3, 8, 8]);
    // One query per loader and level (the version loader may run once per level it is reached
    // from: latestVersion, then aliases → promptVersion): the same bound for 3 and 8 prompts,
    // where one query per prompt would be 16 or more.
    expect(small.queries).toBeLessThanOrEqual(9);
    expect(large.queries).toBeLessThanOrEqual(9);
  });
});

describe('prompt lineage', () => {
  it('lists the traces that used a prompt version, newest first, paginated', async () => {
    const w = randomWorkspaceId();
    const c = client(w);
    for (let i = 0; i < 3; i++) ok(await c.createVersionRaw({ n: 'qa', t: `v${i}`, cm: true }));
    const t1 = hex(32);
    const t2 = hex(32);
    const t3 = hex(32);
    await ingest(w, [rootSpan(t1, 0, ['prompts:/qa/3'])]);
    await ingest(w, [rootSpan(t2, 10, ['prompts:/qa/2', 'prompts:/qa/3'])]);
    await ingest(w, [rootSpan(t3, 20, ['prompts:/qa/2'])]);
    // another workspace's trace naming the same URI is not listed
    await ingest(randomWorkspaceId(), [rootSpan(hex(32), 30, ['prompts:/qa/3'])]);
    type Traces = {
      promptVersion: {
        traces: {
          totalCount: number;
          edges: { node: { id: string; promptVersions: string[] } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string };
        };
      };
    };
    const traces = (v: number, args: string) =>
      c.gql<Traces>(
        `{ promptVersion(name:"qa", version:${v}){ traces(${args}){ totalCount edges{node{id promptVersions}} pageInfo{hasNextPage endCursor} } } }`,
      );
    const first = await traces(3, 'first: 1');
    expect(first.promptVersion.traces.totalCount).toBe(2);
    expect(first.promptVersion.traces.edges.map((e) => e.node.id)).toEqual([t2]);
    expect(first.promptVersion.traces.pageInfo.hasNextPage).toBe(true);
    const second = await traces(
      3,
      `first: 1, after: ${JSON.stringify(first.promptVersion.traces.pageInfo.endCursor)}`,
    );
    expect(second.promptVersion.traces.edges.map((e) => e.node.id)).toEqual([t1]);
    expect(second.promptVersion.traces.pageInfo.hasNextPage).toBe(false);
    expect((await traces(2, 'first: 10')).promptVersion.traces.edges.map((e) => e.node.id)).toEqual(
      [t3, t2],
    );
    expect((await traces(1, 'first: 10')).promptVersion.traces.totalCount).toBe(0);
  });
});

describe('promptChanged subscription', () => {
  it('pushes the re-read prompt on each projected change, and null on deletion', async () => {
    const w = randomWorkspaceId();
    const c = client(w);
    await c.gql('mutation{ createPrompt(name:"live"){ id } }');
    await c.gql('mutation{ createPrompt(name:"other"){ id } }');
    const ws = createClient({
      url: `${api.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { 'x-cairn-workspace': w },
    });
    try {
      const pushes: ({
        latestVersion: { version: number } | null;
        aliases: { alias: string }[];
      } | null)[] = [];
      let completed = false;
      const unsubscribe = ws.subscribe<{
        promptChanged: {
          latestVersion: { version: number } | null;
          aliases: { alias: string }[];
        } | null;
      }>(
        {
          query:
            'subscription{ promptChanged(name:"live"){ latestVersion{version} aliases{alias} } }',
        },
        {
          next: (msg) => pushes.push(msg.data?.promptChanged ?? null),
          error: () => undefined,
          complete: () => (completed = true),
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      ok(await c.createVersionRaw({ n: 'live', t: 'a' }));
      await eventually(
        () => Promise.resolve(pushes),
        (p) => p.length >= 1,
      );
      ok(await c.createVersionRaw({ n: 'other', t: 'a' })); // not pushed
      ok(
        await c.raw(
          'mutation{ setPromptAlias(name:"live", alias:"production", version:1){ version } }',
        ),
      );
      await eventually(
        () => Promise.resolve(pushes),
        (p) => p.some((x) => (x?.aliases.length ?? 0) > 0),
      );
      await c.gql('mutation{ deletePrompt(name:"live") }');
      await eventually(
        () => Promise.resolve(pushes),
        (p) => p.at(-1) === null,
      );
      await eventually(
        () => Promise.resolve(completed),
        (done) => done,
      );
      expect(pushes[0]).toEqual({ latestVersion: { version: 1 }, aliases: [] });
      expect(pushes.at(-2)).toEqual({
        latestVersion: { version: 1 },
        aliases: [{ alias: 'production' }],
      });
      expect(pushes.at(-1)).toBeNull();
      unsubscribe();
      // a missing prompt is a typed error
      const error = await new Promise<unknown>((resolve) => {
        ws.subscribe(
          { query: 'subscription{ promptChanged(name:"nope"){ name } }' },
          { next: (m) => resolve(m.errors?.[0]), error: resolve, complete: () => undefined },
        );
      });
      expect(error).toMatchObject({
        message: 'Prompt "nope" not found',
        extensions: { code: 'NOT_FOUND' },
      });
    } finally {
      await ws.dispose();
    }
  });
});

describe('prompt webhooks', () => {
  it('delivers signed PROMPT_VERSION_CREATED, PROMPT_ALIAS_SET and PROMPT_ALIAS_DELETED', async () => {
    const w = randomWorkspaceId();
    const c = client(w);
    const { createWebhook } = await c.gql<{ createWebhook: { secret: string } }>(
      `mutation($url:String!){ createWebhook(url:$url, modelName:"hooked", events:[
        PROMPT_VERSION_CREATED, PROMPT_ALIAS_SET, PROMPT_ALIAS_DELETED, MODEL_VERSION_CREATED]){ secret } }`,
      { url: receiver.url('/prompts') },
    );
    ok(await c.createVersionRaw({ n: 'hooked', t: 'a {{x}}', cm: true }));
    ok(await c.createVersionRaw({ n: 'hooked', t: 'b' }));
    ok(await c.createVersionRaw({ n: 'unhooked', t: 'b', cm: true })); // filtered by name
    await c.gql(
      'mutation{ setPromptAlias(name:"hooked", alias:"production", version:1){ version } }',
    );
    await c.gql(
      'mutation{ setPromptAlias(name:"hooked", alias:"production", version:2){ version } }',
    );
    await c.gql('mutation{ deletePromptAlias(name:"hooked", alias:"production"){ id } }');
    const got = await eventually(
      () => receiver.on('/prompts'),
      (r) => r.length >= 5,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.on('/prompts')).toHaveLength(5);
    for (const request of got) expectSigned(request, createWebhook.secret);
    const bodies = got.map(
      (r) =>
        JSON.parse(r.body) as { event: string; workspace: string; data: Record<string, unknown> },
    );
    expect(bodies.every((b) => b.workspace === w && b.data.name === 'hooked')).toBe(true);
    expect(bodies.map((b) => b.event).sort()).toEqual([
      'PROMPT_ALIAS_DELETED',
      'PROMPT_ALIAS_SET',
      'PROMPT_ALIAS_SET',
      'PROMPT_VERSION_CREATED',
      'PROMPT_VERSION_CREATED',
    ]);
    expect(bodies.filter((b) => b.event === 'PROMPT_ALIAS_SET').map((b) => b.data)).toContainEqual(
      expect.objectContaining({ alias: 'production', version: 2, previousVersion: 1 }),
    );
    expect(
      bodies.find((b) => b.event === 'PROMPT_VERSION_CREATED' && b.data.version === 1)!.data,
    ).toMatchObject({
      template: { type: 'text', text: 'a {{x}}' },
      variables: ['x'],
    });
  });
});

describe('prompts rebuild', () => {
  it('rebuilds the prompt read models identical to the live ones', async () => {
    const w = randomWorkspaceId();
    const c = client(w);
    await c.gql(
      'mutation{ createPrompt(name:"rb", description:"d", tags:[{key:"t", value:"1"}]){ id } }',
    );
    for (let i = 0; i < 3; i++)
      ok(
        await c.createVersionRaw({
          n: 'rb',
          t: `v${i} {{a}}`,
          mc: { i },
          tags: [{ key: 'n', value: `${i}` }],
        }),
      );
    await c.gql('mutation{ setPromptAlias(name:"rb", alias:"production", version:1){ version } }');
    await c.gql('mutation{ setPromptAlias(name:"rb", alias:"production", version:3){ version } }');
    await c.gql('mutation{ setPromptAlias(name:"rb", alias:"staging", version:2){ version } }');
    await c.gql('mutation{ deletePromptAlias(name:"rb", alias:"staging"){ id } }');
    await c.gql('mutation{ setPromptVersionTag(name:"rb", version:2, key:"z", value:"y"){ id } }');
    await c.gql('mutation{ deletePromptVersionTag(name:"rb", version:1, key:"n"){ id } }');
    await c.gql('mutation{ setPromptTag(name:"rb", key:"u", value:"2"){ id } }');
    await c.gql('mutation{ archivePrompt(name:"rb"){ id } }');
    ok(await c.createVersionRaw({ n: 'gone', t: 'x', cm: true }));
    await c.gql('mutation{ deletePrompt(name:"gone") }');
    const before = await dumpReadModels(api.db, [w]);
    expect(before.prompt_versions).toHaveLength(3);
    expect(before.prompt_alias_history).toHaveLength(4);
    const graph = `{ prompt(name:"rb"){ ${PROMPT} aliasHistory{ totalCount edges{node{alias kind fromVersion toVersion}} } version(version:2){ ${VERSION} } } }`;
    const graphBefore = await c.gql(graph);
    await rebuildProjection(api.db, promptsProjection);
    const after = await dumpReadModels(api.db, [w]);
    expect(diffDumps(before, after, ['live', 'rebuilt'])).toEqual([]);
    expect(await c.gql(graph)).toEqual(graphBefore);
    // the deleted prompt's name is free again, and its versions restart at 1
    expect(
      ok(await c.createVersionRaw({ n: 'gone', t: 'y', cm: true })).createPromptVersion.version,
    ).toBe(1);
  });
});
