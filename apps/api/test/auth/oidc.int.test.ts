/**
 * OIDC login (issue 20, docs/auth.md "OIDC login") against a real OpenID Provider started here
 * (npm oidc-provider on a free port): the browser's way through it is walked over HTTP (redirects
 * followed by hand, a cookie jar, the provider's login and consent forms submitted). A first
 * login creates the user (or links one by verified email), the session cookie then works on
 * /graphql; a tampered state, a wrong nonce and a foreign audience are refused; a user with no
 * invitation gets "No access" until invited; the events are in the log.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet } from 'jose';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { createUser, inviteMember, type Caller } from '../../src/index.ts';
import { verifyIdToken } from '../../src/auth/oidc.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';
import {
  CookieJar,
  hop,
  startTestProvider,
  walk,
  type TestProvider,
} from './helpers/oidc-provider.ts';
import { revealPersonalData } from '@cairn/db';

let provider: TestProvider;
let api: ApiHarness;
let autoJoin: ApiHarness;
let dropDb: () => Promise<void>;
const autoWorkspace = randomWorkspaceId();
const FOREIGN_REDIRECT = 'http://127.0.0.1:9/other-app/callback';

const admin = (workspaceId: string): Caller => ({
  workspaceId,
  metadata: { actor: 'test:admin', correlationId: 'c-test', causationId: null },
});

beforeAll(async () => {
  provider = await startTestProvider();
  const database = await createTestDatabase();
  dropDb = database.drop;
  const oidc = { issuer: provider.issuer, clientId: 'cairn', clientSecret: 'cairn-secret-1' };
  api = await startApiHarness({ databaseUrl: database.url, sessions: { oidc } });
  autoJoin = await startApiHarness({
    databaseUrl: database.url,
    sessions: {
      oidc: { ...oidc, workspace: autoWorkspace, defaultRole: 'viewer', providerName: 'Test IdP' },
    },
  });
  await provider.start([
    {
      clientId: 'cairn',
      clientSecret: 'cairn-secret-1',
      redirectUris: [`${api.url}/auth/oidc/callback`, `${autoJoin.url}/auth/oidc/callback`],
    },
    { clientId: 'other-app', clientSecret: 'other-secret', redirectUris: [FOREIGN_REDIRECT] },
  ]);
});

afterAll(async () => {
  await api?.stop();
  await autoJoin?.stop();
  await provider?.close();
  await dropDb?.();
});

const login = () => `u${Math.random().toString(36).slice(2, 10)}`;

/** Walks a whole login from Cairn's button to Cairn's last answer. */
async function signIn(server: ApiHarness, account: string, jar = new CookieJar()) {
  const hops = await walk(
    jar,
    `${server.url}/auth/oidc/login?next=/runs`,
    account,
    `${server.url}/runs`,
  );
  const last = hops.at(-1)!;
  return { jar, hops, last, session: jar.get(server.url, 'cairn_session') };
}

/** Walks up to the provider's redirect back to Cairn, without following it. */
async function untilCallback(server: ApiHarness, account: string) {
  const jar = new CookieJar();
  const hops = await walk(
    jar,
    `${server.url}/auth/oidc/login`,
    account,
    `${server.url}/auth/oidc/callback`,
  );
  const callback = new URL(hops.at(-1)!.location!);
  expect(callback.pathname).toBe('/auth/oidc/callback');
  return { jar, callback };
}

async function me(server: ApiHarness, session: string, workspaceId: string) {
  const cookie = `cairn_session=${session}`;
  const info = await fetch(`${server.url}/auth/session`, { headers: { cookie } });
  const { csrfToken } = (await info.json()) as { csrfToken: string };
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      cookie,
      'x-cairn-csrf': csrfToken,
      'x-cairn-workspace': workspaceId,
    },
    body: JSON.stringify({ query: '{ me { kind id name role workspaceId } }' }),
  });
  const body = (await response.json()) as { data?: { me: Record<string, string | null> } };
  expect(body.data, JSON.stringify(body)).toBeDefined();
  return body.data!.me;
}

async function eventsOf(type: string, match: string) {
  const rows = await api.db
    .selectFrom('events')
    .select(['type', 'data', 'actor', 'stream_id'])
    .where('type', '=', type)
    .execute();
  // Emails and names are stored sealed (docs/governance.md, "Erasure"): match on the opened data.
  return (await revealPersonalData(api.db, rows)).filter((r) =>
    JSON.stringify(r.data).includes(match),
  );
}

describe('OIDC login', () => {
  it('reports the provider on GET /auth/session, with and without a session', async () => {
    const plain = await api.getJson<{ oidc: unknown }>('/auth/session');
    expect(plain.status).toBe(401);
    expect(plain.body.oidc).toEqual({
      enabled: true,
      loginUrl: '/auth/oidc/login',
      providerName: new URL(provider.issuer).host,
    });
    const named = await autoJoin.getJson<{ oidc: { providerName: string } }>('/auth/session');
    expect(named.body.oidc.providerName).toBe('Test IdP');
  });

  it('redirects to the provider with PKCE (S256), state and nonce, and a short-lived flow cookie', async () => {
    const jar = new CookieJar();
    const first = await hop(jar, `${api.url}/auth/oidc/login?next=//evil.example`);
    expect(first.status).toBe(302);
    const target = new URL(first.location!);
    expect(target.origin).toBe(provider.issuer);
    expect(target.searchParams.get('client_id')).toBe('cairn');
    expect(target.searchParams.get('code_challenge_method')).toBe('S256');
    expect(target.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(target.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(target.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(target.searchParams.get('redirect_uri')).toBe(`${api.url}/auth/oidc/callback`);
    const flow = JSON.parse(
      Buffer.from(jar.get(api.url, 'cairn_oidc')!, 'base64url').toString('utf8'),
    ) as { next: string; verifier: string };
    // A next that is not a path of the dashboard becomes "/".
    expect(flow.next).toBe('/');
    expect(createHash('sha256').update(flow.verifier).digest('base64url')).toBe(
      target.searchParams.get('code_challenge'),
    );
  });

  it('creates an invited user, starts a session that works on /graphql, and logs the events', async () => {
    const ws = randomWorkspaceId();
    const account = login();
    await inviteMember(api.deps, admin(ws), { email: `${account}@example.com`, role: 'member' });
    const { last, session } = await signIn(api, account);
    expect(last.status).toBe(303);
    expect(last.location).toBe(`${api.url}/runs`);
    expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const who = await me(api, session!, ws);
    expect(who).toMatchObject({
      kind: 'USER',
      name: `${account}@example.com`,
      role: 'member',
      workspaceId: ws,
    });
    const created = await eventsOf('UserCreated', `${account}@example.com`);
    expect(created).toHaveLength(1);
    expect(created[0]!.data).toMatchObject({
      email: `${account}@example.com`,
      passwordHash: null,
      oidcSubject: `${provider.issuer} ${account}`,
      displayName: `Test ${account}`,
    });
    const userId = (created[0]!.data as { userId: string }).userId;
    expect(who.id).toBe(userId);
    const logins = await eventsOf('LoginSucceeded', userId);
    expect(logins.map((e) => (e.data as { method: string }).method)).toEqual(['oidc']);

    // A second login finds the same user by (issuer, subject): no new user.
    const again = await signIn(api, account);
    expect(again.session).toBeDefined();
    expect(again.session).not.toBe(session);
    expect(await eventsOf('UserCreated', `${account}@example.com`)).toHaveLength(1);
    expect(await eventsOf('LoginSucceeded', userId)).toHaveLength(2);
  });

  it('says "No access" to a user nobody invited (and creates nobody), until an invitation', async () => {
    const ws = randomWorkspaceId();
    const account = login();
    const refused = await signIn(api, account);
    expect(refused.last.status).toBe(403);
    expect(refused.last.body).toContain('No access');
    expect(refused.last.body).toContain(`Ask an admin to invite ${account}@example.com`);
    expect(refused.session).toBeUndefined();
    expect(await eventsOf('UserCreated', `${account}@example.com`)).toHaveLength(0);
    const failures = await eventsOf('LoginFailed', `${account}@example.com`);
    expect(failures.map((e) => e.data)).toEqual([
      expect.objectContaining({ method: 'oidc', reason: 'oidc-rejected' }),
    ]);

    await inviteMember(api.deps, admin(ws), { email: `${account}@example.com`, role: 'viewer' });
    const invited = await signIn(api, account);
    expect(invited.last.status).toBe(303);
    expect(await me(api, invited.session!, ws)).toMatchObject({ kind: 'USER', role: 'viewer' });
  });

  it('puts a first-time user into --oidc-workspace with --oidc-default-role when configured', async () => {
    const account = login();
    const { session, last } = await signIn(autoJoin, account);
    expect(last.status).toBe(303);
    expect(await me(autoJoin, session!, autoWorkspace)).toMatchObject({
      kind: 'USER',
      name: `${account}@example.com`,
      role: 'viewer',
    });
  });

  it('links an existing user by verified email (UserIdentityLinked), never by an unverified one', async () => {
    const ws = randomWorkspaceId();
    const account = login();
    const { userId } = await createUser(api.deps, admin(ws), {
      email: `${account}@example.com`,
      password: 'a-long-password-1',
      membership: { workspaceId: ws, role: 'admin' },
    });
    provider.accounts.set(account, { emailVerified: false });
    const unverified = await signIn(api, account);
    expect(unverified.last.status).toBe(403);
    expect(unverified.last.body).toContain('not linked');
    expect(await eventsOf('UserIdentityLinked', userId)).toHaveLength(0);

    provider.accounts.set(account, { emailVerified: true });
    const linked = await signIn(api, account);
    expect(linked.last.status).toBe(303);
    expect(await me(api, linked.session!, ws)).toMatchObject({ id: userId, role: 'admin' });
    const events = await eventsOf('UserIdentityLinked', userId);
    expect(events.map((e) => e.data)).toEqual([
      { userId, oidcSubject: `${provider.issuer} ${account}` },
    ]);
  });

  it('refuses a tampered state, and a callback without the flow cookie', async () => {
    const account = login();
    await inviteMember(api.deps, admin(randomWorkspaceId()), {
      email: `${account}@example.com`,
      role: 'member',
    });
    const { jar, callback } = await untilCallback(api, account);
    const tampered = new URL(callback);
    tampered.searchParams.set('state', 'A'.repeat(43));
    const refused = await hop(jar, tampered.toString());
    expect(refused.status).toBe(400);
    expect(refused.body).toContain('state does not match');
    expect(jar.get(api.url, 'cairn_session')).toBeUndefined();

    const noCookie = await hop(new CookieJar(), callback.toString());
    expect(noCookie.status).toBe(400);
    expect(await eventsOf('UserCreated', `${account}@example.com`)).toHaveLength(0);
  });

  it('refuses an ID token whose nonce is not the one this login sent', async () => {
    const account = login();
    await inviteMember(api.deps, admin(randomWorkspaceId()), {
      email: `${account}@example.com`,
      role: 'member',
    });
    const { jar, callback } = await untilCallback(api, account);
    const flow = JSON.parse(
      Buffer.from(jar.get(api.url, 'cairn_oidc')!, 'base64url').toString('utf8'),
    ) as Record<string, string>;
    jar.set(
      api.url,
      'cairn_oidc',
      Buffer.from(JSON.stringify({ ...flow, nonce: 'B'.repeat(43) })).toString('base64url'),
    );
    const refused = await hop(jar, callback.toString());
    expect(refused.status).toBe(401);
    expect(refused.body).toContain('nonce');
    expect(jar.get(api.url, 'cairn_session')).toBeUndefined();
    expect(await eventsOf('UserCreated', `${account}@example.com`)).toHaveLength(0);
  });

  it('refuses a real, well-signed ID token of another client (foreign audience)', async () => {
    // The test is client "other-app": its own authorization request, code and token exchange.
    const jar = new CookieJar();
    const authorize = new URL(`${provider.issuer}/auth`);
    const verifier = 'v'.repeat(50);
    const challenge = Buffer.from(
      await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)),
    ).toString('base64url');
    for (const [k, v] of Object.entries({
      response_type: 'code',
      client_id: 'other-app',
      redirect_uri: FOREIGN_REDIRECT,
      scope: 'openid email',
      state: 's'.repeat(20),
      nonce: 'n'.repeat(20),
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }))
      authorize.searchParams.set(k, v);
    const hops = await walk(jar, authorize.toString(), login(), FOREIGN_REDIRECT);
    const code = new URL(hops.at(-1)!.location!).searchParams.get('code')!;
    const tokens = (await (
      await fetch(`${provider.issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from('other-app:other-secret').toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: FOREIGN_REDIRECT,
          code_verifier: verifier,
        }),
      })
    ).json()) as { id_token: string };
    const jwks = createRemoteJWKSet(new URL(`${provider.issuer}/jwks`));
    const check = (clientId: string) =>
      verifyIdToken(tokens.id_token, {
        issuer: provider.issuer,
        clientId,
        nonce: 'n'.repeat(20),
        jwks,
      });
    await expect(check('other-app')).resolves.toMatchObject({ aud: 'other-app' });
    await expect(check('cairn')).rejects.toThrow(/"aud" claim/);
    await expect(
      verifyIdToken(tokens.id_token, {
        issuer: 'http://127.0.0.1:1',
        clientId: 'other-app',
        nonce: 'n'.repeat(20),
        jwks,
      }),
    ).rejects.toThrow(/"iss" claim/);
    // A flipped signature byte.
    const [h, p, s] = tokens.id_token.split('.') as [string, string, string];
    const bad = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    await expect(
      verifyIdToken(bad, {
        issuer: provider.issuer,
        clientId: 'other-app',
        nonce: 'n'.repeat(20),
        jwks,
      }),
    ).rejects.toThrow(/signature/);
  });
});
