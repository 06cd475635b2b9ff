/**
 * Pure helpers of the dashboard's sign-in and settings pages (lib/auth.ts): the `next` target
 * after signing in (only a path of this dashboard), the login address, UNAUTHENTICATED
 * detection, login failure texts (backoff with Retry-After), scopes, key states, expiry choices
 * and request headers (CSRF token next to the workspace).
 */
import { describe, expect, it } from 'vitest';
import {
  expiryFromChoice,
  formatWait,
  hasScope,
  isLoginPath,
  isUnauthenticated,
  keyState,
  loginFailure,
  loginHref,
  looksLikeEmail,
  parseRetryAfter,
  principalLabel,
  roleOptions,
  safeNext,
  type MeInfo,
} from '../lib/auth.ts';
import { requestHeaders } from '../lib/graphql/client.ts';

const aMe = (overrides: Partial<MeInfo> = {}): MeInfo => ({
  kind: 'USER',
  id: 'u1',
  name: 'Ada',
  workspaceId: 'default',
  authenticated: true,
  role: 'admin',
  scopes: ['tracking:read', 'workspace:admin'],
  authMode: 'REQUIRED',
  ...overrides,
});

describe('safeNext', () => {
  it('keeps a path of this dashboard with its query and hash', () => {
    expect(safeNext('/')).toBe('/');
    expect(safeNext('/settings/keys')).toBe('/settings/keys');
    expect(safeNext('/run?id=abc&ws=team-a#charts')).toBe('/run?id=abc&ws=team-a#charts');
  });

  it.each([
    ['missing', null],
    ['empty', ''],
    ['absolute URL', 'https://evil.example/'],
    ['scheme-relative', '//evil.example/x'],
    ['backslash host', '/\\evil.example'],
    ['backslash later', '/a\\b'],
    ['javascript:', 'javascript:alert(1)'],
    ['relative', 'settings'],
    ['tab that a parser drops', '/\t/evil.example'],
    ['newline', '/\n/evil.example'],
    ['the login page', '/login?next=/x'],
    ['the login page with a slash', '/login/'],
    ['too long', `/${'a'.repeat(3000)}`],
  ])('refuses %s → /', (_label, value) => {
    expect(safeNext(value)).toBe('/');
  });

  it('normalises dot segments instead of leaving the origin', () => {
    expect(safeNext('/a/../settings')).toBe('/settings');
    expect(safeNext('/../../etc')).toBe('/etc');
  });
});

describe('loginHref and isLoginPath', () => {
  it('carries the current page as next, encoded', () => {
    expect(loginHref('/experiment?id=e1&ws=t')).toBe(
      `/login?next=${encodeURIComponent('/experiment?id=e1&ws=t')}`,
    );
    expect(loginHref('/')).toBe('/login');
    expect(loginHref('//evil.example')).toBe('/login');
  });

  it('knows the login page', () => {
    expect(isLoginPath('/login')).toBe(true);
    expect(isLoginPath('/login/')).toBe(true);
    expect(isLoginPath('/logins')).toBe(false);
  });
});

describe('isUnauthenticated', () => {
  it('is true only for an UNAUTHENTICATED GraphQL error', () => {
    expect(
      isUnauthenticated({ graphQLErrors: [{ extensions: { code: 'UNAUTHENTICATED' } }] }),
    ).toBe(true);
    expect(
      isUnauthenticated({ graphQLErrors: [{ extensions: { code: 'PERMISSION_DENIED' } }] }),
    ).toBe(false);
    expect(isUnauthenticated({ graphQLErrors: [] })).toBe(false);
    expect(isUnauthenticated(null)).toBe(false);
  });
});

describe('login failures', () => {
  it('says the server’s message for a wrong password', () => {
    expect(
      loginFailure(
        401,
        { error: { code: 'UNAUTHENTICATED', message: 'Invalid email or password' } },
        null,
      ),
    ).toEqual({ message: 'Invalid email or password', retryAfterSeconds: null });
  });

  it('says how long to wait on 429 with Retry-After', () => {
    expect(loginFailure(429, { error: { message: 'Too many' } }, '90')).toEqual({
      message: 'Too many failed sign-ins. Try again in 2 minutes.',
      retryAfterSeconds: 90,
    });
    expect(loginFailure(429, null, '1')).toEqual({
      message: 'Too many failed sign-ins. Try again in 1 second.',
      retryAfterSeconds: 1,
    });
    expect(loginFailure(429, null, null).retryAfterSeconds).toBeNull();
  });

  it('falls back to the status for other answers', () => {
    expect(loginFailure(500, null, null).message).toBe('Sign-in failed (HTTP 500). Try again.');
    expect(loginFailure(400, { error: { message: 'Send application/json' } }, null).message).toBe(
      'Send application/json',
    );
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-12-07T10:00:00Z');
    expect(parseRetryAfter('12', now)).toBe(12);
    expect(parseRetryAfter('Mon, 07 Dec 2026 10:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(formatWait(59)).toBe('59 seconds');
    expect(formatWait(3601)).toBe('2 hours');
  });
});

describe('me', () => {
  it('checks scopes', () => {
    expect(hasScope(aMe(), 'workspace:admin')).toBe(true);
    expect(hasScope(aMe({ scopes: ['tracking:read'] }), 'workspace:admin')).toBe(false);
    expect(hasScope(null, 'workspace:admin')).toBe(false);
  });

  it('labels the principal', () => {
    expect(principalLabel(aMe())).toBe('Ada');
    expect(principalLabel(aMe({ kind: 'API_KEY', name: 'ci' }))).toBe('Key ci');
    expect(principalLabel(aMe({ kind: 'ANONYMOUS', authMode: 'OFF' }))).toBe(
      'Anonymous (no sign-in)',
    );
    expect(principalLabel(aMe({ kind: 'ANONYMOUS', authenticated: false }))).toBe('Not signed in');
  });
});

describe('keys', () => {
  const now = Date.parse('2026-12-07T10:00:00Z');

  it('has a state: active, expired or revoked (revoked wins)', () => {
    expect(keyState({ revokedAt: null, expiresAt: null }, now)).toBe('active');
    expect(keyState({ revokedAt: null, expiresAt: now + 1 }, now)).toBe('active');
    expect(keyState({ revokedAt: null, expiresAt: now }, now)).toBe('expired');
    expect(keyState({ revokedAt: now - 5, expiresAt: now - 1 }, now)).toBe('revoked');
  });

  it('turns an expiry choice into epoch ms', () => {
    expect(expiryFromChoice('never', '', now)).toEqual({ expiresAt: null });
    expect(expiryFromChoice('30d', '', now)).toEqual({ expiresAt: now + 30 * 86_400_000 });
    expect(expiryFromChoice('365d', '', now)).toEqual({ expiresAt: now + 365 * 86_400_000 });
    const onDate = expiryFromChoice('date', '2027-01-31', now);
    expect(onDate).toEqual({ expiresAt: new Date(2027, 0, 31, 23, 59, 59, 999).getTime() });
  });

  it('refuses a missing, impossible or past date', () => {
    expect(expiryFromChoice('date', '', now)).toEqual({ error: 'Pick the expiry date' });
    expect(expiryFromChoice('date', '2027-02-30', now)).toEqual({ error: 'Pick a valid date' });
    expect(expiryFromChoice('date', '2026-12-01', now)).toEqual({
      error: 'The expiry date must be in the future',
    });
  });

  it('offers built-in roles, then custom ones sorted', () => {
    expect(roleOptions(['reader', 'admin', 'annotator'])).toEqual([
      'owner',
      'admin',
      'member',
      'viewer',
      'annotator',
      'reader',
    ]);
  });

  it('checks emails roughly', () => {
    expect(looksLikeEmail(' ada@example.com ')).toBe(true);
    expect(looksLikeEmail('ada')).toBe(false);
    expect(looksLikeEmail('a b@example.com')).toBe(false);
  });
});

describe('request headers', () => {
  it('send the workspace (not the default) and the session’s CSRF token', () => {
    expect(requestHeaders('default', null)).toEqual({});
    expect(requestHeaders('team-a', null)).toEqual({ 'x-cairn-workspace': 'team-a' });
    expect(requestHeaders('team-a', 'tok')).toEqual({
      'x-cairn-workspace': 'team-a',
      'x-cairn-csrf': 'tok',
    });
    expect(requestHeaders('default', 'tok')).toEqual({ 'x-cairn-csrf': 'tok' });
  });
});
