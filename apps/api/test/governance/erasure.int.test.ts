/**
 * Erasure by crypto-shredding (issue 17 acceptance): "after erasing a user, no read model, event
 * body or export contains their name or email, and a rebuild still succeeds". A user with a
 * distinctive name and email is invited, created, fails and succeeds a login and makes a change;
 * then `eraseUser`. Every table of the database (enumerated from information_schema, the event
 * log included, body and metadata), the audit log and both export formats are searched for the
 * name and the email; the user can no longer log in; its change stays attributed to user:<id>;
 * a rebuild of every projection comes back equal to the live read models.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { allProjections, rebuildProjection } from '@cairn/projector';
import { createTestDatabase, diffDumps, dumpReadModels, randomWorkspaceId } from '@cairn/testing';
import { createApiKey } from '../../src/auth/access.commands.ts';
import { createUser, DEFAULT_ORGANIZATION_ID, inviteMember } from '../../src/auth/user.commands.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
const W = randomWorkspaceId();
const W2 = randomWorkspaceId();
const tag = randomBytes(5).toString('hex');
const NAME = `Zebulon Quixote ${tag}`;
const EMAIL = `zebulon.${tag}@erasure.example`;
const PASSWORD = 'zebulon-long-password';
let owner: string;
/** Owner keys of every workspace the user's events are in: W, W2 and the organisation's. */
const owners = new Map<string, string>();
let userId: string;
let experimentId: string;
let cookie: string;

const metadata = { actor: 'test', correlationId: 'c', causationId: null };

async function gql<T>(query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${api.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${owner}`,
      'x-cairn-workspace': W,
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: T; errors?: { extensions?: { code?: string } }[] };
}

function login(password: string) {
  return fetch(`${api.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password }),
  });
}

/** Every table of the database whose rows, as text, contain the name or the email. */
async function tablesNamingTheUser(): Promise<string[]> {
  const { rows: tables } = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`.execute(
    api.db,
  );
  expect(tables.length).toBeGreaterThan(40);
  const found: string[] = [];
  for (const { table_name } of tables) {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${sql.table(table_name)} t
      WHERE position(${EMAIL} in lower(t::text)) > 0
         OR position(${NAME.toLowerCase()} in lower(t::text)) > 0`.execute(api.db);
    if ((rows[0]?.n ?? 0) > 0) found.push(table_name);
  }
  return found;
}

/** The export of every workspace the user's events are in. */
async function exported(format: 'jsonl' | 'csv'): Promise<string> {
  let text = '';
  for (const [workspace, key] of owners) {
    const res = await fetch(`${api.url}/api/audit/export?format=${format}`, {
      headers: { authorization: `Bearer ${key}`, 'x-cairn-workspace': workspace },
    });
    expect(res.status).toBe(200);
    text += await res.text();
  }
  return text;
}

/** The audit log of every workspace the user's events are in. */
async function auditText(): Promise<string> {
  let text = '';
  for (const [workspace, key] of owners) {
    const res = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${key}`,
        'x-cairn-workspace': workspace,
      },
      body: JSON.stringify({
        query: '{ auditLog(first: 500) { nodes { actor type summary data before after } } }',
      }),
    });
    const d = (await res.json()) as { data?: unknown; errors?: unknown };
    expect(d.errors).toBeUndefined();
    text += JSON.stringify(d.data);
  }
  return text;
}

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url, auth: { mode: 'required' } });
  for (const workspace of [W, W2, DEFAULT_ORGANIZATION_ID])
    owners.set(
      workspace,
      (
        await createApiKey(
          api.deps,
          { workspaceId: workspace, metadata },
          { name: 'o', role: 'owner' },
          null,
        )
      ).secret,
    );
  owner = owners.get(W)!;
  // Invited to W2 before the user exists: the invitation waits and becomes a membership.
  await inviteMember(api.deps, { workspaceId: W2, metadata }, { email: EMAIL, role: 'viewer' });
  userId = (
    await createUser(
      api.deps,
      { workspaceId: W, metadata },
      {
        email: EMAIL.toUpperCase(),
        displayName: NAME,
        password: PASSWORD,
        membership: { workspaceId: W, role: 'member' },
      },
    )
  ).userId;
  expect((await login('not-the-password')).status).toBe(401);
  const ok = await login(PASSWORD);
  expect(ok.status).toBe(200);
  cookie = ok.headers.get('set-cookie')!.split(';')[0]!;
  const session = (await (
    await fetch(`${api.url}/auth/session`, { headers: { cookie } })
  ).json()) as { csrfToken: string; user: { email: string; displayName: string } };
  expect(session.user).toMatchObject({ email: EMAIL, displayName: NAME });
  const created = await fetch(`${api.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      cookie,
      'x-cairn-csrf': session.csrfToken,
      'x-cairn-workspace': W,
    },
    body: JSON.stringify({ query: 'mutation { createExperiment(name: "zq-exp") { id } }' }),
  });
  const body = (await created.json()) as { data?: { createExperiment: { id: string } } };
  experimentId = body.data!.createExperiment.id;
}, 60_000);

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

describe('erasure', () => {
  it('before: the log holds the email and name sealed only; readers see them opened', async () => {
    // Sealed at the append: no event row names the user even now; the users read model and the
    // audit log (which open the sealed fields) do.
    const naming = await tablesNamingTheUser();
    expect(naming).toContain('users');
    expect(naming).not.toContain('events');
    expect(await auditText()).toContain(EMAIL);
    expect(await exported('csv')).toContain(NAME);
    const members = await api.db
      .selectFrom('workspace_members')
      .select('workspace_id')
      .where('user_id', '=', userId)
      .execute();
    expect(members.map((m) => m.workspace_id).sort()).toEqual([W, W2].sort());
  });

  it('eraseUser: nothing names the user any more; no login; past changes stay attributed', async () => {
    const denied = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${
          (
            await createApiKey(
              api.deps,
              { workspaceId: W, metadata },
              { name: 'v', role: 'viewer' },
              null,
            )
          ).secret
        }`,
        'x-cairn-workspace': W,
      },
      body: JSON.stringify({ query: `mutation { eraseUser(userId: "${userId}") }` }),
    });
    expect(JSON.stringify(await denied.json())).toContain('PERMISSION_DENIED');

    const erased = await gql<{ eraseUser: boolean }>(
      'mutation($u: ID!) { eraseUser(userId: $u) }',
      {
        u: userId,
      },
    );
    expect(erased.errors).toBeUndefined();
    expect(erased.data?.eraseUser).toBe(true);

    expect(await tablesNamingTheUser()).toEqual([]);
    const audit = await auditText();
    expect(audit).not.toContain(EMAIL);
    expect(audit).not.toContain(NAME);
    expect(audit).toContain(`"actor":"user:${userId}"`);
    expect(audit).toContain('SubjectErased');
    for (const format of ['jsonl', 'csv'] as const) {
      const text = (await exported(format)).toLowerCase();
      expect(text).not.toContain(EMAIL);
      expect(text).not.toContain(NAME.toLowerCase());
      expect(text).toContain('[erased:');
    }

    // The erased user cannot log in; its session is gone.
    expect((await login(PASSWORD)).status).toBe(401);
    expect((await fetch(`${api.url}/auth/session`, { headers: { cookie } })).status).toBe(401);
    const user = await api.db
      .selectFrom('users')
      .selectAll()
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    expect(user.email).toMatch(/^\[erased:[0-9a-f-]+\]$/);
    expect(user.display_name).toBe(user.email);
    expect(user.password_hash).toBeNull();
    // Its change is still there, by user:<id>.
    const exp = await api.db
      .selectFrom('events')
      .select('actor')
      .where('stream_id', '=', `experiment-${experimentId}`)
      .executeTakeFirstOrThrow();
    expect(exp.actor).toBe(`user:${userId}`);

    // Again: not a member any more.
    const again = await gql('mutation($u: ID!) { eraseUser(userId: $u) }', { u: userId });
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('a rebuild of every projection succeeds and equals the live read models', async () => {
    const live = await dumpReadModels(api.db);
    for (const projection of allProjections) await rebuildProjection(api.db, projection);
    const rebuilt = await dumpReadModels(api.db);
    expect(diffDumps(live, rebuilt, ['live', 'rebuilt'])).toEqual([]);
    expect(rebuilt.users!.some((row) => row.includes('[erased:'))).toBe(true);
    expect(rebuilt.dead_letters).toEqual([]);
    expect(await tablesNamingTheUser()).toEqual([]);
  });
});
