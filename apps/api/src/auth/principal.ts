import { CairnError } from '../errors.ts';
import type { CustomRole, Role } from './scopes.ts';

/** `off`: no credential = anonymous owner (local, loopback); `required`: no credential = 401. */
export type AuthMode = 'off' | 'required';

export interface AuthOptions {
  /** Default 'off' (today's behaviour). */
  mode?: AuthMode;
}

export const DEFAULT_ORGANIZATION = 'default';

/**
 * Who is calling: an API key, a service account (through a key issued to it), a user
 * (session), or nobody (anonymous).
 */
export interface Principal {
  kind: 'anonymous' | 'api-key' | 'service-account' | 'user';
  /** Key id, service account id, user id or 'anonymous'. */
  id: string;
  name: string;
  organizationId: string;
  /** Workspace id → role. Anonymous in `off` mode gets `owner` in the requested workspace. */
  workspaces: ReadonlyMap<string, Role | CustomRole>;
  /** The workspace a workspace-scoped key defaults to. */
  defaultWorkspaceId?: string;
  keyId?: string;
  userId?: string;
  serviceAccountId?: string;
  /** ISO time after which the credential is refused (keys with an expiry). */
  expiresAt?: string | null;
}

/** What a credential may come in: the Authorization header (or graphql-ws param), a cookie. */
export interface CredentialSource {
  authorization?: string;
  cookie?: string;
}

/**
 * One way to authenticate. `null`: this resolver sees no credential of its kind; 'invalid': it
 * sees one and refuses it (unknown, revoked, expired, wrong secret) — the request gets
 * UNAUTHENTICATED and no other resolver is asked.
 */
export interface CredentialResolver {
  resolve(source: CredentialSource): Promise<Principal | null | 'invalid'>;
  /**
   * Is this principal (resolved earlier by this resolver) still valid? Open subscriptions ask
   * before every push. Absent: always valid.
   */
  stillValid?(principal: Principal): Promise<boolean>;
}

/** The resolvers of one API process, tried in order (API keys, then session cookies). */
export class CredentialResolvers {
  private readonly list: CredentialResolver[] = [];

  register(resolver: CredentialResolver): void {
    this.list.push(resolver);
  }

  get resolvers(): readonly CredentialResolver[] {
    return this.list;
  }
}

/** The principal of a request without a credential: empty here, filled per workspace later. */
export function anonymousPrincipal(mode: AuthMode, workspaceId: string | null): Principal {
  return {
    kind: 'anonymous',
    id: 'anonymous',
    name: 'anonymous',
    organizationId: DEFAULT_ORGANIZATION,
    workspaces: mode === 'off' && workspaceId ? new Map([[workspaceId, 'owner']]) : new Map(),
  };
}

/** True when a credential was presented at all (header or cookie). */
export function hasCredential(source: CredentialSource): boolean {
  return Boolean(source.authorization?.trim() || source.cookie?.trim());
}

/**
 * Tries the registered resolvers in order. A request without any credential is the anonymous
 * principal (without a workspace role in `required` mode: every rule but `public` refuses it);
 * a credential no resolver accepts is UNAUTHENTICATED, in every mode.
 */
export async function resolvePrincipal(
  source: CredentialSource,
  mode: AuthMode,
  resolvers: CredentialResolvers | readonly CredentialResolver[] = [],
): Promise<Principal> {
  const list = Array.isArray(resolvers)
    ? (resolvers as readonly CredentialResolver[])
    : (resolvers as CredentialResolvers).resolvers;
  for (const resolver of list) {
    const found = await resolver.resolve(source);
    if (found === 'invalid') throw unauthenticated('The credential is not valid');
    if (found) return found;
  }
  if (source.authorization?.trim()) throw unauthenticated('The credential is not valid');
  return anonymousPrincipal(mode, null);
}

export function unauthenticated(message = 'Authentication required'): CairnError {
  return new CairnError('UNAUTHENTICATED', message);
}

/**
 * `key:<keyId>`, `sa:<name>` (a service account, whichever of its keys), `user:<userId>` or
 * `anonymous`: the actor of the events a caller appends.
 */
export function actorOf(principal: Principal): string {
  switch (principal.kind) {
    case 'api-key':
      return `key:${principal.keyId ?? principal.id}`;
    case 'service-account':
      return `sa:${principal.name}`;
    case 'user':
      return `user:${principal.userId ?? principal.id}`;
    case 'anonymous':
      return 'anonymous';
  }
}
