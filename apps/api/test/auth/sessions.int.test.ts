/**
 * Dashboard sessions (issue 20, docs/auth.md "Users and sessions"): password login sets an
 * HttpOnly SameSite=Lax cookie and hands out a CSRF token; GraphQL works with the cookie and the
 * header, refuses a cookie-authenticated mutation without the header; logout, idle expiry and a
 * password change end sessions; wrong passwords get one generic error and back off; logins are
 * events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { createUser, type Caller } from '../../src/index.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';
import { revealPersonalData } from '@cairn/db';

let api: ApiHarness;
let secureApi: ApiHarness;
let dropDb: () => Promise<void>;

const admin: Caller = {
  workspaceId: 'default',
  metadata: { actor: 'test:admin', correlationId: 'c-test', causationId: null },
};

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({
    databaseUrl: database.url,
    sessions: { backoff: { freeFailures: 3, baseDelayMs: 60_000 } },
  });
  secureApi = await startApiHarness({
    databaseUrl: database.url,
    sessions: { publicUrl: 'https://cairn.example.com' },
  });
});

afterAll(async () => {
  await api?.stop();
  await secureApi?.stop();
  await dropDb?.();
});

function uniqueEmail(): string {
  return `u${Math.random().toString(36).slice(2, 10)}@example.com`;
}

async function newUser(workspaceId: string, role = 'member') {
  const email = uniqueEmail();
  const password = `pw-${Math.random().toString(36).slice(2)}-long`;
  const { userId } = await createUser(api.deps, admin, {
    email,
    password,
    membership: { workspaceId, role },
  });
  return { email, password, userId };
}

interface Login {
  status: number;
  body: { csrfToken?: string; userId?: string; error?: { code: string; message: string } };
  setCookie: string | null;
  cookie: string;
  headers: Headers;
}

async function login(base: string, email: string, password: string): Promise<Login> {
  const response = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const setCookie = response.headers.get('set-cookie');
  return {
    status: response.status,
    body: (await response.json()) as Login['body'],
    setCookie,
    cookie: setCookie?.split(';')[0] ?? '',
    headers: response.headers,
  };
}

async function gql(
  body: { query: string; variables?: Record<string, unknown> },
  headers: Record<string, string>,
): Promise<{
  status: number;
  json: { data?: unknown; errors?: { extensions?: { code?: string } }[] };
}> {
  const response = await fetch(`${api.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as never };
}

async function eventsOf(type: string, match: string) {
  const rows = await api.db
    .selectFrom('events')
    .select(['type', 'data', 'actor'])
    .where('type', '=', type)
    .execute();
  // Emails and names are stored sealed (docs/governance.md, "Erasure"): match on the opened data.
  return (await revealPersonalData(api.db, rows)).filter((r) =>
    JSON.stringify(r.data).includes(match),
  );
}

describe('password login', () => {
  it('sets an HttpOnly, SameSite=Lax session cookie (Secure behind an https public URL)', async () => {
    const ws = randomWorkspaceId();
    const user = await newUser(ws);
    const plain = await login(api.url, user.email, user.password);
    expect(plain.status).toBe(200);
    expect(plain.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(plain.body.userId).toBe(user.userId);
    const flags = plain.setCookie!.split(';').map((p) => p.trim());
    expect(flags[0]).toMatch(/^cairn_session=[A-Za-z0-9_-]{43}$/);
    expect(flags).toContain('HttpOnly');
    expect(flags).toContain('SameSite=Lax');
    expect(flags).toContain('Path=/');
    expect(flags).not.toContain('Secure');
    expect(plain.headers.get('cache-control')).toBe('no-store');

    const secure = await login(secureApi.url, user.email, user.password);
    expect(secure.status).toBe(200);
    expect(secure.setCookie!.split(';').map((p) => p.trim())).toContain('Secure');

    // Only the hash of the token is stored.
    const token = plain.cookie.slice('cairn_session='.length);
    const stored = await api.db.selectFrom('sessions').selectAll().execute();
    expect(stored.some((s) => s.id_hash.includes(token) || token.includes(s.id_hash))).toBe(false);
    expect(stored.filter((s) => s.user_id === user.userId)).toHaveLength(2);

    const succeeded = await eventsOf('LoginSucceeded', user.userId);
    expect(succeeded).toHaveLength(2);
    expect(succeeded[0]!.actor).toBe(`user:${user.userId}`);
    expect(JSON.stringify(succeeded)).not.toContain(user.password);
    const created = await eventsOf('UserCreated', user.userId);
    expect(JSON.stringify(created)).not.toContain(user.password);
    expect((created[0]!.data as { passwordHash: string }).passwordHash).toMatch(
      /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/,
    );
  });

  it('answers a wrong password and an unknown email with the same generic error', async () => {
    const user = await newUser(randomWorkspaceId());
    const wrong = await login(api.url, user.email, 'not-the-password');
    const unknown = await login(api.url, uniqueEmail(), 'whatever-password');
    for (const r of [wrong, unknown]) {
      expect(r.status).toBe(401);
      expect(r.setCookie).toBeNull();
      expect(r.body.error).toEqual({
        code: 'UNAUTHENTICATED',
        message: 'Invalid email or password',
      });
    }
    const failed = await eventsOf('LoginFailed', user.email);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.data).toMatchObject({ email: user.email, reason: 'bad-password' });
    expect(JSON.stringify(failed)).not.toContain('not-the-password');
    // As stored, the email is sealed with the subject's key.
    const raw = await api.db
      .selectFrom('events')
      .select('data')
      .where('type', '=', 'LoginFailed')
      .execute();
    expect(JSON.stringify(raw)).not.toContain(user.email);
    expect(JSON.stringify(raw)).toContain('"$pii"');
  });

  it('backs off per email after repeated failures (429 with Retry-After), even for the right password', async () => {
    const user = await newUser(randomWorkspaceId());
    for (let i = 0; i < 3; i++)
      expect((await login(api.url, user.email, `wrong-password-${i}`)).status).toBe(401);
    const blocked = await login(api.url, user.email, user.password);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.setCookie).toBeNull();
    // At most one LoginFailed event per email and address per 10 s: a flood stays small.
    expect((await eventsOf('LoginFailed', user.email)).length).toBe(1);
  });

  it('refuses a login that is not JSON (a cross-site form cannot log anyone in)', async () => {
    const user = await newUser(randomWorkspaceId());
    const response = await fetch(`${api.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: user.email, password: user.password }).toString(),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('set-cookie')).toBeNull();
  });
});

describe('the session cookie on /graphql', () => {
  it('runs a mutation with the CSRF header and refuses it without', async () => {
    const ws = randomWorkspaceId();
    const user = await newUser(ws);
    const session = await login(api.url, user.email, user.password);
    const headers = { cookie: session.cookie, 'x-cairn-workspace': ws };
    const mutation = {
      query: 'mutation($name: String!) { createExperiment(name: $name) { id name } }',
      variables: { name: 'no-csrf' },
    };

    const refused = await gql(mutation, headers);
    expect(refused.status).toBe(403);
    expect(refused.json.errors?.[0]?.extensions?.code).toBe('PERMISSION_DENIED');
    const wrongToken = await gql(mutation, { ...headers, 'x-cairn-csrf': 'x'.repeat(43) });
    expect(wrongToken.status).toBe(403);

    const accepted = await gql(
      { ...mutation, variables: { name: 'with-csrf' } },
      { ...headers, 'x-cairn-csrf': session.body.csrfToken! },
    );
    expect(accepted.status).toBe(200);
    expect(accepted.json.errors).toBeUndefined();

    const list = await api.gql<{ experiments: { nodes: { name: string }[] } }>(
      '{ experiments(first: 10) { nodes { name } } }',
      {},
      { 'x-cairn-workspace': ws },
    );
    expect(list.data?.experiments.nodes.map((n) => n.name)).toEqual(['with-csrf']);

    // Every POST needs the header, queries too; a GET (queries only) needs none.
    const postRead = await gql({ query: '{ experiments(first: 1) { nodes { name } } }' }, headers);
    expect(postRead.status).toBe(403);
    const getRead = await fetch(
      `${api.url}/graphql?query=${encodeURIComponent('{ experiments(first: 1) { nodes { name } } }')}`,
      { headers: { ...headers, accept: 'application/json' } },
    );
    expect(getRead.status).toBe(200);
    expect(await getRead.json()).toEqual({
      data: { experiments: { nodes: [{ name: 'with-csrf' }] } },
    });
  });

  it('GET /auth/session names the user, its workspaces and the CSRF token', async () => {
    const ws = randomWorkspaceId();
    const user = await newUser(ws, 'viewer');
    const session = await login(api.url, user.email, user.password);
    const response = await fetch(`${api.url}/auth/session`, {
      headers: { cookie: session.cookie },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      user: { id: user.userId, email: user.email },
      workspaces: [{ workspaceId: ws, role: 'viewer' }],
      csrfToken: session.body.csrfToken,
    });
    const none = await fetch(`${api.url}/auth/session`);
    expect(none.status).toBe(401);
  });

  it('logout ends the session: the cookie then gets 401 everywhere', async () => {
    const ws = randomWorkspaceId();
    const user = await newUser(ws);
    const session = await login(api.url, user.email, user.password);
    const csrf = session.body.csrfToken!;
    const noCsrf = await fetch(`${api.url}/auth/logout`, {
      method: 'POST',
      headers: { cookie: session.cookie },
    });
    expect(noCsrf.status).toBe(403);
    const out = await fetch(`${api.url}/auth/logout`, {
      method: 'POST',
      headers: { cookie: session.cookie, 'x-cairn-csrf': csrf },
    });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^cairn_session=; .*Max-Age=0/);
    const after = await gql(
      { query: '{ experiments(first: 1) { nodes { name } } }' },
      { cookie: session.cookie, 'x-cairn-workspace': ws, 'x-cairn-csrf': csrf },
    );
    expect(after.status).toBe(401);
    expect(after.json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(
      (await fetch(`${api.url}/auth/session`, { headers: { cookie: session.cookie } })).status,
    ).toBe(401);
  });

  it('an idle session expires; a password change ends the other sessions', async () => {
    const user = await newUser(randomWorkspaceId());
    const a = await login(api.url, user.email, user.password);
    const b = await login(api.url, user.email, user.password);
    const c = await login(api.url, user.email, user.password);
    const sessionOf = (l: Login) =>
      fetch(`${api.url}/auth/session`, { headers: { cookie: l.cookie } }).then((r) => r.status);
    expect(await sessionOf(c)).toBe(200);
    // 13 hours without use (the idle limit is 12 h).
    await api.db
      .updateTable('sessions')
      .set({ last_seen_at: new Date(Date.now() - 13 * 3600 * 1000) })
      .where('user_id', '=', user.userId)
      .execute();
    expect(await sessionOf(c)).toBe(401);

    const d = await login(api.url, user.email, user.password);
    const changed = await fetch(`${api.url}/auth/password`, {
      method: 'POST',
      headers: {
        cookie: d.cookie,
        'x-cairn-csrf': d.body.csrfToken!,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ currentPassword: user.password, newPassword: 'a-new-long-password' }),
    });
    expect(changed.status).toBe(200);
    expect(await sessionOf(a)).toBe(401);
    expect(await sessionOf(b)).toBe(401);
    expect(await sessionOf(d)).toBe(200);
    expect((await login(api.url, user.email, user.password)).status).toBe(401);
    expect((await login(api.url, user.email, 'a-new-long-password')).status).toBe(200);
  });
});
