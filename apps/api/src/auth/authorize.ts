import { CairnError } from '../errors.ts';
import { unauthenticated, type Principal } from './principal.ts';
import { hasScope, roleName, type Scope } from './scopes.ts';

/**
 * What an operation needs: a scope in the current workspace, any valid principal
 * (`authenticated`), or nothing (`public`: only `me`-style fields and health routes).
 */
export type Rule = { scope: Scope } | { public: true } | { authenticated: true };

export interface AuthorizeOptions {
  /** The clock (expiry); default `Date.now`. */
  now?: () => number;
}

/** An anonymous principal with no workspace role: `required` mode without a credential. */
function unauthenticatedAnonymous(principal: Principal): boolean {
  return principal.kind === 'anonymous' && principal.workspaces.size === 0;
}

/**
 * THE authorisation point: every GraphQL root field (graphql-rules.ts), every subscription push
 * and every HTTP route (http-rules.ts) calls this and nothing else. Throws UNAUTHENTICATED (no
 * or expired credential) or PERMISSION_DENIED (no role in the workspace, or a role without the
 * scope); returns nothing when allowed.
 */
export function authorize(
  principal: Principal,
  workspaceId: string,
  rule: Rule,
  opts: AuthorizeOptions = {},
): void {
  if ('public' in rule) return;
  if (unauthenticatedAnonymous(principal)) throw unauthenticated();
  if (principal.expiresAt && Date.parse(principal.expiresAt) <= (opts.now ?? Date.now)())
    throw unauthenticated('The credential has expired');
  if ('authenticated' in rule) return;
  const role = principal.workspaces.get(workspaceId);
  if (!role) {
    throw new CairnError(
      'PERMISSION_DENIED',
      `The credential has no role in workspace "${workspaceId}"`,
      { workspaceId },
    );
  }
  if (!hasScope(role, rule.scope)) {
    throw new CairnError(
      'PERMISSION_DENIED',
      `Role "${roleName(role)}" lacks the scope ${rule.scope} in workspace "${workspaceId}"`,
      { workspaceId, scope: rule.scope },
    );
  }
}

/**
 * Picks the workspace of a request: a header (or `?ws=`, or a graphql-ws param) may only narrow
 * to a workspace the principal has a role in; without one, a key scoped to one workspace uses
 * it, anything else `default`. Anonymous in `off` mode may name any workspace (as before auth).
 */
export function resolveWorkspace(principal: Principal, requested: string | undefined): string {
  if (requested !== undefined) {
    if (principal.kind === 'anonymous') return requested;
    if (!principal.workspaces.has(requested)) {
      throw new CairnError(
        'PERMISSION_DENIED',
        `The credential may not use workspace "${requested}"`,
        { workspaceId: requested },
      );
    }
    return requested;
  }
  if (principal.defaultWorkspaceId) return principal.defaultWorkspaceId;
  if (principal.workspaces.size === 1) return [...principal.workspaces.keys()][0]!;
  return 'default';
}
