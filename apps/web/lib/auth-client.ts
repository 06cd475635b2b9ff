/**
 * The dashboard's calls to the API's `/auth/*` routes (docs/auth.md, "Users and sessions"):
 * `GET /auth/session` (who is signed in, and the CSRF token that every cookie-authenticated
 * POST must carry in `x-cairn-csrf`), `POST /auth/login`, `POST /auth/logout`. Same-origin
 * credentials: the session cookie is HttpOnly, so the page never sees it.
 */
import type { ApiEndpoints } from './api-config.ts';
import { CSRF_HEADER, loginFailure, type LoginFailure } from './auth.ts';

export interface SessionInfo {
  user: { id: string; email: string; displayName: string };
  csrfToken: string;
  expiresAt: string | null;
}

/** The `/auth/...` route on the API's origin. */
export function authUrl(endpoints: ApiEndpoints, route: string): string {
  return new URL(route, endpoints.http).toString();
}

/** The current session, or null (none, ended, or a server without sessions). */
export async function fetchSession(endpoints: ApiEndpoints): Promise<SessionInfo | null> {
  try {
    const res = await fetch(authUrl(endpoints, '/auth/session'), {
      credentials: 'same-origin',
      headers: { accept: 'application/json' },
      cache: 'no-store',
    });
    if (!res.ok) {
      // Read the answer to its end: an unread body keeps the request open in the browser (the
      // page never reaches network idle).
      await res.text().catch(() => '');
      return null;
    }
    const body = (await res.json()) as Partial<SessionInfo>;
    if (typeof body.csrfToken !== 'string' || !body.user) return null;
    return {
      user: body.user,
      csrfToken: body.csrfToken,
      expiresAt: typeof body.expiresAt === 'string' ? body.expiresAt : null,
    };
  } catch {
    return null;
  }
}

export interface OidcInfo {
  enabled: boolean;
  loginUrl: string | null;
  providerName: string | null;
}

/**
 * Whether the server offers OIDC login ("Sign in with <provider>"): `oidc` of
 * `GET /auth/session`, which answers it with or without a session.
 */
export async function fetchOidc(endpoints: ApiEndpoints): Promise<OidcInfo | null> {
  try {
    const res = await fetch(authUrl(endpoints, '/auth/session'), {
      credentials: 'same-origin',
      headers: { accept: 'application/json' },
      cache: 'no-store',
    });
    const body = (await res.json().catch(() => null)) as { oidc?: Partial<OidcInfo> } | null;
    const oidc = body?.oidc;
    if (!oidc?.enabled || typeof oidc.loginUrl !== 'string') return null;
    return {
      enabled: true,
      loginUrl: oidc.loginUrl,
      providerName: typeof oidc.providerName === 'string' ? oidc.providerName : null,
    };
  } catch {
    return null;
  }
}

export type LoginResult = { ok: true; csrfToken: string } | ({ ok: false } & LoginFailure);

export async function login(
  endpoints: ApiEndpoints,
  email: string,
  password: string,
): Promise<LoginResult> {
  let res: Response;
  try {
    res = await fetch(authUrl(endpoints, '/auth/login'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ email, password }),
    });
  } catch (error) {
    return {
      ok: false,
      message: `Cannot reach the server: ${error instanceof Error ? error.message : String(error)}`,
      retryAfterSeconds: null,
    };
  }
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (res.ok) {
    const token = (body as { csrfToken?: unknown } | null)?.csrfToken;
    return { ok: true, csrfToken: typeof token === 'string' ? token : '' };
  }
  return { ok: false, ...loginFailure(res.status, body, res.headers.get('retry-after')) };
}

/** Ends the session (the server clears the cookie); true when it answered 2xx. */
export async function logout(endpoints: ApiEndpoints, csrfToken: string | null): Promise<boolean> {
  try {
    const res = await fetch(authUrl(endpoints, '/auth/logout'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'content-type': 'application/json',
        ...(csrfToken ? { [CSRF_HEADER]: csrfToken } : {}),
      },
      body: '{}',
    });
    await res.text().catch(() => '');
    return res.ok;
  } catch {
    return false;
  }
}
