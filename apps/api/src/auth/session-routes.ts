import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '@cairn/logging';
import { CairnError } from '../errors.ts';
import type { Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import { createOidcLogin, type OidcConfig, type OidcStatus } from './oidc.ts';
import { dummyPasswordHash, verifyPassword } from './passwords.ts';
import {
  CSRF_HEADER,
  SESSION_COOKIE,
  csrfMatches,
  csrfTokenFor,
  readCookie,
  type SessionStore,
} from './sessions.ts';
import {
  DEFAULT_ORGANIZATION_ID,
  changePassword,
  findUserIdByEmail,
  loadUser,
  normaliseEmail,
  recordLoginFailed,
  recordLoginSucceeded,
} from './user.commands.ts';

export interface SessionRoutesOptions {
  sessions: SessionStore;
  /** `--public-url`: an https address makes the cookie `Secure` even behind a TLS proxy. */
  publicUrl?: string | null;
  /** Failed-login backoff (tests shorten it). */
  backoff?: Partial<BackoffPolicy>;
  /** OIDC login (`cairn server --oidc-issuer …`; docs/auth.md, "OIDC login"). */
  oidc?: OidcConfig | null;
}

export interface BackoffPolicy {
  /** Failures allowed (per email and per address) before backoff starts. */
  freeFailures: number;
  /** First delay; doubles with each further failure up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures older than this are forgotten. */
  windowMs: number;
}

const DEFAULT_BACKOFF: BackoffPolicy = {
  freeFailures: 5,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60 * 1000,
  windowMs: 15 * 60 * 1000,
};
const MAX_BODY = 16 * 1024;
/** At most one LoginFailed event per (email, address) per this many ms: a flood stays small. */
const FAILED_EVENT_INTERVAL_MS = 10_000;
const MAX_TRACKED = 10_000;
export const LOGIN_FAILED_MESSAGE = 'Invalid email or password';

interface Failures {
  count: number;
  last: number;
}

/** Per-key failure counters with exponential backoff, bounded in size. */
export class LoginBackoff {
  private readonly entries = new Map<string, Failures>();
  constructor(
    private readonly policy: BackoffPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `key` may try again (0: now). */
  retryAfter(key: string): number {
    const f = this.entries.get(key);
    if (!f) return 0;
    const t = this.now();
    if (t - f.last > this.policy.windowMs) {
      this.entries.delete(key);
      return 0;
    }
    const over = f.count - this.policy.freeFailures;
    if (over < 0) return 0;
    const delay = Math.min(
      this.policy.maxDelayMs,
      this.policy.baseDelayMs * 2 ** Math.min(over, 30),
    );
    return Math.max(0, f.last + delay - t);
  }

  fail(key: string): void {
    const f = this.entries.get(key);
    const t = this.now();
    if (f && t - f.last <= this.policy.windowMs) {
      f.count += 1;
      f.last = t;
      this.entries.delete(key);
      this.entries.set(key, f);
    } else this.entries.set(key, { count: 1, last: t });
    while (this.entries.size > MAX_TRACKED) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  clear(key: string): void {
    this.entries.delete(key);
  }
}

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(JSON.stringify(body));
}

function sendError(
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  send(res, status, { error: { code, message } }, headers);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  // Only JSON: a cross-site <form> cannot send it without a preflight.
  if (type !== 'application/json')
    throw new CairnError('INVALID_ARGUMENT', 'Send application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new CairnError('INVALID_ARGUMENT', 'Request body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)));
  } catch {
    throw new CairnError('INVALID_ARGUMENT', 'The body is not valid JSON');
  }
}

function isSecure(req: http.IncomingMessage, publicUrl: string | null | undefined): boolean {
  if ((req.socket as TLSSocket).encrypted) return true;
  return typeof publicUrl === 'string' && publicUrl.toLowerCase().startsWith('https:');
}

export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${token}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

function anonymousCaller(): Caller {
  return {
    workspaceId: DEFAULT_ORGANIZATION_ID,
    metadata: { actor: 'anonymous', correlationId: randomUUID(), causationId: null },
  };
}

function stringField(body: unknown, name: string): string | null {
  const value = (body as Record<string, unknown> | null)?.[name];
  return typeof value === 'string' ? value : null;
}

/**
 * `POST /auth/login`, `POST /auth/logout`, `GET /auth/session`, `POST /auth/password`
 * (docs/auth.md, "Users and sessions"). Returns false for any other path.
 */
export function createSessionRoutes(
  deps: ServiceDeps,
  logger: Logger,
  opts: SessionRoutesOptions,
): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const policy = { ...DEFAULT_BACKOFF, ...opts.backoff };
  const byEmail = new LoginBackoff(policy);
  const byAddress = new LoginBackoff({ ...policy, freeFailures: policy.freeFailures * 4 });
  const lastFailedEvent = new Map<string, number>();

  async function failed(
    email: string,
    address: string | null,
    reason: 'unknown-user' | 'bad-password' | 'no-password' | 'backoff',
  ): Promise<void> {
    const key = `${email}\0${address ?? ''}`;
    const t = Date.now();
    if (t - (lastFailedEvent.get(key) ?? 0) < FAILED_EVENT_INTERVAL_MS) return;
    lastFailedEvent.set(key, t);
    if (lastFailedEvent.size > MAX_TRACKED) lastFailedEvent.clear();
    await recordLoginFailed(deps, anonymousCaller(), DEFAULT_ORGANIZATION_ID, {
      email: email.slice(0, 254),
      method: 'password',
      reason,
      remoteAddress: address,
    }).catch((error: unknown) => logger.error('could not record a failed login', error));
  }

  async function login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readJson(req);
    const rawEmail = stringField(body, 'email');
    const password = stringField(body, 'password');
    if (rawEmail === null || password === null)
      return sendError(res, 400, 'INVALID_ARGUMENT', 'email and password are required');
    const address = req.socket.remoteAddress ?? null;
    const email = rawEmail.trim().toLowerCase().slice(0, 254);
    const wait = Math.max(byEmail.retryAfter(email), byAddress.retryAfter(address ?? ''));
    if (wait > 0) {
      await failed(email, address, 'backoff');
      return sendError(res, 429, 'RESOURCE_EXHAUSTED', 'Too many failed logins; retry later', {
        'retry-after': String(Math.ceil(wait / 1000)),
      });
    }
    let userId: string | null = null;
    try {
      userId = await findUserIdByEmail(deps.db, DEFAULT_ORGANIZATION_ID, normaliseEmail(email));
    } catch {
      userId = null;
    }
    const user = userId ? await loadUser(deps.db, DEFAULT_ORGANIZATION_ID, userId) : null;
    // One Argon2id verification whatever the reason, so timing tells nothing.
    const hash = user?.passwordHash ?? (await dummyPasswordHash());
    const matches = Buffer.byteLength(password) <= 256 && (await verifyPassword(password, hash));
    if (!user || !user.passwordHash || !matches) {
      byEmail.fail(email);
      byAddress.fail(address ?? '');
      await failed(
        email,
        address,
        !user ? 'unknown-user' : !user.passwordHash ? 'no-password' : 'bad-password',
      );
      return sendError(res, 401, 'UNAUTHENTICATED', LOGIN_FAILED_MESSAGE);
    }
    byEmail.clear(email);
    await startSession(req, res, user.userId, user.organizationId, 'password');
  }

  /** Creates the session, records LoginSucceeded and answers with the cookie (OIDC uses it). */
  async function startSession(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    userId: string,
    organizationId: string,
    method: 'password' | 'oidc',
    redirectTo?: string,
    extraCookies: string[] = [],
  ): Promise<void> {
    const { token, expiresAt } = await opts.sessions.create(userId, organizationId);
    await recordLoginSucceeded(
      deps,
      {
        workspaceId: organizationId,
        metadata: { actor: `user:${userId}`, correlationId: randomUUID(), causationId: null },
      },
      organizationId,
      { userId, method, remoteAddress: req.socket.remoteAddress ?? null },
    );
    const cookie = sessionCookie(
      token,
      Math.floor((expiresAt.getTime() - Date.now()) / 1000),
      isSecure(req, opts.publicUrl),
    );
    if (redirectTo) {
      res.writeHead(303, {
        location: redirectTo,
        'set-cookie': [cookie, ...extraCookies],
        'cache-control': 'no-store',
      });
      res.end();
      return;
    }
    send(
      res,
      200,
      { csrfToken: csrfTokenFor(token), userId, expiresAt: expiresAt.toISOString() },
      { 'set-cookie': cookie },
    );
  }

  async function logout(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const token = readCookie(req.headers.cookie, SESSION_COOKIE);
    const clear = sessionCookie('', 0, isSecure(req, opts.publicUrl));
    if (token === null) return send(res, 200, { ok: true }, { 'set-cookie': clear });
    const csrf = req.headers[CSRF_HEADER];
    if (!csrfMatches(token, typeof csrf === 'string' ? csrf : undefined))
      return sendError(res, 403, 'PERMISSION_DENIED', `Missing or wrong ${CSRF_HEADER} header`);
    await opts.sessions.revoke(token);
    send(res, 200, { ok: true }, { 'set-cookie': clear });
  }

  const oidc = opts.oidc
    ? createOidcLogin(deps, logger, opts.oidc, startSession, opts.publicUrl)
    : null;
  const oidcStatus = (): OidcStatus =>
    oidc?.status() ?? { enabled: false, loginUrl: null, providerName: null };

  async function session(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const token = readCookie(req.headers.cookie, SESSION_COOKIE);
    const found = token ? await opts.sessions.lookup(token) : null;
    // The login page reads `oidc` from the 401 too ("Sign in with <provider>").
    if (!found)
      return send(res, 401, {
        error: { code: 'UNAUTHENTICATED', message: 'No session' },
        oidc: oidcStatus(),
      });
    send(res, 200, {
      oidc: oidcStatus(),
      user: { id: found.userId, email: found.email, displayName: found.displayName },
      organizationId: found.organizationId,
      workspaces: [...found.workspaces].map(([workspaceId, role]) => ({
        workspaceId,
        role: typeof role === 'string' ? role : role.name,
      })),
      csrfToken: csrfTokenFor(found.sessionToken),
      expiresAt: found.expiresAt.toISOString(),
    });
  }

  async function password(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const token = readCookie(req.headers.cookie, SESSION_COOKIE);
    const found = token ? await opts.sessions.lookup(token) : null;
    if (!token || !found) return sendError(res, 401, 'UNAUTHENTICATED', 'No session');
    const csrf = req.headers[CSRF_HEADER];
    if (!csrfMatches(token, typeof csrf === 'string' ? csrf : undefined))
      return sendError(res, 403, 'PERMISSION_DENIED', `Missing or wrong ${CSRF_HEADER} header`);
    const body = await readJson(req);
    const current = stringField(body, 'currentPassword');
    const next = stringField(body, 'newPassword');
    if (current === null || next === null)
      return sendError(
        res,
        400,
        'INVALID_ARGUMENT',
        'currentPassword and newPassword are required',
      );
    const user = await loadUser(deps.db, found.organizationId, found.userId);
    if (!user?.passwordHash || !(await verifyPassword(current, user.passwordHash)))
      return sendError(res, 401, 'UNAUTHENTICATED', LOGIN_FAILED_MESSAGE);
    await changePassword(
      deps,
      {
        workspaceId: found.organizationId,
        metadata: { actor: `user:${found.userId}`, correlationId: randomUUID(), causationId: null },
      },
      found.organizationId,
      found.userId,
      next,
    );
    // Every other session of the user ends; this one stays.
    const revoked = await opts.sessions.revokeUser(found.userId, token);
    send(res, 200, { ok: true, revokedSessions: revoked });
  }

  const routes: Record<string, { method: string; run: typeof login }> = {
    '/auth/login': { method: 'POST', run: login },
    '/auth/logout': { method: 'POST', run: logout },
    '/auth/session': { method: 'GET', run: session },
    '/auth/password': { method: 'POST', run: password },
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined;
    if (!route) return oidc?.route(req, res, url) ?? false;
    if (req.method !== route.method) {
      sendError(res, 405, 'METHOD_NOT_ALLOWED', `Use ${route.method}`, { allow: route.method });
      req.resume();
      return true;
    }
    route.run(req, res).catch((error: unknown) => {
      if (error instanceof CairnError) {
        const status =
          error.code === 'INVALID_ARGUMENT' ? 400 : error.code === 'NOT_FOUND' ? 404 : 409;
        if (!res.headersSent) sendError(res, status, error.code, error.message);
        return;
      }
      logger.error('auth route failed', error);
      if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'Internal error');
      else res.destroy();
    });
    return true;
  };
}
