import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import { isRole, type CustomRole, type Role } from './scopes.ts';

/**
 * Dashboard sessions (docs/auth.md, "Users and sessions").
 *
 * The browser holds `cairn_session=<token>` (32 random bytes, base64url; HttpOnly,
 * SameSite=Lax). The `sessions` table keeps only sha256(token) — operational state written by
 * the API, not a read model. The CSRF token is derived from the session token
 * (sha256("cairn-csrf\0" + token)), so the server checks it without a lookup and
 * `GET /auth/session` can hand it out again; only its hash is stored.
 */
export const SESSION_COOKIE = 'cairn_session';
export const CSRF_HEADER = 'x-cairn-csrf';

export interface SessionPolicy {
  /** A session unused for this long ends (default 12 h). */
  idleTimeoutMs: number;
  /** A session ends this long after login whatever its use (default 7 d). */
  absoluteTimeoutMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = {
  idleTimeoutMs: 12 * 60 * 60 * 1000,
  absoluteTimeoutMs: 7 * 24 * 60 * 60 * 1000,
};

/** last_seen_at is written at most this often per session. */
const TOUCH_INTERVAL_MS = 60_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update(`cairn-csrf\0${sessionToken}`).digest('base64url');
}

/** Constant-time check of a request's CSRF header against its session cookie. */
export function csrfMatches(sessionToken: string, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The value of one cookie in a Cookie header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

export interface SessionUser {
  sessionToken: string;
  userId: string;
  organizationId: string;
  email: string;
  displayName: string;
  expiresAt: Date;
  /** Workspace id → role, read fresh on every request (a removal takes effect at once). */
  workspaces: Map<string, Role | CustomRole>;
}

export interface SessionStore {
  create(userId: string, organizationId: string): Promise<{ token: string; expiresAt: Date }>;
  /** The live session of a token, or null (unknown, expired or revoked). */
  lookup(token: string): Promise<SessionUser | null>;
  revoke(token: string): Promise<void>;
  /** Ends every session of a user (password change), optionally but one. */
  revokeUser(userId: string, except?: string): Promise<number>;
}

/** Role names of a member row: built-in roles as they are, custom roles with their scopes. */
async function membershipsOf(
  db: Kysely<DB>,
  userId: string,
): Promise<Map<string, Role | CustomRole>> {
  const rows = await db
    .selectFrom('workspace_members')
    .select(['workspace_id', 'role'])
    .where('user_id', '=', userId)
    .execute();
  const map = new Map<string, Role | CustomRole>();
  const custom = rows.filter((r) => !isRole(r.role));
  const defined = custom.length ? await customRoles(db, custom) : new Map<string, CustomRole>();
  for (const row of rows) {
    if (isRole(row.role)) map.set(row.workspace_id, row.role);
    else {
      const role = defined.get(`${row.workspace_id}\0${row.role}`);
      // A custom role that is not (or no longer) defined grants nothing.
      if (role) map.set(row.workspace_id, role);
    }
  }
  return map;
}

/** Custom role definitions (AUTH-CORE's custom_roles read model), when that table exists. */
async function customRoles(
  db: Kysely<DB>,
  rows: { workspace_id: string; role: string }[],
): Promise<Map<string, CustomRole>> {
  const map = new Map<string, CustomRole>();
  try {
    const found = await (db as unknown as Kysely<Record<string, Record<string, unknown>>>)
      .selectFrom('custom_roles')
      .selectAll()
      .where(
        'workspace_id',
        'in',
        rows.map((r) => r.workspace_id),
      )
      .execute();
    for (const r of found) {
      const name = String(r.name);
      const scopes = (Array.isArray(r.scopes) ? r.scopes : []) as CustomRole['scopes'];
      map.set(`${String(r.workspace_id)}\0${name}`, { name, scopes });
    }
  } catch {
    // No custom roles table in this build: custom role names grant nothing.
  }
  return map;
}

export function createSessionStore(
  db: Kysely<DB>,
  policy: SessionPolicy = DEFAULT_SESSION_POLICY,
  now: () => Date = () => new Date(),
): SessionStore {
  return {
    async create(userId, organizationId) {
      const token = randomBytes(32).toString('base64url');
      const at = now();
      const expiresAt = new Date(at.getTime() + policy.absoluteTimeoutMs);
      await db
        .insertInto('sessions')
        .values({
          id_hash: sha256(token),
          user_id: userId,
          organization_id: organizationId,
          created_at: at,
          last_seen_at: at,
          expires_at: expiresAt,
          csrf_token_hash: sha256(csrfTokenFor(token)),
        })
        .execute();
      // Expired sessions of anyone are swept now and then, on logins.
      await db.deleteFrom('sessions').where('expires_at', '<', at).execute();
      return { token, expiresAt };
    },
    async lookup(token) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
      const row = await db
        .selectFrom('sessions')
        .innerJoin('users', (j) =>
          j
            .onRef('users.user_id', '=', 'sessions.user_id')
            .onRef('users.workspace_id', '=', 'sessions.organization_id'),
        )
        .select([
          'sessions.id_hash',
          'sessions.user_id',
          'sessions.organization_id',
          'sessions.last_seen_at',
          'sessions.expires_at',
          'users.email',
          'users.display_name',
        ])
        .where('sessions.id_hash', '=', sha256(token))
        .executeTakeFirst();
      if (!row) return null;
      const t = now().getTime();
      const lastSeen = new Date(row.last_seen_at).getTime();
      const expiresAt = new Date(row.expires_at);
      if (expiresAt.getTime() <= t || lastSeen + policy.idleTimeoutMs <= t) {
        await db.deleteFrom('sessions').where('id_hash', '=', row.id_hash).execute();
        return null;
      }
      if (t - lastSeen >= TOUCH_INTERVAL_MS)
        await db
          .updateTable('sessions')
          .set({ last_seen_at: new Date(t) })
          .where('id_hash', '=', row.id_hash)
          .execute();
      return {
        sessionToken: token,
        userId: row.user_id,
        organizationId: row.organization_id,
        email: row.email,
        displayName: row.display_name,
        expiresAt,
        workspaces: await membershipsOf(db, row.user_id),
      };
    },
    async revoke(token) {
      await db.deleteFrom('sessions').where('id_hash', '=', sha256(token)).execute();
    },
    async revokeUser(userId, except) {
      let q = db.deleteFrom('sessions').where('user_id', '=', userId);
      if (except) q = q.where('id_hash', '<>', sha256(except));
      const result = await q.executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

/** What a session resolves to: AUTH-CORE's Principal of kind 'user'. */
export interface UserPrincipal {
  kind: 'user';
  id: string;
  name: string;
  organizationId: string;
  workspaces: ReadonlyMap<string, Role | CustomRole>;
  userId: string;
}

/**
 * The session-cookie credential resolver for AUTH-CORE's registry: no cookie → null (another
 * resolver or anonymous); a cookie naming no live session → 'invalid' (401); else the user with
 * the workspaces it is a member of. The CSRF header is checked by the HTTP layer
 * (server.ts), which knows the method.
 */
export function createSessionResolver(deps: { sessions: SessionStore }) {
  return {
    async resolve(source: {
      authorization?: string;
      cookie?: string;
    }): Promise<UserPrincipal | null | 'invalid'> {
      if (source.authorization) return null;
      const token = readCookie(source.cookie, SESSION_COOKIE);
      if (token === null) return null;
      const session = await deps.sessions.lookup(token);
      if (!session) return 'invalid';
      return {
        kind: 'user',
        id: session.userId,
        name: session.email,
        organizationId: session.organizationId,
        workspaces: session.workspaces,
        userId: session.userId,
      };
    },
  };
}
