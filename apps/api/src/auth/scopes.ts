/**
 * Scopes and roles (docs/auth.md). A scope is `<resource>:<action>`; a role is a set of scopes.
 * Built-in roles are ordered owner > admin > member > viewer; custom roles are a name and a list
 * of scopes, defined per workspace.
 */
export const RESOURCES = [
  'tracking',
  'artifacts',
  'registry',
  'webhooks',
  'tracing',
  'prompts',
  'evaluation',
  'deployments',
] as const;
export type Resource = (typeof RESOURCES)[number];

export type Scope = `${Resource}:read` | `${Resource}:write` | 'workspace:admin';

export const ALL_SCOPES: readonly Scope[] = [
  ...RESOURCES.flatMap((r) => [`${r}:read`, `${r}:write`] as const),
  'workspace:admin',
];

export function isScope(value: string): value is Scope {
  return (ALL_SCOPES as readonly string[]).includes(value);
}

export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** A workspace's own role: a name and the scopes it grants. */
export interface CustomRole {
  name: string;
  scopes: readonly Scope[];
}

const READ: readonly Scope[] = RESOURCES.map((r) => `${r}:read` as const);
const WRITE: readonly Scope[] = RESOURCES.map((r) => `${r}:write` as const);

/**
 * viewer = every `:read`; member = every `:read` and `:write` except webhooks:write; admin and
 * owner = everything (only an owner may create another owner or transfer ownership).
 */
export const ROLE_SCOPES: Readonly<Record<Role, ReadonlySet<Scope>>> = {
  viewer: new Set(READ),
  member: new Set([...READ, ...WRITE.filter((s) => s !== 'webhooks:write')]),
  admin: new Set(ALL_SCOPES),
  owner: new Set(ALL_SCOPES),
};

const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

/** True when `a` ranks at least as high as `b` (custom roles rank as their scopes allow). */
export function roleAtLeast(a: Role, b: Role): boolean {
  return RANK[a] >= RANK[b];
}

export function scopesOf(role: Role | CustomRole): ReadonlySet<Scope> {
  return typeof role === 'string' ? ROLE_SCOPES[role] : new Set(role.scopes);
}

export function hasScope(role: Role | CustomRole, scope: Scope): boolean {
  return scopesOf(role).has(scope);
}

/** A role may hand out only scopes it holds itself (keys, custom roles, members). */
export function grants(granter: Role | CustomRole, granted: Role | CustomRole): boolean {
  if (typeof granter === 'string' && typeof granted === 'string') {
    if (granted === 'owner') return granter === 'owner';
    return roleAtLeast(granter, granted);
  }
  const held = scopesOf(granter);
  return [...scopesOf(granted)].every((s) => held.has(s));
}

export function roleName(role: Role | CustomRole): string {
  return typeof role === 'string' ? role : role.name;
}
