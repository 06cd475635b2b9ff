/**
 * API keys enforced (issue 20 acceptance): `--auth required` refuses calls without a credential
 * (but answers `me`), a viewer key cannot mutate anything (every Mutation field of the served
 * schema is tried), a key only acts in its own workspace, a revoked key stops working on every
 * API instance within 5 s (also its open subscriptions), and an expired key is refused. Two real
 * API instances on one real Postgres.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allProjections, rebuildProjection } from '@cairn/projector';
import { createTestDatabase, diffDumps, dumpReadModels, randomWorkspaceId } from '@cairn/testing';
import { getSchema } from '../../src/index.ts';
import { createApiKey } from '../../src/auth/access.commands.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';
import { eventually } from '../helpers/webhook-receiver.ts';
import { operationFor } from '../helpers/operations.ts';

let one: ApiHarness;
let two: ApiHarness;
let dropDb: () => Promise<void>;
const ws = randomWorkspaceId();
let owner: string;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  one = await startApiHarness({ databaseUrl: database.url, auth: { mode: 'required' } });
  two = await startApiHarness({ databaseUrl: database.url, auth: { mode: 'required' } });
  // Bootstrap, as `cairn keys create` does: no creator role to check.
  owner = (
    await createApiKey(
      one.deps,
      { workspaceId: ws, metadata: { actor: 'test', correlationId: 'c', causationId: null } },
      { name: 'owner', role: 'owner' },
      null,
    )
  ).secret;
});

afterAll(async () => {
  await one?.stop();
  await two?.stop();
  await dropDb?.();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function newKey(role: string, extra = ''): Promise<{ id: string; secret: string }> {
  const res = await one.gql<{ createApiKey: { apiKey: { id: string }; secret: string } }>(
    `mutation { createApiKey(input: { name: "${role} key", role: "${role}"${extra} }) { apiKey { id } secret } }`,
    {},
    bearer(owner),
  );
  expect(res.errors).toBeUndefined();
  return { id: res.data!.createApiKey.apiKey.id, secret: res.data!.createApiKey.secret };
}

describe('auth required', () => {
  it('without a credential: me answers, everything else is UNAUTHENTICATED (GraphQL, MLflow, OTLP)', async () => {
    const me = await one.gql<{ me: { authMode: string; authenticated: boolean } }>(
      '{ me { authMode authenticated } }',
      {},
      {},
    );
    expect(me.data?.me).toEqual({ authMode: 'REQUIRED', authenticated: false });
    const list = await one.gql('{ experiments { totalCount } }', {}, {});
    expect(list.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const mlflow = await fetch(`${one.url}/api/2.0/mlflow/experiments/search?max_results=1`);
    expect(mlflow.status).toBe(401);
    const otlp = await fetch(`${one.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(otlp.status).toBe(401);
    const bad = await fetch(`${one.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(`${owner.slice(0, -4)}AAAA`) },
      body: JSON.stringify({ query: '{ me { kind } }' }),
    });
    expect(bad.status).toBe(401);
  });

  it('the key carries its workspace; a header may not widen it; the secret never appears again', async () => {
    const me = await one.gql<{ me: { kind: string; workspaceId: string; role: string } }>(
      '{ me { kind workspaceId role } }',
      {},
      bearer(owner),
    );
    expect(me.data?.me).toEqual({ kind: 'API_KEY', workspaceId: ws, role: 'owner' });
    const other = await one.gql(
      '{ experiments { totalCount } }',
      {},
      {
        ...bearer(owner),
        'x-cairn-workspace': randomWorkspaceId(),
      },
    );
    expect(other.errors?.[0]?.extensions?.code).toBe('PERMISSION_DENIED');
    const viewer = await newKey('viewer');
    const keys = await one.gql<{ apiKeys: { nodes: { id: string; role: string }[] } }>(
      '{ apiKeys(first: 50) { nodes { id role name createdBy } } }',
      {},
      bearer(owner),
    );
    expect(keys.data?.apiKeys.nodes.map((k) => k.id)).toContain(viewer.id);
    expect(JSON.stringify(keys)).not.toContain(viewer.secret.slice(-32));
    const stored = await one.db.selectFrom('events').select('data').execute();
    expect(JSON.stringify(stored)).not.toContain(viewer.secret.slice(-32));
    // A member may not mint an admin key; a viewer may not mint any.
    const member = await newKey('member');
    const escalate = await one.gql(
      'mutation { createApiKey(input: { name: "up", role: "admin" }) { secret } }',
      {},
      bearer(member.secret),
    );
    expect(escalate.errors?.[0]?.extensions?.code).toBe('PERMISSION_DENIED');
  });

  it('a viewer key cannot mutate anything: every Mutation field is refused with PERMISSION_DENIED', async () => {
    const viewer = await newKey('viewer');
    const mutation = getSchema().getMutationType()!;
    const refusedCodes = new Map<string, string | undefined>();
    for (const field of Object.values(mutation.getFields())) {
      const res = await one.gql(operationFor('mutation', field), {}, bearer(viewer.secret));
      refusedCodes.set(field.name, res.errors?.[0]?.extensions?.code);
    }
    const notRefused = [...refusedCodes].filter(([, code]) => code !== 'PERMISSION_DENIED');
    expect(notRefused).toEqual([]);
    expect(refusedCodes.size).toBeGreaterThan(50);
    // It still reads.
    const read = await one.gql('{ experiments { totalCount } }', {}, bearer(viewer.secret));
    expect(read.errors).toBeUndefined();
    // Denied writes are in the event log (rate-limited per principal and operation).
    const denied = await one.db
      .selectFrom('events')
      .select('data')
      .where('workspace_id', '=', ws)
      .where('type', '=', 'AccessDenied')
      .execute();
    expect(denied.length).toBeGreaterThanOrEqual(refusedCodes.size);
    // MLflow REST writes are refused too, reads answer.
    const create = await fetch(`${one.url}/api/2.0/mlflow/experiments/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(viewer.secret) },
      body: JSON.stringify({ name: 'nope' }),
    });
    expect(create.status).toBe(403);
    const search = await fetch(`${one.url}/api/2.0/mlflow/experiments/search?max_results=1`, {
      headers: bearer(viewer.secret),
    });
    expect(search.status).toBe(200);
  });

  it('a revoked key stops working on both instances within 5 s, open subscriptions included', async () => {
    const key = await newKey('member');
    const ok = await two.gql('{ experiments { totalCount } }', {}, bearer(key.secret));
    expect(ok.errors).toBeUndefined();
    const client = createClient({
      url: `${two.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${key.secret}` },
      retryAttempts: 0,
    });
    const errors: unknown[] = [];
    let completed = false;
    client.subscribe(
      { query: 'subscription { experimentsChanged { ids } }' },
      {
        next: (m) => {
          if (m.errors) errors.push(...m.errors);
        },
        error: (e) => errors.push(e),
        complete: () => (completed = true),
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const revoked = await one.gql<{ revokeApiKey: { revokedAt: number | null } }>(
      `mutation { revokeApiKey(id: "${key.id}") { revokedAt } }`,
      {},
      bearer(owner),
    );
    expect(revoked.data?.revokeApiKey.revokedAt).toBeGreaterThan(0);
    for (const api of [one, two])
      await eventually(
        async () =>
          (
            await fetch(`${api.url}/graphql`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...bearer(key.secret) },
              body: JSON.stringify({ query: '{ experiments { totalCount } }' }),
            })
          ).status,
        (status) => status === 401,
        5000,
      );
    await eventually(
      () => completed || errors.length > 0,
      (done) => done,
      5000,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(JSON.stringify(errors)).toContain('UNAUTHENTICATED');
    await client.dispose();
  });

  it('an expired key is refused; bad expiries are INVALID_ARGUMENT', async () => {
    const soon = Date.now() + 1500;
    const key = await newKey('viewer', `, expiresAt: ${soon}`);
    const before = await one.gql('{ experiments { totalCount } }', {}, bearer(key.secret));
    expect(before.errors).toBeUndefined();
    await new Promise((r) => setTimeout(r, Math.max(0, soon - Date.now()) + 100));
    const after = await fetch(`${one.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(key.secret) },
      body: JSON.stringify({ query: '{ experiments { totalCount } }' }),
    });
    expect(after.status).toBe(401);
    const past = await one.gql(
      `mutation { createApiKey(input: { name: "old", role: "viewer", expiresAt: ${Date.now() - 1000} }) { secret } }`,
      {},
      bearer(owner),
    );
    expect(past.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
  });

  it('keys, revocations and workspaces rebuild from the log identical to the live read model', async () => {
    const created = await one.gql(
      'mutation { createWorkspace(input: { name: "' + ws + '-second" }) { id } }',
      {},
      bearer(owner),
    );
    expect(created.errors).toBeUndefined();
    const taken = await one.gql(
      `mutation { createWorkspace(input: { name: "${ws}" }) { id } }`,
      {},
      bearer(owner),
    );
    expect(taken.errors?.[0]?.extensions?.code).toBe('ALREADY_EXISTS');
    const before = await dumpReadModels(one.db);
    await rebuildProjection(
      one.db,
      allProjections.find((p) => p.name === 'auth')!,
    );
    const after = await dumpReadModels(one.db);
    expect(diffDumps(before, after, ['live', 'rebuilt'])).toEqual([]);
    expect(before.api_keys!.length).toBeGreaterThan(5);
  });
});
