/**
 * Service accounts (issue 20, docs/auth.md "Service accounts"): a principal kind of its own, per
 * workspace; keys issued to it act as it (`me.kind` SERVICE_ACCOUNT, actor `sa:<name>`), with a
 * role no stronger than the account's; deleting it revokes its keys (events) and they fail at
 * once; another workspace neither sees nor touches it; the read model rebuilds identical.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allProjections, rebuildProjection } from '@cairn/projector';
import { createTestDatabase, diffDumps, dumpReadModels, randomWorkspaceId } from '@cairn/testing';
import { createApiKey } from '../../src/auth/access.commands.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
const wsA = randomWorkspaceId();
const wsB = randomWorkspaceId();
let adminA: string;
let adminB: string;

const bootstrap = async (workspaceId: string, role: string) =>
  (
    await createApiKey(
      api.deps,
      { workspaceId, metadata: { actor: 'test', correlationId: 'c', causationId: null } },
      { name: `${role} key`, role },
      null,
    )
  ).secret;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url, auth: { mode: 'required' } });
  adminA = await bootstrap(wsA, 'admin');
  adminB = await bootstrap(wsB, 'admin');
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

const as = (key: string) => ({ authorization: `Bearer ${key}` });
const codeOf = (r: { errors?: { extensions?: { code?: string } }[] }) =>
  r.errors?.[0]?.extensions?.code;

interface Account {
  id: string;
  name: string;
  role: string;
  description: string;
  createdBy: string;
  activeKeys: number;
}
const FIELDS = 'id name role description createdBy activeKeys';

async function createAccount(name: string, role: string, key = adminA, description = 'CI') {
  return api.gql<{ createServiceAccount: Account }>(
    `mutation($n: String!, $r: String!, $d: String) { createServiceAccount(name: $n, role: $r, description: $d) { ${FIELDS} } }`,
    { n: name, r: role, d: description },
    as(key),
  );
}

async function issueKey(serviceAccountId: string, role: string, key = adminA) {
  return api.gql<{
    createApiKey: { apiKey: { id: string; serviceAccountId: string }; secret: string };
  }>(
    `mutation($sa: ID!, $r: String!) { createApiKey(input: { name: "bot key", role: $r, serviceAccountId: $sa }) { apiKey { id serviceAccountId } secret } }`,
    { sa: serviceAccountId, r: role },
    as(key),
  );
}

describe('service accounts', () => {
  it('are created with a validated, unique name and a role no stronger than the creator', async () => {
    const created = await createAccount('ci-bot', 'member');
    expect(created.errors).toBeUndefined();
    expect(created.data!.createServiceAccount).toMatchObject({
      name: 'ci-bot',
      role: 'member',
      description: 'CI',
      activeKeys: 0,
    });
    expect(created.data!.createServiceAccount.createdBy).toMatch(/^key:/);
    expect(codeOf(await createAccount('ci-bot', 'viewer'))).toBe('ALREADY_EXISTS');
    expect(codeOf(await createAccount('Not A Name!', 'viewer'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(await createAccount('too-strong', 'owner'))).toBe('PERMISSION_DENIED');
    expect(codeOf(await createAccount('no-role', 'wizard'))).toBe('INVALID_ARGUMENT');
    // The same name in another workspace is another account.
    expect((await createAccount('ci-bot', 'viewer', adminB)).errors).toBeUndefined();
  });

  it('act through their keys: me says SERVICE_ACCOUNT, events say sa:<name>', async () => {
    const account = (await createAccount('trainer', 'member')).data!.createServiceAccount;
    expect(codeOf(await issueKey(account.id, 'admin'))).toBe('PERMISSION_DENIED');
    const issued = await issueKey(account.id, 'member');
    expect(issued.errors).toBeUndefined();
    expect(issued.data!.createApiKey.apiKey.serviceAccountId).toBe(account.id);
    const key = issued.data!.createApiKey.secret;

    const me = await api.gql<{ me: Record<string, unknown> }>(
      '{ me { kind id name role workspaceId } }',
      {},
      as(key),
    );
    expect(me.data!.me).toEqual({
      kind: 'SERVICE_ACCOUNT',
      id: account.id,
      name: 'trainer',
      role: 'member',
      workspaceId: wsA,
    });
    const experiment = await api.gql<{ createExperiment: { id: string } }>(
      'mutation { createExperiment(name: "sa-made") { id } }',
      {},
      as(key),
    );
    expect(experiment.errors).toBeUndefined();
    const events = await api.db
      .selectFrom('events')
      .select(['actor', 'type'])
      .where('workspace_id', '=', wsA)
      .where('type', '=', 'ExperimentCreated')
      .execute();
    expect(events.map((e) => e.actor)).toEqual(['sa:trainer']);
    // A member-role account cannot manage access.
    expect(codeOf(await createAccount('sneaky', 'viewer', key))).toBe('PERMISSION_DENIED');

    const listed = await api.gql<{
      serviceAccounts: {
        totalCount: number;
        edges: { node: Account }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    }>(
      `{ serviceAccounts(first: 1) { totalCount edges { node { ${FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
      {},
      as(adminA),
    );
    const page = listed.data!.serviceAccounts;
    expect(page.totalCount).toBe(2);
    expect(page.edges.map((e) => [e.node.name, e.node.activeKeys])).toEqual([['trainer', 1]]);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const rest = await api.gql<{ serviceAccounts: { edges: { node: Account }[] } }>(
      `query($a: String) { serviceAccounts(first: 5, after: $a) { edges { node { name } } } }`,
      { a: page.pageInfo.endCursor },
      as(adminA),
    );
    expect(rest.data!.serviceAccounts.edges.map((e) => e.node.name)).toEqual(['ci-bot']);
  });

  it('are invisible and untouchable from another workspace', async () => {
    const account = (await createAccount('private-bot', 'viewer')).data!.createServiceAccount;
    const listB = await api.gql<{ serviceAccounts: { edges: { node: Account }[] } }>(
      '{ serviceAccounts(first: 50) { edges { node { id name } } } }',
      {},
      as(adminB),
    );
    expect(listB.data!.serviceAccounts.edges.map((e) => e.node.id)).not.toContain(account.id);
    expect(codeOf(await issueKey(account.id, 'viewer', adminB))).toBe('NOT_FOUND');
    const deleted = await api.gql(
      'mutation($id: ID!) { deleteServiceAccount(id: $id) }',
      { id: account.id },
      as(adminB),
    );
    expect(codeOf(deleted)).toBe('NOT_FOUND');
    const still = await api.db
      .selectFrom('service_accounts')
      .select('name')
      .where('service_account_id', '=', account.id)
      .execute();
    expect(still).toEqual([{ name: 'private-bot' }]);
  });

  it('deleting one revokes its keys (events) and they fail at once; the name is free again', async () => {
    const account = (await createAccount('short-lived', 'viewer')).data!.createServiceAccount;
    const keys = [
      (await issueKey(account.id, 'viewer')).data!.createApiKey,
      (await issueKey(account.id, 'viewer')).data!.createApiKey,
    ];
    const before = await api.gql('{ me { kind } }', {}, as(keys[0]!.secret));
    expect(before.data).toEqual({ me: { kind: 'SERVICE_ACCOUNT' } });

    const deleted = await api.gql<{ deleteServiceAccount: number }>(
      'mutation($id: ID!) { deleteServiceAccount(id: $id) }',
      { id: account.id },
      as(adminA),
    );
    expect(deleted.data).toEqual({ deleteServiceAccount: 2 });
    for (const k of keys) {
      const res = await fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...as(k.secret) },
        body: JSON.stringify({ query: '{ experiments { totalCount } }' }),
      });
      expect(res.status).toBe(401);
    }
    const events = await api.db
      .selectFrom('events')
      .select(['type', 'stream_id', 'actor'])
      .where('workspace_id', '=', wsA)
      .where('type', 'in', ['ServiceAccountDeleted', 'ApiKeyRevoked'])
      .execute();
    expect(events.filter((e) => e.type === 'ServiceAccountDeleted')).toEqual([
      {
        type: 'ServiceAccountDeleted',
        stream_id: `service-account-${account.id}`,
        actor: expect.stringMatching(/^key:/) as unknown,
      },
    ]);
    expect(
      events
        .filter((e) => e.type === 'ApiKeyRevoked')
        .map((e) => e.stream_id)
        .sort(),
    ).toEqual(keys.map((k) => `api-key-${k.apiKey.id}`).sort());
    expect(codeOf(await issueKey(account.id, 'viewer'))).toBe('NOT_FOUND');
    expect(
      codeOf(
        await api.gql(
          'mutation($id: ID!) { deleteServiceAccount(id: $id) }',
          { id: account.id },
          as(adminA),
        ),
      ),
    ).toBe('NOT_FOUND');
    expect((await createAccount('short-lived', 'viewer')).errors).toBeUndefined();
  });

  it('rebuild from the log identical to the live read model', async () => {
    const before = await dumpReadModels(api.db);
    await rebuildProjection(
      api.db,
      allProjections.find((p) => p.name === 'auth')!,
    );
    const after = await dumpReadModels(api.db);
    expect(diffDumps(before, after, ['live', 'rebuilt'])).toEqual([]);
    expect(before.service_accounts!.length).toBeGreaterThanOrEqual(4);
    expect(before.api_keys!.filter((k) => k.includes('"service_account_id":"')).length).toBe(3);
  });
});
