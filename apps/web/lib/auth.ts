/**
 * Pure helpers of the dashboard's sign-in and settings pages (docs/auth.md, "Dashboard"): where
 * to go after signing in (`next`, validated so it can only name a page of this dashboard), which
 * errors mean "sign in", what a failed login says, scopes, key states and expiry choices.
 * No I/O: the browser parts are in lib/auth-client.ts.
 */

export const LOGIN_PATH = '/login';
export const ADMIN_SCOPE = 'workspace:admin';
export const BUILT_IN_ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export const CSRF_HEADER = 'x-cairn-csrf';
/**
 * localStorage flag "this browser signed in": only then do requests wait for GET /auth/session
 * (the CSRF token) before they go; without it the page loads at once and the session is read
 * alongside. Not a credential (the cookie is HttpOnly); set at sign-in, cleared at sign-out and
 * whenever /auth/session finds no session.
 */
export const SESSION_HINT_KEY = 'cairn.signedIn';

/**
 * A `next` target that is safe to follow after signing in: a path of this origin. It must start
 * with one '/', not '//' or '/\' (browsers read both as another host), hold no control
 * characters or backslashes, and not lead back to the login page. Anything else → '/'.
 */
export function safeNext(next: string | null | undefined): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return '/';
  if (!next.startsWith('/')) return '/';
  if (next.startsWith('//') || next.startsWith('/\\')) return '/';
  // Tabs and newlines are dropped by URL parsers ('/\t/evil.example' is '//evil.example').
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/u.test(next)) return '/';
  let url: URL;
  try {
    url = new URL(next, 'http://dashboard.invalid');
  } catch {
    return '/';
  }
  if (url.origin !== 'http://dashboard.invalid') return '/';
  if (url.pathname === LOGIN_PATH || url.pathname === `${LOGIN_PATH}/`) return '/';
  return `${url.pathname}${url.search}${url.hash}`;
}

/** The login page's address that comes back to `current` (a path with its query). */
export function loginHref(current: string): string {
  const next = safeNext(current);
  return next === '/' ? LOGIN_PATH : `${LOGIN_PATH}?next=${encodeURIComponent(next)}`;
}

/** True on the login page itself (no redirect loop). */
export function isLoginPath(pathname: string): boolean {
  return pathname === LOGIN_PATH || pathname === `${LOGIN_PATH}/`;
}

interface ErrorLike {
  graphQLErrors?: readonly { extensions?: Record<string, unknown> }[];
  response?: unknown;
}

/** A urql error that means "no (valid) credential": a GraphQL error coded UNAUTHENTICATED. */
export function isUnauthenticated(error: ErrorLike | null | undefined): boolean {
  if (!error) return false;
  return (error.graphQLErrors ?? []).some((e) => e.extensions?.code === 'UNAUTHENTICATED');
}

export interface LoginFailure {
  message: string;
  /** Seconds to wait before trying again (429), else null. */
  retryAfterSeconds: number | null;
}

/** `Retry-After` as whole seconds (delta-seconds or an HTTP date), else null. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const text = value.trim();
  if (/^\d+$/u.test(text)) return Number(text);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** "1 minute 30 seconds"-style text for a wait. */
export function formatWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.ceil(minutes / 60);
  return `${hours} hour${hours === 1 ? '' : 's'}`;
}

/**
 * What the login form says about a refused `POST /auth/login`: the server's message for a wrong
 * email or password (401), the wait for the failed-login backoff or rate limit (429 with
 * Retry-After), the server's message otherwise.
 */
export function loginFailure(
  status: number,
  body: unknown,
  retryAfter: string | null,
  now = Date.now(),
): LoginFailure {
  const error = (body as { error?: { message?: unknown } } | null)?.error;
  const serverMessage = typeof error?.message === 'string' ? error.message : null;
  if (status === 429) {
    const wait = parseRetryAfter(retryAfter, now);
    return {
      message:
        wait === null
          ? 'Too many failed sign-ins. Try again later.'
          : `Too many failed sign-ins. Try again in ${formatWait(wait)}.`,
      retryAfterSeconds: wait,
    };
  }
  if (status === 401)
    return { message: serverMessage ?? 'Invalid email or password', retryAfterSeconds: null };
  if (status === 400)
    return { message: serverMessage ?? 'Enter an email and a password', retryAfterSeconds: null };
  return {
    message: serverMessage
      ? `Sign-in failed: ${serverMessage}`
      : `Sign-in failed (HTTP ${status}). Try again.`,
    retryAfterSeconds: null,
  };
}

export type PrincipalKind = 'ANONYMOUS' | 'API_KEY' | 'USER';
export type AuthMode = 'OFF' | 'REQUIRED';

export interface MeInfo {
  kind: PrincipalKind;
  id: string;
  name: string;
  organizationId?: string;
  workspaceId: string;
  authenticated: boolean;
  role: string | null;
  scopes: readonly string[];
  authMode: AuthMode;
}

export function hasScope(me: Pick<MeInfo, 'scopes'> | null | undefined, scope: string): boolean {
  return !!me && me.scopes.includes(scope);
}

/** Who the header says is signed in. */
export function principalLabel(me: MeInfo): string {
  switch (me.kind) {
    case 'USER':
      return me.name;
    case 'API_KEY':
      return `Key ${me.name}`;
    case 'ANONYMOUS':
      return me.authMode === 'OFF' ? 'Anonymous (no sign-in)' : 'Not signed in';
  }
}

export type KeyState = 'active' | 'expired' | 'revoked';

export function keyState(
  key: { revokedAt: number | null; expiresAt: number | null },
  now: number,
): KeyState {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && key.expiresAt <= now) return 'expired';
  return 'active';
}

export type ExpiryChoice = 'never' | '7d' | '30d' | '90d' | '365d' | 'date';

export const EXPIRY_CHOICES: readonly { value: ExpiryChoice; label: string }[] = [
  { value: 'never', label: 'Never' },
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
  { value: '90d', label: '90 days' },
  { value: '365d', label: '1 year' },
  { value: 'date', label: 'On a date…' },
];

const DAY_MS = 86_400_000;

/**
 * The `expiresAt` (epoch ms) of a new key: null for never, now + N days, or the end of a chosen
 * local date (`YYYY-MM-DD`, from an `<input type="date">`), which must be in the future.
 */
export function expiryFromChoice(
  choice: ExpiryChoice,
  date: string,
  now: number,
): { expiresAt: number | null } | { error: string } {
  switch (choice) {
    case 'never':
      return { expiresAt: null };
    case '7d':
    case '30d':
    case '90d':
    case '365d':
      return { expiresAt: now + Number.parseInt(choice, 10) * DAY_MS };
    case 'date': {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/u.exec(date.trim());
      if (!m) return { error: 'Pick the expiry date' };
      const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const end = new Date(year, month - 1, day, 23, 59, 59, 999);
      if (end.getFullYear() !== year || end.getMonth() !== month - 1 || end.getDate() !== day)
        return { error: 'Pick a valid date' };
      if (end.getTime() <= now) return { error: 'The expiry date must be in the future' };
      return { expiresAt: end.getTime() };
    }
  }
}

/** Roles offered in a role picker: the built-in ones, then custom roles by name. */
export function roleOptions(customRoles: readonly string[]): string[] {
  const builtIn: readonly string[] = BUILT_IN_ROLES;
  return [...BUILT_IN_ROLES, ...customRoles.filter((r) => !builtIn.includes(r)).sort()];
}

/** A valid email, roughly (the server decides; this only catches typos before a round trip). */
export function looksLikeEmail(value: string): boolean {
  return /^[^\s@]+@[^\s@]+$/u.test(value.trim()) && value.trim().length <= 254;
}

/** An `actor` as written in events (`user:<id>`, `key:<id>`, `anonymous`) for people. */
export function actorLabel(actor: string): string {
  if (actor.startsWith('user:')) return `user ${actor.slice(5)}`;
  if (actor.startsWith('key:')) return `key ${actor.slice(4)}`;
  return actor;
}
