import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Logger } from '@cairn/logging';
import { CairnError } from '../errors.ts';
import type { Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import { readCookie } from './sessions.ts';
import {
  DEFAULT_ORGANIZATION_ID,
  createUser,
  findUserIdByEmail,
  findUserIdByOidcSubject,
  linkOidcIdentity,
  loadUser,
  normaliseEmail,
  recordLoginFailed,
  setMemberRole,
  validateRole,
} from './user.commands.ts';

/**
 * OIDC login (docs/auth.md, "OIDC login"): the authorization code flow with PKCE (S256), a
 * `state` and a `nonce` per attempt, the ID token's signature checked against the issuer's JWKS
 * and its `iss`, `aud` (and `azp`), `exp` and `nonce` checked (jose). A user is found by its
 * identity (`<issuer> <sub>`, an event-store unique key), else by a verified email (linked:
 * `UserIdentityLinked`), else created (`UserCreated`) — only when an invitation waits for its
 * email or `--oidc-workspace` is configured. Then the same session the password login starts.
 *
 * The attempt's state, nonce and PKCE verifier travel in a short-lived HttpOnly cookie
 * (`cairn_oidc`, Path=/auth/oidc, SameSite=Lax: sent on the provider's top-level redirect back),
 * so any API process can finish a login another one began. The client secret is never logged.
 */
export interface OidcConfig {
  /** The issuer URL (its `/.well-known/openid-configuration` is read once, then cached). */
  issuer: string;
  clientId: string;
  /** null: a public client (PKCE only, `token_endpoint_auth_method: none`). */
  clientSecret: string | null;
  /** Absolute callback URL; default `<this server's origin>/auth/oidc/callback`. */
  redirectUrl?: string | null;
  /** A first-time user with no invitation joins this workspace (with `defaultRole`). */
  workspace?: string | null;
  /** Default `viewer`. */
  defaultRole?: string | null;
  /** What the login button says ("Sign in with <name>"); default the issuer's host. */
  providerName?: string | null;
  /** Default `openid email profile`. */
  scopes?: string;
}

export const OIDC_LOGIN_PATH = '/auth/oidc/login';
export const OIDC_CALLBACK_PATH = '/auth/oidc/callback';
const FLOW_COOKIE = 'cairn_oidc';
const FLOW_TTL_SECONDS = 600;
const DISCOVERY_TTL_MS = 10 * 60 * 1000;
const HTTP_TIMEOUT_MS = 10_000;
const FAILED_EVENT_INTERVAL_MS = 10_000;
/** Asymmetric algorithms only: an HS* token would be signed with the client secret. */
const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

interface ProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
}

interface Flow {
  state: string;
  nonce: string;
  verifier: string;
  redirectUri: string;
  next: string;
}

export interface OidcStatus {
  enabled: boolean;
  loginUrl: string | null;
  providerName: string | null;
}

export type OidcStartSession = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  userId: string,
  organizationId: string,
  method: 'oidc',
  redirectTo: string,
  extraCookies: string[],
) => Promise<void>;

/** Why a login was refused: said on the page, and the reason of the LoginFailed event. */
export class OidcRejected extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly email: string | null = null,
  ) {
    super(message);
  }
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');
const random = () => b64url(randomBytes(32));

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A path of the dashboard (as `/login?next=` accepts), else `/`. */
export function safeNextPath(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/u.test(next) || next.length > 2000) return '/';
  return next;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/gu,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function page(res: http.ServerResponse, status: number, title: string, message: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'set-cookie': flowCookie('', 0),
  });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Cairn</title></head>` +
      `<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem">` +
      `<h1>${escapeHtml(title)}</h1><p data-testid="oidc-message">${escapeHtml(message)}</p>` +
      `<p><a href="/login">Back to sign-in</a></p></body></html>`,
  );
}

function flowCookie(value: string, maxAge: number, secure = false): string {
  return [
    `${FLOW_COOKIE}=${value}`,
    'Path=/auth/oidc',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${maxAge}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

function readFlow(cookieHeader: string | undefined): Flow | null {
  const raw = readCookie(cookieHeader, FLOW_COOKIE);
  if (!raw || raw.length > 4096) return null;
  try {
    const flow = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<Flow>;
    if (
      typeof flow.state !== 'string' ||
      typeof flow.nonce !== 'string' ||
      typeof flow.verifier !== 'string' ||
      typeof flow.redirectUri !== 'string' ||
      typeof flow.next !== 'string'
    )
      return null;
    return flow as Flow;
  } catch {
    return null;
  }
}

async function fetchJson(url: string, init: RequestInit = {}): Promise<unknown> {
  const response = await fetch(url, {
    ...init,
    redirect: 'error',
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    headers: { accept: 'application/json', ...(init.headers as Record<string, string>) },
  });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = (body as { error?: unknown; error_description?: unknown } | null) ?? {};
    throw new OidcRejected(
      502,
      `The provider answered ${response.status}${typeof error.error === 'string' ? ` (${error.error}${typeof error.error_description === 'string' ? `: ${error.error_description}` : ''})` : ''}`,
    );
  }
  return body;
}

export interface VerifyIdTokenOptions {
  issuer: string;
  clientId: string;
  nonce: string;
  jwks: ReturnType<typeof createRemoteJWKSet>;
  /** Seconds of clock skew tolerated (default 60). */
  clockToleranceSeconds?: number;
}

/**
 * Checks an ID token: signature (the issuer's JWKS, asymmetric algorithms only), `iss`, `aud`
 * (the client id; with several audiences `azp` must be the client id too), `exp`/`nbf`, a `sub`
 * and the `nonce` of this login. Throws OidcRejected (401) with the reason.
 */
export async function verifyIdToken(
  idToken: string,
  opts: VerifyIdTokenOptions,
): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, opts.jwks, {
      issuer: opts.issuer,
      audience: opts.clientId,
      algorithms: ALGORITHMS,
      clockTolerance: opts.clockToleranceSeconds ?? 60,
      requiredClaims: ['sub', 'exp', 'iat'],
    }));
  } catch (error) {
    const reason =
      error instanceof joseErrors.JWTClaimValidationFailed
        ? `its "${error.claim}" claim is not valid (${error.reason})`
        : error instanceof joseErrors.JWTExpired
          ? 'it has expired'
          : error instanceof joseErrors.JWSSignatureVerificationFailed
            ? 'its signature does not verify'
            : error instanceof Error
              ? error.message
              : String(error);
    throw new OidcRejected(401, `The provider's ID token was refused: ${reason}`);
  }
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== opts.clientId)
    throw new OidcRejected(
      401,
      'The provider\'s ID token was refused: its "azp" is not this client',
    );
  if (typeof payload.nonce !== 'string' || !sameText(payload.nonce, opts.nonce))
    throw new OidcRejected(
      401,
      'The provider\'s ID token was refused: its "nonce" is not this login\'s',
    );
  return payload;
}

function isSecure(req: http.IncomingMessage, publicUrl: string | null | undefined): boolean {
  if ((req.socket as TLSSocket).encrypted) return true;
  return typeof publicUrl === 'string' && publicUrl.toLowerCase().startsWith('https:');
}

export interface OidcLogin {
  status(): OidcStatus;
  /** Serves GET /auth/oidc/login and /auth/oidc/callback; false for any other path. */
  route(req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean;
}

/** Checks a configuration at start (a clear error instead of a failing first login). */
export function validateOidcConfig(config: OidcConfig): void {
  let issuer: URL;
  try {
    issuer = new URL(config.issuer);
  } catch {
    throw new CairnError('INVALID_ARGUMENT', `--oidc-issuer "${config.issuer}" is not a URL`);
  }
  if (issuer.protocol !== 'https:' && issuer.protocol !== 'http:')
    throw new CairnError('INVALID_ARGUMENT', '--oidc-issuer must be an https (or http) URL');
  if (!config.clientId.trim())
    throw new CairnError('INVALID_ARGUMENT', '--oidc-client-id is required with --oidc-issuer');
  if (config.redirectUrl) {
    try {
      new URL(config.redirectUrl);
    } catch {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `--oidc-redirect-url "${config.redirectUrl}" is not a URL`,
      );
    }
  }
  if (config.defaultRole) validateRole(config.defaultRole);
}

export function createOidcLogin(
  deps: ServiceDeps,
  logger: Logger,
  config: OidcConfig,
  startSession: OidcStartSession,
  publicUrl: string | null | undefined,
): OidcLogin {
  validateOidcConfig(config);
  const issuer = config.issuer;
  const providerName = config.providerName?.trim() || new URL(issuer).host;
  const defaultRole = validateRole(config.defaultRole ?? 'viewer');
  let metadata: {
    at: number;
    value: ProviderMetadata;
    jwks: ReturnType<typeof createRemoteJWKSet>;
  } | null = null;
  const lastFailed = new Map<string, number>();

  async function provider() {
    if (metadata && Date.now() - metadata.at < DISCOVERY_TTL_MS) return metadata;
    const url = `${issuer.replace(/\/$/u, '')}/.well-known/openid-configuration`;
    const value = (await fetchJson(url)) as Partial<ProviderMetadata> | null;
    if (
      !value ||
      typeof value.authorization_endpoint !== 'string' ||
      typeof value.token_endpoint !== 'string' ||
      typeof value.jwks_uri !== 'string'
    )
      throw new OidcRejected(502, "The provider's discovery document is incomplete");
    if (value.issuer !== issuer)
      throw new OidcRejected(
        502,
        `The provider calls itself "${String(value.issuer)}", not "${issuer}"`,
      );
    metadata = {
      at: Date.now(),
      value: value as ProviderMetadata,
      jwks:
        metadata?.value.jwks_uri === value.jwks_uri
          ? metadata.jwks
          : createRemoteJWKSet(new URL(value.jwks_uri)),
    };
    return metadata;
  }

  function redirectUriFor(req: http.IncomingMessage): string {
    if (config.redirectUrl) return config.redirectUrl;
    if (publicUrl) return new URL(OIDC_CALLBACK_PATH, publicUrl).toString();
    // The Host header has passed the allowed-hosts check (request-guard.ts).
    const proto = isSecure(req, publicUrl) ? 'https' : 'http';
    return `${proto}://${req.headers.host ?? 'localhost'}${OIDC_CALLBACK_PATH}`;
  }

  async function failed(
    req: http.IncomingMessage,
    email: string | null,
    message: string,
  ): Promise<void> {
    const address = req.socket.remoteAddress ?? null;
    const key = `${email ?? ''}\0${address ?? ''}`;
    const t = Date.now();
    if (t - (lastFailed.get(key) ?? 0) < FAILED_EVENT_INTERVAL_MS) return;
    lastFailed.set(key, t);
    if (lastFailed.size > 10_000) lastFailed.clear();
    logger.info(`oidc login refused: ${message}`);
    await recordLoginFailed(
      deps,
      {
        workspaceId: DEFAULT_ORGANIZATION_ID,
        metadata: { actor: 'anonymous', correlationId: randomUUID(), causationId: null },
      },
      DEFAULT_ORGANIZATION_ID,
      {
        email: (email ?? '').slice(0, 254),
        method: 'oidc',
        reason: 'oidc-rejected',
        remoteAddress: address,
      },
    ).catch((error: unknown) => logger.error('could not record a failed login', error));
  }

  async function login(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
  ): Promise<void> {
    const { value } = await provider();
    const flow: Flow = {
      state: random(),
      nonce: random(),
      verifier: random(),
      redirectUri: redirectUriFor(req),
      next: safeNextPath(url.searchParams.get('next')),
    };
    const target = new URL(value.authorization_endpoint);
    const params = {
      response_type: 'code',
      client_id: config.clientId,
      redirect_uri: flow.redirectUri,
      scope: config.scopes ?? 'openid email profile',
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: b64url(createHash('sha256').update(flow.verifier).digest()),
      code_challenge_method: 'S256',
    };
    for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
    res.writeHead(302, {
      location: target.toString(),
      'cache-control': 'no-store',
      'set-cookie': flowCookie(
        Buffer.from(JSON.stringify(flow)).toString('base64url'),
        FLOW_TTL_SECONDS,
        isSecure(req, publicUrl),
      ),
    });
    res.end();
  }

  /** The code → tokens exchange (client_secret_basic, or a public client's client_id). */
  async function exchange(
    code: string,
    flow: Flow,
  ): Promise<{ idToken: string; accessToken: string | null }> {
    const { value } = await provider();
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: flow.redirectUri,
      code_verifier: flow.verifier,
    });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (config.clientSecret !== null) {
      const basic = `${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
    } else body.set('client_id', config.clientId);
    const tokens = (await fetchJson(value.token_endpoint, { method: 'POST', headers, body })) as {
      id_token?: unknown;
      access_token?: unknown;
    } | null;
    if (typeof tokens?.id_token !== 'string')
      throw new OidcRejected(502, 'The provider sent no ID token');
    return {
      idToken: tokens.id_token,
      accessToken: typeof tokens.access_token === 'string' ? tokens.access_token : null,
    };
  }

  /** email / email_verified / name from the ID token, else from the userinfo endpoint. */
  async function claimsOf(payload: JWTPayload, accessToken: string | null) {
    let claims: Record<string, unknown> = payload;
    const { value } = await provider();
    if (typeof claims.email !== 'string' && accessToken && value.userinfo_endpoint) {
      const info = (await fetchJson(value.userinfo_endpoint, {
        headers: { authorization: `Bearer ${accessToken}` },
      })) as Record<string, unknown> | null;
      if (info && info.sub === payload.sub) claims = { ...info, ...payload };
    }
    let email: string | null = null;
    if (typeof claims.email === 'string') {
      try {
        email = normaliseEmail(claims.email);
      } catch {
        email = null;
      }
    }
    return {
      email,
      emailVerified: claims.email_verified === true,
      name: typeof claims.name === 'string' ? claims.name.slice(0, 200) : null,
    };
  }

  async function pendingInvitations(email: string): Promise<number> {
    const row = await deps.db
      .selectFrom('workspace_invitations')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('email', '=', email)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async function membershipCount(userId: string): Promise<number> {
    const row = await deps.db
      .selectFrom('workspace_members')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The user of a verified identity: found, linked or created (see the module comment). */
  async function userFor(subject: string, claims: Awaited<ReturnType<typeof claimsOf>>) {
    const org = DEFAULT_ORGANIZATION_ID;
    const caller = (actor: string): Caller => ({
      workspaceId: org,
      metadata: { actor, correlationId: randomUUID(), causationId: null },
    });
    const identity = `${issuer} ${subject}`;
    const found = await findUserIdByOidcSubject(deps.db, org, identity);
    if (found) return found;
    if (!claims.email)
      throw new OidcRejected(
        403,
        'The provider sent no email address for this account, so Cairn cannot tell who it is.',
      );
    const byEmail = await findUserIdByEmail(deps.db, org, claims.email);
    if (byEmail) {
      if (!claims.emailVerified)
        throw new OidcRejected(
          403,
          `A Cairn user with the email ${claims.email} exists, but the provider does not say the email is verified, so the account is not linked.`,
          claims.email,
        );
      await linkOidcIdentity(deps, caller(`user:${byEmail}`), org, byEmail, identity);
      return byEmail;
    }
    const invited = (await pendingInvitations(claims.email)) > 0;
    if (!invited && !config.workspace)
      throw new OidcRejected(
        403,
        `You signed in as ${claims.email}, but this Cairn has no workspace for you yet. Ask an admin to invite ${claims.email} (Settings → Members), then sign in again.`,
        claims.email,
      );
    const { userId } = await createUser(deps, caller('oidc'), {
      email: claims.email,
      displayName: claims.name,
      password: null,
      oidcSubject: identity,
      organizationId: org,
    });
    if (config.workspace)
      await setMemberRole(
        deps,
        { workspaceId: config.workspace, metadata: caller(`user:${userId}`).metadata },
        { userId, role: defaultRole, organizationId: org },
      );
    return userId;
  }

  async function callback(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
  ): Promise<void> {
    const flow = readFlow(req.headers.cookie);
    const state = url.searchParams.get('state');
    if (!flow || !state || !sameText(state, flow.state)) {
      await failed(req, null, "state missing or not this browser's");
      return page(
        res,
        400,
        'Sign-in failed',
        'This sign-in attempt is unknown or has expired (its state does not match). Start again from the sign-in page.',
      );
    }
    const returnedIssuer = url.searchParams.get('iss');
    if (returnedIssuer !== null && returnedIssuer !== issuer) {
      await failed(req, null, 'iss parameter of another issuer');
      return page(
        res,
        400,
        'Sign-in failed',
        'The answer came from another provider than the one configured.',
      );
    }
    const error = url.searchParams.get('error');
    if (error) {
      const description = url.searchParams.get('error_description');
      await failed(req, null, `provider error ${error}`);
      return page(
        res,
        401,
        'Sign-in failed',
        `The provider refused the sign-in: ${error}${description ? ` (${description.slice(0, 300)})` : ''}.`,
      );
    }
    const code = url.searchParams.get('code');
    if (!code) return page(res, 400, 'Sign-in failed', 'The provider sent no authorization code.');
    let email: string | null = null;
    try {
      const tokens = await exchange(code, flow);
      const { jwks } = await provider();
      const payload = await verifyIdToken(tokens.idToken, {
        issuer,
        clientId: config.clientId,
        nonce: flow.nonce,
        jwks,
      });
      const claims = await claimsOf(payload, tokens.accessToken);
      email = claims.email;
      const userId = await userFor(String(payload.sub), claims);
      if (!(await loadUser(deps.db, DEFAULT_ORGANIZATION_ID, userId)))
        throw new OidcRejected(403, 'The user of this identity does not exist.');
      if ((await membershipCount(userId)) === 0)
        throw new OidcRejected(
          403,
          `You signed in as ${email ?? 'this account'}, but you are not a member of any workspace of this Cairn. Ask an admin to invite you (Settings → Members), then sign in again.`,
          email,
        );
      await startSession(req, res, userId, DEFAULT_ORGANIZATION_ID, 'oidc', flow.next, [
        flowCookie('', 0, isSecure(req, publicUrl)),
      ]);
    } catch (error) {
      if (!(error instanceof OidcRejected)) throw error;
      await failed(req, error.email ?? email, error.message);
      page(res, error.status, error.status === 403 ? 'No access' : 'Sign-in failed', error.message);
    }
  }

  return {
    status: () => ({ enabled: true, loginUrl: OIDC_LOGIN_PATH, providerName }),
    route(req, res, url) {
      const run =
        url.pathname === OIDC_LOGIN_PATH
          ? login
          : url.pathname === OIDC_CALLBACK_PATH
            ? callback
            : null;
      if (!run) return false;
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain; charset=utf-8' });
        res.end('Use GET');
        req.resume();
        return true;
      }
      run(req, res, url).catch((error: unknown) => {
        if (error instanceof OidcRejected) {
          if (!res.headersSent) page(res, error.status, 'Sign-in failed', error.message);
          return;
        }
        logger.error('oidc route failed', error);
        if (!res.headersSent)
          page(
            res,
            500,
            'Sign-in failed',
            'Something went wrong on the server; the error is logged.',
          );
        else res.destroy();
      });
      return true;
    },
  };
}
