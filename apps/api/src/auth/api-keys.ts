import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import type { ChangeNotice } from '@cairn/change-notices';
import type { CredentialResolver, CredentialSource, Principal } from './principal.ts';
import { isRole, isScope, type CustomRole, type Role, type Scope } from './scopes.ts';

/**
 * API keys (docs/auth.md, "API keys"): `cairn_<keyId>_<secret>`, keyId = 12 lowercase base32
 * characters, secret = 32 base62 characters. Only SHA-256(secret) is stored.
 */
export const API_KEY_PATTERN = /^cairn_([a-z2-7]{12})_([A-Za-z0-9]{32})$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** A key's last use is written at most this often per key and process. */
const USAGE_INTERVAL_MS = 60_000;
export const AUTH_PROJECTION = 'auth';

function randomChars(alphabet: string, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export function newApiKey(): { keyId: string; secret: string; text: string } {
  const keyId = randomChars(BASE32, 12);
  // 32 base62 characters: about 190 bits.
  const secret = randomChars(BASE62, 32);
  return { keyId, secret, text: `cairn_${keyId}_${secret}` };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * The key text of an Authorization header: `Bearer <key>`, or MLflow's `Basic
 * base64(<anything>:<key>)`. Null when the header carries no Cairn key.
 */
export function keyFromAuthorization(header: string | undefined): string | null {
  if (!header) return null;
  const value = header.trim();
  const space = value.indexOf(' ');
  if (space < 0) return null;
  const scheme = value.slice(0, space).toLowerCase();
  const rest = value.slice(space + 1).trim();
  if (scheme === 'bearer') return rest;
  if (scheme === 'basic') {
    let decoded: string;
    try {
      decoded = Buffer.from(rest, 'base64').toString('utf8');
    } catch {
      return null;
    }
    const colon = decoded.indexOf(':');
    return colon < 0 ? null : decoded.slice(colon + 1);
  }
  return null;
}

interface KeyRow {
  key_id: string;
  workspace_id: string;
  scope_workspace_id: string | null;
  organization_id: string;
  name: string;
  role: string;
  secret_hash: string;
  expires_at: Date | null;
  revoked_at: Date | null;
  service_account_id: string | null;
  /** The live service account's name (null: a plain key, or the account is deleted). */
  service_account_name: string | null;
}

interface Cached {
  at: number;
  row: KeyRow | null;
  workspaces: Map<string, Role | CustomRole>;
}

export interface ApiKeyResolverOptions {
  /** How long a resolved key is trusted without reading it again (≤ 2 s; default 2 s). */
  cacheMs?: number;
  now?: () => number;
  /** Change notices of this process: an `auth` notice for a key drops it from the cache. */
  changes?: { onChange(listener: (notice: ChangeNotice) => void): () => void };
}

/** Role of a key: a built-in role, or a custom role defined in the workspace (else nothing). */
async function rolesOf(db: Kysely<DB>, row: KeyRow): Promise<Map<string, Role | CustomRole>> {
  let workspaces: string[];
  if (row.scope_workspace_id !== null) workspaces = [row.scope_workspace_id];
  else {
    const rows = await db
      .selectFrom('workspaces')
      .select('workspace_id')
      .where('organization_id', '=', row.organization_id)
      .execute();
    workspaces = rows.map((r) => r.workspace_id);
    if (row.organization_id === 'default' && !workspaces.includes('default'))
      workspaces.unshift('default');
  }
  const map = new Map<string, Role | CustomRole>();
  if (isRole(row.role)) {
    for (const w of workspaces) map.set(w, row.role);
    return map;
  }
  if (workspaces.length === 0) return map;
  const defined = await db
    .selectFrom('custom_roles')
    .select(['workspace_id', 'scopes'])
    .where('name', '=', row.role)
    .where('workspace_id', 'in', workspaces)
    .execute();
  for (const d of defined) {
    const scopes = (Array.isArray(d.scopes) ? d.scopes : []).filter(
      (s): s is Scope => typeof s === 'string' && isScope(s),
    );
    map.set(d.workspace_id, { name: row.role, scopes });
  }
  return map;
}

export interface ApiKeyResolver extends CredentialResolver {
  /** Drops cached keys (all, or one); the next request reads them again. */
  invalidate(keyId?: string): void;
  close(): void;
}

/**
 * The API-key credential resolver: parses the key, reads it (cached ≤ 2 s per key id, dropped
 * at once on an `auth` change notice for its stream), compares SHA-256(secret) in constant
 * time, refuses revoked and expired keys, and records the last use at most once a minute.
 */
export function createApiKeyResolver(
  db: Kysely<DB>,
  opts: ApiKeyResolverOptions = {},
): ApiKeyResolver {
  const cacheMs = Math.min(opts.cacheMs ?? 2000, 2000);
  const now = opts.now ?? Date.now;
  const cache = new Map<string, Cached>();
  const lastUsage = new Map<string, number>();
  const off = opts.changes?.onChange((notice) => {
    if (notice.p !== AUTH_PROJECTION) return;
    for (const [streamId] of notice.s)
      if (streamId.startsWith('api-key-')) cache.delete(streamId.slice('api-key-'.length));
      // custom roles, workspaces, deleted service accounts
      else if (streamId.startsWith('workspace-') || streamId.startsWith('service-account-'))
        cache.clear();
  });

  async function load(keyId: string): Promise<Cached> {
    const hit = cache.get(keyId);
    const t = now();
    if (hit && t - hit.at < cacheMs) return hit;
    const row =
      (await db
        .selectFrom('api_keys as k')
        .leftJoin('service_accounts as sa', (j) =>
          j
            .onRef('sa.workspace_id', '=', 'k.workspace_id')
            .onRef('sa.service_account_id', '=', 'k.service_account_id'),
        )
        .select([
          'k.key_id',
          'k.workspace_id',
          'k.scope_workspace_id',
          'k.organization_id',
          'k.name',
          'k.role',
          'k.secret_hash',
          'k.expires_at',
          'k.revoked_at',
          'k.service_account_id',
          'sa.name as service_account_name',
        ])
        .where('k.key_id', '=', keyId)
        .executeTakeFirst()) ?? null;
    const entry: Cached = {
      at: t,
      row,
      workspaces:
        row && !row.revoked_at ? await rolesOf(db, row) : new Map<string, Role | CustomRole>(),
    };
    if (cache.size > 10_000) cache.clear();
    cache.set(keyId, entry);
    return entry;
  }

  function live(row: KeyRow | null): row is KeyRow {
    if (!row || row.revoked_at) return false;
    // A key of a deleted service account is refused before its revocation lands.
    if (row.service_account_id !== null && row.service_account_name === null) return false;
    return !(row.expires_at && new Date(row.expires_at).getTime() <= now());
  }

  function touch(keyId: string): void {
    const t = now();
    if (t - (lastUsage.get(keyId) ?? 0) < USAGE_INTERVAL_MS) return;
    lastUsage.set(keyId, t);
    if (lastUsage.size > 10_000) lastUsage.clear();
    void db
      .insertInto('api_key_usage')
      .values({ key_id: keyId, last_used_at: new Date(t) })
      .onConflict((oc) => oc.column('key_id').doUpdateSet({ last_used_at: new Date(t) }))
      .execute()
      .catch(() => undefined);
  }

  return {
    async resolve(source: CredentialSource) {
      const text = keyFromAuthorization(source.authorization);
      if (text === null) return null;
      const match = API_KEY_PATTERN.exec(text);
      if (!match) return 'invalid';
      const [, keyId, secret] = match as unknown as [string, string, string];
      const { row, workspaces } = await load(keyId);
      if (!live(row)) return 'invalid';
      const presented = Buffer.from(hashSecret(secret), 'hex');
      const stored = Buffer.from(row.secret_hash, 'hex');
      if (stored.length !== presented.length || !timingSafeEqual(stored, presented))
        return 'invalid';
      touch(keyId);
      const account =
        row.service_account_id !== null && row.service_account_name !== null
          ? { id: row.service_account_id, name: row.service_account_name }
          : null;
      const principal: Principal = {
        kind: account ? 'service-account' : 'api-key',
        id: account ? account.id : keyId,
        keyId,
        ...(account ? { serviceAccountId: account.id } : {}),
        name: account ? account.name : row.name,
        organizationId: row.organization_id,
        workspaces,
        ...(row.scope_workspace_id !== null ? { defaultWorkspaceId: row.scope_workspace_id } : {}),
        expiresAt: row.expires_at ? new Date(row.expires_at).toISOString() : null,
      };
      return principal;
    },
    async stillValid(principal) {
      if (
        (principal.kind !== 'api-key' && principal.kind !== 'service-account') ||
        !principal.keyId
      )
        return true;
      return live((await load(principal.keyId)).row);
    },
    invalidate(keyId) {
      if (keyId === undefined) cache.clear();
      else cache.delete(keyId);
    },
    close() {
      off?.();
    },
  };
}
